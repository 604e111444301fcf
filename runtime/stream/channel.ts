/**
 * One end of a stream: the receive buffer with its credit, the send credit, heartbeats and
 * the terminal state. The client and the server each hold one; both move raw bytes only,
 * so the typed client, the handler runner and the gateway share it.
 * @module
 */
import type { Msg } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { batchHeader, creditBytesHeader, creditHeader, decodeError, frameHeader, isNoResponders, notDeliveredReason, windowBytesHeader, windowHeader } from "../protocol/mod.ts";
import { batchBody, errorFrame, frameHeaders, maxBatchBytes, maxBatchedMessage, readBatch } from "./frames.ts";
import { announcedWindowBytes, maxWindow, missedHeartbeats, type StreamConnection } from "./protocol.ts";

const empty = new Uint8Array(0);
/**
 * Runs `f` after pending I/O callbacks. nats.js writes to the socket once per microtask turn
 * in which something was published; a producer yielding one message per turn would cost one
 * write each, so data frames are published together from here (at most the peer's credit).
 */
const later: (f: () => void) => void = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate ?? ((f) => setTimeout(f, 0));

/** How a failing side tells its peer: an error frame (server), a cancel frame (client), or nothing. */
export type Notify = "error" | "cancel" | "none";

/** Settings of one end. */
export interface ChannelOptions {
  /** Data frames this end buffers: the credit it grants the peer. */
  readonly window: number;
  /**
   * Data bytes (message payloads) this end buffers beside `window`: the byte credit it grants
   * a peer that announced a byte window itself (one that did not is counted in messages only).
   */
  readonly windowBytes: number;
  readonly heartbeatMs: number;
  /**
   * Which end this is. The server's `end` finishes the whole RPC (the server then closes), so
   * a client that got it stops expecting heartbeats and stops sending; the client's `end` is
   * only a half-close. It also decides how a failure found here is told: error or cancel.
   */
  readonly role: "client" | "server";
  /** Names the stream in error messages: `Counter.Count`. */
  readonly label: string;
  /** Set on error frames this end sends (the server's node id). */
  readonly serviceId?: string;
}

/**
 * One end of a stream, subscribed on its own inbox. Data waits in a buffer of at most
 * `window` frames and `windowBytes` bytes (plus one message) until {@link read}; once a quarter
 * of either window was read, what was read is granted back as credit at the end of that
 * event-loop turn (one credit frame for all a fast reader drained). {@link send} waits while
 * the peer has granted no message credit or no byte credit; {@link sendNow} and
 * {@link readNow} move a frame without a promise while credit or buffered data allow.
 */
