/**
 * Codecs: protobuf binary (default) and protobuf JSON.
 * @module
 */
export type { Codec } from "./codec.ts";
export { protoBinaryCodec } from "./proto-binary.ts";
export { protoJsonCodec } from "./proto-json.ts";
export { codecFor, codecForRequest } from "./select.ts";
