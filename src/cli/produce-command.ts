import { createInterface } from 'node:readline';
import { parseCommon, requestJson } from './http-admin.js';

const usage = `Usage: pyralog produce TOPIC [VALUE ...] [--key K] [--partition P] [--url http://127.0.0.1:8080]
With no VALUE, each line of standard input is one record (sent in batches of up to 500).`;

/** `pyralog produce`: sends records through the broker's HTTP API and prints their offsets. */
export async function produceCommand(argv: readonly string[]): Promise<number> {
  const { url, rest, flags } = parseCommon(argv);
  const [topic, ...values] = rest;
  if (topic === undefined || flags.has('help')) {
    console.log(usage);
    return topic === undefined ? 2 : 0;
  }
  const key = flags.get('key');
  const partition = flags.has('partition') ? Number(flags.get('partition')) : undefined;
  const endpoint = `${url}/topics/${encodeURIComponent(topic)}/records`;
  const send = async (batch: string[]): Promise<void> => {
    const records = batch.map((value) => ({
      value,
      ...(key === undefined ? {} : { key }),
      ...(partition === undefined ? {} : { partition }),
    }));
    const result = (await requestJson(endpoint, { method: 'POST', body: JSON.stringify(records) })) as {
      offsets: { partition: number; offset: number }[];
    };
    for (const offset of result.offsets) console.log(`${topic}-${offset.partition}@${offset.offset}`);
  };
  if (values.length > 0) {
    await send(values);
    return 0;
  }
  let pending: string[] = [];
  for await (const line of createInterface({ input: process.stdin })) {
    pending.push(line);
    if (pending.length >= 500) {
      await send(pending);
      pending = [];
    }
  }
  if (pending.length > 0) await send(pending);
  return 0;
}
