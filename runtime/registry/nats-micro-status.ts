import type { NatsConnection } from "@nats-io/nats-core";
import { servicesApiSubject, type ServicesVerb } from "../protocol/mod.ts";
import { answerData, answerMetadata, answerNumber, answerObjects, answerText, byNameAndId, collectAnswers } from "./nats-micro-answers.ts";

export { maxServiceAnswerBytes, maxServiceAnswersBytes } from "./nats-micro-answers.ts";

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

/** The answers of `type` to `$SRV.{verb}` (of one service with `name`). */
async function ask(nc: NatsConnection, verb: ServicesVerb, type: string, options: { name?: string; waitMs?: number }) {
  return (await collectAnswers(nc, servicesApiSubject(verb, options.name), options)).filter(({ info }) => info.type === type);
}
