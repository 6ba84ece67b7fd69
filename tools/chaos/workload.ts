import { Kafka, logLevel } from 'kafkajs';
import type { HistoryRecorder, WriteOutcome } from './history.js';

/**
 * The writers of a chaos run: Kafka producers (kafkajs, as a client of the
 * brokers would be), idempotent or plain, each sending one record at a time
 * with acks=all and recording every write in the history: its unique value,
 * and `ok` with the acknowledged offset, `fail` when the broker said it did
 * not write it, or `info` when nobody can know.
 */
export interface ProducerSpec {
  name: string;
  idempotent: boolean;
}

export interface WorkloadOptions {
  /** Bootstrap addresses, host:port. */
  brokers: readonly string[];
  topic: string;
  partitions: number;
  producers: readonly ProducerSpec[];
  history: HistoryRecorder;
  /** Producers stop starting writes once this returns true. */
  stop: () => boolean;
  /** How long one produce may take before it counts as unknown (kafkajs requestTimeout). */
  requestTimeoutMs?: number;
  /** A pause between a producer's writes, so a run does not only measure how fast it can go. */
  pauseMs?: number;
  now?: () => number;
}

/**
 * Errors after which the broker has certainly not appended the record: it
 * refused before the append. Everything else (timeouts, lost connections,
 * errors after retries, NOT_ENOUGH_REPLICAS_AFTER_APPEND) is `info`, because an
 * earlier attempt may have been written.
 */
const DEFINITE_REFUSALS = new Set(['NOT_ENOUGH_REPLICAS', 'UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_RECORD']);

export function outcomeOf(error: unknown): WriteOutcome {
  if (typeof error !== 'object' || error === null) return 'info';
  const { name, type } = error as { name?: unknown; type?: unknown };
  return name === 'KafkaJSProtocolError' && typeof type === 'string' && DEFINITE_REFUSALS.has(type)
    ? 'fail'
    : 'info';
}

/** Runs every producer until `stop()`; resolves with how each write ended, counted. */
export async function runWorkload(options: WorkloadOptions): Promise<Record<WriteOutcome, number>> {
  const counts: Record<WriteOutcome, number> = { ok: 0, fail: 0, info: 0 };
  await Promise.all(options.producers.map((spec) => runProducer(spec, options, counts)));
  return counts;
}

async function runProducer(
  spec: ProducerSpec,
  options: WorkloadOptions,
  counts: Record<WriteOutcome, number>,
): Promise<void> {
  const now = options.now ?? Date.now;
  const requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
  const kafka = new Kafka({
    clientId: spec.name,
    brokers: [...options.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: requestTimeoutMs,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
  });
  const newProducer = () =>
    kafka.producer({
      idempotent: spec.idempotent,
      maxInFlightRequests: spec.idempotent ? 1 : undefined,
      allowAutoTopicCreation: false,
    });
  let producer = newProducer();
  let connected = false;
  let seq = 0;
  try {
    while (!options.stop()) {
      if (!connected) {
        try {
          await producer.connect();
          connected = true;
        } catch {
          await pause(200);
          continue;
        }
      }
      const value = `${spec.name}:${seq}`;
      const partition = seq % options.partitions;
      seq++;
      const invokedAtMs = now();
      let outcome: WriteOutcome;
      let offset: number | undefined;
      let error: string | undefined;
      try {
        const [metadata] = await producer.send({
          topic: options.topic,
          acks: -1,
          timeout: requestTimeoutMs,
          messages: [{ partition, value }],
        });
        outcome = 'ok';
        offset = Number(metadata?.baseOffset);
      } catch (caught) {
        outcome = outcomeOf(caught);
        error = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
      }
      counts[outcome]++;
      if (outcome !== 'ok' && spec.idempotent) {
        // kafkajs advances an idempotent producer's sequence number only on success, so after a send whose
        // outcome is unknown the next record would reuse that sequence: if the first attempt lands late, the
        // broker (like Kafka's) takes the new record for a duplicate and acknowledges it with the old record's
        // offset, and the new record is lost. Found by this checker; a new producer session (new producer id)
        // is what the Java client and librdkafka do in effect (they bump the epoch), so do that here.
        await producer.disconnect().catch(() => undefined);
        producer = newProducer();
        connected = false;
      }
      options.history.record({
        kind: 'write',
        producer: spec.name,
        idempotent: spec.idempotent,
        topic: options.topic,
        partition,
        value,
        outcome,
        ...(offset === undefined ? {} : { offset }),
        invokedAtMs,
        completedAtMs: now(),
        ...(error === undefined ? {} : { error }),
      });
      if (options.pauseMs !== undefined) await pause(options.pauseMs);
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
