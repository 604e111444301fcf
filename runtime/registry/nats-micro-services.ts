import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { servicesApiSubject } from "../protocol/mod.ts";

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
export async function listNatsMicroServices(nc: NatsConnection, options: { name?: string; waitMs?: number } = {}): Promise<NatsMicroService[]> {
  const subject = servicesApiSubject("INFO", options.name);
  const out: NatsMicroService[] = [];
  try {
    for await (const msg of await nc.requestMany(subject, "", { maxWait: options.waitMs ?? 500 })) collect(msg, out);
  } catch (error) {
    // Nobody answering is an empty list, not a failure.
    if (!(error as Error).message.includes("no responders")) throw MicroError.from(error, "unavailable");
  }
  return out.sort((a, b) => `${a.name} ${a.id}`.localeCompare(`${b.name} ${b.id}`));
}

/** Adds a reply to `out` when it is an `io.nats.micro.v1.info_response`. */
function collect(msg: Msg, out: NatsMicroService[]): void {
  let info: Record<string, unknown>;
  try {
    info = msg.json();
  } catch {
    return; // not a micro responder
  }
  if (info.type !== "io.nats.micro.v1.info_response") return;
  const endpoints = Array.isArray(info.endpoints) ? (info.endpoints as Array<Record<string, unknown>>) : [];
  out.push({
    name: String(info.name ?? ""),
    id: String(info.id ?? ""),
    version: String(info.version ?? ""),
    description: String(info.description ?? ""),
    metadata: (info.metadata ?? {}) as Record<string, string>,
    endpoints: endpoints.map((e) => ({
      name: String(e.name ?? ""),
      subject: String(e.subject ?? ""),
      queueGroup: typeof e.queue_group === "string" ? e.queue_group : undefined,
    })),
  });
}
