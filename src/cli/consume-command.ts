import { parseCommon, requestJson } from './http-admin.js';

const usage = `Usage: pyralog consume TOPIC [--partition P] [--offset N] [--max-bytes B] [--follow] [--url http://127.0.0.1:8080]
Prints one JSON record per line. --follow keeps polling for new records until interrupted.`;

interface FetchedRecords {
  records: { offset: number; timestamp: number; key: string | null; value: string | null }[];
  highWatermark: number;
}

/** `pyralog consume`: reads records through the broker's HTTP API. */
export async function consumeCommand(argv: readonly string[]): Promise<number> {
  const { url, rest, flags } = parseCommon(argv, ['follow']);
  const [topic] = rest;
  if (topic === undefined || flags.has('help')) {
    console.log(usage);
    return topic === undefined ? 2 : 0;
  }
  const partition = Number(flags.get('partition') ?? '0');
  let offset = Number(flags.get('offset') ?? '0');
  const maxBytes = Number(flags.get('max-bytes') ?? String(1024 * 1024));
  const follow = flags.get('follow') === 'true';
  for (;;) {
    const endpoint =
      `${url}/topics/${encodeURIComponent(topic)}/partitions/${partition}/records` +
      `?offset=${offset}&maxBytes=${maxBytes}`;
    const fetched = (await requestJson(endpoint)) as FetchedRecords;
    for (const record of fetched.records) {
      if (record.offset < offset) continue;
      console.log(JSON.stringify(record));
      offset = record.offset + 1;
    }
    if (offset >= fetched.highWatermark) {
      if (!follow) return 0;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
