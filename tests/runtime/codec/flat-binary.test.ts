import { create, createFileRegistry, type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "bun:test";
import { AuditEventSchema, HistoryRequestSchema } from "../../../gen/audit/v1/audit_pb.ts";
import { SayHelloRequestSchema } from "../../../gen/greeter/v1/greeter_pb.ts";
import { encodeBinary } from "../../../runtime/codec/flat-binary.ts";

// A proto3 file with every kind the flat writer handles, and the shapes it leaves to protobuf-es.
const file = create(FileDescriptorProtoSchema, {
  name: "flat_test.proto",
  package: "flat.v1",
  syntax: "proto3",
  enumType: [{ name: "Color", value: [{ name: "COLOR_UNSPECIFIED", number: 0 }, { name: "COLOR_RED", number: 1 }] }],
  messageType: [
    {
      name: "Flat",
      field: [
        // Declared out of number order: the bytes must still come in field-number order.
        { name: "count", number: 3, type: 5, label: 1, jsonName: "count" }, // int32
        { name: "name", number: 1, type: 9, label: 1, jsonName: "name" }, // string
        { name: "on", number: 2, type: 8, label: 1, jsonName: "on" }, // bool
        { name: "size", number: 4, type: 13, label: 1, jsonName: "size" }, // uint32
        { name: "delta", number: 5, type: 17, label: 1, jsonName: "delta" }, // sint32
        { name: "color", number: 6, type: 14, label: 1, typeName: ".flat.v1.Color", jsonName: "color" },
        { name: "big_field", number: 200, type: 9, label: 1, jsonName: "bigField" },
      ],
    },
    {
      name: "WithOptional",
      field: [{ name: "maybe", number: 1, type: 9, label: 1, proto3Optional: true, oneofIndex: 0, jsonName: "maybe" }],
      oneofDecl: [{ name: "_maybe" }],
    },
    {
      name: "WithOneof",
      field: [
        { name: "a", number: 1, type: 9, label: 1, oneofIndex: 0, jsonName: "a" },
        { name: "b", number: 2, type: 5, label: 1, oneofIndex: 0, jsonName: "b" },
      ],
      oneofDecl: [{ name: "choice" }],
    },
  ],
});
const registry = createFileRegistry(file, () => undefined);
const Flat = registry.getMessage("flat.v1.Flat")!;
const WithOptional = registry.getMessage("flat.v1.WithOptional")!;
const WithOneof = registry.getMessage("flat.v1.WithOneof")!;

function same(schema: DescMessage, init: Record<string, unknown>): void {
  const message = create(schema, init) as MessageShape<DescMessage>;
  expect(encodeBinary(schema, message)).toEqual(toBinary(schema, message));
}

function sameError(schema: DescMessage, message: Record<string, unknown>): void {
  let expected: unknown;
  try {
    toBinary(schema, message as MessageShape<DescMessage>);
  } catch (error) {
    expected = error;
  }
  expect(expected).toBeInstanceOf(Error);
  expect(() => encodeBinary(schema, message as MessageShape<DescMessage>)).toThrow((expected as Error).message);
}

describe("flat protobuf binary encoding", () => {
  it("writes the bytes toBinary writes for flat proto3 messages", () => {
    same(Flat, {});
    same(Flat, { name: "Ada", on: true, count: 7, size: 300, delta: -3, color: 1, bigField: "x" });
    same(Flat, { count: -1, delta: 2_147_483_647, size: 4_294_967_295 });
    same(Flat, { count: -2_147_483_648, delta: -2_147_483_648 });
    same(Flat, { name: "héllo wörld ✓ 🎉".repeat(20) });
    same(Flat, { name: "x".repeat(100_000) });
    same(Flat, { color: 5 }); // an open enum keeps unknown numbers
    same(SayHelloRequestSchema, { name: "jetmicro-bench-".padEnd(90, "x") });
  });

  it("leaves other shapes to protobuf-es, with the same bytes", () => {
    same(WithOptional, {});
    same(WithOptional, { maybe: "" });
    same(WithOneof, { choice: { case: "b", value: 0 } });
    same(AuditEventSchema, { id: "e1", timeMs: 12n, data: new Uint8Array([1, 2, 3]) });
    same(HistoryRequestSchema, { user: "u", topics: ["a", "b"], limit: 3 });
    const withUnknown = create(Flat, { name: "n" }) as MessageShape<DescMessage>;
    (withUnknown as { $unknown?: unknown }).$unknown = [{ no: 99, wireType: 0, data: new Uint8Array([5]) }];
    expect(encodeBinary(Flat, withUnknown)).toEqual(toBinary(Flat, withUnknown));
  });

  it("fails as toBinary does on a bad value, and the next message is still right", () => {
    sameError(Flat, { ...create(Flat, {}), count: 1.5 });
    sameError(Flat, { ...create(Flat, {}), size: -1 });
    sameError(Flat, { ...create(Flat, { name: "half written" }), delta: "nope" });
    sameError(Flat, { ...create(SayHelloRequestSchema, { name: "foreign" }) });
    same(Flat, { name: "after", count: 2 });
  });

  it("returns bytes of their own: a later encoding does not change an earlier one", () => {
    const first = encodeBinary(Flat, create(Flat, { name: "first" }));
    const copy = first.slice();
    encodeBinary(Flat, create(Flat, { name: "second, longer than the first" }));
    expect(first).toEqual(copy);
  });
});
