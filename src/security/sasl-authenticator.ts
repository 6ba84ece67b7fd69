import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { CredentialStore } from './credential-store.js';
import type { Principal } from './principal.js';
import { isSaslMechanism, type SaslMechanism, SaslServerExchange } from './sasl-server.js';

/**
 * One connection's SASL state on a SASL listener, as SaslHandshake and SaslAuthenticate drive it
 * (owned by the acceptor thread, like the connection). A handshake picks a mechanism and starts an
 * exchange; SaslAuthenticate feeds it tokens; success hands the principal to the connection with
 * the session's lifetime (KIP-368: `connections.max.reauth.ms`, 0 for none), and the client may
 * later run a new handshake on the same connection to re-authenticate before it runs out.
 *
 * A failed authentication is answered after `failureDelayMs`, which slows password guessing
 * without holding anything but a timer.
 */
export interface SaslAuthenticateResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly authBytes: Uint8Array;
  readonly sessionLifetimeMs: number;
}

export interface SaslAuthenticator {
  readonly enabledMechanisms: readonly SaslMechanism[];
  /**
   * Starts an exchange; NONE, UNSUPPORTED_SASL_MECHANISM, or ILLEGAL_SASL_STATE (one already
   * running). After a v0 handshake the tokens arrive as bare frames (`expectsBareTokens`).
   */
  handshake(mechanism: string, handshakeVersion: number): number;
  authenticate(token: Uint8Array): Promise<SaslAuthenticateResult>;
}

export interface SaslListenerOptions {
  readonly mechanisms: readonly SaslMechanism[];
  readonly credentials: CredentialStore;
  /** connections.max.reauth.ms: a session's lifetime; 0 keeps it for the life of the connection. */
  readonly reauthMs: number;
  readonly failureDelayMs: number;
}

const EMPTY = new Uint8Array(0);

export class ConnectionSaslAuthenticator implements SaslAuthenticator {
  private exchange: SaslServerExchange | null = null;
  /** SaslHandshake v0 was used: the exchange's tokens come as bare frames, not SaslAuthenticate. */
  private bareTokens = false;

  constructor(
    private readonly options: SaslListenerOptions,
    /** Called once per successful exchange, with when its session ends (ms since the epoch; Infinity for never). */
    private readonly onAuthenticated: (principal: Principal, sessionEndsAtMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get enabledMechanisms(): readonly SaslMechanism[] {
    return this.options.mechanisms;
  }

  /** Whether the next frame is a bare SASL token (after a v0 handshake, until the exchange ends). */
  get expectsBareTokens(): boolean {
    return this.bareTokens && this.exchange !== null && !this.exchange.finished;
  }

  handshake(mechanism: string, handshakeVersion: number): number {
    if (this.exchange !== null && !this.exchange.finished) return KafkaErrorCode.ILLEGAL_SASL_STATE;
    if (!isSaslMechanism(mechanism) || !this.options.mechanisms.includes(mechanism)) {
      return KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM;
    }
    this.exchange = new SaslServerExchange(mechanism, this.options.credentials);
    this.bareTokens = handshakeVersion === 0;
    return KafkaErrorCode.NONE;
  }

  async authenticate(token: Uint8Array): Promise<SaslAuthenticateResult> {
    const exchange = this.exchange;
    if (exchange === null || exchange.finished) {
      return {
        errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: 'SaslAuthenticate without a SaslHandshake first',
        authBytes: EMPTY,
        sessionLifetimeMs: 0,
      };
    }
    const step = await exchange.step(token);
    if (step.kind === 'challenge') {
      return {
        errorCode: KafkaErrorCode.NONE,
        errorMessage: null,
        authBytes: step.bytes,
        sessionLifetimeMs: 0,
      };
    }
    if (step.kind === 'failure') {
      await new Promise((resolve) => setTimeout(resolve, this.options.failureDelayMs));
      return {
        errorCode: KafkaErrorCode.SASL_AUTHENTICATION_FAILED,
        errorMessage: step.message,
        authBytes: EMPTY,
        sessionLifetimeMs: 0,
      };
    }
    const lifetimeMs = this.options.reauthMs;
    this.onAuthenticated(step.principal, lifetimeMs > 0 ? this.now() + lifetimeMs : Number.POSITIVE_INFINITY);
    return {
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      authBytes: step.bytes,
      sessionLifetimeMs: lifetimeMs,
    };
  }
}
