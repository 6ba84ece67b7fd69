import {
  type CredentialStore,
  decodeUserCredentials,
  encodeUserCredentials,
  type UserCredentials,
} from '../security/credential-store.js';
import { ClusterKeys } from './cluster-records.js';
import type { EtcdClient } from './etcd/etcd-client.js';
import { type Watch, watchPrefix } from './etcd/etcd-watch.js';

/**
 * SCRAM credentials shared by the brokers of a cluster through etcd (docs/security.md, "Cluster
 * mode"), one key per user:
 *
 *   /pyralog/<cluster>/users/<name>  →  {"SCRAM-SHA-512":{"salt":b64,"iterations":n,
 *                                        "storedKey":b64,"serverKey":b64}, ...}
 *
 * (the per-user entry of the credential file: salts and keys, never a password). Each broker keeps
 * serving its own CredentialStore (the data directory's file, so SASL never waits for etcd) and
 * keeps it equal to etcd's keys: at start and after every broken watch it reads the prefix and
 * applies it (users etcd lacks are removed), then applies the watch's events. A change made
 * through a broker (AlterUserScramCredentials, the HTTP /users routes) is durable in its file
 * when answered and written to etcd right after; the other brokers apply it when their watch
 * delivers it. The first broker to start against an etcd holding no user uploads its file's
 * users (so `pyralog user create --data` before the first start still makes the first admin).
 * Concurrent changes to one user through two brokers: the last write to etcd wins on every
 * broker. A change whose etcd write fails stays on that broker only (logged). Owned by the
 * acceptor thread.
 */
export interface EtcdCredentialSyncOptions {
  client: EtcdClient;
  cluster: string;
  store: CredentialStore;
  onError: (message: string) => void;
  /** Delay before reading again after a failure (default 500 ms). */
  retryDelayMs?: number;
}

const DEFAULT_RETRY_DELAY_MS = 500;

export class EtcdCredentialSync {
  readonly prefix: string;
  private watch: Watch | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private generation = 0;
  private loaded = false;
  private readonly loadWaiters: (() => void)[] = [];
  private readonly retryDelayMs: number;

  constructor(private readonly options: EtcdCredentialSyncOptions) {
    this.prefix = `${new ClusterKeys(options.cluster).root}users/`;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  }

  start(): void {
    this.options.store.onChange((user, credentials) => {
      this.write(user, credentials).catch((error: unknown) =>
        this.options.onError(
          `user ${user} changed on this broker only: writing it to etcd failed: ${(error as Error).message}`,
        ),
      );
    });
    void this.load();
  }

  /** Resolves true once etcd's users were applied, false when `timeoutMs` passed first. */
  waitLoaded(timeoutMs: number): Promise<boolean> {
    if (this.loaded) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.loadWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  stop(): void {
    this.stopped = true;
    this.options.store.onChange(null);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.watch?.cancel();
    this.watch = null;
  }

  private async write(user: string, credentials: UserCredentials | null): Promise<void> {
    const key = `${this.prefix}${user}`;
    if (credentials === null) await this.options.client.delete(key);
    else await this.options.client.put(key, encodeUserCredentials(credentials));
  }

  private async load(): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    const store = this.options.store;
    try {
      let { revision, kvs } = await this.options.client.range(this.prefix, { prefix: true });
      if (kvs.length === 0 && store.hasUsers()) {
        // An etcd without users: this broker's file seeds it (each user only if still absent).
        for (const [user, credentials] of store.snapshot()) {
          const key = `${this.prefix}${user}`;
          await this.options.client.txn(
            [{ key, target: 'create', revision: 0 }],
            [{ put: { key, value: encodeUserCredentials(credentials) } }],
          );
        }
        ({ revision, kvs } = await this.options.client.range(this.prefix, { prefix: true }));
      }
      if (this.stopped || generation !== this.generation) return;
      const inEtcd = new Set<string>();
      for (const kv of kvs) {
        const user = kv.key.slice(this.prefix.length);
        inEtcd.add(user);
        this.apply(user, kv.value);
      }
      for (const user of store.snapshot().keys()) if (!inEtcd.has(user)) store.applyRemote(user, null);
      this.loaded = true;
      for (const waiter of this.loadWaiters.splice(0)) waiter();
      this.watch = watchPrefix(this.options.client, this.prefix, revision + 1, {
        onEvents: (events) => {
          if (generation !== this.generation) return;
          for (const event of events) {
            const user = event.kv.key.slice(this.prefix.length);
            if (event.type === 'delete') store.applyRemote(user, null);
            else this.apply(user, event.kv.value);
          }
        },
        onCompacted: () => this.again(generation, 'etcd compacted past the users watch'),
        onBroken: (reason) => this.again(generation, `the users watch broke: ${reason}`),
      });
    } catch (error) {
      this.options.onError(`reading the users from etcd: ${(error as Error).message}`);
      this.again(generation, null);
    }
  }

  private apply(user: string, value: string): void {
    const credentials = decodeUserCredentials(user, value);
    if (credentials === undefined) {
      this.options.onError(`etcd holds credentials this broker cannot read for user ${user}; ignored`);
      return;
    }
    this.options.store.applyRemote(user, credentials);
  }

  private again(generation: number, reason: string | null): void {
    if (this.stopped || generation !== this.generation) return;
    if (reason !== null) this.options.onError(`${reason}; reading the users again`);
    this.watch = null;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.load();
    }, this.retryDelayMs);
  }
}
