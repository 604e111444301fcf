/**
 * Errors: one class ({@link MicroError}) and one closed set of codes ({@link Code}).
 * @module
 */
export { type Code, codes, isCode } from "./code.ts";
export { MicroError, type MicroErrorOptions } from "./micro-error.ts";
