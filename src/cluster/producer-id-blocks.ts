import type { ClusterKeys } from './cluster-records.js';
import type { EtcdClient } from './etcd/etcd-client.js';

/**
 * Producer ids unique across the cluster (InitProducerId, the transaction
 * coordinator). Each broker's own sequencer (storage/sequencer) is unique only
 * on that broker: two brokers would hand the same id to two producers, and a
 * partition leader would then take one producer's record for a duplicate of
 * the other's and acknowledge it with the other's offset, losing it (the
 * chaos checker found exactly that). So in cluster mode ids come from the
 * `ids/producer` counter in etcd, reserved in blocks by compare-and-swap (the
 * key holds the end of the last block handed out) and given out from memory;
 * a broker that restarts takes a new block, so an id is never given twice,
 * at the cost of the unused rest of a block.
 *
 * The counter starts at 2^32, far above anything a broker's local sequencer
 * handed out before it joined a cluster. Callers are served one at a time.
 */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
export const CLUSTER_PRODUCER_ID_BASE = 2 ** 32;
const ATTEMPTS_MAX = 32;

export class ProducerIdBlocks {
  private next = 0;
  private end = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: EtcdClient,
    private readonly keys: ClusterKeys,
    private readonly blockSize = PRODUCER_ID_BLOCK_SIZE,
  ) {}

  /** The next id; takes a new block from etcd when this one is used up (etcd errors pass through). */
  take(): Promise<number> {
    const taken = this.queue.then(async () => {
      if (this.next >= this.end) await this.reserveBlock();
      return this.next++;
    });
    this.queue = taken.catch(() => undefined);
    return taken;
  }

  private async reserveBlock(): Promise<void> {
    const key = this.keys.producerIdCounter;
    for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      const current = await this.client.get(key);
      const start = current === undefined ? CLUSTER_PRODUCER_ID_BASE : Number(current.value);
      if (!Number.isSafeInteger(start) || start < CLUSTER_PRODUCER_ID_BASE) {
        throw new Error(`${key} holds ${JSON.stringify(current?.value)}, not a producer id`);
      }
      const end = start + this.blockSize;
      const result = await this.client.txn(
        [
          current === undefined
            ? { key, target: 'create', revision: 0 }
            : { key, target: 'mod', revision: current.modRevision },
        ],
        [{ put: { key, value: String(end) } }],
      );
      if (result.succeeded) {
        this.next = start;
        this.end = end;
        return;
      }
    }
    throw new Error('could not reserve producer ids: too much contention on the counter');
  }
}
