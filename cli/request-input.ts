/**
 * Where a command's JSON request comes from: the argument itself, `-` (standard input) or
 * `@file.json`. Bounded: a request larger than {@link maxRequestBytes} could never travel
 * over NATS anyway, and is refused before anything is read past it.
 * @module
 */
import { MicroError } from "../runtime/errors/micro-error.ts";
import { readFileBounded } from "../runtime/platform/bounded-file.ts";
import { parseJsonArgument } from "./session.ts";

/** Largest request read from a file or standard input (NATS's default max payload). */
export const maxRequestBytes = 1024 * 1024;

/** The request JSON text of `argument`: itself, standard input for `-`, a file for `@path`. */
export async function requestText(argument: string): Promise<string> {
  if (argument === "-") return await readStdin();
  if (!argument.startsWith("@")) return argument;
  const path = argument.slice(1);
  let bytes: Buffer;
  try {
    bytes = readFileBounded(path, maxRequestBytes);
  } catch (cause) {
    throw new MicroError("invalid_argument", `cannot read the request file "${path}": ${(cause as Error).message}`, { detail: "request", cause });
  }
  if (bytes.length > maxRequestBytes) throw new MicroError("invalid_argument", `the request file "${path}" is over ${maxRequestBytes} bytes`, { detail: "request" });
  return bytes.toString("utf8");
}

/** The request as a JSON object, from {@link requestText}; `invalid_argument` naming what is wrong. */
export async function requestObject(argument: string | undefined): Promise<Record<string, unknown>> {
  if (argument === undefined) return {};
  const text = await requestText(argument);
  const what = argument === "-" ? "the request on standard input" : argument.startsWith("@") ? `the request in ${argument.slice(1)}` : "the request";
  const request = parseJsonArgument(what, text);
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    throw new MicroError("invalid_argument", `${what} must be a JSON object such as '{"name":"Ada"}', got ${text.slice(0, 80)}`, { detail: "request" });
  }
  return request as Record<string, unknown>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxRequestBytes) throw new MicroError("invalid_argument", `the request on standard input is over ${maxRequestBytes} bytes`, { detail: "request" });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
