import type { NatsConnection } from "@nats-io/nats-core";
import { servicesApiSubject } from "../protocol/mod.ts";
import { answerMetadata, answerObjects, answerText, byNameAndId, collectAnswers } from "./nats-micro-answers.ts";

/** A service instance as the NATS services protocol describes it (any language). */
export interface NatsMicroService {
  readonly name: string;
  readonly id: string;
  readonly version: string;
  readonly description: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly endpoints: ReadonlyArray<{ readonly name: string; readonly subject: string; readonly queueGroup: string | undefined }>;
}

/**
 * Lists every instance that speaks the NATS services protocol, jetmicro's and those written
 * with the NATS service libraries for Go, Rust, Java or JS, by asking `$SRV.INFO` (or
 * `$SRV.INFO.{name}`) and collecting replies for `waitMs`.
 */
export async function listNatsMicroServices(
  nc: NatsConnection,
  options: { name?: string; waitMs?: number; stallMs?: number } = {},
): Promise<NatsMicroService[]> {
  // Bounded as PING and STATS asks are (collectAnswers): any client on the account may answer
  // $SRV.INFO, as often and as large as it likes.
  const out: NatsMicroService[] = [];
  for (const { info } of await collectAnswers(nc, servicesApiSubject("INFO", options.name), options)) collect(info, out);
  return byNameAndId(out);
}

/**
 * Adds a reply to `out` when it is an `io.nats.micro.v1.info_response`. Replies without a
 * `type` (nats.go before 1.23, as some distributions still package it) are taken when they
 * carry a name and an id; their endpoints may be plain `subjects`.
 */
function collect(info: Record<string, unknown>, out: NatsMicroService[]): void {
  if (info.type !== undefined && info.type !== "io.nats.micro.v1.info_response") return;
  if (typeof info.name !== "string" || typeof info.id !== "string" || info.name === "" || info.id === "") return;
  // Each field read for its type (nats-micro-answers.ts): any client may answer $SRV.INFO.
  const endpoints = Array.isArray(info.endpoints)
    ? answerObjects(info.endpoints).map((e) => ({
      name: answerText(e.name),
      subject: answerText(e.subject),
      queueGroup: typeof e.queue_group === "string" ? e.queue_group : undefined,
    }))
    : Array.isArray(info.subjects)
    ? (info.subjects as unknown[]).filter((s): s is string => typeof s === "string").map((subject) => ({ name: subject, subject, queueGroup: undefined }))
    : [];
  out.push({
    name: info.name,
    id: info.id,
    version: answerText(info.version),
    description: answerText(info.description),
    metadata: answerMetadata(info.metadata),
    // Bounded: a reply is another program's word, and these end up in tables and lookups.
    endpoints: endpoints.slice(0, maxEndpoints),
  });
}

/** Most endpoints read from one instance's reply. */
const maxEndpoints = 1024;
