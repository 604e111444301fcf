import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
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
export const protoJsonCodec: Codec = {
  contentType: jsonContentType,
  encode: (schema, message) => encoder.encode(toJsonString(schema, message)),
  decode(schema, data) {
    try {
      const text = data.length === 0 ? "{}" : decoder.decode(data);
      return fromJsonString(schema, text);
    } catch (cause) {
      throw new MicroError(
        "invalid_argument",
        `cannot decode ${schema.typeName} from JSON: ${(cause as Error).message}`,
        { detail: schema.typeName, cause },
      );
    }
  },
};
