/**
 * `micro call <service> <Endpoint> [json]`: one request, the reply printed as JSON; request
 * fields can also be given as flags (`--name Ada`), typed by the registry's request schema.
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import { callJson } from "../../runtime/client/call-json.ts";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { connection, connectionFlags } from "../flags.ts";
import { printJson } from "../output.ts";
import { action, opt, remote, withSession } from "../session.ts";
import { requestObject } from "../request-input.ts";
import { assertMetadata, assertToken } from "../../runtime/protocol/mod.ts";
import { parseTimeout } from "../../runtime/config/time.ts";
import { findService, isNatsMicroVersion } from "./describe.ts";
import { isCallableSubject } from "../../runtime/registry/nats-micro-endpoints.ts";
import { requestWithFields } from "../field-flags.ts";

/** Flags `call` itself knows; any other `--x value` is a request field (see `field-flags.ts`). */
export const callFlags = new Set(["nats-url", "namespace", "config", "metadata", "m", "timeout", "t", "version", "node", "field", "f", "emit-defaults", "output", "o", "help", "h"]);

export const callCommand = Command.make("call", {
  service: Argument.String("service").pipe(Argument.withDescription("service name, e.g. greeter")),
  endpoint: Argument.String("endpoint").pipe(Argument.withDescription("endpoint, e.g. Greeter.SayHello, greeter.v1.Greeter/SayHello, or Stock of a NATS service in another language")),
  request: Argument.String("json").pipe(Argument.optional, Argument.withDescription("the request as JSON (default {}); - reads it from standard input, @file.json from a file")),
  output: Flag.Literals("output", ["pretty", "json"] as const).pipe(
    Flag.withAlias("o"),
    Flag.withDefault<"pretty" | "json">("pretty"),
    Flag.withDescription("pretty (indented JSON) or json (one line, for scripts)"),
  ),
  field: Flag.KeyValuePair("field").pipe(Flag.optional, Flag.withAlias("f"), Flag.withDescription("a request field, name=value (or simply --name value)")),
  metadata: Flag.KeyValuePair("metadata").pipe(Flag.optional, Flag.withAlias("m"), Flag.withDescription("metadata sent with the call, k=v (repeatable)")),
  timeout: Flag.String("timeout").pipe(Flag.optional, Flag.withAlias("t"), Flag.withDescription("give up after this long (default 10s): 500ms, 30s, 2m")),
  version: Flag.String("version").pipe(Flag.optional, Flag.withDescription("call a node of this version only")),
  emitDefaults: Flag.Boolean("emit-defaults").pipe(Flag.withDefault(false), Flag.withDescription("print fields at their default values too (0, \"\", false, [])")),
  node: Flag.String("node").pipe(Flag.optional, Flag.withDescription("call this node only (ids in: micro describe <service>)")),
  ...connectionFlags,
}, (input) =>
  action("call", () =>
    (async () => {
      // Everything the user typed is checked before connecting: a mistake is exit 2 with or without NATS.
      const request = await requestObject(opt(input.request));
      const timeout = opt(input.timeout);
      const timeoutMs = timeout === undefined ? undefined : parseTimeout("--timeout", timeout);
      const metadata = opt(input.metadata);
      if (metadata !== undefined) assertMetadata(metadata);
      const node = opt(input.node);
      if (node !== undefined) assertToken("--node", node);
      assertToken("service", input.service);
      return { request, timeoutMs, metadata, node };
    })().then(({ request, timeoutMs, metadata, node }) => withSession(connection(input), async (session) => {
      const versions = await findService(session, input.service);
      const version = opt(input.version);
      // A registered endpoint by `Greeter.SayHello` or its proto full name `greeter.v1.Greeter/SayHello`,
      // else one a NATS service of another library announces (`Stock` on `inventory.Stock`).
      const registered = versions.filter((v) => !isNatsMicroVersion(v));
      const known = registered.flatMap((v) => v.endpoints).find((e) => e.name === input.endpoint || e.fullName === input.endpoint);
      const foreign = known !== undefined ? undefined : versions
        .filter((v) => isNatsMicroVersion(v) && (version === undefined || v.version === version))
        .flatMap((v) => v.endpoints).find((e) => e.name === input.endpoint && isCallableSubject(e.fullName));
      const endpoint = known ?? foreign;
      if (endpoint === undefined) {
        const known = [...new Set(versions.flatMap((v) => v.endpoints.map((e) => e.name)))];
        throw new MicroError("not_found", `unknown endpoint "${input.endpoint}" of ${input.service} (endpoints: ${known.join(", ") || "none"})`, { detail: input.endpoint });
      }
      const fields = requestWithFields(endpoint, request, opt(input.field) ?? {});
      const reply = await remote(callJson(session.transport, {
        namespace: session.settings.namespace,
        service: input.service,
        endpoint: endpoint.name,
        ...(foreign !== undefined ? { subject: foreign.fullName } : {}),
        request: fields,
        emitDefaults: input.emitDefaults,
        timeoutMs,
        metadata,
        version: foreign === undefined ? version : undefined,
        node,
      }, node === undefined && foreign === undefined ? await session.discovery() : undefined));
      printJson(reply, input.output === "json");
    }))),
).pipe(
  Command.withDescription("Call an endpoint with a JSON request and print the reply (errors: code and detail, exit status 1)"),
  Command.withExamples([
    { command: `micro call greeter Greeter.SayHello '{"name":"Ada"}'`, description: "the request as JSON" },
    { command: "micro call greeter Greeter.SayHello --name Ada", description: "the same, field by field" },
    { command: "echo '{\"name\":\"Ada\"}' | micro call greeter Greeter.SayHello - --output json", description: "the request from standard input (or @request.json), the reply on one line" },
    { command: "micro call greeter Greeter.SayHello --name Ada --metadata user=42 --timeout 2s --version 1.0.0", description: "metadata, a deadline and one version" },
  ]),
);
