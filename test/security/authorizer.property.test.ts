import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AclBinding,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
} from '../../src/security/acl.js';
import {
  Authorizer,
  allowedBy,
  type CheckedOperation,
  type CheckedResourceType,
} from '../../src/security/authorizer.js';

const principals = ['User:alice', 'User:bob', 'User:*'] as const;
const names = ['orders', 'ord', 'o', 'payments', '*'] as const;
const checkedOperations: CheckedOperation[] = [
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.CREATE,
  AclOperation.DELETE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
  AclOperation.CLUSTER_ACTION,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
  AclOperation.IDEMPOTENT_WRITE,
];
const resourceTypes: CheckedResourceType[] = [AclResourceType.TOPIC, AclResourceType.GROUP];

const bindingArb: fc.Arbitrary<AclBinding> = fc.record({
  resourceType: fc.constantFrom(...resourceTypes),
  resourceName: fc.constantFrom(...names),
  patternType: fc.constantFrom(AclPatternType.LITERAL, AclPatternType.PREFIXED),
  principal: fc.constantFrom(...principals),
  host: fc.constantFrom('*', '10.0.0.1'),
  operation: fc.constantFrom(AclOperation.ALL, ...checkedOperations),
  permission: fc.constantFrom(AclPermission.ALLOW, AclPermission.DENY),
});

const checkArb = fc.record({
  principal: fc.constantFrom('User:alice', 'User:bob', 'User:carol'),
  host: fc.constantFrom('10.0.0.1', '10.0.0.2'),
  operation: fc.constantFrom(...checkedOperations),
  resourceType: fc.constantFrom(...resourceTypes),
  resourceName: fc.constantFrom('orders', 'order', 'ord', 'payments', 'x'),
});

/** A second, deliberately plain statement of Kafka's rule: scan every binding. */
function oracle(
  bindings: readonly AclBinding[],
  allowEveryone: boolean,
  check: {
    principal: string;
    host: string;
    operation: CheckedOperation;
    resourceType: CheckedResourceType;
    resourceName: string;
  },
): boolean {
  const onResource = bindings.filter(
    (b) =>
      b.resourceType === check.resourceType &&
      (b.patternType === AclPatternType.LITERAL
        ? b.resourceName === check.resourceName || b.resourceName === '*'
        : check.resourceName.startsWith(b.resourceName)),
  );
  if (onResource.length === 0) return allowEveryone;
  const mine = onResource.filter(
    (b) =>
      (b.principal === check.principal || b.principal === 'User:*') &&
      (b.host === check.host || b.host === '*'),
  );
  const denied = mine.some(
    (b) =>
      b.permission === AclPermission.DENY &&
      (b.operation === check.operation || b.operation === AclOperation.ALL),
  );
  if (denied) return false;
  const implied: Record<number, number[]> = {
    [AclOperation.DESCRIBE]: [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER],
    [AclOperation.DESCRIBE_CONFIGS]: [AclOperation.ALTER_CONFIGS],
  };
  return mine.some(
    (b) =>
      b.permission === AclPermission.ALLOW &&
      (b.operation === check.operation ||
        b.operation === AclOperation.ALL ||
        (implied[check.operation] ?? []).includes(b.operation)),
  );
}

