/**
 * Fails a test that leaves a request unanswered. Wrap an engine (or any
 * object whose methods return promises) with `ledger.track(target)`: every
 * promise its methods return is recorded, and `assertAllAnswered(timeoutMs)`
 * (call it in afterEach, before stopping the broker) waits up to the timeout
 * for all of them and throws, naming each request still waiting, if any is.
 */
export class RequestLedger {
  private readonly waiting = new Map<number, string>();
  private nextId = 0;
  answered = 0;

  /** A view of `target` whose promise-returning methods are recorded. */
  track<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
          if (result instanceof Promise) this.record(result, String(property));
          return result;
        };
      },
    });
  }

  /** Records one promise standing for a request. */
  record<T>(promise: Promise<T>, label: string): Promise<T> {
    const id = this.nextId++;
    this.waiting.set(id, label);
    const settle = (): void => {
      this.waiting.delete(id);
      this.answered++;
    };
    promise.then(settle, settle);
    return promise;
  }

  async assertAllAnswered(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.waiting.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (this.waiting.size > 0) {
      const labels = [...this.waiting.values()];
      this.waiting.clear();
      throw new Error(
        `${labels.length} request(s) never answered within ${timeoutMs} ms: ${labels.join(', ')}`,
      );
    }
  }
}
