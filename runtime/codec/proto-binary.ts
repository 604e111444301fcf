import { fromBinary } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";
import { protoContentType } from "../protocol/mod.ts";
import type { Codec } from "./codec.ts";
import { encodeBinary } from "./flat-binary.ts";

/** Protobuf binary, the default on the wire. Unknown fields are kept, as protobuf intends. */
export const protoBinaryCodec: Codec = {
  contentType: protoContentType,
  encode: (schema, message) => encodeBinary(schema, message),
  decode(schema, data) {
    try {
      return fromBinary(schema, data);
    } catch (cause) {
      throw new MicroError(
        "invalid_argument",
        `cannot decode ${schema.typeName} from protobuf binary: ${(cause as Error).message}`,
        { detail: schema.typeName, cause },
      );
    }
  },
};
