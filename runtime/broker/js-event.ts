import type { JsMsg } from "@nats-io/jetstream";
import { readEnvelope } from "./envelope.ts";
import type { DeliveredEvent, EventEnvelope } from "./types.ts";

/**
 * An event as JetStream delivered it. The envelope is read from the headers on first use:
 * a consumer that only needs the payload or the sequence (replays into a counter, say) never
 * pays for parsing headers. `toJSON` gives a plain object; spreading one does not copy the
 * envelope fields (they are getters), so copy them by name.
 */
export class JsEvent implements DeliveredEvent {
  readonly #m: JsMsg;
  readonly #prefixLength: number | undefined;
  readonly #nak: (delayMs?: number) => void;
  #envelope: EventEnvelope | undefined;

  /** `subjectPrefixLength` of the event stream's subjects; undefined for a dead-letter or re-driven copy. */
  constructor(m: JsMsg, subjectPrefixLength: number | undefined, nak: (delayMs?: number) => void = () => {}) {
    this.#m = m;
    this.#prefixLength = subjectPrefixLength;
    this.#nak = nak;
  }

  #read(): EventEnvelope {
    return (this.#envelope ??= readEnvelope(
      this.#m.headers,
      this.#prefixLength === undefined ? undefined : this.#m.subject.slice(this.#prefixLength),
      Math.floor(Number(this.#m.info.timestampNanos) / 1e6),
    ));
  }

  get id(): string { return this.#read().id; }
  get topic(): string { return this.#read().topic; }
  get source(): string { return this.#read().source; }
  get sourceVersion(): string { return this.#read().sourceVersion; }
  get time(): number { return this.#read().time; }
  get user(): string { return this.#read().user; }
  get contentType(): string { return this.#read().contentType; }
  get traceparent(): string { return this.#read().traceparent; }
  get data(): Uint8Array { return this.#m.data; }
  get sequence(): number { return this.#m.seq; }
  get deliveries(): number { return this.#m.info.deliveryCount; }

  ack(): void {
    this.#m.ack();
  }

  nak(delayMs?: number): void {
    this.#nak(delayMs);
  }

  toJSON(): Omit<DeliveredEvent, "ack" | "nak" | "data"> & { data: number } {
    return { ...this.#read(), sequence: this.sequence, deliveries: this.deliveries, data: this.data.length };
  }
}
