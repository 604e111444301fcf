import { create, createFileRegistry, type DescField, type DescMessage, type MessageShape, ScalarType, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "bun:test";
import fc from "fast-check";
import { file_audit_v1_audit } from "../../../gen/audit/v1/audit_pb.ts";
import { file_cart_v1_cart } from "../../../gen/cart/v1/cart_pb.ts";
import { file_counter_v1_counter } from "../../../gen/counter/v1/counter_pb.ts";
import { file_greeter_v1_greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { file_hello_v1_hello } from "../../../gen/hello/v1/hello_pb.ts";
import { encodeBinary } from "../../../runtime/codec/flat-binary.ts";

// Every scalar kind, packed and unpacked lists, and an enum whose zero is not its first number in
// proto3 order, declared out of number order.
const file = create(FileDescriptorProtoSchema, {
  name: "flat_property.proto",
  package: "flatprop.v1",
  syntax: "proto3",
  enumType: [{ name: "Mood", value: [{ name: "MOOD_UNSPECIFIED", number: 0 }, { name: "MOOD_SAD", number: -3 }, { name: "MOOD_GLAD", number: 7 }] }],
  messageType: [
    {
      name: "AllScalars",
      field: [
        { name: "s", number: 9, type: 9, label: 1, jsonName: "s" },
        { name: "i32", number: 1, type: 5, label: 1, jsonName: "i32" },
        { name: "u32", number: 2, type: 13, label: 1, jsonName: "u32" },
        { name: "s32", number: 3, type: 17, label: 1, jsonName: "s32" },
        { name: "f32", number: 4, type: 7, label: 1, jsonName: "f32" }, // fixed32
        { name: "sf32", number: 5, type: 15, label: 1, jsonName: "sf32" }, // sfixed32
        { name: "fl", number: 6, type: 2, label: 1, jsonName: "fl" }, // float
        { name: "b", number: 7, type: 8, label: 1, jsonName: "b" },
        { name: "mood", number: 8, type: 14, label: 1, typeName: ".flatprop.v1.Mood", jsonName: "mood" },
      ],
    },
    {
      name: "FlatOnly",
      field: [
        { name: "mood", number: 8, type: 14, label: 1, typeName: ".flatprop.v1.Mood", jsonName: "mood" },
        { name: "s", number: 2, type: 9, label: 1, jsonName: "s" },
        { name: "i32", number: 536_870_911, type: 5, label: 1, jsonName: "i32" },
        { name: "u32", number: 16, type: 13, label: 1, jsonName: "u32" },
        { name: "s32", number: 15, type: 17, label: 1, jsonName: "s32" },
        { name: "b", number: 1, type: 8, label: 1, jsonName: "b" },
      ],
    },
    {
      name: "Lists",
      field: [
        { name: "packed", number: 1, type: 5, label: 3, jsonName: "packed" },
        { name: "unpacked", number: 2, type: 5, label: 3, jsonName: "unpacked", options: { packed: false } },
        { name: "names", number: 3, type: 9, label: 3, jsonName: "names" },
        { name: "moods", number: 4, type: 14, label: 3, typeName: ".flatprop.v1.Mood", jsonName: "moods" },
      ],
    },
  ],
});
const registry = createFileRegistry(file, () => undefined);
const local = ["AllScalars", "FlatOnly", "Lists"].map((name) => registry.getMessage(`flatprop.v1.${name}`)!);
const generated = [file_audit_v1_audit, file_cart_v1_cart, file_counter_v1_counter, file_greeter_v1_greeter, file_hello_v1_hello].flatMap((f) => f.messages);

const string = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }), // lone surrogates and non-BMP code points
  fc.constant(""),
);
const int32 = fc.oneof(fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }), fc.constantFrom(0, -1, -0, 1));
const uint32 = fc.oneof(fc.integer({ min: 0, max: 4_294_967_295 }), fc.constantFrom(0, -0));
const float = fc.oneof(fc.float(), fc.constantFrom(Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY));

function scalar(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return string;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return int32;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return uint32;
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return float;
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 20 });
    default:
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => (type === ScalarType.UINT64 || type === ScalarType.FIXED64 ? (n < 0n ? -n : n) : n));
  }
}

function value(field: DescField, depth: number): fc.Arbitrary<unknown> | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      // Known numbers, unknown ones and negatives (open enums keep them).
      return fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.number)), int32);
    case "list": {
      const item = field.listKind === "scalar" ? scalar(field.scalar) : field.listKind === "enum" ? int32 : depth > 0 ? message(field.message, depth - 1) : undefined;
      return item && fc.array(item, { maxLength: 4 });
    }
    case "message":
      return depth > 0 ? message(field.message, depth - 1) : undefined;
    case "map":
      return undefined;
  }
}

function message(schema: DescMessage, depth = 1): fc.Arbitrary<MessageShape<DescMessage>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of schema.fields) {
    if (field.oneof !== undefined) continue;
    const arbitrary = value(field, depth);
    if (arbitrary !== undefined) fields[field.localName] = arbitrary;
  }
  return fc.record(fields, { requiredKeys: [] }).map((init) => create(schema, init) as MessageShape<DescMessage>);
}

describe("flat protobuf binary encoding (property)", () => {
  for (const schema of [...local, ...generated]) {
    it(`writes toBinary's bytes for ${schema.typeName}`, () => {
      fc.assert(
        fc.property(message(schema), (m) => {
          expect(encodeBinary(schema, m)).toEqual(toBinary(schema, m));
        }),
        { numRuns: 300 },
      );
    });
  }

  it("writes toBinary's bytes for interleaved encodings of different schemas", () => {
    const schemas = [...local, ...generated];
    const pair = fc.constantFrom(...schemas).chain((schema) => message(schema).map((m) => [schema, m] as const));
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 8 }), (pairs) => {
        const encoded = pairs.map(([schema, m]) => encodeBinary(schema, m));
        pairs.forEach(([schema, m], i) => expect(encoded[i]).toEqual(toBinary(schema, m)));
      }),
      { numRuns: 200 },
    );
  });
});

describe("flat protobuf binary encoding (re-entrancy)", () => {
  it("writes the outer message's own bytes when reading one of its fields encodes another message", () => {
    const schema = local[1]!; // FlatOnly
    const inner = create(schema, { s: "inner", u32: 9 }) as MessageShape<DescMessage>;
    const outer = create(schema, { b: true, u32: 300, i32: -5 }) as Record<string, unknown>;
    let innerBytes: Uint8Array | undefined;
    // A handler's reply may be an object with getters; one that encodes (a cache, a log line) must not
    // write into the buffer the outer encoding is using.
    Object.defineProperty(outer, "s", {
      enumerable: true,
      get() {
        innerBytes = encodeBinary(schema, inner);
        return "outer";
      },
    });
    const bytes = encodeBinary(schema, outer as MessageShape<DescMessage>);
    const plain = create(schema, { b: true, u32: 300, i32: -5, s: "outer" }) as MessageShape<DescMessage>;
    expect(bytes).toEqual(toBinary(schema, plain));
    expect(innerBytes).toEqual(toBinary(schema, inner));
  });
});
