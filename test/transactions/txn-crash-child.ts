/**
 * Child process for the coordinator crash test, run with `node --import tsx`.
 *
 *   txn-crash-child.ts <dataDir> run <crashPoint>
 *     starts a real sharded engine, the group and transaction coordinators,
 *     and runs one transaction: InitProducerId, AddPartitions (two partitions
 *     of `out`), a transactional batch on each, AddOffsets and TxnOffsetCommit
 *     for group `g`, EndTxn(commit); it SIGKILLs itself at `crashPoint`:
 *       ongoing    after the data is written, before EndTxn
 *       prepared   at the first marker (PrepareCommit durable, no marker written)
 *       marked     once every marker is written (CompleteCommit not written)
 *       completed  after CompleteCommit
 *   txn-crash-child.ts <dataDir> verify
 *     opens the same data dir, lets the coordinator resume and expire what
 *     is left (every transaction times out 1 s in), and prints one JSON line:
 *     the transaction's state, the records a read_committed reader sees in
 *     each partition, and the group's committed offset.
 */
import { defaultBrokerConfig } from '../../src/common/broker-config.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { type Offset, readInt64 } from '../../src/common/offset.js';
import { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchAttributes, BatchHeader } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import { TransactionCoordinator } from '../../src/transactions/transaction-coordinator.js';
import type { TxnMarker } from '../../src/transactions/transaction-markers.js';

const [dataDir, mode, crashPoint] = process.argv.slice(2) as [string, 'run' | 'verify', string | undefined];
const TIMEOUT_MS = 1_000;
const PARTITIONS = 2;

const config = { ...defaultBrokerConfig(2), dataDir, shardCount: 2, logLevel: 'silent' as const };
const engine = await ShardedEngine.start(config);
const groups = await GroupCoordinator.open(engine);
let markersWritten = 0;
const crash = (point: string): void => {
  if (crashPoint === point) process.kill(process.pid, 'SIGKILL');
};
const writeMarker = async (marker: TxnMarker): Promise<KafkaErrorCode> => {
  crash('prepared');
  const code = await engine.writeTxnMarker(marker);
  if (code === KafkaErrorCode.NONE && ++markersWritten === PARTITIONS) crash('marked');
  return code;
};
const transactions = await TransactionCoordinator.open(engine, {
  nextProducerId: () => engine.nextProducerId(),
  writeMarker,
  offsets: groups,
  abortCheckIntervalMs: 100,
});

/** What a read_committed consumer keeps of fetched batches: no control batches, no aborted data. */
function readCommitted(
  records: Uint8Array,
  aborted: readonly { producerId: number; firstOffset: number }[],
): string[] {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const values: string[] = [];
  for (let at = 0; ; ) {
    const size = nextBatchBytes(view, at, records.length);
    if (size < 0) break;
    const attributes = view.getInt16(at + BatchHeader.ATTRIBUTES);
    const producerId = readInt64(view, at + BatchHeader.PRODUCER_ID);
    const baseOffset = readInt64(view, at + BatchHeader.BASE_OFFSET);
    const abortedHere = aborted.some((t) => t.producerId === producerId && t.firstOffset <= baseOffset);
    if ((attributes & BatchAttributes.CONTROL) === 0 && !abortedHere) {
      for (const record of decodeBatchRecords(records.subarray(at, at + size)))
        values.push(new TextDecoder().decode(record.value ?? new Uint8Array(0)));
    }
    at += size;
  }
  return values;
}

function must(code: number, what: string): void {
  if (code !== KafkaErrorCode.NONE) throw new Error(`${what}: error ${code}`);
}

if (mode === 'run') {
  if (engine.describeTopic('out') === undefined)
    must(await engine.createTopic('out', PARTITIONS), 'create out');
  if (engine.describeTopic('in') === undefined) must(await engine.createTopic('in', 1), 'create in');
  const init = await transactions.initProducerId({
    transactionalId: 'tx',
    transactionTimeoutMs: TIMEOUT_MS,
    producerId: -1,
    producerEpoch: -1,
  });
  must(init.errorCode, 'init');
  const producer = { transactionalId: 'tx', producerId: init.producerId, producerEpoch: init.producerEpoch };
  must(
    await transactions.addPartitions(
      producer,
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'out', partition })),
    ),
    'add partitions',
  );
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const batch = buildRecordBatch(
      [0, 1, 2].map((i) => ({ key: null, value: new TextEncoder().encode(`p${partition}-${i}`) })),
      {
        producerId: init.producerId,
        producerEpoch: init.producerEpoch,
        baseSequence: 0,
        transactional: true,
      },
    );
    must((await engine.produce('out', partition, batch, -1)).errorCode, `produce ${partition}`);
  }
  must(await transactions.addOffsets(producer, 'g'), 'add offsets');
  const committed = await transactions.commitOffsets({
    ...producer,
    groupId: 'g',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ topic: 'in', partitions: [{ partition: 0, offset: 42, metadata: null }] }],
  });
  must(committed.topics[0]!.partitions[0]!.errorCode, 'txn offset commit');
  crash('ongoing');
  must(await transactions.endTransaction(producer, true), 'end');
  await transactions.settled();
  crash('completed');
  process.stdout.write('not crashed\n');
  process.exit(1);
}

// verify: everything left resumes (Prepare states) or times out (Ongoing).
const deadline = Date.now() + 10_000;
while (Date.now() < deadline) {
  await transactions.settled();
  const state = transactions.describe('tx').state;
  if (state === 'CompleteCommit' || state === 'CompleteAbort') break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const visible: string[][] = [];
for (let partition = 0; partition < PARTITIONS; partition++) {
  const fetched = await engine.fetch({
    partitions: [{ topic: 'out', partition, offset: 0 as Offset, maxBytes: 1 << 20 }],
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 1,
  });
  const outcome = fetched.partitions[0]!;
  visible.push(readCommitted(outcome.records, outcome.abortedTransactions));
}
const offsets = await groups.fetchOffsets({ groupId: 'g', topics: [{ topic: 'in', partitions: [0] }] });
process.stdout.write(
  `${JSON.stringify({
    state: transactions.describe('tx').state,
    visible,
    offset: offsets.topics[0]!.partitions[0]!.offset,
  })}\n`,
);
await transactions.close();
await groups.close();
await engine.stop();
process.exit(0);
