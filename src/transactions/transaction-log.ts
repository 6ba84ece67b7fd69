import type { TopicConfig } from '../common/broker-config.js';
import { errorMessage } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Engine } from '../engine/engine-api.js';
import { buildRecordBatch } from '../record/batch-builder.js';
import { readInternalPartition } from './internal-topic-reader.js';
import { decodeTxnKey, decodeTxnValue, encodeTxnKey, encodeTxnValue } from './transaction-record.js';
import type { TransactionMetadata } from './transaction-state.js';

/**
 * The durable half of the transaction coordinator: every change of a
 * transactional id's state is one record in the internal topic
 * `__transaction_state` (transaction-record.ts), produced with acks=-1 before
 * the change takes effect, so an acknowledged step survives a crash as far as
 * the broker's fsync policy promises. On open every partition is read from its
 * start and the latest record of each id wins. The topic is created with the
 * first transactional id (a broker without transactions never has it).
 * Owned by the acceptor thread.
 */
export const TRANSACTION_STATE_TOPIC = '__transaction_state';

/**
 * Compacted, as Kafka's is: each record is keyed by its transactional id, so
 * the cleaner keeps the latest state of each. Nothing is deleted by age or
 * size. Segments of 100 MiB (Kafka's transaction.state.log.segment.bytes).
 */
export const TRANSACTION_STATE_TOPIC_CONFIG = {
  cleanupPolicy: 'compact',
  retentionMs: -1,
  retentionBytes: -1,
  segmentBytes: 100 * 1024 * 1024,
} as const satisfies Partial<TopicConfig>;

export interface TransactionLogWarnings {
  warn(details: object, message: string): void;
}

export class TransactionLog {
  private constructor(
    private readonly engine: Engine,
    /** Partitions of the topic: its own count once it exists, else what it will be created with. */
    private partitionCount: number,
    private created: boolean,
    private readonly log: TransactionLogWarnings,
  ) {}

  private creating: Promise<KafkaErrorCode> | null = null;

  /**
   * Reads back the state of every transactional id the topic holds (none when
   * it does not exist yet). A partition that cannot be read costs the ids it
   * holds their state (logged), never the broker its start.
   */
  static async open(
    engine: Engine,
    partitions: number,
    log: TransactionLogWarnings,
  ): Promise<{ log: TransactionLog; states: Map<string, TransactionMetadata> }> {
    const existing = engine.describeTopic(TRANSACTION_STATE_TOPIC);
    const txnLog = new TransactionLog(
      engine,
      existing?.partitionCount ?? partitions,
      existing !== undefined,
      log,
    );
    const states = new Map<string, TransactionMetadata>();
    if (existing === undefined) return { log: txnLog, states };
    for (let partition = 0; partition < existing.partitionCount; partition++) {
      let skipped = 0;
      try {
        await readInternalPartition(
          engine,
          TRANSACTION_STATE_TOPIC,
          partition,
          (record) => {
            const id = record.key === null ? null : decodeTxnKey(record.key);
            if (id === null) {
              skipped++;
              return;
            }
            if (record.value === null) {
              states.delete(id);
              return;
            }
            const metadata = decodeTxnValue(id, record.value);
            if (metadata === null) skipped++;
            else states.set(id, metadata);
          },
          (baseOffset, error) =>
            log.warn(
              { topic: TRANSACTION_STATE_TOPIC, partition, baseOffset, error: errorMessage(error) },
              'skipping a damaged batch of transaction state',
            ),
        );
      } catch (error) {
        log.warn(
          { topic: TRANSACTION_STATE_TOPIC, partition, error: errorMessage(error) },
          'cannot load transaction state; the transactional ids of this partition start afresh',
        );
      }
      if (skipped > 0) {
        log.warn(
          { topic: TRANSACTION_STATE_TOPIC, partition, skipped },
          'skipped transaction-state records that are not well formed',
        );
      }
    }
    return { log: txnLog, states };
  }

  /** Stores a transactional id's new state durably; resolves with NONE once it is, else the error. */
  async write(metadata: TransactionMetadata): Promise<KafkaErrorCode> {
    return this.append(metadata.transactionalId, encodeTxnValue(metadata), metadata.updatedMs);
  }

  /** Forgets a transactional id durably (a tombstone, removed by compaction later). */
  async forget(transactionalId: string, nowMs: number): Promise<KafkaErrorCode> {
    return this.append(transactionalId, null, nowMs);
  }

  private async append(
    transactionalId: string,
    value: Uint8Array | null,
    timestampMs: number,
  ): Promise<KafkaErrorCode> {
    const ready = await this.ensureTopic();
    if (ready !== KafkaErrorCode.NONE) return ready;
    const batch = buildRecordBatch([{ key: encodeTxnKey(transactionalId), value }], {
      baseTimestampMs: timestampMs,
    });
    const outcome = await this.engine.produce(
      TRANSACTION_STATE_TOPIC,
      this.partitionFor(transactionalId),
      batch,
      -1,
    );
    return outcome.errorCode;
  }

  /** Creates the topic once; concurrent first writes share the one creation. */
  private ensureTopic(): Promise<KafkaErrorCode> {
    if (this.created) return Promise.resolve(KafkaErrorCode.NONE);
    this.creating ??= this.createTopic().then((code) => {
      if (code !== KafkaErrorCode.NONE) this.creating = null;
      return code;
    });
    return this.creating;
  }

  private async createTopic(): Promise<KafkaErrorCode> {
    const code = await this.engine.createTopic(
      TRANSACTION_STATE_TOPIC,
      this.partitionCount,
      TRANSACTION_STATE_TOPIC_CONFIG,
    );
    if (code !== KafkaErrorCode.NONE && code !== KafkaErrorCode.TOPIC_ALREADY_EXISTS) {
      this.log.warn({ topic: TRANSACTION_STATE_TOPIC, code }, 'cannot create the transaction state topic');
      return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    this.partitionCount =
      this.engine.describeTopic(TRANSACTION_STATE_TOPIC)?.partitionCount ?? this.partitionCount;
    this.created = true;
    return KafkaErrorCode.NONE;
  }

  /** The partition of a transactional id: a stable hash of it, so its records stay in one log. */
  private partitionFor(transactionalId: string): number {
    let hash = 0;
    for (let i = 0; i < transactionalId.length; i++)
      hash = (Math.imul(hash, 31) + transactionalId.charCodeAt(i)) | 0;
    return (hash >>> 0) % this.partitionCount;
  }
}
