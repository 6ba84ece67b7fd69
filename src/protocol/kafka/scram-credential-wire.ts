import type { ScramMechanism } from '../../security/scram.js';

/** Kafka's ScramMechanism enum on the wire (UNKNOWN 0, SCRAM-SHA-256 1, SCRAM-SHA-512 2). */
export function scramMechanismOfWire(value: number): ScramMechanism | null {
  return value === 1 ? 'SCRAM-SHA-256' : value === 2 ? 'SCRAM-SHA-512' : null;
}

export function wireOfScramMechanism(mechanism: ScramMechanism): number {
  return mechanism === 'SCRAM-SHA-256' ? 1 : 2;
}
