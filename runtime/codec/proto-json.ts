import { type DescMessage, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";
import { jsonContentType } from "../protocol/mod.ts";
import type { Codec } from "./codec.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Protobuf's canonical JSON mapping, for callers without protobuf. Unknown keys are an
 * error (`invalid_argument` naming the key), so a typo never silently becomes a default value.
 * An empty payload decodes as `{}`.
 */
export const protoJsonCodec: Codec = jsonCodec(false);

/**
 * {@link protoJsonCodec} writing default-valued fields too (`alwaysEmitImplicit`), for a
 * request that asks so with `Micro-Emit-Defaults: 1`.
 */
export const protoJsonDefaultsCodec: Codec = jsonCodec(true);

function jsonCodec(alwaysEmitImplicit: boolean): Codec {
  const options = alwaysEmitImplicit ? { alwaysEmitImplicit } : undefined;
  return {
    contentType: jsonContentType,
    encode: (schema, message) => encoder.encode(toJsonString(schema, message, options)),
    decode(schema, data) {
      try {
        const text = data.length === 0 ? "{}" : decoder.decode(data);
        return fromJsonString(schema, text);
      } catch (cause) {
        throw decodeError(schema, cause);
      }
    },
  };
}

// protobuf-es: `cannot decode message greeter.v1.SayHelloRequest from JSON: key "nmae" is unknown`.
const unknownKey = /^cannot decode message ([\w.]+) from JSON: key "(.*)" is unknown$/s;
const decodePrefix = /^cannot decode message [\w.]+ from JSON: /;

/**
 * The one message of a request JSON cannot become: an unknown field reads as the CLI's field
 * flags say it (`X has no field "nmae" (fields: name)`), whoever called, and protobuf-es's
 * own prefix is not repeated.
 */
function decodeError(schema: DescMessage, cause: unknown): MicroError {
  const text = cause instanceof Error ? cause.message : String(cause);
  const unknown = unknownKey.exec(text);
  if (unknown !== null) {
    const [, typeName, key] = unknown as unknown as [string, string, string];
    const fields = typeName === schema.typeName ? ` (fields: ${schema.fields.map((f) => f.jsonName).join(", ") || "none"})` : "";
    return new MicroError("invalid_argument", `${typeName} has no field "${key.slice(0, 60)}"${fields}`, { detail: key.slice(0, 60), cause });
  }
  return new MicroError("invalid_argument", `cannot decode ${schema.typeName} from JSON: ${text.replace(decodePrefix, "")}`, { detail: schema.typeName, cause });
}
