import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { readInt64 } from '../common/offset.js';
import { BatchHeader } from '../record/batch-header.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import { BufferViews } from '../record/buffer-views.js';
import type { RingReader, RingRecord } from '../ring/index.js';
import { leaderEpochError } from './replica-role.js';
import type { ReplyWriter } from './reply-writer.js';
import {
  FetchReplyField,
  FetchRequestField,
  MessageType,
  partitionKey,
  REPLY_FLAG,
  RequestFlag,
  wallClockMs,
} from './shard-message.js';
import { Counter, type ShardMetricsWriter, Stage } from './shard-metrics.js';
import type { FetchWaiter, ShardPartition } from './shard-partition.js';

/**
 * Fetch on a shard, including the long poll: a fetch with fewer than
 * minBytes available is held (its request copied out of the ring) until an
 * append to one of its partitions brings enough, its maxWaitMs ends, or the
 * acceptor wakes it because another shard already answered. Owned by the
 * shard thread.
 *
 * Reads return views into each log's reusable read buffer, so the bytes are
 * copied exactly once: from the page cache into the reply ring.
 *
 * Isolation (the request's READ_COMMITTED flag): level 0 reads below the high
 * watermark; level 1 below the last stable offset, and lists the aborted
 * transactions that may have data in what it returns (partition-txns.ts).
 * Every partition's reply carries its last stable offset either way.
 */
class HeldFetch implements FetchWaiter {
  timer: NodeJS.Timeout | null = null;
  readonly partitions: ShardPartition[] = [];

  constructor(
    readonly fetcher: ShardFetcher,
    readonly correlationId: number,
    readonly request: Uint8Array,
    readonly requestView: DataView,
    readonly minBytes: number,
    readonly readCommitted: boolean,
  ) {}

  onAppend(): void {
    this.fetcher.retryHeld(this);
  }
}

export class ShardFetcher {
  private readonly held = new Map<number, HeldFetch>();
  private stamp = 0;
  // Per-entry results of the fetch being answered, reused across fetches.
  private readonly chunks: Uint8Array[] = [];
  private readonly codes: number[] = [];
  private readonly highWatermarks: number[] = [];
  private readonly logStartOffsets: number[] = [];
  private readonly logEndOffsets: number[] = [];
  private readonly lastStableOffsets: number[] = [];
  /** Aborted transactions of the fetch being answered: per entry a count, all of them flat, in entry order. */
  private readonly abortedCounts: number[] = [];
  private readonly abortedProducerIds: number[] = [];
  private readonly abortedFirstOffsets: number[] = [];
  private abortedTotal = 0;
  /** Bound once: collects one aborted transaction into the flat arrays (no closure per fetch). */
  private readonly pushAborted = (producerId: number, firstOffset: number): void => {
    this.abortedProducerIds[this.abortedTotal] = producerId;
    this.abortedFirstOffsets[this.abortedTotal] = firstOffset;
    this.abortedTotal++;
  };
  private readonly chunkViews = new BufferViews();
  private readonly entryPartitions: (ShardPartition | undefined)[] = [];
  private readonly empty = new Uint8Array(0);

  constructor(
    /** The partition a request names, opened on demand and marked used (shard.ts `lookup`). */
    private readonly lookup: (topicId: number, partition: number) => ShardPartition | undefined,
    /** Offline partitions (shard.ts): answered KAFKA_STORAGE_ERROR rather than UNKNOWN_TOPIC_OR_PARTITION. */
    private readonly offline: ReadonlyMap<number, unknown>,
    private readonly reader: RingReader,
    private readonly out: ReplyWriter,
    private readonly metrics: ShardMetricsWriter,
  ) {}

