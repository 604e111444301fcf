/**
 * The built-in interceptor that decodes a unary request and encodes its reply, in the codec
 * the request asked for (`Content-Type`, or JSON for a payload starting with `{`). It runs
 * inside the stats and deadline steps, so decode failures and bad replies are counted, and
 * outside the user's interceptors, which see and return messages, not bytes.
 * @module
 */
import { create, type DescMessage, isMessage, type MessageShape } from "@bufbuild/protobuf";
import { codecForRequest } from "../codec/select.ts";
import { MicroError } from "../errors/micro-error.ts";
import type { CallResponse, Interceptor } from "../protocol/mod.ts";
import type { EndpointDefinition } from "../service/types.ts";
import type { IncomingCall } from "./incoming-call.ts";

/**
 * Decodes `request.message` from the call's payload and resolves with the encoded reply as
 * the response message. Only for the call as it arrived (an {@link IncomingCall}): the
 * server puts it before any interceptor that could replace the request.
 */
export function codecInterceptor(endpoint: EndpointDefinition): Interceptor {
  const { input, output } = endpoint.method;
  return (next) =>
    function decodeAndEncode(request): Promise<CallResponse> {
      const call = request as IncomingCall;
      const codec = codecForRequest(call.headers, call.data);
      call.codec = codec;
      call.message = codec.decode(input, call.data);
      return next(call).then(
        (response) => {
          call.dispose();
          return { message: codec.encode(output, toMessage(output, response.message)) };
        },
        (error: unknown) => {
          call.dispose();
          throw error;
        },
      );
    };
}

/** The handler's reply as a message of `schema`; `internal` when it returned no object. */
export function toMessage(schema: DescMessage, value: unknown): MessageShape<DescMessage> {
  if (isMessage(value, schema)) return value;
  if (value === undefined || value === null || typeof value !== "object") {
    throw new MicroError("internal", `handler returned ${value === null ? "null" : typeof value}, expected a ${schema.typeName}`);
  }
  return create(schema, value as Record<string, unknown>);
}
