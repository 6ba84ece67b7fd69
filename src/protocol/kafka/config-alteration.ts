import type { ClusterMetadata } from '../../cluster/cluster-metadata.js';
import { type TopicConfig, validateTopicConfig } from '../../common/broker-config.js';
import { ConfigError } from '../../common/errors.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { topicConfigFromEntries, topicConfigSpec } from '../../common/topic-config-table.js';
import type { Engine } from '../../engine/engine-api.js';
import { AclOperation } from '../../security/acl.js';
import { applyTopicConfig } from '../topic-config-apply.js';
import type { KafkaRequestContext } from './api.js';
import { auditAdminChange, configResourceAllowed } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * What AlterConfigs and IncrementalAlterConfigs share: turning a resource's
 * requested changes into a whole new topic config, checking it with the topic
 * config table and validateTopicConfig, and applying it (topic-config-apply.ts:
 * in cluster mode into the topic's etcd record first; then through the
 * engine's alterTopicConfig, persisted in the topic registry and taken up by
 * the owning shards). Bad input is answered with Kafka's codes and a message
 * naming the setting; nothing is applied unless the whole resource is valid.
 *
 * Broker resources (type 4): the broker's settings are fixed at start (the
 * command line), so a change is refused with INVALID_REQUEST naming that;
 * an empty change for this broker (or the cluster default, name "") succeeds.
 */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** IncrementalAlterConfigs operations. */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface ConfigChange {
  name: string;
  operation: number;
  value: string | null;
}

export interface AlterOutcome {
  errorCode: number;
  errorMessage: string | null;
}

const OK: AlterOutcome = { errorCode: KafkaErrorCode.NONE, errorMessage: null };

function listItems(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * The topic's next config: from `base` (the current config for incremental
 * changes, the broker's topic defaults for a full replacement) with each
 * change applied. Throws ConfigError naming a bad setting.
 */
export function nextTopicConfig(
  current: TopicConfig,
  base: TopicConfig,
  defaults: TopicConfig,
  changes: readonly ConfigChange[],
): TopicConfig {
  const next: Record<string, unknown> = { ...base };
  for (const change of changes) {
    const spec = topicConfigSpec(change.name);
    if (spec === undefined) throw new ConfigError(change.name, 'is not a topic setting this broker knows');
    if (spec.readOnly) throw new ConfigError(change.name, 'is read-only');
    const field = spec.field;
    switch (change.operation) {
      case ConfigOperation.SET:
        // AlterConfigs' null value and a SET without a value mean "back to the default".
        next[field] = change.value === null ? defaults[field] : spec.parse(change.value);
        break;
      case ConfigOperation.DELETE:
        next[field] = defaults[field];
        break;
      case ConfigOperation.APPEND:
      case ConfigOperation.SUBTRACT: {
        if (spec.type !== 'list') {
          throw new ConfigError(
            change.name,
            'is not a list: APPEND and SUBTRACT apply to list settings only',
          );
        }
        const items = listItems(spec.format(current[field]));
        const given = listItems(change.value ?? '');
        const result =
          change.operation === ConfigOperation.APPEND
            ? [...items, ...given.filter((item) => !items.includes(item))]
            : items.filter((item) => !given.includes(item));
        if (result.length === 0) throw new ConfigError(change.name, 'would become an empty list');
        next[field] = spec.parse(result.join(','));
        break;
      }
      default:
        throw new ConfigError(change.name, `unknown operation ${change.operation}`);
    }
  }
  const config = next as unknown as TopicConfig;
  validateTopicConfig(config, '');
  return config;
}

/** Applies (or with validateOnly, only checks) a change to one resource. */
export async function alterResource(
  engine: Engine,
  topicDefaults: TopicConfig,
  nodeId: number,
  resource: { resourceType: number; resourceName: string; changes: readonly ConfigChange[] },
  incremental: boolean,
  validateOnly: boolean,
  /** Cluster mode: a topic in etcd has its config changed there (topic-config-apply.ts). */
  cluster?: ClusterMetadata,
): Promise<AlterOutcome> {
  const { resourceType, resourceName, changes } = resource;
  if (resourceType === ConfigResourceType.BROKER) {
    if (resourceName !== '' && resourceName !== String(nodeId)) {
      return { errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `no broker ${resourceName} here` };
    }
    if (changes.length === 0) return OK;
    return {
      errorCode: KafkaErrorCode.INVALID_REQUEST,
      errorMessage: 'broker settings are fixed when the broker starts (command line); they cannot be altered',
    };
  }
  if (resourceType !== ConfigResourceType.TOPIC) {
    return {
      errorCode: KafkaErrorCode.INVALID_REQUEST,
      errorMessage: `unsupported resource type ${resourceType}`,
    };
  }
  const names = new Set(changes.map((change) => change.name));
  if (names.size !== changes.length) {
    // Kafka refuses a resource that names one setting twice as a malformed request, not a bad value.
    return { errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: 'a setting is named more than once' };
  }
  // Cluster mode: a broker without a replica of a topic in etcd knows its config from etcd.
  const clusterTopic = cluster?.topic(resourceName);
  const topic =
    engine.describeTopic(resourceName) ??
    (clusterTopic === undefined
      ? undefined
      : { config: { ...topicDefaults, ...settingsOfClusterTopic(clusterTopic.config) } });
  if (topic === undefined) {
    return { errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'unknown topic' };
  }
  let next: TopicConfig;
  try {
    // AlterConfigs replaces the topic's whole set: what it does not name goes back to the default.
    next = nextTopicConfig(topic.config, incremental ? topic.config : topicDefaults, topicDefaults, changes);
  } catch (error) {
    if (error instanceof ConfigError)
      return { errorCode: KafkaErrorCode.INVALID_CONFIG, errorMessage: error.message };
    throw error;
  }
  if (validateOnly) return OK;
  const named = changes.map((change) => ({
    name: change.name,
    reset:
      change.operation === ConfigOperation.DELETE ||
      (change.operation === ConfigOperation.SET && change.value === null),
  }));
  const applied = await applyTopicConfig(engine, cluster, resourceName, next, named, incremental);
  return applied.errorCode === KafkaErrorCode.NONE ? OK : applied;
}

/** INVALID_REQUEST for every resource named more than once (Kafka refuses duplicates). */
export function duplicateResources(
  resources: readonly { resourceType: number; resourceName: string }[],
): Set<string> {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const r of resources) {
    const key = resourceKey(r);
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
  }
  return duplicates;
}

