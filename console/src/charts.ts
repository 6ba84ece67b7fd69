import uPlot from 'uplot';

/**
 * A live line chart (uPlot) of a few series over the last `windowPoints`
 * points: `push` adds one point per series at the current time.
 */
export class LiveChart {
  private readonly times: number[] = [];
  private readonly values: (number | null)[][];
  private readonly plot: uPlot;
  points = 0;

  constructor(
    parent: HTMLElement,
    title: string,
    series: readonly { label: string; color: string }[],
    private readonly windowPoints = 120,
  ) {
    this.values = series.map(() => []);
    this.plot = new uPlot(
      {
        title,
        width: Math.max(320, Math.min(560, parent.clientWidth || 560)),
        height: 220,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
        axes: [{}, { size: 70 }],
      },
      [this.times, ...this.values] as uPlot.AlignedData,
      parent,
    );
  }

  push(values: readonly (number | null)[]): void {
    this.times.push(Date.now() / 1000);
    for (let i = 0; i < values.length; i++) this.values[i]!.push(values[i] ?? null);
    if (this.times.length > this.windowPoints) {
      this.times.shift();
      for (const column of this.values) column.shift();
    }
    this.points++;
    this.plot.setData([this.times, ...this.values] as uPlot.AlignedData);
  }

  destroy(): void {
    this.plot.destroy();
  }
}

/** A static chart of x/y series (bench results). */
export function staticChart(
  parent: HTMLElement,
  title: string,
  x: number[],
  series: readonly { label: string; color: string; values: (number | null)[] }[],
  xLabel: string,
): uPlot {
  return new uPlot(
    {
      title,
      width: 560,
      height: 260,
      scales: { x: { time: false } },
      series: [{ label: xLabel }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      axes: [{ label: xLabel }, { size: 70 }],
    },
    [x, ...series.map((s) => s.values)] as uPlot.AlignedData,
    parent,
  );
}