  fetch(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    const maxWaitMs = view.getUint32(p + FetchRequestField.MAX_WAIT_MS);
    const minBytes = view.getUint32(p + FetchRequestField.MIN_BYTES);
    const startedMs = wallClockMs();
    const readCommitted = (record.flags & RequestFlag.READ_COMMITTED) !== 0;
    const result = this.collect(view, p, readCommitted);
    if (result.errors > 0 || result.totalBytes >= Math.max(1, minBytes) || maxWaitMs === 0) {
      this.writeReply(record.correlationId, result.count, result.totalBytes);
      this.metrics.observeMs(Stage.FETCH_READ, wallClockMs() - startedMs);
      return;
    }
    this.metrics.observeMs(Stage.FETCH_READ, wallClockMs() - startedMs);
    // Hold it: copy the request out of the ring, which is about to be released.
    const request = this.reader.bytes.slice(p, p + record.payloadBytes);
    const held = new HeldFetch(
      this,
      record.correlationId,
      request,
      new DataView(request.buffer),
      minBytes,
      readCommitted,
    );
    for (let i = 0; i < result.count; i++) {
      const partition = this.entryPartitions[i];
      if (partition !== undefined && !partition.waiters.has(held)) {
        partition.waiters.add(held);
        held.partitions.push(partition);
      }
    }
    held.timer = setTimeout(() => this.answerHeld(held), maxWaitMs);
    this.held.set(record.correlationId, held);
    this.metrics.set(Counter.HELD_FETCHES, this.held.size);
  }

  /** Fetches waiting for data or their maxWaitMs. */
  heldCount(): number {
    return this.held.size;
  }

  /** The acceptor asks for an answer now (another shard's part of the fetch was enough). */
  wake(correlationId: number): void {
    const held = this.held.get(correlationId);
    if (held !== undefined) this.answerHeld(held);
  }

  /** An append landed in `partition`: re-check the fetches waiting on it. */
  notifyAppend(partition: ShardPartition): void {
    if (partition.waiters.size === 0) return;
    for (const waiter of partition.waiters) waiter.onAppend();
  }

  retryHeld(held: HeldFetch): void {
    const result = this.collect(held.requestView, 0, held.readCommitted);
    if (result.errors > 0 || result.totalBytes >= Math.max(1, held.minBytes)) {
      this.release(held);
      this.writeReply(held.correlationId, result.count, result.totalBytes);
      // Replies written from an append notification are published with the
      // produce's reply at the end of the drain; from a timer, right away.
    }
  }

  /** Stops watching a deleted partition; fetches held on it are answered now. */
  forgetPartition(partition: ShardPartition): void {
    for (const waiter of [...partition.waiters]) {
      if (waiter instanceof HeldFetch) this.answerHeld(waiter);
    }
    partition.waiters.clear();
  }

  answerAll(): void {
    for (const held of [...this.held.values()]) this.answerHeld(held);
  }

  private answerHeld(held: HeldFetch): void {
    if (!this.held.has(held.correlationId)) return;
    this.release(held);
    const result = this.collect(held.requestView, 0, held.readCommitted);
    this.writeReply(held.correlationId, result.count, result.totalBytes);
    this.out.publish();
  }

  private release(held: HeldFetch): void {
    if (held.timer !== null) clearTimeout(held.timer);
    for (const partition of held.partitions) partition.waiters.delete(held);
    this.held.delete(held.correlationId);
    this.metrics.set(Counter.HELD_FETCHES, this.held.size);
  }

  private readonly collected = { count: 0, totalBytes: 0, errors: 0 };

