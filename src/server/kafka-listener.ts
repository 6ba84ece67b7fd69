import { createServer, type Server } from 'node:net';
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
  /**
   * Graceful stop, first half: accept no connection and read no request more. Requests in
   * progress go on; `close(drainTimeoutMs)` then waits for their answers.
   */
  stopAccepting(): void;
  /** Waits up to `drainTimeoutMs` for every request in progress to be answered, then closes. */
  close(drainTimeoutMs?: number): Promise<void>;
}

export async function startKafkaListener(
  deps: FrontDoorDeps,
  budget = new MemoryBudget(deps.config.memoryBudgetBytes),
): Promise<KafkaFrontDoor> {
  const logger = pino({ level: deps.config.logLevel }, pino.destination(2));
  const connections = new Set<KafkaConnection>();
  let connectionDeps = deps;
  const server: Server = createServer((socket) => {
    const connection = new KafkaConnection(socket, connectionDeps, logger, budget);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  server.maxConnections = deps.config.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.kafkaPort, deps.config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let serverClosed: Promise<void> | null = null;
  const stopAccepting = (): void => {
    serverClosed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of connections) void connection.drain();
  };
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
    stopAccepting,
    async close(drainTimeoutMs = 0): Promise<void> {
      stopAccepting();
      if (drainTimeoutMs > 0 && connections.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([...connections].map((connection) => connection.drain())),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, drainTimeoutMs);
          }),
        ]);
        clearTimeout(timer);
      }
      for (const connection of connections) connection.close('broker stopping');
      await serverClosed;
    },
  };
}
