/**
 * The jetmicro wire protocol, in one module: subjects and the checks on every name in them,
 * header names, metadata, request headers, deadlines, the error codec, no-responders, the
 * code→HTTP map, bounds, and the interceptor types. Every other module calls this one;
 * nothing else spells a header name or a subject.
 * @module
 */
export * as limits from "./limits.ts";
export {
  actorCallerReplyHeader,
  actorEndpointHeader,
  actorIdempotentHeader,
  actorReminderHeader,
  actorReplyHeader,
  batchHeader,
  contentTypeHeader,
  creditBytesHeader,
  creditHeader,
  deadLetterHeaders,
  errorCodeHeader,
  eventHeaders,
  frameHeader,
  emitDefaultsHeader,
  fromHeader,
  heartbeatHeader,
  jsonContentType,
  metadataPrefix,
  kvOperationHeader,
  msgIdHeader,
  expectedLastSubjectSeqHeader,
  natsErrorCodeHeader,
  natsErrorHeader,
  originalEventIdHeader,
  protoContentType,
  streamHeader,
  timeoutHeader,
  traceparentHeader,
  tracestateHeader,
  windowBytesHeader,
  windowHeader,
} from "./headers.ts";
export { maxErrorText, maxSubjectLength, maxTimeoutMs, maxTokenLength } from "./limits.ts";
export {
  actorCommandId,
  actorDirectFilter,
  actorDirectSubject,
  actorLeaseKey,
  actorMailboxSubject,
  actorMemberKey,
  actorReminderId,
  actorReminderKey,
  actorReminderPrefix,
  actorRemindersFilter,
  actorShardFilter,
  actorStateKey,
  actorStatusSubject,
  actorStreamSubjects,
  actorTypeFilter,
  actorTypePrefix,
  allEndpoints,
  assertActorKey,
  assertEndpoint,
  assertNamespace,
  assertToken,
  assertTopic,
  callSubject,
  checkedRegistryKey,
  checkedRouteRulesKey,
  checkedSubject,
  deadLetterId,
  deadLetterSubject,
  defaultNamespace,
  endpointOf,
  endpointSubject,
  eventStreamSubjects,
  eventPrefix,
  eventSubject,
  inboxFilter,
  inboxReplySubject,
  isEndpoint,
  isToken,
  nodeAliveFilter,
  nodeAliveSubject,
  nodeIdOfAliveSubject,
  nodeSubject,
  redriveFilter,
  redriveId,
  redriveSubject,
  kvStream,
  kvSubjectPrefix,
  registryKey,
  routeRulesKey,
  serviceSubject,
  servicesApiPrefix,
  servicesApiSubject,
  type ServicesVerb,
  type ServiceType,
  shown,
  kvEntrySubject,
} from "./subjects.ts";
export { assertMetadata, isMetadataKey, readMetadata, writeMetadata } from "./metadata.ts";
export { type RequestHeaderInit, requestHeaders } from "./request.ts";
export { headersOf, MsgRequestHeaders, type RequestHeaders } from "./request-headers.ts";
export { assertTimeout, deadlineFromHeader, timeoutValue } from "./deadline.ts";
export {
  decodeError,
  encodeError,
  isNoResponders,
  limitText,
  notDelivered,
  notDeliveredReason,
  replyError,
  respondWithError,
  wasNotDelivered,
} from "./error-codec.ts";
export { heartbeatEveryMs, nodeGoneAfterMs, nodeGoneReason } from "./liveness.ts";
export { codeFromHttpStatus, httpStatus } from "./status.ts";
export { applyInterceptors, callNext, type CallKind, type CallNext, type CallRequest, type CallResponse, type Interceptor } from "./interceptor.ts";
export { assertObservers, type CallObserver, observersInterceptor, observing, type Observing, withObservers } from "./call-observer.ts";
export { addRuntimeMetricsHook, runtimeMetrics, type RuntimeMetricsHook } from "./runtime-metrics.ts";
export {
  currentTraceContext,
  setTraceContextSource,
  type TraceContext,
  type TraceContextSource,
  traceContextOf,
  traceIdOf,
} from "./trace-context.ts";