  /** Reads every partition of the request at `p` in `view` into the reused result arrays. */
  private collect(
    view: DataView,
    p: number,
    readCommitted: boolean,
  ): { count: number; totalBytes: number; errors: number } {
    const count = view.getUint32(p + FetchRequestField.PARTITION_COUNT);
    const ringBudget =
      this.out.maxPayloadBytes - FetchReplyField.PARTITIONS - count * FetchReplyField.ENTRY_HEADER_BYTES;
    let remainingBytes = Math.min(view.getUint32(p + FetchRequestField.MAX_BYTES), ringBudget);
    let totalBytes = 0;
    let errors = 0;
    this.abortedTotal = 0;
    const stamp = ++this.stamp;
    // A follower reads up to the log end: what it fetched is how far it has replicated.
    const fromFollower = view.getInt32(p + FetchRequestField.REPLICA_ID) >= 0;
    for (let i = 0; i < count; i++) {
      const e = p + FetchRequestField.PARTITIONS + i * FetchRequestField.ENTRY_BYTES;
      const topicId = view.getUint32(e + FetchRequestField.ENTRY_TOPIC_ID);
      const partitionIndex = view.getUint32(e + FetchRequestField.ENTRY_PARTITION);
      const key = partitionKey(topicId, partitionIndex);
      const partition = this.lookup(topicId, partitionIndex);
      this.entryPartitions[i] = partition;
      this.chunks[i] = this.empty;
      this.abortedCounts[i] = 0;
      if (partition === undefined) {
        this.codes[i] = this.offline.has(key)
          ? KafkaErrorCode.KAFKA_STORAGE_ERROR
          : KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        this.highWatermarks[i] = -1;
        this.logStartOffsets[i] = -1;
        this.logEndOffsets[i] = -1;
        this.lastStableOffsets[i] = -1;
        errors++;
        continue;
      }
      const log = partition.log;
      const currentLeaderEpoch = view.getInt32(e + FetchRequestField.ENTRY_CURRENT_LEADER_EPOCH);
      if (partition.replica !== null || currentLeaderEpoch >= 0) {
        const code =
          partition.replica !== null && partition.replica.role !== 'leader'
            ? KafkaErrorCode.NOT_LEADER_OR_FOLLOWER
            : leaderEpochError(partition.replica, currentLeaderEpoch);
        if (code !== KafkaErrorCode.NONE) {
          this.codes[i] = code;
          this.highWatermarks[i] = -1;
          this.logStartOffsets[i] = -1;
          this.logEndOffsets[i] = -1;
          this.lastStableOffsets[i] = -1;
          errors++;
          continue;
        }
      }
      const highWatermark = log.highWatermark;
      const lastStableOffset = partition.txns.lastStableOffset(highWatermark, log.logStartOffset);
      this.codes[i] = KafkaErrorCode.NONE;
      this.highWatermarks[i] = highWatermark;
      this.logStartOffsets[i] = log.logStartOffset;
      this.logEndOffsets[i] = log.logEndOffset;
      this.lastStableOffsets[i] = lastStableOffset;
      if (remainingBytes <= 0) continue;
      if (partition.lastReadStamp === stamp) this.detachEarlierRead(partition, i);
      partition.lastReadStamp = stamp;
      try {
        const offset = view.getFloat64(e + FetchRequestField.ENTRY_OFFSET);
        const maxBytes = Math.min(view.getUint32(e + FetchRequestField.ENTRY_MAX_BYTES), remainingBytes);
        // Only a replicated partition serves a follower past the high watermark; read_committed stops at
        // the last stable offset.
        const chunk =
          fromFollower && partition.replica !== null
            ? log.read(offset, maxBytes, true)
            : log.readBelow(offset, maxBytes, readCommitted ? lastStableOffset : highWatermark);
        // The first data in a response may exceed maxBytes (KIP-74) so a
        // consumer always progresses; later partitions must fit what is left.
        if (chunk.length > remainingBytes && totalBytes > 0) continue;
        this.chunks[i] = chunk;
        totalBytes += chunk.length;
        remainingBytes -= chunk.length;
        if (readCommitted && chunk.length > 0 && partition.txns.abortedCount > 0) {
          const counted = partition.txns.collectAborted(offset, this.endOffsetOf(chunk), this.pushAborted);
          this.abortedCounts[i] = counted;
          remainingBytes -= counted * FetchReplyField.ABORTED_ENTRY_BYTES;
        }
      } catch (error) {
        this.codes[i] = error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.KAFKA_STORAGE_ERROR;
        errors++;
      }
    }
    const collected = this.collected;
    collected.count = count;
    collected.totalBytes = totalBytes;
    collected.errors = errors;
    return collected;
  }

