/**
 * Abort signals shared by many calls at once. Node warns ("possible EventTarget memory leak")
 * past 10 `abort` listeners on one signal; a signal that every call in flight on a node
 * listens to has hundreds by design.
 * @module
 */
import { setMaxListeners } from "node:events";

/** Lets `signal` have any number of listeners without a warning; returns it. */
export function sharedSignal(signal: AbortSignal): AbortSignal {
  setMaxListeners(0, signal);
  return signal;
}
