import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type SuiteRow, suiteRow, writeSuiteResults } from '../../bench/support/suite-results.js';
import { openLoop } from '../../src/cli/bench/open-loop.js';
import { startBrokerProcess } from '../broker-process.js';
import { startAckServer } from '../raw-baselines.js';
import { natsClient, type PeerClient, pyralogClient, redisClient } from './peer-clients.js';
import { natsVersion, startNats, startRedis } from './peer-servers.js';

/**
 * `pyralog bench peers` / `npm run bench:peers`: the same scenarios against
 * Pyralog, NATS JetStream and Redis Streams on this machine in one run, each
 * server started here on 127.0.0.1 with a temporary data directory:
 *
 * - max produce throughput: 1 KiB records, 32 sends of 16 records in flight;
 * - latency at 5,000 and 20,000 records/s of 1 KiB, one record per send, open
 *   loop (measured from each send's scheduled time);
 * - baselines from the same run: raw loopback TCP request/response of 1 KiB
 *   frames at the same rates, and raw sequential disk write.
 *
 * Durability is matched like for like: "interval" = Pyralog --fsync 1000 with
 * acks=1 vs Redis appendfsync everysec vs NATS JetStream file storage with
 * sync_interval 1s; "every ack" = Pyralog --fsync always with acks=-1 vs Redis
 * appendfsync always vs JetStream with sync_interval always: 8 latency
 * comparisons (2 durabilities x 2 peers x 2 rates). A nats-server older than
 * 2.10 (Debian 12 ships 2.9.10) has no sync_interval and syncs on its own
 * schedule: its rows say so, are measured once at that schedule, and are not
 * counted as comparisons.
 */
interface Row {
  system: string;
  durability: string;
  throughput: number;
  latency: Map<number, Latency>;
}

interface Latency {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

const RECORD_BYTES = 1024;
/** The label of a NATS row measured at the server's own sync schedule (a nats-server without sync_interval). */
const UNMATCHED_NATS_DURABILITY = 'interval (server default: NOT matched)';
const RATES = [5000, 20_000];
/**
 * Seconds of load sent before the recorded window of each latency run, for every system and the raw TCP
 * baseline alike: the first requests pay for JIT compilation in the generator and the server. 6 s, as
 * in the Kafka suite's steady-state rows; a fresh broker's first seconds are issue 18's warm-start row there.
 */
const LATENCY_WARMUP_SECONDS = 6;

async function closedLoop(client: PeerClient, seconds: number): Promise<number> {
  let records = 0;
  const endMs = performance.now() + seconds * 1000;
  const startMs = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < endMs) {
        await client.send(16);
        records += 16;
      }
    }),
  );
  return records / ((performance.now() - startMs) / 1000);
}

async function measure(client: PeerClient, durability: string, seconds: number): Promise<Row> {
  // Latency first: run after the closed-loop flood, it measured each system flushing that flood's backlog
  // (hundreds of MB for Pyralog and Redis, little for JetStream) instead of its steady state at the rate.
  const latency = new Map<number, Latency>();
  for (const rate of RATES)
    latency.set(rate, await openLoop(() => client.send(1), rate, seconds, LATENCY_WARMUP_SECONDS));
  const throughput = await closedLoop(client, seconds);
  await client.close();
  return { system: client.name, durability, throughput, latency };
}

async function rawTcpLatency(rate: number, seconds: number): Promise<Latency> {
  const server = await startAckServer();
  const { connect } = await import('node:net');
  const socket = connect(server.port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const waiting: (() => void)[] = [];
  let pending = 0;
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.length;
    while (pending >= 8) {
      pending -= 8;
      waiting.shift()?.();
    }
  });
  const frame = Buffer.alloc(4 + RECORD_BYTES, 1);
  frame.writeInt32BE(RECORD_BYTES, 0);
  const latency = await openLoop(
    () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        socket.write(frame);
      }),
    rate,
    seconds,
    LATENCY_WARMUP_SECONDS,
  );
  socket.destroy();
  await server.stop();
  return latency;
}

