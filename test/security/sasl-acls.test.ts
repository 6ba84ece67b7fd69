import { spawn } from 'node:child_process';
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ConfigResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
} from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import { AclOperation, AclPatternType, AclPermission, AclResourceType } from '../../src/security/acl.js';
import { AclStore } from '../../src/security/acl-store.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/** kcat's exit code and output (stdout and stderr together), killed after 20 s. */
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
 * ACLs for authenticated principals: a SASL_PLAINTEXT listener (SCRAM-SHA-512), so
 * allow.everyone.if.no.acl.found is off by default; admin is a super user, carol may only Read
 * the topic orders.
 */
describe('ACLs with SASL principals (kcat, kafkajs)', () => {
  const temp = makeTempDir('sasl-acls');
  let broker: Broker;
  let bootstrap: string;

  beforeAll(async () => {
    const dataDir = `${temp.dir}/data`;
    const credentials = CredentialStore.open(dataDir);
    await credentials.setPassword('admin', 'SCRAM-SHA-512', 'admin-secret');
    await credentials.setPassword('carol', 'SCRAM-SHA-512', 'carol-secret');
    new AclStore(dataDir).add([
      {
        resourceType: AclResourceType.TOPIC,
        resourceName: 'orders',
        patternType: AclPatternType.LITERAL,
        principal: 'User:carol',
        host: '*',
        operation: AclOperation.READ,
        permission: AclPermission.ALLOW,
      },
    ]);
    broker = await startBroker(
      testBrokerConfig(dataDir, {
        superUsers: ['User:admin'],
        security: {
          ...defaultSecurityConfig,
          listeners: [{ protocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0 }],
        },
      }),
      { http: false },
    );
    bootstrap = `127.0.0.1:${broker.kafkaListeners[0]!.port}`;
    const admin = kafkajs('admin', 'admin-secret').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }] });
    await admin.disconnect();
  }, 60_000);
  afterAll(async () => {
    await broker?.stop();
    temp.cleanup();
  });

  const kafkajs = (username: string, password: string) =>
    new Kafka({
      clientId: 'sasl-acls',
      brokers: [bootstrap],
      sasl: { mechanism: 'scram-sha-512', username, password },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
  const kcatAs = (user: string, password: string, args: readonly string[], input?: string) =>
    kcat(
      [
        '-b',
        bootstrap,
        '-X',
        'security.protocol=SASL_PLAINTEXT',
        '-X',
        'sasl.mechanisms=SCRAM-SHA-512',
        '-X',
        `sasl.username=${user}`,
        '-X',
        `sasl.password=${password}`,
        ...args,
      ],
      input,
    );

  it('kcat: carol produces without Write and gets TOPIC_AUTHORIZATION_FAILED; the super user produces', async () => {
    const denied = await kcatAs('carol', 'carol-secret', ['-P', '-t', 'orders'], 'x\n');
    expect(denied.code).not.toBe(0);
    expect(denied.output).toMatch(/Topic authorization failed/i);
    const allowed = await kcatAs('admin', 'admin-secret', ['-P', '-t', 'orders'], 'a\nb\n');
    expect(allowed.code).toBe(0);
  }, 30_000);

  it('kcat: carol consumes with topic Read but no group Read and gets GROUP_AUTHORIZATION_FAILED', async () => {
    const { code, output } = await kcatAs('carol', 'carol-secret', [
      '-G',
      'carol-group',
      '-X',
      'auto.offset.reset=earliest',
      '-e',
      'orders',
    ]);
    expect(code).not.toBe(0);
    expect(output).toMatch(/Group authorization failed/i);
    // With topic Read alone, a plain (group-less) read works.
    const read = await kcatAs('carol', 'carol-secret', ['-C', '-t', 'orders', '-o', 'beginning', '-e']);
    expect(read.code).toBe(0);
    expect(read.output).toContain('a');
  }, 30_000);

  it('kafkajs: carol may not alter configs, create topics or manage ACLs; the super user grants her group Read', async () => {
    const carol = kafkajs('carol', 'carol-secret').admin();
    await carol.connect();
    try {
      await expect(
        carol.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: 'orders',
              configEntries: [{ name: 'retention.ms', value: '1000' }],
            },
          ],
        }),
      ).rejects.toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED' });
      await expect(carol.createTopics({ topics: [{ topic: 'carols' }] })).rejects.toThrow();
      await expect(
        carol.describeAcls({
          resourceType: AclResourceTypes.ANY,
          resourcePatternType: ResourcePatternTypes.ANY,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        }),
      ).rejects.toMatchObject({ type: 'CLUSTER_AUTHORIZATION_FAILED' });
    } finally {
      await carol.disconnect();
    }
    const admin = kafkajs('admin', 'admin-secret').admin();
    await admin.connect();
    try {
      await admin.createAcls({
        acl: [
          {
            resourceType: AclResourceTypes.GROUP,
            resourceName: 'carol-',
            resourcePatternType: ResourcePatternTypes.PREFIXED,
            principal: 'User:carol',
            host: '*',
            operation: AclOperationTypes.READ,
            permissionType: AclPermissionTypes.ALLOW,
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const { code, output } = await kcatAs('carol', 'carol-secret', [
      '-G',
      'carol-group',
      '-X',
      'auto.offset.reset=earliest',
      '-e',
      'orders',
    ]);
    expect(code).toBe(0);
    expect(output).toContain('b');
  }, 60_000);
});
