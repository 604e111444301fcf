/**
 * Services nobody serves, remembered for a moment: a call to a service the registry knows no
 * node of goes to its queue subject (plain NATS instances do not register), and when NATS
 * answers "no responders" the gateway answers 404. Remembering that answer for
 * {@link absentForMs} lets the next calls to the same subject get the same 404 without a NATS
 * round trip, which costs the gateway about what a whole normal call does (a socket write and
 * a reply to parse): a client asking again and again for a route that does not exist, or a
 * scanner, then costs the gateway little more than the HTTP request itself.
 *
 * Only calls the registry knows no node for are answered from here (a registered node is
 * always tried), so a service that registers is reachable at once; an unregistered one that
 * starts right after a miss is reached at most {@link absentForMs} later. Bounded: at most
 * {@link maxAbsent} subjects, the whole set forgotten when full, however many names clients
 * make up.
 * @module
 */

/** How long a "no responders" answer is trusted, ms. */
export const absentForMs = 1000;
/** Most subjects remembered at once. */
export const maxAbsent = 1024;

/** Queue subjects that had no responders a moment ago; see the module comment. */
export interface AbsentServices {
  /** True when `subject` had no responders within the last {@link absentForMs} ms. */
  has(subject: string): boolean;
  /** Notes that `subject` had no responders just now. */
  add(subject: string): void;
}

/** A new, empty set; `now` is the clock (for tests). */
export function createAbsentServices(now: () => number = Date.now): AbsentServices {
  // Subject → until when its absence is trusted (epoch ms).
  const until = new Map<string, number>();
  return {
    has(subject) {
      const end = until.get(subject);
      if (end === undefined) return false;
      if (now() < end) return true;
      until.delete(subject);
      return false;
    },
    add(subject) {
      if (until.size >= maxAbsent && !until.has(subject)) until.clear();
      until.set(subject, now() + absentForMs);
    },
  };
}
