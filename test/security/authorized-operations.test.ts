import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import type { FrontDoor } from '../../src/protocol/front-door-deps.js';
import type { KafkaApi } from '../../src/protocol/kafka/api.js';
import { describeCluster } from '../../src/protocol/kafka/describe-cluster.js';
import { describeGroups } from '../../src/protocol/kafka/describe-groups.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import { metadata } from '../../src/protocol/kafka/metadata.js';
import { AccessControl } from '../../src/security/access-control.js';
import {
  type AclBinding,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
} from '../../src/security/acl.js';
import { AclStore } from '../../src/security/acl-store.js';
import { authorizedOperationBits } from '../../src/security/authorized-operations.js';
import { startKafkaListener } from '../../src/server/kafka-listener.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { makeTempDir } from '../support/temp-dir.js';

type Fields = Record<string, unknown>;

const NOT_REQUESTED = -2147483648;
const bits = (...operations: number[]): number => operations.reduce((set, op) => set | (1 << op), 0);

const allow = (
  operation: AclBinding['operation'],
  resourceType: AclBinding['resourceType'],
  resourceName: string,
  principal = 'User:ANONYMOUS',
): AclBinding => ({
  resourceType,
  resourceName,
  patternType: AclPatternType.LITERAL,
  principal,
  host: '*',
  operation,
  permission: AclPermission.ALLOW,
});

/**
 * Kafka's authorized operations (KIP-430) computed from the ACLs: the client here is
 * User:ANONYMOUS on a plaintext listener, everyone denied what no ACL names, with Read on one
 * topic, Describe on one group and Describe and Alter on the cluster.
 */
describe('authorized operations from the ACLs', () => {
  const temp = makeTempDir('authorized-operations');
  let listener: FrontDoor;
  let groups: GroupCoordinator;

  beforeAll(async () => {
    const engine = new MemoryEngine();
    for (const topic of ['orders', 'hidden']) await engine.createTopic(topic, 1);
    const deps = await testFrontDoorDeps(engine, { autoCreateTopics: false });
    groups = deps.groups;
    const store = new AclStore(temp.dir);
    store.add([
      allow(AclOperation.READ, AclResourceType.TOPIC, 'orders'),
      allow(AclOperation.DESCRIBE, AclResourceType.GROUP, 'billing'),
      allow(AclOperation.DESCRIBE, AclResourceType.CLUSTER, 'kafka-cluster'),
      allow(AclOperation.ALTER, AclResourceType.CLUSTER, 'kafka-cluster'),
    ]);
    const access = new AccessControl(store, {
      superUsers: [],
      allowEveryoneIfNoAclFound: false,
      audit: () => {},
    });
    listener = await startKafkaListener({ ...deps, access });
  });
  afterAll(async () => {
    await listener.close();
    await groups.close();
    temp.cleanup();
  });

  async function call<Q, R>(api: KafkaApi<Q, R>, version: number, body: Fields): Promise<Fields> {
    const flexible = version >= api.firstFlexibleVersion;
    const wire = await KafkaWire.open(listener.port);
    try {
      wire.request(api.apiKey, version, 1, (w) => {
        if (flexible) w.uvarint(0);
        messageCodec<Fields>(api.messages.request).encode(w, body, version);
      });
      const answer = await wire.next();
      if (answer === null) throw new Error(`${api.name} v${version}: connection closed`);
      if (flexible) answer.reader.taggedFields(null);
      return messageCodec<Fields>(api.messages.response).decode(answer.reader, version);
    } finally {
      wire.close();
    }
  }

  it('Metadata v10 reports Read and its implied Describe on the topic, Describe and Alter on the cluster', async () => {
    const response = await call(metadata, 10, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: true,
      includeTopicAuthorizedOperations: true,
    });
    const topics = response.topics as Fields[];
    // The topic the principal may not describe is left out altogether.
    expect(topics.map((topic) => topic.name)).toEqual(['orders']);
    expect(topics[0]!.topicAuthorizedOperations).toBe(bits(AclOperation.READ, AclOperation.DESCRIBE));
    expect(response.clusterAuthorizedOperations).toBe(bits(AclOperation.ALTER, AclOperation.DESCRIBE));
  });

  it('Metadata leaves the value "not requested" when not asked, and for a named topic it may not describe', async () => {
    const notAsked = await call(metadata, 10, { topics: null, allowAutoTopicCreation: false });
    expect((notAsked.topics as Fields[])[0]!.topicAuthorizedOperations).toBe(NOT_REQUESTED);
    expect(notAsked.clusterAuthorizedOperations).toBe(NOT_REQUESTED);
    const named = await call(metadata, 10, {
      topics: [{ topicId: new Uint8Array(16), name: 'hidden' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: true,
    });
    expect((named.topics as Fields[])[0]!.topicAuthorizedOperations).toBe(NOT_REQUESTED);
  });

  it('DescribeGroups v5 reports Describe alone on the group with a Describe ACL', async () => {
    const response = await call(describeGroups, 5, {
      groups: ['billing'],
      includeAuthorizedOperations: true,
    });
    expect((response.groups as Fields[])[0]).toMatchObject({
      groupId: 'billing',
      errorCode: 0,
      authorizedOperations: bits(AclOperation.DESCRIBE),
    });
  });

  it('DescribeCluster v1 reports the cluster operations the ACLs allow', async () => {
    const response = await call(describeCluster, 1, {
      includeClusterAuthorizedOperations: true,
      endpointType: 1,
    });
    expect(response).toMatchObject({
      errorCode: 0,
      clusterAuthorizedOperations: bits(AclOperation.ALTER, AclOperation.DESCRIBE),
    });
  });

  it('a super user is reported every operation of the resource type', () => {
    const access = new AccessControl(null, {
      superUsers: ['User:admin'],
      allowEveryoneIfNoAclFound: false,
      audit: () => {},
    });
    const ops = authorizedOperationBits(AclResourceType.GROUP, (operation) =>
      access.allows('User:admin', '*', operation, AclResourceType.GROUP, 'any'),
    );
    expect(ops).toBe(bits(AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE));
  });
});
