import { CliError, ExitCode } from './cli-errors.js';
import {
  type CommandSpec,
  commonOptions,
  helpText,
  integerValue,
  runSubcommand,
  type Subcommand,
  stringValue,
} from './command-spec.js';
import { BrokerHttp } from './http-admin.js';
import { outputFormat, printOutput, renderTable } from './output.js';

/** `pyralog cluster info|health`: what the broker says about itself. */
interface ClusterInfo {
  clusterId: string;
  controller: number;
  brokers: { nodeId: number; host: string; kafkaPort: number }[];
  shards: number;
  fsync: string;
  topics: number;
  partitions: number;
  uptimeMs: number;
}

const infoSpec: CommandSpec = {
  name: 'pyralog cluster info',
  summary: 'brokers, shards, topic and partition counts',
  options: commonOptions,
};
const healthSpec: CommandSpec = {
  name: 'pyralog cluster health',
  summary: 'whether the broker answers; exit code 0 when healthy, 3 when unreachable',
  options: commonOptions,
};

const upSpec: CommandSpec = {
  name: 'pyralog cluster up',
  summary: 'start a local cluster: a 3-member etcd and N brokers (cluster mode, for trying it out)',
  options: {
    brokers: { type: 'string', valueName: 'N', description: 'brokers to start [3]' },
    data: {
      type: 'string',
      valueName: 'DIR',
      description: 'where etcd and the brokers keep data [./data/cluster]',
    },
    'kafka-port': {
      type: 'string',
      valueName: 'PORT',
      description: 'Kafka port of broker 1; broker i uses PORT+i-1 [9092]',
    },
    'http-port': {
      type: 'string',
      valueName: 'PORT',
      description: 'HTTP port of broker 1; broker i uses PORT+i-1 [8080]',
    },
    'etcd-port': {
      type: 'string',
      valueName: 'PORT',
      description: 'first etcd port; members use PORT..PORT+5 [2379]',
    },
    cluster: { type: 'string', valueName: 'NAME', description: 'cluster name [local]' },
  },
  details: 'Runs until Ctrl-C, then stops the brokers and etcd. Try: kcat -b 127.0.0.1:9092 -L',
};

const subcommands: Record<string, Subcommand> = {
  up: {
    spec: upSpec,
    async run(parsed) {
      const { clusterUp } = await import('./cluster-up.js');
      return clusterUp({
        brokers: integerValue(upSpec, parsed.values, 'brokers', 3, 1, 64),
        dataDir: stringValue(parsed.values, 'data') ?? './data/cluster',
        kafkaPortBase: integerValue(upSpec, parsed.values, 'kafka-port', 9092, 1, 65_000),
        httpPortBase: integerValue(upSpec, parsed.values, 'http-port', 8080, 1, 65_000),
        etcdPortBase: integerValue(upSpec, parsed.values, 'etcd-port', 2379, 1, 65_000),
        clusterName: stringValue(parsed.values, 'cluster') ?? 'local',
      });
    },
  },
  info: {
    spec: infoSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(infoSpec));
      const info = await BrokerHttp.fromOptions(parsed.values).get<ClusterInfo>('/cluster');
      printOutput(format, info, () =>
        [
          `CLUSTER     ${info.clusterId}`,
          `CONTROLLER  ${info.controller}`,
          `SHARDS      ${info.shards}`,
          `FSYNC       ${info.fsync}`,
          `TOPICS      ${info.topics}`,
          `PARTITIONS  ${info.partitions}`,
          `UPTIME      ${Math.round(info.uptimeMs / 1000)} s`,
          '',
          renderTable(info.brokers, [
            { header: 'id', value: (b) => b.nodeId },
            { header: 'host', value: (b) => b.host },
            { header: 'kafka-port', value: (b) => b.kafkaPort },
          ]),
        ].join('\n'),
      );
      return 0;
    },
  },
  health: {
    spec: healthSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(healthSpec));
      const http = BrokerHttp.fromOptions(parsed.values);
      const startedMs = performance.now();
      const health = await http.get<{ status: string }>('/health');
      const report = {
        url: http.baseUrl,
        healthy: health.status === 'ok',
        responseMs: Math.round(performance.now() - startedMs),
      };
      printOutput(format, report, () =>
        renderTable(
          [report],
          [
            { header: 'broker', value: (r) => r.url },
            { header: 'healthy', value: (r) => r.healthy },
            { header: 'response-ms', value: (r) => r.responseMs },
          ],
        ),
      );
      if (!report.healthy)
        throw new CliError(`the broker reports status "${health.status}"`, ExitCode.UNAVAILABLE);
      return 0;
    },
  },
};

export function clusterCommand(argv: readonly string[]): Promise<number> {
  return runSubcommand(
    'pyralog cluster',
    'What the broker says about itself; or start a local cluster.',
    subcommands,
    argv,
  );
}
