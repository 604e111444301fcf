/**
 * The dashboard's JSON routes under `/dashboard/api/*`, read by its script every few seconds:
 *
 * | route | target (`dashboard/...`) | answer |
 * |---|---|---|
 * | `GET nodes` | `nodes` | `{time, nodes}`: every node's health and per-endpoint stats |
 * | `GET weights` | `weights` | `{services: [{service, weights, running}]}` |
 * | `POST weights/{service}` | `weights.set` | `{"weights": {...} \| null, "force"?: bool}` → the new weights |
 * | `GET events` | `events` | topics with counts, consumers with lag, dead letters per service |
 * | `GET dead-letters/{service}?limit=` | `dead-letters` | `{service, letters}` (oldest first, no data) |
 * | `GET dead-letters/{service}/{seq}` | `dead-letters` | one letter with its data |
 * | `POST dead-letters/{service}/redrive` | `redrive` | `{service, redriven}` |
 *
 * Every route authorizes the gateway target `dashboard` with the endpoint above, so the rule
 * `dashboard` grants all of them and e.g. `dashboard/page`, `dashboard/nodes` a read-only view.
 * Writes are POSTs with a JSON content type (no cross-site form can send one).
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { assertToken } from "../../runtime/protocol/mod.ts";
import type { DeadLetter } from "../../runtime/broker/types.ts";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { gatewayTarget } from "../auth-rules.ts";
import { eventJson } from "../event-json.ts";
import type { GatewayDeps, GatewayEnv } from "../part.ts";
import type { OperatorSource } from "./operator.ts";
import { deadLetterLimit, deadLetterSequence, jsonObjectBody, weightsChange } from "./operator-input.ts";

/** The prefix of every operator route. */
export const operatorApiPrefix = "/dashboard/api";

/** A dead letter as JSON: the event's JSON form (without its data when `withData` is false) plus why and how often it failed. */
export function deadLetterJson(letter: DeadLetter, withData: boolean): Record<string, unknown> {
  const { data: _data, dataBase64: _base64, error: dataError, ...head } = eventJson(letter);
  const body = withData ? eventJson(letter) : { ...head, size: letter.data.byteLength, ...(dataError === undefined ? {} : { dataError }) };
  return { deadLetterSequence: letter.deadLetterSequence, deliveries: letter.deliveries, error: letter.error, ...body };
}

/** The operator routes over `operator`, each behind `deps.authorize` with a `dashboard` target. */
export function operatorApi(deps: GatewayDeps, operator: OperatorSource): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const target = (endpoint: string) => () => gatewayTarget("dashboard", endpoint);
  // The service in the path, checked before anything else: a hostile name is a 400.
  const serviceTarget = (endpoint: string) => (c: Context<GatewayEnv>) => {
    assertToken("service", c.req.param("service"));
    return gatewayTarget("dashboard", endpoint);
  };
  const service = (c: Context<GatewayEnv>) => c.req.param("service")!;

  app.get(`${operatorApiPrefix}/nodes`, deps.authorize(target("nodes")), async (c) => c.json({ time: Date.now(), nodes: await operator.nodes() }));

  app.get(`${operatorApiPrefix}/weights`, deps.authorize(target("weights")), async (c) => c.json({ services: await operator.weights() }));

  app.post(`${operatorApiPrefix}/weights/:service`, deps.authorize(serviceTarget("weights.set")), async (c) => {
    const change = weightsChange(await jsonObjectBody(c.req.raw, `POST ${operatorApiPrefix}/weights/{service}`));
    return c.json(await operator.setWeights(service(c), change.weights, change.force));
  });

  app.get(`${operatorApiPrefix}/events`, deps.authorize(target("events")), async (c) => c.json(await operator.events()));

  app.get(`${operatorApiPrefix}/dead-letters/:service`, deps.authorize(serviceTarget("dead-letters")), async (c) => {
    const limit = deadLetterLimit(c.req.query("limit"));
    const letters = await operator.deadLetters(service(c), limit);
    return c.json({ service: service(c), letters: letters.map((l) => deadLetterJson(l, false)) });
  });

  app.get(`${operatorApiPrefix}/dead-letters/:service/:sequence{[^/]+}`, deps.authorize(serviceTarget("dead-letters")), async (c) => {
    const sequence = deadLetterSequence(c.req.param("sequence"));
    const letter = await operator.deadLetter(service(c), sequence);
    if (letter === undefined) throw new MicroError("not_found", `${service(c)} has no dead letter ${sequence}`, { detail: String(sequence) });
    return c.json(deadLetterJson(letter, true));
  });

  app.post(`${operatorApiPrefix}/dead-letters/:service/redrive`, deps.authorize(serviceTarget("redrive")), async (c) => {
    await jsonObjectBody(c.req.raw, `POST ${operatorApiPrefix}/dead-letters/{service}/redrive`);
    return c.json({ service: service(c), redriven: await operator.redrive(service(c)) });
  });

  // Anything else under the prefix is a 404 here, not a service call through the path routes.
  app.all(`${operatorApiPrefix}/*`, deps.authorize(target("api")), (c) => {
    throw new MicroError("not_found", `no dashboard route ${c.req.method} ${c.req.path.slice(0, 200)}`);
  });

  return app;
}
