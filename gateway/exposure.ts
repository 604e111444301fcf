/**
 * Whether a gateway may listen where it was asked to. On loopback only this machine reaches
 * it, so development needs no auth; on any other address the internet may, so a gateway
 * with no auth there refuses to start unless the operator says, in so many words, that it
 * is meant to be open (`MICRO_GATEWAY_INSECURE=1`).
 * @module
 */
import { MicroError } from "../runtime/mod.ts";

/** True for `127.0.0.0/8`, `::1` and `localhost`: addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Throws `failed_precondition` (saying how to fix it) for a non-loopback `host` with no auth
 * unless `insecure` is set.
 */
export function assertSafeExposure(options: { readonly host: string; readonly auth: boolean; readonly insecure: boolean }): void {
  if (options.auth || options.insecure || isLoopbackHost(options.host)) return;
  throw new MicroError(
    "failed_precondition",
    `the gateway would listen on ${options.host} with no auth: anyone who reaches it could call every service. ` +
      "Set MICRO_GATEWAY_AUTH_FILE (API keys or JWT and rules), or MICRO_GATEWAY_HOST=127.0.0.1, " +
      "or MICRO_GATEWAY_INSECURE=1 if it is meant to be open",
  );
}
