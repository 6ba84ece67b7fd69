import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription } from './message/description.js';
import { messageCodec } from './message/message-codec.js';

/**
 * SaslAuthenticate (key 36), versions 0–2 (flexible from 2): one SASL token each way.
 * session_lifetime_ms (v1+) is KIP-368's re-authentication deadline: the client must run a new
 * handshake before it passes, or the broker closes the connection (see kafka-connection.ts).
 */
export const saslAuthenticateRequestDescription: MessageDescription = {
  name: 'SaslAuthenticateRequest',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [field('authBytes', 'bytes', '0+')],
};

export const saslAuthenticateResponseDescription: MessageDescription = {
  name: 'SaslAuthenticateResponse',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    field('errorCode', 'int16', '0+'),
    field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
    field('authBytes', 'bytes', '0+'),
    field('sessionLifetimeMs', 'int64', '1+', { default: 0 }),
  ],
};

export interface SaslAuthenticateRequest {
  authBytes: Uint8Array;
}

export interface SaslAuthenticateResponse {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Uint8Array;
  sessionLifetimeMs: number;
}

const request = messageCodec<SaslAuthenticateRequest>(saslAuthenticateRequestDescription);
const response = messageCodec<SaslAuthenticateResponse>(saslAuthenticateResponseDescription);

export const saslAuthenticate: KafkaApi<SaslAuthenticateRequest, SaslAuthenticateResponse> = {
  apiKey: ApiKey.SASL_AUTHENTICATE,
  name: 'SaslAuthenticate',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const sasl = context.sasl;
    if (sasl === undefined) {
      return {
        errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: 'this listener does not use SASL',
        authBytes: new Uint8Array(0),
        sessionLifetimeMs: 0,
      };
    }
    // The token is a view of the socket's buffers: copy it before the handler awaits anything.
    return sasl.authenticate(Uint8Array.prototype.slice.call(request.authBytes));
  },
  encode: response.encode,
};
