/**
 * Child process for the transaction crash test, run with `node --import tsx`.
 * It opens (and so recovers) a partition log in the given directory with
 * tiny segments, rebuilds its transaction state as a shard does, then
 * appends random plain and transactional batches and COMMIT/ABORT markers
 * for a few producers as fast as it can, with the shard's roll hook writing
 * each closing segment's `.txnindex`. It prints `ready` once recovered and
 * `step <n>` now and then; the parent SIGKILLs it at a random moment.
 */
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { PartitionTxns } from '../../src/engine/partition-txns.js';
import { persistSegmentTxns, rebuildTxnState } from '../../src/engine/txn-state-rebuild.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { buildControlBatch } from '../../src/record/control-batch.js';
import { PartitionLog } from '../../src/storage/partition-log.js';

const [dir] = process.argv.slice(2) as [string];
const log = PartitionLog.open({
  dir,
  config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 2048 },
  fsync: 'never',
});
const txns = new PartitionTxns();
log.onRoll = (base, end) => persistSegmentTxns(txns, dir, base, end);
rebuildTxnState(txns, log);
process.stdout.write('ready\n');

let step = 0;
const appendSome = (): void => {
  for (let i = 0; i < 20; i++, step++) {
    const choice = Math.random();
    const producerId = 1 + Math.floor(Math.random() * 4);
    if (choice < 0.3) {
      log.append(buildRecordBatch([{ key: null, value: new Uint8Array(30 + (step % 50)) }]), Date.now());
    } else if (choice < 0.8) {
      const batch = buildRecordBatch([{ key: null, value: new Uint8Array(40).fill(step & 0xff) }], {
        producerId,
        producerEpoch: 0,
        baseSequence: step,
        transactional: true,
      });
      const offset = log.append(batch, Date.now()).baseOffset;
      txns.onTransactionalAppend(producerId, offset);
    } else {
      const commit = Math.random() < 0.5;
      const marker = buildControlBatch(
        { producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 },
        Date.now(),
      );
      const offset = log.append(marker, Date.now()).baseOffset;
      txns.onMarker(producerId, 0, commit, offset);
    }
  }
  process.stdout.write(`step ${step}\n`);
  setTimeout(appendSome, Math.random() < 0.3 ? 1 : 0);
};
appendSome();
