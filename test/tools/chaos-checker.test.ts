import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkHistory, type ReplicaRead } from '../../tools/chaos/checker.js';
import {
  type HistoryEvent,
  HistoryRecorder,
  readHistory,
  type WriteEvent,
} from '../../tools/chaos/history.js';

let clock = 0;
function write(
  value: string,
  outcome: WriteEvent['outcome'],
  offset?: number,
  extra: Partial<WriteEvent> = {},
): WriteEvent {
  clock += 10;
  return {
    kind: 'write',
    producer: 'p1',
    idempotent: true,
    topic: 't',
    partition: 0,
    value,
    outcome,
    ...(offset === undefined ? {} : { offset }),
    invokedAtMs: clock - 5,
    completedAtMs: clock,
    ...extra,
  };
}

function replica(broker: number, values: readonly string[], partition = 0): ReplicaRead {
  return { broker, topic: 't', partition, records: values.map((value, offset) => ({ offset, value })) };
}

/** Three acknowledged writes, an unknown one that made it, a failed one that did not, a fault and a heal. */
function healthyRun(): { history: HistoryEvent[]; reads: ReplicaRead[] } {
  clock = 0;
  const history: HistoryEvent[] = [
    write('a', 'ok', 0),
    write('b', 'ok', 1),
    { kind: 'fault', action: 'kill-leader', target: 'broker-1', atMs: 25 },
    write('c', 'info'),
    write('d', 'fail'),
    { kind: 'heal', atMs: 45 },
    write('e', 'ok', 3),
  ];
  const log = ['a', 'b', 'c', 'e'];
  return { history, reads: [replica(1, log), replica(2, log), replica(3, log)] };
}

describe('chaos checker', () => {
  it('given a run that kept every promise, should pass and count what was allowed', () => {
    const { history, reads } = healthyRun();
    const result = checkHistory(history, reads);
    expect(result).toMatchObject({
      valid: true,
      acknowledged: 3,
      unacknowledgedPresent: 1,
      lost: [],
      divergent: [],
    });
    expect(result.resumes).toEqual([{ healedAtMs: 45, firstAckAfterMs: 5, withinLimit: true }]);
  });

  it('negative control: given an acknowledged write missing from a replica (an unclean election), should fail', () => {
    const { history } = healthyRun();
    const truncated = ['a', 'c', 'e'];
    const result = checkHistory(history, [
      replica(1, truncated),
      replica(2, truncated),
      replica(3, truncated),
    ]);
    expect(result.valid).toBe(false);
    expect(result.lost).toContainEqual({
      topic: 't',
      partition: 0,
      broker: 1,
      value: 'b',
      offset: 1,
      found: 'c',
    });
  });

  it('negative control: given an acknowledged write at another offset than acknowledged, should fail', () => {
    const { history } = healthyRun();
    const shifted = ['a', 'c', 'b', 'e'];
    const result = checkHistory(history, [replica(1, shifted)]);
    expect(result.valid).toBe(false);
    expect(result.lost.map((lost) => [lost.value, lost.found])).toEqual([['b', 'c']]);
  });

  it('negative control: given replicas that differ, should fail and name the first differing offset', () => {
    const { history } = healthyRun();
    const result = checkHistory(history, [
      replica(1, ['a', 'b', 'c', 'e']),
      replica(2, ['a', 'b', 'c', 'e']),
      replica(3, ['a', 'b', 'e']),
    ]);
    expect(result.valid).toBe(false);
    expect(result.divergent).toEqual([
      { topic: 't', partition: 0, brokers: [1, 3], offset: 2, values: ['c', 'e'] },
    ]);
  });

  it('negative control: given a replica that is missing the tail, should fail as divergent', () => {
    const { history } = healthyRun();
    const result = checkHistory(history, [replica(1, ['a', 'b', 'c', 'e']), replica(2, ['a', 'b', 'c'])]);
    expect(result.divergent).toEqual([
      { topic: 't', partition: 0, brokers: [1, 2], offset: 3, values: ['e', null] },
    ]);
    expect(result.valid).toBe(false);
  });

  it('negative control: given an idempotent producer whose write appears twice, should fail', () => {
    const { history } = healthyRun();
    const log = ['a', 'b', 'c', 'e', 'b'];
    const result = checkHistory(history, [replica(1, log)]);
    expect(result.valid).toBe(false);
    expect(result.duplicates).toEqual([{ topic: 't', partition: 0, broker: 1, value: 'b', offsets: [1, 4] }]);
  });

  it('given a plain producer whose retry appears twice, should pass and count it', () => {
    clock = 0;
    const history = [write('x', 'ok', 0, { idempotent: false }), write('y', 'ok', 2, { idempotent: false })];
    const result = checkHistory(history, [replica(1, ['x', 'x', 'y'])]);
    expect(result).toMatchObject({ valid: true, plainDuplicates: 1, duplicates: [] });
  });

  it('negative control: given a value nobody wrote, or one written to another partition, should fail', () => {
    const { history } = healthyRun();
    const result = checkHistory(history, [replica(1, ['a', 'b', 'c', 'e', 'zzz']), replica(4, ['a'], 1)]);
    expect(result.valid).toBe(false);
    expect(result.unexpected.map((u) => [u.partition, u.value])).toEqual([
      [0, 'zzz'],
      [1, 'a'],
    ]);
  });

  it('negative control: given writes that do not resume within the limit after a heal, should fail', () => {
    clock = 0;
    const history: HistoryEvent[] = [
      write('a', 'ok', 0),
      { kind: 'heal', atMs: 100 },
      { ...write('b', 'ok', 1), completedAtMs: 16_000 },
    ];
    const result = checkHistory(history, [replica(1, ['a', 'b'])], { resumeWithinMs: 15_000 });
    expect(result.valid).toBe(false);
    expect(result.resumes).toEqual([{ healedAtMs: 100, firstAckAfterMs: 15_900, withinLimit: false }]);
  });

  it('negative control: given a partition written to but never read, should fail', () => {
    const { history } = healthyRun();
    const result = checkHistory(history, []);
    expect(result.valid).toBe(false);
    expect(result.unread).toEqual([{ topic: 't', partition: 0 }]);
  });
});

describe('history file', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('given recorded events, should read back the same events, ignoring a torn last line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pyralog-history-'));
    dirs.push(dir);
    const path = join(dir, 'history.jsonl');
    const recorder = new HistoryRecorder(path);
    const { history } = healthyRun();
    for (const event of history) recorder.record(event);
    expect(readHistory(path)).toEqual(history);
    writeFileSync(path, `${JSON.stringify(history[0])}\n{"kind":"wri`, { flag: 'w' });
    expect(readHistory(path)).toEqual([history[0]]);
  });

  it('given a line that is not an event, should refuse the file with its line number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pyralog-history-'));
    dirs.push(dir);
    const path = join(dir, 'history.jsonl');
    writeFileSync(path, '{"kind":"write","value":"a"}\n{"kind":"heal","atMs":1}\n');
    expect(() => readHistory(path)).toThrow(/history.jsonl:1: not a history event/);
  });
});
