import { type BrokerConfig, defaultBrokerConfig } from '../../src/common/broker-config.js';
import type { Engine } from '../../src/engine/engine-api.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { encodeRecordsAsArrow } from '../../src/server/arrow-export.js';
import type { FrontDoor, FrontDoorDeps } from '../../src/server/front-door-deps.js';
import { startHttpServer } from '../../src/server/http-server.js';
import { MemoryEngine } from './memory-engine.js';

/** The uWS app (HTTP + /ws) on 127.0.0.1:<ephemeral> over an in-memory engine and a real group coordinator. */
export interface HttpFixture {
  engine: Engine;
  server: FrontDoor;
  config: BrokerConfig;
  base: string;
  wsUrl: string;
  close(): Promise<void>;
}

export async function startHttpFixture(
  overrides: Partial<BrokerConfig> = {},
  engine: Engine = new MemoryEngine(),
): Promise<HttpFixture> {
  const config: BrokerConfig = { ...defaultBrokerConfig(1), httpPort: 0, logLevel: 'silent', ...overrides };
  const groups = await GroupCoordinator.open(engine);
  const deps: FrontDoorDeps = {
    config,
    engine,
    groups,
    metricsText: () =>
      '# HELP pyralog_test_total A test counter\n# TYPE pyralog_test_total counter\npyralog_test_total{shard="0"} 3\n',
    encodeArrow: async (input) => encodeRecordsAsArrow(input),
  };
  const server = await startHttpServer(deps);
  return {
    engine,
    server,
    config,
    base: `http://127.0.0.1:${server.port}`,
    wsUrl: `ws://127.0.0.1:${server.port}/ws`,
    async close() {
      await server.close();
      await groups.close();
    },
  };
}
