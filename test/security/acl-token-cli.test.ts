import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseDurationMs } from '../../src/cli/token-command.js';
import { AccessControl } from '../../src/security/access-control.js';
import { AclOperation, AclPatternType, AclPermission, AclResourceType } from '../../src/security/acl.js';
import { AclStore } from '../../src/security/acl-store.js';
import { TokenStore } from '../../src/security/token-store.js';
import { makeTempDir } from '../support/temp-dir.js';

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out: lines.join('\n') };
}

describe('pyralog acl and pyralog token', () => {
  const temp = makeTempDir('acl-cli');
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => temp.cleanup());

  it('acl add stores what it says, a running AccessControl picks it up, list and remove show it', async () => {
    const access = new AccessControl(new AclStore(temp.dir), {
      superUsers: [],
      allowEveryoneIfNoAclFound: false,
      audit: () => {},
    });
    expect(access.allows('User:alice', 'h', AclOperation.WRITE, AclResourceType.TOPIC, 'orders-eu')).toBe(
      false,
    );
    const added = await run([
      'acl',
      'add',
      '--data',
      temp.dir,
      '--allow',
      'User:alice',
      '--operation',
      'Write',
      '--operation',
      'Read',
      '--topic',
      'orders',
      '--pattern',
      'prefixed',
    ]);
    expect(added).toEqual({ code: 0, out: 'added 2 ACLs' });
    expect(new AclStore(temp.dir).list()).toContainEqual({
      resourceType: AclResourceType.TOPIC,
      resourceName: 'orders',
      patternType: AclPatternType.PREFIXED,
      principal: 'User:alice',
      host: '*',
      operation: AclOperation.WRITE,
      permission: AclPermission.ALLOW,
    });
    // The file's mtime may not move within the same clock tick on every filesystem: force a new one.
    await new Promise((resolve) => setTimeout(resolve, 20));
    access.reloadIfChanged();
    expect(access.allows('User:alice', 'h', AclOperation.WRITE, AclResourceType.TOPIC, 'orders-eu')).toBe(
      true,
    );

    const listed = await run(['acl', 'list', '--data', temp.dir, '--format', 'json']);
    expect(JSON.parse(listed.out)).toHaveLength(2);
    const removed = await run([
      'acl',
      'remove',
      '--data',
      temp.dir,
      '--topic',
      'orders',
      '--operation',
      'Read',
    ]);
    expect(removed.out).toContain('READ');
    expect(new AclStore(temp.dir).list()).toHaveLength(1);
  });

  it('acl add refuses a bad principal or operation with a usage error and stores nothing', async () => {
    const dir = makeTempDir('acl-cli-bad');
    try {
      expect(
        (
          await run([
            'acl',
            'add',
            '--data',
            dir.dir,
            '--allow',
            'alice',
            '--operation',
            'Write',
            '--topic',
            't',
          ])
        ).code,
      ).toBe(2);
      expect(
        (
          await run([
            'acl',
            'add',
            '--data',
            dir.dir,
            '--allow',
            'User:a',
            '--operation',
            'Fly',
            '--topic',
            't',
          ])
        ).code,
      ).toBe(2);
      expect(new AclStore(dir.dir).list()).toEqual([]);
    } finally {
      dir.cleanup();
    }
  });

  it('token create prints a token the store accepts; token revoke makes it refused', async () => {
    const created = await run(['token', 'create', '--data', temp.dir, '--user', 'alice', '--ttl', '1h']);
    expect(created.code).toBe(0);
    const id = /id: (\S+)/.exec(created.out)?.[1] ?? '';
    const token = /token: (\S+)/.exec(created.out)?.[1] ?? '';
    const tokens = new TokenStore(temp.dir);
    expect(tokens.verify(token)).toEqual({ type: 'User', name: 'alice' });
    expect((await run(['token', 'revoke', id, '--data', temp.dir])).code).toBe(0);
    expect(tokens.verify(token)).toBe('token revoked');
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('7d')).toBe(7 * 86_400_000);
    expect(parseDurationMs('soon')).toBeNaN();
  });
});
