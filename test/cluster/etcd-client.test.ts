import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, EtcdError } from '../../src/cluster/etcd/etcd-client.js';
import { type WatchEvent, watchPrefix } from '../../src/cluster/etcd/etcd-watch.js';
import { type EtcdCluster, etcdAvailable, startEtcd, waitForQuorum } from '../support/etcd.js';

/** Polls `check` every 50 ms until it holds, for at most `timeoutMs`. */
async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

describe.skipIf(!etcdAvailable)('etcd client against a real etcd 3.4 (one member)', () => {
  let etcd: EtcdCluster;
  let client: EtcdClient;

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new EtcdClient({ endpoints: etcd.endpoints });
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('given keys under a prefix, when ranged by prefix, should return exactly those keys with their revisions', async () => {
    const first = await client.put('/t/range/a', 'one');
    await client.put('/t/range/b', 'two');
    await client.put('/t/rangeX', 'outside');
    const result = await client.range('/t/range/', { prefix: true });
    expect(result.kvs.map((kv) => [kv.key, kv.value])).toEqual([
      ['/t/range/a', 'one'],
      ['/t/range/b', 'two'],
    ]);
    expect(result.kvs[0]!.createRevision).toBe(first);
    expect(result.revision).toBeGreaterThan(first);
    expect(await client.get('/t/range/missing')).toBeUndefined();
  });

  it('given two writers that read the same mod revision, when both CAS, should let exactly one win', async () => {
    await client.put('/t/cas', 'v0');
    const read = (await client.get('/t/cas'))!;
    const attempts = await Promise.all(
      ['writer-a', 'writer-b'].map((value) =>
        client.txn(
          [{ key: '/t/cas', target: 'mod', revision: read.modRevision }],
          [{ put: { key: '/t/cas', value } }],
          [{ range: { key: '/t/cas' } }],
        ),
      ),
    );
    expect(attempts.filter((attempt) => attempt.succeeded)).toHaveLength(1);
    const loser = attempts.find((attempt) => !attempt.succeeded)!;
    const winner = attempts.indexOf(attempts.find((attempt) => attempt.succeeded)!);
    // The losing branch's range shows what won.
    expect(loser.ranges[0]![0]!.value).toBe(winner === 0 ? 'writer-a' : 'writer-b');
  });

  it('given a key that does not exist, when created with create revision 0 twice, should create it once', async () => {
    const create = () =>
      client.txn(
        [{ key: '/t/once', target: 'create', revision: 0 }],
        [{ put: { key: '/t/once', value: 'x' } }],
      );
    expect((await create()).succeeded).toBe(true);
    expect((await create()).succeeded).toBe(false);
  });

  it('given a key on a lease that is not renewed, should delete the key when the lease expires', async () => {
    const lease = await client.leaseGrant(2);
    expect(lease.ttlSeconds).toBeGreaterThanOrEqual(2);
    await client.put('/t/leased', 'alive', lease.id);
    expect(await client.leaseKeepAlive(lease.id)).toBeGreaterThanOrEqual(2);
    expect((await client.get('/t/leased'))?.lease).toBe(lease.id);
    await eventually(
      async () => (await client.get('/t/leased')) === undefined,
      8000,
      'the leased key expires',
    );
    expect(await client.leaseKeepAlive(lease.id)).toBe(0);
  });

  it('given a lease renewed every 500 ms, should keep its key past the TTL', async () => {
    const lease = await client.leaseGrant(2);
    await client.put('/t/renewed', 'alive', lease.id);
    for (let renewal = 0; renewal < 7; renewal++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await client.leaseKeepAlive(lease.id)).toBeGreaterThan(0);
    }
    expect((await client.get('/t/renewed'))?.value).toBe('alive');
    await client.leaseRevoke(lease.id);
    expect(await client.get('/t/renewed')).toBeUndefined();
    await client.leaseRevoke(lease.id); // already gone: no error
  });

  it('given a put on a lease that does not exist, should reject with a clear error', async () => {
    const failure = await client.put('/t/nolease', 'x', '12345').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EtcdError);
    expect((failure as EtcdError).kind).toBe('rejected');
    expect((failure as EtcdError).message).toMatch(/lease not found/);
  });

  it('given a watch on a prefix, should deliver puts and deletes in order and nothing outside the prefix', async () => {
    const start = (await client.range('/t/w/')).revision + 1;
    const seen: WatchEvent[] = [];
    const watch = watchPrefix(client, '/t/w/', start, {
      onEvents: (events) => seen.push(...events),
      onCompacted: () => {},
      onBroken: () => {},
    });
    await watch.created;
    await client.put('/t/w/a', '1');
    await client.put('/t/wX', 'outside');
    await client.put('/t/w/a', '2');
    await client.delete('/t/w/a');
    await eventually(() => seen.length >= 3, 5000, 'three events');
    watch.cancel();
    expect(seen.map((event) => [event.type, event.kv.key, event.kv.value])).toEqual([
      ['put', '/t/w/a', '1'],
      ['put', '/t/w/a', '2'],
      ['delete', '/t/w/a', ''],
    ]);
    expect(seen[1]!.kv.modRevision).toBeGreaterThan(seen[0]!.kv.modRevision);
  });

  it('given a start revision etcd has compacted away, should report the compaction instead of events', async () => {
    const old = await client.put('/t/c/a', '1');
    const latest = await client.put('/t/c/a', '2');
    await client.compact(latest);
    let compactedAt = -1;
    const watch = watchPrefix(client, '/t/c/', old, {
      onEvents: () => {},
      onCompacted: (revision) => {
        compactedAt = revision;
      },
      onBroken: () => {},
    });
    await eventually(() => compactedAt >= 0, 5000, 'the compaction notice');
    watch.cancel();
    expect(compactedAt).toBe(latest);
  });

  it('given an endpoint that refuses, should answer from the next one', async () => {
    const withDead = new EtcdClient({ endpoints: ['http://127.0.0.1:1', etcd.endpoints[0]!] });
    await withDead.put('/t/failover', 'x');
    expect((await withDead.get('/t/failover'))?.value).toBe('x');
  });

  it('given etcd restarts, should break the watch, fail requests meanwhile, and work again after', async () => {
    const member = etcd.members[0]!;
    let broken = '';
    const watch = watchPrefix(client, '/t/r/', (await client.range('/t/r/')).revision + 1, {
      onEvents: () => {},
      onCompacted: () => {},
      onBroken: (reason) => {
        broken = reason;
      },
    });
    await watch.created;
    await member.kill('SIGKILL');
    await eventually(() => broken !== '', 5000, 'the watch reports it broke');
    const failure = await client.get('/t/r/x').catch((error: unknown) => error);
    expect((failure as EtcdError).kind).toBe('unavailable');
    await member.restart();
    await waitForQuorum(member.clientUrl);
    await client.put('/t/r/x', 'after');
    expect((await client.get('/t/r/x'))?.value).toBe('after');
  });
});

