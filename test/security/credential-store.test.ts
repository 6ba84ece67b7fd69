import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CredentialFileError,
  CredentialStore,
  credentialsPath,
} from '../../src/security/credential-store.js';
import {
  ANONYMOUS_PRINCIPAL,
  isValidUserName,
  parsePrincipal,
  principalText,
  userPrincipal,
} from '../../src/security/principal.js';
import { makeScramCredential, scramPasswordMatches } from '../../src/security/scram.js';
import { FaultyStorageIo, parseFaultRules } from '../../src/storage/faulty-storage-io.js';
import { nodeStorageIo, useStorageIo } from '../../src/storage/storage-io.js';
import { SimulatedDisk } from '../support/simulated-disk.js';
import { makeTempDir } from '../support/temp-dir.js';

describe('principal', () => {
  it('given User:alice should parse and print it back; other types and bad names are refused', () => {
    expect(parsePrincipal('User:alice')).toEqual(userPrincipal('alice'));
    expect(principalText(userPrincipal('alice'))).toBe('User:alice');
    expect(principalText(ANONYMOUS_PRINCIPAL)).toBe('User:ANONYMOUS');
    expect(parsePrincipal('Group:alice')).toBeNull();
    expect(parsePrincipal('User:')).toBeNull();
    expect(parsePrincipal('alice')).toBeNull();
    expect(isValidUserName('a,b')).toBe(false);
    expect(isValidUserName('a=b')).toBe(false);
    expect(isValidUserName('ANONYMOUS')).toBe(false);
    expect(isValidUserName('x'.repeat(257))).toBe(false);
    expect(isValidUserName('Ünïcode-user')).toBe(true);
  });
});

describe('SCRAM credential derivation', () => {
  it('given a salt and password should derive RFC 5802 StoredKey and ServerKey', async () => {
    const salt = Buffer.from('QSXCR+Q6sek8bf92', 'base64');
    const credential = await makeScramCredential('SCRAM-SHA-256', 'pencil', 4096, salt);
    // RFC 7677's example uses these inputs; recompute independently with the primitives.
    const salted = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    expect(credential.storedKey).toEqual(createHash('sha256').update(clientKey).digest());
    expect(credential.serverKey).toEqual(createHmac('sha256', salted).update('Server Key').digest());
    expect(await scramPasswordMatches(credential, 'pencil')).toBe(true);
    expect(await scramPasswordMatches(credential, 'pencil ')).toBe(false);
  });

  it('given fewer than 4096 iterations should refuse to make a credential', async () => {
    await expect(makeScramCredential('SCRAM-SHA-512', 'pw', 4095)).rejects.toThrow(/4096/);
  });
});

