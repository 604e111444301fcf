/**
 * Calling services written against the NATS services protocol by other libraries (nats.go's
 * `micro`, `@nats-io/services`, Rust, Java): they do not register with jetmicro and listen
 * on any subject they like, so the subject of an endpoint is the one their `$SRV.INFO`
 * announces. This directory finds it, per instance, and caches the answer briefly so a
 * gateway does not ask on every request.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { isToken, maxSubjectLength, shown } from "../protocol/mod.ts";
import { listNatsMicroServices, type NatsMicroService } from "./nats-micro-services.ts";

/** One endpoint of one instance, as its `$SRV.INFO` announces it. */
export interface NatsMicroEndpoint {
  readonly service: string;
  /** The instance id. */
  readonly id: string;
  readonly version: string;
  /** The endpoint name (`Stock`). */
  readonly name: string;
  /** Where to send requests: `inventory.Stock`. */
  readonly subject: string;
}

/** Finds the announced subjects of NATS services by endpoint name. */
export interface NatsMicroDirectory {
  /**
   * An instance's endpoint named one of `names` (first name first), of `version` when given;
   * among several instances one at random. Undefined when no instance announces it.
   */
  find(service: string, names: readonly string[], version?: string): Promise<NatsMicroEndpoint | undefined>;
}

/** Options of {@link createNatsMicroDirectory}. */
export interface NatsMicroDirectoryOptions {
  /** How long an answer is reused, ms (2000). */
  readonly cacheMs?: number;
  /** Longest wait for `$SRV.INFO` replies, ms (500); collecting stops earlier once replies stall. */
  readonly waitMs?: number;
}

// A subject another program announced: plain tokens with dots, no wildcards or spaces.
const subjectPattern = /^[^\s*>.]+(\.[^\s*>.]+)*$/;
/** Services whose answers are cached at once: a bound however many names callers make up. */
const maxCached = 1024;

/**
 * True when `subject` is a concrete subject a request may be sent to: not a system subject
 * (`$JS.API...`, `$KV...`, `$SRV...`, `$SYS...`) nor a reply one (`_INBOX...`: any starting
 * with `_`, where NATS clients keep their reply spaces). What a
 * service announces is its own word, and a caller sends there with its own NATS rights.
 */
export function isCallableSubject(subject: string): boolean {
  return subject.length > 0 && subject.length <= maxSubjectLength && subjectPattern.test(subject) && subject[0] !== "$" && subject[0] !== "_";
}

/** A directory asking `$SRV.INFO.{service}` on `nc`. */
export function createNatsMicroDirectory(nc: NatsConnection, options: NatsMicroDirectoryOptions = {}): NatsMicroDirectory {
  const cacheMs = options.cacheMs ?? 2000;
  const cache = new Map<string, { at: number; instances: Promise<NatsMicroService[]> }>();

  function instancesOf(service: string): Promise<NatsMicroService[]> {
    const hit = cache.get(service);
    if (hit !== undefined && Date.now() - hit.at < cacheMs) return hit.instances;
    if (cache.size >= maxCached) cache.clear();
    const instances = listNatsMicroServices(nc, { name: service, waitMs: options.waitMs ?? 500, stallMs: 50 });
    cache.set(service, { at: Date.now(), instances });
    instances.catch(() => cache.delete(service));
    return instances;
  }

  return {
    async find(service, names, version) {
      if (!isToken(service)) throw new MicroError("invalid_argument", `service "${shown(String(service))}" must be one NATS subject token`, { detail: "service" });
      const instances = (await instancesOf(service)).filter((i) => version === undefined || i.version === version);
      for (const name of names) {
        const found = instances.flatMap((i) =>
          i.endpoints.filter((e) => e.name === name && isCallableSubject(e.subject)).map((e) => ({ service, id: i.id, version: i.version, name, subject: e.subject }))
        );
        if (found.length > 0) return found[Math.floor(Math.random() * found.length)];
      }
      return undefined;
    },
  };
}
