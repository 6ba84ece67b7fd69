/**
 * A DataView and a Uint8Array over a whole underlying buffer, kept while
 * successive batches come from the same buffer (on a shard, always its request
 * ring). Code that looks at many batches in turn reads their fields at
 * `batch.byteOffset + field` through these, allocating nothing per batch.
 * One instance per user; not shared between threads.
 */
export class BufferViews {
  private buffer: ArrayBufferLike | null = null;
  view: DataView = new DataView(new ArrayBuffer(0));
  bytes: Uint8Array = new Uint8Array(0);

  /** Points the views at `batch`'s buffer (a no-op when it is the same as last time) and returns this. */
  of(batch: Uint8Array): this {
    if (batch.buffer !== this.buffer) {
      this.buffer = batch.buffer;
      this.view = new DataView(batch.buffer);
      this.bytes = new Uint8Array(batch.buffer);
    }
    return this;
  }
}