describe('credential store', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('credentials');
    cleanup = temp.cleanup;
    return temp.dir;
  };

  it('given users created with each mechanism should verify their passwords and survive a reopen', async () => {
    const dir = tempDir();
    const store = CredentialStore.open(dir);
    expect(store.hasUsers()).toBe(false);
    await store.setPassword('alice', 'SCRAM-SHA-512', 'alice-secret');
    await store.setPassword('bob', 'SCRAM-SHA-256', 'bob-secret', 8192);
    await store.setPassword('carol', 'PLAIN', 'carol-secret');
    expect(await store.verifyPassword('alice', 'alice-secret')).toEqual(userPrincipal('alice'));
    expect(await store.verifyPassword('bob', 'bob-secret')).toEqual(userPrincipal('bob'));
    expect(await store.verifyPassword('carol', 'carol-secret')).toEqual(userPrincipal('carol'));
    expect(await store.verifyPassword('alice', 'bob-secret')).toBeNull();
    expect(await store.verifyPassword('nobody', 'alice-secret')).toBeNull();

    const reopened = CredentialStore.open(dir);
    expect(reopened.list()).toEqual([
      { name: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
      { name: 'bob', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }] },
      { name: 'carol', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    ]);
    expect(await reopened.verifyPassword('bob', 'bob-secret')).toEqual(userPrincipal('bob'));
  });

  it('given a stored credential should keep no password on disk, only salt, iterations and keys', async () => {
    const dir = tempDir();
    const store = CredentialStore.open(dir);
    await store.setPassword('alice', 'PLAIN', 'do-not-store-me');
    const text = readFileSync(credentialsPath(dir), 'utf8');
    expect(text).not.toContain('do-not-store-me');
    expect(text).not.toContain(Buffer.from('do-not-store-me').toString('base64'));
    expect(Object.keys(JSON.parse(text).users.alice['SCRAM-SHA-512']).sort()).toEqual([
      'iterations',
      'salt',
      'serverKey',
      'storedKey',
    ]);
  });

  it('given a delete of the last credential should remove the user, and a delete of nothing should say so', async () => {
    const dir = tempDir();
    const store = CredentialStore.open(dir);
    await store.setPassword('alice', 'SCRAM-SHA-512', 'a');
    await store.setPassword('alice', 'SCRAM-SHA-256', 'a');
    expect(store.deleteCredential('alice', 'SCRAM-SHA-512')).toBe(true);
    expect(store.describe('alice')?.credentials).toEqual([{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }]);
    expect(store.deleteCredential('alice', 'SCRAM-SHA-512')).toBe(false);
    expect(store.deleteCredential('alice', 'SCRAM-SHA-256')).toBe(true);
    expect(store.describe('alice')).toBeUndefined();
    expect(store.deleteUser('alice')).toBe(false);
    expect(CredentialStore.open(dir).hasUsers()).toBe(false);
  });

  it('given a salted password from an admin client should accept the password it was salted from', async () => {
    const dir = tempDir();
    const store = CredentialStore.open(dir);
    const salt = Buffer.from('0123456789abcdef');
    store.putSaltedPassword('dave', 'SCRAM-SHA-256', salt, pbkdf2Sync('pw', salt, 4096, 32, 'sha256'), 4096);
    expect(await store.verifyPassword('dave', 'pw')).toEqual(userPrincipal('dave'));
    expect(() => store.putSaltedPassword('dave', 'SCRAM-SHA-256', salt, Buffer.alloc(31), 4096)).toThrow(
      /32 bytes/,
    );
    expect(() => store.putSaltedPassword('dave', 'SCRAM-SHA-256', salt, Buffer.alloc(32), 100)).toThrow(
      /4096/,
    );
  });

  it('given invalid names or an empty password should refuse them and write nothing', async () => {
    const dir = tempDir();
    const store = CredentialStore.open(dir);
    await expect(store.setPassword('a,b', 'PLAIN', 'x')).rejects.toThrow(/invalid user name/);
    await expect(store.setPassword('ANONYMOUS', 'PLAIN', 'x')).rejects.toThrow(/invalid user name/);
    await expect(store.setPassword('alice', 'PLAIN', '')).rejects.toThrow(/empty/);
    expect(CredentialStore.open(dir).hasUsers()).toBe(false);
  });

  it('given a damaged file should refuse to open rather than start with no users', () => {
    const dir = tempDir();
    mkdirSync(`${dir}/security`);
    const path = credentialsPath(dir);
    for (const text of ['{', '{"version":2,"users":{}}', '{"version":1,"users":{"a":{"SCRAM-SHA-1":{}}}}']) {
      writeFileSync(path, text);
      expect(() => CredentialStore.open(dir)).toThrow(CredentialFileError);
    }
  });

  for (const op of ['write', 'sync', 'rename'] as const) {
    it(`given a ${op} that fails while saving should keep the old users in memory and on disk`, async () => {
      const dir = tempDir();
      const store = CredentialStore.open(dir);
      await store.setPassword('alice', 'SCRAM-SHA-512', 'old');
      const faulty = new FaultyStorageIo(
        nodeStorageIo,
        parseFaultRules(`op=${op},code=EIO,path=credentials,torn=7`),
      );
      const restore = useStorageIo(faulty);
      try {
        await expect(store.setPassword('alice', 'SCRAM-SHA-512', 'new')).rejects.toThrow(/EIO/);
        await expect(store.setPassword('bob', 'SCRAM-SHA-512', 'b')).rejects.toThrow(/EIO/);
      } finally {
        restore();
      }
      expect(faulty.injected).toBeGreaterThan(0);
      expect(await store.verifyPassword('alice', 'old')).toEqual(userPrincipal('alice'));
      expect(store.describe('bob')).toBeUndefined();
      const reopened = CredentialStore.open(dir);
      expect(await reopened.verifyPassword('alice', 'old')).toEqual(userPrincipal('alice'));
      expect(reopened.describe('bob')).toBeUndefined();
    });
  }

  it('given a power loss after each change should reopen with that change (every save is durable)', async () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const disk = new SimulatedDisk(random);
    disk.autoCompleteSyncs = true;
    const restore = useStorageIo(disk);
    try {
      const store = CredentialStore.open('/sim');
      for (let i = 0; i < 5; i++) {
        await store.setPassword(`user${i}`, 'SCRAM-SHA-256', `pw${i}`);
        disk.powerLoss();
        const reopened = CredentialStore.open('/sim');
        expect(reopened.list().map((u) => u.name)).toEqual(
          Array.from({ length: i + 1 }, (_, j) => `user${j}`),
        );
      }
    } finally {
      restore();
    }
  });
});

describe('credential store changes shared with other brokers (cluster mode)', () => {
  const temps: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of temps.splice(0)) cleanup();
  });

  it('given a change made here, should tell the listener; given one applied from elsewhere, should not', async () => {
    const temp = makeTempDir('credentials-listener');
    temps.push(temp.cleanup);
    const store = CredentialStore.open(temp.dir);
    const told: [string, boolean][] = [];
    store.onChange((user, credentials) => told.push([user, credentials !== null]));
    await store.setPassword('alice', 'SCRAM-SHA-512', 'alice-pw');
    expect(store.deleteUser('alice')).toBe(true);
    expect(told).toEqual([
      ['alice', true],
      ['alice', false],
    ]);
    const bob = await makeScramCredential('SCRAM-SHA-256', 'bob-pw', 4096);
    store.applyRemote('bob', new Map([['SCRAM-SHA-256', bob]]));
    expect(told).toHaveLength(2);
    expect(await store.verifyPassword('bob', 'bob-pw')).toEqual(userPrincipal('bob'));
  });

  it('given a full read from elsewhere, should replace every user durably in one write', async () => {
    const temp = makeTempDir('credentials-replace');
    temps.push(temp.cleanup);
    const store = CredentialStore.open(temp.dir);
    await store.setPassword('alice', 'SCRAM-SHA-512', 'alice-pw');
    await store.setPassword('carol', 'SCRAM-SHA-512', 'carol-pw');
    const bob = await makeScramCredential('SCRAM-SHA-512', 'bob-pw', 4096);
    const alice = store.snapshot().get('alice')!;
    store.replaceAllRemote(
      new Map([
        ['alice', alice],
        ['bob', new Map([['SCRAM-SHA-512', bob]])],
      ]),
    );
    const reopened = CredentialStore.open(temp.dir);
    expect(reopened.list().map((user) => user.name)).toEqual(['alice', 'bob']);
    expect(await reopened.verifyPassword('bob', 'bob-pw')).toEqual(userPrincipal('bob'));
    expect(await reopened.verifyPassword('carol', 'carol-pw')).toBeNull();
  });
});
