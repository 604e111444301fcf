/**
 * Real `micro run` processes hosting the probe actor fixture on one test nats-server, for
 * tests of keyed actors across processes. Each node runs `tests/fixtures/services/probe-actor`
 * under the service name it is given, so every test can use its own name and never meets the
 * leases and member entries of the nodes an earlier test killed.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { type ActorNodeStatus, listActors } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { repoPath } from "./service-dirs.ts";
import { type Child, runMicro } from "./subprocess.ts";
import { eventually } from "./wait.ts";

/** One running node and the id it printed. */
export interface ActorNode {
  readonly child: Child;
  readonly nodeId: string;
}

/** How the nodes are run. */
export interface ActorNodeOptions {
  /** The test's nats-server (read when a node starts). */
  readonly nats: NatsServerProcess;
  /** A connection of the test, to ask the nodes for their status. */
  readonly conn: { readonly nc: NatsConnection };
  /** `MICRO_ACTOR_LEASE_MS` of every node. */
  readonly leaseMs: number;
  /** `MICRO_DRAIN_TIMEOUT_MS` of every node (default 2000). */
  readonly drainTimeoutMs?: number;
}

/** Starts, watches and kills probe-actor nodes; `killAll()` in an `afterEach` or `afterAll`. */
export interface ActorNodes {
  /** Starts a node serving the probe actor as `service`; resolves once it printed its service line. */
  start(service: string): Promise<ActorNode>;
  /** Waits until `count` nodes of `service` own all 16 shards between them, each some, and agree on the members. */
  balanced(service: string, count: number, timeoutMs?: number): Promise<ActorNodeStatus[]>;
  /** The nodes started so far (killed ones included). */
  readonly children: readonly Child[];
  /** Every node's output, for a failure message. */
  outputs(): string;
  /** SIGCONT then SIGKILL to every node started so far; resolves when all exited. */
  killAll(): Promise<void>;
}

const fixture = repoPath("tests/fixtures/services/probe-actor");

/** Nodes of the probe actor fixture for one test file. */
export function actorNodes(options: ActorNodeOptions): ActorNodes {
  let children: Child[] = [];
  const outputs = () => children.map((c, i) => `--- node ${i + 1} (pid ${c.process.pid}) ---\n${c.output()}`).join("\n");
  return {
    get children() {
      return children;
    },
    outputs,
    async start(service) {
      const child = runMicro(["run", fixture], {
        NATS_URL: options.nats.url,
        PROBE_ACTOR_NAME: service,
        MICRO_ACTOR_LEASE_MS: String(options.leaseMs),
        MICRO_DRAIN_TIMEOUT_MS: String(options.drainTimeoutMs ?? 2000),
      });
      children.push(child);
      const line = new RegExp(`service ${service} .*\\(node (${service}-\\w+)\\)`);
      await child.waitFor(line, 45_000);
      return { child, nodeId: line.exec(child.output())![1]! };
    },
    async balanced(service, count, timeoutMs = 30_000) {
      const agreed = (nodes: ActorNodeStatus[]) =>
        nodes.length === count && nodes.reduce((n, s) => n + s.shards.length, 0) === 16 && nodes.every((n) => n.shards.length > 0 && n.members.length === count);
      try {
        return await eventually(() => listActors(options.conn.nc, service), agreed, {
          timeoutMs,
          intervalMs: 100,
          what: `${count} nodes of ${service} owning all 16 shards and agreeing on the members`,
        });
      } catch (error) {
        throw new Error(`${(error as Error).message}\nnode output:\n${outputs()}`);
      }
    },
    async killAll() {
      for (const child of children) {
        child.process.kill("SIGCONT");
        child.process.kill("SIGKILL");
      }
      await Promise.all(children.map((c) => c.exited));
      children = [];
    },
  };
}
