import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription } from './message/description.js';
import { messageCodec } from './message/message-codec.js';

/**
 * SaslHandshake (key 17), versions 0–1: the client names a mechanism; the answer lists the ones
 * this listener enables. After v1 the tokens come in SaslAuthenticate requests; after v0 they come
 * as bare size-prefixed frames (the connection reads them as such, kafka-connection.ts). On a
 * listener without SASL the answer is ILLEGAL_SASL_STATE with no mechanisms.
 */
export const saslHandshakeRequestDescription: MessageDescription = {
  name: 'SaslHandshakeRequest',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [field('mechanism', 'string', '0+')],
};

export const saslHandshakeResponseDescription: MessageDescription = {
  name: 'SaslHandshakeResponse',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [field('errorCode', 'int16', '0+'), field('mechanisms', '[]string', '0+')],
};

export interface SaslHandshakeRequest {
  mechanism: string;
}

export interface SaslHandshakeResponse {
  errorCode: number;
  mechanisms: readonly string[];
}

const request = messageCodec<SaslHandshakeRequest>(saslHandshakeRequestDescription);
const response = messageCodec<SaslHandshakeResponse>(saslHandshakeResponseDescription);

export const saslHandshake: KafkaApi<SaslHandshakeRequest, SaslHandshakeResponse> = {
  apiKey: ApiKey.SASL_HANDSHAKE,
  name: 'SaslHandshake',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const sasl = context.sasl;
    if (sasl === undefined) return { errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    return {
      errorCode: sasl.handshake(request.mechanism, context.apiVersion),
      mechanisms: sasl.enabledMechanisms,
    };
  },
  encode: response.encode,
};
