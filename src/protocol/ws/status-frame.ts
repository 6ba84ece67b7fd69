import { type FrameReader, FrameWriter, WsOpCode } from './binary-frame.js';

/**
 * OK (0x84) and ERROR (0xFF), after the 8-byte frame header.
 *
 * OK: no body. It answers UNSUBSCRIBE and COMMIT.
 *
 * ERROR: the request (or, on a subscription, the push stream) with this id failed.
 *   str  code      a stable name: BAD_REQUEST, UNKNOWN_TOPIC, … (ws-error-code.ts)
 *   str  message   for people, at most 1000 characters
 * A subscription that fails gets one ERROR with its id and then no more pushes.
 */
export const ERROR_MESSAGE_CHARS_MAX = 1000;

export function encodeOk(id: number): Uint8Array {
  return new FrameWriter(WsOpCode.OK, id, 8).finish();
}

export function encodeError(id: number, code: string, message: string): Uint8Array {
  return new FrameWriter(WsOpCode.ERROR, id, 64 + code.length + message.length)
    .str(code)
    .str(message.slice(0, ERROR_MESSAGE_CHARS_MAX))
    .finish();
}

export function readError(reader: FrameReader): { code: string; message: string } {
  return { code: reader.str(), message: reader.str() };
}
