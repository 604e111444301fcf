/**
 * jetmicro's public API for service authors and callers.
 *
 * - Define a service: {@link defineService} with a generated protobuf descriptor.
 * - Call one: {@link createClient} over a {@link NatsTransport}.
 * - Fail a call: throw {@link MicroError} with a {@link Code}.
 * @module
 */
export { defineService, isServiceDefinition } from "./service/define.ts";
export type {
  EndpointDefinition,
  HandlerContext,
  MailboxOptions,
  ServiceDefinition,
  ServiceImpl,
  ServiceOptions,
  UnaryHandler,
  ServerStreamingHandler,
  ClientStreamingHandler,
  BidiStreamingHandler,
} from "./service/types.ts";
export { defaultServiceName, endpointFullName, endpointName } from "./service/names.ts";

export { createClient } from "./client/create-client.ts";
export { callJson, type JsonCall } from "./client/call-json.ts";
export { createDiscovery, type Discovery, type DiscoveryOptions } from "./client/discovery.ts";
export { connectClient, type ConnectClientOptions, type MicroConnection } from "./client/connect.ts";
export { NatsTransport } from "./client/nats-transport.ts";
export type { Transport, TransportReply } from "./client/transport.ts";
export type { CallOptions, Client, ClientOptions, HandlerClientOptions } from "./client/types.ts";
export type { BidiStreamingCall, ClientStreamingCall, ServerStreamingCall, StreamCallOptions } from "./client/types.ts";
export type { StreamChannel } from "./stream/channel.ts";
export type { OpenStreamRequest } from "./client/open-stream.ts";
export type { StreamTuning } from "./stream/protocol.ts";
export { ClientTransport, layerNatsTransport } from "./client/transport-layer.ts";

export { createMemoryTransport, type MemoryTransportOptions } from "./testing/memory-transport.ts";
export { createMemoryBroker, type MemoryBroker, type MemoryBrokerOptions } from "./broker/memory.ts";
export { hostActorInMemory, type MemoryActorHost, type MemoryActorOptions } from "./testing/memory-actors.ts";

export { serveService } from "./server/serve-effect.ts";
export { type InstanceStats, type ServiceInstance, startService, type StartServiceOptions } from "./server/service-instance.ts";

export { type Code, codes, isCode } from "./errors/code.ts";
export { MicroError, type MicroErrorOptions } from "./errors/micro-error.ts";

export { connectNats, layerNats, Nats } from "./nats/connection.ts";
export { natsConnectOptions, type NatsOptions, natsOptionsOf, redactNatsUrl } from "./nats/connect-options.ts";
export { layerNatsServer, NatsServer, type NatsServerInfo } from "./nats/server-layer.ts";

export { createMemoryRegistry } from "./registry/memory.ts";
export { listNatsMicroServices, type NatsMicroService } from "./registry/nats-micro-services.ts";
export { createNatsMicroDirectory, type NatsMicroDirectory, type NatsMicroDirectoryOptions, type NatsMicroEndpoint } from "./registry/nats-micro-endpoints.ts";
export {
  type NatsMicroEndpointStats,
  type NatsMicroPing,
  type NatsMicroStats,
  natsMicroServiceStats,
  pingNatsMicroServices,
} from "./registry/nats-micro-status.ts";
export { createNatsRegistry, type NatsRegistryOptions } from "./registry/nats-kv.ts";
export { keepRegistered, layerMemoryRegistry, layerNatsRegistry, ServiceRegistry } from "./registry/layer.ts";
export type { EndpointRecord, FieldSchema, NodeRecord, Registry, RegistryEvent, Service, ServiceRecord } from "./registry/types.ts";
export {
  registerWebService,
  type WebServiceOptions,
  type WebServiceRegistration,
  webServiceRecord,
  webServiceUrl,
  webServiceUrlKey,
} from "./registry/web-service.ts";
export { createSelector, type SelectorOptions } from "./selector/selector.ts";
export type { Selection, SelectOptions, Selector, Strategy } from "./selector/types.ts";
export { createRoutingRules, type RoutingRule, type RoutingRules } from "./selector/routing-rules.ts";

export { createJetStreamBroker, type JetStreamBroker, type JetStreamBrokerOptions } from "./broker/nats-jetstream.ts";
export { decodeEvent, type EventContext, type EventSubscriptionDefinition, onEvent, publishMessage } from "./broker/typed-events.ts";
export { EventBroker, layerJetStreamBroker } from "./broker/layer.ts";
export type { Broker, DeadLetter, DeliveredEvent, EventEnvelope, EventHandler, EventSubscription, PublishOptions, PublishResult, ReplayOptions, StoredEvent, SubscribeOptions } from "./broker/types.ts";

export { loadServices, type LoadedServices, type LoadFailure } from "./runner/load-services.ts";
export { layerRuntime, type RunnerConfig, type RunningServices, startServices } from "./runner/runner.ts";
export { runnerConfigFromEnv } from "./runner/config.ts";

export { assertToken, assertTopic, defaultNamespace, httpStatus, isToken, maxTokenLength, type Interceptor, type CallRequest, type CallResponse, type CallNext, type CallKind, type CallObserver, type ServiceType } from "./protocol/mod.ts";

export { platformUpgradeWebSocket, type UpgradeWebSocket } from "./platform/websocket.ts";
export { type HttpServer, serveHttp } from "./platform/http-server.ts";

// Keyed actors (issue 8): one actor per key, durable mailboxes and state in NATS.
export { defineActor, isActorDefinition } from "./actor/define.ts";
export { type ActorInstance, startActor, type StartActorOptions } from "./actor/host.ts";
export { type ActorNodeStatus, listActors } from "./actor/status.ts";
export type { ActiveKey } from "./actor/shard.ts";
export { idempotencyMetadata } from "./actor/command.ts";
export type { ActorContext, ActorDefinition, ActorHandler, ActorImpl, ActorOptions, ActorResult, ActorSignal, ActorSignalHandler } from "./actor/types.ts";
