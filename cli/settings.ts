/**
 * The settings of a command: the process settings (`runtime/config/`) with the command's
 * connection flags on top: (highest first) flags, environment variables, the config file
 * (`--config`, else `./micro.config.json` when it exists), then defaults. See the README's
 * configuration table.
 * @module
 */
import type { SettingSources } from "../runtime/config/mod.ts";

/** The flags every command accepts that shape the connection. */
export interface ConnectionFlags {
  readonly natsUrl?: string | undefined;
  readonly namespace?: string | undefined;
  readonly config?: string | undefined;
}

/** Where a command's settings come from. */
export function commandSources(flags: ConnectionFlags): SettingSources {
  return { flags: { NATS_URL: flags.natsUrl, MICRO_NAMESPACE: flags.namespace }, configFile: flags.config ?? true };
}
