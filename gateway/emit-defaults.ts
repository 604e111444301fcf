/**
 * Whether a JSON reply should carry default-valued fields (`0`, `""`, `false`, `[]`), which
 * protobuf JSON leaves out: the request asks with `X-Micro-Emit-Defaults: 1` or
 * `?emit_defaults=true`, else the gateway's setting decides. The wish travels to the service
 * (`Micro-Emit-Defaults`), the only place that can encode the reply so.
 * @module
 */
import { MicroError } from "../runtime/mod.ts";
import { shown } from "../runtime/protocol/mod.ts";
import { emitDefaultsHeader } from "./http-headers.ts";

const yes = new Set(["1", "true", "yes"]);
const no = new Set(["0", "false", "no"]);

/** The request's wish, else `fallback`; `invalid_argument` for a value that is neither yes nor no. */
export function emitDefaultsOf(c: { req: { header(name: string): string | undefined; query(name: string): string | undefined } }, fallback: boolean): boolean {
  const value = c.req.header(emitDefaultsHeader) ?? c.req.query("emit_defaults");
  if (value === undefined) return fallback;
  const v = value.trim().toLowerCase();
  if (yes.has(v)) return true;
  if (no.has(v)) return false;
  throw new MicroError("invalid_argument", `emit defaults must be true or false (X-Micro-Emit-Defaults or ?emit_defaults=), got "${shown(value)}"`, { detail: "emit_defaults" });
}
