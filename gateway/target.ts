import { MicroError, type ServiceType } from "../runtime/mod.ts";
import { compareVersionsDescending, type Route, versionMatches } from "./paths.ts";
import type { ServiceIndex } from "./service-index.ts";

/** What a path reaches: the kind of service, and for `/v1/...` paths the exact version. */
export interface Target {
  readonly type: Extract<ServiceType, "srv" | "api">;
  readonly version?: string;
}

/**
 * Decides with the registry whether a path reaches an API service or a srv service, and
 * which version a `/v1/...` path reaches (the newest that matches). A service the registry
 * does not know is tried as srv: plain NATS services do not register, and a service nobody
 * serves fails at once with 404.
 */
export async function resolveTarget(index: ServiceIndex | undefined, namespace: string, route: Route): Promise<Target> {
  if (index === undefined) {
    if (route.version !== undefined) throw new MicroError("not_found", `versioned paths (/${route.version}/...) need the gateway to follow the registry`);
    return { type: "srv" };
  }
  const services = (await index.lookup(namespace, route.service)).filter((s) => s.type !== "web");
  if (route.version === undefined) return { type: services.some((s) => s.type === "api") ? "api" : "srv" };
  const matching = services.filter((s) => versionMatches(route.version!, s.version)).sort((a, b) => compareVersionsDescending(a.version, b.version));
  const chosen = matching[0];
  if (chosen === undefined) {
    const running = services.map((s) => s.version).join(", ") || "none";
    throw new MicroError("not_found", `no ${route.version} version of ${route.service} runs (running: ${running})`, { detail: route.service });
  }
  return { type: chosen.type === "api" ? "api" : "srv", version: chosen.version };
}
