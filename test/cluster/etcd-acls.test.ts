import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aclCommand } from '../../src/cli/acl-command.js';
import { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';
import { EtcdAclStore } from '../../src/cluster/etcd-acl-store.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { WireAclCreation, WireAclFilter } from '../../src/protocol/kafka/acl-wire.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import {
  type CreateAclsResponse,
  createAclsRequestDescription,
  createAclsResponseDescription,
} from '../../src/protocol/kafka/create-acls.js';
import {
  type DeleteAclsResponse,
  deleteAclsRequestDescription,
  deleteAclsResponseDescription,
} from '../../src/protocol/kafka/delete-acls.js';
import {
  type DescribeAclsResponse,
  describeAclsRequestDescription,
  describeAclsResponseDescription,
} from '../../src/protocol/kafka/describe-acls.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import { PeerConnection } from '../../src/replication/peer-connection.js';
import { AccessControl } from '../../src/security/access-control.js';
import {
  type AclBinding,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
} from '../../src/security/acl.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { type EtcdCluster, etcdAvailable, freePort, startEtcd, waitForQuorum } from '../support/etcd.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * ACLs in etcd in cluster mode (docs/security.md): two real brokers joined through a real etcd. An ACL
 * made through one broker's Kafka door (CreateAcls on a connection to that broker, or `pyralog acl
 * --etcd`) holds on the other within a bounded time, a deletion too; concurrent changes through both brokers all land; and a broker that has not
 * read the ACLs denies (fail closed). No listener authenticates, so clients are User:ANONYMOUS and
 * everyone is allowed what no ACL names; the ACLs made here deny ANONYMOUS what is under test.
 */

const PROPAGATION_TIMEOUT_MS = 10_000;
const createRequest = messageCodec<{ creations: WireAclCreation[] }>(createAclsRequestDescription);
const createResponse = messageCodec<CreateAclsResponse>(createAclsResponseDescription);
const deleteRequest = messageCodec<{ filters: WireAclFilter[] }>(deleteAclsRequestDescription);
const deleteResponse = messageCodec<DeleteAclsResponse>(deleteAclsResponseDescription);
const describeRequest = messageCodec<WireAclFilter>(describeAclsRequestDescription);
const describeResponse = messageCodec<DescribeAclsResponse>(describeAclsResponseDescription);
const CLUSTER = 'acls';

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

function binding(overrides: Partial<AclBinding> = {}): AclBinding {
  return {
    resourceType: AclResourceType.TOPIC,
    resourceName: 'secret',
    patternType: AclPatternType.LITERAL,
    principal: 'User:ANONYMOUS',
    host: '*',
    operation: AclOperation.DESCRIBE,
    permission: AclPermission.DENY,
    ...overrides,
  };
}

describe('ACLs before they are read from etcd', () => {
  it('given an etcd that does not answer, should deny every check but a super user’s, and not list', async () => {
    const store = new EtcdAclStore({
      client: new EtcdClient({ endpoints: [`http://127.0.0.1:${await freePort()}`], requestTimeoutMs: 200 }),
      cluster: CLUSTER,
      onChange: () => access.refresh(),
      onError: () => {},
      retryDelayMs: 100,
    });
    const access: AccessControl = new AccessControl(store, {
      superUsers: ['User:admin'],
      allowEveryoneIfNoAclFound: true,
      audit: () => {},
    });
    store.start();
    try {
      expect(await store.waitLoaded(300)).toBe(false);
      expect(access.loaded).toBe(false);
      expect(access.allowsEverything).toBe(false);
      expect(
        access.authorize(
          'User:ANONYMOUS',
          '127.0.0.1',
          AclOperation.READ,
          AclResourceType.TOPIC,
          't',
          'Fetch',
        ),
      ).toBe(false);
      expect(
        access.authorize('User:admin', '127.0.0.1', AclOperation.READ, AclResourceType.TOPIC, 't', 'Fetch'),
      ).toBe(true);
      expect(() =>
        access.describe({
          resourceType: AclResourceType.ANY,
          resourceName: null,
          patternType: AclPatternType.ANY,
          principal: null,
          host: null,
          operation: AclOperation.ANY,
          permission: AclPermission.ANY,
        }),
      ).toThrow(/not loaded/);
    } finally {
      store.stop();
    }
  });
});

