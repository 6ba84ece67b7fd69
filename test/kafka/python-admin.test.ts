import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { runCommand } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The Python admin clients of Debian 12 against the real broker:
 * kafka-python 2.0.2 (python3-kafka) and confluent-kafka-python 1.7.0 on
 * librdkafka 2.0.2 (python3-confluent-kafka). Each script prints what the
 * broker answered, and the test compares the lines. confluent-kafka 1.7.0 has
 * no incremental_alter_configs, delete_records, describe_cluster or group
 * deletion (later versions add them); kafka-python 2.0.2 has no
 * delete_records or incremental alter either.
 */
const kafkaPythonScript = `
import sys
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic, NewPartitions, ConfigResource, ConfigResourceType
from kafka.errors import KafkaError
b = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=b)
admin.create_topics([NewTopic('pa', 1, 1)])
r = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'pa', configs={'retention.ms': '7200000'})])
print('alter', [x[0] for x in r.resources])
d = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'pa', configs={'retention.ms': None})])
print('describe', [(e[0], e[1], e[3]) for resp in d for res in resp.resources for e in res[4]])
print('partitions', [t[1] for t in admin.create_partitions({'pa': NewPartitions(3)}).topic_errors])
c = admin.describe_cluster()
print('cluster', c['cluster_id'], c['controller_id'], [n['node_id'] for n in c['brokers']])
p = KafkaProducer(bootstrap_servers=b)
for i in range(3): p.send('pa', b'v', partition=i)
p.flush()
consumer = KafkaConsumer('pa', bootstrap_servers=b, group_id='pg', auto_offset_reset='earliest', consumer_timeout_ms=4000)
print('consumed', len(list(consumer)))
consumer.commit()
consumer.close()
print('offsets', sorted((tp.partition, o.offset) for tp, o in admin.list_consumer_group_offsets('pg').items()))
print('describe groups', [(g.group, g.state) for g in admin.describe_consumer_groups(['pg'])])
print('delete groups', [(g, e.__name__) for g, e in admin.delete_consumer_groups(['pg'])])
print('groups after', admin.list_consumer_groups())
`;

const confluentScript = `
import sys
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
a = AdminClient({'bootstrap.servers': sys.argv[1]})
def wait(fs):
    return {k: f.result(timeout=20) for k, f in fs.items()}
wait(a.create_topics([NewTopic('ck', 1, 1)]))
wait(a.alter_configs([ConfigResource('topic', 'ck', set_config={'retention.ms': '7200000', 'cleanup.policy': 'compact'})]))
for r, entries in wait(a.describe_configs([ConfigResource('topic', 'ck')])).items():
    e = entries['retention.ms']
    print('describe', e.name, e.value, e.source, entries['cleanup.policy'].value, entries['segment.ms'].source)
wait(a.create_partitions([NewPartitions('ck', 3)]))
print('partitions', len(a.list_topics(timeout=10).topics['ck'].partitions))
try:
    wait(a.create_partitions([NewPartitions('ck', 2)]))
except Exception as e:
    print('fewer', e.args[0].name())
try:
    wait(a.alter_configs([ConfigResource('topic', 'ck', set_config={'no.such': '1'})]))
except Exception as e:
    print('unknown name', e.args[0].name())
print('groups', [g.id for g in a.list_groups(timeout=10)])
`;

describe('Python admin clients on the real broker', () => {
  let broker: Broker | null = null;
  const temp = makeTempDir('python-admin');
  afterEach(async () => {
    await broker?.stop();
    broker = null;
  });
  afterAll(() => temp.cleanup());

  it('kafka-python 2.0.2: alter and describe configs, create partitions, describe cluster, group offsets and deletion', async () => {
    broker = await startBroker(testBrokerConfig(temp.dir), { http: false });
    const output = await runCommand(
      '/usr/bin/python3',
      ['-c', kafkaPythonScript, `127.0.0.1:${broker.kafkaPort}`],
      '',
      60_000,
    );
    expect(output.trim().split('\n')).toEqual([
      'alter [0]',
      "describe [('retention.ms', '7200000', 1)]",
      'partitions [0]',
      'cluster pyralog 0 [0]',
      'consumed 3',
      'offsets [(0, 1), (1, 1), (2, 1)]',
      "describe groups [('pg', 'Empty')]",
      "delete groups [('pg', 'NoError')]",
      'groups after []',
    ]);
    expect(broker.engine.describeTopic('pa')?.config.retentionMs).toBe(7_200_000);
  }, 90_000);

  it('confluent-kafka 1.7.0 (librdkafka 2.0.2): alter and describe configs, create partitions, refusals, list groups', async () => {
    broker = await startBroker(testBrokerConfig(temp.dir), { http: false });
    const output = await runCommand(
      '/usr/bin/python3',
      ['-c', confluentScript, `127.0.0.1:${broker.kafkaPort}`],
      '',
      60_000,
    );
    expect(output.trim().split('\n')).toEqual([
      'describe retention.ms 7200000 1 compact 5',
      'partitions 3',
      'fewer INVALID_PARTITIONS',
      'unknown name INVALID_CONFIG',
      'groups []',
    ]);
  }, 90_000);
});
