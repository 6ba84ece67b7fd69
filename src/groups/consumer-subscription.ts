/**
 * The topics in a consumer's subscription: the start of the consumer
 * protocol's member metadata (Kafka's ConsumerProtocolSubscription, every
 * version): version INT16, topics ARRAY of STRING (INT32 count, INT16-length
 * UTF-8), then fields this broker does not need. Returns null when the bytes
 * do not hold that (a client's own protocol, truncated metadata).
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function subscribedTopics(metadata: Uint8Array): string[] | null {
  const view = new DataView(metadata.buffer, metadata.byteOffset, metadata.byteLength);
  if (metadata.byteLength < 6) return null;
  const count = view.getInt32(2);
  if (count < 0 || count > metadata.byteLength) return null;
  const topics: string[] = [];
  let at = 6;
  for (let i = 0; i < count; i++) {
    if (at + 2 > metadata.byteLength) return null;
    const length = view.getInt16(at);
    at += 2;
    if (length < 0 || at + length > metadata.byteLength) return null;
    try {
      topics.push(utf8.decode(metadata.subarray(at, at + length)));
    } catch {
      return null;
    }
    at += length;
  }
  return topics;
}
