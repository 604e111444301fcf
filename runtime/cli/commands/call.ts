/**
 * `micro call <service> <Endpoint> [json]`: one request, the reply printed as JSON; request
 * fields can also be given as flags (`--name Ada`), typed by the registry's request schema.
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import { callJson } from "../../client/call-json.ts";
import { MicroError } from "../../errors/micro-error.ts";
import type { FieldSchema } from "../../registry/types.ts";
import { connection, connectionFlags } from "../flags.ts";
import { printJson } from "../output.ts";
import { action, opt, parseJsonArgument, remote, withSession } from "../session.ts";
import { parseDuration } from "../time.ts";
import { findService } from "./describe.ts";

/** Flags `call` itself knows; any other `--x value` is a request field (see {@link fieldFlagsToPairs}). */
const ownFlags = new Set(["nats-url", "namespace", "config", "metadata", "m", "timeout", "t", "version", "node", "field", "f", "help", "h"]);

/**
 * Rewrites request-field flags (`--name Ada`, `--name=Ada`) of a `call` invocation into
 * `--field name=Ada`, so the parser (which knows only declared flags) accepts them.
 */
export function fieldFlagsToPairs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const match = /^--([A-Za-z_][A-Za-z0-9_.-]*)(?:=(.*))?$/s.exec(arg);
    if (match === null || ownFlags.has(match[1]!)) {
      out.push(arg);
      continue;
    }
    const value = match[2] ?? (args[i + 1] !== undefined && !args[i + 1]!.startsWith("--") ? args[++i]! : "true");
    out.push("--field", `${match[1]}=${value}`);
  }
  return out;
}

const numberTypes = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32", "float", "double"]);

/** `cart_id` or `cart-id` as protobuf's JSON name: `cartId`. */
const jsonFieldName = (name: string) => name.replace(/[-_]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());

/** A flag's text as the JSON value its field takes (numbers, booleans, lists, nested JSON). */
function fieldValue(field: FieldSchema | undefined, name: string, text: string): unknown {
  if (field === undefined) return text;
  const one = (raw: string): unknown => {
    if (field.map || field.type === "message") return parseJsonArgument(`--${name}`, raw);
    if (numberTypes.has(field.type)) {
      const n = Number(raw);
      if (raw.trim() === "" || Number.isNaN(n)) throw new MicroError("invalid_argument", `--${name} must be a number (${field.type}), got "${raw}"`, { detail: name });
      return n;
    }
    if (field.type === "bool") {
      if (raw !== "true" && raw !== "false") throw new MicroError("invalid_argument", `--${name} must be true or false, got "${raw}"`, { detail: name });
      return raw === "true";
    }
    return raw;
  };
  if (field.repeated && !field.map) return text.startsWith("[") ? parseJsonArgument(`--${name}`, text) : text.split(",").map(one);
  return one(text);
}

export const callCommand = Command.make("call", {
  service: Argument.String("service").pipe(Argument.withDescription("service name, e.g. greeter")),
  endpoint: Argument.String("endpoint").pipe(Argument.withDescription("endpoint, e.g. Greeter.SayHello")),
  request: Argument.String("json").pipe(Argument.optional, Argument.withDescription("the request as JSON (default {})")),
  field: Flag.KeyValuePair("field").pipe(Flag.optional, Flag.withAlias("f"), Flag.withDescription("a request field, name=value (or simply --name value)")),
  metadata: Flag.KeyValuePair("metadata").pipe(Flag.optional, Flag.withAlias("m"), Flag.withDescription("metadata sent with the call, k=v (repeatable)")),
  timeout: Flag.String("timeout").pipe(Flag.optional, Flag.withAlias("t"), Flag.withDescription("give up after this long (default 10s): 500ms, 30s, 2m")),
  version: Flag.String("version").pipe(Flag.optional, Flag.withDescription("call a node of this version only")),
  node: Flag.String("node").pipe(Flag.optional, Flag.withDescription("call this node only (ids in: micro describe <service>)")),
  ...connectionFlags,
}, (input) =>
  action("call", () =>
    withSession(connection(input), async (session) => {
      const rawRequest = opt(input.request);
      const request = rawRequest === undefined ? {} : parseJsonArgument("the request", rawRequest);
      if (typeof request !== "object" || request === null || Array.isArray(request)) {
        throw new MicroError("invalid_argument", `the request must be a JSON object such as '{"name":"Ada"}', got ${rawRequest}`, { detail: "request" });
      }
      const timeout = opt(input.timeout);
      const versions = await findService(session, input.service);
      const endpoint = versions.flatMap((v) => v.endpoints).find((e) => e.name === input.endpoint);
      if (endpoint === undefined) {
        const known = [...new Set(versions.flatMap((v) => v.endpoints.map((e) => e.name)))];
        throw new MicroError("not_found", `unknown endpoint "${input.endpoint}" of ${input.service} (endpoints: ${known.join(", ") || "none"})`, { detail: input.endpoint });
      }
      const fields = { ...(request as Record<string, unknown>) };
      for (const [name, text] of Object.entries(opt(input.field) ?? {})) {
        // Proto field names come as `--cart_id` or `--cart-id` as often as the JSON `--cartId`.
        const schema = endpoint.request.fields.find((f) => f.name === name) ?? endpoint.request.fields.find((f) => f.name === jsonFieldName(name));
        if (schema === undefined && endpoint.request.fields.length > 0) {
          throw new MicroError("invalid_argument", `${endpoint.request.typeName} has no field "${name}" (fields: ${endpoint.request.fields.map((f) => f.name).join(", ")})`, { detail: name });
        }
        fields[schema?.name ?? name] = fieldValue(schema, name, text);
      }
      const version = opt(input.version);
      // Parsed before the call: a bad --timeout is the user's input (exit 2), not the service's answer.
      const timeoutMs = timeout === undefined ? undefined : parseDuration("--timeout", timeout);
      if (timeoutMs !== undefined && timeoutMs < 1) throw new MicroError("invalid_argument", `--timeout must be at least 1ms, got "${timeout}"`, { detail: "--timeout" });
      const reply = await remote(callJson(session.transport, {
        namespace: session.settings.namespace,
        service: input.service,
        endpoint: input.endpoint,
        request: fields,
        timeoutMs,
        metadata: opt(input.metadata),
        version,
        node: opt(input.node),
      }, opt(input.node) === undefined ? await session.discovery() : undefined));
      printJson(reply);
    })),
).pipe(
  Command.withDescription("Call an endpoint with a JSON request and print the reply (errors: code and detail, exit status 1)"),
  Command.withExamples([
    { command: `micro call greeter Greeter.SayHello '{"name":"Ada"}'`, description: "the request as JSON" },
    { command: "micro call greeter Greeter.SayHello --name Ada", description: "the same, field by field" },
    { command: "micro call greeter Greeter.SayHello --name Ada --metadata user=42 --timeout 2s --version 1.0.0", description: "metadata, a deadline and one version" },
  ]),
);