  /** One past the last offset of the whole batches in `chunk`. */
  private endOffsetOf(chunk: Uint8Array): number {
    const { view } = this.chunkViews.of(chunk);
    const limit = chunk.byteOffset + chunk.length;
    let position = chunk.byteOffset;
    let endOffset = 0;
    for (;;) {
      const sizeBytes = nextBatchBytes(view, position, limit);
      if (sizeBytes < 0) return endOffset;
      endOffset =
        readInt64(view, position + BatchHeader.BASE_OFFSET) +
        view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) +
        1;
      position += sizeBytes;
    }
  }

  /** A partition read twice in one fetch: its earlier view would be overwritten by the next read, so copy it. */
  private detachEarlierRead(partition: ShardPartition, before: number): void {
    for (let j = 0; j < before; j++) {
      if (this.entryPartitions[j] === partition) this.chunks[j] = this.chunks[j]!.slice();
    }
  }

  private writeReply(correlationId: number, count: number, totalBytes: number): void {
    const size =
      FetchReplyField.PARTITIONS +
      count * FetchReplyField.ENTRY_HEADER_BYTES +
      this.abortedTotal * FetchReplyField.ABORTED_ENTRY_BYTES +
      totalBytes;
    const r = this.out.claim(MessageType.FETCH | REPLY_FLAG, correlationId, size);
    const out = this.out.view;
    const bytes = this.out.bytes;
    out.setUint32(r + FetchReplyField.PARTITION_COUNT, count);
    out.setUint32(r + 4, 0);
    let e = r + FetchReplyField.PARTITIONS;
    let fetchedBytes = 0;
    let errors = 0;
    let aborted = 0;
    for (let i = 0; i < count; i++) {
      const chunk = this.chunks[i]!;
      const abortedCount = this.abortedCounts[i]!;
      out.setInt16(e + FetchReplyField.ENTRY_ERROR_CODE, this.codes[i]!);
      out.setUint16(e + 2, 0);
      out.setUint32(e + FetchReplyField.ENTRY_RECORDS_BYTES, chunk.length);
      out.setFloat64(e + FetchReplyField.ENTRY_HIGH_WATERMARK, this.highWatermarks[i]!);
      out.setFloat64(e + FetchReplyField.ENTRY_LOG_START_OFFSET, this.logStartOffsets[i]!);
      out.setFloat64(e + FetchReplyField.ENTRY_LOG_END_OFFSET, this.logEndOffsets[i]!);
      out.setFloat64(e + FetchReplyField.ENTRY_LAST_STABLE_OFFSET, this.lastStableOffsets[i]!);
      out.setUint32(e + FetchReplyField.ENTRY_ABORTED_COUNT, abortedCount);
      out.setUint32(e + FetchReplyField.ENTRY_ABORTED_COUNT + 4, 0);
      e += FetchReplyField.ENTRY_HEADER_BYTES;
      for (let j = 0; j < abortedCount; j++, aborted++) {
        out.setFloat64(e, this.abortedProducerIds[aborted]!);
        out.setFloat64(e + 8, this.abortedFirstOffsets[aborted]!);
        e += FetchReplyField.ABORTED_ENTRY_BYTES;
      }
      bytes.set(chunk, e);
      e += chunk.length;
      fetchedBytes += chunk.length;
      if (this.codes[i] !== KafkaErrorCode.NONE) errors++;
      this.chunks[i] = this.empty;
    }
    this.metrics.add(Counter.FETCH_REQUESTS, 1);
    this.metrics.add(Counter.FETCH_BYTES, fetchedBytes);
    this.metrics.add(Counter.FETCH_ERRORS, errors);
  }
}
