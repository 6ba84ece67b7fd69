import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy for one 127.0.0.1 link (broker → etcd, broker → broker) that the
 * chaos checker can break on command. There is no tc or iptables here, so
 * every link the checker wants to cut goes through one of these.
 *
 * Modes:
 * - `pass`: bytes flow both ways, with backpressure (a slow reader pauses the writer).
 * - `blackhole`: connections are still accepted, and bytes are read and
 *   silently dropped in the chosen direction(s): what a peer behind a dead
 *   switch looks like to a sender that is not told.
 * - `stall`: nothing is read in either direction, so bytes wait in socket
 *   buffers and flow control pushes back on the senders: a short partition
 *   whose packets TCP will retransmit once it heals.
 * - `reset`: every connection is reset (RST), and so is every new one: a peer
 *   that died or a firewall that rejects.
 *
 * `heal()` returns to `pass`. A connection that lost bytes in a blackhole is
 * reset when the link heals, because a TCP stream with a hole in it cannot
 * exist: after a real partition that long, the connection would have timed
 * out. Connections that carried nothing during the fault, and stalled ones,
 * carry on.
 */
export type LinkMode = 'pass' | 'blackhole' | 'stall' | 'reset';

/** Which way a blackhole drops bytes: toward the target, back from it, or both. */
export type BlackholeDirection = 'both' | 'toTarget' | 'fromTarget';

export interface FaultProxyOptions {
  /** The address the proxy forwards to. */
  targetPort: number;
  targetHost?: string;
  /** Where the proxy listens; port 0 (the default) takes a free one. */
  listenPort?: number;
  listenHost?: string;
  /** A name for the link in status reports, e.g. "broker1->etcd2". */
  name?: string;
}

export interface LinkStatus {
  name: string;
  listenPort: number;
  targetHost: string;
  targetPort: number;
  mode: LinkMode;
  /** Which directions drop bytes; null unless the mode is `blackhole`. */
  direction: BlackholeDirection | null;
  connections: number;
  forwardedBytes: number;
  droppedBytes: number;
  /** Connections reset by the proxy (reset mode, or a healed blackhole that lost their bytes). */
  resetConnections: number;
}

/** One client connection and its upstream twin. */
interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes of this pair were dropped: its streams have a hole, so it must not outlive the fault. */
  lostBytes: boolean;
}

export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  private modeNow: LinkMode = 'pass';
  private directionNow: BlackholeDirection = 'both';
  private forwardedBytes = 0;
  private droppedBytes = 0;
  private resetConnections = 0;

  private listenPort = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: Required<FaultProxyOptions>,
  ) {}

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    const resolved: Required<FaultProxyOptions> = {
      targetHost: '127.0.0.1',
      listenPort: 0,
      listenHost: '127.0.0.1',
      name: `proxy->${options.targetPort}`,
      ...options,
    };
    const proxy = new FaultProxy(server, resolved);
    server.on('connection', (client) => proxy.accept(client));
    server.listen(resolved.listenPort, resolved.listenHost);
    await once(server, 'listening');
    proxy.listenPort = (server.address() as AddressInfo).port;
    return proxy;
  }

  /** The port clients connect to instead of the target's. */
  get port(): number {
    return this.listenPort;
  }

  get mode(): LinkMode {
    return this.modeNow;
  }

  pass(): void {
    this.heal();
  }

  /** Drops bytes in `direction` from now on, on current and new connections alike. */
  blackhole(direction: BlackholeDirection = 'both'): void {
    this.leaveStall();
    this.modeNow = 'blackhole';
    this.directionNow = direction;
  }

  /** Stops reading both ways on current and new connections; bytes wait and flow again on heal. */
  stall(): void {
    this.modeNow = 'stall';
    for (const pair of this.pairs) {
      pair.client.pause();
      pair.upstream.pause();
    }
  }

  /** Resets every connection now, and every new one until the link heals. */
  reset(): void {
    this.leaveStall();
    this.modeNow = 'reset';
    for (const pair of [...this.pairs]) this.resetPair(pair);
  }

  /** Back to `pass`. Connections that lost bytes in a blackhole are reset; stalled ones resume. */
  heal(): void {
    this.leaveStall();
    this.modeNow = 'pass';
    this.directionNow = 'both';
    for (const pair of [...this.pairs]) if (pair.lostBytes) this.resetPair(pair);
  }

  status(): LinkStatus {
    return {
      name: this.options.name,
      listenPort: this.port,
      targetHost: this.options.targetHost,
      targetPort: this.options.targetPort,
      mode: this.modeNow,
      direction: this.modeNow === 'blackhole' ? this.directionNow : null,
      connections: this.pairs.size,
      forwardedBytes: this.forwardedBytes,
      droppedBytes: this.droppedBytes,
      resetConnections: this.resetConnections,
    };
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const pair of [...this.pairs]) this.destroyPair(pair);
    await closed;
  }

  private accept(client: Socket): void {
    if (this.modeNow === 'reset') {
      client.on('error', ignoreError);
      this.resetConnections++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({
      host: this.options.targetHost,
      port: this.options.targetPort,
      allowHalfOpen: true,
      noDelay: true,
    });
    const pair: Pair = { client, upstream, lostBytes: false };
    this.pairs.add(pair);
    // Bytes the client sends before the upstream connects are buffered by the upstream socket itself.
    this.forward(pair, client, upstream, 'toTarget');
    this.forward(pair, upstream, client, 'fromTarget');
    // A target that refuses or drops the connection takes the client's down with it: reset, as a refused
    // connection would be, so the client learns at once rather than after its own timeout.
    upstream.on('error', () => this.resetPair(pair));
    client.on('error', () => this.resetPair(pair));
    client.on('close', () => this.destroyPair(pair));
    upstream.on('close', () => this.destroyPair(pair));
    if (this.modeNow === 'stall') {
      client.pause();
      upstream.pause();
    }
  }

  private forward(pair: Pair, from: Socket, to: Socket, direction: 'toTarget' | 'fromTarget'): void {
    from.on('data', (chunk: Buffer) => {
      if (this.drops(direction)) {
        this.droppedBytes += chunk.length;
        pair.lostBytes = true;
        return;
      }
      this.forwardedBytes += chunk.length;
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (this.modeNow !== 'stall') from.resume();
    });
    // A half close passes through, unless the direction is blackholed: a FIN is bytes on the wire too.
    from.on('end', () => {
      if (this.drops(direction)) pair.lostBytes = true;
      else to.end();
    });
  }

  private drops(direction: 'toTarget' | 'fromTarget'): boolean {
    return this.modeNow === 'blackhole' && (this.directionNow === 'both' || this.directionNow === direction);
  }

  private leaveStall(): void {
    if (this.modeNow !== 'stall') return;
    for (const pair of this.pairs) {
      pair.client.resume();
      pair.upstream.resume();
    }
  }

  private resetPair(pair: Pair): void {
    if (!this.pairs.has(pair)) return;
    this.resetConnections++;
    this.pairs.delete(pair);
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    if (!pair.upstream.destroyed) pair.upstream.resetAndDestroy();
  }

  private destroyPair(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}

/** For sockets being reset: their ECONNRESET is the point, not a failure. */
function ignoreError(): void {}
