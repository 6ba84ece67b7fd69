import { InvalidBatchError } from '../../common/errors.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';

/** A records section that does not decompress, or would decompress past the limit: CORRUPT_MESSAGE. */
export function corruptSection(codecName: string, problem: string): never {
  throw new InvalidBatchError(KafkaErrorCode.CORRUPT_MESSAGE, `${codecName} records section ${problem}`);
}

/** Refuses a section whose decompressed size (or upper bound on it) is above `maxBytes`, before inflating it. */
export function assertWithinLimit(codecName: string, boundBytes: number, maxBytes: number): void {
  if (boundBytes > maxBytes) {
    corruptSection(codecName, `would decompress to ${boundBytes} bytes, above the limit of ${maxBytes}`);
  }
}
