/**
 * Errors: one class ({@link MicroError}) and one closed set of codes ({@link Code}).
 * @module
 */
export { type Code, codeFromHttpStatus, codes, httpStatus, isCode } from "./code.ts";
export { MicroError, type MicroErrorOptions } from "./micro-error.ts";
