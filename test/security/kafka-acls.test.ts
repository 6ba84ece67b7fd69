import { spawn } from 'node:child_process';
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
} from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import type { FrontDoor } from '../../src/protocol/front-door-deps.js';
import { AccessControl } from '../../src/security/access-control.js';
import { AclStore } from '../../src/security/acl-store.js';
import { startKafkaListener } from '../../src/server/kafka-listener.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { makeTempDir } from '../support/temp-dir.js';

/** kcat's exit and output, whatever the exit code (a refusal is what these tests look for). */
function kcat(args: readonly string[], input = ''): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(input);
  });
}

/**
 * ACLs through the Kafka door. No listener authenticates here, so every client is User:ANONYMOUS
 * and everyone is allowed what no ACL names (the default without authentication); the ACLs made
 * through kafkajs's admin client then deny ANONYMOUS the operations under test. The same checks
 * apply to an authenticated principal: only the principal on the request differs.
 */
describe('ACLs on the Kafka door', () => {
  const temp = makeTempDir('kafka-acls');
  const audit: { fields: Readonly<Record<string, unknown>>; message: string }[] = [];
  let listener: FrontDoor;
  let groups: GroupCoordinator;
  let engine: MemoryEngine;
  let broker: string;
  const client = () =>
    new Kafka({ clientId: 'acl-test', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } });

  beforeAll(async () => {
    engine = new MemoryEngine();
    const deps = await testFrontDoorDeps(engine, { autoCreateTopics: false });
    groups = deps.groups;
    const access = new AccessControl(new AclStore(temp.dir), {
      superUsers: [],
      allowEveryoneIfNoAclFound: true,
      audit: (fields, message) => audit.push({ fields, message }),
    });
    listener = await startKafkaListener({ ...deps, access });
    broker = `127.0.0.1:${listener.port}`;
    for (const topic of ['locked', 'orders', 'hidden']) await engine.createTopic(topic, 1);
  });
  afterAll(async () => {
    await listener.close();
    await groups.close();
    temp.cleanup();
  });

  const anonymous = { principal: 'User:ANONYMOUS', host: '*' };

  it('kafkajs admin creates, describes and deletes ACLs, and they are stored', async () => {
    const admin = client().admin();
    await admin.connect();
    try {
      await admin.createAcls({
        acl: [
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'locked',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            ...anonymous,
            operation: AclOperationTypes.DESCRIBE,
            permissionType: AclPermissionTypes.ALLOW,
          },
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'loc',
            resourcePatternType: ResourcePatternTypes.PREFIXED,
            ...anonymous,
            operation: AclOperationTypes.WRITE,
            permissionType: AclPermissionTypes.DENY,
          },
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'orders',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            ...anonymous,
            operation: AclOperationTypes.ALL,
            permissionType: AclPermissionTypes.ALLOW,
          },
          {
            resourceType: AclResourceTypes.GROUP,
            resourceName: 'g-denied',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            ...anonymous,
            operation: AclOperationTypes.READ,
            permissionType: AclPermissionTypes.DENY,
          },
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'hidden',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            ...anonymous,
            operation: AclOperationTypes.DESCRIBE,
            permissionType: AclPermissionTypes.DENY,
          },
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'scratch',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            ...anonymous,
            operation: AclOperationTypes.READ,
            permissionType: AclPermissionTypes.ALLOW,
          },
        ],
      });
      const described = await admin.describeAcls({
        resourceType: AclResourceTypes.TOPIC,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      expect(described.resources.map((r) => r.resourceName).sort()).toEqual([
        'hidden',
        'loc',
        'locked',
        'orders',
        'scratch',
      ]);
      const deleted = await admin.deleteAcls({
        filters: [
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'scratch',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            operation: AclOperationTypes.ANY,
            permissionType: AclPermissionTypes.ANY,
          },
        ],
      });
      expect(deleted.filterResponses[0]?.matchingAcls).toHaveLength(1);
      expect(new AclStore(temp.dir).list()).toHaveLength(5);
      expect(audit.filter((line) => line.message === 'ACL created')).toHaveLength(6);
      expect(audit.find((line) => line.message === 'ACL deleted')?.fields.principal).toBe('User:ANONYMOUS');
    } finally {
      await admin.disconnect();
    }
  });

  it('kcat: a produce without Write gets TOPIC_AUTHORIZATION_FAILED, and the denial is audited', async () => {
    const { code, output } = await kcat(['-b', broker, '-P', '-t', 'locked'], 'x\n');
    expect(code).not.toBe(0);
    expect(output).toMatch(/Topic authorization failed/i);
    expect(engine.describeTopic('locked')).toBeDefined();
    const denial = audit.find(
      (line) => line.message === 'authorization denied' && line.fields.request === 'Produce',
    );
    expect(denial?.fields).toMatchObject({
      principal: 'User:ANONYMOUS',
      operation: 'WRITE',
      resourceName: 'locked',
    });
    // The topic allowed everything still takes records.
    await kcat(['-b', broker, '-P', '-t', 'orders'], 'a\nb\n').then((r) => expect(r.code).toBe(0));
  });

  it('kcat: a consumer with topic Read but no group Read gets GROUP_AUTHORIZATION_FAILED', async () => {
    const { code, output } = await kcat([
      '-b',
      broker,
      '-G',
      'g-denied',
      '-X',
      'auto.offset.reset=earliest',
      '-e',
      'orders',
    ]);
    expect(code).not.toBe(0);
    expect(output).toMatch(/Group authorization failed/i);
    expect(output).not.toMatch(/^a$/m);
  });

  it('kafkajs: Metadata hides a topic the principal may not Describe, and refuses it by name', async () => {
    const admin = client().admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      expect(topics).toContain('orders');
      expect(topics).not.toContain('hidden');
      await expect(admin.fetchTopicMetadata({ topics: ['hidden'] })).rejects.toMatchObject({
        type: 'TOPIC_AUTHORIZATION_FAILED',
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('kafkajs: a fetch of a topic without Read is refused with TOPIC_AUTHORIZATION_FAILED', async () => {
    const admin = client().admin();
    await admin.connect();
    try {
      await admin.createAcls({
        acl: [
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'orders',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            ...anonymous,
            operation: AclOperationTypes.READ,
            permissionType: AclPermissionTypes.DENY,
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const { code, output } = await kcat(['-b', broker, '-C', '-t', 'orders', '-o', 'beginning', '-e']);
    expect(code).not.toBe(0);
    expect(output).toMatch(/Topic authorization failed/i);
  });
});
