import { create, toBinary } from "@bufbuild/protobuf";
import { headers } from "@nats-io/nats-core";
import { describe, expect, it } from "bun:test";
import { SayHelloRequestSchema } from "../../../gen/greeter/v1/greeter_pb.ts";
import { codecFor, codecForRequest, protoBinaryCodec, protoJsonCodec } from "../../../runtime/codec/mod.ts";
import { MicroError } from "../../../runtime/errors/micro-error.ts";
import { headersOf } from "../../../runtime/protocol/mod.ts";

const text = new TextEncoder();

describe("codec selection", () => {
  it("follows Content-Type, with parameters and aliases", () => {
    expect(codecFor("application/json; charset=utf-8")).toBe(protoJsonCodec);
    expect(codecFor("application/x-protobuf")).toBe(protoBinaryCodec);
    const h = headers();
    h.set("Content-Type", "application/json");
    expect(codecForRequest(headersOf(h), new Uint8Array([1]))).toBe(protoJsonCodec);
  });

  it("sniffs JSON when there is no header, so plain `nats req` works", () => {
    expect(codecForRequest(headersOf(undefined), text.encode('{"name":"Ada"}'))).toBe(protoJsonCodec);
    const binary = toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { name: "Ada" }));
    expect(codecForRequest(headersOf(undefined), binary)).toBe(protoBinaryCodec);
    expect(codecForRequest(headersOf(undefined), new Uint8Array())).toBe(protoBinaryCodec);
  });

  it("refuses an unknown content type with invalid_argument naming it", () => {
    expect(() => codecFor("text/xml")).toThrow(/unsupported content type "text\/xml"/);
    try {
      codecFor("text/xml");
    } catch (e) {
      expect((e as MicroError).code).toBe("invalid_argument");
    }
  });
});

describe("codecs", () => {
  it("round-trip a message in binary and JSON", () => {
    const message = create(SayHelloRequestSchema, { name: "Ada" });
    for (const codec of [protoBinaryCodec, protoJsonCodec]) {
      expect(codec.decode(SayHelloRequestSchema, codec.encode(SayHelloRequestSchema, message)).name).toBe("Ada");
    }
    expect(new TextDecoder().decode(protoJsonCodec.encode(SayHelloRequestSchema, message))).toBe('{"name":"Ada"}');
  });

  it("decodes an empty JSON payload as the default message", () => {
    expect(protoJsonCodec.decode(SayHelloRequestSchema, new Uint8Array()).name).toBe("");
  });

  it("names the message and the failing key on bad JSON", () => {
    const cases: Array<[string, RegExp]> = [
      ['{"nam":"Ada"}', /greeter\.v1\.SayHelloRequest.*nam/],
      ['{"name":42}', /greeter\.v1\.SayHelloRequest.*name/],
      ["{not json", /greeter\.v1\.SayHelloRequest/],
    ];
    for (const [input, pattern] of cases) {
      let error: unknown;
      try {
        protoJsonCodec.decode(SayHelloRequestSchema, text.encode(input));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MicroError);
      expect((error as MicroError).code).toBe("invalid_argument");
      expect((error as MicroError).message).toMatch(pattern);
    }
  });

  it("reports truncated binary as invalid_argument", () => {
    expect(() => protoBinaryCodec.decode(SayHelloRequestSchema, new Uint8Array([0x0a, 0x05, 0x41]))).toThrow(/cannot decode greeter\.v1\.SayHelloRequest from protobuf binary/);
  });
});
