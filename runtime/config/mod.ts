/**
 * Settings of a jetmicro process: one table of every setting (`settings.ts`), read from flags,
 * the environment and `micro.config.json` in that order (`sources.ts`), as the
 * {@link MicroConfig} Effect service (`micro-config.ts`).
 * @module
 */
export { type Label, type NatsAuthSettings, natsUrlOf, type RawSettings, type SettingName, type Settings, settingsFromRaw, settingTable } from "./settings.ts";
export { configFileSettings, defaultConfigFile, labelOf, readConfigFile, type SettingSources, settingsProvider } from "./sources.ts";
export { loadSettings, MicroConfig, readSettings } from "./micro-config.ts";
export { maxNatsServers, maxNatsServerUrlLength, parseNatsServers } from "./nats-servers.ts";
