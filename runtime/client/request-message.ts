/**
 * Request messages from what a caller passes: a message, or a plain init object checked
 * field by field, so a typo is `invalid_argument` naming the field rather than a silently
 * wrong message. Shared by unary calls and stream opens.
 * @module
 */
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { encodeBinary } from "../codec/flat-binary.ts";
import { validateInit } from "../codec/validate-init.ts";
import { MicroError } from "../errors/micro-error.ts";

/** Encodes a request message; `invalid_argument` when it cannot be. */
export function encodeRequest(input: DescMessage, message: MessageShape<DescMessage>): Uint8Array {
  try {
    return encodeBinary(input, message);
  } catch (cause) {
    throw new MicroError("invalid_argument", `invalid ${input.typeName}: ${(cause as Error).message}`, { cause });
  }
}

/** A request message from a message or an init object, validated; `invalid_argument` naming what is wrong. */
export function createRequest(input: DescMessage, init: unknown): MessageShape<DescMessage> {
  if (init !== undefined && (typeof init !== "object" || init === null || Array.isArray(init))) {
    throw new MicroError("invalid_argument", `request for ${input.typeName} must be an object`);
  }
  if (init !== undefined) {
    try {
      validateInit(input, init);
    } catch (error) {
      throw new MicroError("invalid_argument", `invalid ${input.typeName}: ${(error as Error).message}`, { detail: (error as MicroError).detail });
    }
  }
  try {
    return create(input, init as Record<string, unknown> | undefined);
  } catch (cause) {
    throw new MicroError("invalid_argument", `invalid ${input.typeName}: ${(cause as Error).message}`, { cause });
  }
}