describe.skipIf(!etcdAvailable)('etcd client against three members losing quorum', () => {
  let etcd: EtcdCluster;

  beforeAll(async () => {
    etcd = await startEtcd({ members: 3 });
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('given two of three members down, should stop writes, keep serializable reads, and write again after healing', async () => {
    const survivor = etcd.members[0]!;
    const client = new EtcdClient({ endpoints: [survivor.clientUrl], requestTimeoutMs: 1500 });
    await client.put('/t/q', 'before');
    await eventually(
      async () => (await client.range('/t/q', { serializable: true })).kvs[0]?.value === 'before',
      5000,
      'the survivor has the write',
    );
    await etcd.members[1]!.kill('SIGKILL');
    await etcd.members[2]!.kill('SIGKILL');

    const write = await client.put('/t/q', 'during').catch((error: unknown) => error);
    expect(write).toBeInstanceOf(EtcdError);
    expect(['outcomeUnknown', 'rejected']).toContain((write as EtcdError).kind);
    const read = await client.range('/t/q', { serializable: true });
    expect(read.kvs[0]?.value).toBe('before');

    await etcd.members[1]!.restart();
    await etcd.members[2]!.restart();
    await waitForQuorum(survivor.clientUrl);
    await client.put('/t/q', 'after');
    expect((await client.get('/t/q'))?.value).toBe('after');
  });
});
