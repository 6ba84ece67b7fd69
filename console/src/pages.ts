import {
  type ClusterInfo,
  type GroupDetail,
  type GroupSummary,
  getJson,
  getText,
  postForBlob,
  postJson,
  type SqlAnswer,
  type TopicDetail,
  type TopicSummary,
} from './api.js';
import { webSocketAuthMessage } from './auth.js';
import { LiveChart, staticChart } from './charts.js';
import { errorBox, formatBytes, h, table } from './dom.js';
import { parseMetrics, percentileMs, rate, type Scrape } from './metrics.js';

/** A rendered page: its element, and what to stop (timers, sockets) when the user leaves it. */
export interface Page {
  element: HTMLElement;
  dispose(): void;
}

const METRICS_INTERVAL_MS = 1000;

/** Overview: the broker, its topics, and throughput and latency live from /metrics. */
export function overviewPage(): Page {
  const cluster = h('section', { 'data-testid': 'cluster' }, 'Loading…');
  const topics = h('section', { 'data-testid': 'topics' });
  const charts = h('section', { class: 'charts' });
  const throughputBox = h('div', { 'data-testid': 'throughput-chart', class: 'chart' });
  const latencyBox = h('div', { 'data-testid': 'latency-chart', class: 'chart' });
  charts.append(throughputBox, latencyBox);
  const diskLine = h('p', { 'data-testid': 'disk' });
  const element = h(
    'div',
    {},
    h('h2', {}, 'Overview'),
    cluster,
    diskLine,
    charts,
    h('h2', {}, 'Topics'),
    topics,
  );

  const throughput = new LiveChart(throughputBox, 'Throughput (MB/s)', [
    { label: 'produce', color: '#2563eb' },
    { label: 'fetch', color: '#16a34a' },
  ]);
  const latency = new LiveChart(latencyBox, 'Latency (ms)', [
    { label: 'append p99', color: '#dc2626' },
    { label: 'fsync wait p99', color: '#9333ea' },
    { label: 'ring wait p99', color: '#ea580c' },
  ]);
  let previous: Scrape | null = null;
  const poll = async (): Promise<void> => {
    try {
      const scrape = parseMetrics(await getText('/metrics'), Date.now());
      if (previous !== null) {
        const produceMBps = rate(previous, scrape, 'pyralog_produce_bytes_total') / 1e6;
        throughput.push([produceMBps, rate(previous, scrape, 'pyralog_fetch_bytes_total') / 1e6]);
        // The latest figure, for people and for the browser test.
        throughputBox.dataset.produceMbps = produceMBps.toFixed(6);
        latency.push([
          percentileMs(previous, scrape, 'pyralog_append_seconds', 0.99),
          percentileMs(previous, scrape, 'pyralog_fsync_wait_seconds', 0.99),
          percentileMs(previous, scrape, 'pyralog_ring_wait_seconds', 0.99),
        ]);
        charts.dataset.points = String(throughput.points);
      }
      diskLine.textContent = `Data on disk: ${formatBytes(scrape.totals.get('pyralog_log_size_bytes') ?? 0)}`;
      previous = scrape;
    } catch {
      // The next poll tries again; the charts show a gap meanwhile.
    }
  };
  const timer = setInterval(() => void poll(), METRICS_INTERVAL_MS);
  void poll();

  // The cluster box and the topic list load apart: a user the ACLs let describe some topics but
  // not the cluster still sees those topics.
  const loadCluster = async (): Promise<void> => {
    try {
      const info = await getJson<ClusterInfo>('/cluster');
      cluster.replaceChildren(
        table(
          ['broker', 'host', 'Kafka port', 'shards', 'fsync', 'topics', 'partitions', 'uptime'],
          info.brokers.map((b) => [
            b.nodeId,
            b.host,
            b.kafkaPort,
            info.shards,
            info.fsync,
            info.topics,
            info.partitions,
            `${Math.round(info.uptimeMs / 1000)} s`,
          ]),
        ),
      );
    } catch (error) {
      cluster.replaceChildren(errorBox(error));
    }
  };
  const loadTopics = async (): Promise<void> => {
    try {
      const { topics: list } = await getJson<{ topics: TopicSummary[] }>('/topics');
      const details = await Promise.all(
        list.map((t) => getJson<TopicDetail>(`/topics/${encodeURIComponent(t.name)}`)),
      );
      topics.replaceChildren(
        table(
          ['topic', 'partitions', 'records', 'retention.ms'],
          details.map((t) => [
            h('a', { href: `#/topics/${encodeURIComponent(t.name)}` }, t.name),
            t.partitions.length,
            t.partitions.reduce((sum, p) => sum + (p.highWatermark - p.logStartOffset), 0),
            t.config['retention.ms'] ?? '',
          ]),
          'topics-table',
        ),
        createTopicForm(() => void loadTopics()),
      );
    } catch (error) {
      topics.replaceChildren(errorBox(error));
    }
  };
  void loadCluster();
  void loadTopics();
  return {
    element,
    dispose() {
      clearInterval(timer);
      throughput.destroy();
      latency.destroy();
    },
  };
}

