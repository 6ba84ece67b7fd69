import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaFixture, startKafkaFixture } from '../support/kafka-fixture.js';
import { runCommand } from '../support/run-command.js';

/**
 * kcat's balanced consumer (librdkafka 2.0.2, `-G`) against the listener: it
 * negotiates JoinGroup v5, SyncGroup v3, Heartbeat v3, OffsetFetch v7 and
 * OffsetCommit v7 (the newest it knows, all above what this broker served
 * before versions became data) and ApiVersions v3. A second consumer of the
 * same group starts from the committed offsets and reads nothing more.
 */
function kcatWithDebug(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`kcat exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

describe('kcat consumer groups (librdkafka 2.0.2)', () => {
  let fixture: KafkaFixture;
  beforeAll(async () => {
    fixture = await startKafkaFixture();
    await fixture.engine.createTopic('grouped', 1);
  });
  afterAll(() => fixture.close());

  it('joins, consumes, commits with the newest group versions it knows, and a second member resumes after the commit', async () => {
    const broker = `127.0.0.1:${fixture.listener.port}`;
    const lines = ['a', 'b', 'c'];
    await runCommand('kcat', ['-b', broker, '-P', '-t', 'grouped'], `${lines.join('\n')}\n`);
    const groupArgs = ['-b', broker, '-G', 'g1', '-X', 'auto.offset.reset=earliest', '-e', 'grouped'];
    const first = await kcatWithDebug([...groupArgs, '-d', 'protocol']);
    expect(first.stdout.trim().split('\n')).toEqual(lines);
    for (const sent of [
      'ApiVersionRequest (v3',
      'JoinGroupRequest (v5',
      'SyncGroupRequest (v3',
      'OffsetFetchRequest (v7',
      'OffsetCommitRequest (v7',
    ]) {
      expect(first.stderr).toContain(`Sent ${sent}`);
    }
    const second = await kcatWithDebug(groupArgs);
    expect(second.stdout.trim()).toBe('');
  }, 60_000);
});
