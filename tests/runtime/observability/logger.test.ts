import { describe, expect, it } from "bun:test";
import { createLogger, createSampler } from "../../../runtime/observability/logger.ts";
import { callLogObserver } from "../../../runtime/observability/log-interceptor.ts";
import { MicroError, type CallRequest } from "../../../runtime/mod.ts";
import { observersInterceptor } from "../../../runtime/protocol/mod.ts";

describe("logger", () => {
  it("writes JSON lines at or above its level only", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "warn", format: "json", write: (l) => lines.push(l), now: () => 0 });
    log.info("hidden");
    log.warn("call failed", { method: "Greeter.SayHello", code: "not_found", ms: 1.5, trace_id: undefined });
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ time: "1970-01-01T00:00:00.000Z", level: "warn", msg: "call failed", method: "Greeter.SayHello", code: "not_found", ms: 1.5 }]);
  });

  it("samples successes: at most N a second, then says how many it left out", () => {
    let t = 0;
    const s = createSampler(2, () => t);
    expect([s.take(), s.take(), s.take(), s.take()]).toEqual([true, true, false, false]);
    t = 1000;
    expect([s.take(), s.skipped]).toEqual([true, 2]);
  });

  it("logs every failed call with method, code, duration and trace id", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", format: "json", write: (l) => lines.push(l) });
    const step = observersInterceptor([callLogObserver(log)])!(() => Promise.reject(new MicroError("not_found", "no such greeting")));
    const request: CallRequest = {
      kind: "unary", side: "server", namespace: "micro", service: "greeter", method: "Greeter.SayHello", metadata: {}, deadline: undefined, signal: undefined, message: {},
      trace: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    };
    await expect(step(request)).rejects.toThrow("no such greeting");
    const line = JSON.parse(lines[0]!);
    expect([line.level, line.service, line.method, line.code, line.trace_id, typeof line.ms]).toEqual(["warn", "greeter", "Greeter.SayHello", "not_found", "0af7651916cd43dd8448eb211c80319c", "number"]);
  });
});
