import type { BrokerConfig } from '../common/broker-config.js';
import { crc32cImplementation } from '../record/crc32c.js';

/**
 * The line `pyralog serve` prints on stderr once it accepts connections, and
 * its parser: launchers (benchmarks, tests) start the broker on port 0 and
 * learn the ports from this line, so its format and its reader live together.
 */
export interface ServingPorts {
  kafkaPort: number;
  httpPort: number;
}

export function formatServingLine(config: BrokerConfig, ports: ServingPorts): string {
  const fsync = typeof config.fsync === 'object' ? `${config.fsync.intervalMs}ms` : config.fsync;
  return (
    `pyralog serving: kafka ${config.host}:${ports.kafkaPort}, http/ws ${config.host}:${ports.httpPort}, ` +
    `${config.shardCount} shard(s), data ${config.dataDir}, fsync ${fsync}, crc32c ${crc32cImplementation}`
  );
}

/** The ports from a serving line somewhere in `output`; null while it has not been printed. */
export function parseServingPorts(output: string): ServingPorts | null {
  const match = /pyralog serving: kafka [^\s]+:(\d+), http\/ws [^\s]+:(\d+)/.exec(output);
  return match === null ? null : { kafkaPort: Number(match[1]), httpPort: Number(match[2]) };
}
