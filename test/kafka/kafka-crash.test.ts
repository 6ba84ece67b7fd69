import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Kafka clients against `pyralog serve` as a process: acknowledged records
 * survive a SIGKILL exactly once, and kcat moves 100k keyed messages through
 * byte for byte.
 */
function kcat(args: readonly string[], stdinFile?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', stdinFile === undefined ? args : [...args, '-l', stdinFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

describe('Kafka clients against pyralog serve', () => {
  let serve: ServeProcess | null = null;
  let cleanup = (): void => {};
  afterEach(async () => {
    serve?.child.kill('SIGKILL');
    if (serve) await serve.exited;
    serve = null;
    cleanup();
  });

  it('given acks=-1 and fsync always, every acknowledged record is there exactly once after a SIGKILL', async () => {
    const temp = makeTempDir('kafka-crash');
    cleanup = temp.cleanup;
    serve = await startServe([
      '--data',
      temp.dir,
      '--shards',
      '2',
      '--fsync',
      'always',
      '--default-partitions',
      '3',
    ]);
    const kafka = new Kafka({
      clientId: 'crash',
      brokers: [`127.0.0.1:${serve.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acknowledged: string[] = [];
    for (let i = 0; i < 40; i++) {
      const messages = Array.from({ length: 5 }, (_, j) => ({ key: `k${i}`, value: `v-${i}-${j}` }));
      await producer.send({ topic: 'durable', acks: -1, messages });
      acknowledged.push(...messages.map((m) => m.value));
    }
    // Kill it with more sends in flight: those may or may not land, the acknowledged ones must.
    void producer
      .send({ topic: 'durable', acks: -1, messages: [{ value: 'in-flight' }] })
      .catch(() => undefined);
    serve.child.kill('SIGKILL');
    await serve.exited;
    await producer.disconnect().catch(() => undefined);

    serve = await startServe(['--data', temp.dir, '--shards', '2']);
    const again = new Kafka({
      clientId: 'crash',
      brokers: [`127.0.0.1:${serve.kafkaPort}`],
      logLevel: logLevel.NOTHING,
    });
    const consumer = again.consumer({
      groupId: `check-${Date.now()}`,
      sessionTimeout: 6000,
      heartbeatInterval: 300,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'durable', fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? ''),
    });
    const deadline = Date.now() + 20_000;
    while (seen.filter((v) => v !== 'in-flight').length < acknowledged.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    await consumer.disconnect();
    const counts = new Map<string, number>();
    for (const value of seen) counts.set(value, (counts.get(value) ?? 0) + 1);
    for (const value of acknowledged) expect(counts.get(value), value).toBe(1);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
  }, 90_000);

  it('moves 100,000 keyed messages produced by kcat from a file back out byte for byte', async () => {
    const temp = makeTempDir('kcat-100k');
    cleanup = temp.cleanup;
    serve = await startServe(['--data', temp.dir, '--shards', '2', '--fsync', 'never']);
    const broker = `127.0.0.1:${serve.kafkaPort}`;
    const work = mkdtempSync(join(temp.dir, 'kcat-'));
    const lines = Array.from(
      { length: 100_000 },
      (_, i) => `key-${i % 977}:value-${i}-${'x'.repeat(i % 50)}`,
    );
    const file = join(work, 'input.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    await kcat(
      [
        '-b',
        broker,
        '-P',
        '-t',
        'bulk',
        '-p',
        '0',
        '-K',
        ':',
        '-X',
        'acks=all',
        '-X',
        'topic.metadata.refresh.interval.ms=100',
      ],
      file,
    );
    const metadata = await kcat(['-b', broker, '-L', '-t', 'bulk']);
    expect(metadata).toContain('topic "bulk"');
    const consumed = await kcat([
      '-b',
      broker,
      '-C',
      '-t',
      'bulk',
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
      '-K',
      ':',
    ]);
    expect(consumed.split('\n').filter((line) => line.length > 0)).toEqual(lines);
  }, 120_000);
});
