/**
 * A one-line progress counter on stderr for long operations (produce from a
 * pipe, export), redrawn at most every `intervalMs`, and only when stderr is
 * a terminal, so scripts and logs see none of it.
 */
export class Progress {
  private lastDrawMs = 0;
  private drawn = false;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly intervalMs = 250,
    enabled = process.stderr.isTTY === true,
  ) {
    this.enabled = enabled;
  }

  update(count: number, unit = 'records'): void {
    if (!this.enabled) return;
    const nowMs = performance.now();
    if (nowMs - this.lastDrawMs < this.intervalMs) return;
    this.lastDrawMs = nowMs;
    this.drawn = true;
    process.stderr.write(`\r${this.label}: ${count.toLocaleString('en-US')} ${unit}`);
  }

  done(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
  }
}
