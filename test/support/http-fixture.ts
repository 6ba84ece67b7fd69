import type { BrokerConfig } from '../../src/common/broker-config.js';
import type { Engine } from '../../src/engine/engine-api.js';
import type { FrontDoor, FrontDoorDeps } from '../../src/protocol/front-door-deps.js';
import { startHttpServer } from '../../src/server/http-server.js';
import { testFrontDoorDeps } from './front-door-deps.js';
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
  /** Stands in for the offload pool's record decoding (FrontDoorDeps.decodeRecordWindow). */
  decodeRecordWindow?: FrontDoorDeps['decodeRecordWindow'],
): Promise<HttpFixture> {
  const deps = await testFrontDoorDeps(engine, overrides, {
    metricsText: () =>
      '# HELP pyralog_test_total A test counter\n# TYPE pyralog_test_total counter\npyralog_test_total{shard="0"} 3\n',
    ...(decodeRecordWindow === undefined ? {} : { decodeRecordWindow }),
  });
  const { config, groups } = deps;
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
