import { beforeAll, describe, expect, it } from "bun:test";
import { createJetStreamBroker, type JetStreamBroker } from "../../runtime/broker/nats-jetstream.ts";
import { micro } from "../support/cli.ts";
import { withNats } from "../support/nats.ts";
import { eventually, until } from "../support/wait.ts";

const { nats, conn, teardown } = withNats();
const json = new TextEncoder();
let broker: JetStreamBroker;
let env: Record<string, string>;

/** billing's dead letters as the broker lists them. */
async function letters(): Promise<number> {
  let n = 0;
  for await (const _ of broker.deadLetters("billing")) n++;
  return n;
}

beforeAll(async () => {
  env = { NATS_URL: nats.url };
  broker = await createJetStreamBroker(conn.nc);
  // billing fails every invoice (twice each, then dead letters it); reports handles them all.
  const billing = await broker.subscribe("invoice.created", () => {
    throw new Error("tax service down");
  }, { service: "billing", maxDeliveries: 2, backoffMs: () => 10 });
  const reports: string[] = [];
  const reportsSub = await broker.subscribe("invoice.>", (e) => void reports.push(e.id), { service: "reports" });
  teardown(() => reportsSub.stop());
  // ledger subscribes, then stops: what is published after that is its lag.
  const ledger = await broker.subscribe("invoice.paid", () => undefined, { service: "ledger" });
  await ledger.stop();
  for (const n of [1, 2, 3]) await broker.publish("invoice.created", json.encode(JSON.stringify({ invoice: n })), { contentType: "application/json", user: `u${n}` });
  for (const n of [1, 2]) await broker.publish("invoice.paid", json.encode(JSON.stringify({ invoice: n })), { contentType: "application/json" });
  await until(() => reports.length === 5);
  await eventually(letters, (n) => n === 3, { what: "three dead letters for billing" });
  await billing.stop();
});

describe("micro events", () => {
  it("lists topics with their counts, consumers with their lag, and dead letters per service", async () => {
    const out = await micro(["events", "-o", "json"], env);
    expect(out.code).toBe(0);
    const overview = JSON.parse(out.stdout);
    expect(overview.topics).toEqual([{ topic: "invoice.created", messages: 3 }, { topic: "invoice.paid", messages: 2 }]);
    const byFilter = (service: string) => overview.consumers.find((c: { name: string }) => c.name.startsWith(`${service}_`));
    expect(byFilter("ledger")).toMatchObject({ filter: "invoice.paid", pending: 2, ackPending: 0, ackWaitMs: 5000 });
    expect(byFilter("reports")).toMatchObject({ filter: "invoice.>", pending: 0, ackPending: 0 });
    // Dead-lettered events are settled: nothing waits for an ack or comes back after the ack wait.
    expect(byFilter("billing")).toMatchObject({ filter: "invoice.created", pending: 0, ackPending: 0, redelivered: 0 });
    expect(overview.deadLetters).toEqual([{ service: "billing", letters: 3 }]);

    const text = await micro(["events"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^TOPIC\s+EVENTS\ninvoice\.created\s+3\ninvoice\.paid\s+2$/m);
    expect(text.stdout).toMatch(/CONSUMER\s+FILTER\s+LAG\s+ACK PENDING\s+REDELIVERED\s+ACK WAIT\s+LAST DELIVERED/);
    expect(text.stdout).toMatch(/ledger_\S+\s+invoice\.paid\s+2\s+0\s+0\s+5s\s/);
    expect(text.stdout).toMatch(/SERVICE\s+DEAD LETTERS\nbilling\s+3/);
  });

  it("exits 3 when NATS cannot be reached", async () => {
    const out = await micro(["events", "--nats-url", "nats://127.0.0.1:1"], { MICRO_CONNECT_TIMEOUT_MS: "500" });
    expect(out.code).toBe(3);
    expect(out.stderr).toContain("micro events: error unavailable");
  });
});

describe("micro dlq", () => {
  it("lists a service's dead letters with time, topic, deliveries and error, as a table and as JSON", async () => {
    const out = await micro(["dlq", "list", "billing", "-o", "json"], env);
    expect(out.code).toBe(0);
    const list = JSON.parse(out.stdout) as Array<Record<string, unknown>>;
    expect(list.map((l) => [l.topic, l.deliveries, l.error, l.user, l.data])).toEqual([
      ["invoice.created", 2, "tax service down", "u1", { invoice: 1 }],
      ["invoice.created", 2, "tax service down", "u2", { invoice: 2 }],
      ["invoice.created", 2, "tax service down", "u3", { invoice: 3 }],
    ]);
    expect(list.every((l) => typeof l.time === "number" && typeof l.deadLetterSequence === "number")).toBe(true);
    const limited = JSON.parse((await micro(["dlq", "list", "billing", "--limit", "2", "-o", "json"], env)).stdout);
    expect(limited).toHaveLength(2);

    const text = await micro(["dlq", "list", "billing"], env);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+TOPIC\s+DELIVERIES\s+ERROR$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^\d+\s+\d{4}-\d\d-\d\dT\S+Z\s+invoice\.created\s+2\s+tax service down$/);

    const none = await micro(["dlq", "list", "reports"], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("no dead letters for reports");
  });

  it("shows one letter with its data; an unknown sequence is not found, a bad name or limit is a usage error", async () => {
    const [first] = JSON.parse((await micro(["dlq", "list", "billing", "-o", "json"], env)).stdout);
    const shown = await micro(["dlq", "show", "billing", String(first.deadLetterSequence), "-o", "json"], env);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ topic: "invoice.created", error: "tax service down", deliveries: 2, data: { invoice: 1 } });
    const text = await micro(["dlq", "show", "billing", String(first.deadLetterSequence)], env);
    expect(text.stdout).toMatch(/^error\s+tax service down$/m);
    expect(text.stdout).toMatch(/^data\n\{\n {2}"invoice": 1\n\}$/m);

    const unknown = await micro(["dlq", "show", "billing", "999"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("error not_found: billing has no dead letter 999");
    const otherService = await micro(["dlq", "show", "reports", String(first.deadLetterSequence)], env);
    expect(otherService.code).toBe(1);
    const badName = await micro(["dlq", "list", "bill ing"], env);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain("error invalid_argument");
    const badLimit = await micro(["dlq", "list", "billing", "--limit", "0"], env);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain("--limit must be between 1 and 10000");
  });

  it("redrives the letters to the service, printing the count, and the list empties", async () => {
    const healed: string[] = [];
    const fixed = await broker.subscribe("invoice.created", (e) => void healed.push(e.user), { service: "billing", maxDeliveries: 2 });
    teardown(() => fixed.stop());
    const out = await micro(["dlq", "redrive", "billing"], env);
    expect(out.code).toBe(0);
    expect(out.stdout.trim()).toBe("redrove 3 dead letters to billing");
    await until(() => healed.length === 3);
    expect(healed.sort()).toEqual(["u1", "u2", "u3"]);
    expect(await letters()).toBe(0);
    expect(JSON.parse((await micro(["dlq", "list", "billing", "-o", "json"], env)).stdout)).toEqual([]);
    expect(JSON.parse((await micro(["events", "-o", "json"], env)).stdout).deadLetters).toEqual([]);
    const again = await micro(["dlq", "redrive", "billing", "-o", "json"], env);
    expect(JSON.parse(again.stdout)).toEqual({ service: "billing", redriven: 0 });
  });
});
