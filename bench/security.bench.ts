import { execFileSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { LeanKafkaProducer } from '../src/cli/bench/lean-kafka-producer.js';
import { readThreadCpu, type ThreadCpu, threadCpuDelta, totalCpuNs } from '../src/common/thread-cpu.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import {
  type AclBinding,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
} from '../src/security/acl.js';
import { AclStore } from '../src/security/acl-store.js';
import { CredentialStore } from '../src/security/credential-store.js';
import { startBrokerProcess } from '../tools/broker-process.js';
import { numberFlag } from './support/flags.js';

/**
 * `npm run bench -- security`: what TLS and SASL cost, as ratios to plaintext in the same run,
 * against one broker process with four listeners (PLAINTEXT, SSL, SASL_SSL; fsync never):
 *
 * - produce throughput, 1 KiB records in 16 KiB batches, 4 connections × 8 in flight, acks=1,
 *   over PLAINTEXT (first and last), SSL and SASL_SSL (after authenticating: SASL costs nothing per request, so
 *   SSL and SASL_SSL should match);
 * - connection setup, one after another: TCP connect + ApiVersions (plaintext), TLS handshake +
 *   ApiVersions, and TLS + SASL PLAIN and TLS + SASL SCRAM-SHA-512 (4096 iterations, both sides
 *   derive the key: the dominant cost, by design).
 *
 * Throughput runs alternate the listeners within each round (PLAINTEXT, SSL, SASL_SSL, in an
 * order that rotates from round to round) with the topic deleted and created again before each
 * run, so every run starts from an empty log; each round's ratios are to that round's plaintext
 * run, and the summary is the median over rounds. The same is done for the ACL check: plaintext
 * produce with no ACL stored (checks skipped) against one with ACLs stored (every produce
 * checks Write on its topic), alternating per round. Because throughput ratios of a few percent
 * drown in a loaded machine's noise, each run also reads the broker's CPU time per thread from
 * /proc over the measured window and reports CPU per acknowledged produce request: the acceptor
 * thread's (where ACL checks and TLS run) and the whole process's. CPU time hardly depends on what
 * else runs, so the ACL on/off ratio of CPU per request is the figure to compare.
 *
 * Certificates are made with openssl into a temp dir. Flags: --seconds=N (default 4),
 * --rounds=N (default 3).
 */
const CONNECTIONS = 4;
const PARTITIONS = 8;
const IN_FLIGHT = 8;
const SETUPS = 40;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=bench-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  ]);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    'server.crt',
    '-extfile',
    'server.ext',
  ]);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/** A request frame (header v1, client id "bench") around `body`. */
function frame(apiKey: number, version: number, correlationId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(2 + 2 + 4 + 2 + 5);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(5, 8);
  header.write('bench', 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

/** Sends one frame and resolves with the response body (after the correlation id). */
function roundTrip(socket: Socket, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        socket.off('data', onData);
        resolve(received.subarray(8, 4 + received.readInt32BE(0)));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(bytes);
  });
}

const stringField = (text: string): Buffer => {
  const out = Buffer.alloc(2 + Buffer.byteLength(text));
  out.writeInt16BE(Buffer.byteLength(text));
  out.write(text, 2);
  return out;
};
const bytesField = (bytes: Buffer): Buffer => {
  const size = Buffer.alloc(4);
  size.writeInt32BE(bytes.length);
  return Buffer.concat([size, bytes]);
};
/** SaslAuthenticate v0's answer: error code, error message, auth bytes. */
function authBytesOf(body: Buffer): Buffer {
  if (body.readInt16BE(0) !== 0) throw new Error(`authentication failed (${body.readInt16BE(0)})`);
  const messageBytes = body.readInt16BE(2);
  const at = 4 + Math.max(0, messageBytes);
  return body.subarray(at + 4, at + 4 + body.readInt32BE(at));
}

