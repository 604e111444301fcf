/**
 * The runner's settings: the process settings (`runtime/config/`: flags, then the environment,
 * then `micro.config.json`) with what a caller sets in code winning.
 * @module
 */
import { readSettings, type SettingSources } from "../config/mod.ts";
import type { RunnerConfig } from "./runner.ts";

/**
 * Runner settings from the environment (see the README's configuration table) and, when
 * `sources` name them, flags and a config file; `overrides` (set in code) win over all.
 */
export function runnerConfigFromEnv(overrides: Partial<RunnerConfig> = {}, sources: SettingSources = {}): RunnerConfig {
  // The URL and namespace are read as flags: the namespace is checked, and settings derived from it follow it.
  const settings = readSettings({ ...sources, flags: { ...sources.flags, NATS_URL: overrides.natsUrl, MICRO_NAMESPACE: overrides.namespace } });
  const set = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)) as Partial<RunnerConfig>;
  return { ...settings, ...set, log: overrides.log ?? ((line) => console.log(line)) };
}
