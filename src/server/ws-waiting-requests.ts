/**
 * The requests of one WebSocket connection that arrived while its in-flight
 * limits were reached, in arrival order, each a private copy of its message
 * (a uWS message lives only during its callback). Owned by the acceptor
 * thread, one per connection.
 *
 * uWS cannot pause a WebSocket's reads, so a pipelining client is slowed
 * here instead of refused: its requests wait and start, in order, as earlier
 * ones finish. The bytes waiting are bounded by the caller (`sizeBytes`
 * against its budget); only a client past that budget is closed.
 *
 * A FIFO over an array with a moving head: taking the first entry is O(1),
 * and the array is compacted once the head has passed half of it.
 */
export interface WaitingRequest {
  readonly message: ArrayBuffer;
  readonly isBinary: boolean;
}

const COMPACT_AFTER_ENTRIES = 64;

export class WsWaitingRequests {
  /** Taken entries before `head` are cleared to undefined so their bytes can be collected. */
  private entries: (WaitingRequest | undefined)[] = [];
  private head = 0;
  /** Bytes of the messages waiting. */
  sizeBytes = 0;

  get length(): number {
    return this.entries.length - this.head;
  }

  /** Copies `message` (which dies with the uWS callback) to the back of the line. */
  push(message: ArrayBuffer, isBinary: boolean): void {
    this.entries.push({ message: message.slice(0), isBinary });
    this.sizeBytes += message.byteLength;
  }

  /** The first request waiting, without taking it; undefined when none waits. */
  peek(): WaitingRequest | undefined {
    return this.entries[this.head];
  }

  /** Takes the first request waiting; undefined when none waits. */
  shift(): WaitingRequest | undefined {
    const first = this.entries[this.head];
    if (first === undefined) return undefined;
    this.entries[this.head] = undefined;
    this.head++;
    this.sizeBytes -= first.message.byteLength;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER_ENTRIES && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return first;
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.sizeBytes = 0;
  }
}
