import type { BrokerConfig } from '../../src/common/broker-config.js';
import type { Engine } from '../../src/engine/engine-api.js';
import type { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import type { FrontDoor } from '../../src/protocol/front-door-deps.js';
import { startKafkaListener } from '../../src/server/kafka-listener.js';
import { testFrontDoorDeps } from './front-door-deps.js';
import { MemoryEngine } from './memory-engine.js';

/** A Kafka listener on 127.0.0.1:<ephemeral> over an in-memory engine and a real group coordinator. */
export interface KafkaFixture {
  engine: Engine;
  groups: GroupCoordinator;
  listener: FrontDoor;
  config: BrokerConfig;
  close(): Promise<void>;
}

export async function startKafkaFixture(
  overrides: Partial<BrokerConfig> = {},
  engine: Engine = new MemoryEngine(),
): Promise<KafkaFixture> {
  const deps = await testFrontDoorDeps(engine, overrides, {
    encodeArrow: () => Promise.reject(new Error('no Arrow in Kafka tests')),
  });
  const { config, groups } = deps;
  const listener = await startKafkaListener(deps);
  return {
    engine,
    groups,
    listener,
    config,
    async close() {
      await listener.close();
      await groups.close();
    },
  };
}
