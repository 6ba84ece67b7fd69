import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { messageCodec } from '../protocol/kafka/message/message-codec.js';
import {
  type SaslAuthenticateResponse,
  saslAuthenticateRequestDescription,
  saslAuthenticateResponseDescription,
} from '../protocol/kafka/sasl-authenticate.js';
import {
  type SaslHandshakeResponse,
  saslHandshakeRequestDescription,
  saslHandshakeResponseDescription,
} from '../protocol/kafka/sasl-handshake.js';
import { type SaslClientMechanism, saslClientConversation } from '../security/sasl-client.js';
import type { PeerConnection } from './peer-connection.js';

/**
 * A broker authenticating to another broker's SASL listener as the broker principal, the way a
 * Kafka client does: SaslHandshake v1 naming the mechanism, then SaslAuthenticate v2 carrying the
 * mechanism's tokens until the conversation ends. Any error answer rejects (the connection is
 * closed by the caller and opened again after the fetcher's back-off).
 */
export interface PeerSaslOptions {
  mechanism: SaslClientMechanism;
  username: string;
  password: string;
}

const SASL_HANDSHAKE_KEY = 17;
const SASL_AUTHENTICATE_KEY = 36;
/** More round trips than any mechanism here needs: a server that keeps asking is refused. */
const SASL_STEPS_MAX = 4;
const handshakeRequest = messageCodec<{ mechanism: string }>(saslHandshakeRequestDescription);
const handshakeResponse = messageCodec<SaslHandshakeResponse>(saslHandshakeResponseDescription);
const authenticateRequest = messageCodec<{ authBytes: Uint8Array }>(saslAuthenticateRequestDescription);
const authenticateResponse = messageCodec<SaslAuthenticateResponse>(saslAuthenticateResponseDescription);

export async function authenticatePeer(connection: PeerConnection, sasl: PeerSaslOptions): Promise<void> {
  const handshake = await connection.send(
    SASL_HANDSHAKE_KEY,
    1,
    handshakeRequest,
    { mechanism: sasl.mechanism },
    handshakeResponse,
  );
  if (handshake.errorCode !== KafkaErrorCode.NONE) {
    throw new Error(
      `SaslHandshake refused ${sasl.mechanism} (error ${handshake.errorCode}; the listener offers ${handshake.mechanisms.join(', ') || 'none'})`,
    );
  }
  const conversation = saslClientConversation(sasl.mechanism, sasl.username, sasl.password);
  let token = await conversation.next(new Uint8Array(0));
  for (let step = 0; token !== null; step++) {
    if (step === SASL_STEPS_MAX) throw new Error('the SASL exchange did not end');
    const answer = await connection.send(
      SASL_AUTHENTICATE_KEY,
      2,
      authenticateRequest,
      { authBytes: token },
      authenticateResponse,
    );
    if (answer.errorCode !== KafkaErrorCode.NONE) {
      throw new Error(`SaslAuthenticate: error ${answer.errorCode}: ${answer.errorMessage ?? ''}`);
    }
    token = await conversation.next(answer.authBytes);
  }
}
