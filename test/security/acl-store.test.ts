import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type AclBinding,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
} from '../../src/security/acl.js';
import { AclStore, AclStoreError } from '../../src/security/acl-store.js';
import { makeTempDir } from '../support/temp-dir.js';

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = makeTempDir('acls');
  try {
    await body(dir);
  } finally {
    cleanup();
  }
}

const writeOrders: AclBinding = {
  resourceType: AclResourceType.TOPIC,
  resourceName: 'orders',
  patternType: AclPatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation: AclOperation.WRITE,
  permission: AclPermission.ALLOW,
};

describe('AclStore', () => {
  it('given bindings added and removed, a reopened store holds exactly what remains', async () => {
    await withTempDir(async (dir) => {
      const store = new AclStore(dir);
      const readGroup: AclBinding = {
        ...writeOrders,
        resourceType: AclResourceType.GROUP,
        operation: AclOperation.READ,
      };
      store.add([writeOrders, readGroup, writeOrders]);
      expect(new AclStore(dir).list()).toEqual([writeOrders, readGroup]);
      const removed = store.remove({
        resourceType: AclResourceType.GROUP,
        resourceName: null,
        patternType: AclPatternType.ANY,
        principal: null,
        host: null,
        operation: AclOperation.ANY,
        permission: AclPermission.ANY,
      });
      expect(removed).toEqual([readGroup]);
      expect(new AclStore(dir).list()).toEqual([writeOrders]);
    });
  });

  it('given an invalid binding, stores none of the batch', async () => {
    await withTempDir(async (dir) => {
      const store = new AclStore(dir);
      expect(() => store.add([writeOrders, { ...writeOrders, principal: 'alice' }])).toThrow(/principal/);
      expect(new AclStore(dir).list()).toEqual([]);
    });
  });

  it('given a leftover temporary file from a crash mid-write, reopens with the last complete contents', async () => {
    await withTempDir(async (dir) => {
      new AclStore(dir).add([writeOrders]);
      const path = join(dir, 'security', 'acls.json');
      writeFileSync(`${path}.tmp`, '{"version":1,"acls":[{"resour');
      expect(new AclStore(dir).list()).toEqual([writeOrders]);
      expect(JSON.parse(readFileSync(path, 'utf8')).acls).toHaveLength(1);
    });
  });

  it('given a corrupt file, refuses to open rather than start with no ACLs', async () => {
    await withTempDir(async (dir) => {
      new AclStore(dir);
      writeFileSync(join(dir, 'security', 'acls.json'), '{"version":1,"acls":[{"x":1}]}');
      expect(() => new AclStore(dir)).toThrow(AclStoreError);
    });
  });
});
