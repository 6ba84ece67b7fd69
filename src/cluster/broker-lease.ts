import type { EtcdClient } from './etcd/etcd-client.js';

/**
 * A broker's etcd lease, renewed by single keep-alive requests, and the
 * broker's own clock of when it must consider itself fenced.
 *
 * The lease cannot expire in etcd before (time a successful renewal was sent)
 * + TTL: etcd restarts the countdown when it receives the renewal, which is
 * after it was sent. So the broker stops acting as leader at that moment minus
 * a margin, whatever etcd or the network say or fail to say
 * (docs/cluster.md, Leases and fencing). Times are from `performance.now()`
 * (monotonic), never the wall clock.
 */

export interface BrokerLeaseOptions {
  ttlMs: number;
  /** Renewal period; a third of the TTL by default. */
  renewIntervalMs?: number;
  /** How long before the earliest possible expiry the broker fences itself; a third of the TTL by default. */
  fenceMarginMs?: number;
  now?: () => number;
}

export type LeaseEnd = 'expired' | 'stopped';

export class BrokerLease {
  /** When the last successful renewal (or the grant) was sent. */
  private renewedSentMs: number;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private ended = false;
  private readonly renewIntervalMs: number;
  private readonly fenceMarginMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly client: EtcdClient,
    readonly id: string,
    readonly ttlMs: number,
    sentMs: number,
    options: BrokerLeaseOptions,
  ) {
    this.renewedSentMs = sentMs;
    this.renewIntervalMs = options.renewIntervalMs ?? Math.max(100, Math.floor(ttlMs / 3));
    this.fenceMarginMs = options.fenceMarginMs ?? Math.floor(ttlMs / 3);
    this.now = options.now ?? (() => performance.now());
  }

  static async grant(client: EtcdClient, options: BrokerLeaseOptions): Promise<BrokerLease> {
    const now = options.now ?? (() => performance.now());
    const sentMs = now();
    const granted = await client.leaseGrant(Math.max(1, Math.ceil(options.ttlMs / 1000)));
    // etcd may raise the TTL to its minimum, never lower it; fencing uses what we asked for, the shorter.
    return new BrokerLease(
      client,
      granted.id,
      Math.min(options.ttlMs, granted.ttlSeconds * 1000),
      sentMs,
      options,
    );
  }

  /** Whether this broker may still act on the lease at `nowMs` (false: fenced). */
  validAt(nowMs: number): boolean {
    return !this.ended && nowMs < this.renewedSentMs + this.ttlMs - this.fenceMarginMs;
  }

  valid(): boolean {
    return this.validAt(this.now());
  }

  /** When the broker fences itself unless a renewal succeeds before (on the `now` clock). */
  fenceAtMs(): number {
    return this.renewedSentMs + this.ttlMs - this.fenceMarginMs;
  }

  /**
   * Renews until stopped. `onEnd('expired')` once etcd answers that the lease is gone; `onRenewFailed` for each
   * renewal etcd did not answer (the lease may still be alive; `valid()` tells when to stop acting on it).
   */
  keepAlive(handlers: { onEnd(end: LeaseEnd): void; onRenewFailed?(error: unknown): void }): void {
    const renew = async (): Promise<void> => {
      const sentMs = this.now();
      let ttlSeconds: number;
      try {
        ttlSeconds = await this.client.leaseKeepAlive(this.id);
      } catch (error) {
        if (this.stopped) return;
        handlers.onRenewFailed?.(error);
        this.schedule(renew);
        return;
      }
      if (this.stopped) return;
      if (ttlSeconds <= 0) {
        this.ended = true;
        handlers.onEnd('expired');
        return;
      }
      this.renewedSentMs = Math.max(this.renewedSentMs, sentMs);
      this.schedule(renew);
    };
    this.schedule(renew);
  }

  private schedule(renew: () => Promise<void>): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      // renew catches etcd's failures itself; what is left is a handler that threw. Keep renewing (the
      // lease is still ours unless it ended), and let the process's warning channel say what threw.
      renew().catch((error: unknown) => {
        process.emitWarning(`lease renewal handler failed: ${String(error)}`);
        if (!this.ended) this.schedule(renew);
      });
    }, this.renewIntervalMs);
  }

  /** Stops renewing; the lease then expires in etcd within its TTL (a crash does the same). */
  stop(): void {
    this.stopped = true;
    this.ended = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** Stops renewing and revokes the lease, deleting every key on it at once (a clean shutdown). */
  async revoke(): Promise<void> {
    this.stop();
    await this.client.leaseRevoke(this.id);
  }
}
