import type { HistoryEvent, WriteEvent } from './history.js';

/**
 * The final check of a chaos run. After every fault is healed and the
 * replicas have caught up, the runner reads every partition from every
 * replica; this decides whether the cluster kept its promises:
 *
 * - every acknowledged write is present, at its acknowledged offset, on every replica (`lost`);
 * - no write of an idempotent producer appears twice in a partition (`duplicates`);
 * - the replicas of a partition hold the same records at the same offsets (`divergent`);
 * - nothing appears that no producer wrote (`unexpected`);
 * - after each heal, some write is acknowledged within `resumeWithinMs` (`resumes`).
 *
 * Writes that failed or whose outcome is unknown may appear or not; a plain
 * (non-idempotent) producer's retries may appear twice. Those are counted, not failed.
 */
export interface ReplicaRead {
  broker: number;
  topic: string;
  partition: number;
  /** The records the replica holds, in offset order. */
  records: readonly { offset: number; value: string }[];
}

export interface LostWrite {
  topic: string;
  partition: number;
  broker: number;
  value: string;
  offset: number;
  /** What that replica holds at the offset instead (null: nothing). */
  found: string | null;
}

export interface DuplicateWrite {
  topic: string;
  partition: number;
  broker: number;
  value: string;
  offsets: number[];
}

export interface Divergence {
  topic: string;
  partition: number;
  brokers: [number, number];
  /** The first offset at which the two replicas differ. */
  offset: number;
  values: [string | null, string | null];
}

export interface UnexpectedValue {
  topic: string;
  partition: number;
  broker: number;
  offset: number;
  value: string;
}

export interface ResumeCheck {
  healedAtMs: number;
  /** Milliseconds from the heal to the first acknowledgement completed after it; null if none came. */
  firstAckAfterMs: number | null;
  withinLimit: boolean;
}

export interface CheckResult {
  valid: boolean;
  acknowledged: number;
  /** Failed or unknown writes found in the logs anyway: allowed, counted. */
  unacknowledgedPresent: number;
  /** Values of plain producers found more than once: allowed (retries), counted. */
  plainDuplicates: number;
  lost: LostWrite[];
  duplicates: DuplicateWrite[];
  divergent: Divergence[];
  unexpected: UnexpectedValue[];
  resumes: ResumeCheck[];
  /** Partitions written to that have no replica read at all. */
  unread: { topic: string; partition: number }[];
}

export interface CheckOptions {
  /** How soon after a heal writes must be acknowledged again (the issue asks for 15 s). */
  resumeWithinMs: number;
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function checkHistory(
  history: readonly HistoryEvent[],
  reads: readonly ReplicaRead[],
  options: CheckOptions = { resumeWithinMs: 15_000 },
): CheckResult {
  const writes = history.filter((event): event is WriteEvent => event.kind === 'write');
  const writeByValue = new Map(writes.map((write) => [write.value, write]));
  const readsByPartition = groupBy(reads, (read) => partitionKey(read.topic, read.partition));
  const writesByPartition = groupBy(writes, (write) => partitionKey(write.topic, write.partition));
  const result: CheckResult = {
    valid: true,
    acknowledged: 0,
    unacknowledgedPresent: 0,
    plainDuplicates: 0,
    lost: [],
    duplicates: [],
    divergent: [],
    unexpected: [],
    resumes: [],
    unread: [],
  };

  for (const write of writes) if (write.outcome === 'ok') result.acknowledged++;
  for (const key of writesByPartition.keys()) {
    if (!readsByPartition.has(key)) {
      const [topic, partition] = key.split('\u0000') as [string, string];
      result.unread.push({ topic, partition: Number(partition) });
    }
  }

  const present = new Set<string>();
  for (const read of reads) {
    const valueAt = new Map<number, string>();
    const offsetsOf = new Map<string, number[]>();
    for (const { offset, value } of read.records) {
      valueAt.set(offset, value);
      const offsets = offsetsOf.get(value);
      if (offsets === undefined) offsetsOf.set(value, [offset]);
      else offsets.push(offset);
      const write = writeByValue.get(value);
      if (write === undefined || write.topic !== read.topic || write.partition !== read.partition) {
        result.unexpected.push({
          topic: read.topic,
          partition: read.partition,
          broker: read.broker,
          offset,
          value,
        });
      }
    }
    for (const write of writesByPartition.get(partitionKey(read.topic, read.partition)) ?? []) {
      if (write.outcome === 'ok') {
        const found = valueAt.get(write.offset!) ?? null;
        if (found !== write.value) {
          result.lost.push({ ...where(read), value: write.value, offset: write.offset!, found });
        }
      } else if (offsetsOf.has(write.value) && !present.has(write.value)) {
        present.add(write.value);
        result.unacknowledgedPresent++;
      }
    }
    for (const [value, offsets] of offsetsOf) {
      if (offsets.length < 2) continue;
      const write = writeByValue.get(value);
      if (write?.idempotent === true) result.duplicates.push({ ...where(read), value, offsets });
      else if (write !== undefined) result.plainDuplicates++;
    }
  }

  for (const replicas of readsByPartition.values()) {
    const [first, ...others] = replicas;
    for (const other of others) {
      const divergence = firstDifference(first!, other);
      if (divergence !== null) result.divergent.push(divergence);
    }
  }

  for (const event of history) {
    if (event.kind !== 'heal') continue;
    let firstAck: number | null = null;
    for (const write of writes) {
      if (write.outcome !== 'ok' || write.completedAtMs < event.atMs) continue;
      if (firstAck === null || write.completedAtMs < firstAck) firstAck = write.completedAtMs;
    }
    const firstAckAfterMs = firstAck === null ? null : firstAck - event.atMs;
    result.resumes.push({
      healedAtMs: event.atMs,
      firstAckAfterMs,
      withinLimit: firstAckAfterMs !== null && firstAckAfterMs <= options.resumeWithinMs,
    });
  }

  result.valid =
    result.lost.length === 0 &&
    result.duplicates.length === 0 &&
    result.divergent.length === 0 &&
    result.unexpected.length === 0 &&
    result.unread.length === 0 &&
    result.resumes.every((resume) => resume.withinLimit);
  return result;
}

function where(read: ReplicaRead): { topic: string; partition: number; broker: number } {
  return { topic: read.topic, partition: read.partition, broker: read.broker };
}

/** The first offset where two replicas of a partition disagree, including one having a record the other lacks. */
function firstDifference(a: ReplicaRead, b: ReplicaRead): Divergence | null {
  const length = Math.max(a.records.length, b.records.length);
  for (let i = 0; i < length; i++) {
    const left = a.records[i];
    const right = b.records[i];
    if (
      left !== undefined &&
      right !== undefined &&
      left.offset === right.offset &&
      left.value === right.value
    ) {
      continue;
    }
    return {
      topic: a.topic,
      partition: a.partition,
      brokers: [a.broker, b.broker],
      offset: Math.min(left?.offset ?? Number.POSITIVE_INFINITY, right?.offset ?? Number.POSITIVE_INFINITY),
      values: [left?.value ?? null, right?.value ?? null],
    };
  }
  return null;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}
