/**
 * A unary handler's reply made a message of the endpoint's output type: handlers may return a
 * message or a plain object of its fields; anything else is a bug, reported as `internal`.
 * @module
 */
import { create, type DescMessage, isMessage, type MessageShape } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";

/** The handler's reply as a message of `schema`; `internal` when it returned no object. */
export function toMessage(schema: DescMessage, value: unknown): MessageShape<DescMessage> {
  if (isMessage(value, schema)) return value;
  if (value === undefined || value === null || typeof value !== "object") {
    throw new MicroError("internal", `handler returned ${value === null ? "null" : typeof value}, expected a ${schema.typeName}`);
  }
  return create(schema, value as Record<string, unknown>);
}
