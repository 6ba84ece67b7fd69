/** A copy of `array` in a typed array twice its length (index entries grow by doubling, amortized O(1)). */
export function doubled<T extends Uint32Array | Float64Array>(array: T): T {
  const grown = new (array.constructor as new (length: number) => T)(Math.max(1, array.length * 2));
  grown.set(array);
  return grown;
}
