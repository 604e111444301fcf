/**
 * `micro run --watch`: one child process per service module, so a changed module (or a
 * changed proto, after `buf generate`) reloads that service alone, with fresh code and no
 * stale imports. A reload starts the new process first and stops the old one only once the
 * new one serves: the old one drains its in-flight calls while the new one takes new calls.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, watch } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { displayPath, listServiceModules } from "../runtime/platform/modules.ts";
import { readTextFile } from "../runtime/platform/process.ts";

/** What the supervisor needs. */
export interface WatchOptions {
  readonly servicesDir: string;
  /** The NATS every child connects to. */
  readonly natsUrl: string;
  readonly namespace: string;
  /** The log level of the children (a `--log-level` flag does not reach them through the environment). */
  readonly logLevel?: string;
  /** Folder of the protos to watch (regenerated with buf on change). */
  readonly protoDir: string;
  readonly log: (line: string) => void;
}

interface Child {
  readonly process: ChildProcess;
  /** Resolves true once the child serves, false if it exits (or fails) first. */
  readonly ready: Promise<boolean>;
  readonly exited: Promise<void>;
}

/** Set in the environment of the processes the supervisor starts. */
export const watchChildVariable = "MICRO_WATCH_CHILD";

/**
 * In a child of the supervisor: stop (draining, as on SIGTERM) when the supervisor is gone,
 * even killed outright, which closes the child's stdin. No orphans keep serving old code.
 * Returns the function that lets go of stdin when the child has stopped.
 */
export function exitWithParent(): () => void {
  if (process.env[watchChildVariable] !== "1") return () => undefined;
  const onEnd = () => process.kill(process.pid, "SIGTERM");
  process.stdin.on("data", () => undefined);
  process.stdin.once("end", onEnd);
  // Once stopped, stdin must not keep the process alive.
  return () => {
    process.stdin.off("end", onEnd);
    process.stdin.destroy();
  };
}

const mainPath = fileURLToPath(new URL("./main.ts", import.meta.url).href);

/** Runs and reloads the services of a folder until {@link Supervisor.stop}. */
export class Supervisor {
  readonly #options: WatchOptions;
  readonly #running = new Map<string, Child>();
  readonly #watchers: Array<{ close(): void }> = [];
  readonly #pending = new Map<string, ReturnType<typeof setTimeout>>();
  /** Reloads of one module run one after another. */
  readonly #queue = new Map<string, Promise<void>>();
  #stopping = false;
  /** Children stopped on purpose (reloaded, removed, shut down): their exit is no crash. */
  readonly #stoppedOnPurpose = new WeakSet<Child>();
  /** Crashes in a row per module, for the restart backoff. */
  readonly #crashes = new Map<string, number>();
  /** The proto contents last generated, per file: one save runs `buf generate` once. */
  readonly #generated = new Map<string, string>();

  constructor(options: WatchOptions) {
    this.#options = options;
  }

