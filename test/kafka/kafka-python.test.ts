import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaFixture, startKafkaFixture } from '../support/kafka-fixture.js';
import { runCommand } from '../support/run-command.js';

/**
 * kafka-python 2.0.2 (Debian 12's python3-kafka) against the listener: its
 * admin client creates, lists and deletes topics and lists and describes
 * groups and their offsets; its producer and group consumer move records.
 * It negotiates its own (older, non-flexible) versions through ApiVersions v0.
 */
const script = (bootstrap: string) => `
from kafka import KafkaProducer, KafkaConsumer, KafkaAdminClient
from kafka.admin import NewTopic
b = '${bootstrap}'
admin = KafkaAdminClient(bootstrap_servers=b)
admin.create_topics([NewTopic('kp', 2, 1)])
print('topics', sorted(t for t in admin.list_topics() if not t.startswith('__')))
p = KafkaProducer(bootstrap_servers=b)
for i in range(5): p.send('kp', f'v{i}'.encode(), partition=i % 2)
p.flush()
c = KafkaConsumer('kp', bootstrap_servers=b, group_id='pg', auto_offset_reset='earliest', consumer_timeout_ms=4000)
print('consumed', sorted(m.value.decode() for m in c))
c.commit()
c.close()
print('groups', admin.list_consumer_groups())
print('offsets', sorted((tp.partition, o.offset) for tp, o in admin.list_consumer_group_offsets('pg').items()))
print('describe', [(g.group, g.state) for g in admin.describe_consumer_groups(['pg'])])
admin.delete_topics(['kp'])
print('after', sorted(t for t in admin.list_topics() if not t.startswith('__')))
`;

describe('kafka-python 2.0.2', () => {
  let fixture: KafkaFixture;
  beforeAll(async () => {
    fixture = await startKafkaFixture();
  });
  afterAll(() => fixture.close());

  it('admin, producer and group consumer calls all succeed', async () => {
    const output = await runCommand(
      '/usr/bin/python3',
      ['-c', script(`127.0.0.1:${fixture.listener.port}`)],
      '',
      60_000,
    );
    expect(output.trim().split('\n')).toEqual([
      "topics ['kp']",
      "consumed ['v0', 'v1', 'v2', 'v3', 'v4']",
      "groups [('pg', 'consumer')]",
      'offsets [(0, 3), (1, 2)]',
      "describe [('pg', 'Empty')]",
      'after []',
    ]);
  }, 90_000);
});
