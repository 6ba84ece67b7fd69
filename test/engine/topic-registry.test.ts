import { readFileSync } from 'node:fs';
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
    const file = JSON.parse(readFileSync(join(temp.dir, 'meta', 'topics.json'), 'utf8')) as {
      shardCount: number;
    };
    expect(file.shardCount).toBe(3);
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
