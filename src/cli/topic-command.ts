import { parseCommon, requestJson } from './http-admin.js';

const usage = `Usage:
  pyralog topic list                             [--url http://127.0.0.1:8080]
  pyralog topic create NAME [--partitions N] [--config '{"retention.ms":3600000}']
  pyralog topic describe NAME
  pyralog topic delete NAME`;

/** `pyralog topic`: topic administration through the broker's HTTP API. */
export async function topicCommand(argv: readonly string[]): Promise<number> {
  const { url, rest, flags } = parseCommon(argv);
  const [action, name] = rest;
  if (action === undefined || flags.has('help')) {
    console.log(usage);
    return action === undefined ? 2 : 0;
  }
  const topicUrl = (topic: string): string => `${url}/topics/${encodeURIComponent(topic)}`;
  switch (action) {
    case 'list':
      console.log(JSON.stringify(await requestJson(`${url}/topics`), null, 2));
      return 0;
    case 'create': {
      if (name === undefined) throw new Error('topic create needs a NAME');
      const partitions = Number(flags.get('partitions') ?? '1');
      if (!Number.isInteger(partitions) || partitions < 1)
        throw new Error('--partitions must be a whole number >= 1');
      const config = flags.has('config') ? (JSON.parse(flags.get('config')!) as unknown) : undefined;
      const body = JSON.stringify({ name, partitions, ...(config === undefined ? {} : { config }) });
      console.log(JSON.stringify(await requestJson(`${url}/topics`, { method: 'POST', body }), null, 2));
      return 0;
    }
    case 'describe':
      if (name === undefined) throw new Error('topic describe needs a NAME');
      console.log(JSON.stringify(await requestJson(topicUrl(name)), null, 2));
      return 0;
    case 'delete':
      if (name === undefined) throw new Error('topic delete needs a NAME');
      await requestJson(topicUrl(name), { method: 'DELETE' });
      console.log(`deleted ${name}`);
      return 0;
    default:
      console.error(`unknown topic action "${action}"\n${usage}`);
      return 2;
  }
}
