import type { Socket } from 'node:net';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { ApiKey, type KafkaRequestContext, type ResponseBytesGrant } from '../protocol/kafka/api.js';
import { kafkaApis, kafkaApisByKey } from '../protocol/kafka/api-registry.js';
import { apiVersions } from '../protocol/kafka/api-versions.js';
import { KafkaReader, KafkaWriter, MalformedRequestError } from '../protocol/kafka/primitives.js';
import { MemoryBudget } from '../protocol/memory-budget.js';
import { ANONYMOUS_PRINCIPAL, type Principal } from '../security/principal.js';
import { ConnectionSaslAuthenticator, type SaslListenerOptions } from '../security/sasl-authenticator.js';

/**
 * One Kafka client connection, on the acceptor thread.
 *
 * Framing: each request is `INT32 size` then `size` bytes: the request header
 * v1 (api_key INT16, api_version INT16, correlation_id INT32, client_id
 * NULLABLE_STRING; header v2, for an API's flexible versions, adds tagged
 * fields) and the body. A frame larger than maxRequestBytes, or one
 * that does not decode, closes the connection: the stream cannot be trusted
 * past it. Responses are `INT32 size`, correlation_id INT32 (response header
 * v0; v1, an empty tagged-field section after it, for flexible versions
 * except ApiVersions'), body.
 *
 * Clients pipeline requests and match responses in order, so responses are
 * written in the order requests arrived even when handlers finish out of
 * order; acks=0 produces hold a place in that order but send nothing. At most
 * maxInFlightRequestsPerConnection requests are in progress: past that the
 * socket is paused and frames already received wait unparsed, which pushes
 * back on the client through TCP. Every response is encoded into the
 * connection's one writer (see KafkaWriter.beginFrame).
 *
 * Backpressure on output, as Kafka mutes a channel: the connection owes the
 * bytes fetches were granted and have not yet built, the responses queued
 * behind an unfinished one, and what the socket has not handed to the kernel.
 * While it owes maxUnsentBytesPerConnection or more, or while the broker's
 * memory budget is spent and it owes anything or holds part of a frame, it is
 * muted: it reads and parses nothing until the client reads (the socket
 * drains) or the budget has room. Everything it owes or holds is charged to
 * the broker-wide MemoryBudget.
 */
const SIZE_BYTES = 4;
/**
 * On a SASL listener, a connection that has not authenticated may send frames of at most this many
 * bytes (ApiVersions and SASL tokens are small), so an unauthenticated client cannot make the broker
 * hold more than this and the socket's buffers (Kafka bounds its SASL server's receive likewise).
 */
export const UNAUTHENTICATED_FRAME_MAX_BYTES = 64 * 1024;
const REQUEST_HEADER_MIN_BYTES = 8;

interface Slot {
  correlationId: number;
  /** Response header v1: the correlation id, then an (empty) tagged-field section. */
  taggedHeader: boolean;
  done: boolean;
  chunks: Uint8Array[] | null;
}

export interface ConnectionLog {
  warn(details: object, message: string): void;
}

