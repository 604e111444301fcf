import type { NatsConnection } from "@nats-io/nats-core";

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
  const subject = options.name === undefined ? "$SRV.INFO" : `$SRV.INFO.${options.name}`;
  const replies = await nc.requestMany(subject, "", { maxWait: options.waitMs ?? 500 });
  const out: NatsMicroService[] = [];
  for await (const msg of replies) {
    let info: Record<string, unknown>;
    try {
      info = msg.json();
    } catch {
      continue; // not a micro responder
    }
    if (info.type !== "io.nats.micro.v1.info_response") continue;
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
  return out.sort((a, b) => `${a.name} ${a.id}`.localeCompare(`${b.name} ${b.id}`));
}