describe.skipIf(!etcdAvailable)('ACLs in etcd shared by two brokers', () => {
  let etcd: EtcdCluster;
  const brokers: Broker[] = [];
  const temps: (() => void)[] = [];
  const connections: PeerConnection[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    for (const id of [1, 2]) {
      const temp = makeTempDir(`etcd-acls-${id}`);
      temps.push(temp.cleanup);
      brokers.push(
        await startBroker(
          testBrokerConfig(temp.dir, {
            nodeId: id,
            shardCount: 1,
            etcdEndpoints: etcd.endpoints,
            clusterName: CLUSTER,
            etcdLeaseTtlMs: 2000,
          }),
          { http: false },
        ),
      );
    }
    // One bare connection per broker: an admin client would send ACL requests to the controller only.
    for (const broker of brokers) {
      connections.push(
        await PeerConnection.open({
          host: '127.0.0.1',
          port: broker.kafkaPort,
          clientId: 'etcd-acls',
          requestTimeoutMs: 10_000,
          maxFrameBytes: 1 << 20,
        }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const connection of connections) connection.close();
    await Promise.all(brokers.map((broker) => broker.stop()));
    await etcd?.stop();
    for (const cleanup of temps) cleanup();
  });

  const wire = (acl: AclBinding): WireAclCreation => ({
    resourceType: acl.resourceType,
    resourceName: acl.resourceName,
    resourcePatternType: acl.patternType,
    principal: acl.principal,
    host: acl.host,
    operation: acl.operation,
    permissionType: acl.permission,
  });
  const everyDenyDescribe: WireAclFilter = {
    resourceTypeFilter: AclResourceType.TOPIC,
    resourceNameFilter: null,
    patternTypeFilter: AclPatternType.ANY,
    principalFilter: null,
    hostFilter: null,
    operation: AclOperation.DESCRIBE,
    permissionType: AclPermission.DENY,
  };

  async function createThrough(index: number, acls: readonly AclBinding[]): Promise<void> {
    const answer = await connections[index]!.send(
      30,
      2,
      createRequest,
      { creations: acls.map(wire) },
      createResponse,
    );
    expect(answer.results.map((result) => result.errorCode)).toEqual(acls.map(() => KafkaErrorCode.NONE));
  }

  async function deleteThrough(index: number, filter: WireAclFilter): Promise<string[]> {
    const answer = await connections[index]!.send(
      31,
      2,
      deleteRequest,
      { filters: [filter] },
      deleteResponse,
    );
    const result = answer.filterResults[0]!;
    expect(result.errorCode).toBe(KafkaErrorCode.NONE);
    return result.matchingAcls.map((acl) => acl.resourceName);
  }

  async function describedThrough(index: number): Promise<Set<string>> {
    const answer = await connections[index]!.send(
      29,
      2,
      describeRequest,
      everyDenyDescribe,
      describeResponse,
    );
    expect(answer.errorCode).toBe(KafkaErrorCode.NONE);
    return new Set(answer.resources.map((resource) => resource.resourceName));
  }

  /**
   * Whether Metadata (v5) for `topic` sent to broker `index` itself is refused TOPIC_AUTHORIZATION_FAILED.
   */
  async function describeDenied(index: number, topic: string): Promise<boolean> {
    const socket = await KafkaWire.open(brokers[index]!.kafkaPort);
    try {
      socket.request(ApiKey.METADATA, 5, 1, (w) => w.int32(1).string(topic).boolean(false));
      const reader = (await socket.next())!.reader;
      reader.int32(); // throttle
      reader.array((r) => [r.int32(), r.string(), r.int32(), r.nullableString()]); // brokers
      reader.nullableString(); // cluster id
      reader.int32(); // controller
      reader.int32(); // topics
      return reader.int16() === KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED;
    } finally {
      socket.close();
    }
  }

  it('given an ACL created through broker 1, should be enforced on broker 2; deleted through broker 2, should stop on broker 1', async () => {
    expect(await describeDenied(1, 'secret')).toBe(false);
    await createThrough(0, [binding()]);
    // Broker 1 made the change: it is in force there when the answer arrives.
    expect(await describeDenied(0, 'secret')).toBe(true);
    const started = Date.now();
    await eventually(() => describeDenied(1, 'secret'), PROPAGATION_TIMEOUT_MS, 'broker 2 denies');
    expect(Date.now() - started).toBeLessThan(PROPAGATION_TIMEOUT_MS);

    expect(await deleteThrough(1, everyDenyDescribe)).toEqual(['secret']);
    expect(await describeDenied(1, 'secret')).toBe(false);
    await eventually(
      async () => !(await describeDenied(0, 'secret')),
      PROPAGATION_TIMEOUT_MS,
      'broker 1 allows again',
    );
  });

  it('given ACLs created at once through both brokers, should keep every one on both; deleted at once through both, each once', async () => {
    const names = (prefix: string) => Array.from({ length: 20 }, (_, i) => `${prefix}-${i}`);
    const all = [...names('one'), ...names('two')];
    await Promise.all([
      ...names('one').map((topic) => createThrough(0, [binding({ resourceName: topic })])),
      ...names('two').map((topic) => createThrough(1, [binding({ resourceName: topic })])),
    ]);
    for (const index of [0, 1]) {
      await eventually(
        async () => {
          const seen = await describedThrough(index);
          return all.every((name) => seen.has(name));
        },
        PROPAGATION_TIMEOUT_MS,
        `broker ${index + 1} describes all 40 ACLs`,
      );
    }
    const [first, second] = await Promise.all([
      deleteThrough(0, everyDenyDescribe),
      deleteThrough(1, everyDenyDescribe),
    ]);
    expect([...first, ...second].sort()).toEqual([...all].sort());
    for (const index of [0, 1]) {
      await eventually(
        async () => (await describedThrough(index)).size === 0,
        PROPAGATION_TIMEOUT_MS,
        'all gone',
      );
    }
  });

  it('given `pyralog acl add --etcd`, should be enforced by both brokers, and `remove --etcd` should undo it', async () => {
    const base = ['--etcd', etcd.endpoints.join(','), '--cluster-name', CLUSTER];
    const out: string[] = [];
    const log = console.log;
    console.log = (...parts: unknown[]) => out.push(parts.join(' '));
    try {
      expect(
        await aclCommand([
          'add',
          ...base,
          '--deny',
          'User:ANONYMOUS',
          '--operation',
          'Describe',
          '--topic',
          'cli-secret',
        ]),
      ).toBe(0);
      for (const index of [0, 1]) {
        await eventually(
          () => describeDenied(index, 'cli-secret'),
          PROPAGATION_TIMEOUT_MS,
          `broker ${index + 1} denies`,
        );
      }
      expect(await aclCommand(['list', ...base, '--format', 'json'])).toBe(0);
      expect(out.join('\n')).toContain('cli-secret');
      expect(await aclCommand(['remove', ...base, '--topic', 'cli-secret'])).toBe(0);
      for (const index of [0, 1]) {
        await eventually(
          async () => !(await describeDenied(index, 'cli-secret')),
          PROPAGATION_TIMEOUT_MS,
          `broker ${index + 1} allows again`,
        );
      }
    } finally {
      console.log = log;
    }
  });

  it('given a value under the ACL keys that does not decode, should ignore it and keep serving', async () => {
    const client = new EtcdClient({ endpoints: etcd.endpoints });
    await client.put(`/pyralog/${CLUSTER}/acls/garbage`, '{"not":"an acl"}');
    await createThrough(0, [binding({ resourceName: 'after-garbage' })]);
    await eventually(() => describeDenied(1, 'after-garbage'), PROPAGATION_TIMEOUT_MS, 'broker 2 denies');
    await client.delete(`/pyralog/${CLUSTER}/acls/garbage`);
    await deleteThrough(0, everyDenyDescribe);
  });

  it('given etcd restarted under the brokers, should read the ACLs again and see a change made after it', async () => {
    const member = etcd.members[0]!;
    await member.kill();
    await member.restart();
    await waitForQuorum(member.clientUrl);
    // Written straight to etcd (as `pyralog acl --etcd` does): only a re-established watch shows it.
    const writer = new EtcdAclStore({
      client: new EtcdClient({ endpoints: etcd.endpoints }),
      cluster: CLUSTER,
      onChange: () => {},
      onError: () => {},
    });
    await writer.add([binding({ resourceName: 'after-restart' })]);
    for (const index of [0, 1]) {
      await eventually(
        () => describeDenied(index, 'after-restart'),
        PROPAGATION_TIMEOUT_MS + 5000,
        `broker ${index + 1} denies after the restart`,
      );
    }
    await deleteThrough(0, everyDenyDescribe);
  });
});
