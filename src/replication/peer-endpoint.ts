import type { BrokerId, ClusterView } from '../cluster/partition-state.js';
import type { PeerAddress } from '../common/broker-config.js';

/** A host and port to open a connection to. */
export interface PeerEndpoint {
  host: string;
  port: number;
}

/**
 * Where this broker's followers reach a leader: the address configured for
 * that peer (`--peer-address ID=HOST:PORT`) when there is one, else the
 * address the peer advertises in etcd, which is also the one clients are
 * given. Every replica connection asks here, so an override (for a network
 * where brokers see each other elsewhere than clients do, or a test's fault
 * proxy on one broker-to-broker link) applies to all of them. Asked at each
 * connect, so a peer that re-registers elsewhere is followed.
 */
export function peerEndpointResolver(
  overrides: readonly PeerAddress[],
  view: Pick<ClusterView, 'brokerEndpoint'>,
): (broker: BrokerId) => PeerEndpoint | undefined {
  const configured = new Map(overrides.map((peer) => [peer.brokerId, { host: peer.host, port: peer.port }]));
  return (broker) => {
    const override = configured.get(broker);
    return override === undefined ? view.brokerEndpoint(broker) : { ...override };
  };
}
