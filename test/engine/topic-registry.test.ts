import { existsSync, mkdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { TopicRegistry, topicNameProblem } from '../../src/engine/topic-registry.js';
import { makeTempDir } from '../support/temp-dir.js';

describe('topic registry', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());

  it('given topics added when reopened with the same shard count should find every partition on the same shard', () => {
    const temp = makeTempDir('registry');
    cleanup = temp.cleanup;
    const first = TopicRegistry.open(temp.dir, 3);
    const added = first.add('orders', 5, 8, DEFAULT_TOPIC_CONFIG);
    const reopened = TopicRegistry.open(temp.dir, 3);
    expect(reopened.get('orders')).toEqual(added);
    expect(reopened.byTopicId(5)?.name).toBe('orders');
  });

  it('given many changes when persisted should append what each change costs, not the whole registry', () => {
    const temp = makeTempDir('registry');
    cleanup = temp.cleanup;
    const registry = TopicRegistry.open(temp.dir, 2);
    const logPath = join(temp.dir, 'meta', 'topics.log');
    registry.add('wide', 1, 200_000, DEFAULT_TOPIC_CONFIG);
    const afterWideBytes = statSync(logPath).size;
    // 200,000 partitions are one small record: placement is recomputed, never stored.
    // A record carries the topic's whole config (two dozen standard settings, about 700 bytes).
    expect(afterWideBytes).toBeLessThan(1024);
    const addCostsBytes: number[] = [];
    for (let i = 0; i < 100; i++) {
      const beforeBytes = statSync(logPath).size;
      registry.add(`t${i}`, 10 + i, 1, DEFAULT_TOPIC_CONFIG);
      addCostsBytes.push(statSync(logPath).size - beforeBytes);
    }
    const perTopicBytes = (statSync(logPath).size - afterWideBytes) / 100;
    registry.remove('t0');
    const removeBytes = statSync(logPath).size - afterWideBytes - perTopicBytes * 100;
    expect(perTopicBytes).toBeLessThan(1024);
    // The 100th add costs what the first did: the cost is the change's, not the registry's size.
    expect(addCostsBytes[99]! - addCostsBytes[0]!).toBeLessThan(8);
    expect(removeBytes).toBeLessThan(64);
    const reopened = TopicRegistry.open(temp.dir, 2);
    expect(reopened.get('wide')?.partitionCount).toBe(200_000);
    expect(reopened.get('wide')?.shards).toEqual(registry.get('wide')?.shards);
    expect(reopened.get('t0')).toBeUndefined();
    expect(reopened.all()).toHaveLength(100);
  });

  it('given a torn last append when reopened should keep every whole record and append after them', () => {
    const temp = makeTempDir('registry');
    cleanup = temp.cleanup;
    const registry = TopicRegistry.open(temp.dir, 1);
    registry.add('kept', 1, 2, DEFAULT_TOPIC_CONFIG);
    registry.add('torn', 2, 2, DEFAULT_TOPIC_CONFIG);
    registry.close();
    const logPath = join(temp.dir, 'meta', 'topics.log');
    truncateSync(logPath, statSync(logPath).size - 5);
    const reopened = TopicRegistry.open(temp.dir, 1);
    expect(reopened.get('kept')?.partitionCount).toBe(2);
    expect(reopened.get('torn')).toBeUndefined();
    reopened.add('next', 3, 1, DEFAULT_TOPIC_CONFIG);
    reopened.close();
    expect(
      TopicRegistry.open(temp.dir, 1)
        .all()
        .map((topic) => topic.name),
    ).toEqual(['kept', 'next']);
  });

  it('given a registry of the earlier topics.json format when opened should carry it into the log', () => {
    const temp = makeTempDir('registry');
    cleanup = temp.cleanup;
    mkdirSync(join(temp.dir, 'meta'));
    const legacy = join(temp.dir, 'meta', 'topics.json');
    writeFileSync(
      legacy,
      JSON.stringify({
        version: 1,
        shardCount: 2,
        topics: [
          { name: 'old', topicId: 4, partitionCount: 3, config: DEFAULT_TOPIC_CONFIG, shards: [0, 1, 0] },
        ],
      }),
    );
    expect(TopicRegistry.open(temp.dir, 2).get('old')?.partitionCount).toBe(3);
    expect(existsSync(legacy)).toBe(false);
    expect(TopicRegistry.open(temp.dir, 2).get('old')?.topicId).toBe(4);
  });

  it('given a different shard count when reopened should re-place partitions within the new range', () => {
    const temp = makeTempDir('registry');
    cleanup = temp.cleanup;
    TopicRegistry.open(temp.dir, 4).add('events', 2, 16, DEFAULT_TOPIC_CONFIG);
    const reopened = TopicRegistry.open(temp.dir, 2);
    const shards = reopened.get('events')!.shards;
    expect(shards).toHaveLength(16);
    for (const shard of shards) expect(shard === 0 || shard === 1).toBe(true);
  });

  it('removes topics durably', () => {
    const temp = makeTempDir('registry');
    cleanup = temp.cleanup;
    const registry = TopicRegistry.open(temp.dir, 1);
    registry.add('gone', 1, 1, DEFAULT_TOPIC_CONFIG);
    registry.remove('gone');
    expect(TopicRegistry.open(temp.dir, 1).get('gone')).toBeUndefined();
  });

  it('rejects topic names Kafka rejects', () => {
    expect(topicNameProblem('ok.topic_name-1')).toBeNull();
    expect(topicNameProblem('')).not.toBeNull();
    expect(topicNameProblem('..')).not.toBeNull();
    expect(topicNameProblem('has space')).not.toBeNull();
    expect(topicNameProblem('a/b')).not.toBeNull();
    expect(topicNameProblem('x'.repeat(250))).not.toBeNull();
  });
});
