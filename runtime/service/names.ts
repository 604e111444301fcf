/**
 * Names derived from protobuf descriptors, shared by the server and the client so that both
 * agree without configuration.
 * @module
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";

/** `Greeter` → `greeter`, `UserProfile` → `user-profile`: the default service name. */
export function defaultServiceName(service: DescService): string {
  return service.name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1-$2")
    .toLowerCase();
}

/** go-micro style endpoint name: `Greeter.SayHello`. */
export function endpointName(method: DescMethod): string {
  return `${method.parent.name}.${method.name}`;
}

/** Proto full method name: `greeter.v1.Greeter/SayHello`. */
export function endpointFullName(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}
