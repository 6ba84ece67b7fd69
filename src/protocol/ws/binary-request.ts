import { readArrowRequest } from './arrow-frame.js';
import { FrameReader, readFrameHeader, WsOpCode } from './binary-frame.js';
import { readCommitRequest, readOffsetRequest } from './consumer-offset-frame.js';
import { readFetchRequest } from './fetch-frame.js';
import { readProduceRequest } from './produce-frame.js';
import { readSubscribeRequest, readUnsubscribeRequest } from './subscribe-frame.js';
import type { WsRequest } from './ws-request.js';

/**
 * Decodes any binary request frame by its op (each family's layout is in its
 * own file, listed in binary-frame.ts). Throws FrameError, carrying the
 * request id when the header was readable, for anything malformed.
 */
export function decodeBinaryRequest(bytes: Uint8Array): WsRequest {
  const { op, id } = readFrameHeader(bytes);
  const reader = new FrameReader(bytes, id);
  switch (op) {
    case WsOpCode.PRODUCE:
      return readProduceRequest(reader);
    case WsOpCode.FETCH:
      return readFetchRequest(reader);
    case WsOpCode.SUBSCRIBE:
      return readSubscribeRequest(reader);
    case WsOpCode.UNSUBSCRIBE:
      return readUnsubscribeRequest(reader);
    case WsOpCode.COMMIT:
      return readCommitRequest(reader);
    case WsOpCode.OFFSET:
      return readOffsetRequest(reader);
    case WsOpCode.ARROW:
      return readArrowRequest(reader);
    default:
      return reader.fail(`unknown request op 0x${op.toString(16).padStart(2, '0')}`);
  }
}
