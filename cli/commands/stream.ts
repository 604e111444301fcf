/**
 * `micro stream <service> <Endpoint> [json]`: a streaming call with JSON messages. Requests
 * come from the argument (one) or, with `--stdin`, one JSON object per line of standard input
 * (client and bidi streams); responses are printed one JSON object per line as they arrive.
 * @module
 */
import { createInterface } from "node:readline";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { Argument, Command, Flag } from "effect/cli";
import { wasNotDelivered, writeMetadata } from "../../runtime/protocol/mod.ts";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { onShutdownSignal } from "../../runtime/platform/signals.ts";
import type { StreamChannel } from "../../runtime/stream/channel.ts";
import { contentTypeHeader, jsonContentType, timeoutHeader } from "../../runtime/protocol/mod.ts";
import { assertToken, callSubject } from "../../runtime/protocol/mod.ts";
import { connection, connectionFlags, streamOutputFlag } from "../flags.ts";
import { print, printJson } from "../output.ts";
import { action, exitCodes, opt, parseJsonArgument, remote, withSession } from "../session.ts";
import { parseTimeout } from "../../runtime/config/time.ts";
import { findService } from "./describe.ts";
import { requestWithFields } from "../field-flags.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A JSON object argument or line, encoded; `invalid_argument` naming `what` otherwise. */
function jsonObject(what: string, text: string): Uint8Array {
  const value = parseJsonArgument(what, text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MicroError("invalid_argument", `${what} must be a JSON object such as {"to":3}`, { detail: what });
  }
  return encoder.encode(JSON.stringify(value));
}

/** The requests: the one request, or each non-empty line of stdin. */
async function* requests(request: Uint8Array, stdin: boolean): AsyncGenerator<Uint8Array> {
  if (!stdin) {
    yield request;
    return;
  }
  let line = 0;
  for await (const text of createInterface({ input: process.stdin })) {
    line++;
    if (text.trim() !== "") yield jsonObject(`stdin line ${line}`, text);
  }
}

/**
 * Sends every request as the service grants credit, then ends the client's side. Resolves
 * with the local error (a bad stdin line) that cancelled the stream, if any.
 */
async function pump(channel: StreamChannel, source: AsyncIterable<Uint8Array>): Promise<MicroError | undefined> {
  try {
    for await (const data of source) if (!(await channel.send(data))) return undefined;
    channel.end();
  } catch (error) {
    const e = MicroError.from(error);
    if (channel.failure === undefined) {
      channel.fail(e, "cancel");
      return e;
    }
  }
  return undefined;
}

/** Flags `stream` itself knows; any other `--x value` is a request field (`--to 3`). */
export const streamFlags = new Set(["nats-url", "namespace", "config", "stdin", "metadata", "m", "timeout", "t", "node", "output", "o", "field", "f", "help", "h"]);

