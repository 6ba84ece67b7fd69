/**
 * The messages one WebSocket connection sends outside uWS's own callbacks
 * (answers and pushes that follow a shard's reply), written together in one
 * corked batch once the microtasks that made them have run. Owned by the
 * acceptor thread, one per connection.
 *
 * uWS writes a send made outside its callbacks to the socket at once: one
 * write system call per message. A shard answers the requests of one drain
 * together, so several answers for one connection become ready in the same
 * turn; queued here, they leave in one write. A lone answer waits only for
 * the end of the current microtasks, not for a timer or another turn.
 *
 * Order is kept: every message of the connection goes through the queue, and
 * the queue is flushed before the connection is ended.
 */
export interface CorkableWebSocket {
  cork(write: () => void): unknown;
  send(message: Uint8Array | string, isBinary: boolean): unknown;
  sendFirstFragment(message: Uint8Array, isBinary: boolean): unknown;
  sendLastFragment(message: Uint8Array): unknown;
}

/** What each queued entry is. */
const Part = {
  TEXT: 0,
  BINARY: 1,
  /** The head of a message sent in two fragments; the next entry is its body. */
  FIRST_FRAGMENT: 2,
  LAST_FRAGMENT: 3,
} as const;
type Part = (typeof Part)[keyof typeof Part];

export class WsOutbox {
  private readonly messages: (Uint8Array | string)[] = [];
  private readonly parts: Part[] = [];
  private scheduled = false;
  /** Bytes queued and not yet handed to uWS (strings count their UTF-16 length: a bound, not a size). */
  queuedBytes = 0;
  private readonly flushNow = (): void => this.flush();

  constructor(
    private readonly ws: CorkableWebSocket,
    /** Called after every flush (the backpressure check); not called when nothing was queued. */
    private readonly afterFlush: () => void,
  ) {}

  send(message: Uint8Array | string, isBinary: boolean): void {
    this.messages.push(message);
    this.parts.push(isBinary ? Part.BINARY : Part.TEXT);
    this.queuedBytes += message.length;
    this.schedule();
  }

  /** One binary message of a small head and a large body, as two fragments, without joining them. */
  sendInTwo(head: Uint8Array, body: Uint8Array): void {
    this.messages.push(head, body);
    this.parts.push(Part.FIRST_FRAGMENT, Part.LAST_FRAGMENT);
    this.queuedBytes += head.length + body.length;
    this.schedule();
  }

  /** Writes everything queued, in order, in one corked batch. */
  flush(): void {
    this.scheduled = false;
    const count = this.messages.length;
    if (count === 0) return;
    const { messages, parts, ws } = this;
    try {
      ws.cork(() => {
        for (let i = 0; i < count; i++) {
          const message = messages[i]!;
          switch (parts[i]) {
            case Part.TEXT:
              ws.send(message, false);
              break;
            case Part.BINARY:
              ws.send(message, true);
              break;
            case Part.FIRST_FRAGMENT:
              ws.sendFirstFragment(message as Uint8Array, true);
              break;
            case Part.LAST_FRAGMENT:
              ws.sendLastFragment(message as Uint8Array);
              break;
          }
        }
      });
    } catch {
      // uWS refuses a socket it already closed; its close callback follows and ends the session. This runs
      // as a microtask of its own, so a throw here would end the process.
      this.discard();
      return;
    }
    messages.length = 0;
    parts.length = 0;
    this.queuedBytes = 0;
    this.afterFlush();
  }

  /** Drops what is queued (the connection closed: uWS must not be touched any more). */
  discard(): void {
    this.messages.length = 0;
    this.parts.length = 0;
    this.queuedBytes = 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.flushNow);
  }
}
