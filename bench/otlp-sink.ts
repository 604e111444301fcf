/**
 * An OTLP/HTTP receiver that accepts and discards every export, for the benchmark's
 * observability pass. It runs in the orchestrator (`run.ts`), never in a measured process:
 * receiving and parsing the exports is a collector's cost, not the traced service's.
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A running sink. */
export interface OtlpSink {
  /** The base endpoint, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it. */
  readonly endpoint: string;
  /** Export requests received so far (0 would mean the spans went elsewhere). */
  exports(): number;
  stop(): Promise<void>;
}

/** Starts a sink on a free loopback port. */
export async function startOtlpSink(): Promise<OtlpSink> {
  let exports = 0;
  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      exports++;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    exports: () => exports,
    stop: () => new Promise<void>((resolve) => sink.close(() => resolve())),
  };
}
