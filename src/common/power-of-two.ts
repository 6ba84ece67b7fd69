/** True for 1, 2, 4, 8, …: ring and buffer sizes that index with a mask. */
export function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0;
}
