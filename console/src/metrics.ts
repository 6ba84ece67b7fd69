/**
 * Reads the broker's Prometheus text (/metrics) into the figures the overview
 * charts: totals summed over shards, and histogram buckets for percentiles.
 */
export interface Scrape {
  atMs: number;
  /** Sum over label sets of each plain sample, by metric name. */
  totals: Map<string, number>;
  /** Cumulative bucket counts by `le`, summed over label sets, by histogram name. */
  buckets: Map<string, Map<number, number>>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

export function parseMetrics(text: string, atMs: number): Scrape {
  const totals = new Map<string, number>();
  const buckets = new Map<string, Map<number, number>>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = SAMPLE.exec(line);
    if (match === null) continue;
    const [, name, labels = '', raw] = match as unknown as [string, string, string | undefined, string];
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (name.endsWith('_bucket')) {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (le === undefined || le === '+Inf') continue;
      const base = name.slice(0, -'_bucket'.length);
      const byLe = buckets.get(base) ?? new Map<number, number>();
      byLe.set(Number(le), (byLe.get(Number(le)) ?? 0) + value);
      buckets.set(base, byLe);
    } else {
      totals.set(name, (totals.get(name) ?? 0) + value);
    }
  }
  return { atMs, totals, buckets };
}

/** Per-second rate of a counter between two scrapes. */
export function rate(before: Scrape, after: Scrape, name: string): number {
  const seconds = (after.atMs - before.atMs) / 1000;
  if (seconds <= 0) return 0;
  return Math.max(0, ((after.totals.get(name) ?? 0) - (before.totals.get(name) ?? 0)) / seconds);
}

/**
 * A percentile (0..1) of the observations between two scrapes, in ms, from
 * the histogram's bucket bounds (the upper bound of the bucket it falls in);
 * null when nothing was observed.
 */
export function percentileMs(before: Scrape, after: Scrape, name: string, quantile: number): number | null {
  const now = after.buckets.get(name);
  if (now === undefined) return null;
  const then = before.buckets.get(name) ?? new Map<number, number>();
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const total = (now.get(bounds[bounds.length - 1]!) ?? 0) - (then.get(bounds[bounds.length - 1]!) ?? 0);
  const seen = (after.totals.get(`${name}_count`) ?? 0) - (before.totals.get(`${name}_count`) ?? 0);
  const count = Math.max(total, seen);
  if (count <= 0) return null;
  for (const bound of bounds) {
    const cumulative = (now.get(bound) ?? 0) - (then.get(bound) ?? 0);
    if (cumulative >= quantile * count) return bound * 1000;
  }
  return bounds[bounds.length - 1]! * 1000;
}
