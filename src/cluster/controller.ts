import type { ClusterCache } from './cluster-cache.js';
import type { ClusterLog } from './cluster-log.js';
import { type ClusterKeys, encodeRecord } from './cluster-records.js';
import type { EtcdClient } from './etcd/etcd-client.js';
import { electLeader } from './leader-election.js';
import type { BrokerId } from './partition-state.js';

/** What the controller needs of the broker it runs in. */
export interface ControllerHost {
  readonly brokerId: BrokerId;
  /** The create revision of this broker's key (its broker epoch). */
  brokerEpoch(): number;
  /** The lease this broker's keys are on. */
  leaseId(): string;
  /** Whether this broker may still act (not fenced). */
  leaseValid(): boolean;
}

export const UNCLEAN_LEADER_ELECTION = 'unclean.leader.election.enable';

/**
 * The controller election and the controller's work (docs/cluster.md). Every
 * broker runs one; it acts only while the `controller` key is this broker's
 * (same broker epoch, so a restarted broker is a new candidate). Reconciling
 * is level-triggered: it looks at every partition in the cache and writes the
 * ones electLeader says must change, each by a transaction that compares the
 * partition's mod revision and the controller key's create revision (a
 * deposed controller changes nothing). A failed write is retried after
 * `retryDelayMs`; the watch brings any newer state in the meantime.
 */
export class Controller {
  private campaigning = false;
  private reconciling = false;
  private reconcileAgain = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  /** Writes made as controller (elections), for tests and metrics. */
  electionsWritten = 0;

  constructor(
    private readonly client: EtcdClient,
    private readonly keys: ClusterKeys,
    private readonly cache: ClusterCache,
    private readonly host: ControllerHost,
    private readonly log: ClusterLog,
    private readonly retryDelayMs: number,
  ) {}

  /** The controller epoch when this broker is the controller, else -1. */
  epoch(): number {
    const controller = this.cache.controller;
    if (controller === null || !this.host.leaseValid()) return -1;
    const mine =
      controller.record.brokerId === this.host.brokerId &&
      controller.record.brokerEpoch === this.host.brokerEpoch();
    return mine ? controller.epoch : -1;
  }

  isController(): boolean {
    return this.epoch() !== -1;
  }

  /** Tries to become controller when there is none. Safe to call at any time, any number of times. */
  campaign(): void {
    if (this.stopped || this.campaigning || this.cache.controller !== null || !this.host.leaseValid()) return;
    this.campaigning = true;
    const key = this.keys.controller;
    const value = encodeRecord({ brokerId: this.host.brokerId, brokerEpoch: this.host.brokerEpoch() });
    this.client
      .txn([{ key, target: 'create', revision: 0 }], [{ put: { key, value, lease: this.host.leaseId() } }])
      .then(
        (result) => {
          this.campaigning = false;
          if (result.succeeded) this.log.info({ brokerId: this.host.brokerId }, 'elected controller');
          // The watch brings the key either way; reconcile then starts from the cache.
        },
        (error: unknown) => {
          this.campaigning = false;
          this.log.warn({ error: String(error) }, 'controller campaign failed; retrying');
          this.later(() => this.campaign());
        },
      );
  }

  /** Looks at every partition and writes the elections needed; coalesces calls made while one runs. */
  reconcile(): void {
    if (this.stopped || !this.isController()) return;
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = true;
    void this.reconcileOnce()
      .catch((error: unknown) => {
        this.log.error({ error: String(error) }, 'controller pass failed; retrying');
        return true;
      })
      .then((failed) => {
        this.reconciling = false;
        if (this.reconcileAgain) {
          this.reconcileAgain = false;
          this.reconcile();
        } else if (failed) {
          this.later(() => this.reconcile());
        }
      })
      .catch((error: unknown) => {
        // Only a throw of the follow-up itself lands here: say so and try a pass again later.
        this.reconciling = false;
        this.log.error({ error: String(error) }, 'controller follow-up failed; retrying');
        this.later(() => this.reconcile());
      });
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** One pass; resolves true when some write failed and the pass should be retried. */
  private async reconcileOnce(): Promise<boolean> {
    const controllerEpoch = this.epoch();
    if (controllerEpoch === -1) return false;
    const live = this.cache.liveEpochs();
    let failed = false;
    for (const { record, modRevision } of [...this.cache.partitions.values()]) {
      const topic = this.cache.topicById(record.topicId);
      const unclean = topic?.config[UNCLEAN_LEADER_ELECTION] === 'true';
      const next = electLeader(record, live, unclean);
      if (next === null) continue;
      const key = this.keys.partition(record.topicId, record.partition);
      try {
        const result = await this.client.txn(
          [
            { key, target: 'mod', revision: modRevision },
            { key: this.keys.controller, target: 'create', revision: controllerEpoch },
          ],
          [{ put: { key, value: encodeRecord(next) } }],
        );
        if (result.succeeded) {
          this.electionsWritten++;
          this.log.info(
            {
              topic: record.topic,
              partition: record.partition,
              leader: next.leader,
              leaderEpoch: next.leaderEpoch,
              isr: next.isr,
              previousLeader: record.leader,
            },
            next.leader === -1 ? 'partition offline: no live in-sync replica' : 'partition leader elected',
          );
        }
        // A failed compare means the partition or the controller moved on: the watch brings the new state.
      } catch (error) {
        failed = true;
        this.log.warn(
          { topic: record.topic, partition: record.partition, error: String(error) },
          'election write failed',
        );
      }
      if (this.epoch() !== controllerEpoch) return false;
    }
    return failed;
  }

  private later(run: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, this.retryDelayMs);
    this.timers.add(timer);
  }
}
