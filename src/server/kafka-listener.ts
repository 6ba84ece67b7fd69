import { createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import type { FrontDoor, FrontDoorDeps } from '../protocol/front-door-deps.js';
import { MemoryBudget } from '../protocol/memory-budget.js';
import { KafkaConnection } from './kafka-connection.js';

/**
 * The Kafka protocol front door: a TCP listener on the acceptor thread
 * (`--host`, `--kafka-port`). Each connection frames and routes requests
 * (kafka-connection.ts); partition work goes to the shards through the engine.
 * Metadata and FindCoordinator advertise the port actually bound when
 * `--advertised-port` follows `--kafka-port` (its default), when it is 0, or
 * when the listener was asked for an ephemeral port (0).
 */
export interface KafkaFrontDoor extends FrontDoor {
  /** Bytes held for this listener's clients, and how many connections are muted. */
  readonly budget: MemoryBudget;
}

export async function startKafkaListener(
  deps: FrontDoorDeps,
  budget = new MemoryBudget(deps.config.memoryBudgetBytes),
): Promise<KafkaFrontDoor> {
  const logger = pino({ level: deps.config.logLevel }, pino.destination(2));
  const connections = new Set<Socket>();
  let connectionDeps = deps;
  const server: Server = createServer((socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    new KafkaConnection(socket, connectionDeps, logger, budget);
  });
  server.maxConnections = deps.config.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.kafkaPort, deps.config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : deps.config.kafkaPort;
  const advertiseBound =
    deps.config.kafkaPort === 0 ||
    deps.config.advertisedPort === 0 ||
    deps.config.advertisedPort === deps.config.kafkaPort;
  if (advertiseBound && deps.config.advertisedPort !== port) {
    connectionDeps = { ...deps, config: { ...deps.config, advertisedPort: port } };
  }
  return {
    port,
    budget,
    close(): Promise<void> {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of connections) socket.destroy();
      });
    },
  };
}
