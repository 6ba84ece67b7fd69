import uWS, { type us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import WebSocket from 'ws';
import type { BrokerConfig } from '../../src/common/broker-config.js';
import type { Engine } from '../../src/engine/engine-api.js';
import { FrameReader, readFrameHeader } from '../../src/protocol/ws/binary-frame.js';
import { attachWebSocketRoute, type WebSocketRoute } from '../../src/server/ws-route.js';
import type { WsLimits } from '../../src/server/ws-session.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { MemoryEngine } from '../support/memory-engine.js';

/**
 * The WebSocket route alone on a uWS app at 127.0.0.1:<ephemeral>, over an
 * in-memory engine and a real group coordinator, with the route itself at
 * hand (its buffered bytes), plus a plain `ws` peer for binary frames.
 */
export interface WsFixture {
  engine: Engine;
  route: WebSocketRoute;
  config: BrokerConfig;
  url: string;
  close(): Promise<void>;
}

export async function startWsFixture(
  overrides: Partial<BrokerConfig> = {},
  limits: Partial<WsLimits> = {},
  engine: Engine = new MemoryEngine(),
): Promise<WsFixture> {
  const deps = await testFrontDoorDeps(engine, overrides);
  const { config, groups } = deps;
  const app = uWS.App();
  const route = attachWebSocketRoute(app, deps, limits);
  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (socket) =>
      socket === false ? reject(new Error('cannot listen')) : resolve(socket),
    );
  });
  const port = uWS.us_socket_local_port(listenSocket);
  return {
    engine,
    route,
    config,
    url: `ws://127.0.0.1:${port}/ws`,
    async close() {
      uWS.us_listen_socket_close(listenSocket);
      route.close();
      await groups.close();
    },
  };
}

export interface BinaryMessage {
  op: number;
  id: number;
  reader: FrameReader;
  bytes: Uint8Array;
}

/** A plain `ws` client speaking binary frames, with a bounded wait for each answer. */
export class BinaryPeer {
  private readonly inbox: BinaryMessage[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
        const { op, id } = readFrameHeader(bytes);
        this.inbox.push({ op, id, reader: new FrameReader(bytes, id), bytes });
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async open(url: string): Promise<BinaryPeer> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new BinaryPeer(socket);
  }

  send(frame: Uint8Array, id?: number): void {
    if (id !== undefined) new DataView(frame.buffer, frame.byteOffset).setUint32(4, id);
    this.socket.send(frame);
  }

  /** The first message matching `match`, waiting up to `timeoutMs`. */
  async receive(match: (message: BinaryMessage) => boolean, timeoutMs = 5000): Promise<BinaryMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex(match);
      if (index >= 0) return this.inbox.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no matching message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  reply(id: number): Promise<BinaryMessage> {
    return this.receive((m) => m.id === id);
  }

  close(): void {
    this.socket.terminate();
  }
}
