import type { NatsConnection } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { servicesApiSubject, type ServicesVerb } from "../protocol/mod.ts";

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
  return (await ask(nc, "PING", "io.nats.micro.v1.ping_response", options)).map(({ info, at }) => ({
    name: String(info.name ?? ""),
    id: String(info.id ?? ""),
    version: String(info.version ?? ""),
    metadata: (info.metadata ?? {}) as Record<string, string>,
    latencyMs: Math.round((at - began) * 10) / 10,
  }));
}

/** Statistics of every instance (or those of one service), collected for `waitMs`. */
export async function natsMicroServiceStats(nc: NatsConnection, options: { name?: string; waitMs?: number } = {}): Promise<NatsMicroStats[]> {
  return (await ask(nc, "STATS", "io.nats.micro.v1.stats_response", options)).map(({ info }) => ({
    name: String(info.name ?? ""),
    id: String(info.id ?? ""),
    version: String(info.version ?? ""),
    started: String(info.started ?? ""),
    endpoints: (Array.isArray(info.endpoints) ? (info.endpoints as Array<Record<string, unknown>>) : []).map((e) => ({
      name: String(e.name ?? ""),
      subject: String(e.subject ?? ""),
      requests: Number(e.num_requests ?? 0),
      errors: Number(e.num_errors ?? 0),
      lastError: String(e.last_error ?? ""),
      averageMs: Number(e.average_processing_time ?? 0) / 1e6,
      data: typeof e.data === "object" && e.data !== null ? (e.data as Record<string, unknown>) : {},
    })),
  }));
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
        if (info.type === type) out.push({ info, at });
      } catch {
        // not a micro responder
      }
    }
  } catch (error) {
    // Nobody answering is an empty list, not a failure.
    if (!(error as Error).message.includes("no responders")) throw MicroError.from(error, "unavailable");
  }
  return out.sort((a, b) => `${a.info.name} ${a.info.id}`.localeCompare(`${b.info.name} ${b.info.id}`));
}
