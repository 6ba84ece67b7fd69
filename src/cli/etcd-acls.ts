import { EtcdClient } from '../cluster/etcd/etcd-client.js';
import { etcdTransportOf } from '../cluster/etcd/etcd-transport.js';
import { EtcdAclStore } from '../cluster/etcd-acl-store.js';
import { errorMessage } from '../common/errors.js';
import type { AclBinding, AclBindingFilter } from '../security/acl.js';
import { CliError, ExitCode } from './cli-errors.js';

/**
 * `pyralog acl … --etcd URLS`: a cluster's ACLs in etcd (cluster/etcd-acl-store.ts), the same keys
 * every broker of the cluster watches, so a change holds on every broker within the watch's delay.
 */
export interface EtcdAclsTarget {
  endpoints: readonly string[];
  cluster: string;
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
}

/** How long `list` waits for the read of the ACL keys. */
const LIST_TIMEOUT_MS = 10_000;

export function openEtcdAcls(target: EtcdAclsTarget): {
  list(): Promise<readonly AclBinding[]>;
  add(bindings: readonly AclBinding[]): Promise<void>;
  remove(filter: AclBindingFilter): Promise<AclBinding[]>;
} {
  let lastError = '';
  const store = new EtcdAclStore({
    client: new EtcdClient({
      endpoints: target.endpoints,
      transport: etcdTransportOf({
        caFile: target.caFile,
        certFile: target.certFile,
        keyFile: target.keyFile,
      }),
    }),
    cluster: target.cluster,
    onChange: () => {},
    onError: (message) => {
      lastError = message;
    },
  });
  const failed = (error: unknown): never => {
    throw new CliError(`etcd (${target.endpoints.join(', ')}): ${errorMessage(error)}`, ExitCode.FAILURE);
  };
  return {
    async list() {
      store.start();
      try {
        if (!(await store.waitLoaded(LIST_TIMEOUT_MS))) failed(lastError || 'no answer');
        return store.list() ?? [];
      } finally {
        store.stop();
      }
    },
    add: (bindings) => store.add(bindings).catch(failed),
    remove: (filter) => store.remove(filter).catch(failed),
  };
}