export const streamCommand = Command.make("stream", {
  service: Argument.String("service").pipe(Argument.withDescription("service name, e.g. counter")),
  endpoint: Argument.String("endpoint").pipe(Argument.withDescription("a streaming endpoint, e.g. Counter.Count")),
  request: Argument.String("json").pipe(Argument.optional, Argument.withDescription("the request as JSON (default {})")),
  field: Flag.KeyValuePair("field").pipe(Flag.optional, Flag.withAlias("f"), Flag.withDescription("a request field, name=value (or simply --to 3)")),
  stdin: Flag.Boolean("stdin").pipe(Flag.withDefault(false), Flag.withDescription("send each line of standard input as a request (the default for client and bidi streams given no request)")),
  metadata: Flag.KeyValuePair("metadata").pipe(Flag.optional, Flag.withAlias("m"), Flag.withDescription("metadata sent with the stream, k=v (repeatable)")),
  timeout: Flag.String("timeout").pipe(Flag.optional, Flag.withAlias("t"), Flag.withDescription("end the whole stream after this long (default: none)")),
  node: Flag.String("node").pipe(Flag.optional, Flag.withDescription("stream from this node only")),
  ...connectionFlags,
  output: streamOutputFlag,
}, (input) =>
  action("stream", async () => {
    const request = opt(input.request);
    const fieldPairs = opt(input.field) ?? {};
    if ((request !== undefined || Object.keys(fieldPairs).length > 0) && input.stdin) throw new MicroError("invalid_argument", "give a request (JSON or field flags) or --stdin, not both");
    if (request !== undefined) jsonObject("the request", request);
    const timeout = opt(input.timeout);
    const timeoutMs = timeout === undefined ? undefined : parseTimeout("--timeout", timeout);
    const node = opt(input.node);
    if (node !== undefined) assertToken("node", node);
    return withSession(connection(input), async (session) => {
      const versions = await findService(session, input.service);
      const endpoint = versions.flatMap((v) => v.endpoints).find((e) => e.name === input.endpoint);
      if (endpoint === undefined) {
        const known = [...new Set(versions.flatMap((v) => v.endpoints.map((e) => e.name)))];
        throw new MicroError("not_found", `unknown endpoint "${input.endpoint}" of ${input.service} (endpoints: ${known.join(", ") || "none"})`, { detail: input.endpoint });
      }
      if (endpoint.kind === "unary") throw new MicroError("invalid_argument", `${input.endpoint} is not a streaming endpoint: use micro call`, { detail: input.endpoint });
      // The one request (unless --stdin): the JSON argument with the field flags set on it.
      const base = request === undefined ? {} : JSON.parse(request) as Record<string, unknown>;
      const single = encoder.encode(JSON.stringify(requestWithFields(endpoint, base, fieldPairs)));
      // A client or bidi stream given no request reads its requests from stdin, as with --stdin.
      const fromStdin = input.stdin || (request === undefined && Object.keys(fieldPairs).length === 0 && endpoint.kind !== "server_streaming");
      const headers = natsHeaders();
      headers.set(contentTypeHeader, jsonContentType);
      if (timeoutMs !== undefined) headers.set(timeoutHeader, String(timeoutMs));
      writeMetadata(headers, opt(input.metadata) ?? {});
      const { namespace } = session.settings;
      // Checked and bounded by the protocol: a hostile name is invalid_argument before NATS.
      const subject = callSubject({ namespace, service: input.service, endpoint: input.endpoint, ...(node === undefined ? {} : { node }) });
      const channel = await remote(session.transport.openStream!({
        subject, headers, label: input.endpoint, openBy: Date.now() + Math.min(timeoutMs ?? 10_000, 10_000),
        ...(timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs }),
      }).catch((error) => {
        throw wasNotDelivered(error) ? new MicroError("not_found", `nothing serves ${input.endpoint} of ${input.service}`) : error;
      }));
      let interrupted = false;
      const removeSignals = onShutdownSignal(() => {
        interrupted = true;
        channel.fail(new MicroError("canceled", "stopped with Ctrl-C"), "cancel");
      });
      const collected: unknown[] = [];
      const pumped = pump(channel, requests(single, fromStdin));
      try {
        await remote((async () => {
          for (let data = await channel.read(); data !== undefined; data = await channel.read()) {
            const message = JSON.parse(decoder.decode(data));
            if (input.output === "json") collected.push(message);
            else print(JSON.stringify(message));
          }
        })());
      } catch (error) {
        if (interrupted) return exitCodes.ok;
        const local = await pumped;
        // A copy: the original went through remote() as the stream's failure, but it is the caller's bad input.
        throw local === undefined ? error : new MicroError(local.code, local.message, { detail: local.detail });
      } finally {
        removeSignals();
        channel.close();
      }
      if (input.output === "json") printJson(collected);
      return exitCodes.ok;
    });
  }),
).pipe(
  Command.withDescription("Call a streaming endpoint with JSON messages; responses are printed one per line as they arrive (Ctrl-C cancels)"),
  Command.withExamples([
    { command: `micro stream counter Counter.Count '{"to":3,"intervalMs":100}'`, description: "a server stream: one line per message" },
    { command: `printf '{"value":1}\\n{"value":2}\\n' | micro stream counter Counter.Sum --stdin`, description: "a client stream from standard input" },
    { command: `micro stream counter Counter.Count --to 3`, description: "the same request as field flags" },
    { command: `micro stream counter Counter.Echo`, description: "bidi: type a JSON object per line, see each answer (Ctrl-D ends)" },
  ]),
);
