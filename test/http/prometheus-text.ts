/**
 * A strict reader of the Prometheus text format (0.0.4) for tests: every
 * line must be a HELP, a TYPE or a sample; every sample must belong to a
 * family whose TYPE came before it; histograms must have cumulative buckets
 * ending in le="+Inf" equal to their _count. Throws naming the first
 * offending line.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(\\{(.*)\\})? (\\S+)( -?\\d+)?$`);
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/;

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.trim().length > 0) {
    const match = LABEL.exec(rest);
    if (match === null) throw new Error(`bad labels in: ${line}`);
    if (match[1]! in labels) throw new Error(`repeated label in: ${line}`);
    labels[match[1]!] = match[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    rest = rest.slice(match[0].length);
  }
  return labels;
}

function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(name);
  if (exact !== undefined) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const family = families.get(name.slice(0, -suffix.length));
    if (family?.type === 'histogram' || family?.type === 'summary') return family;
  }
  return undefined;
}

function checkHistogram(family: Family): void {
  const series = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    if (!sample.name.endsWith('_bucket')) continue;
    const { le: _le, ...rest } = sample.labels;
    const key = JSON.stringify(rest);
    series.set(key, [...(series.get(key) ?? []), sample]);
  }
  for (const [key, buckets] of series) {
    let previous = -1;
    let previousCount = 0;
    for (const bucket of buckets) {
      const le = parseValue(bucket.labels.le ?? 'missing', `${family.name} le`);
      if (le <= previous) throw new Error(`${family.name}${key}: buckets out of order`);
      if (bucket.value < previousCount) throw new Error(`${family.name}${key}: buckets not cumulative`);
      previous = le;
      previousCount = bucket.value;
    }
    if (previous !== Number.POSITIVE_INFINITY) throw new Error(`${family.name}${key}: no le="+Inf" bucket`);
    const count = family.samples.find(
      (s) => s.name === `${family.name}_count` && JSON.stringify(s.labels) === key,
    );
    if (count?.value !== previousCount)
      throw new Error(`${family.name}${key}: +Inf bucket differs from _count`);
  }
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [, name = '', ...help] = line.slice(2).split(' ');
      const family = families.get(name);
      if (family !== undefined) family.help = help.join(' ');
      else families.set(name, { name, type: 'untyped', help: help.join(' '), samples: [] });
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, name = '', type = ''] = line.slice(2).split(' ');
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type))
        throw new Error(`bad type: ${line}`);
      const family = families.get(name);
      if (family !== undefined && family.samples.length > 0) throw new Error(`TYPE after samples: ${line}`);
      if (family !== undefined && family.type !== 'untyped') throw new Error(`repeated TYPE: ${line}`);
      families.set(name, { name, type: type as Family['type'], help: family?.help ?? '', samples: [] });
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') throw new Error(`stray line: ${JSON.stringify(line)}`);
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample: ${line}`);
    const name = match[1]!;
    const family = familyOf(name, families);
    if (family === undefined) throw new Error(`sample before its TYPE: ${line}`);
    const value = parseValue(match[4]!, line);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`negative counter: ${line}`);
    family.samples.push({ name, labels: parseLabels(match[3] ?? '', line), value });
  }
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}
