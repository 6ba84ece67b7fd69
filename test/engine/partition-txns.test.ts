import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { PartitionTxns } from '../../src/engine/partition-txns.js';
import { APPEND, ProducerStateTable } from '../../src/engine/producer-state.js';
import { rebuildProducerState } from '../../src/engine/producer-state-rebuild.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { buildControlBatch } from '../../src/record/control-batch.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

describe('partition transaction bookkeeping', () => {
  it('given open transactions, the LSO is the oldest first offset, at most the high watermark and at least the log start', () => {
    const txns = new PartitionTxns();
    expect(txns.lastStableOffset(10)).toBe(10);
    txns.onTransactionalAppend(7, 5);
    txns.onTransactionalAppend(8, 6);
    txns.onTransactionalAppend(7, 9); // the same transaction: its first offset stays 5
    expect(txns.lastStableOffset(10)).toBe(5);
    expect(txns.lastStableOffset(4)).toBe(4);
    // Retention or DeleteRecords removed the transaction's first batches: the LSO stops at the log start.
    expect(txns.lastStableOffset(10, 6)).toBe(6);
    txns.onMarker(7, 0, true, 11);
    expect(txns.lastStableOffset(20)).toBe(6);
    txns.onMarker(8, 0, false, 12);
    expect(txns.lastStableOffset(20)).toBe(20);
  });

  it('given a marker written, the same marker again is recognised until the producer opens another transaction', () => {
    const txns = new PartitionTxns();
    txns.onTransactionalAppend(3, 0);
    expect(txns.writtenMarkerOffset(3, 1, false)).toBe(-1);
    txns.onMarker(3, 1, false, 4);
    expect(txns.writtenMarkerOffset(3, 1, false)).toBe(4);
    expect(txns.writtenMarkerOffset(3, 1, true)).toBe(-1);
    expect(txns.writtenMarkerOffset(3, 2, false)).toBe(-1);
    txns.onTransactionalAppend(3, 5);
    expect(txns.writtenMarkerOffset(3, 1, false)).toBe(-1);
  });

  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('given a transaction ended by a marker, producer state rebuilt from the log lets the producer go on with its next sequence', async () => {
    const { dir, cleanup } = makeTempDir('txn-producer-state');
    cleanups.push(cleanup);
    const log = PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
    for (let sequence = 0; sequence < 3; sequence++) {
      const batch = buildRecordBatch([{ key: null, value: new Uint8Array(8) }], {
        producerId: 5,
        producerEpoch: 2,
        baseSequence: sequence,
        transactional: true,
      });
      log.append(batch, Date.now());
    }
    log.append(
      buildControlBatch({ producerId: 5, producerEpoch: 2, commit: true, coordinatorEpoch: 0 }, 1),
      1,
    );
    const table = new ProducerStateTable();
    rebuildProducerState(table, log);
    // Markers carry no sequence: the producer's next batch follows its last data batch (sequence 2).
    expect(table.check(5, 2, 3, 1)).toBe(APPEND);
    expect(table.check(5, 1, 3, 1)).not.toBe(APPEND);
    await log.close();
  });
});
