import { describe, expect, it } from 'vitest';
import { InvalidBatchError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { readInt64, writeInt64 } from '../../src/common/offset.js';
import { maskAbortedBatches } from '../../src/record/aborted-batches.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchAttributes, BatchHeader } from '../../src/record/batch-header.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { buildControlBatch, ControlRecordType, controlRecordType } from '../../src/record/control-batch.js';
import { validateProducedBatch } from '../../src/record/validate.js';
import { walkRecords } from '../../src/sql/topic-rows.js';
import { decodeTxnIndex, encodeTxnIndex } from '../../src/storage/txn-index-file.js';

const encoder = new TextEncoder();

function at(batch: Uint8Array, baseOffset: number): Uint8Array {
  const copy = batch.slice();
  writeInt64(new DataView(copy.buffer), BatchHeader.BASE_OFFSET, baseOffset);
  return copy;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let position = 0;
  for (const part of parts) {
    out.set(part, position);
    position += part.length;
  }
  return out;
}

describe('transaction marker (control batch)', () => {
  it('given a COMMIT marker, its bytes are Kafka control record key and EndTransactionMarker value', () => {
    const batch = buildControlBatch(
      { producerId: 42, producerEpoch: 3, commit: true, coordinatorEpoch: 7 },
      1000,
    );
    const view = new DataView(batch.buffer);
    expect(batch.length).toBe(BatchHeader.SIZE_BYTES + 17);
    expect(view.getInt16(BatchHeader.ATTRIBUTES)).toBe(
      BatchAttributes.TRANSACTIONAL | BatchAttributes.CONTROL,
    );
    expect(readInt64(view, BatchHeader.PRODUCER_ID)).toBe(42);
    expect(view.getInt16(BatchHeader.PRODUCER_EPOCH)).toBe(3);
    expect(view.getInt32(BatchHeader.BASE_SEQUENCE)).toBe(-1);
    expect(view.getInt32(BatchHeader.RECORD_COUNT)).toBe(1);
    // length 16, attributes, timestampDelta 0, offsetDelta 0, key (4): version 0 type 1,
    // value (6): version 0, coordinator epoch 7, no headers. Varints are zigzag.
    expect([...batch.subarray(BatchHeader.SIZE_BYTES)]).toEqual([
      0x20, 0, 0, 0, 0x08, 0, 0, 0, 1, 0x0c, 0, 0, 0, 0, 0, 7, 0,
    ]);
    expect(checkBatch(batch, view, 0, batch.length)).toBe(batch.length);
    expect(controlRecordType(batch, view, 0, batch.length)).toBe(ControlRecordType.COMMIT);
    const abort = buildControlBatch(
      { producerId: 42, producerEpoch: 3, commit: false, coordinatorEpoch: 7 },
      1000,
    );
    expect(controlRecordType(abort, new DataView(abort.buffer), 0, abort.length)).toBe(
      ControlRecordType.ABORT,
    );
  });

  it('given a client producing a control batch, it is refused; a transactional batch needs a producer id', () => {
    const marker = buildControlBatch(
      { producerId: 1, producerEpoch: 0, commit: true, coordinatorEpoch: 0 },
      1,
    );
    expect(() => validateProducedBatch(marker, 1 << 20)).toThrow(InvalidBatchError);
    const transactional = buildRecordBatch([{ key: null, value: encoder.encode('v') }], {
      producerId: 5,
      producerEpoch: 0,
      baseSequence: 0,
      transactional: true,
    });
    expect(() => validateProducedBatch(transactional, 1 << 20)).not.toThrow();
    const anonymous = buildRecordBatch([{ key: null, value: encoder.encode('v') }], { transactional: true });
    try {
      validateProducedBatch(anonymous, 1 << 20);
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidBatchError).kafkaCode).toBe(KafkaErrorCode.INVALID_RECORD);
    }
  });

  it('given batches with an aborted transaction, masking hides its data and the markers but keeps the offsets moving', () => {
    const data = (producerId: number, value: string, transactional = true) =>
      buildRecordBatch([{ key: null, value: encoder.encode(value) }], {
        producerId,
        producerEpoch: 0,
        baseSequence: 0,
        transactional,
      });
    const records = concat([
      at(data(7, 'aborted-1'), 0),
      at(data(8, 'committed'), 1),
      at(data(-1, 'plain', false), 2),
      at(data(7, 'aborted-2'), 3),
      at(buildControlBatch({ producerId: 7, producerEpoch: 0, commit: false, coordinatorEpoch: 0 }, 1), 4),
      at(data(7, 'next-txn'), 5),
      at(buildControlBatch({ producerId: 8, producerEpoch: 0, commit: true, coordinatorEpoch: 0 }, 1), 6),
    ]);
    const values = (bytes: Uint8Array) =>
      decodeRecordSet(bytes).map((record) => new TextDecoder().decode(record.value!));
    expect(values(records)).toEqual(['aborted-1', 'committed', 'plain', 'aborted-2', 'next-txn']);
    const masked = maskAbortedBatches(records, [{ producerId: 7, firstOffset: 0 }]);
    expect(values(masked)).toEqual(['committed', 'plain', 'next-txn']);
    // Every batch is still there and valid (the masked ones carry a CRC computed again).
    const view = new DataView(masked.buffer);
    let position = 0;
    let count = 0;
    while (position < masked.length) {
      const size = checkBatch(masked, view, position, masked.length);
      expect(size).toBeGreaterThan(0);
      position += size;
      count++;
    }
    expect(count).toBe(7);
    expect(maskAbortedBatches(records, [])).toBe(records);
  });

  it('given a segment transaction index, it round-trips and a damaged one is refused', () => {
    const content = {
      baseOffset: 100,
      endOffset: 180,
      openAtStart: [{ producerId: 3, firstOffset: 90 }],
      openAtEnd: [{ producerId: 4, firstOffset: 170 }],
      aborted: [{ producerId: 3, firstOffset: 90, lastOffset: 150 }],
    };
    const bytes = encodeTxnIndex(content);
    expect(decodeTxnIndex(bytes, 100)).toEqual(content);
    expect(decodeTxnIndex(bytes, 101)).toBeNull();
    const damaged = bytes.slice();
    damaged[45] = damaged[45]! ^ 1;
    expect(decodeTxnIndex(damaged, 100)).toBeNull();
    expect(decodeTxnIndex(bytes.subarray(0, bytes.length - 1), 100)).toBeNull();
  });

  it('given a marker between records, the SQL row walk skips it and still moves past its offset', () => {
    const records = concat([
      at(
        buildRecordBatch([{ key: null, value: encoder.encode('v0') }], {
          producerId: 9,
          producerEpoch: 0,
          baseSequence: 0,
          transactional: true,
        }),
        0,
      ),
      at(buildControlBatch({ producerId: 9, producerEpoch: 0, commit: true, coordinatorEpoch: 0 }, 1), 1),
    ]);
    const offsets: number[] = [];
    const next = walkRecords(records, 0, 10, { row: (offset) => offsets.push(offset), endBatch: () => {} });
    expect(offsets).toEqual([0]);
    expect(next).toBe(2);
  });
});
