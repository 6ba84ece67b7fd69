import { type BrokerConfig, defaultBrokerConfig } from '../../src/common/broker-config.js';
import type { Engine } from '../../src/engine/engine-api.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import type { FrontDoorDeps } from '../../src/protocol/front-door-deps.js';
import { encodeRecordsAsArrow } from '../../src/server/arrow-export.js';
import { recordWindow } from '../../src/server/http-record-window.js';

/**
 * What every front-door fixture hands its listener: a quiet one-shard config
 * on ephemeral ports, the given engine, a real group coordinator over it, and
 * Arrow encoded in-line (no offload pool in these tests).
 */
export async function testFrontDoorDeps(
  engine: Engine,
  overrides: Partial<BrokerConfig> = {},
  extra: Partial<Pick<FrontDoorDeps, 'metricsText' | 'encodeArrow' | 'decodeRecordWindow'>> = {},
): Promise<FrontDoorDeps & { groups: GroupCoordinator }> {
  const config: BrokerConfig = {
    ...defaultBrokerConfig(1),
    kafkaPort: 0,
    httpPort: 0,
    logLevel: 'silent',
    ...overrides,
  };
  return {
    config,
    engine,
    groups: await GroupCoordinator.open(engine),
    metricsText: () => '',
    encodeArrow: async (input) => encodeRecordsAsArrow(input),
    decodeRecordWindow: async (input) => recordWindow(input.records, input.fromOffset, input.limit),
    ...extra,
  };
}
