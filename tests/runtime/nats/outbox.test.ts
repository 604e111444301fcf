/**
 * Publishes deferred to the end of the turn: they all arrive, in the order they were made,
 * and one nats.js refuses is reported to its caller instead of thrown away.
 */
import { describe, expect, it } from "bun:test";
import { createInbox } from "@nats-io/nats-core";
import { Outbox } from "../../../runtime/nats/outbox.ts";
import { withNats } from "../../support/nats.ts";
import { until } from "../../support/wait.ts";

const { conn } = withNats();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe("Outbox", () => {
  it("sends what one turn queued, in order, and what later turns queue after it", async () => {
    const subject = createInbox();
    const got: string[] = [];
    const sub = conn.nc.subscribe(subject, { callback: (_e, msg) => void got.push(decoder.decode(msg.data)) });
    await conn.nc.flush();
    const outbox = new Outbox(conn.nc);
    for (let i = 0; i < 100; i++) outbox.publish(subject, encoder.encode(`a${i}`));
    await Promise.resolve();
    for (let i = 0; i < 100; i++) outbox.publish(subject, encoder.encode(`b${i}`));
    await until(() => got.length >= 200);
    sub.unsubscribe();
    expect(got).toEqual([...Array.from({ length: 100 }, (_, i) => `a${i}`), ...Array.from({ length: 100 }, (_, i) => `b${i}`)]);
  });

  it("reports a publish nats.js refuses (over the max payload) to its caller", async () => {
    const outbox = new Outbox(conn.nc);
    const refused = new Promise<Error>((resolve) => outbox.publish(createInbox(), new Uint8Array((conn.nc.info?.max_payload ?? 1 << 20) + 1), undefined, undefined, resolve));
    expect(String(await refused)).toMatch(/payload|max/i);
  });
});
