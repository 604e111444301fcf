/**
 * The settings of a process as an Effect service: read once, from flags, the environment and
 * the config file (see `sources.ts`), by Effect's `Config`, and shared by everything the
 * process runs (the runner, the CLI's commands, the sidecar). Plain functions that take no
 * layer (`connectClient`) read the same settings with {@link readSettings}.
 * @module
 */
import { Config, Context, Effect, Layer } from "effect";
import { MicroError } from "../errors/micro-error.ts";
import { type RawSettings, type SettingName, type Settings, settingsFromRaw, settingTable } from "./settings.ts";
import { labelOf, type SettingSources, settingsProvider } from "./sources.ts";

/** Each setting's text, as an Effect `Config` keyed by its variable; absent when no source has it. */
const rawSettings: Config.Config<RawSettings> = Config.all(
  Object.fromEntries(
    Object.entries(settingTable).map(([name, { variable }]) => [name, Config.String(variable).pipe(Config.withDefault<string | undefined>(undefined))]),
  ) as Record<SettingName, Config.Config<string | undefined>>,
);

/** Reads and checks the settings; fails with `invalid_argument` naming a bad one. */
export function loadSettings(sources: SettingSources = {}): Effect.Effect<Settings, MicroError> {
  return Effect.suspend(() => rawSettings.parse(settingsProvider(sources))).pipe(
    Effect.mapError((error) => new MicroError("invalid_argument", `settings: ${error.message}`)),
    Effect.flatMap((raw) => Effect.try({ try: () => settingsFromRaw(raw, labelOf(sources)), catch: (e) => MicroError.from(e, "invalid_argument") })),
  );
}

/** {@link loadSettings} for code outside Effect; throws `invalid_argument` naming a bad setting. */
export function readSettings(sources: SettingSources = {}): Settings {
  return Effect.runSync(loadSettings(sources));
}

/** The settings of the process. */
export class MicroConfig extends Context.Service<MicroConfig, Settings>()("jetmicro/Config") {
  /** From the environment alone (what a library or a test in-process uses). */
  static readonly layer: Layer.Layer<MicroConfig, MicroError> = Layer.effect(MicroConfig, loadSettings());

  /** From these sources, e.g. a command's flags and config file. */
  static layerFrom(sources: SettingSources): Layer.Layer<MicroConfig, MicroError> {
    return Layer.effect(MicroConfig, loadSettings(sources));
  }

  /** These settings as they are (already read, e.g. with overrides applied). */
  static layerOf(settings: Settings): Layer.Layer<MicroConfig> {
    return Layer.succeed(MicroConfig, settings);
  }
}