function createTopicForm(onCreated: () => void): HTMLElement {
  const name = h('input', {
    name: 'name',
    placeholder: 'topic name',
    required: '',
    'data-testid': 'new-topic-name',
  });
  const partitions = h('input', {
    name: 'partitions',
    type: 'number',
    min: '1',
    value: '3',
    'data-testid': 'new-topic-partitions',
  });
  const status = h('span', { class: 'status' });
  const form = h(
    'form',
    {
      class: 'inline',
      onsubmit: (event: Event) => {
        event.preventDefault();
        status.textContent = 'creating…';
        postJson('/topics', { name: name.value, partitions: Number(partitions.value) }).then(
          () => {
            status.textContent = `created ${name.value}`;
            name.value = '';
            onCreated();
          },
          (error: unknown) => {
            status.textContent = error instanceof Error ? error.message : String(error);
          },
        );
      },
    },
    h('strong', {}, 'New topic '),
    name,
    partitions,
    h('button', { type: 'submit', 'data-testid': 'create-topic' }, 'Create'),
    status,
  );
  return form;
}

interface Push {
  sub?: number;
  partition?: number;
  records?: { offset: number; timestamp: number; key: string | null; value: string | null }[];
  id?: number;
  ok?: boolean;
  error?: { message: string };
}