export class KafkaConnection {
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly slots: Slot[] = [];
  private paused = false;
  /** Set by drain(): read nothing more; resolve `drained` once every response has left. */
  private draining = false;
  private drained: (() => void) | null = null;
  private drainedPromise: Promise<void> | null = null;
  /** Paused because of what it owes or the memory budget (counted in the muted gauge), not the in-flight count. */
  private muted = false;
  /** Bytes granted to fetches still being built. */
  private reservedBytes = 0;
  /** Bytes of finished responses waiting behind an unfinished one. */
  private queuedBytes = 0;
  /** What this connection has charged to the budget, so that changes are charged as deltas. */
  private chargedBytes = 0;
  private readonly wakeUp = (): void => this.updateReading();
  private readonly afterWrite = (): void => {
    this.recharge();
    this.updateReading();
  };
  private readonly responseBytes: ResponseBytesGrant = {
    grant: (wantedBytes) => {
      const connectionRoomBytes = this.deps.config.maxUnsentBytesPerConnection - this.owedBytes();
      const grantedBytes = Math.max(
        1,
        Math.min(wantedBytes, connectionRoomBytes, this.budget.headroomBytes()),
      );
      this.reservedBytes += grantedBytes;
      this.recharge();
      return grantedBytes;
    },
    giveBack: (grantedBytes) => {
      this.reservedBytes -= grantedBytes;
      this.recharge();
      this.updateReading();
    },
  };
  private parsing = false;
  private closed = false;
  private flushScheduled = false;
  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  private readonly writer = new KafkaWriter(16 * 1024);
  /** The peer's address, read once: `socket.remoteAddress` is a getter through `_getpeername`. */
  private readonly clientHost: string;
  /** Who this connection acts for: anonymous until it authenticates (SASL, or a client certificate). */
  private principal: Principal = ANONYMOUS_PRINCIPAL;
  /** The SASL state on a SASL listener; undefined on one without SASL. */
  private readonly sasl: ConnectionSaslAuthenticator | undefined;
  /** When the SASL session ends (ms since the epoch): 0 before authentication, Infinity without re-authentication. */
  private sessionEndsAtMs = 0;
  private maxFrameBytes: number;
  private saslDeadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly deps: FrontDoorDeps,
    private readonly log: ConnectionLog,
    private readonly budget: MemoryBudget = new MemoryBudget(deps.config.memoryBudgetBytes),
    saslOptions: (SaslListenerOptions & { readonly handshakeTimeoutMs: number }) | null = null,
    /** The principal of a verified client certificate (mTLS), until SASL (if any) replaces it. */
    certificatePrincipal: Principal | null = null,
  ) {
    this.clientHost = socket.remoteAddress ?? '';
    if (certificatePrincipal !== null) this.principal = certificatePrincipal;
    this.maxFrameBytes = deps.config.maxRequestBytes;
    if (saslOptions === null) {
      this.sasl = undefined;
    } else {
      this.sasl = new ConnectionSaslAuthenticator(saslOptions, (principal, sessionEndsAtMs) => {
        this.principal = principal;
        this.sessionEndsAtMs = sessionEndsAtMs;
        this.maxFrameBytes = deps.config.maxRequestBytes;
        clearTimeout(this.saslDeadline);
      });
      this.maxFrameBytes = Math.min(UNAUTHENTICATED_FRAME_MAX_BYTES, deps.config.maxRequestBytes);
      this.saslDeadline = setTimeout(() => {
        if (this.sessionEndsAtMs === 0)
          this.close(`no SASL authentication within ${saslOptions.handshakeTimeoutMs} ms`);
      }, saslOptions.handshakeTimeoutMs);
      this.saslDeadline.unref();
    }
    socket.setNoDelay(true);
    socket.setTimeout(deps.config.idleTimeoutMs, () => this.close('idle timeout'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close('socket error'));
    socket.on('drain', this.afterWrite);
    socket.on('close', () => {
      this.closed = true;
      this.release();
      this.checkDrained();
    });
  }

  /** What the connection owes: granted, queued, and not yet taken by the kernel. */
  private owedBytes(): number {
    return this.reservedBytes + this.queuedBytes + this.socket.writableLength;
  }

  /** Brings the budget's charge for this connection up to date. */
  private recharge(): void {
    const nowBytes = this.closed ? 0 : this.owedBytes() + this.bufferedBytes;
    if (nowBytes !== this.chargedBytes) {
      this.budget.charge(nowBytes - this.chargedBytes);
      this.chargedBytes = nowBytes;
    }
  }

  /** Gives back everything once the connection is closed. */
  private release(): void {
    this.recharge();
    this.budget.forget(this.wakeUp);
    if (this.muted) {
      this.muted = false;
      this.budget.mutedConnections--;
    }
  }

  /** True while output or memory says to read nothing more. */
  private mustMute(): boolean {
    const owedBytes = this.owedBytes();
    if (owedBytes >= this.deps.config.maxUnsentBytesPerConnection) return true;
    return this.budget.spent && (owedBytes > 0 || this.bufferedBytes > 0);
  }

  /**
   * Graceful stop: reads no further request, answers those in progress, and
   * resolves once their responses have been handed to the kernel (or the
   * connection closed). The caller bounds the wait and closes what is left.
   */
  drain(): Promise<void> {
    if (this.drainedPromise !== null) return this.drainedPromise;
    this.draining = true;
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.drainedPromise = new Promise<void>((resolve) => {
      this.drained = resolve;
    });
    this.checkDrained();
    return this.drainedPromise;
  }

  private checkDrained(): void {
    if (this.drained === null) return;
    if (this.closed || (this.slots.length === 0 && this.socket.writableLength === 0)) {
      const resolve = this.drained;
      this.drained = null;
      resolve();
    }
  }

  /** Pauses or resumes the socket to match the in-flight limit, what it owes and the budget. */
  private updateReading(): void {
    this.checkDrained();
    if (this.closed || this.draining) return;
    const mute = this.mustMute();
    if (mute !== this.muted) {
      this.muted = mute;
      this.budget.mutedConnections += mute ? 1 : -1;
    }
    if (mute && this.budget.spent) this.budget.waitForRoom(this.wakeUp);
    const pause = mute || this.slots.length >= this.deps.config.maxInFlightRequestsPerConnection;
    if (pause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!pause && this.paused) {
      this.paused = false;
      this.socket.resume();
      this.parse();
    }
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.saslDeadline);
    if (reason !== 'socket error' && reason !== 'idle timeout' && reason !== 'broker stopping')
      this.log.warn({ reason }, 'closing Kafka connection');
    this.socket.destroy();
    this.release();
    this.checkDrained();
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    this.parse();
    this.recharge();
    this.updateReading();
  }

  /** Handles every whole frame received, until the in-flight limit pauses the connection. */
  private parse(): void {
    // A response finishing synchronously inside onFrame may unpause and call back here: the loop below
    // already continues, so the nested call does nothing.
    if (this.parsing) return;
    this.parsing = true;
    try {
      while (!this.closed && !this.paused && !this.draining && this.bufferedBytes >= SIZE_BYTES) {
        const size = this.peekSize();
        if (size < REQUEST_HEADER_MIN_BYTES || size > this.maxFrameBytes) {
          this.close(`request size ${size} outside ${REQUEST_HEADER_MIN_BYTES}..${this.maxFrameBytes}`);
          return;
        }
        if (this.bufferedBytes < SIZE_BYTES + size) return;
        this.advance(SIZE_BYTES);
        const pieces: Buffer[] = [];
        this.advance(size, pieces);
        if (this.sasl?.expectsBareTokens === true) this.onBareSaslToken(Buffer.concat(pieces));
        else this.onFrame(pieces);
        if (this.mustMute()) {
          this.updateReading();
          return;
        }
      }
    } finally {
      this.parsing = false;
    }
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= SIZE_BYTES) return first.readInt32BE(0);
    return Buffer.concat(this.chunks, SIZE_BYTES).readInt32BE(0);
  }

  /**
   * Removes `byteCount` bytes from the front; with `pieces`, keeps them there
   * as views of the chunks they sit in (no copy: Node gives every socket read
   * a buffer of its own).
   */
  private advance(byteCount: number, pieces?: Buffer[]): void {
    let taken = 0;
    while (taken < byteCount) {
      const chunk = this.chunks[0]!;
      const wanted = byteCount - taken;
      if (chunk.length <= wanted) {
        pieces?.push(chunk);
        taken += chunk.length;
        this.chunks.shift();
      } else {
        pieces?.push(chunk.subarray(0, wanted));
        this.chunks[0] = chunk.subarray(wanted);
        taken = byteCount;
      }
    }
    this.bufferedBytes -= byteCount;
  }

  /**
   * After SaslHandshake v0, SASL tokens come as bare frames and go back the same way (`INT32
   * size` then the token); a failure closes the connection, as v0 has no way to say why. Like a
   * request, the token holds a place in the response order.
   */
  private onBareSaslToken(token: Buffer): void {
    const sasl = this.sasl!;
    const slot: Slot = { correlationId: 0, taggedHeader: false, done: false, chunks: null };
    this.slots.push(slot);
    sasl.authenticate(token).then(
      (result) => {
        if (result.errorCode !== KafkaErrorCode.NONE) {
          this.close(`SASL authentication failed: ${result.errorMessage ?? result.errorCode}`);
          return;
        }
        const frame = Buffer.allocUnsafe(SIZE_BYTES + result.authBytes.length);
        frame.writeInt32BE(result.authBytes.length, 0);
        frame.set(result.authBytes, SIZE_BYTES);
        slot.chunks = [frame];
        slot.done = true;
        this.queuedBytes += frame.length;
        this.recharge();
        this.scheduleFlush();
      },
      (error: unknown) => this.close(`SASL authentication failed: ${String(error)}`),
    );
  }

  /** Handles one request, given as the pieces of the socket reads it arrived in. */
  private onFrame(pieces: Buffer[]): void {
    const reader = KafkaReader.overPieces(pieces);
    let apiKey: number;
    let apiVersion: number;
    let correlationId: number;
    let clientId: string;
    try {
      apiKey = reader.int16();
      apiVersion = reader.int16();
      correlationId = reader.int32();
      clientId = reader.nullableString() ?? '';
    } catch {
      this.close('malformed request header');
      return;
    }
    const api = kafkaApisByKey[apiKey];
    if (api === undefined) {
      this.close(`unknown API key ${apiKey}`);
      return;
    }
    if (
      this.sasl !== undefined &&
      apiKey !== ApiKey.API_VERSIONS &&
      apiKey !== ApiKey.SASL_HANDSHAKE &&
      apiKey !== ApiKey.SASL_AUTHENTICATE &&
      this.sessionEndsAtMs <= Date.now()
    ) {
      // As Kafka does: a request that needs a principal, before there is one (or after the session
      // ran out without re-authentication), closes the connection.
      this.close(
        this.sessionEndsAtMs === 0
          ? `${api.name} before SASL authentication`
          : `${api.name} after the SASL session expired (connections.max.reauth.ms)`,
      );
      return;
    }
    const slot: Slot = { correlationId, taggedHeader: false, done: false, chunks: null };
    if (apiVersion < api.minVersion || apiVersion > api.maxVersion) {
      if (apiKey !== ApiKey.API_VERSIONS) {
        this.close(`${api.name} v${apiVersion} is not supported (${api.minVersion}..${api.maxVersion})`);
        return;
      }
      // A newer client's ApiVersions: answer in the v0 layout with the list, so it can fall back.
      this.slots.push(slot);
      this.complete(slot, (writer) =>
        apiVersions.encode(writer, { errorCode: KafkaErrorCode.UNSUPPORTED_VERSION, apis: kafkaApis }, 0),
      );
      return;
    }
    // Request header v2 (flexible versions) ends with tagged fields; none is known, so all are skipped.
    // ApiVersions answers with response header v0 even when flexible, so that any client can read it.
    const flexible = apiVersion >= api.firstFlexibleVersion;
    if (flexible) {
      try {
        reader.taggedFields(null);
      } catch {
        this.close('malformed request header');
        return;
      }
    }
    slot.taggedHeader = flexible && apiKey !== ApiKey.API_VERSIONS;
    const context: KafkaRequestContext = {
      deps: this.deps,
      apiVersion,
      clientId,
      clientHost: this.clientHost,
      principal: this.principal,
      sasl: this.sasl,
      responseBytes: this.responseBytes,
      apis: kafkaApis,
    };
    let running: Promise<((writer: KafkaWriter) => void) | null>;
    try {
      running = api.run(reader, context);
    } catch (error) {
      this.close(
        error instanceof MalformedRequestError ? `malformed ${api.name}: ${error.message}` : String(error),
      );
      return;
    }
    this.slots.push(slot);
    if (this.slots.length >= this.deps.config.maxInFlightRequestsPerConnection && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    // A handler failure is answered by fail() below; nothing of it may escape as an unhandled rejection.
    running.then(
      (encode) => {
        if (encode === null) {
          slot.done = true;
          this.scheduleFlush();
          return;
        }
        try {
          this.complete(slot, encode);
        } catch (error) {
          this.fail(api.name, error);
        }
      },
      (error: unknown) => this.fail(api.name, error),
    );
  }

  /** A handler or encoder that fails has a bug: the client cannot be answered sensibly, so it is dropped. */
  private fail(apiName: string, error: unknown): void {
    this.log.warn({ api: apiName, error: String(error) }, 'Kafka handler failed');
    this.close(`${apiName} handler failed`);
  }

  /**
   * Encodes the response (header v0: correlation_id; v1 adds an empty tagged-field section; then
   * the body) as one frame and queues it.
   */
  private complete(slot: Slot, encode: (writer: KafkaWriter) => void): void {
    const writer = this.writer.beginFrame().int32(slot.correlationId);
    if (slot.taggedHeader) writer.uvarint(0);
    encode(writer);
    slot.chunks = writer.finishFrame();
    slot.done = true;
    for (const chunk of slot.chunks) this.queuedBytes += chunk.length;
    this.recharge();
    this.scheduleFlush();
  }

  /**
   * Flushes once the microtasks queued so far have run (process.nextTick runs
   * after the microtask queue drains): responses that finish in the same
   * burst of shard replies leave in one write instead of one syscall each.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flushNow);
  }

  /**
   * Writes every finished response at the head of the queue, in arrival order: one chunk in one
   * write, several corked into one writev (a lone chunk skips the cork, which only adds work).
   */
  private flush(): void {
    if (this.closed) return;
    let last: Uint8Array | null = null;
    let corked = false;
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (slot.chunks === null) continue;
      for (const chunk of slot.chunks) {
        if (last !== null) {
          if (!corked) {
            corked = true;
            this.socket.cork();
          }
          this.socket.write(last);
        }
        this.queuedBytes -= chunk.length;
        last = chunk;
      }
    }
    if (last !== null) {
      // The last chunk's callback runs once the kernel has taken everything before it: the
      // connection then owes less, which may unmute it.
      this.socket.write(last, this.afterWrite);
      if (corked) this.socket.uncork();
    }
    this.recharge();
    this.updateReading();
  }
}
