/**
 * An HTTP/1.1 POST written straight to a kept-alive `node:net` socket, for plain `http:`
 * collectors (OTLP export): the body goes from the caller's buffer to the kernel, and nothing
 * is allocated per request but the request head. Bun's `fetch` copies a body into memory of
 * its own first, and a megabyte freshly mapped a few times a second is ~200 page faults per
 * export (measured in the RPC benchmark: ~750 µs of the main thread per 1 MB POST, against
 * ~100 µs for the same POST in a process that posts back-to-back and so reuses that memory);
 * Node's `node:http` builds a request object, streams and an agent's bookkeeping per request.
 *
 * One request at a time per poster, on one connection, opened on first use and again after the
 * server closed it. A request that fails on a reused connection before any answer came is sent
 * once more on a fresh one (the server may have closed an idle connection just as it was
 * written), as Node's HTTP agent does. The answer's body is read and dropped: by
 * `content-length`, chunked, or to the end of the connection; its head is bounded.
 * @module
 */
import type { Socket } from "node:net";

/** Posts `body` to the `http:` URL `url`; resolves with the status; rejects on a network error, a malformed answer or after `timeoutMs`. */
export type SocketPost = (url: string, headers: Record<string, string>, body: Uint8Array | string, timeoutMs: number) => Promise<number>;

/** An answer's head (status line and headers) longer than this is refused: a collector's is a few hundred bytes. */
const maxHeadBytes = 64 * 1024;
/** A field value or name with these would end the header early (request splitting): refused. */
const unsafe = /[\r\n\0]/;

/** Parses one answer as its bytes come; `done` is set once the whole answer was read. */
class Answer {
  status = 0;
  done = false;
  /** The server closes the connection after this answer. */
  closing = false;
  #head = "";
  #inBody = false;
  /** Body bytes still to read with a content-length; -1 chunked; -2 until the connection ends. */
  #left = 0;
  /** Chunked: text of the size line (or trailer line) being read, bytes of the chunk left. */
  #line = "";
  #chunkLeft = 0;
  #trailers = false;