export class StreamChannel {
  readonly inbox: string;
  readonly #nc: StreamConnection;
  readonly #options: ChannelOptions;
  readonly #sub: { unsubscribe(): void };
  readonly #buffer: Uint8Array[] = [];
  readonly #grantEvery: number;
  readonly #grantEveryBytes: number;
  readonly #abort = new AbortController();
  #remote: string | undefined;
  /** True when the peer announced it reads `batch` frames. */
  #peerBatches = false;
  /** The headers of every `batch` frame this end sends: built once. */
  #batchHeaders: ReturnType<typeof frameHeaders> | undefined;
  #credit = 0;
  /** The window the peer announced: its credit never legitimately exceeds it. */
  #peerWindow = 0;
  #consumed = 0;
  /**
   * Byte credit towards the peer: may go below zero, since a message is sent while any is left
   * (so one message bigger than the peer's byte window still passes when nothing is in flight).
   */
  #creditBytes = 0;
  /**
   * The byte window the peer announced; undefined for a peer counting messages only. Set, the
   * peer keeps to this end's byte window too (checked on receipt) and is granted bytes.
   */
  #peerWindowBytes: number | undefined;
  /** Payload bytes of {@link #buffer}. */
  #bufferedBytes = 0;
  /** Payload bytes read and not yet granted back. */
  #consumedBytes = 0;
  #remoteEnded = false;
  #localEnded = false;
  #failure: MicroError | undefined;
  #released = false;
  #lastSeen = Date.now();
  #lastBeat = Date.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #waiters: Array<() => void> = [];
  #onOpen: ((error?: MicroError) => void) | undefined;
  #onRelease: Array<() => void> = [];
  #outgoing: Uint8Array[] = [];
  #flushScheduled = false;
  readonly #flushLater = () => {
    this.#flushScheduled = false;
    try {
      this.#flush();
    } catch (cause) {
      // Runs outside any caller: a closed connection must fail the stream, not the process.
      this.fail(new MicroError("unavailable", `${this.#options.label}: cannot send (${(cause as Error).message})`, { cause }), "none");
    }
  };

  #grantScheduled = false;
  /**
   * Grants what was read since the last grant. Runs after the reader drained what this turn
   * delivered, so a fast reader returns a whole window in one frame (one socket write on each
   * side per window instead of one per quarter window); a slow one still grants within a turn.
   */
  readonly #grantLater = () => {
    this.#grantScheduled = false;
    if (this.#consumed === 0 || this.#failure !== undefined || this.#remoteEnded || this.#released) return;
    this.control("credit", this.#peerWindowBytes !== undefined ? { [creditHeader]: String(this.#consumed), [creditBytesHeader]: String(this.#consumedBytes) } : { [creditHeader]: String(this.#consumed) });
    this.#consumed = 0;
    this.#consumedBytes = 0;
  };

  constructor(nc: StreamConnection, inbox: string, options: ChannelOptions) {
    this.#nc = nc;
    this.inbox = inbox;
    this.#options = options;
    this.#grantEvery = Math.max(1, Math.floor(options.window / 4));
    this.#grantEveryBytes = Math.max(1, Math.floor(options.windowBytes / 4));
    this.#sub = nc.subscribe(inbox, { callback: (_error, msg) => this.#onMessage(msg) });
  }

  /** Aborted when the stream fails on this end (cancel, error, lost peer, deadline). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The failure, once the stream failed. */
  get failure(): MicroError | undefined {
    return this.#failure;
  }

  /** Data frames waiting to be read (never more than the window). */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Resolves when the server accepts (client end); rejects with the refusal or failure. */
  whenOpen(): Promise<void> {
    if (this.#remote !== undefined) return Promise.resolve();
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => (this.#onOpen = (error) => (error === undefined ? resolve() : reject(error))));
  }

  /**
   * Starts talking to the peer at `remote`, which granted `credit` messages and, when it
   * counts bytes too, `creditBytes` bytes (undefined: an older peer, counted in messages only),
   * and reads `batch` frames when `peerBatches`; starts heartbeats.
   */
  accept(remote: string, credit: number, peerBatches = false, creditBytes?: number): void {
    this.#remote = remote;
    this.#peerBatches = peerBatches;
    this.#credit = credit;
    this.#peerWindow = credit;
    this.#peerWindowBytes = creditBytes;
    this.#creditBytes = creditBytes ?? 0;
    this.#lastSeen = this.#lastBeat = Date.now();
    const every = this.#options.heartbeatMs;
    this.#timer = setInterval(() => this.#beat(), every);
    const onOpen = this.#onOpen;
    this.#onOpen = undefined;
    onOpen?.();
  }

  /** Sends a control frame to the peer; a closed connection is not this stream's failure to report. */
  control(kind: "open" | "end" | "credit" | "ping" | "cancel", extra?: Readonly<Record<string, string>>, reply?: string): void {
    if (this.#remote === undefined) return;
    try {
      this.#flush();
      this.#nc.publish(this.#remote, empty, { headers: frameHeaders(kind, extra), ...(reply === undefined ? {} : { reply }) });
    } catch {
      // The connection is closing; the peer notices by heartbeat.
    }
  }

  /**
   * The next data frame, or undefined after the peer's `end`. Throws the stream's failure
   * once the frames that arrived before it are read.
   */
  async read(): Promise<Uint8Array | undefined> {
    for (;;) {
      const data = this.readNow();
      if (data !== null) return data;
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#remoteEnded) return undefined;
      if (this.#released) throw new MicroError("canceled", `${this.#options.label} is closed`);
      await this.#wait();
    }
  }

  /**
   * The next buffered data frame without waiting, or null when none is buffered (then
   * {@link read} waits, and reports the end or the failure). Readers of a busy stream drain
   * the buffer through here without a promise per message.
   */
  readNow(): Uint8Array | null {
    const data = this.#buffer.shift();
    if (data === undefined) return null;
    this.#bufferedBytes -= data.length;
    if (this.#failure === undefined && !this.#remoteEnded) {
      this.#consumedBytes += data.length;
      // Either window a quarter read: a stream of big messages runs out of bytes long before
      // it runs out of messages, and must get its credit back all the same.
      if ((++this.#consumed >= this.#grantEvery || this.#consumedBytes >= this.#grantEveryBytes) && !this.#grantScheduled) {
        this.#grantScheduled = true;
        later(this.#grantLater);
      }
    }
    return data;
  }

  /**
   * Queues one data frame at once when the peer has credit for it and the stream is open:
   * true when queued, false otherwise (then {@link send} waits for credit, or reports why it
   * cannot send). Throws `resource_exhausted` as {@link send} does. Producers of a busy stream
   * send through here without a promise per message.
   */
  sendNow(data: Uint8Array): boolean {
    this.#checkSize(data);
    if (this.#noCredit || this.#failure !== undefined || this.#released || this.#localEnded || this.#rpcFinished) return false;
    this.#queue(data);
    return true;
  }

  /**
   * Sends one data frame once the peer has credit for it. Throws the failure if the stream
   * failed, `resource_exhausted` (without failing the stream) when `data` exceeds the NATS
   * max payload; resolves false when this end already ended or was closed.
   */
  async send(data: Uint8Array): Promise<boolean> {
    this.#checkSize(data);
    while (this.#noCredit && this.#failure === undefined && !this.#released && !this.#localEnded && !this.#rpcFinished) await this.#wait();
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#released || this.#localEnded || this.#rpcFinished) return false;
    this.#queue(data);
    return true;
  }

  /** True while the peer granted no message credit, or (counting bytes) no byte credit. */
  get #noCredit(): boolean {
    return this.#credit === 0 || (this.#peerWindowBytes !== undefined && this.#creditBytes <= 0);
  }

  #checkSize(data: Uint8Array): void {
    const limit = this.#nc.info?.max_payload;
    if (limit !== undefined && data.length > limit) {
      throw new MicroError("resource_exhausted", `a message of ${this.#options.label} is ${data.length} bytes, over the NATS max payload of ${limit} (streams do not split messages: send smaller ones)`, {
        detail: "max_payload",
      });
    }
  }

  /** Spends one credit on `data` and publishes it with the others of this turn. */
  #queue(data: Uint8Array): void {
    this.#credit--;
    this.#creditBytes -= data.length;
    this.#outgoing.push(data);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      later(this.#flushLater);
    }
  }

  /** Tells the peer this end sends no more data. */
  end(): void {
    if (this.#localEnded || this.#failure !== undefined || this.#released) return;
    this.#localEnded = true;
    if (!this.#rpcFinished) this.control("end");
    this.#wake();
  }

  /** Fails the stream on this end (first failure wins), tells the peer as `notify` says, and releases it. */
  fail(error: MicroError, notify: Notify): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    if (!this.#released && this.#remote !== undefined) {
      if (notify === "cancel") this.control("cancel");
      else if (notify === "error") {
        const frame = errorFrame(error, this.#options.serviceId);
        try {
          this.#flush();
          this.#nc.publish(this.#remote, frame.data, { headers: frame.headers });
        } catch {
          // As in control(): the peer notices by heartbeat.
        }
      }
    }
    this.#abort.abort(error);
    const onOpen = this.#onOpen;
    this.#onOpen = undefined;
    onOpen?.(error);
    this.close();
  }

  /** Releases the subscription and timers; unread data stays readable. */
  close(): void {
    if (this.#released) return;
    if (this.#failure === undefined) {
      try {
        this.#flush();
      } catch {
        // The connection closed; nothing more can be sent.
      }
    }
    this.#released = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (!this.#nc.isClosed()) this.#sub.unsubscribe();
    this.#wake();
    for (const f of this.#onRelease.splice(0)) f();
  }

  /** Runs `f` when the channel is released (to drop timers and listeners tied to it). */
  onRelease(f: () => void): void {
    if (this.#released) f();
    else this.#onRelease.push(f);
  }

  /** Publishes the data frames waiting for the next flush, in order. */
  #flush(): void {
    if (this.#outgoing.length === 0 || this.#released) return;
    const frames = this.#outgoing;
    this.#outgoing = [];
    if (!this.#peerBatches || frames.length === 1) {
      for (const data of frames) this.#nc.publish(this.#remote!, data);
      return;
    }
    // Small messages of this turn go together, in order: one NATS message per batch.
    const limit = Math.min(maxBatchBytes, (this.#nc.info?.max_payload ?? maxBatchBytes) - 1024);
    let batch: Uint8Array[] = [];
    let bytes = 0;
    for (const data of frames) {
      if (data.length > maxBatchedMessage || bytes + 4 + data.length > limit) {
        this.#publishBatch(batch);
        batch = [];
        bytes = 0;
      }
      if (data.length > maxBatchedMessage) this.#nc.publish(this.#remote!, data);
      else {
        batch.push(data);
        bytes += 4 + data.length;
      }
    }
    this.#publishBatch(batch);
  }

  #publishBatch(batch: Uint8Array[]): void {
    if (batch.length === 0) return;
    if (batch.length === 1) return this.#nc.publish(this.#remote!, batch[0]!);
    this.#batchHeaders ??= frameHeaders("batch");
    this.#nc.publish(this.#remote!, batchBody(batch), { headers: this.#batchHeaders });
  }

  /** True on the client once the server ended: the server has closed and sends nothing more. */
  get #rpcFinished(): boolean {
    return this.#remoteEnded && this.#options.role === "client";
  }

  /** How this end tells the peer about a failure it found itself. */
  get #notifyPeer(): Notify {
    return this.#options.role === "server" ? "error" : "cancel";
  }

  #beat(): void {
    if (this.#rpcFinished) {
      // The server finished and closed: its silence now is not a lost peer, however slowly
      // the caller reads what is buffered.
      clearInterval(this.#timer);
      return;
    }
    const now = Date.now();
    // A beat far behind schedule means this end's event loop was blocked (CPU-bound work):
    // the peer's frames may be waiting unread on the socket, timers run before I/O, so its
    // silence proves nothing yet. It is judged on the next beat, after the socket was read.
    const late = now - this.#lastBeat > this.#options.heartbeatMs * 2;
    this.#lastBeat = now;
    const silent = now - this.#lastSeen;
    if (!late && silent > this.#options.heartbeatMs * missedHeartbeats) {
      this.fail(new MicroError("unavailable", `${this.#options.label}: the peer sent nothing for ${silent} ms (heartbeat lost; it stopped or lost its connection)`), this.#notifyPeer);
    } else this.control("ping");
  }

  #onMessage(msg: Msg): void {
    if (this.#released) return;
    this.#lastSeen = Date.now();
    const headers = msg.headers;
    if (headers === undefined) {
      if (this.#remoteEnded || this.#failure !== undefined) return;
      if (this.#buffer.length >= this.#options.window) {
        this.fail(new MicroError("resource_exhausted", `${this.#options.label}: the peer sent more than the ${this.#options.window} messages it had credit for`), this.#notifyPeer);
        return;
      }
      if (this.#roomBytes <= 0) return this.#overBytes();
      this.#buffer.push(msg.data);
      this.#bufferedBytes += msg.data.length;
      this.#wake();
      return;
    }
    switch (headers.get(frameHeader)) {
      case "ping":
        return;
      case "batch": {
        if (this.#remoteEnded || this.#failure !== undefined) return;
        const outcome = readBatch(msg.data, this.#options.window - this.#buffer.length, this.#roomBytes, (data) => {
          this.#buffer.push(data);
          this.#bufferedBytes += data.length;
        });
        if (outcome === "over") {
          this.fail(new MicroError("resource_exhausted", `${this.#options.label}: the peer sent more than the ${this.#options.window} messages or ${this.#options.windowBytes} bytes it had credit for`), this.#notifyPeer);
        } else if (outcome === "malformed") {
          const code = this.#options.role === "server" ? "invalid_argument" : "internal";
          this.fail(new MicroError(code, `${this.#options.label}: a malformed batch frame (a message length past its end, or no message)`), this.#notifyPeer);
        } else this.#wake();
        return;
      }
      case "credit": {
        const n = Number(headers.get(creditHeader));
        // Clamped: a buggy or hostile peer granting more than its window cannot make this end
        // queue unbounded data towards it.
        if (Number.isInteger(n) && n > 0) this.#credit = Math.min(this.#credit + n, this.#peerWindow);
        if (this.#peerWindowBytes !== undefined) {
          // The same for bytes; a peer counting bytes that grants none (or garbage) grants no bytes.
          const b = announcedWindowBytes(headers.get(creditBytesHeader));
          if (typeof b === "number") this.#creditBytes = Math.min(this.#creditBytes + b, this.#peerWindowBytes);
        }
        this.#wake();
        return;
      }
      case "end":
        this.#remoteEnded = true;
        this.#wake();
        return;
      case "open": {
        const credit = Number(headers.get(windowHeader));
        // Capped at the largest window: a server announcing more would let this end's producer
        // run unchecked (and, with a generator that never waits, never yield to the event loop).
        if (this.#remote === undefined && msg.reply && Number.isInteger(credit) && credit > 0) {
          const bytes = announcedWindowBytes(headers.get(windowBytesHeader));
          this.accept(msg.reply, Math.min(credit, maxWindow), headers.get(batchHeader) === "1", bytes === "invalid" ? 1 : bytes);
          // Accepted first, so the service is told and stops: it announced a window no one can keep to.
          if (bytes === "invalid") {
            this.fail(new MicroError("internal", `${this.#options.label}: the service announced an invalid byte window "${headers.get(windowBytesHeader).slice(0, 32)}"`), "cancel");
          }
        }
        return;
      }
      case "cancel":
        this.fail(new MicroError("canceled", `${this.#options.label} was canceled by the caller`), "none");
        return;
      default: {
        if (isNoResponders(msg)) {
          // Before the open, nothing serves the endpoint; after it, the peer's inbox is gone
          // (a client that gave up while its open waited in the mailbox).
          const error = this.#remote === undefined
            ? new MicroError("unavailable", `no service is serving ${this.#options.label}`, { metadata: { reason: notDeliveredReason } })
            : new MicroError("canceled", `${this.#options.label}: the peer is no longer listening`);
          this.fail(error, "none");
          return;
        }
        const error = decodeError(headers, msg.data);
        if (error !== undefined) return this.fail(error, "none");
        // A frame this end cannot read: the peer is told, so it does not wait for heartbeats to fail.
        const code = this.#options.role === "server" ? "invalid_argument" : "internal";
        this.fail(new MicroError(code, `${this.#options.label}: unknown stream frame "${headers.get(frameHeader)}"`), this.#notifyPeer);
      }
    }
  }

  /**
   * Bytes the peer may still send before it must wait for credit: this end's byte window less
   * what it buffers and has read without granting back (the peer's view of what is in flight is
   * never smaller). Unbounded for a peer counting messages only.
   */
  get #roomBytes(): number {
    return this.#peerWindowBytes !== undefined ? this.#options.windowBytes - this.#bufferedBytes - this.#consumedBytes : Infinity;
  }

  #overBytes(): void {
    this.fail(new MicroError("resource_exhausted", `${this.#options.label}: the peer sent more than the ${this.#options.windowBytes} bytes it had credit for`), this.#notifyPeer);
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** `promise`, or the stream's failure if that comes first. */
export function raceFailure<T>(channel: StreamChannel, promise: Promise<T>): Promise<T> {
  if (channel.failure !== undefined) return Promise.reject(channel.failure);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(channel.failure);
    channel.signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        channel.signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        channel.signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * {@link raceFailure} for a loop that races one promise after another: one abort listener for
 * the whole stream instead of one per message.
 */
export function failureRacer(channel: StreamChannel): <T>(promise: Promise<T>) => Promise<T> {
  let rejectCurrent: ((error: unknown) => void) | undefined;
  const onFail = () => rejectCurrent?.(channel.failure);
  channel.signal.addEventListener("abort", onFail, { once: true });
  channel.onRelease(() => channel.signal.removeEventListener("abort", onFail));
  return <T>(promise: Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      if (channel.failure !== undefined) return reject(channel.failure);
      rejectCurrent = reject;
      promise.then(resolve, reject);
    });
}

