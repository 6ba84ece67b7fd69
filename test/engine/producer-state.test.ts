import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { APPEND, DUPLICATE, ProducerStateTable } from '../../src/engine/producer-state.js';

describe('idempotent producer state', () => {
  it('accepts batches in sequence and returns the original offset for a retried one', () => {
    const table = new ProducerStateTable();
    expect(table.check(7, 0, 0, 10)).toBe(APPEND);
    table.recordAppend(7, 0, 0, 10, 100);
    expect(table.check(7, 0, 10, 5)).toBe(APPEND);
    table.recordAppend(7, 0, 10, 5, 110);
    expect(table.check(7, 0, 0, 10)).toBe(DUPLICATE);
    expect(table.duplicateBaseOffset).toBe(100);
    expect(table.check(7, 0, 10, 5)).toBe(DUPLICATE);
    expect(table.duplicateBaseOffset).toBe(110);
  });

  it('rejects a gap with OUT_OF_ORDER_SEQUENCE_NUMBER and an old epoch with INVALID_PRODUCER_EPOCH', () => {
    const table = new ProducerStateTable();
    table.recordAppend(1, 3, 0, 1, 0);
    expect(table.check(1, 3, 5, 1)).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(table.check(1, 2, 1, 1)).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    expect(table.check(1, 4, 0, 1)).toBe(APPEND);
    expect(table.check(1, 4, 3, 1)).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('remembers only the last five batches and wraps sequences at 2^31', () => {
    const table = new ProducerStateTable();
    let sequence = 2 ** 31 - 3;
    for (let i = 0; i < 7; i++) {
      table.recordAppend(9, 0, sequence, 2, i * 2);
      sequence = (sequence + 2) % 2 ** 31;
    }
    expect(table.check(9, 0, sequence, 1)).toBe(APPEND);
    // The oldest two batches fell out of the window: no longer duplicates, and not in order either.
    expect(table.check(9, 0, 2 ** 31 - 3, 2)).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(table.check(9, 0, (2 ** 31 - 3 + 4) % 2 ** 31, 2)).toBe(DUPLICATE);
  });

  it('lets non-idempotent batches (producer id -1) through untracked', () => {
    const table = new ProducerStateTable();
    expect(table.check(-1, -1, -1, 3)).toBe(APPEND);
    table.recordAppend(-1, -1, -1, 3, 0);
    expect(table.size()).toBe(0);
  });
});
