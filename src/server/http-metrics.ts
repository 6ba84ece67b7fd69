/**
 * Counters of the HTTP API, rendered in Prometheus text format after the
 * broker's own metrics on GET /metrics. Labels are the route pattern (never
 * the raw URL, so a client cannot grow the label set) and the status code,
 * both from small fixed sets. Owned by the acceptor thread.
 */
export class HttpMetrics {
  private readonly requests = new Map<string, { route: string; status: number; count: number }>();
  inFlight = 0;

  countResponse(route: string, status: number): void {
    const key = `${route} ${status}`;
    const entry = this.requests.get(key);
    if (entry === undefined) this.requests.set(key, { route, status, count: 1 });
    else entry.count++;
  }

  /** Prometheus text lines (format 0.0.4), each ending in a newline. */
  render(bufferedBodyBytes: number): string {
    const lines = [
      '# HELP pyralog_http_requests_total HTTP requests answered, by route pattern and status',
      '# TYPE pyralog_http_requests_total counter',
    ];
    for (const { route, status, count } of this.requests.values()) {
      lines.push(`pyralog_http_requests_total{route="${route}",status="${status}"} ${count}`);
    }
    lines.push(
      '# HELP pyralog_http_requests_in_flight HTTP requests received and not yet answered',
      '# TYPE pyralog_http_requests_in_flight gauge',
      `pyralog_http_requests_in_flight ${this.inFlight}`,
      '# HELP pyralog_http_body_buffered_bytes Bytes of HTTP request bodies held by the acceptor',
      '# TYPE pyralog_http_body_buffered_bytes gauge',
      `pyralog_http_body_buffered_bytes ${bufferedBodyBytes}`,
    );
    return `${lines.join('\n')}\n`;
  }
}
