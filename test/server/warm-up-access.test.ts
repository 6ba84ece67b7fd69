import { describe, expect, it } from 'vitest';
import { WARM_UP_TOPIC_NAME } from '../../src/engine/warm-up-scratch.js';
import { AclOperation, AclResourceType } from '../../src/security/acl.js';
import { warmUpAccess } from '../../src/server/warm-up.js';

/**
 * The warm-up's private listener takes no credentials and is reachable on a loopback port for up
 * to a second before the real listeners open: on a broker with ACLs, a local process that found
 * that port must reach nothing but the scratch topic.
 */
describe('what a connection to the warm-up listener may do', () => {
  const anonymous = 'User:ANONYMOUS';

  it('given the warm-up access when asked about the scratch topic then it allows produce, fetch and metadata', () => {
    const access = warmUpAccess();
    for (const operation of [AclOperation.WRITE, AclOperation.READ, AclOperation.DESCRIBE]) {
      expect(
        access.authorize(anonymous, '127.0.0.1', operation, AclResourceType.TOPIC, WARM_UP_TOPIC_NAME, 'x'),
      ).toBe(true);
    }
  });

  it('given the warm-up access when asked about any user topic, group or the cluster then it refuses', () => {
    const access = warmUpAccess();
    expect(access.allowsEverything).toBe(false);
    for (const operation of [
      AclOperation.WRITE,
      AclOperation.READ,
      AclOperation.DESCRIBE,
      AclOperation.DELETE,
    ]) {
      expect(access.authorize(anonymous, '127.0.0.1', operation, AclResourceType.TOPIC, 'orders', 'x')).toBe(
        false,
      );
    }
    expect(
      access.authorize(anonymous, '127.0.0.1', AclOperation.READ, AclResourceType.GROUP, 'billing', 'x'),
    ).toBe(false);
    expect(
      access.authorize(
        anonymous,
        '127.0.0.1',
        AclOperation.CREATE,
        AclResourceType.CLUSTER,
        'kafka-cluster',
        'x',
      ),
    ).toBe(false);
  });
});
