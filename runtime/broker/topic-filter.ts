/**
 * Matching topics against filters as NATS matches subjects (`*` one token, a final `>` one or
 * more), for brokers that are not NATS: the memory broker matches as JetStream would.
 * @module
 */

/** A test of topics against `filter` (`customer.>`, `*.login`, `order.placed`). */
export function topicMatcher(filter: string): (topic: string) => boolean {
  const wanted = filter.split(".");
  const tail = wanted.at(-1) === ">";
  const fixed = tail ? wanted.length - 1 : wanted.length;
  return (topic) => {
    const tokens = topic.split(".");
    if (tail ? tokens.length <= fixed : tokens.length !== fixed) return false;
    for (let i = 0; i < fixed; i++) if (wanted[i] !== "*" && wanted[i] !== tokens[i]) return false;
    return true;
  };
}
