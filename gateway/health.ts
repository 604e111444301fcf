/**
 * `GET /health`: the gateway itself is up. Public: it reaches nothing behind the gateway.
 * @module
 */
import { Hono } from "hono";
import { publicRoute } from "./authorization.ts";
import type { GatewayEnv, GatewayPart } from "./part.ts";

/** The health route. */
export const healthPart: GatewayPart = () => new Hono<GatewayEnv>().get("/health", publicRoute, (c) => c.json({ status: "ok" }));