/** A topic: its partitions and settings, and a live tail of new records over the WebSocket JSON protocol. */
export function topicPage(name: string): Page {
  const partitions = h('section', { 'data-testid': 'partitions' }, 'Loading…');
  const config = h('section', {});
  const tailList = h('ol', { class: 'tail', 'data-testid': 'tail' });
  const tailStatus = h(
    'span',
    { class: 'status', 'data-testid': 'tail-status', 'data-state': 'idle' },
    'stopped',
  );
  const setStatus = (state: 'idle' | 'live' | 'closed' | 'error', text: string): void => {
    tailStatus.dataset.state = state;
    tailStatus.textContent = text;
  };
  let socket: WebSocket | null = null;
  const stopTail = (): void => {
    socket?.close();
    socket = null;
    setStatus('idle', 'stopped');
  };
  const startTail = (): void => {
    stopTail();
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    socket = ws;
    ws.onopen = () => {
      const auth = webSocketAuthMessage();
      if (auth !== null) ws.send(auth);
      ws.send(JSON.stringify({ op: 'subscribe', id: 1, topic: name, from: 'latest' }));
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as Push;
      if (message.id === 1 && message.ok === true) setStatus('live', 'following new records');
      else if (message.error !== undefined) setStatus('error', message.error.message);
      for (const record of message.records ?? []) {
        tailList.append(
          h(
            'li',
            { 'data-partition': String(message.partition), 'data-offset': String(record.offset) },
            h('code', {}, `${message.partition}@${record.offset}`),
            ' ',
            h('span', { class: 'key' }, record.key ?? '∅'),
            ' ',
            h('span', { class: 'value' }, record.value ?? '∅'),
          ),
        );
        while (tailList.childElementCount > 500) tailList.firstElementChild?.remove();
      }
    };
    ws.onclose = () => {
      if (socket === ws) setStatus('closed', 'connection closed');
    };
  };
  const refresh = async (): Promise<void> => {
    try {
      const topic = await getJson<TopicDetail>(`/topics/${encodeURIComponent(name)}`);
      partitions.replaceChildren(
        table(
          ['partition', 'log start', 'log end', 'high watermark'],
          topic.partitions.map((p) => [p.partition, p.logStartOffset, p.logEndOffset, p.highWatermark]),
          'partitions-table',
        ),
      );
      config.replaceChildren(table(['setting', 'value'], Object.entries(topic.config)));
    } catch (error) {
      partitions.replaceChildren(errorBox(error));
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), 2000);
  const element = h(
    'div',
    {},
    h('h2', {}, `Topic ${name}`),
    partitions,
    h('h3', {}, 'Settings'),
    config,
    h('h3', {}, 'Live tail'),
    h(
      'p',
      {},
      h('button', { onclick: startTail, 'data-testid': 'start-tail' }, 'Start'),
      ' ',
      h('button', { onclick: stopTail }, 'Stop'),
      ' ',
      tailStatus,
    ),
    tailList,
  );
  return {
    element,
    dispose() {
      clearInterval(timer);
      stopTail();
    },
  };
}

/** Consumer groups, and for each its members and lag per partition. */
export function groupsPage(): Page {
  const list = h('section', { 'data-testid': 'groups' }, 'Loading…');
  const detail = h('section', {});
  const show = async (groupId: string): Promise<void> => {
    try {
      const group = await getJson<GroupDetail>(`/groups/${encodeURIComponent(groupId)}`);
      detail.replaceChildren(
        h('h3', {}, `${group.groupId} (${group.state})`),
        table(
          ['topic', 'partition', 'committed', 'high watermark', 'lag'],
          group.offsets.map((o) => [
            o.topic,
            o.partition,
            o.committedOffset,
            o.highWatermark ?? '-',
            o.lag ?? '-',
          ]),
          'lag-table',
        ),
        h('h4', {}, 'Members'),
        table(
          ['member', 'client id', 'host'],
          group.members.map((m) => [m.memberId, m.clientId, m.clientHost]),
        ),
      );
    } catch (error) {
      detail.replaceChildren(errorBox(error));
    }
  };
  void getJson<{ groups: GroupSummary[] }>('/groups').then(
    ({ groups }) =>
      list.replaceChildren(
        groups.length === 0
          ? h('p', {}, 'No consumer groups yet.')
          : table(
              ['group', 'state', 'members', 'type'],
              groups.map((g) => [
                h('a', { href: '#/groups', onclick: () => void show(g.groupId) }, g.groupId),
                g.state,
                g.members,
                g.protocolType,
              ]),
            ),
      ),
    (error: unknown) => list.replaceChildren(errorBox(error)),
  );
  return { element: h('div', {}, h('h2', {}, 'Consumer groups'), list, detail), dispose() {} };
}

