import { kafkaErrorName } from '../common/kafka-error-code.js';
import type { Engine, TopicDescription } from '../engine/engine-api.js';
import { fromKafkaCode } from '../protocol/front-door-errors.js';
import { type PartitionBatch, splitIntoBatches } from '../protocol/ws/produce-frame.js';
import { WsError, WsProblem } from '../protocol/ws/ws-error-code.js';
import type { ProduceRequest } from '../protocol/ws/ws-request.js';
import { buildRecordBatch } from '../record/batch-builder.js';
import { BatchHeader } from '../record/batch-header.js';
import type { ProducedRecord } from '../record/record.js';
import type { Partitioner } from './partitioner.js';

/**
 * A WebSocket produce request turned into one RecordBatch per partition, on
 * the acceptor thread, before the session first waits: the request may point
 * into a uWS message, which dies with its callback. Records (kind 0, JSON)
 * are built into new batches; a ready batch (kind 1) stays a view into the
 * message, `lent` to the engine, which copies it into the shard's ring before
 * the callback returns (its one copy, as a Kafka produce's).
 */
export interface PreparedProduce {
  batches: PartitionBatch[];
  /** Each record's index in `batches`, in request order; null when there is one batch. */
  slots: Int32Array | null;
  /** The batches are views of the message: hand them to the engine before the callback returns. */
  lent: boolean;
}

export function topicOrThrow(engine: Engine, name: string): TopicDescription {
  const topic = engine.describeTopic(name);
  if (topic === undefined) throw new WsProblem(WsError.UNKNOWN_TOPIC, `topic "${name}" does not exist`);
  return topic;
}

/** A Kafka error code from the engine as the WebSocket error it maps to, with where it happened. */
export function kafkaProblem(code: number, context: string): WsProblem {
  return new WsProblem(fromKafkaCode(code), `${context}: ${kafkaErrorName(code)}`);
}

export function checkPartition(topic: TopicDescription, partition: number): void {
  if (partition >= topic.partitionCount) {
    throw new WsProblem(
      WsError.BAD_REQUEST,
      `partition ${partition} does not exist: topic "${topic.name}" has ${topic.partitionCount}`,
    );
  }
}

/** The record count in a ready RecordBatch's header (the engine refuses a batch whose count is wrong). */
function batchRecordCount(batch: Uint8Array): number {
  return new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getInt32(BatchHeader.RECORD_COUNT);
}

/**
 * Picks partitions and builds the RecordBatches, synchronously. A record
 * without a partition goes where Kafka's partitioner sends its key; records
 * without a key stick to one partition per request, chosen round robin, so a
 * request of keyless records stays one batch.
 */
export function prepareProduce(
  request: ProduceRequest,
  topic: TopicDescription,
  partitioner: Partitioner,
): PreparedProduce {
  let sticky = -1;
  const partitionOf = (key: Uint8Array | null): number => {
    if (key !== null) return partitioner.partitionFor(key, topic.partitionCount);
    if (sticky < 0) sticky = partitioner.partitionFor(null, topic.partitionCount);
    return sticky;
  };
  if (request.batch !== null) {
    checkPartition(topic, request.batch.partition);
    const batch = request.batch.bytes;
    return {
      batches: [{ partition: request.batch.partition, batch, recordCount: batchRecordCount(batch) }],
      slots: null,
      lent: true,
    };
  }
  if (request.frameRecords !== null) {
    const fixed = request.frameRecords.partition;
    if (fixed !== null) checkPartition(topic, fixed);
    const split = splitIntoBatches(
      request.frameRecords,
      fixed === null ? partitionOf : () => fixed,
      Date.now(),
    );
    // The slots are the splitter's scratch: copied, since the reply is written after a wait.
    return {
      batches: split.batches,
      slots: split.slots === null ? null : split.slots.slice(),
      lent: false,
    };
  }
  // JSON records: group by partition, keeping each record's place.
  const entries = request.records!;
  const slots = new Int32Array(entries.length);
  const groups: { partition: number; records: ProducedRecord[] }[] = [];
  const groupOf = new Map<number, number>();
  entries.forEach((entry, i) => {
    const partition = entry.partition ?? partitionOf(entry.record.key);
    checkPartition(topic, partition);
    let index = groupOf.get(partition);
    if (index === undefined) {
      index = groups.length;
      groupOf.set(partition, index);
      groups.push({ partition, records: [] });
    }
    groups[index]!.records.push(entry.record);
    slots[i] = index;
  });
  const batches = groups.map((group) => ({
    partition: group.partition,
    batch: buildRecordBatch(group.records),
    recordCount: group.records.length,
  }));
  return { batches, slots: groups.length > 1 ? slots : null, lent: false };
}
