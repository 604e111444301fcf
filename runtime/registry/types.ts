/**
 * The registry contract: which services run where. One record per running node; callers
 * read them grouped as services, one entry per version (go-micro's `GetService`).
 * @module
 */
import type { ServiceType } from "../protocol/mod.ts";

/** One field of a message, enough for a form or a CLI to build a request. */
export interface FieldSchema {
  /** JSON name (`userId`), as the protobuf JSON mapping spells it. */
  readonly name: string;
  /** `string`, `int32`, `bool`, ..., `enum`, or `message`. */
  readonly type: string;
  readonly repeated: boolean;
  readonly map: boolean;
  /** For enums and messages: the type name; for enums also the value names. */
  readonly typeName?: string;
  readonly enumValues?: readonly string[];
  /** For message fields, its fields (nesting stops at depth 3 and at recursion). */
  readonly fields?: readonly FieldSchema[];
}

/** An endpoint as the registry publishes it. */
export interface EndpointRecord {
  /** `Greeter.SayHello`. */
  readonly name: string;
  /** `greeter.v1.Greeter/SayHello`. */
  readonly fullName: string;
  readonly kind: "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";
  readonly implemented: boolean;
  readonly request: { readonly typeName: string; readonly fields: readonly FieldSchema[] };
  readonly response: { readonly typeName: string; readonly fields: readonly FieldSchema[] };
}

/** One running instance. */
export interface NodeRecord {
  readonly id: string;
  /** Subject prefix reaching only this node: `micro.node.<service>.<id>`. */
  readonly address: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** What one node registers: its service and itself. */
export interface ServiceRecord {
  readonly namespace: string;
  readonly type: ServiceType;
  readonly name: string;
  readonly version: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly endpoints: readonly EndpointRecord[];
  readonly node: NodeRecord;
  /** The node is gone if not re-registered within this many ms. */
  readonly ttlMs: number;
}

/** A service as callers see it: one version, with all its live nodes. */
export interface Service {
  readonly namespace: string;
  readonly type: ServiceType;
  readonly name: string;
  readonly version: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly endpoints: readonly EndpointRecord[];
  readonly nodes: readonly NodeRecord[];
}

/** A change seen by {@link Registry.watch}. */
export interface RegistryEvent {
  /** `register` for a new node, `update` for a heartbeat or change, `deregister` for a clean stop, `expire` for a node whose TTL ran out. */
  readonly type: "register" | "update" | "deregister" | "expire";
  readonly record: ServiceRecord;
}

/** Discovery: register nodes, find services, watch changes. */
export interface Registry {
  /** Registers or refreshes a node (call again before its TTL runs out). */
  register(record: ServiceRecord): Promise<void>;
  /** Removes a node at once. */
  deregister(record: ServiceRecord): Promise<void>;
  /** The live versions of a service (empty when none runs). */
  getService(name: string, namespace?: string): Promise<Service[]>;
  /** Every live service version. */
  listServices(): Promise<Service[]>;
  /** Changes from now on, until `signal` aborts or the registry closes. */
  watch(signal?: AbortSignal): AsyncIterable<RegistryEvent>;
  /** Stops watches and timers. */
  close(): Promise<void>;
}
