import type { BenchResult, RoleResult } from './run-bench.js';

/**
 * Small SVG charts for bench results, drawn by hand (no browser, no canvas):
 * latency by percentile on the "nines" axis HdrHistogram plots use
 * (50%, 90%, 99%, 99.9%, 99.99%, max), log-scaled µs; and throughput per
 * second over the run. Several runs overlay in different colours.
 */
const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 60 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];

const escapeXml = (text: string): string => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;

function latencyOf(result: BenchResult): RoleResult | null {
  return result.consumer ?? result.producer;
}

export function renderPercentileChart(results: readonly BenchResult[]): string {
  const ticks = [
    { label: '50%', key: 'p50' },
    { label: '90%', key: 'p90' },
    { label: '99%', key: 'p99' },
    { label: '99.9%', key: 'p999' },
    { label: '99.99%', key: 'p9999' },
    { label: 'max', key: 'max' },
  ] as const;
  const values = results.flatMap((r) => ticks.map((t) => latencyOf(r)?.latencyUs[t.key] ?? 1));
  const lowest = Math.max(1, Math.min(...values));
  const highest = Math.max(10, ...values);
  const logLow = Math.floor(Math.log10(lowest));
  const logHigh = Math.ceil(Math.log10(highest));
  const y = (us: number) =>
    MARGIN.top + plotHeight - ((Math.log10(Math.max(1, us)) - logLow) / (logHigh - logLow || 1)) * plotHeight;
  const x = (i: number) => MARGIN.left + (i / (ticks.length - 1)) * plotWidth;
  const body: string[] = [];
  for (let power = logLow; power <= logHigh; power++) {
    const us = 10 ** power;
    const label = us >= 1000 ? `${us / 1000} ms` : `${us} µs`;
    body.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(us)}" y2="${y(us)}" stroke="#ddd"/>`,
    );
    body.push(`<text x="${MARGIN.left - 8}" y="${y(us) + 4}" text-anchor="end">${label}</text>`);
  }
  ticks.forEach((tick, i) => {
    body.push(
      `<text x="${x(i)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${tick.label}</text>`,
    );
  });
  body.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 18}" text-anchor="middle">percentile</text>`,
  );
  results.forEach((result, r) => {
    const latency = latencyOf(result);
    if (latency === null) return;
    const colour = COLOURS[r % COLOURS.length]!;
    const points = ticks
      .map((t, i) => `${x(i).toFixed(1)},${y(latency.latencyUs[t.key]).toFixed(1)}`)
      .join(' ');
    body.push(`<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    ticks.forEach((t, i) => {
      body.push(`<circle cx="${x(i)}" cy="${y(latency.latencyUs[t.key])}" r="3" fill="${colour}"/>`);
    });
    body.push(
      `<text x="${MARGIN.left + 10}" y="${MARGIN.top + 16 + r * 16}" fill="${colour}">${escapeXml(result.label)}</text>`,
    );
  });
  return frame('Latency by percentile (log scale)', body);
}

export function renderThroughputChart(results: readonly BenchResult[]): string {
  const longest = Math.max(1, ...results.map((r) => r.throughputSeries.length));
  const peak = Math.max(1, ...results.flatMap((r) => r.throughputSeries));
  const x = (second: number) => MARGIN.left + (second / Math.max(1, longest - 1)) * plotWidth;
  const y = (value: number) => MARGIN.top + plotHeight - (value / peak) * plotHeight;
  const body: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const value = (peak * i) / 4;
    body.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`,
    );
    body.push(
      `<text x="${MARGIN.left - 8}" y="${y(value) + 4}" text-anchor="end">${Math.round(value).toLocaleString('en')}</text>`,
    );
  }
  body.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 18}" text-anchor="middle">seconds</text>`,
  );
  body.push(
    `<text x="16" y="${MARGIN.top + plotHeight / 2}" transform="rotate(-90 16 ${MARGIN.top + plotHeight / 2})" text-anchor="middle">records/s</text>`,
  );
  results.forEach((result, r) => {
    const colour = COLOURS[r % COLOURS.length]!;
    const points = result.throughputSeries
      .map((value, second) => `${x(second).toFixed(1)},${y(value).toFixed(1)}`)
      .join(' ');
    body.push(`<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    body.push(
      `<text x="${MARGIN.left + 10}" y="${MARGIN.top + 16 + r * 16}" fill="${colour}">${escapeXml(result.label)}</text>`,
    );
  });
  return frame('Throughput over time', body);
}
