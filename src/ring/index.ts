/** The SharedArrayBuffer SPSC ring: layout, producer side and consumer side. */

export { type NativeDoorbell, nativeDoorbell } from './native-doorbell.js';
export {
  createRingBuffer,
  createRingBufferNearIndexWrap,
  maxPayloadBytesFor,
  type RingRecord,
} from './ring-layout.js';
export { RingReader } from './ring-reader.js';
export { RingWriter } from './ring-writer.js';
