/**
 * The codec contract: how a protobuf message becomes the bytes of a NATS payload and back.
 * @module
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";

/** Encodes and decodes protobuf messages for one content type. */
export interface Codec {
  /** The `Content-Type` this codec speaks, e.g. `application/proto`. */
  readonly contentType: string;
  /** Encodes a message. */
  encode<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Uint8Array;
  /**
   * Decodes a payload; throws `MicroError("invalid_argument")` naming the message type and
   * what failed to decode.
   */
  decode<Desc extends DescMessage>(schema: Desc, data: Uint8Array): MessageShape<Desc>;
}
