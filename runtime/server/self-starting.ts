/**
 * Definitions that start their own instances. A keyed actor type runs a router and a shard
 * host around its service instance; the server starts it through this hook instead of
 * knowing about actors, so `runtime/server` never imports `runtime/actor`.
 * @module
 */
import type { ServiceDefinition } from "../service/types.ts";
import { type ServiceInstance, startService, type StartServiceOptions } from "./service-instance.ts";

/** A service definition that brings its own way to start an instance. */
export interface SelfStartingDefinition extends ServiceDefinition {
  /** Starts one instance, as {@link startService} does for a plain definition. */
  start(options: StartServiceOptions): Promise<ServiceInstance>;
}

/** True when `definition` starts its own instances. */
export function isSelfStarting(definition: ServiceDefinition): definition is SelfStartingDefinition {
  return typeof (definition as Partial<SelfStartingDefinition>).start === "function";
}

/** Starts one instance of any definition: its own `start`, else {@link startService}. */
export function startInstance(definition: ServiceDefinition, options: StartServiceOptions): Promise<ServiceInstance> {
  return isSelfStarting(definition) ? definition.start(options) : startService(definition, options);
}
