import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureNatsServerBinary, type NatsServerProcess, startNatsServer } from "../../runtime/nats/mod.ts";
import { freePort } from "./service-dirs.ts";
import { eventually } from "./wait.ts";

/** One node of a {@link NatsCluster}. */
export interface ClusterNode {
  /** Server name, also what JetStream reports as a stream's leader (`n0`, `n1`, `n2`). */
  readonly name: string;
  /** Client URL; the same after a restart. */
  readonly url: string;
  /** The running server, or undefined while the node is killed. */
  readonly server: NatsServerProcess | undefined;
}

/** A nats-server cluster on loopback, started by {@link startNatsCluster}. */
export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's client URL, separated by commas: what `NATS_URL` holds for a cluster. */
  readonly url: string;
  /** The node of a server name (`n1`), e.g. a stream's leader from `jsm.streams.info()`. */
  indexOf(name: string): number;
  /** SIGKILLs node `i` and waits until it has exited (a crash: nothing flushed, no goodbye to its routes). */
  kill(i: number): Promise<void>;
  /** Starts node `i` again, on its ports and store dir, and waits until JetStream answers through it. */
  restart(i: number): Promise<void>;
  /** Waits until JetStream answers through every running node (a meta leader is elected). */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops every node and deletes the store dirs. */
  stop(): Promise<void>;
}

/**
 * Starts a `size`-node nats-server cluster (3 by default) for fault tests: routes on
 * 127.0.0.1, free client and route ports, JetStream on each node with its own store dir
 * under one temp dir, and resolves once JetStream has a meta leader. nats-server >= 2.2 runs
 * clustered JetStream from flags alone (the Debian package's 2.9 does).
 *
 * @example
 * const cluster = await startNatsCluster();
 * const nc = await connectNats({ servers: cluster.url });
 * await cluster.kill(0); // the client reconnects to n1 or n2
 * await cluster.stop();
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  try {
    return await launchCluster(size, 20_000);
  } catch (error) {
    // Now and then one node of a fresh cluster never gets JetStream (its routes did not come
    // together) on a loaded machine: the cluster is started once more, on new ports and dirs,
    // within the tests' set-up time, rather than failing a test that has not begun.
    console.error(`nats cluster: ${(error as Error).message}; starting a new one`);
    return await launchCluster(size, 30_000);
  }
}

async function launchCluster(size: number, startTimeoutMs: number): Promise<NatsCluster> {
  const binary = await ensureNatsServerBinary();
  const root = mkdtempSync(join(tmpdir(), "jetmicro-cluster-"));
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort());
    routePorts.push(await freePort());
  }
  const names = clientPorts.map((_, i) => `n${i}`);
  const servers: Array<NatsServerProcess | undefined> = names.map(() => undefined);
  const urls = clientPorts.map((port) => `nats://127.0.0.1:${port}`);

  const start = async (i: number) => {
    const storeDir = join(root, names[i]!);
    mkdirSync(storeDir, { recursive: true });
    const routes = routePorts.filter((_, j) => j !== i).map((port) => `nats-route://127.0.0.1:${port}`).join(",");
    servers[i] = await startNatsServer({
      binary,
      port: clientPorts[i],
      storeDir,
      args: ["-n", names[i]!, "--cluster_name", "jetmicro-test", "--cluster", `nats://127.0.0.1:${routePorts[i]}`, "--routes", routes],
    });
  };
  const answers = async (url: string): Promise<boolean> => {
    const nc = await connect({ servers: url, reconnect: false, timeout: 1000 }).catch(() => undefined);
    if (nc === undefined) return false;
    try {
      const jsm = await jetstreamManager(nc, { timeout: 1000 });
      await jsm.getAccountInfo();
      return true;
    } catch {
      return false;
    } finally {
      await nc.close();
    }
  };
  const ready = async (timeoutMs = 30_000) => {
    const up = urls.filter((_, i) => servers[i] !== undefined);
    await eventually(() => Promise.all(up.map(answers)), (ok) => ok.every(Boolean), { timeoutMs, what: "JetStream to answer through every running cluster node" });
  };

  // JetStream answers on every node before all of them have joined its meta group: until they
  // have, a stream with a replica per node fails with "no suitable peers for placement".
  const placesEveryReplica = async (): Promise<boolean> => {
    const nc = await connect({ servers: urls, reconnect: false, timeout: 1000 }).catch(() => undefined);
    if (nc === undefined) return false;
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      await jsm.streams.add({ name: "CLUSTER_READY_PROBE", subjects: ["cluster.ready.probe"], num_replicas: size, storage: StorageType.Memory });
      await jsm.streams.delete("CLUSTER_READY_PROBE");
      return true;
    } catch {
      return false;
    } finally {
      await nc.close();
    }
  };

  try {
    await Promise.all(names.map((_, i) => start(i)));
    await ready(startTimeoutMs);
    await eventually(placesEveryReplica, Boolean, { timeoutMs: startTimeoutMs, what: `the cluster to place a stream with ${size} replicas` });
  } catch (error) {
    await Promise.all(servers.map((s) => s?.stop()));
    rmSync(root, { recursive: true, force: true });
    throw error;
  }

  return {
    nodes: names.map((name, i) => ({
      name,
      url: urls[i]!,
      get server() {
        return servers[i];
      },
    })),
    url: urls.join(","),
    indexOf(name) {
      const i = names.indexOf(name);
      if (i < 0) throw new Error(`no cluster node named ${name} (nodes: ${names.join(", ")})`);
      return i;
    },
    async kill(i) {
      const server = servers[i];
      if (server === undefined) return;
      server.kill("SIGKILL");
      await server.exited;
      servers[i] = undefined;
      await server.stop(); // unregisters its exit hook; the process is already gone
    },
    async restart(i) {
      if (servers[i] !== undefined) throw new Error(`cluster node ${names[i]} is running`);
      await start(i);
      await eventually(() => answers(urls[i]!), Boolean, { timeoutMs: 30_000, what: `JetStream to answer through ${names[i]} again` });
    },
    ready,
    async stop() {
      await Promise.all(servers.map((s) => s?.stop()));
      servers.fill(undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
