import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { type Engine, produceFailure } from '../engine/engine-api.js';

/**
 * Internal topics (`__consumer_offsets`, and any later `__` topic) hold the
 * broker's own state. Only the broker writes them: a client produce to one
 * is answered INVALID_TOPIC_EXCEPTION, as Kafka answers an append to an
 * internal topic, and the engine refuses to delete them (POLICY_VIOLATION).
 * Clients may still read them.
 */
export function isInternalTopic(name: string): boolean {
  return name.startsWith('__');
}

/**
 * The engine as the front doors see it: the same engine, except that produce
 * to an internal topic is refused, and deleting a topic also forgets its
 * committed offsets (`onTopicDeleted`). The group coordinator keeps the
 * engine itself, so it still writes committed offsets.
 */
export function clientEngine(
  engine: Engine,
  onTopicDeleted: (topic: string) => Promise<unknown> = async () => undefined,
): Engine {
  const bound = new Map<PropertyKey, unknown>();
  const deleteTopic: Engine['deleteTopic'] = async (topic) => {
    const code = await engine.deleteTopic(topic);
    // Committed offsets of the deleted topic go too, so a topic created again under the name
    // does not start from its predecessor's offsets.
    if (code === KafkaErrorCode.NONE) await onTopicDeleted(topic);
    return code;
  };
  // `lent` passes through: a WebSocket produce lends a view of its message (Engine.produce).
  const produce: Engine['produce'] = (topic, partition, batch, acks, lent) =>
    isInternalTopic(topic)
      ? Promise.resolve(
          produceFailure(
            KafkaErrorCode.INVALID_TOPIC_EXCEPTION,
            `${topic} is an internal topic: only the broker writes it`,
          ),
        )
      : engine.produce(topic, partition, batch, acks, lent);
  return new Proxy(engine, {
    get(target, key) {
      if (key === 'produce') return produce;
      if (key === 'deleteTopic') return deleteTopic;
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      let method = bound.get(key);
      if (method === undefined) {
        method = (value as (...args: unknown[]) => unknown).bind(target);
        bound.set(key, method);
      }
      return method;
    },
  });
}
