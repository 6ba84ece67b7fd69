import { describe, expect, it } from 'vitest';
import { BrokerLease } from '../../src/cluster/broker-lease.js';
import type { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';

/** An etcd stand-in for the lease calls: grants what is asked, and answers renewals as scripted. */
function fakeClient(options: { grantedTtlSeconds?: number; renew?: () => Promise<number> } = {}): EtcdClient {
  return {
    leaseGrant: async (ttlSeconds: number) => ({
      id: '42',
      ttlSeconds: options.grantedTtlSeconds ?? ttlSeconds,
    }),
    leaseKeepAlive: options.renew ?? (async () => 6),
    leaseRevoke: async () => {},
  } as unknown as EtcdClient;
}

describe('broker lease fencing on the broker’s own clock', () => {
  it('given no renewal since the grant was sent, should fence a margin before the earliest possible expiry', async () => {
    let nowMs = 1000;
    const lease = await BrokerLease.grant(fakeClient(), {
      ttlMs: 6000,
      fenceMarginMs: 2000,
      now: () => nowMs,
    });
    expect(lease.fenceAtMs()).toBe(1000 + 6000 - 2000);
    expect(lease.validAt(4999)).toBe(true);
    expect(lease.validAt(5000)).toBe(false);
    nowMs = 5000;
    expect(lease.valid()).toBe(false);
  });

  it('given etcd granted a longer TTL than asked, should still fence by the one asked for', async () => {
    const lease = await BrokerLease.grant(fakeClient({ grantedTtlSeconds: 10 }), {
      ttlMs: 2000,
      fenceMarginMs: 500,
      now: () => 0,
    });
    expect(lease.ttlMs).toBe(2000);
    expect(lease.fenceAtMs()).toBe(1500);
  });

  it('given a renewal that succeeds, should count from when it was sent, not when it was answered', async () => {
    let nowMs = 0;
    let answer: (ttl: number) => void = () => {};
    const lease = await BrokerLease.grant(
      fakeClient({
        renew: () =>
          new Promise<number>((resolve) => {
            answer = resolve;
          }),
      }),
      { ttlMs: 3000, renewIntervalMs: 10, fenceMarginMs: 1000, now: () => nowMs },
    );
    lease.keepAlive({ onEnd: () => {} });
    nowMs = 900;
    await new Promise((resolve) => setTimeout(resolve, 30)); // the renewal is sent at 900
    nowMs = 2500; // answered late
    answer(3);
    await new Promise((resolve) => setTimeout(resolve, 0));
    lease.stop();
    // Valid until 900 + 3000 - 1000, not 2500 + 2000.
    expect(lease.validAt(2899)).toBe(false); // stopped: never valid again
    expect(lease.fenceAtMs()).toBe(2900);
  });

  it('given renewals that fail, should fence itself while still holding the lease, and report each failure', async () => {
    let nowMs = 0;
    const failures: unknown[] = [];
    const lease = await BrokerLease.grant(
      fakeClient({ renew: () => Promise.reject(new Error('etcd unreachable')) }),
      { ttlMs: 3000, renewIntervalMs: 5, fenceMarginMs: 1000, now: () => nowMs },
    );
    lease.keepAlive({ onEnd: () => {}, onRenewFailed: (error) => failures.push(error) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failures.length).toBeGreaterThan(1);
    nowMs = 1999;
    expect(lease.valid()).toBe(true);
    nowMs = 2000;
    expect(lease.valid()).toBe(false);
    lease.stop();
  });

  it('given a failure handler that throws, should keep renewing (once each interval) without an unhandled rejection', async () => {
    let renewals = 0;
    const lease = await BrokerLease.grant(
      fakeClient({
        renew: () => {
          renewals++;
          return Promise.reject(new Error('etcd unreachable'));
        },
      }),
      { ttlMs: 3000, renewIntervalMs: 5, fenceMarginMs: 1000, now: () => 0 },
    );
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    lease.keepAlive({
      onEnd: () => {},
      onRenewFailed: () => {
        throw new Error('a logger that throws');
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    lease.stop();
    process.off('warning', onWarning);
    expect(renewals).toBeGreaterThan(2);
    // One loop, not one more per throw: at most one renewal per 5 ms interval.
    expect(renewals).toBeLessThanOrEqual(13);
    expect(warnings.some((message) => message.includes('a logger that throws'))).toBe(true);
  });

  it('given etcd answers that the lease is gone, should end it at once', async () => {
    const ends: string[] = [];
    const lease = await BrokerLease.grant(fakeClient({ renew: async () => 0 }), {
      ttlMs: 6000,
      renewIntervalMs: 5,
      now: () => 0,
    });
    lease.keepAlive({ onEnd: (end) => ends.push(end) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ends).toEqual(['expired']);
    expect(lease.valid()).toBe(false);
    lease.stop();
  });
});
