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

  it('given a producer idle past producer.id.expiration.ms, then it is forgotten and accepted afresh at any sequence', () => {
    const table = new ProducerStateTable({ expirationMs: 1000, maxProducers: 100 });
    table.recordAppend(5, 0, 0, 10, 0, 10_000);
    expect(table.check(5, 0, 0, 10, 10_500)).toBe(DUPLICATE);
    expect(table.check(5, 0, 50, 1, 10_500)).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(table.check(5, 0, 50, 1, 11_001)).toBe(APPEND);
    expect(table.size()).toBe(0);
  });

  it('given idle producers, when the retention timer expires them, then only those past the expiration go', () => {
    const table = new ProducerStateTable({ expirationMs: 1000, maxProducers: 100 });
    table.recordAppend(1, 0, 0, 1, 0, 1_000);
    table.recordAppend(2, 0, 0, 1, 1, 1_500);
    table.recordAppend(1, 0, 1, 1, 2, 1_800);
    expect(table.expire(2_600)).toBe(1);
    expect(table.size()).toBe(1);
    expect(table.check(1, 0, 1, 1, 2_600)).toBe(DUPLICATE);
    expect(table.expire(2_801)).toBe(1);
    expect(table.size()).toBe(0);
  });

  it('given more producer ids than the cap, then the least recently used is forgotten and the table stays at the cap', () => {
    const table = new ProducerStateTable({ expirationMs: 1e12, maxProducers: 3 });
    for (let id = 0; id < 3; id++) table.recordAppend(id, 0, 0, 1, id, 100 + id);
    table.recordAppend(0, 0, 1, 1, 10, 200); // 0 is now the most recently used
    for (let id = 3; id < 1000; id++) table.recordAppend(id, 0, 0, 1, id, 300 + id);
    expect(table.size()).toBe(3);
    expect(table.check(999, 0, 0, 1, 2000)).toBe(DUPLICATE);
    // Forgotten producers are accepted afresh at any sequence.
    expect(table.check(0, 0, 77, 1, 2000)).toBe(APPEND);
    expect(table.check(1, 0, 77, 1, 2000)).toBe(APPEND);
  });
});
