import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { KafkaRequestContext } from './api.js';

/**
 * What one Kafka request may name. A request within maxRequestBytes can still
 * list one partition hundreds of thousands of times (a Fetch entry is 28
 * bytes), and every entry costs the broker work, memory and ring space. A
 * request past a limit is answered, not dropped: each topic or partition it
 * names gets INVALID_REQUEST, and nothing of it reaches the engine.
 *
 * The limits are `maxPartitionsPerRequest` (partitions named over all topics
 * of a Produce, Fetch, ListOffsets, OffsetCommit or OffsetFetch) and
 * `maxTopicsPerRequest` (topics named by a Metadata, CreateTopics or
 * DeleteTopics request, groups by a DescribeGroups, resources by a
 * DescribeConfigs). Strings are bounded by their INT16 length, arrays by the
 * bytes left in the request (KafkaReader), requests by maxRequestBytes.
 */
export const REQUEST_LIMIT_ERROR = KafkaErrorCode.INVALID_REQUEST;

export function partitionCountOf(topics: readonly { readonly partitions: readonly unknown[] }[]): number {
  let count = 0;
  for (const topic of topics) count += topic.partitions.length;
  return count;
}

/** True when the topics name more partitions than one request may. */
export function namesTooManyPartitions(
  topics: readonly { readonly partitions: readonly unknown[] }[],
  context: KafkaRequestContext,
): boolean {
  return partitionCountOf(topics) > context.deps.config.maxPartitionsPerRequest;
}

/** True when a request lists more topics (or groups, or resources) than one request may. */
export function namesTooManyTopics(count: number, context: KafkaRequestContext): boolean {
  return count > context.deps.config.maxTopicsPerRequest;
}