/** A SQL editor over POST /sql, with the results as a table and the same query as an Arrow download. */
export function sqlPage(): Page {
  const editor = h('textarea', { rows: '6', cols: '90', spellcheck: 'false', 'data-testid': 'sql-editor' });
  editor.value = 'SELECT "partition", count(*) AS records FROM my_topic GROUP BY 1 ORDER BY 1';
  const results = h('section', { 'data-testid': 'sql-results' });
  const status = h('p', { class: 'status', 'data-testid': 'sql-status' });
  const run = async (): Promise<void> => {
    status.textContent = 'running…';
    try {
      const answer = await postJson<SqlAnswer>('/sql', { sql: editor.value, format: 'json' });
      results.replaceChildren(
        table(
          answer.columns.map((c) => c.name),
          answer.rows.map((row) =>
            row.map((cell) =>
              cell === null ? '∅' : typeof cell === 'object' ? JSON.stringify(cell) : String(cell),
            ),
          ),
          'sql-table',
        ),
      );
      status.textContent =
        `${answer.rowCount} rows${answer.truncated ? ' (truncated)' : ''}; read ${answer.scan.records} records ` +
        `from ${answer.scan.partitions} partitions; ${answer.elapsedMs} ms`;
    } catch (error) {
      results.replaceChildren(errorBox(error));
      status.textContent = '';
    }
  };
  const download = async (): Promise<void> => {
    try {
      const blob = await postForBlob('/sql', { sql: editor.value, format: 'arrow' });
      const link = h('a', { href: URL.createObjectURL(blob), download: 'result.arrow' });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (error) {
      results.replaceChildren(errorBox(error));
    }
  };
  const element = h(
    'div',
    {},
    h('h2', {}, 'SQL'),
    h(
      'p',
      { class: 'hint' },
      'Every topic is a table: "partition", "offset", "timestamp", key, value, headers. Read-only; see docs/sql.md.',
    ),
    editor,
    h(
      'p',
      {},
      h('button', { onclick: () => void run(), 'data-testid': 'sql-run' }, 'Run'),
      ' ',
      h('button', { onclick: () => void download() }, 'Download Arrow'),
    ),
    status,
    results,
  );
  return { element, dispose() {} };
}

interface BenchFile {
  label: string;
  producer: { latencyUs: Record<string, number>; recordsPerSecond: number } | null;
  consumer: { latencyUs: Record<string, number> } | null;
  throughputSeries: number[];
}

const PERCENTILES = ['p50', 'p90', 'p99', 'p999', 'p9999'] as const;
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

/** `pyralog bench` results (JSON files chosen here) as percentile and throughput charts. */
export function benchPage(): Page {
  const charts = h('section', { class: 'charts', 'data-testid': 'bench-charts' });
  const input = h('input', {
    type: 'file',
    accept: '.json,application/json',
    multiple: '',
    'data-testid': 'bench-files',
  });
  input.addEventListener('change', () => {
    void Promise.all(
      [...(input.files ?? [])].map(async (file) => JSON.parse(await file.text()) as BenchFile),
    ).then(
      (results) => {
        charts.replaceChildren();
        const percentileBox = h('div', { class: 'chart' });
        const throughputBox = h('div', { class: 'chart' });
        charts.append(percentileBox, throughputBox);
        staticChart(
          percentileBox,
          'Latency by percentile (µs): 1=p50 2=p90 3=p99 4=p99.9 5=p99.99',
          PERCENTILES.map((_, i) => i + 1),
          results.map((r, i) => ({
            label: r.label,
            color: COLORS[i % COLORS.length]!,
            values: PERCENTILES.map((p) => (r.producer ?? r.consumer)?.latencyUs[p] ?? null),
          })),
          'percentile',
        );
        const longest = Math.max(...results.map((r) => r.throughputSeries.length));
        staticChart(
          throughputBox,
          'Throughput (records/s), second by second',
          Array.from({ length: longest }, (_, i) => i + 1),
          results.map((r, i) => ({
            label: r.label,
            color: COLORS[i % COLORS.length]!,
            values: Array.from({ length: longest }, (_, s) => r.throughputSeries[s] ?? null),
          })),
          'second',
        );
      },
      (error: unknown) => charts.replaceChildren(errorBox(error)),
    );
  });
  const element = h(
    'div',
    {},
    h('h2', {}, 'Bench results'),
    h(
      'p',
      { class: 'hint' },
      'Choose result files of pyralog bench (bench/out/<label>.json) to compare them.',
    ),
    input,
    charts,
  );
  return { element, dispose() {} };
}
