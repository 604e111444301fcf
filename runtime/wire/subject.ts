/**
 * The subject scheme: where a request for a service endpoint is published on NATS.
 *
 * - `{namespace}.{type}.{service}.{Endpoint}`: any instance of the service (queue group
 *   `{namespace}.{type}.{service}`), e.g. `micro.srv.greeter.Greeter.SayHello`.
 * - `{namespace}.node.{nodeId}.{Endpoint}`: one instance, for selectors that pick a node.
 *
 * `{Endpoint}` is go-micro style `Greeter.SayHello`; the proto full name
 * `greeter.v1.Greeter/SayHello` is accepted as an alias.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";

/** What kind of service this is, as in go-micro: RPC, HTTP-shaped API, or web app. */
export type ServiceType = "srv" | "api" | "web";

/** The default namespace, as go-micro's `go.micro`. */
export const defaultNamespace = "micro";

const tokenPattern = /^[A-Za-z0-9_-]+$/;

/** Throws `invalid_argument` unless `value` is one safe NATS subject token (no dots, no wildcards). */
export function assertToken(what: string, value: string): void {
  if (!tokenPattern.test(value)) {
    throw new MicroError(
      "invalid_argument",
      `${what} "${value}" must be one NATS subject token: letters, digits, "-" or "_"`,
      { detail: what },
    );
  }
}

/** Throws `invalid_argument` unless `value` is a dotted namespace of safe tokens. */
export function assertNamespace(value: string): void {
  for (const part of value.split(".")) assertToken("namespace", part);
}

/** The subject prefix shared by every endpoint of a service: `micro.srv.greeter`. */
export function serviceSubject(namespace: string, type: ServiceType, service: string): string {
  return `${namespace}.${type}.${service}`;
}

/** The subject prefix that reaches one node only: `micro.node.<nodeId>`. */
export function nodeSubject(namespace: string, nodeId: string): string {
  return `${namespace}.node.${nodeId}`;
}
