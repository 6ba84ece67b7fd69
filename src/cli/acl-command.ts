import { errorMessage } from '../common/errors.js';
import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
  aclBindingProblem,
  aclOperationName,
  aclResourceTypeName,
  CLUSTER_RESOURCE_NAME,
  parseAclOperation,
} from '../security/acl.js';
import { AclStore } from '../security/acl-store.js';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import {
  type CommandSpec,
  helpText,
  type ParsedCommand,
  runSubcommand,
  type Subcommand,
  stringValue,
  stringValues,
} from './command-spec.js';
import { openEtcdAcls } from './etcd-acls.js';
import { outputFormat, printOutput, renderTable } from './output.js';

/**
 * `pyralog acl add|remove|list --data DIR`: the ACLs in a broker's data directory. A running
 * broker picks a change up within a second (it watches the file); clients manage the same ACLs
 * over the Kafka door with CreateAcls/DescribeAcls/DeleteAcls. `--etcd URLS [--cluster-name N]`
 * instead works on a cluster's ACLs in etcd, which every broker of it watches.
 */
const storeOptions = {
  data: { type: 'string', valueName: 'DIR', description: 'the broker data directory (or --etcd)' },
  etcd: {
    type: 'string',
    valueName: 'URLS',
    description: "cluster mode: the cluster's etcd client URLs, comma-separated (instead of --data)",
  },
  'cluster-name': {
    type: 'string',
    valueName: 'NAME',
    description: 'with --etcd: the cluster name, as given to pyralog serve --cluster [pyralog]',
  },
  'etcd-tls-ca-file': {
    type: 'string',
    valueName: 'FILE',
    description: "with --etcd: PEM CA of etcd's certificate",
  },
  'etcd-tls-cert-file': {
    type: 'string',
    valueName: 'FILE',
    description: 'with --etcd: PEM client certificate',
  },
  'etcd-tls-key-file': { type: 'string', valueName: 'FILE', description: 'with --etcd: PEM client key' },
} as const;

const resourceOptions = {
  ...storeOptions,
  topic: {
    type: 'string',
    valueName: 'NAME',
    description: 'a topic (or topic prefix with --pattern prefixed)',
  },
  group: { type: 'string', valueName: 'NAME', description: 'a consumer group' },
  'transactional-id': { type: 'string', valueName: 'ID', description: 'a transactional id' },
  cluster: { type: 'boolean', description: 'the cluster' },
  pattern: { type: 'string', valueName: 'literal|prefixed', description: 'how the name matches [literal]' },
  operation: {
    type: 'string',
    multiple: true,
    valueName: 'OP',
    description:
      'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All',
  },
  host: { type: 'string', valueName: 'HOST', description: 'client address the ACL applies to [*]' },
} as const;

const addSpec: CommandSpec = {
  name: 'pyralog acl add',
  summary: 'allow or deny principals operations on a resource',
  options: {
    ...resourceOptions,
    allow: {
      type: 'string',
      multiple: true,
      valueName: 'PRINCIPAL',
      description: 'User:name to allow (repeatable)',
    },
    deny: {
      type: 'string',
      multiple: true,
      valueName: 'PRINCIPAL',
      description: 'User:name to deny (repeatable)',
    },
  },
  details: 'Example: pyralog acl add --data ./data --allow User:alice --operation Write --topic orders',
};

const removeSpec: CommandSpec = {
  name: 'pyralog acl remove',
  summary: 'remove the ACLs that match (all given fields must match)',
  options: {
    ...resourceOptions,
    principal: { type: 'string', valueName: 'PRINCIPAL', description: 'only this principal' },
    format: { type: 'string', valueName: 'table|json|yaml', description: 'output format [table]' },
  },
};

const listSpec: CommandSpec = {
  name: 'pyralog acl list',
  summary: 'list the ACLs',
  options: {
    ...storeOptions,
    format: { type: 'string', valueName: 'table|json|yaml', description: 'output format [table]' },
  },
};

/** The ACLs the options name: a data directory's file, or a cluster's keys in etcd. */
interface OpenedAcls {
  list(): Promise<readonly AclBinding[]>;
  add(bindings: readonly AclBinding[]): Promise<void>;
  remove(filter: AclBindingFilter): Promise<AclBinding[]>;
}

function openStore(spec: CommandSpec, parsed: ParsedCommand): OpenedAcls {
  const dataDir = stringValue(parsed.values, 'data');
  const etcd = stringValue(parsed.values, 'etcd');
  if ((dataDir === undefined) === (etcd === undefined)) {
    throw new UsageError('give --data DIR or --etcd URLS', helpText(spec));
  }
  if (etcd !== undefined) {
    return openEtcdAcls({
      endpoints: etcd
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url.length > 0),
      cluster: stringValue(parsed.values, 'cluster-name') ?? 'pyralog',
      caFile: stringValue(parsed.values, 'etcd-tls-ca-file') ?? null,
      certFile: stringValue(parsed.values, 'etcd-tls-cert-file') ?? null,
      keyFile: stringValue(parsed.values, 'etcd-tls-key-file') ?? null,
    });
  }
  let store: AclStore;
  try {
    store = new AclStore(dataDir!);
  } catch (error) {
    throw new CliError(`cannot open the ACLs of ${dataDir}: ${errorMessage(error)}`, ExitCode.FAILURE);
  }
  return {
    list: async () => store.list(),
    add: async (bindings) => store.add(bindings),
    remove: async (filter) => store.remove(filter),
  };
}