export function resourceKey(resource: { resourceType: number; resourceName: string }): string {
  return `${resource.resourceType}:${resource.resourceName}`;
}

/** A resource as AlterConfigs and IncrementalAlterConfigs name it, with its changes already read. */
export interface RequestedAlteration {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly changes: readonly ConfigChange[];
}

/**
 * The handler both AlterConfigs (`incremental` false: the whole set is
 * replaced) and IncrementalAlterConfigs run: request limits, duplicate
 * resources, the AlterConfigs ACL, then alterResource, one outcome per
 * resource in request order, with an audit line for each applied change.
 */
export async function alterConfigResources(
  resources: readonly RequestedAlteration[],
  context: KafkaRequestContext,
  apiName: string,
  incremental: boolean,
  validateOnly: boolean,
): Promise<(AlterOutcome & { resourceType: number; resourceName: string })[]> {
  const { engine, config } = context.deps;
  const tooMany = namesTooManyTopics(resources.length, context);
  const duplicates = duplicateResources(resources);
  const responses: (AlterOutcome & { resourceType: number; resourceName: string })[] = [];
  for (const resource of resources) {
    const { resourceType, resourceName } = resource;
    let outcome: AlterOutcome;
    if (tooMany) {
      outcome = { errorCode: REQUEST_LIMIT_ERROR, errorMessage: 'too many resources' };
    } else if (duplicates.has(resourceKey(resource))) {
      outcome = { errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: 'resource named more than once' };
    } else if (
      !configResourceAllowed(context, AclOperation.ALTER_CONFIGS, resourceType, resourceName, apiName)
    ) {
      outcome = {
        errorCode:
          resourceType === ConfigResourceType.TOPIC
            ? KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED
            : KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: null,
      };
    } else {
      outcome = await alterResource(
        engine,
        config.topicDefaults,
        config.nodeId,
        resource,
        incremental,
        validateOnly,
        context.deps.cluster,
      );
    }
    if (outcome.errorCode === KafkaErrorCode.NONE && !validateOnly) {
      auditAdminChange(context, 'alter configs', { resourceType, resourceName });
    }
    responses.push({ resourceType, resourceName, ...outcome });
  }
  return responses;
}

/** The settings a topic's etcd record holds, as a partial TopicConfig (a setting this broker does not know is skipped). */
function settingsOfClusterTopic(config: Readonly<Record<string, string>>): Partial<TopicConfig> {
  const known = Object.entries(config).filter(([name]) => topicConfigSpec(name) !== undefined);
  try {
    return topicConfigFromEntries(known.map(([name, value]) => ({ name, value })));
  } catch {
    return {};
  }
}
