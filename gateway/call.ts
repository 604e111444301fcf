import { headers as natsHeaders } from "@nats-io/nats-core";
import { MicroError, type Transport } from "../runtime/mod.ts";
import { wasNotDelivered } from "../runtime/client/transport.ts";

/** Options of one call from the gateway. */
export interface GatewayCall {
  readonly namespace: string;
  readonly service: string;
  readonly endpoint: string;
  /** The request as protobuf JSON text. */
  readonly body: Uint8Array;
  readonly timeoutMs: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Calls a service with a JSON body and resolves with its JSON reply. The gateway has no
 * descriptors: the service decodes and encodes JSON itself (protobuf JSON mapping), so a
 * service added later is reachable without restarting the gateway.
 */
export async function callJson(transport: Transport, call: GatewayCall): Promise<Uint8Array> {
  const h = natsHeaders();
  h.set("Content-Type", "application/json");
  h.set("Micro-Timeout", String(call.timeoutMs));
  for (const [k, v] of Object.entries(call.metadata)) h.set(`Micro-Meta-${k}`, v);
  const subject = `${call.namespace}.srv.${call.service}.${call.endpoint}`;
  try {
    const reply = await transport.request(subject, call.body, h, Date.now() + call.timeoutMs);
    return reply.data;
  } catch (error) {
    // Over HTTP a service nobody serves is "not found", not a 5xx.
    if (wasNotDelivered(error)) throw new MicroError("not_found", `no service ${call.service} (nothing serves ${subject})`, { detail: call.service });
    throw error;
  }
}
