import { createServer, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import type { FrontDoor, FrontDoorDeps } from '../protocol/front-door-deps.js';
import { MemoryBudget } from '../protocol/memory-budget.js';
import type { Principal } from '../security/principal.js';
import type { SaslListenerOptions } from '../security/sasl-authenticator.js';
import { KafkaConnection } from './kafka-connection.js';
import { principalOfClientCertificate, type TlsListener } from './tls-listener.js';

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

/**
 * How one listener secures its connections (--listeners): TLS (node:tls, so a plaintext listener's
 * sockets are plain net.Sockets and its path is untouched), SASL, both, or neither.
 */
export interface KafkaListenerSecurity {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsListener | null;
  readonly sasl: (SaslListenerOptions & { readonly handshakeTimeoutMs: number }) | null;
}

export async function startKafkaListener(
  deps: FrontDoorDeps,
  budget = new MemoryBudget(deps.config.memoryBudgetBytes),
  security: KafkaListenerSecurity | null = null,
): Promise<KafkaFrontDoor> {
  const logger = pino({ level: deps.config.logLevel }, pino.destination(2));
  const connections = new Set<KafkaConnection>();
  let connectionDeps = deps;
  const accept = (socket: Socket, principal: Principal | null): void => {
    const connection = new KafkaConnection(
      socket,
      connectionDeps,
      logger,
      budget,
      security?.sasl ?? null,
      principal,
    );
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  };
  const tls = security?.tls ?? null;
  const server: Server =
    tls === null
      ? createServer((socket) => accept(socket, null))
      : tls.createServer((socket: TLSSocket) => accept(socket, principalOfClientCertificate(socket)));
  const listenPort = security?.port ?? deps.config.kafkaPort;
  const listenHost = security?.host ?? deps.config.host;
  server.maxConnections = deps.config.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => {
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
  const port = typeof address === 'object' && address !== null ? address.port : listenPort;
  // A listener other than the first advertises its own port (each listener's clients reconnect to it).
  const advertiseBound =
    listenPort === 0 ||
    deps.config.advertisedPort === 0 ||
    deps.config.advertisedPort === listenPort ||
    (security !== null && listenPort !== deps.config.kafkaPort);
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