async function authenticate(
  socket: Socket,
  mechanism: 'PLAIN' | 'SCRAM-SHA-512',
  user: string,
  password: string,
): Promise<void> {
  await roundTrip(socket, frame(17, 1, 1, stringField(mechanism)));
  if (mechanism === 'PLAIN') {
    authBytesOf(
      await roundTrip(socket, frame(36, 0, 2, bytesField(Buffer.from(`\u0000${user}\u0000${password}`)))),
    );
    return;
  }
  const bare = `n=${user},r=${randomBytes(18).toString('base64')}`;
  const serverFirst = authBytesOf(
    await roundTrip(socket, frame(36, 0, 2, bytesField(Buffer.from(`n,,${bare}`)))),
  ).toString();
  const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), 64, 'sha512');
  const clientKey = createHmac('sha512', salted).update('Client Key').digest();
  const storedKey = createHash('sha512').update(clientKey).digest();
  const withoutProof = `c=biws,r=${attrs.r}`;
  const signature = createHmac('sha512', storedKey).update(`${bare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!)).toString('base64');
  authBytesOf(
    await roundTrip(socket, frame(36, 0, 3, bytesField(Buffer.from(`${withoutProof},p=${proof}`)))),
  );
}

type Door = 'PLAINTEXT' | 'SSL' | 'SASL_SSL/PLAIN' | 'SASL_SSL/SCRAM-SHA-512';

async function open(door: Door, ports: Record<string, number>, ca: string): Promise<Socket> {
  if (door === 'PLAINTEXT') {
    return new Promise((resolve, reject) => {
      const socket = netConnect(ports.PLAINTEXT!, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    });
  }
  const port = door === 'SSL' ? ports.SSL! : ports.SASL_SSL!;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = tlsConnect({ port, host: '127.0.0.1', ca: [execFileSync('cat', [ca])] }, () => resolve(s));
    s.once('error', reject);
  });
  if (door === 'SASL_SSL/PLAIN') await authenticate(socket, 'PLAIN', 'bench', 'bench-password');
  if (door === 'SASL_SSL/SCRAM-SHA-512')
    await authenticate(socket, 'SCRAM-SHA-512', 'bench', 'bench-password');
  return socket;
}

/** One throughput run: bytes per second, and the broker's CPU per acknowledged produce request. */
interface RunResult {
  bytesPerSecond: number;
  /** The acceptor (main) thread's CPU ns per request: framing, routing, TLS, ACL checks. */
  acceptorNsPerRequest: number;
  /** Every thread of the broker process, per request. */
  totalNsPerRequest: number;
}

async function throughput(
  door: Door,
  ports: Record<string, number>,
  ca: string,
  seconds: number,
  brokerPid: number,
): Promise<RunResult> {
  const batch = buildRecordBatch(
    Array.from({ length: 16 }, () => ({ key: null, value: new Uint8Array(1024) })),
  );
  const producers = await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => LeanKafkaProducer.over(await open(door, ports, ca))),
  );
  const warmupMs = 1500;
  const startMs = performance.now() + warmupMs;
  const endMs = startMs + seconds * 1000;
  let acknowledged = 0;
  let cpuBefore: ThreadCpu[] = [];
  let answeredBefore = 0;
  let answered = 0;
  const snapshot = setTimeout(() => {
    cpuBefore = readThreadCpu(brokerPid);
    answeredBefore = answered;
  }, warmupMs);
  await Promise.all(
    producers.flatMap((producer, c) =>
      Array.from({ length: IN_FLIGHT }, async (_, slot) => {
        const requests = Array.from({ length: PARTITIONS }, (_, p) =>
          producer.prepare('bench', [p], batch, 1),
        );
        let partition = (c * IN_FLIGHT + slot) % PARTITIONS;
        while (performance.now() < endMs) {
          const ack = await producer.send(requests[partition]!);
          if (ack.errorCode !== 0) throw new Error(`produce error ${ack.errorCode} over ${door}`);
          answered++;
          if (performance.now() >= startMs) acknowledged++;
          partition = (partition + 1) % PARTITIONS;
        }
      }),
    ),
  );
  clearTimeout(snapshot);
  const cpu = threadCpuDelta(cpuBefore, readThreadCpu(brokerPid));
  const measured = Math.max(1, answered - answeredBefore);
  for (const producer of producers) producer.close();
  return {
    bytesPerSecond: (acknowledged * batch.length) / ((performance.now() - startMs) / 1000),
    acceptorNsPerRequest: (cpu.find((thread) => thread.tid === brokerPid)?.cpuNs ?? 0) / measured,
    totalNsPerRequest: totalCpuNs(cpu) / measured,
  };
}

const microseconds = (ns: number): string => `${(ns / 1000).toFixed(1)} us`;

async function setupMs(door: Door, ports: Record<string, number>, ca: string): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < SETUPS; i++) {
    const socket = await open(door, ports, ca);
    await roundTrip(socket, frame(18, 0, 9, Buffer.alloc(0)));
    socket.destroy();
  }
  return (performance.now() - started) / SETUPS;
}

/** `items` rotated left by `by` (so each round starts with a different listener). */
function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Deletes the bench topic (if there) and creates it again, so the next run starts from an empty log. */
async function recreateTopic(http: string): Promise<void> {
  const deleted = await fetch(`${http}/topics/bench`, { method: 'DELETE' });
  if (deleted.status !== 200 && deleted.status !== 404)
    throw new Error(`cannot delete the topic: ${deleted.status} ${await deleted.text()}`);
  await deleted.arrayBuffer().catch(() => undefined);
  for (let attempt = 0; ; attempt++) {
    const created = await fetch(`${http}/topics`, {
      method: 'POST',
      body: JSON.stringify({ name: 'bench', partitions: PARTITIONS }),
    });
    if (created.status === 201) break;
    if (attempt >= 50) throw new Error(`cannot create the topic: ${created.status} ${await created.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  execFileSync('sync');
}

const anonymousBinding = (permission: AclBinding['permission'], resourceName: string): AclBinding => ({
  resourceType: AclResourceType.TOPIC,
  resourceName,
  patternType: AclPatternType.LITERAL,
  principal: 'User:ANONYMOUS',
  host: '*',
  operation: AclOperation.WRITE,
  permission,
});

/**
 * Stores ACLs (on) or none (off) in the broker's data directory, and waits until the broker has
 * picked the change up (it re-reads the file within a second): a DENY on the probe topic makes
 * its produce answer 403 exactly while the ACLs are on. With ACLs stored every produce checks
 * Write on its topic (allowed: an ALLOW for the bench topic, everyone allowed what no ACL names).
 */
async function setAcls(dataDir: string, http: string, on: boolean): Promise<void> {
  const store = new AclStore(dataDir);
  store.remove({
    resourceType: AclResourceType.ANY,
    resourceName: null,
    patternType: AclPatternType.ANY,
    principal: null,
    host: null,
    operation: AclOperation.ANY,
    permission: AclPermission.ANY,
  });
  if (on) {
    store.add([
      anonymousBinding(AclPermission.ALLOW, 'bench'),
      anonymousBinding(AclPermission.DENY, 'acl-probe'),
    ]);
  }
  const deadlineMs = Date.now() + 10_000;
  for (;;) {
    const probe = await fetch(`${http}/topics/acl-probe/records`, {
      method: 'POST',
      body: JSON.stringify([{ value: 'probe' }]),
    });
    await probe.arrayBuffer();
    if ((probe.status === 403) === on) return;
    if (Date.now() > deadlineMs) throw new Error(`the broker did not pick up ACLs ${on ? 'on' : 'off'}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = numberFlag(args, 'seconds', 4);
  const rounds = numberFlag(args, 'rounds', 3);
  const dir = mkdtempSync(join(tmpdir(), 'pyralog-bench-security-'));
  try {
    const certs = makeCertificates(dir);
    const dataDir = join(dir, 'data');
    await CredentialStore.open(dataDir).setPassword('bench', 'SCRAM-SHA-512', 'bench-password');
    const ports = {
      PLAINTEXT: await freePort(),
      SSL: await freePort(),
      SASL_SSL: await freePort(),
      HTTP: await freePort(),
    };
    const http = `http://127.0.0.1:${ports.HTTP}`;
    const broker = await startBrokerProcess([
      '--data',
      dataDir,
      '--fsync',
      'never',
      '--listeners',
      `PLAINTEXT://127.0.0.1:${ports.PLAINTEXT},SSL://127.0.0.1:${ports.SSL},SASL_SSL://127.0.0.1:${ports.SASL_SSL},HTTP://127.0.0.1:${ports.HTTP}`,
      '--tls-cert-file',
      certs.cert,
      '--tls-key-file',
      certs.key,
      '--allow-everyone-if-no-acl-found',
      'true',
      '--http-anonymous',
      'true',
    ]);
    try {
      const probe = await fetch(`${http}/topics`, {
        method: 'POST',
        body: JSON.stringify({ name: 'acl-probe', partitions: 1 }),
      });
      if (probe.status !== 201) throw new Error(`cannot create the probe topic: ${probe.status}`);
      const brokerPid = broker.child.pid!;
      const doors: Door[] = ['PLAINTEXT', 'SSL', 'SASL_SSL/PLAIN'];
      const ratios = new Map<Door, number[]>(doors.map((door) => [door, []]));
      console.log(
        `produce throughput, 1 KiB records in 16 KiB batches, 4 connections x 8 in flight, acks=1, ${seconds} s per run:`,
      );
      for (let round = 0; round < rounds; round++) {
        const rates = new Map<Door, RunResult>();
        for (const door of rotate(doors, round)) {
          await recreateTopic(http);
          rates.set(door, await throughput(door, ports, certs.ca, seconds, brokerPid));
        }
        const base = rates.get('PLAINTEXT')!.bytesPerSecond;
        const cells = doors.map((door) => {
          const result = rates.get(door)!;
          const rate = result.bytesPerSecond;
          ratios.get(door)!.push(rate / base);
          return (
            `${door} ${(rate / 1e6).toFixed(1)} MB/s (${(rate / base).toFixed(2)}), ` +
            `CPU/request acceptor ${microseconds(result.acceptorNsPerRequest)} all ${microseconds(result.totalNsPerRequest)}`
          );
        });
        console.log(`  round ${round + 1}, order ${rotate(doors, round).join(' > ')}: ${cells.join(', ')}`);
      }
      for (const door of doors) {
        const values = ratios.get(door)!;
        console.log(
          `  ${door.padEnd(24)} ratio to plaintext: median ${median(values).toFixed(2)}, ` +
            `range ${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`,
        );
      }

      console.log('ACL check cost, PLAINTEXT produce, ACLs stored (checked) against none (skipped):');
      const aclRatios: number[] = [];
      const aclCpuRatios: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const rates = new Map<boolean, RunResult>();
        for (const on of rotate([false, true], round)) {
          // The topic is recreated with no ACLs stored (an ACL naming it would deny the delete).
          await setAcls(dataDir, http, false);
          await recreateTopic(http);
          if (on) await setAcls(dataDir, http, true);
          rates.set(on, await throughput('PLAINTEXT', ports, certs.ca, seconds, brokerPid));
        }
        const off = rates.get(false)!;
        const on = rates.get(true)!;
        const ratio = on.bytesPerSecond / off.bytesPerSecond;
        const cpuRatio = on.acceptorNsPerRequest / off.acceptorNsPerRequest;
        aclRatios.push(ratio);
        aclCpuRatios.push(cpuRatio);
        console.log(
          `  round ${round + 1}: off ${(off.bytesPerSecond / 1e6).toFixed(1)} MB/s, ` +
            `on ${(on.bytesPerSecond / 1e6).toFixed(1)} MB/s (${ratio.toFixed(2)}); acceptor CPU/request ` +
            `off ${microseconds(off.acceptorNsPerRequest)}, on ${microseconds(on.acceptorNsPerRequest)} ` +
            `(${cpuRatio.toFixed(3)}); all threads off ${microseconds(off.totalNsPerRequest)}, ` +
            `on ${microseconds(on.totalNsPerRequest)}`,
        );
      }
      await setAcls(dataDir, http, false);
      console.log(
        `  ACLs on / off throughput: median ${median(aclRatios).toFixed(2)}, ` +
          `range ${Math.min(...aclRatios).toFixed(2)}-${Math.max(...aclRatios).toFixed(2)}`,
      );
      console.log(
        `  ACLs on / off acceptor CPU per request: median ${median(aclCpuRatios).toFixed(3)}, ` +
          `range ${Math.min(...aclCpuRatios).toFixed(3)}-${Math.max(...aclCpuRatios).toFixed(3)}`,
      );

      const setupDoors: Door[] = ['PLAINTEXT', 'SSL', 'SASL_SSL/PLAIN', 'SASL_SSL/SCRAM-SHA-512'];
      const setups = new Map<Door, number>();
      for (const door of setupDoors) setups.set(door, await setupMs(door, ports, certs.ca));
      const baseSetup = setups.get('PLAINTEXT')!;
      console.log(`connection setup + ApiVersions, ${SETUPS} one after another (ms each):`);
      for (const [door, ms] of setups) {
        console.log(
          `  ${door.padEnd(24)} ${ms.toFixed(2).padStart(7)} ms  ratio ${(ms / baseSetup).toFixed(1)}`,
        );
      }
    } finally {
      await broker.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
