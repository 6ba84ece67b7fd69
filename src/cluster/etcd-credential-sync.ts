import {
  type CredentialStore,
  decodeUserCredentials,
  encodeUserCredentials,
  type UserCredentials,
} from '../security/credential-store.js';
import { ClusterKeys } from './cluster-records.js';
import type { EtcdClient } from './etcd/etcd-client.js';
import type { KeyValue } from './etcd/etcd-wire.js';
import { PrefixMirror } from './etcd/prefix-mirror.js';

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
  private readonly mirror: PrefixMirror;

  constructor(private readonly options: EtcdCredentialSyncOptions) {
    this.prefix = `${new ClusterKeys(options.cluster).root}users/`;
    const store = options.store;
    this.mirror = new PrefixMirror(
      options.client,
      this.prefix,
      {
        beforeSnapshot: (kvs) => this.seed(kvs),
        onSnapshot: (kvs) => {
          // One file write for the whole read (none when nothing changed), not one per user.
          const users = new Map<string, UserCredentials>();
          for (const kv of kvs) {
            const user = kv.key.slice(this.prefix.length);
            const credentials = this.decode(user, kv.value);
            // A value this broker cannot read keeps what it has for that user.
            const kept = credentials ?? store.snapshot().get(user);
            if (kept !== undefined) users.set(user, kept);
          }
          store.replaceAllRemote(users);
        },
        onEvents: (events) => {
          for (const event of events) {
            const user = event.kv.key.slice(this.prefix.length);
            if (event.type === 'delete') store.applyRemote(user, null);
            else this.apply(user, event.kv.value);
          }
        },
        onError: options.onError,
      },
      options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
    );
  }

  start(): void {
    this.options.store.onChange((user, credentials) => {
      this.write(user, credentials).catch((error: unknown) =>
        this.options.onError(
          `user ${user} changed on this broker only: writing it to etcd failed: ${(error as Error).message}`,
        ),
      );
    });
    this.mirror.start();
  }

  /** Resolves true once etcd's users were applied, false when `timeoutMs` passed first. */
  waitLoaded(timeoutMs: number): Promise<boolean> {
    return this.mirror.waitLoaded(timeoutMs);
  }

  stop(): void {
    this.options.store.onChange(null);
    this.mirror.stop();
  }

  private async write(user: string, credentials: UserCredentials | null): Promise<void> {
    const key = `${this.prefix}${user}`;
    if (credentials === null) await this.options.client.delete(key);
    else await this.options.client.put(key, encodeUserCredentials(credentials));
  }

  /** An etcd without users: this broker's file seeds it (each user only if still absent); true to read again. */
  private async seed(kvs: readonly KeyValue[]): Promise<boolean> {
    const store = this.options.store;
    if (kvs.length > 0 || !store.hasUsers()) return false;
    for (const [user, credentials] of store.snapshot()) {
      const key = `${this.prefix}${user}`;
      await this.options.client.txn(
        [{ key, target: 'create', revision: 0 }],
        [{ put: { key, value: encodeUserCredentials(credentials) } }],
      );
    }
    return true;
  }

  private apply(user: string, value: string): void {
    const credentials = this.decode(user, value);
    if (credentials !== undefined) this.options.store.applyRemote(user, credentials);
  }

  private decode(user: string, value: string): UserCredentials | undefined {
    const credentials = decodeUserCredentials(user, value);
    if (credentials === undefined) {
      this.options.onError(`etcd holds credentials this broker cannot read for user ${user}; ignored`);
    }
    return credentials;
  }
}
