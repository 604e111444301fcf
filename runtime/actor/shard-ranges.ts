/**
 * Shard numbers as short ranges for people (`0-3,7,9-10`): the CLI and the dashboard show
 * which shards a node owns on one line.
 * @module
 */

/** `[0,1,2,3,7,9,10]` → `0-3,7,9-10`; no shards → `-`. */
export function shardRanges(shards: readonly number[]): string {
  const sorted = [...shards].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i]!;
    while (i + 1 < sorted.length && sorted[i + 1] === sorted[i]! + 1) i++;
    parts.push(start === sorted[i] ? `${start}` : `${start}-${sorted[i]}`);
  }
  return parts.length === 0 ? "-" : parts.join(",");
}