async function rawDiskWriteMbPerSecond(dir: string, seconds: number): Promise<number> {
  const { openSync, writeSync, closeSync, fsyncSync } = await import('node:fs');
  const fd = openSync(join(dir, 'raw-write.bin'), 'w');
  const chunk = new Uint8Array(1024 * 1024).fill(2);
  let written = 0;
  const startMs = performance.now();
  while (performance.now() - startMs < seconds * 1000)
    written += writeSync(fd, chunk, 0, chunk.length, written);
  fsyncSync(fd);
  const elapsedS = (performance.now() - startMs) / 1000;
  closeSync(fd);
  return written / elapsedS / 1e6;
}

const format = (us: number): string =>
  us >= 10_000 ? `${(us / 1000).toFixed(0)} ms` : us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${us} µs`;

export async function runPeers(seconds: number, log: (line: string) => void = console.log): Promise<Row[]> {
  const root = join(process.cwd(), 'bench', 'out');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, 'peers-'));
  const rows: Row[] = [];
  try {
    log('measuring baselines…');
    const tcp = new Map<number, Latency>();
    for (const rate of RATES) tcp.set(rate, await rawTcpLatency(rate, seconds));
    const diskMb = await rawDiskWriteMbPerSecond(dir, Math.min(seconds, 3));
    for (const [durability, fsync, acks] of [
      ['interval (1 s)', '1000', 1],
      ['every ack', 'always', -1],
    ] as const) {
      log(`pyralog, ${durability}…`);
      const broker = await startBrokerProcess(['--data', join(dir, `pyralog-${fsync}`), '--fsync', fsync]);
      await fetch(`http://127.0.0.1:${broker.httpPort}/topics`, {
        method: 'POST',
        body: JSON.stringify({ name: 'peers', partitions: 8 }),
      });
      rows.push(
        await measure(await pyralogClient(broker.kafkaPort, RECORD_BYTES, acks, 8), durability, seconds),
      );
      await broker.stop();
    }
    for (const [durability, appendfsync] of [
      ['interval (1 s)', 'everysec'],
      ['every ack', 'always'],
    ] as const) {
      log(`redis, ${durability}…`);
      const redisDir = join(dir, `redis-${appendfsync}`);
      mkdirSync(redisDir);
      const redis = await startRedis(redisDir, appendfsync);
      rows.push(await measure(await redisClient(redis.port, RECORD_BYTES), durability, seconds));
      await redis.stop();
    }
    // JetStream's file store syncs on its own schedule unless the server takes sync_interval (2.10+): matched
    // like for like where it does; where it does not, measured once at its default and labelled unmatched.
    const natsUnmatched: string[] = [];
    for (const [durability, syncInterval] of [
      ['interval (1 s)', '1s'],
      ['every ack', 'always'],
    ] as const) {
      log(`nats jetstream, ${durability}…`);
      const natsDir = join(dir, `nats-${syncInterval}`);
      mkdirSync(natsDir);
      const natsServer = await startNats(natsDir, syncInterval);
      if (natsServer === null) {
        natsUnmatched.push(durability);
        continue;
      }
      rows.push(await measure(await natsClient(natsServer.port, RECORD_BYTES), durability, seconds));
      await natsServer.stop();
    }
    if (natsUnmatched.includes('interval (1 s)')) {
      log('nats jetstream, its own sync schedule…');
      const natsDir = join(dir, 'nats-default');
      mkdirSync(natsDir);
      const natsServer = (await startNats(natsDir))!;
      rows.push(
        await measure(await natsClient(natsServer.port, RECORD_BYTES), UNMATCHED_NATS_DURABILITY, seconds),
      );
      await natsServer.stop();
    }

    const header = [
      'system',
      'durability',
      'max records/s',
      ...RATES.flatMap((r) => [
        `p50 @${r / 1000}k`,
        `p99 @${r / 1000}k`,
        `p99.9 @${r / 1000}k`,
        `max @${r / 1000}k`,
      ]),
    ];
    const table = [header];
    table.push([
      'raw loopback TCP',
      '-',
      '-',
      ...RATES.flatMap((r) => {
        const l = tcp.get(r)!;
        return [format(l.p50), format(l.p99), format(l.p999), format(l.max)];
      }),
    ]);
    for (const row of rows) {
      table.push([
        row.system,
        row.durability,
        row.throughput.toFixed(0),
        ...RATES.flatMap((r) => {
          const l = row.latency.get(r)!;
          return [format(l.p50), format(l.p99), format(l.p999), format(l.max)];
        }),
      ]);
    }
    const widths = header.map((_, c) => Math.max(...table.map((line) => (line[c] ?? '').length)));
    log('');
    for (const line of table) log(line.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
    log(`raw sequential disk write: ${diskMb.toFixed(0)} MB/s; records are ${RECORD_BYTES} B`);
    log(
      'durability: "interval" = Pyralog --fsync 1000, acks=1 | Redis appendfsync everysec | NATS JetStream file store, sync_interval 1s;',
    );
    log(
      '            "every ack" = Pyralog --fsync always, acks=-1 | Redis appendfsync always | NATS JetStream file store, sync_interval always',
    );
    for (const durability of natsUnmatched) {
      log(
        `NATS JetStream "${durability}" not measured: ${natsVersion().replace('nats-server: ', 'nats-server ')} has no sync_interval (nats-server 2.10+, first on PATH, matches it), so no setting matches it` +
          (durability === 'interval (1 s)'
            ? `; it ran at its own sync schedule instead ("${UNMATCHED_NATS_DURABILITY}"), and those comparisons do not count`
            : ''),
      );
    }
    const find = (system: string, durability: string) =>
      rows.find((r) => r.system === system && r.durability.startsWith(durability));
    const pyralogInterval = find('pyralog', 'interval')!;
    const nats = find('nats-jetstream', 'interval')!;
    const redisInterval = find('redis', 'interval')!;
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    log('');
    log(
      `target: max throughput >= 1.5x NATS JetStream: ${(pyralogInterval.throughput / nats.throughput).toFixed(2)}x — ${verdict(pyralogInterval.throughput >= 1.5 * nats.throughput)}`,
    );
    log(
      `target: max throughput >= 1x Redis Streams (everysec): ${(pyralogInterval.throughput / redisInterval.throughput).toFixed(2)}x — ${verdict(pyralogInterval.throughput >= redisInterval.throughput)}`,
    );
    // Two durabilities x two peers x two rates: 8 latency comparisons, each with the same durability on both sides.
    // Each also goes to bench/out/peers.json as two rows (p99, p99.9: ours against the peer's, target <= 1).
    const comparisons: SuiteRow[] = [];
    let matched = 0;
    for (const durability of ['interval', 'every ack']) {
      const ours = find('pyralog', durability)!;
      for (const peer of rows.filter((r) => r.system !== 'pyralog' && r.durability.startsWith(durability))) {
        const counts = peer.durability !== UNMATCHED_NATS_DURABILITY;
        for (const rate of RATES) {
          const a = ours.latency.get(rate)!;
          const b = peer.latency.get(rate)!;
          if (counts) {
            matched++;
            const against = `at ${rate / 1000}k vs ${peer.system} (${peer.durability})`;
            comparisons.push(
              suiteRow(`p99 ${against}`, 'µs', b.p99, a.p99, '<= 1'),
              suiteRow(`p99.9 ${against}`, 'µs', b.p999, a.p999, '<= 1'),
            );
          }
          log(
            `${counts ? 'target' : 'not counted (durability not matched)'}: p99/p99.9 at ${rate / 1000}k vs ${peer.system} (${peer.durability}): ${format(a.p99)}/${format(a.p999)} vs ${format(b.p99)}/${format(b.p999)} — ${verdict(a.p99 <= b.p99 && a.p999 <= b.p999)}`,
          );
        }
      }
    }
    log(`latency comparisons with the same durability on both sides: ${matched} of ${2 * 2 * RATES.length}`);
    const file = writeSuiteResults('peers', comparisons, {
      seconds,
      comparisonsMatched: matched,
      comparisonsPossible: 2 * 2 * RATES.length,
    });
    log(`rows written to ${file}`);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
