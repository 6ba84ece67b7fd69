import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { runCommand } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * confluent-kafka-python 1.7.0 on librdkafka 2.0.2 (Debian 12's
 * python3-confluent-kafka) runs transactions against the real broker:
 * init_transactions, a committed transaction with send_offsets_to_transaction,
 * an aborted one, and a second producer with the same transactional.id that
 * fences the first. A read_committed consumer (librdkafka's default) reads
 * the committed records only.
 */
const script = `
import sys
from confluent_kafka import Producer, Consumer, TopicPartition, KafkaException
b = sys.argv[1]
def producer():
    p = Producer({'bootstrap.servers': b, 'transactional.id': 'py-tx', 'transaction.timeout.ms': 10000})
    p.init_transactions(15)
    return p
p = producer()
p.begin_transaction()
for i in range(3): p.produce('py', value=b'c%d' % i, partition=i % 2)
group = Consumer({'bootstrap.servers': b, 'group.id': 'py-group'})
p.send_offsets_to_transaction([TopicPartition('py-in', 0, 7)], group.consumer_group_metadata(), 15)
p.commit_transaction(15)
p.begin_transaction()
p.produce('py', value=b'aborted', partition=0)
p.flush(10)
p.abort_transaction(15)
q = producer()
try:
    p.begin_transaction()
    p.produce('py', value=b'zombie', partition=1)
    p.commit_transaction(15)
    print('zombie committed')
except KafkaException as e:
    print('zombie fenced', e.args[0].fatal())
q.begin_transaction()
q.produce('py', value=b'c3', partition=1)
q.commit_transaction(15)
c = Consumer({'bootstrap.servers': b, 'group.id': 'py-reader', 'auto.offset.reset': 'earliest', 'isolation.level': 'read_committed'})
c.subscribe(['py'])
seen = []
for _ in range(40):
    m = c.poll(0.25)
    if m is not None and m.error() is None: seen.append(m.value().decode())
    if len(seen) >= 4: break
print('seen', sorted(seen))
print('offset', group.committed([TopicPartition('py-in', 0)], timeout=10)[0].offset)
c.close()
group.close()
`;

describe('confluent-kafka (librdkafka) transactions on the real broker', () => {
  let broker: Broker | null = null;
  const temp = makeTempDir('confluent-txn');
  afterEach(async () => {
    await broker?.stop();
    broker = null;
  });
  afterAll(() => temp.cleanup());

  it('commits, aborts, fences a zombie producer, and reads committed records only', async () => {
    broker = await startBroker(testBrokerConfig(temp.dir), { http: false });
    await broker.engine.createTopic('py', 2);
    await broker.engine.createTopic('py-in', 1);
    const stdout = await runCommand(
      '/usr/bin/python3',
      ['-c', script, `127.0.0.1:${broker.kafkaPort}`],
      '',
      60_000,
    );
    expect(stdout.trim().split('\n')).toEqual([
      'zombie fenced True',
      "seen ['c0', 'c1', 'c2', 'c3']",
      'offset 7',
    ]);
  }, 90_000);
});
