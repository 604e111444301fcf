import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { micro } from "../support/cli.ts";
import { openTestConnection } from "../support/rpc.ts";
import { freePort, repoPath } from "../support/service-dirs.ts";
import { startTestNats } from "../support/nats.ts";
import { type Child, runMicro } from "../support/subprocess.ts";

// One nats-server and one `micro run` (services/: greeter and audit) for the whole file.
let nats: NatsServerProcess;
let runner: Child;
let env: Record<string, string>;

beforeAll(async () => {
  nats = await startTestNats();
  env = { NATS_URL: nats.url };
  // With a gateway, for the dashboard's view of the same services.
  runner = runMicro(["run"], { ...env, MICRO_GATEWAY_PORT: String(await freePort()) });
  await runner.waitFor(/service greeter 1\.0\.0/);
  await runner.waitFor(/service audit/);
  await runner.waitFor(/gateway http/);
});
afterAll(async () => {
  runner.process.kill("SIGTERM");
  await runner.exited;
  await nats.stop();
});

describe("micro services and describe", () => {
  it("lists running services as a table and as JSON", async () => {
    const text = await micro(["services"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^SERVICE\s+VERSION\s+NODES\s+ENDPOINTS/);
    expect(text.stdout).toMatch(/greeter\s+1\.0\.0\s+1\s+Greeter\.SayHello, Greeter\.SayGoodbye\s+registry/);
    const json = await micro(["list", "--output", "json"], env);
    const services = JSON.parse(json.stdout) as Array<{ name: string; version: string; nodes: number }>;
    // Every module in services/ runs, listed by name.
    const names = services.map((s) => s.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(["audit", "cart", "counter", "greeter", "hello"]));
    expect(services.find((s) => s.name === "greeter")).toMatchObject({ version: "1.0.0", nodes: 1 });
  });

  it("describes a service's nodes, endpoints and request fields; an unknown service names what runs", async () => {
    const text = await micro(["describe", "audit"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("audit 1.0.0");
    expect(text.stdout).toMatch(/Audit\.History\s+unary\s+audit\.v1\.HistoryRequest\s+audit\.v1\.HistoryResponse/);
    expect(text.stdout).toMatch(/topics\s+repeated string/);
    expect(text.stdout).toMatch(/sinceMs\s+int64/);
    const json = JSON.parse((await micro(["describe", "greeter", "-o", "json"], env)).stdout);
    expect(json[0].nodes).toHaveLength(1);
    expect(json[0].endpoints[1]).toMatchObject({ name: "Greeter.SayGoodbye", implemented: false });
    const unknown = await micro(["describe", "nope"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error not_found: unknown service "nope" in namespace "micro" \(running: audit, cart, counter, greeter, hello\b/);
  });
});

describe("micro call", () => {
  it("prints the reply for a JSON request or field flags, with metadata, timeout and version", async () => {
    const json = await micro(["call", "greeter", "Greeter.SayHello", '{"name":"Ada"}'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ message: "Hello Ada" });
    const flags = await micro(["call", "greeter", "Greeter.SayHello", "--name", "Grace", "--metadata", "user=42", "--metadata", "trace=x", "--timeout", "2s", "--version", "1.0.0"], env);
    expect(flags.code).toBe(0);
    expect(JSON.parse(flags.stdout)).toEqual({ message: "Hello Grace" });
  });

  it("calls one node with --node, and fails clearly for a version nobody runs", async () => {
    const [greeter] = JSON.parse((await micro(["describe", "greeter", "-o", "json"], env)).stdout);
    const node = await micro(["call", "greeter", "Greeter.SayHello", "--name=Lin", "--node", greeter.nodes[0].id], env);
    expect(JSON.parse(node.stdout)).toEqual({ message: "Hello Lin" });
    const version = await micro(["call", "greeter", "Greeter.SayHello", "--name", "Lin", "--version", "9.9.9"], env);
    expect(version.code).toBe(1);
    expect(version.stderr).toContain("error not_found: no node of greeter matches");
  });

  it("prints the service's error code and detail and exits 1", async () => {
    const empty = await micro(["call", "greeter", "Greeter.SayHello", '{"name":""}'], env);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("micro call: error invalid_argument: name must not be empty (detail: name)");
    expect(empty.stdout).toBe("");
    const unimplemented = await micro(["call", "greeter", "Greeter.SayGoodbye", "--name", "Ada"], env);
    expect(unimplemented.code).toBe(1);
    expect(unimplemented.stderr).toContain("error unimplemented");
  });

  it("refuses bad input before calling: unknown service, endpoint or field, malformed JSON, bad timeout", async () => {
    const results = await Promise.all([
      micro(["call", "nope", "Greeter.SayHello"], env),
      micro(["call", "greeter", "Greeter.Nope"], env),
      micro(["call", "greeter", "Greeter.SayHello", "--nme", "Ada"], env),
      micro(["call", "greeter", "Greeter.SayHello", '{"name":'], env),
      micro(["call", "greeter", "Greeter.SayHello", "[1]"], env),
      micro(["call", "greeter", "Greeter.SayHello", "--timeout", "soon"], env),
      micro(["call", "greeter", "Greeter.SayHello", "--timeout", "0"], env),
    ]);
    const [service, endpoint, field, malformed, notObject, timeout, zero] = results;
    expect(service!.code).toBe(1);
    expect(service!.stderr).toContain(`unknown service "nope"`);
    expect(endpoint!.code).toBe(1);
    expect(endpoint!.stderr).toContain(`unknown endpoint "Greeter.Nope" of greeter (endpoints: Greeter.SayHello, Greeter.SayGoodbye)`);
    expect(field!.code).toBe(2);
    expect(field!.stderr).toContain(`greeter.v1.SayHelloRequest has no field "nme" (fields: name)`);
    expect(malformed!.code).toBe(2);
    expect(malformed!.stderr).toContain("the request is not valid JSON");
    expect(notObject!.code).toBe(2);
    expect(notObject!.stderr).toContain("must be a JSON object");
    expect(timeout!.code).toBe(2);
    expect(timeout!.stderr).toContain(`--timeout must be a duration such as 500ms, 30s, 2h or 1d, got "soon"`);
    expect(zero!.code).toBe(2);
    expect(zero!.stderr).toContain(`--timeout must be from 1ms to 2147483647ms (about 24 days), got "0"`);
  });
});

describe("micro publish, subscribe, replay and audit", () => {
  it("shows a published event live to a subscriber, then in replay and in the user's audit history", async () => {
    const subscriber = runMicro(["subscribe", "shop.>", "--output", "ndjson"], env);
    await subscriber.waitFor(/subscribed to shop\.>/);
    const published = await micro(["publish", "shop.order", '{"total":12}', "--user", "42"], env);
    expect(published.code).toBe(0);
    expect(published.stdout).toMatch(/^published shop\.order id=\S+ sequence=\d+/);
    await subscriber.waitFor(/"topic":"shop\.order"/);
    subscriber.process.kill("SIGINT");
    expect(await subscriber.exited).toBe(0);
    const live = JSON.parse(subscriber.output().split("\n").find((l) => l.includes('"shop.order"'))!);
    expect(live).toMatchObject({ topic: "shop.order", user: "42", source: "cli", data: { total: 12 } });

    await micro(["publish", "shop.order", '{"total":5}', "--user", "7", "-o", "json"], env);
    const replay = await micro(["replay", "shop.>", "--since", "1h", "--output", "ndjson"], env);
    expect(replay.code).toBe(0);
    const events = replay.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(events.map((e) => e.data.total)).toEqual([12, 5]);
    const mine = await micro(["replay", "shop.>", "--user", "7", "-o", "json"], env);
    expect(JSON.parse(mine.stdout).map((e: { user: string }) => e.user)).toEqual(["7"]);
    const text = await micro(["replay", "shop.order"], env);
    expect(text.stdout).toMatch(/shop\.order\s+user=42\s+from cli\s+\{"total":12\}/);
    // Nothing matching says so on stderr (stdout stays empty for scripts).
    const none = await micro(["replay", "shop.>", "--user", "nobody"], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe("");
    expect(none.stderr).toBe("no events in shop.> about user nobody\n");

    // The audit service indexes asynchronously: ask until the event is there.
    let history: Array<{ topic: string; data: unknown }> = [];
    for (let tries = 0; tries < 20 && history.length === 0; tries++) {
      history = JSON.parse((await micro(["audit", "42", "-o", "json"], env)).stdout);
      if (history.length === 0) await Bun.sleep(200);
    }
    expect(history[0]).toMatchObject({ topic: "shop.order", data: { total: 12 } });
    expect((await micro(["audit", "42"], env)).stdout).toMatch(/shop\.order\s+user=42/);
  });

  it("refuses malformed events, bad topics and bad times", async () => {
    const [json, topic, since, order] = await Promise.all([
      micro(["publish", "shop.order", "{nope"], env),
      micro(["publish", "shop order", "{}"], env),
      micro(["replay", "shop.>", "--since", "yesterday"], env),
      micro(["replay", "shop.>", "--since", "1h", "--until", "2h"], env),
    ]);
    expect(json.code).toBe(2);
    expect(json.stderr).toContain("the event is not valid JSON");
    expect(topic.code).toBe(2);
    expect(topic.stderr).toContain(`topic "shop order" has a bad token`);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain(`--since must be a duration ago (2h)`);
    expect(order.code).toBe(2);
    expect(order.stderr).toContain("--until must be after --since");
    // Beyond what JetStream reads (years 0-9999), or a timeout no timer holds: the flag is named, before anything is sent.
    const [far, ago, timeout, streamTimeout] = await Promise.all([
      micro(["replay", "shop.>", "--since", "300000000000000"], env),
      micro(["replay", "shop.>", "--since", "99999999h"], env),
      micro(["call", "greeter", "Greeter.SayHello", "--timeout", "30d"], env),
      micro(["stream", "counter", "Counter.Count", "--timeout", "0"], env),
    ]);
    expect([far.code, ago.code, timeout.code, streamTimeout.code]).toEqual([2, 2, 2, 2]);
    expect(far.stderr).toContain("--since must be a time from year 0 to 9999");
    expect(ago.stderr).toContain("--since must be a time from year 0 to 9999");
    expect(timeout.stderr).toContain("--timeout must be from 1ms to 2147483647ms");
    expect(streamTimeout.stderr).toContain("--timeout must be from 1ms");
    // History needs the audit service: its absence is named, with what to do.
    const noAudit = await micro(["audit", "42", "--namespace", "noaudit"], env);
    expect(noAudit.code).toBe(1);
    expect(noAudit.stderr).toContain(`error unavailable: the audit service is not running in namespace "noaudit" (micro run starts services/audit.ts`);
  });
});

describe("micro health, stats and traffic", () => {
  it("pings each instance and reports per-endpoint stats", async () => {
    const health = await micro(["health"], env);
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(/greeter\s+1\.0\.0\s+greeter-\S+\s+ok\s+[\d.]+ ms/);
    expect(health.stdout).toMatch(/audit\s+1\.0\.0\s+audit-\S+\s+ok/);
    const missing = await micro(["health", "nope"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no instance of "nope" answers or is registered`);

    await micro(["call", "greeter", "Greeter.SayHello", '{"name":""}'], env);
    const stats = JSON.parse((await micro(["stats", "greeter", "-o", "json"], env)).stdout);
    const sayHello = stats[0].endpoints.find((e: { name: string }) => e.name === "Greeter.SayHello");
    expect(sayHello.requests).toBeGreaterThanOrEqual(1);
    expect(sayHello.errors).toBeGreaterThanOrEqual(1);
    expect(sayHello.lastError).toContain("invalid_argument");
    expect((await micro(["stats"], env)).stdout).toMatch(/greeter\s+1\.0\.0\s+greeter-\S+\s+Greeter\.SayHello\s+\d+\s+\d+/);
  });

  it("shows, sets and clears version weights, and refuses bad weights", async () => {
    expect((await micro(["traffic", "greeter"], env)).stdout).toContain("greeter: no weights");
    // 2.0.0 does not run: refused (its share of the calls would fail), unless --force.
    const refused = await micro(["traffic", "greeter", "1.0.0=90", "2.0.0=10"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("2.0.0 of greeter does not run (running: 1.0.0)");
    expect(JSON.parse((await micro(["traffic", "greeter", "-o", "json"], env)).stdout).weights).toBeNull();
    const unknown = await micro(["traffic", "greeterr", "1.0.0=100"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no version of greeterr runs");
    const set = await micro(["traffic", "greeter", "1.0.0=90", "2.0.0=10", "--force"], env);
    expect(set.code).toBe(0);
    expect(set.stderr).toContain("warning: 2.0.0 of greeter does not run");
    expect(set.stdout).toMatch(/1\.0\.0\s+90\s+90%\s+yes/);
    expect(set.stdout).toMatch(/2\.0\.0\s+10\s+10%\s+no/);
    expect(JSON.parse((await micro(["traffic", "greeter", "-o", "json"], env)).stdout).weights).toEqual({ "1.0.0": 90, "2.0.0": 10 });
    // Calls follow the weights: 1.0.0 is the only running version with weight.
    expect((await micro(["call", "greeter", "Greeter.SayHello", "--name", "Ada"], env)).code).toBe(0);
    const bad = await micro(["traffic", "greeter", "1.0.0=lots"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`weight of 1.0.0 must be a number >= 0, got "lots"`);
    expect((await micro(["traffic", "greeter", "--clear"], env)).stdout).toContain("no weights (cleared)");
    expect(JSON.parse((await micro(["traffic", "greeter", "-o", "json"], env)).stdout).weights).toBeNull();
  });

});

describe("micro actors", () => {
  it("shows the cart actor type's node, shards and each active key with its mailbox depth", async () => {
    // Proto field names work as flags too (--cart_id, --cart-id), as well as the JSON name.
    for (const [flag, key] of [["--cart_id", "cli-a"], ["--cart-id", "cli-b"], ["--cartId", "cli-b"]] as const) {
      const added = await micro(["call", "cart", "Cart.AddItem", flag, key, "--sku", "apple", "--quantity", "2"], env);
      expect(added.code).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({ cartId: key, lines: [{ sku: "apple" }] });
    }
    const json = await micro(["actors", "cart", "-o", "json"], env);
    expect(json.code).toBe(0);
    const nodes = JSON.parse(json.stdout) as Array<{ nodeId: string; shards: number[]; active: Array<{ key: string; shard: number; depth: number; sequence: number }> }>;
    expect(nodes).toHaveLength(1);
    const [cart] = JSON.parse((await micro(["describe", "cart", "-o", "json"], env)).stdout);
    expect(nodes[0]!.nodeId).toBe(cart.nodes[0].id);
    expect(nodes[0]!.shards).toHaveLength(Number(cart.metadata["actor.shards"]));
    const b = nodes[0]!.active.find((a) => a.key === "cli-b")!;
    expect(b).toMatchObject({ depth: 0 });
    expect(b.sequence).toBeGreaterThan(0);
    expect(nodes[0]!.shards).toContain(b.shard);

    const text = await micro(["actors", "cart"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^cart 1 node, \d+ active keys/);
    expect(text.stdout).toMatch(new RegExp(`NODE\\s+SHARDS\\s+ACTIVE KEYS\n${nodes[0]!.nodeId}\\s+0-${nodes[0]!.shards.length - 1} \\(${nodes[0]!.shards.length}\\)`));
    expect(text.stdout).toMatch(/KEY\s+NODE\s+SHARD\s+MAILBOX\s+SEQUENCE\s+TIMERS/);
    expect(text.stdout).toMatch(new RegExp(`cli-a\\s+${nodes[0]!.nodeId}\\s+\\d+\\s+0\\s+\\d+\\s+0`));
    expect(text.stdout).toMatch(/cli-b\s/);

    // The dashboard of the same `micro run` shows them too.
    const gateway = /gateway (http:\/\/127\.0\.0\.1:\d+)/.exec(runner.output())![1]!;
    const page = await (await fetch(`${gateway}/`)).text();
    const panel = /<div class="actors" data-actors="cart">[\s\S]*?<\/div>/.exec(page)?.[0] ?? "";
    expect(panel).toContain(`<tr data-node="${nodes[0]!.nodeId}">`);
    expect(panel).toContain('data-key="cli-a"');
  });

  it("says why there is nothing to show: not an actor type, unknown service, bad name", async () => {
    const plain = await micro(["actors", "greeter"], env);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(`micro actors: error failed_precondition: "greeter" is not an actor type`);
    const unknown = await micro(["actors", "nope"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`micro actors: error not_found: unknown service "nope" in namespace "micro"`);
    const bad = await micro(["actors", "a.b"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("must be one NATS subject token");
  });
});

describe("micro stream", () => {
  it("prints a server stream line by line, and sends client and bidi streams from stdin", async () => {
    const count = await micro(["stream", "counter", "Counter.Count", '{"to":3}'], env);
    expect(count.code).toBe(0);
    expect(count.stdout).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    const sum = await stdinMicro(["stream", "counter", "Counter.Sum", "--stdin"], '{"value":1}\n\n{"value":41}\n');
    expect(sum.code).toBe(0);
    expect(JSON.parse(sum.stdout)).toEqual({ sum: 42, count: 2 });
    const echo = await stdinMicro(["stream", "counter", "Counter.Echo", "--stdin", "-o", "json"], '{"text":"a"}\n{"text":"b"}\n');
    expect(JSON.parse(echo.stdout)).toEqual([{ text: "a", seq: 1 }, { text: "b", seq: 2 }]);
    // Field flags as with call; a client stream given no request reads stdin without --stdin.
    const flags = await micro(["stream", "counter", "Counter.Count", "--to", "2", "--interval-ms", "1"], env);
    expect(flags.stdout).toBe('{"n":1}\n{"n":2}\n');
    const implicit = await stdinMicro(["stream", "counter", "Counter.Sum"], '{"value":2}\n{"value":3}\n');
    expect(JSON.parse(implicit.stdout)).toEqual({ sum: 5, count: 2 });
    const unknown = await micro(["stream", "counter", "Counter.Count", "--bogus", "1"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`counter.v1.CountRequest has no field "bogus" (fields: to, intervalMs, payloadBytes)`);
  });

  it("describes streaming endpoints as implemented, with their kind", async () => {
    const text = await micro(["describe", "counter"], env);
    expect(text.stdout).toMatch(/Counter\.Count\s+server_streaming/);
    expect(text.stdout).toMatch(/Counter\.Echo\s+bidi_streaming/);
    expect(text.stdout).not.toContain("[unimplemented]");
    const [counter] = JSON.parse((await micro(["describe", "counter", "-o", "json"], env)).stdout);
    expect(counter.endpoints.map((e: { implemented: boolean }) => e.implemented)).toEqual([true, true, true]);
    expect(runner.output()).not.toMatch(/Counter\.\w+ .*\[unimplemented\]/);
  });

  it("reports the handler's error, a deadline, a unary endpoint and a bad stdin line", async () => {
    const [tooMany, deadline, unary, badLine] = await Promise.all([
      micro(["stream", "counter", "Counter.Count", '{"to":99999999}'], env),
      micro(["stream", "counter", "Counter.Count", '{"to":100,"intervalMs":100}', "--timeout", "300ms"], env),
      micro(["stream", "greeter", "Greeter.SayHello"], env),
      stdinMicro(["stream", "counter", "Counter.Sum", "--stdin"], '{"value":1}\nnot json\n'),
    ]);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toContain("error invalid_argument: to must be at most 10000000 (detail: to)");
    expect(deadline.code).toBe(1);
    expect(deadline.stdout).toStartWith('{"n":1}\n');
    expect(deadline.stderr).toContain("error deadline_exceeded");
    expect(unary.code).toBe(2);
    expect(unary.stderr).toContain("Greeter.SayHello is not a streaming endpoint: use micro call");
    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toContain("stdin line 2 is not valid JSON");
  });
});

describe("NATS services in other languages", () => {
  it("lists, describes, pings and reports a service that only speaks the NATS services protocol", async () => {
    // What a Go service built with the NATS micro library answers, written out by hand.
    const conn = await openTestConnection(nats.url);
    const identity = { name: "pricing", id: "go-1", version: "0.3.0", metadata: { lang: "go" } };
    const endpoint = { name: "Quote", subject: "micro.srv.pricing.Pricing.Quote", queue_group: "q" };
    const answers: Record<string, object> = {
      PING: { type: "io.nats.micro.v1.ping_response", ...identity },
      INFO: { type: "io.nats.micro.v1.info_response", ...identity, description: "", endpoints: [endpoint] },
      STATS: { type: "io.nats.micro.v1.stats_response", ...identity, started: new Date().toISOString(), endpoints: [{ ...endpoint, num_requests: 7, num_errors: 1, last_error: "boom", processing_time: 7e6, average_processing_time: 1e6 }] },
    };
    for (const verb of Object.keys(answers)) {
      for (const subject of [`$SRV.${verb}`, `$SRV.${verb}.pricing`]) conn.nc.subscribe(subject, { callback: (_e, m) => void m.respond(JSON.stringify(answers[verb])) });
    }
    try {
      const list = JSON.parse((await micro(["services", "-o", "json"], env)).stdout);
      expect(list.find((s: { name: string }) => s.name === "pricing")).toMatchObject({ version: "0.3.0", nodes: 1, endpoints: ["Quote"], source: "nats-micro" });
      expect((await micro(["describe", "pricing"], env)).stdout).toContain("pricing 0.3.0");
      expect((await micro(["health", "pricing"], env)).stdout).toMatch(/pricing\s+0\.3\.0\s+go-1\s+ok/);
      expect(JSON.parse((await micro(["stats", "pricing", "-o", "json"], env)).stdout)[0].endpoints[0]).toMatchObject({ requests: 7, errors: 1, lastError: "boom", averageMs: 1 });
    } finally {
      await conn.close();
    }
  });
});

describe("micro sidecar", () => {
  it("serves the sidecar API on NATS until Ctrl-C", async () => {
    // --nats-url, as for every other command, wins over NATS_URL (here a dead address).
    const sidecar = runMicro(["sidecar", "--port", "0", "--nats-url", nats.url], { NATS_URL: "nats://127.0.0.1:1" });
    try {
      await sidecar.waitFor(/sidecar (http:\/\/127\.0\.0\.1:\d+\/sidecar)/);
      const url = /sidecar (http:\/\/127\.0\.0\.1:\d+)\/sidecar/.exec(sidecar.output())![1]!;
      const reply = await fetch(`${url}/sidecar/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Ada" } }) });
      expect(await reply.json()).toEqual({ message: "Hello Ada" });
      sidecar.process.kill("SIGINT");
      expect(await sidecar.exited).toBe(0);
    } finally {
      sidecar.process.kill("SIGKILL");
    }
  });
});

/** `micro <args>` with `input` on stdin. */
async function stdinMicro(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn({
    cmd: [process.execPath, repoPath("cli/main.ts"), ...args], cwd: repoPath(""), env: { ...process.env, ...env, NO_COLOR: "1" },
    stdin: new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}
