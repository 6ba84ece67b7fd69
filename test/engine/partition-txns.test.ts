import { describe, expect, it } from 'vitest';
import { PartitionTxns } from '../../src/engine/partition-txns.js';

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
});
