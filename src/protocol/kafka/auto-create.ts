import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { KafkaRequestContext } from './api.js';

/**
 * Makes sure a topic exists, creating it with the broker's default partition
 * count when `--auto-create-topics` is on and the client allows it (as Kafka
 * does on Metadata). Returns NONE when the topic exists afterwards.
 */
export async function ensureTopic(
  context: KafkaRequestContext,
  name: string,
  allowCreate = true,
): Promise<number> {
  const { engine, config } = context.deps;
  if (engine.describeTopic(name) !== undefined) return KafkaErrorCode.NONE;
  if (!config.autoCreateTopics || !allowCreate) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const code = await engine.createTopic(name, config.defaultPartitions);
  if (code === KafkaErrorCode.NONE || code === KafkaErrorCode.TOPIC_ALREADY_EXISTS)
    return KafkaErrorCode.NONE;
  return code;
}