  /** Starts every module and the file watches; resolves once each module has started or failed. */
  async start(): Promise<number> {
    const modules = listServiceModules(this.#options.servicesDir);
    await Promise.all(modules.map((m) => this.#reload(m, "start")));
    this.#watch(this.#options.servicesDir, (file) => this.#onModuleChange(file));
    if (existsSync(this.#options.protoDir)) this.#watch(this.#options.protoDir, (file) => this.#onProtoChange(file));
    this.#options.log(`watching ${this.#options.servicesDir}/ and ${this.#options.protoDir}/ for changes`);
    return modules.length;
  }

  /** Stops watching and stops every service (each drains its in-flight calls). */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const w of this.#watchers) w.close();
    for (const t of this.#pending.values()) clearTimeout(t);
    await Promise.all([...this.#queue.values()]);
    await Promise.all([...this.#running.values()].map((c) => this.#stopChild(c)));
    this.#running.clear();
  }

  #watch(dir: string, onChange: (file: string) => void): void {
    const watcher = watch(dir, { recursive: true }, (_event, name) => {
      if (name === null || this.#stopping) return;
      const file = resolve(dir, name.toString());
      // Editors save in bursts (write, rename, chmod): act once, shortly after the last.
      clearTimeout(this.#pending.get(file));
      this.#pending.set(file, setTimeout(() => {
        this.#pending.delete(file);
        onChange(file);
      }, 150));
    });
    this.#watchers.push(watcher);
  }

  /** The module a changed file belongs to (a file, or a folder's mod.ts/index.ts), if any. */
  #moduleOf(file: string): string | undefined {
    const modules = existsSync(this.#options.servicesDir) ? listServiceModules(this.#options.servicesDir) : [];
    const exact = modules.find((m) => m === file);
    if (exact !== undefined) return exact;
    const inFolder = modules.find((m) => !relative(join(m, ".."), file).startsWith("..") && join(m, "..") !== resolve(this.#options.servicesDir));
    if (inFolder !== undefined) return inFolder;
    return this.#running.has(file) ? file : undefined; // a deleted module
  }

  #onModuleChange(file: string): void {
    const module = this.#moduleOf(file);
    if (module === undefined) return this.#onHelperChange(file);
    if (!existsSync(module)) {
      void this.#enqueue(module, async () => {
        const old = this.#running.get(module);
        this.#running.delete(module);
        if (old !== undefined) {
          this.#options.log(`${this.#name(module)} removed: stopping it`);
          await this.#stopChild(old);
        }
      });
      return;
    }
    void this.#reload(module, this.#running.has(module) ? "reload" : "start");
  }

  /**
   * A file of the services folder that is no module (`_helper.ts`, `lib/db.ts`): every module
   * importing it by name is reloaded, or every module when none names it (an import through
   * another helper), so an edit is never silently ignored.
   */
  #onHelperChange(file: string): void {
    if (!/\.(ts|js|mts|mjs|json)$/.test(file) || !existsSync(file)) return;
    const stem = basename(file).replace(/\.[^.]+$/, "");
    const modules = listServiceModules(this.#options.servicesDir);
    // A listed module may be unreadable (a dangling symlink): it imports nothing, rather than throwing out of a timer.
    const importers = modules.filter((m) => (readTextFile(m) ?? "").includes(stem));
    this.#options.log(`${relative(process.cwd(), file)} changed: reloading ${(importers.length > 0 ? importers : modules).map((m) => this.#name(m)).join(", ") || "nothing"}`);
    for (const module of importers.length > 0 ? importers : modules) void this.#reload(module, this.#running.has(module) ? "reload" : "start");
  }

  #onProtoChange(file: string): void {
    if (!file.endsWith(".proto") || !existsSync(file)) return;
    // Editors save in steps the debounce may not join (write, then touch): unchanged contents generate nothing.
    const contents = readFileSync(file, "utf8");
    if (this.#generated.get(file) === contents) return;
    this.#generated.set(file, contents);
    this.#options.log(`${relative(process.cwd(), file)} changed: buf generate`);
    const local = join(process.cwd(), "node_modules", ".bin", "buf");
    const result = spawnSync(existsSync(local) ? local : "buf", ["generate"], { encoding: "utf8" });
    if (result.error !== undefined || result.status !== 0) {
      this.#options.log(`buf generate failed, services keep running the old code: ${result.error?.message ?? (result.stderr || result.stdout).trim()}`);
      return;
    }
    // proto/inventory/v1/inventory.proto → gen/inventory/v1/inventory_pb: (re)start the modules
    // importing it, including one that failed because its code was not generated yet.
    const generated = relative(this.#options.protoDir, file).replace(/\.proto$/, "_pb");
    for (const module of listServiceModules(this.#options.servicesDir)) {
      if ((readTextFile(module) ?? "").includes(generated)) void this.#reload(module, this.#running.has(module) ? "reload" : "start");
    }
  }

  #name(module: string): string {
    return displayPath(module);
  }

  #enqueue(module: string, work: () => Promise<void>): Promise<void> {
    const next = (this.#queue.get(module) ?? Promise.resolve()).then(work, work);
    this.#queue.set(module, next);
    return next;
  }

  /** Starts a new process for `module`; once it serves, stops the old one (which drains). */
  #reload(module: string, why: "start" | "reload"): Promise<void> {
    return this.#enqueue(module, async () => {
      if (this.#stopping) return;
      const child = this.#spawn(module);
      if (!(await child.ready)) {
        this.#options.log(why === "reload" ? `${this.#name(module)} failed to load: the previous version keeps serving` : `${this.#name(module)} did not start`);
        child.process.kill("SIGTERM");
        return;
      }
      const old = this.#running.get(module);
      this.#running.set(module, child);
      void child.exited.then(() => this.#onExit(module, child));
      if (old !== undefined) {
        await this.#stopChild(old);
        this.#options.log(`reloaded ${this.#name(module)} (the old instance drained)`);
      }
    });
  }

  #spawn(module: string): Child {
    const args = [...process.execArgv, mainPath, "run", this.#options.servicesDir, "--module", module];
    const proc = spawn(process.execPath, args, {
      // stdin stays open while this process lives: its end tells the child to stop (see exitWithParent).
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NATS_URL: this.#options.natsUrl, MICRO_NAMESPACE: this.#options.namespace, MICRO_GATEWAY_PORT: "0", ...(this.#options.logLevel !== undefined ? { MICRO_LOG_LEVEL: this.#options.logLevel } : {}), [watchChildVariable]: "1" },
    });
    let resolveReady!: (ok: boolean) => void;
    const ready = new Promise<boolean>((r) => (resolveReady = r));
    const exited = new Promise<void>((r) => proc.once("exit", () => (resolveReady(false), r())));
    const name = this.#name(module);
    const forward = (line: string) => {
      if (line === "" || line.startsWith("NATS ")) return;
      this.#options.log(`[${name}] ${line}`);
      if (line.startsWith("service ")) resolveReady(true);
      if (line.startsWith("FAILED ") || line.startsWith("micro run:")) resolveReady(false);
    };
    createInterface({ input: proc.stdout! }).on("line", forward);
    createInterface({ input: proc.stderr! }).on("line", forward);
    return { process: proc, ready, exited };
  }

  /**
   * A running child that exited by itself (a crash, `process.exit` in a handler) is reported
   * and started again, after a backoff that grows with crashes in a row (0.5 s up to 10 s),
   * so a service that dies at once does not spin.
   */
  #onExit(module: string, child: Child): void {
    if (this.#stopping || this.#stoppedOnPurpose.has(child) || this.#running.get(module) !== child) return;
    this.#running.delete(module);
    const crashes = (this.#crashes.get(module) ?? 0) + 1;
    this.#crashes.set(module, crashes);
    const delay = Math.min(500 * 2 ** (crashes - 1), 10_000);
    const how = child.process.signalCode ?? `exit code ${child.process.exitCode}`;
    this.#options.log(`${this.#name(module)} stopped unexpectedly (${how}): restarting in ${delay} ms`);
    const timer = setTimeout(() => {
      this.#pending.delete(`restart ${module}`);
      if (existsSync(module)) void this.#reload(module, "start").then(() => this.#running.has(module) && this.#options.log(`restarted ${this.#name(module)}`));
    }, delay);
    this.#pending.set(`restart ${module}`, timer);
  }

  async #stopChild(child: Child): Promise<void> {
    this.#stoppedOnPurpose.add(child);
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGTERM");
    await child.exited;
  }
}