  /** Takes bytes of the connection (any after the answer's end are the server's mistake, and dropped). */
  take(data: Uint8Array): void {
    let at = 0;
    while (at < data.length && !this.done) {
      if (!this.#inBody) at = this.#takeHead(data, at);
      else if (this.#left >= 0) {
        const n = Math.min(this.#left, data.length - at);
        this.#left -= n;
        at += n;
        if (this.#left === 0) this.done = true;
      } else if (this.#left === -2) at = data.length;
      else at = this.#takeChunked(data, at);
    }
    if (this.#inBody && this.#left === 0 && !this.done) this.done = true;
  }

  /** The connection ended: an answer read to the end of the connection is complete then. */
  ended(): boolean {
    if (this.#inBody && this.#left === -2) this.done = true;
    return this.done;
  }

  #takeHead(data: Uint8Array, at: number): number {
    const end = at + Math.min(data.length - at, maxHeadBytes + 4);
    let text = "";
    for (let i = at; i < end; i++) text += String.fromCharCode(data[i]!);
    const before = this.#head.length;
    this.#head += text;
    const stop = this.#head.indexOf("\r\n\r\n");
    if (stop < 0) {
      if (this.#head.length > maxHeadBytes) throw new Error(`the collector's answer head is over ${maxHeadBytes} bytes`);
      return end;
    }
    const head = this.#head.slice(0, stop);
    const used = at + (stop + 4 - before);
    this.#head = "";
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (status === null) throw new Error(`the collector answered with no HTTP/1.x status line ("${head.slice(0, 40)}")`);
    const code = Number(status[1]);
    // An interim answer (100 Continue, 103): the final one follows.
    if (code >= 100 && code < 200) return used;
    this.status = code;
    this.closing = /^connection:[ \t]*close[ \t]*$/im.test(head) || head.startsWith("HTTP/1.0");
    this.#inBody = true;
    if (/^transfer-encoding:.*chunked/im.test(head)) this.#left = -1;
    else {
      const length = /^content-length:[ \t]*(\d{1,15})[ \t]*$/im.exec(head);
      this.#left = length !== null ? Number(length[1]) : code === 204 || code === 304 ? 0 : -2;
      if (this.#left === -2) this.closing = true;
    }
    return used;
  }

  #takeChunked(data: Uint8Array, at: number): number {
    while (at < data.length) {
      if (this.#chunkLeft > 0) {
        const n = Math.min(this.#chunkLeft, data.length - at);
        this.#chunkLeft -= n;
        at += n;
        continue;
      }
      const byte = data[at++]!;
      if (byte !== 0x0a) {
        if (this.#line.length > 4096) throw new Error("the collector's chunked answer has an overlong line");
        if (byte !== 0x0d) this.#line += String.fromCharCode(byte);
        continue;
      }
      const line = this.#line;
      this.#line = "";
      if (this.#trailers) {
        if (line === "") {
          this.done = true;
          return at;
        }
        continue;
      }
      if (line === "") continue; // the CRLF that ends a chunk's data
      const size = Number.parseInt(line, 16);
      if (!/^[0-9a-fA-F]{1,12}/.test(line) || !Number.isSafeInteger(size)) throw new Error(`the collector's chunked answer has a bad chunk size ("${line.slice(0, 20)}")`);
      if (size === 0) this.#trailers = true;
      else this.#chunkLeft = size;
    }
    return at;
  }
}

/** A poster over kept-alive sockets (`node:net`), one connection per host and port. */
export async function socketPoster(): Promise<SocketPost> {
  const net = await import("node:net");
  let socket: Socket | undefined;
  let socketOrigin = "";
  /** The request in flight: its answer and what settles it. */
  let current: { socket: Socket; answer: Answer; settle: (error: Error | undefined) => void } | undefined;
  /** Requests wait for the one before (the span export sends one at a time anyway). */
  let queue: Promise<unknown> = Promise.resolve();
  let headFor: { url: string; headers: Record<string, string>; text: string } | undefined;

  const open = (host: string, port: number): Socket => {
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    s.on("data", (data: Uint8Array) => {
      const request = current;
      if (request?.socket !== s) return; // nothing asked on this connection: dropped
      try {
        request.answer.take(data);
      } catch (error) {
        s.destroy();
        request.settle(error as Error);
        return;
      }
      if (request.answer.done) request.settle(undefined);
    });
    const gone = (error?: Error) => {
      if (socket === s) socket = undefined;
      // A connection given up earlier may report its end while the next request is out on another.
      const request = current;
      if (request?.socket !== s) return;
      if (error === undefined && request.answer.ended()) request.settle(undefined);
      else request.settle(error ?? new Error("the collector closed the connection before answering"));
    };
    s.on("error", gone);
    s.on("close", () => gone());
    s.on("end", () => {
      // The server ends its side: finish reading this answer, then the connection is done.
      if (socket === s) socket = undefined;
      s.end();
    });
    return s;
  };

  const head = (url: string, headers: Record<string, string>, target: URL): string => {
    if (headFor?.url === url && headFor.headers === headers) return headFor.text;
    let text = `POST ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\n`;
    for (const name in headers) {
      const value = headers[name]!;
      if (unsafe.test(name) || unsafe.test(value) || name.toLowerCase() === "content-length" || name.toLowerCase() === "host") {
        throw new Error(`header "${name.slice(0, 40)}" cannot be sent (a line break in it, or set by the poster)`);
      }
      text += `${name}: ${value}\r\n`;
    }
    headFor = { url, headers, text };
    return text;
  };

  const once = (url: string, target: URL, headers: Record<string, string>, body: Uint8Array | string, timeoutMs: number, fresh: boolean) =>
    new Promise<number>((resolve, reject) => {
      // Checked before a connection opens: a header that cannot be sent leaves nothing behind.
      const requestHead = head(url, headers, target);
      const origin = `${target.hostname}:${target.port || "80"}`;
      if (fresh || socketOrigin !== origin) {
        socket?.destroy();
        socket = undefined;
      }
      const reused = socket !== undefined;
      const s = socket ??= open(target.hostname.replace(/^\[|\]$/g, ""), Number(target.port || 80));
      socketOrigin = origin;
      const answer = new Answer();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        settle(new Error(`no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (error: Error | undefined) => {
        if (current?.answer !== answer) return;
        current = undefined;
        clearTimeout(timer);
        s.unref();
        if (error !== undefined) {
          if (socket === s) socket = undefined;
          s.destroy();
          // Nothing came back on a reused connection: the caller may send it again on a fresh one.
          (error as Error & { retry?: boolean }).retry = reused && answer.status === 0 && !timedOut;
          reject(error);
          return;
        }
        if (answer.closing || s.writableLength > 0) {
          // Answered before the whole body went out (a 413, say): the rest must never be read
          // as a next request, nor sent from a buffer the caller now reuses.
          if (socket === s) socket = undefined;
          if (s.writableLength > 0) s.destroy();
          else s.end();
        }
        resolve(answer.status);
      };
      current = { socket: s, answer, settle };
      // Held open only while a request is out: an idle kept-alive connection keeps no process alive.
      s.ref();
      const length = typeof body === "string" ? Buffer.byteLength(body) : body.length;
      // Two writes, not corked: Bun's cork joins them into one fresh copy of the body (a cold
      // POST measured 2.6 ms instead of 1.6 ms).
      s.write(`${requestHead}content-length: ${length}\r\n\r\n`, "latin1");
      s.write(body);
    });

  return (url, headers, body, timeoutMs) => {
    const run = async () => {
      const target = new URL(url);
      if (target.protocol !== "http:") throw new Error(`socketPoster posts to http: URLs only, got ${target.protocol}`);
      try {
        return await once(url, target, headers, body, timeoutMs, false);
      } catch (error) {
        if (!(error as { retry?: boolean }).retry) throw error;
        return await once(url, target, headers, body, timeoutMs, true);
      }
    };
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };
}
