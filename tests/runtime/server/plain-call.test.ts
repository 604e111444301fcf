/**
 * A service without interceptors of its own runs the built-in steps fused (plain-call.ts);
 * one with interceptors runs them as a chain. Callers and `$SRV.STATS` must not tell the two
 * apart: every scenario here runs through both and compares replies, errors, counters and
 * what is reported as a bug.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { describe, expect, it } from "bun:test";
import { Greeter, SayHelloRequestSchema, SayHelloResponseSchema } from "../../../gen/greeter/v1/greeter_pb.ts";
import { MicroError } from "../../../runtime/errors/micro-error.ts";
import { type CallObserver, headersOf, type Interceptor, requestHeaders } from "../../../runtime/protocol/mod.ts";
import { defineService } from "../../../runtime/service/define.ts";
import { createDispatch } from "../../../runtime/server/dispatch.ts";
import type { InstanceInfo } from "../../../runtime/server/handler-context.ts";

const passThrough: Interceptor = (next) => (request) => next(request);

function dispatcherOf(interceptors: Interceptor[] | undefined, observers?: CallObserver[]) {
  const definition = defineService(Greeter, { ...(interceptors === undefined ? {} : { interceptors }), ...(observers === undefined ? {} : { observers }) }, {
    sayHello(request, ctx) {
      switch (request.name) {
        case "coded":
          throw new MicroError("not_found", "no such greeting", { detail: "coded" });
        case "bug":
          return Promise.reject(new TypeError("handler bug"));
        case "sync-bug":
          throw new RangeError("thrown before any await");
        case "nothing":
          return Promise.resolve(null as never);
        case "metadata":
          return Promise.resolve({ message: `${ctx.metadata.tenant}@${ctx.deadline > Date.now()}` });
        default:
          return Promise.resolve({ message: `Hello ${request.name}` });
      }
    },
  });
  const info: InstanceInfo = {
    service: { name: definition.name, version: definition.version, nodeId: "greeter-1" },
    id: "greeter-1",
    transport: undefined as never,
    namespace: "micro",
    stopSignal: new AbortController().signal,
  };
  const reported: string[] = [];
  const dispatcher = createDispatch(definition, info, (error, endpoint) => reported.push(`${endpoint}: ${(error as Error).message}`));
  return { ...dispatcher, reported };
}

type Outcome = { reply?: string; error?: { code: string; message: string; serviceId?: string } };

async function call(dispatch: ReturnType<typeof dispatcherOf>["dispatch"], name: string, options: { data?: Uint8Array; arrived?: number; metadata?: Record<string, string>; json?: boolean } = {}): Promise<Outcome> {
  const data = options.data ?? (options.json ? new TextEncoder().encode(JSON.stringify({ name })) : toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { name })));
  const h = requestHeaders({ timeoutMs: 5_000, metadata: options.metadata, contentType: options.json ? "application/json" : undefined });
  try {
    const response = await dispatch("Greeter.SayHello", data, headersOf(h), options.arrived ?? Date.now());
    const bytes = response.message as Uint8Array;
    return { reply: options.json ? new TextDecoder().decode(bytes) : fromBinary(SayHelloResponseSchema, bytes).message };
  } catch (error) {
    const e = error as MicroError;
    return { error: { code: e.code, message: e.message, serviceId: e.serviceId } };
  }
}

describe("a service without interceptors (the fused path)", () => {
  it("answers, fails, counts and reports exactly as the interceptor chain does", async () => {
    const plain = dispatcherOf(undefined);
    const chained = dispatcherOf([passThrough]);
    const scenarios: Array<[string, Parameters<typeof call>[2]]> = [
      ["Ada", {}],
      ["Ada", { json: true }],
      ["coded", {}],
      ["bug", {}],
      ["sync-bug", {}],
      ["nothing", {}],
      ["metadata", { metadata: { tenant: "acme" } }],
      ["late", { arrived: Date.now() - 60_000 }],
      ["garbage", { data: new Uint8Array([0xff, 0xff, 0xff]) }],
    ];
    for (const [name, options] of scenarios) {
      const [a, b] = [await call(plain.dispatch, name, options), await call(chained.dispatch, name, options)];
      expect({ name, ...a }).toEqual({ name, ...b });
    }
    expect(plain.reported).toEqual(chained.reported);
    expect(plain.reported).toEqual(["Greeter.SayHello: handler bug", "Greeter.SayHello: thrown before any await"]);
    const [p, c] = [plain.stats.get("Greeter.SayHello")!, chained.stats.get("Greeter.SayHello")!];
    expect({ requests: p.requests, errors: p.errors, lastError: p.lastError }).toEqual({ requests: c.requests, errors: c.errors, lastError: c.lastError });
    expect(p.requests).toBe(scenarios.length);
    expect(p.errors).toBe(6);
    expect(p.lastError).toMatch(/^invalid_argument: /);
    expect(p.processingNs).toBeGreaterThan(0);
    expect(p.recent.slice(0, scenarios.length).every((ms) => ms >= 0)).toBe(true);
  });

  it("refuses a bad Micro-Timeout with invalid_argument, counted, as the chain does", async () => {
    for (const interceptors of [undefined, [passThrough]]) {
      const { dispatch, stats } = dispatcherOf(interceptors);
      const h = natsHeaders();
      h.set("Micro-Timeout", "soon");
      const data = toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { name: "x" }));
      const error = await dispatch("Greeter.SayHello", data, headersOf(h), Date.now()).then(() => undefined, (e: MicroError) => e);
      expect(error?.code).toBe("invalid_argument");
      expect(stats.get("Greeter.SayHello")!.errors).toBe(1);
    }
  });
});

describe("observers of a service's calls", () => {
  it("are told every outcome the stats count, with the error the caller gets, with and without interceptors", async () => {
    const scenarios: Array<[string, Parameters<typeof call>[2]]> = [
      ["Ada", {}],
      ["coded", {}],
      ["bug", {}],
      ["late", { arrived: Date.now() - 60_000 }],
      ["garbage", { data: new Uint8Array([0xff, 0xff, 0xff]) }],
    ];
    for (const interceptors of [undefined, [passThrough]]) {
      const seen: string[] = [];
      const times: number[] = [];
      const observer: CallObserver = {
        succeeded(request, ms) {
          seen.push(`${request.kind} ${request.side} ${request.service} ${request.method} ok`);
          times.push(ms);
        },
        failed(request, error, ms) {
          seen.push(`${request.kind} ${request.side} ${request.service} ${request.method} ${error.code}`);
          times.push(ms);
        },
      };
      // One that throws: a bug of its own, which must not change any call's outcome.
      const broken: CallObserver = {
        succeeded() {
          throw new Error("observer bug");
        },
        failed() {
          throw new Error("observer bug");
        },
      };
      const observed = dispatcherOf(interceptors, [broken, observer]);
      const plain = dispatcherOf(interceptors);
      for (const [name, options] of scenarios) {
        expect(await call(observed.dispatch, name, options)).toEqual(await call(plain.dispatch, name, options));
      }
      expect(seen).toEqual([
        "unary server greeter Greeter.SayHello ok",
        "unary server greeter Greeter.SayHello not_found",
        "unary server greeter Greeter.SayHello internal",
        "unary server greeter Greeter.SayHello deadline_exceeded",
        "unary server greeter Greeter.SayHello invalid_argument",
      ]);
      expect(times.every((ms) => ms >= 0 && ms < 5_000)).toBe(true);
      expect(observed.stats.get("Greeter.SayHello")!.errors).toBe(4);
    }
  });

  it("may watch successes or failures alone", async () => {
    let failures = 0;
    const { dispatch } = dispatcherOf(undefined, [{ failed: () => void failures++ }]);
    expect((await call(dispatch, "Ada")).reply).toBe("Hello Ada");
    expect((await call(dispatch, "coded")).error?.code).toBe("not_found");
    expect(failures).toBe(1);
  });
});
