import type { LedPartitionMetrics, ReplicationCounts } from '../replication/replica-manager.js';

/**
 * The replication part of GET /metrics in cluster mode (docs/cluster.md,
 * "Replication metrics"), in Prometheus text format: per partition this
 * broker leads, its ISR size, whether it is under-replicated and each
 * follower's lag in offsets; and counters of ISR shrinks and expands,
 * leader elections won and follower log restarts. A single node renders
 * nothing. Labels are topic names (Kafka's legal characters only: no
 * escaping needed) and partition and broker numbers.
 */
export interface ReplicationMetricsSource {
  ledPartitionMetrics(): LedPartitionMetrics[];
  replicationCounts(): ReplicationCounts;
}

export function renderReplicationMetrics(source: ReplicationMetricsSource): string {
  const led = source.ledPartitionMetrics();
  const counts = source.replicationCounts();
  const lines: string[] = [];
  const header = (name: string, type: 'gauge' | 'counter', help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  header(
    'pyralog_under_replicated_partitions',
    'gauge',
    'Partitions this broker leads whose ISR holds fewer replicas than they have',
  );
  lines.push(
    `pyralog_under_replicated_partitions ${led.filter((entry) => entry.isrSize < entry.replicaCount).length}`,
  );
  header(
    'pyralog_partition_under_replicated',
    'gauge',
    'Per partition this broker leads: 1 when its ISR holds fewer replicas than it has',
  );
  for (const entry of led) {
    lines.push(
      `pyralog_partition_under_replicated{${partitionLabels(entry)}} ${entry.isrSize < entry.replicaCount ? 1 : 0}`,
    );
  }
  header('pyralog_partition_isr_size', 'gauge', 'Per partition this broker leads: replicas in its ISR');
  for (const entry of led)
    lines.push(`pyralog_partition_isr_size{${partitionLabels(entry)}} ${entry.isrSize}`);
  header('pyralog_partition_replicas', 'gauge', 'Per partition this broker leads: its replicas');
  for (const entry of led) {
    lines.push(`pyralog_partition_replicas{${partitionLabels(entry)}} ${entry.replicaCount}`);
  }
  header(
    'pyralog_follower_lag_offsets',
    'gauge',
    "Per follower of a partition this broker leads: the leader's log end minus the follower's fetch offset at its latest fetch (-1: none yet)",
  );
  for (const entry of led) {
    for (const { replica, lagOffsets } of entry.followerLagOffsets) {
      lines.push(
        `pyralog_follower_lag_offsets{${partitionLabels(entry)},replica="${replica}"} ${lagOffsets}`,
      );
    }
  }
  header(
    'pyralog_isr_shrinks_total',
    'counter',
    'ISR changes this broker committed as leader that removed a replica',
  );
  lines.push(`pyralog_isr_shrinks_total ${counts.isrShrinks}`);
  header(
    'pyralog_isr_expands_total',
    'counter',
    'ISR changes this broker committed as leader that added a replica',
  );
  lines.push(`pyralog_isr_expands_total ${counts.isrExpands}`);
  header('pyralog_leader_elections_total', 'counter', 'Times this broker took the lead of a partition');
  lines.push(`pyralog_leader_elections_total ${counts.leaderElections}`);
  header(
    'pyralog_follower_log_start_resets_total',
    'counter',
    "Times a followed partition's log ended below its leader's log start and was restarted there",
  );
  lines.push(`pyralog_follower_log_start_resets_total ${counts.logStartResets}`);
  return `${lines.join('\n')}\n`;
}

function partitionLabels(entry: LedPartitionMetrics): string {
  return `topic="${entry.topic}",partition="${entry.partition}"`;
}
