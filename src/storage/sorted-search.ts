/**
 * How many of the first `count` entries of ascending `sorted` lie below
 * `limit` (or at it, when `inclusive`): a binary search, so that sparse
 * index lookups cost O(log n) however large a segment grows.
 */
export function countBelow(
  sorted: Uint32Array | Float64Array,
  count: number,
  limit: number,
  inclusive: boolean,
): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const value = sorted[middle]!;
    if (value < limit || (inclusive && value === limit)) low = middle + 1;
    else high = middle;
  }
  return low;
}
