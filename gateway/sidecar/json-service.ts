/**
 * A service whose endpoints take and give plain JSON, for apps that have no protobuf: the
 * sidecar serves it like any other (mailbox, deadlines, `$SRV`, registry), and each handler
 * hands the call to a function, which forwards it to the app over HTTP.
 *
 * The protobuf descriptor is built at runtime: every endpoint takes a `google.protobuf.Struct`
 * (any JSON object) and answers a `google.protobuf.Value` (any JSON value), so JSON callers
 * (`nats req`, the gateway, `/rpc`) see exactly the JSON the app sends and receives.
 * @module
 */
import { create, createFileRegistry, type DescMessage, type DescService, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, file_google_protobuf_struct, StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { EndpointDefinition, HandlerContext, ServiceDefinition, UnaryHandler } from "../../runtime/mod.ts";
import { MicroError } from "../../runtime/mod.ts";

/** One endpoint of a JSON service. */
export interface JsonEndpoint {
  /** go-micro style name, `Orders.Create`. */
  readonly name: string;
  /** Path on the app that answers it, `/Orders.Create` unless set. */
  readonly path: string;
}

/** What a JSON service is. */
export interface JsonServiceSpec {
  readonly name: string;
  readonly version: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly endpoints: readonly JsonEndpoint[];
  /** Mailbox limits; default capacity 1000, concurrency 100. */
  readonly mailbox?: { readonly capacity: number; readonly concurrency: number };
}

/** Answers one call: the request as JSON in, the reply as JSON out (or a thrown `MicroError`). */
export type JsonCallHandler = (endpoint: JsonEndpoint, request: JsonValue, ctx: HandlerContext) => Promise<JsonValue>;

/** Builds the service definition of `spec`, whose calls all go to `handle`. */
export function defineJsonService(spec: JsonServiceSpec, handle: JsonCallHandler): ServiceDefinition {
  const services = new Map<string, string[]>();
  for (const e of spec.endpoints) {
    const [service, method] = e.name.split(".") as [string, string];
    services.set(service, [...(services.get(service) ?? []), method]);
  }
  // A proto package per service keeps type names apart in `$SRV.INFO` and the registry.
  const pkg = `sidecar.${spec.name.replace(/-/g, "_").replace(/^(\d)/, "_$1")}`;
  const file = create(FileDescriptorProtoSchema, {
    name: `${pkg.replace(/\./g, "/")}.proto`,
    package: pkg,
    syntax: "proto3",
    dependency: ["google/protobuf/struct.proto"],
    service: [...services].map(([name, methods]) => ({
      name,
      method: methods.map((m) => ({ name: m, inputType: ".google.protobuf.Struct", outputType: ".google.protobuf.Value" })),
    })),
  });
  const registry = createFileRegistry(file, (dep) => (dep === "google/protobuf/struct.proto" ? file_google_protobuf_struct : undefined));
  const descriptors = [...services.keys()].map((s) => registry.getService(`${pkg}.${s}`) as DescService);

  const endpoints: EndpointDefinition[] = spec.endpoints.map((endpoint) => {
    const [service, methodName] = endpoint.name.split(".") as [string, string];
    const method = descriptors.find((d) => d.name === service)!.methods.find((m) => m.name === methodName)!;
    const handler: UnaryHandler<DescMessage, DescMessage> = async (request, ctx) => {
      const reply = await handle(endpoint, toJson(StructSchema, request as never), ctx);
      try {
        return fromJson(ValueSchema, reply);
      } catch (cause) {
        throw new MicroError("internal", `the reply of ${endpoint.name} is not JSON: ${(cause as Error).message}`, { cause });
      }
    };
    return { name: endpoint.name, fullName: `${pkg}.${endpoint.name.replace(".", "/")}`, method, handler };
  });

  return {
    kind: "jetmicro.service",
    descriptor: descriptors[0]!,
    name: spec.name,
    version: spec.version,
    type: "srv",
    metadata: { ...spec.metadata },
    namespace: undefined,
    // No streaming endpoints here: the stream share only has to be valid.
    mailbox: { ...(spec.mailbox ?? { capacity: 1000, concurrency: 100 }), streams: 1 },
    defaultTimeoutMs: 30_000,
    endpoints,
    subscriptions: [],
    interceptors: [],
  };
}