describe('Authorizer', () => {
  it('given any bindings, decides as the plain linear statement of the rule does', () => {
    fc.assert(
      fc.property(
        fc.array(bindingArb, { maxLength: 12 }),
        fc.boolean(),
        checkArb,
        (bindings, allowEveryone, check) => {
          const authorizer = new Authorizer(
            { superUsers: [], allowEveryoneIfNoAclFound: allowEveryone },
            bindings,
          );
          expect(
            authorizer.authorize(
              check.principal,
              check.host,
              check.operation,
              check.resourceType,
              check.resourceName,
            ),
          ).toBe(oracle(bindings, allowEveryone, check));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('given a matching DENY, refuses whatever ALLOWs exist (deny wins)', () => {
    fc.assert(
      fc.property(
        fc.array(bindingArb, { maxLength: 12 }),
        checkArb,
        fc.boolean(),
        (bindings, check, prefixed) => {
          const deny: AclBinding = {
            resourceType: check.resourceType,
            resourceName: prefixed ? check.resourceName.slice(0, 1) : check.resourceName,
            patternType: prefixed ? AclPatternType.PREFIXED : AclPatternType.LITERAL,
            principal: check.principal,
            host: '*',
            operation: check.operation,
            permission: AclPermission.DENY,
          };
          const allowAll: AclBinding = {
            ...deny,
            operation: AclOperation.ALL,
            permission: AclPermission.ALLOW,
          };
          const authorizer = new Authorizer({ superUsers: [], allowEveryoneIfNoAclFound: true }, [
            allowAll,
            ...bindings,
            deny,
          ]);
          expect(
            authorizer.authorize(
              check.principal,
              check.host,
              check.operation,
              check.resourceType,
              check.resourceName,
            ),
          ).toBe(false);
        },
      ),
    );
  });

  it('given a super user, allows everything even against a DENY ALL', () => {
    fc.assert(
      fc.property(fc.array(bindingArb, { maxLength: 12 }), checkArb, (bindings, check) => {
        const denyAll: AclBinding = {
          resourceType: check.resourceType,
          resourceName: '*',
          patternType: AclPatternType.LITERAL,
          principal: 'User:*',
          host: '*',
          operation: AclOperation.ALL,
          permission: AclPermission.DENY,
        };
        const authorizer = new Authorizer(
          { superUsers: [check.principal], allowEveryoneIfNoAclFound: false },
          [...bindings, denyAll],
        );
        expect(
          authorizer.authorize(
            check.principal,
            check.host,
            check.operation,
            check.resourceType,
            check.resourceName,
          ),
        ).toBe(true);
      }),
    );
  });

  it('prefixed matches names that start with the prefix; literal matches only the exact name', () => {
    const allow = (name: string, patternType: AclBinding['patternType']): AclBinding => ({
      resourceType: AclResourceType.TOPIC,
      resourceName: name,
      patternType,
      principal: 'User:alice',
      host: '*',
      operation: AclOperation.WRITE,
      permission: AclPermission.ALLOW,
    });
    const prefixed = new Authorizer({ superUsers: [], allowEveryoneIfNoAclFound: false }, [
      allow('ord', AclPatternType.PREFIXED),
    ]);
    expect(prefixed.authorize('User:alice', 'h', AclOperation.WRITE, AclResourceType.TOPIC, 'orders')).toBe(
      true,
    );
    expect(prefixed.authorize('User:alice', 'h', AclOperation.WRITE, AclResourceType.TOPIC, 'payments')).toBe(
      false,
    );
    const literal = new Authorizer({ superUsers: [], allowEveryoneIfNoAclFound: false }, [
      allow('ord', AclPatternType.LITERAL),
    ]);
    expect(literal.authorize('User:alice', 'h', AclOperation.WRITE, AclResourceType.TOPIC, 'orders')).toBe(
      false,
    );
    expect(literal.authorize('User:alice', 'h', AclOperation.WRITE, AclResourceType.TOPIC, 'ord')).toBe(true);
    expect(literal.authorize('User:bob', 'h', AclOperation.WRITE, AclResourceType.TOPIC, 'ord')).toBe(false);
  });

  it('implies Describe from Read, Write, Delete and Alter, and DescribeConfigs from AlterConfigs, nothing else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...checkedOperations),
        fc.constantFrom(...checkedOperations),
        (granted, wanted) => {
          const expected =
            granted === wanted ||
            (wanted === AclOperation.DESCRIBE &&
              [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER].includes(
                granted as typeof AclOperation.READ,
              )) ||
            (wanted === AclOperation.DESCRIBE_CONFIGS && granted === AclOperation.ALTER_CONFIGS);
          expect(allowedBy(granted, wanted)).toBe(expected);
          expect(allowedBy(AclOperation.ALL, wanted)).toBe(true);
        },
      ),
    );
  });

  it('given no ACL naming a resource, follows allowEveryoneIfNoAclFound', () => {
    const open = new Authorizer({ superUsers: [], allowEveryoneIfNoAclFound: true });
    const closed = new Authorizer({ superUsers: [], allowEveryoneIfNoAclFound: false });
    expect(open.allowsEverything).toBe(true);
    expect(open.authorize('User:ANONYMOUS', 'h', AclOperation.READ, AclResourceType.TOPIC, 't')).toBe(true);
    expect(closed.authorize('User:ANONYMOUS', 'h', AclOperation.READ, AclResourceType.TOPIC, 't')).toBe(
      false,
    );
  });
});