/** The resource the options name (exactly one of --topic, --group, --transactional-id, --cluster). */
function resourceOf(
  spec: CommandSpec,
  parsed: ParsedCommand,
  required: boolean,
): { type: AclBinding['resourceType']; name: string } | null {
  const named: { type: AclBinding['resourceType']; name: string }[] = [];
  const topic = stringValue(parsed.values, 'topic');
  const group = stringValue(parsed.values, 'group');
  const transactionalId = stringValue(parsed.values, 'transactional-id');
  if (topic !== undefined) named.push({ type: AclResourceType.TOPIC, name: topic });
  if (group !== undefined) named.push({ type: AclResourceType.GROUP, name: group });
  if (transactionalId !== undefined)
    named.push({ type: AclResourceType.TRANSACTIONAL_ID, name: transactionalId });
  if (parsed.values.cluster === true)
    named.push({ type: AclResourceType.CLUSTER, name: CLUSTER_RESOURCE_NAME });
  if (named.length > 1) throw new UsageError('name one resource', helpText(spec));
  if (named.length === 0 && required) {
    throw new UsageError(
      'name a resource: --topic, --group, --transactional-id or --cluster',
      helpText(spec),
    );
  }
  return named[0] ?? null;
}

function patternOf(spec: CommandSpec, parsed: ParsedCommand): AclBinding['patternType'] {
  const pattern = (stringValue(parsed.values, 'pattern') ?? 'literal').toLowerCase();
  if (pattern === 'literal') return AclPatternType.LITERAL;
  if (pattern === 'prefixed') return AclPatternType.PREFIXED;
  throw new UsageError('--pattern must be literal or prefixed', helpText(spec));
}

function operationsOf(spec: CommandSpec, parsed: ParsedCommand): AclBinding['operation'][] {
  return stringValues(parsed.values, 'operation').map((text) => {
    const operation = parseAclOperation(text);
    if (operation === undefined) throw new UsageError(`unknown operation ${text}`, helpText(spec));
    return operation;
  });
}

function printBindings(format: ReturnType<typeof outputFormat>, bindings: readonly AclBinding[]): void {
  const rows = bindings.map((binding) => ({
    permission: binding.permission === AclPermission.ALLOW ? 'ALLOW' : 'DENY',
    principal: binding.principal,
    operation: aclOperationName(binding.operation),
    resourceType: aclResourceTypeName(binding.resourceType),
    resourceName: binding.resourceName,
    pattern: binding.patternType === AclPatternType.PREFIXED ? 'PREFIXED' : 'LITERAL',
    host: binding.host,
  }));
  printOutput(format, rows, () =>
    rows.length === 0
      ? 'no ACLs'
      : renderTable(rows, [
          { header: 'permission', value: (row) => row.permission },
          { header: 'principal', value: (row) => row.principal },
          { header: 'operation', value: (row) => row.operation },
          { header: 'resource', value: (row) => `${row.resourceType}:${row.resourceName}` },
          { header: 'pattern', value: (row) => row.pattern },
          { header: 'host', value: (row) => row.host },
        ]),
  );
}

const subcommands: Record<string, Subcommand> = {
  add: {
    spec: addSpec,
    async run(parsed) {
      const resource = resourceOf(addSpec, parsed, true)!;
      const patternType = patternOf(addSpec, parsed);
      const operations = operationsOf(addSpec, parsed);
      if (operations.length === 0) throw new UsageError('give at least one --operation', helpText(addSpec));
      const host = stringValue(parsed.values, 'host') ?? '*';
      const grants = [
        ...stringValues(parsed.values, 'allow').map((principal) => ({
          principal,
          permission: AclPermission.ALLOW,
        })),
        ...stringValues(parsed.values, 'deny').map((principal) => ({
          principal,
          permission: AclPermission.DENY,
        })),
      ];
      if (grants.length === 0) throw new UsageError('give --allow or --deny PRINCIPAL', helpText(addSpec));
      const bindings: AclBinding[] = [];
      for (const grant of grants) {
        for (const operation of operations) {
          const binding: AclBinding = {
            resourceType: resource.type,
            resourceName: resource.name,
            patternType,
            principal: grant.principal,
            host,
            operation,
            permission: grant.permission as AclBinding['permission'],
          };
          const problem = aclBindingProblem(binding);
          if (problem !== null) throw new UsageError(problem, helpText(addSpec));
          bindings.push(binding);
        }
      }
      await openStore(addSpec, parsed).add(bindings);
      console.log(`added ${bindings.length} ACL${bindings.length === 1 ? '' : 's'}`);
      return ExitCode.OK;
    },
  },
  remove: {
    spec: removeSpec,
    async run(parsed) {
      const resource = resourceOf(removeSpec, parsed, false);
      const operations = operationsOf(removeSpec, parsed);
      if (operations.length > 1)
        throw new UsageError('remove takes at most one --operation', helpText(removeSpec));
      const filter: AclBindingFilter = {
        resourceType: resource?.type ?? AclResourceType.ANY,
        resourceName: resource?.name ?? null,
        patternType:
          stringValue(parsed.values, 'pattern') === undefined
            ? AclPatternType.ANY
            : patternOf(removeSpec, parsed),
        principal: stringValue(parsed.values, 'principal') ?? null,
        host: stringValue(parsed.values, 'host') ?? null,
        operation: operations[0] ?? AclOperation.ANY,
        permission: AclPermission.ANY,
      };
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(removeSpec));
      printBindings(format, await openStore(removeSpec, parsed).remove(filter));
      return ExitCode.OK;
    },
  },
  list: {
    spec: listSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(listSpec));
      printBindings(format, await openStore(listSpec, parsed).list());
      return ExitCode.OK;
    },
  },
};

export function aclCommand(argv: readonly string[]): Promise<number> {
  return runSubcommand(
    'pyralog acl',
    "ACLs in a broker data directory or a cluster's etcd: add, remove, list.",
    subcommands,
    argv,
  );
}
