/**
 * Selectors: client-side choice of a node per call (random, round robin, latency-aware, by
 * label, by version, by key, by version weight), with cool-down of failed nodes.
 * @module
 */
export { createSelector, type SelectorOptions } from "./selector.ts";
export type { Selection, SelectOptions, Selector, Strategy } from "./types.ts";
