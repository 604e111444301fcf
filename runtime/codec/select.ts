import { MicroError } from "../errors/micro-error.ts";
import { contentTypeHeader, emitDefaultsHeader, jsonContentType, protoContentType } from "../protocol/mod.ts";
import type { RequestHeaders } from "../protocol/mod.ts";
import type { Codec } from "./codec.ts";
import { protoBinaryCodec } from "./proto-binary.ts";
import { protoJsonCodec, protoJsonDefaultsCodec } from "./proto-json.ts";

const openBrace = 0x7b;

/**
 * Picks the codec for an incoming request. The `Content-Type` header decides; without one, a
 * payload starting with `{` is JSON (a valid proto3 binary message never starts with that
 * byte: it would be a deprecated group tag), so `nats req subject '{"name":"Ada"}'` just works.
 */
export function codecForRequest(headers: RequestHeaders, data: Uint8Array): Codec {
  const type = headers.get(contentTypeHeader);
  const codec = !type ? (data[0] === openBrace ? protoJsonCodec : protoBinaryCodec) : codecFor(type);
  // Only JSON has defaults to leave out; binary carries the same either way.
  return codec === protoJsonCodec && headers.get(emitDefaultsHeader) === "1" ? protoJsonDefaultsCodec : codec;
}

/** The codec for a content type; `invalid_argument` for one jetmicro does not speak. */
export function codecFor(contentType: string): Codec {
  const base = contentType.split(";", 1)[0]!.trim().toLowerCase();
  switch (base) {
    case protoContentType:
    case "application/protobuf":
    case "application/x-protobuf":
      return protoBinaryCodec;
    case jsonContentType:
      return protoJsonCodec;
    default:
      throw new MicroError(
        "invalid_argument",
        `unsupported content type "${contentType}": use ${protoContentType} or ${jsonContentType}`,
        { detail: contentTypeHeader },
      );
  }
}
