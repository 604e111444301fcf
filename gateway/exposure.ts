/**
 * Whether a gateway may listen where it was asked to. On loopback only this machine reaches
 * it, so development needs no auth; on any other address the internet may, so a gateway
 * with no auth there refuses to start unless the operator says, in so many words, that it
 * is meant to be open (`MICRO_GATEWAY_INSECURE=1`). "This machine" includes its browser,
 * which runs any website's scripts: a loopback gateway with no auth answers browsers only for
 * pages served from this machine ({@link browserDefaults}).
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

/** The host names a loopback gateway with no auth answers by default: what this machine calls itself. */
const loopbackNames = ["localhost", "127.0.0.1", "[::1]"];

/**
 * The CORS origins and Host names a gateway answers when its settings name none. Auth on, or
 * a gateway meant to be open: any (`*`, every host), as before. Loopback with no auth: only
 * pages of this machine (`loopback`: `http(s)://localhost|127.x|[::1]` on any port) may call
 * it from a browser, and only its own names are answered, so neither a website's scripts
 * (a cross-site `fetch`) nor a website whose name it has pointed at 127.0.0.1 (DNS
 * rebinding, which makes its requests same-origin) reach the services.
 */
export function browserDefaults(options: { readonly host: string; readonly auth: boolean }): { corsOrigins: readonly string[]; allowedHosts?: readonly string[] } {
  if (options.auth || !isLoopbackHost(options.host)) return { corsOrigins: ["*"] };
  const bound = (options.host.includes(":") && !options.host.startsWith("[") ? `[${options.host}]` : options.host).toLowerCase();
  return { corsOrigins: [loopbackOrigins], allowedHosts: [...new Set([...loopbackNames, bound])] };
}

/** The CORS origin entry for every origin on this machine: `http(s)://` a loopback host, any port. */
export const loopbackOrigins = "loopback";

/** True when `origin` (`http://localhost:5173`) is a page served from this machine. */
export function isLoopbackOrigin(origin: string): boolean {
  const match = /^https?:\/\/(\[[0-9a-f:.]+\]|[^/:]+)(:\d{1,5})?$/i.exec(origin);
  return match !== null && isLoopbackHost(match[1]!);
}
