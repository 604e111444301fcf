import type { NatsConnection } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { servicesApiSubject, type ServicesVerb } from "../protocol/mod.ts";
import { answerData, answerMetadata, answerNumber, answerObjects, answerText } from "./nats-micro-answers.ts";

/** An instance's answer to `$SRV.PING`. */
export interface NatsMicroPing {
  readonly name: string;
  readonly id: string;
  readonly version: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Time from asking to this answer, ms. */
  readonly latencyMs: number;
}

/** One endpoint's numbers in an instance's `$SRV.STATS` answer (the protocol's fields, camel-cased). */
export interface NatsMicroEndpointStats {
  readonly name: string;
  readonly subject: string;
  readonly requests: number;
  readonly errors: number;
  readonly lastError: string;
  /** Average processing time, ms. */
  readonly averageMs: number;
  /** What the implementation adds (jetmicro: `p50_ms`, `p99_ms`, `mailbox_depth`, `running`, ...). */
  readonly data: Readonly<Record<string, unknown>>;
}

/** An instance's answer to `$SRV.STATS`. */
export interface NatsMicroStats {
  readonly name: string;
  readonly id: string;
  readonly version: string;
  /** ISO time the instance started. */
  readonly started: string;
  readonly endpoints: readonly NatsMicroEndpointStats[];
}

/**
 * Pings every instance speaking the NATS services protocol (any language), or those of one
 * service, collecting answers for `waitMs`.
 */
export async function pingNatsMicroServices(nc: NatsConnection, options: { name?: string; waitMs?: number } = {}): Promise<NatsMicroPing[]> {
  const began = performance.now();
  // Each field read for its type (nats-micro-answers.ts): any client may answer.
  return byNameAndId((await ask(nc, "PING", "io.nats.micro.v1.ping_response", options)).map(({ info, at }) => ({
    name: answerText(info.name),
    id: answerText(info.id),
    version: answerText(info.version),
    metadata: answerMetadata(info.metadata),
    latencyMs: Math.round((at - began) * 10) / 10,
  })));
}

/** Statistics of every instance (or those of one service), collected for `waitMs`. */
export async function natsMicroServiceStats(nc: NatsConnection, options: { name?: string; waitMs?: number } = {}): Promise<NatsMicroStats[]> {
  return byNameAndId((await ask(nc, "STATS", "io.nats.micro.v1.stats_response", options)).map(({ info }) => ({
    name: answerText(info.name),
    id: answerText(info.id),
    version: answerText(info.version),
    started: answerText(info.started),
    endpoints: answerObjects(info.endpoints).map((e) => ({
      name: answerText(e.name),
      subject: answerText(e.subject),
      requests: answerNumber(e.num_requests),
      errors: answerNumber(e.num_errors),
      lastError: answerText(e.last_error),
      averageMs: answerNumber(e.average_processing_time) / 1e6,
      data: answerData(e.data),
    })),
  })));
}

function byNameAndId<T extends { name: string; id: string }>(answers: T[]): T[] {
  return answers.sort((a, b) => `${a.name} ${a.id}`.localeCompare(`${b.name} ${b.id}`));
}

/**
 * The largest single answer read, bytes: a stats answer of a service with hundreds of
 * endpoints is far smaller. Larger ones are skipped unparsed.
 */
export const maxServiceAnswerBytes = 256 * 1024;
/**
 * The most answer bytes one ask collects: any client on the account can answer `$SRV.PING`,
 * and the gateway's dashboard asks every second, so a flood of answers must not be kept.
 */
export const maxServiceAnswersBytes = 32 * 1024 * 1024;

async function ask(nc: NatsConnection, verb: ServicesVerb, type: string, options: { name?: string; waitMs?: number }) {
  const subject = servicesApiSubject(verb, options.name);
  const out: Array<{ info: Record<string, unknown>; at: number }> = [];
  let bytes = 0;
  try {
    for await (const msg of await nc.requestMany(subject, "", { maxWait: options.waitMs ?? 500 })) {
      const at = performance.now();
      if (msg.data.length > maxServiceAnswerBytes) continue;
      bytes += msg.data.length;
      if (bytes > maxServiceAnswersBytes) break;
      try {
        const info = msg.json<Record<string, unknown>>();
        if (typeof info === "object" && info !== null && info.type === type) out.push({ info, at });
      } catch {
        // not a micro responder
      }
    }
  } catch (error) {
    // Nobody answering is an empty list, not a failure.
    if (!(error as Error).message.includes("no responders")) throw MicroError.from(error, "unavailable");
  }
  return out;
}
