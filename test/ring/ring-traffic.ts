import type { RingReader, RingRecord, RingWriter } from '../../src/ring/index.js';

/**
 * Deterministic ring traffic shared by the threaded ring tests: both sides
 * derive every record's size and bytes from the same seeded generator, so
 * the consumer can tell a lost, duplicated, reordered or torn record from a
 * good one without any side channel.
 */
export interface TrafficOptions {
  records: number;
  seed: number;
  /** Largest payload; most records are small, a few are near this size. */
  maxPayloadBytes: number;
  /** Consumer pauses this long every `pauseEvery` records, so the producer fills the ring and bursts. */
  pauseEvery: number;
  pauseMs: number;
  /**
   * The producer publishes after a seeded random 1..publishEveryMax records
   * (64 when absent). A consumer that keeps up sleeps between publishes, and
   * each publish then costs a wake-up, which on a loaded two-core machine can
   * take milliseconds: coarser publishing keeps a long exchange's run time
   * bounded by the machine's load rather than by its wake-up latency.
   */
  publishEveryMax?: number;
}

export function nextRandom(state: Uint32Array): number {
  let x = state[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[0] = x;
  return state[0]!;
}

export function payloadSize(state: Uint32Array, maxPayloadBytes: number): number {
  const r = nextRandom(state);
  if ((r & 0xff) === 0) return r % (maxPayloadBytes + 1); // 1 in 256: anything up to the maximum
  return (r >>> 8) % 65; // mostly 0..64 bytes
}

function fill(bytes: Uint8Array, view: DataView, position: number, size: number, sequence: number): void {
  if (size >= 4) view.setUint32(position, sequence);
  for (let i = size >= 4 ? 4 : 0; i < size; i++) bytes[position + i] = (sequence * 31 + i) & 0xff;
}

function verify(
  bytes: Uint8Array,
  view: DataView,
  position: number,
  size: number,
  sequence: number,
): boolean {
  if (size >= 4 && view.getUint32(position) !== sequence >>> 0) return false;
  for (let i = size >= 4 ? 4 : 0; i < size; i++)
    if (bytes[position + i] !== ((sequence * 31 + i) & 0xff)) return false;
  return true;
}

/**
 * Writes `records` records, publishing in bursts (see publishEveryMax); blocks
 * (Atomics.wait) when the ring is full. Returns '' or why it stopped.
 */
export function produceTraffic(writer: RingWriter, options: TrafficOptions): string {
  const state = Uint32Array.of(options.seed);
  const publishState = Uint32Array.of(options.seed ^ 0x5bd1e995);
  const publishEveryMax = options.publishEveryMax;
  const nextPublishAfter = (): number =>
    publishEveryMax === undefined ? 64 : 1 + (nextRandom(publishState) % publishEveryMax);
  let publishAfter = nextPublishAfter();
  let unpublished = 0;
  for (let sequence = 0; sequence < options.records; sequence++) {
    const size = payloadSize(state, options.maxPayloadBytes);
    let position = writer.tryClaim(size, sequence & 0xffff, (sequence >>> 16) & 0xffff, sequence);
    if (position < 0) {
      writer.publish();
      unpublished = 0;
      let fullWaits = 0;
      while (position < 0) {
        // The consumer frees space within a wait unless it is gone: report that instead of hanging the test.
        if (!writer.waitForSpaceSync(size, 1000) && ++fullWaits > 10)
          return `producer stalled at record ${sequence}: ring full for over 10 s`;
        position = writer.tryClaim(size, sequence & 0xffff, (sequence >>> 16) & 0xffff, sequence);
      }
    }
    fill(writer.bytes, writer.view, position, size, sequence);
    if (++unpublished >= publishAfter) {
      writer.publish();
      unpublished = 0;
      publishAfter = nextPublishAfter();
    }
  }
  writer.publish();
  return '';
}

/** Reads and checks `records` records; returns the first problem found, or '' when all were right. */
export function consumeTraffic(reader: RingReader, options: TrafficOptions): string {
  const state = Uint32Array.of(options.seed);
  const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
  let sequence = 0;
  let idleWaits = 0;
  while (sequence < options.records) {
    if (!reader.tryRead(record)) {
      reader.release();
      if (!reader.waitSync(2000) && ++idleWaits > 5) return `stalled after ${sequence} records`;
      continue;
    }
    const size = payloadSize(state, options.maxPayloadBytes);
    if (record.correlationId !== sequence >>> 0)
      return `record ${sequence} arrived as ${record.correlationId}`;
    if (record.payloadBytes !== size)
      return `record ${sequence} has ${record.payloadBytes} bytes, expected ${size}`;
    if (record.type !== (sequence & 0xffff) || record.flags !== ((sequence >>> 16) & 0xffff)) {
      return `record ${sequence} header is torn`;
    }
    if (!verify(reader.bytes, reader.view, record.payloadPosition, size, sequence))
      return `record ${sequence} payload is torn`;
    sequence++;
    if ((sequence & 255) === 0) reader.release();
    if (options.pauseEvery > 0 && sequence % options.pauseEvery === 0) {
      reader.release();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, options.pauseMs);
    }
  }
  reader.release();
  if (reader.tryRead(record)) return 'a record arrived after the last one sent';
  return '';
}
