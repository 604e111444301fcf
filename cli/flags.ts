/**
 * Flags shared by the commands that talk to NATS.
 * @module
 */
import { Flag } from "effect/cli";
import type { Option } from "effect";
import type { ConnectionFlags } from "./settings.ts";
import { opt } from "./session.ts";
import type { OutputFormat } from "./output.ts";

/** `--nats-url`, `--namespace`, `--config`. */
export const connectionFlags = {
  natsUrl: Flag.String("nats-url").pipe(Flag.optional, Flag.withDescription("NATS server(s) (default: NATS_URL, the config file, nats://127.0.0.1:4222)")),
  namespace: Flag.String("namespace").pipe(Flag.optional, Flag.withDescription("namespace of services and events (default: MICRO_NAMESPACE, the config file, micro)")),
  config: Flag.String("config").pipe(Flag.optional, Flag.withDescription("JSON config file (default: ./micro.config.json when it exists)")),
};

/** The connection flags as plain values. */
export function connection(input: { natsUrl: Option.Option<string>; namespace: Option.Option<string>; config: Option.Option<string> }): ConnectionFlags {
  return { natsUrl: opt(input.natsUrl), namespace: opt(input.namespace), config: opt(input.config) };
}

/** `--output text|json` for commands printing one document. */
export const outputFlag = Flag.Literals("output", ["text", "json"] as const).pipe(
  Flag.withAlias("o"),
  Flag.withDefault<"text" | "json">("text"),
  Flag.withDescription("text (tables) or json for scripts"),
);

/** `--output text|json|ndjson` for commands printing a sequence of items. */
export const streamOutputFlag = Flag.Literals("output", ["text", "json", "ndjson"] as const).pipe(
  Flag.withAlias("o"),
  Flag.withDefault<OutputFormat>("text"),
  Flag.withDescription("text, json (one array) or ndjson (one JSON object per line)"),
);
