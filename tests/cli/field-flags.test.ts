import { describe, expect, it } from "bun:test";
import { requestWithFields } from "../../cli/field-flags.ts";
import type { EndpointRecord } from "../../runtime/registry/types.ts";

const count: EndpointRecord = {
  name: "Counter.Count",
  fullName: "counter.v1.Counter/Count",
  kind: "server_streaming",
  implemented: true,
  request: {
    typeName: "counter.v1.CountRequest",
    fields: [
      { name: "to", type: "uint32", repeated: false, map: false },
      { name: "weights", type: "double", repeated: true, map: false },
    ],
  },
  response: { typeName: "counter.v1.CountResponse", fields: [] },
};

describe("request fields as flags", () => {
  it("type numbers by the schema", () => {
    expect(requestWithFields(count, {}, { to: "3", weights: "1.5,2" })).toEqual({ to: 3, weights: [1.5, 2] });
  });

  it("refuse a number JSON cannot carry, naming the flag, instead of sending null", () => {
    // JSON.stringify(Infinity) is null: `--to 1e400` streamed nothing and exited 0.
    for (const text of ["1e400", "-1e400", "Infinity"]) {
      expect(() => requestWithFields(count, {}, { to: text })).toThrow(`--to must be a number (uint32), got "${text}"`);
    }
    expect(() => requestWithFields(count, {}, { weights: "1,1e999" })).toThrow(`--weights must be a number (double), got "1e999"`);
  });
});
