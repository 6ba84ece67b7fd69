/**
 * Options of `pyralog bench` (src/cli/bench/): what to run, against what, and
 * how hard. Parsed from `--name value` pairs; every value checked.
 */
export type Scenario = 'produce' | 'consume' | 'e2e';
export type BenchProtocol = 'kafka' | 'ws';

export interface BenchOptions {
  scenario: Scenario;
  protocol: BenchProtocol;
  kafka: { host: string; port: number };
  wsUrl: string;
  httpUrl: string;
  topic: string;
  partitions: number;
  recordBytes: number;
  batchRecords: number;
  lingerMs: number;
  producers: number;
  consumers: number;
  acks: 1 | -1;
  durationS: number;
  warmupS: number;
  /** Records per second over all producers (open loop); 0: closed loop as fast as inFlight allows. */
  rate: number;
  inFlight: number;
  outDir: string;
  label: string;
  profile: boolean;
}

export const benchUsage = `Usage: pyralog bench [produce|consume|e2e] [options]     load a running broker
       pyralog bench plot RESULT.json [RESULT.json …] [--out DIR]   charts (SVG) from results

Options (defaults in brackets):
  --protocol kafka|ws   front door to drive [kafka]
  --kafka HOST:PORT     [127.0.0.1:9092]      --ws URL    [ws://127.0.0.1:8080/ws]
  --http URL            admin and /metrics [http://127.0.0.1:8080]
  --topic NAME [bench]  --partitions N [8] (created if missing)
  --record-bytes N [1024]  --batch-records N [16]  --linger-ms N [0] (ws client)
  --producers N [4]  --consumers N [1]  --acks 1|-1 [1]  --in-flight N [8] per producer
  --duration-s N [10]  --warmup-s N [2]  --rate N records/s, open loop [0: closed loop]
  --out DIR [bench/out]  --label NAME  --profile (scrape per-stage broker histograms)`;

export class BenchOptionError extends Error {}

function integer(name: string, value: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new BenchOptionError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

type IntegerOption =
  | 'partitions'
  | 'recordBytes'
  | 'batchRecords'
  | 'lingerMs'
  | 'producers'
  | 'consumers'
  | 'durationS'
  | 'warmupS'
  | 'rate'
  | 'inFlight';

/** Whole-number options: the field each sets and its bounds. */
const integerOptions: Record<string, readonly [IntegerOption, number, number]> = {
  partitions: ['partitions', 1, 10_000],
  'record-bytes': ['recordBytes', 8, 1024 * 1024],
  'batch-records': ['batchRecords', 1, 100_000],
  'linger-ms': ['lingerMs', 0, 10_000],
  producers: ['producers', 0, 256],
  consumers: ['consumers', 0, 256],
  'duration-s': ['durationS', 1, 24 * 3600],
  'warmup-s': ['warmupS', 0, 3600],
  rate: ['rate', 0, 100_000_000],
  'in-flight': ['inFlight', 1, 10_000],
};

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    scenario: 'produce',
    protocol: 'kafka',
    kafka: { host: '127.0.0.1', port: 9092 },
    wsUrl: 'ws://127.0.0.1:8080/ws',
    httpUrl: 'http://127.0.0.1:8080',
    topic: 'bench',
    partitions: 8,
    recordBytes: 1024,
    batchRecords: 16,
    lingerMs: 0,
    producers: 4,
    consumers: 1,
    acks: 1,
    durationS: 10,
    warmupS: 2,
    rate: 0,
    inFlight: 8,
    outDir: 'bench/out',
    label: '',
    profile: false,
  };
  const args = [...argv];
  if (args[0] === 'produce' || args[0] === 'consume' || args[0] === 'e2e')
    options.scenario = args.shift() as Scenario;
  while (args.length > 0) {
    const flag = args.shift()!;
    if (!flag.startsWith('--')) throw new BenchOptionError(`unexpected argument "${flag}"`);
    const name = flag.slice(2);
    if (name === 'profile') {
      options.profile = true;
      continue;
    }
    const value = args.shift();
    if (value === undefined) throw new BenchOptionError(`--${name} needs a value`);
    const integerOption = Object.hasOwn(integerOptions, name) ? integerOptions[name] : undefined;
    if (integerOption !== undefined) {
      const [field, min, max] = integerOption;
      options[field] = integer(name, value, min, max);
      continue;
    }
    switch (name) {
      case 'protocol':
        if (value !== 'kafka' && value !== 'ws') throw new BenchOptionError('--protocol must be kafka or ws');
        options.protocol = value;
        break;
      case 'kafka': {
        const [host, port] = value.split(':');
        options.kafka = { host: host || '127.0.0.1', port: integer(name, port ?? '', 1, 65535) };
        break;
      }
      case 'ws':
        options.wsUrl = value;
        break;
      case 'http':
        options.httpUrl = value.replace(/\/$/, '');
        break;
      case 'topic':
        options.topic = value;
        break;
      case 'acks': {
        const acks = integer(name, value, -1, 1);
        if (acks === 0)
          throw new BenchOptionError('--acks must be 1 or -1 (acks=0 has no latency to measure)');
        options.acks = acks as 1 | -1;
        break;
      }
      case 'out':
        options.outDir = value;
        break;
      case 'label':
        options.label = value;
        break;
      default:
        throw new BenchOptionError(`unknown option --${name}`);
    }
  }
  if (options.scenario === 'consume' || options.scenario === 'e2e')
    options.consumers = Math.max(1, options.consumers);
  if (options.scenario === 'consume') options.producers = 0;
  if (options.scenario !== 'consume' && options.producers === 0)
    throw new BenchOptionError('--producers must be at least 1');
  if (options.label === '')
    options.label = `${options.protocol}-${options.scenario}-${options.rate > 0 ? `${options.rate}rps` : 'max'}`;
  return options;
}
