import { appendFileSync, readFileSync } from 'node:fs';

/**
 * The history of a chaos run, in the manner of Jepsen: every write a producer
 * attempted with how it ended, and every fault and heal the nemesis applied,
 * each with its wall-clock time. The checker judges the final reads against
 * it. Stored as JSON lines so that a run killed halfway still leaves what it
 * recorded, and so a failed run can be checked again by hand.
 */

/**
 * How a write ended: `ok` with the offset the broker acknowledged; `fail` when
 * the broker said it was not written (e.g. NOT_ENOUGH_REPLICAS before the
 * append); `info` when nobody knows (a timeout, a lost connection, or an
 * error raised after the append): such a write may or may not be in the log.
 */
export type WriteOutcome = 'ok' | 'fail' | 'info';

export interface WriteEvent {
  kind: 'write';
  /** The producer's name: one producer, one session, one sequence of writes. */
  producer: string;
  /** Whether the producer was idempotent (enable.idempotence): its writes must never appear twice. */
  idempotent: boolean;
  topic: string;
  partition: number;
  /** Unique across the whole run, so a value found in a log names exactly one write. */
  value: string;
  outcome: WriteOutcome;
  /** The acknowledged offset, for `ok` writes only. */
  offset?: number;
  invokedAtMs: number;
  completedAtMs: number;
  error?: string;
}

/** A fault the nemesis applied: SIGKILL or SIGSTOP a broker, cut a link, stop etcd… */
export interface FaultEvent {
  kind: 'fault';
  action: string;
  target: string;
  atMs: number;
}

/** Every fault was undone at `atMs`: links healed, processes continued or restarted. */
export interface HealEvent {
  kind: 'heal';
  atMs: number;
}

export type HistoryEvent = WriteEvent | FaultEvent | HealEvent;

/** Records events in memory and, with a path, appends each as one JSON line as it happens. */
export class HistoryRecorder {
  private readonly recorded: HistoryEvent[] = [];

  constructor(private readonly path?: string) {}

  record(event: HistoryEvent): void {
    this.recorded.push(event);
    if (this.path !== undefined) appendFileSync(this.path, `${JSON.stringify(event)}\n`);
  }

  events(): readonly HistoryEvent[] {
    return this.recorded;
  }
}

/** Reads a recorded history back; a torn last line (the run was killed mid-write) is ignored. */
export function readHistory(path: string): HistoryEvent[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const events: HistoryEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      if (i >= lines.length - 2) break;
      throw new Error(`${path}:${i + 1}: not JSON`, { cause: error });
    }
    if (!isHistoryEvent(parsed)) throw new Error(`${path}:${i + 1}: not a history event`);
    events.push(parsed);
  }
  return events;
}

function isHistoryEvent(value: unknown): value is HistoryEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  switch (event.kind) {
    case 'write':
      return (
        typeof event.producer === 'string' &&
        typeof event.idempotent === 'boolean' &&
        typeof event.topic === 'string' &&
        Number.isInteger(event.partition) &&
        typeof event.value === 'string' &&
        (event.outcome === 'ok' || event.outcome === 'fail' || event.outcome === 'info') &&
        (event.outcome !== 'ok' || Number.isInteger(event.offset)) &&
        typeof event.invokedAtMs === 'number' &&
        typeof event.completedAtMs === 'number'
      );
    case 'fault':
      return (
        typeof event.action === 'string' && typeof event.target === 'string' && typeof event.atMs === 'number'
      );
    case 'heal':
      return typeof event.atMs === 'number';
    default:
      return false;
  }
}
