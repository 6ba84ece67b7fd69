import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FrameError, FrameWriter, WsOpCode } from '../../src/protocol/ws/binary-frame.js';
import { decodeBinaryRequest } from '../../src/protocol/ws/binary-request.js';
import { decodeJsonRequest, JsonRequestError } from '../../src/protocol/ws/json-request.js';
import { splitIntoBatches } from '../../src/protocol/ws/produce-frame.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { type HttpFixture, startHttpFixture } from '../support/http-fixture.js';
import { xorshift } from '../support/xorshift.js';

/**
 * Random and mutated WebSocket frames: the decoders answer each with a
 * request or a typed error (100k binary and 100k JSON), a PRODUCE they let
 * through becomes batches holding its records, and the server, fed
 * thousands over a real socket, answers errors and keeps serving.
 */

const binarySeeds = [
  new FrameWriter(WsOpCode.PRODUCE, 1)
    .str('t')
    .i32(0)
    .i8(1)
    .u8(0)
    .u32(1)
    .nullableBytes(null)
    .nullableBytes(Uint8Array.of(1, 2))
    .f64(-1)
    .u16(1)
    .str('h')
    .nullableBytes(null)
    .finish(),
  new FrameWriter(WsOpCode.FETCH, 2).str('t').i32(0).f64(0).u32(1024).u32(0).finish(),
  new FrameWriter(WsOpCode.SUBSCRIBE, 3).str('t').i16(1).i32(0).u8(1).f64(0).finish(),
  new FrameWriter(WsOpCode.COMMIT, 4).str('c').str('t').i32(0).f64(5).finish(),
  new FrameWriter(WsOpCode.OFFSET, 5).str('c').str('t').i32(0).finish(),
  new FrameWriter(WsOpCode.UNSUBSCRIBE, 6).u32(3).finish(),
  new FrameWriter(WsOpCode.PRODUCE, 7)
    .str('t')
    .i32(-1)
    .i8(-1)
    .u8(0)
    .u32(2)
    .nullableBytes(Uint8Array.of(107))
    .nullableBytes(null)
    .f64(1000)
    .u16(0)
    .nullableBytes(null)
    .nullableBytes(Uint8Array.of(1))
    .f64(-1)
    .u16(0)
    .finish(),
  new FrameWriter(WsOpCode.ARROW, 8).str('t').i32(0).f64(0).u32(1024).u32(10).u8(1).finish(),
];
const jsonSeeds = [
  '{"op":"produce","id":1,"topic":"t","records":[{"key":"k","value":"v","partition":0,"headers":{"h":"x"}}],"acks":1}',
  '{"op":"fetch","id":2,"topic":"t","partition":0,"offset":0,"maxBytes":1048576}',
  '{"op":"subscribe","id":3,"topic":"t","partition":0,"from":"earliest"}',
  '{"op":"commit","id":4,"consumer":"c","topic":"t","partition":0,"offset":1}',
  '{"op":"subscribe","id":5,"topic":"t","partitions":[0,1],"from":3,"encoding":"base64"}',
  '{"op":"produce","id":6,"topic":"t","records":[{"value":"AAE=","encoding":"base64","timestamp":5}]}',
];

function mutateBytes(seed: Uint8Array, random: () => number): Uint8Array {
  if (random() < 0.15)
    return Uint8Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
  if (random() < 0.3) return seed.slice(0, Math.floor(random() * seed.length));
  const bytes = seed.slice();
  for (let i = 0, edits = 1 + Math.floor(random() * 3); i < edits; i++)
    bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
  return bytes;
}

function mutateText(seed: string, random: () => number): string {
  const chars = [...seed];
  for (let i = 0, edits = 1 + Math.floor(random() * 3); i < edits; i++) {
    const at = Math.floor(random() * chars.length);
    const roll = random();
    if (roll < 0.4) chars.splice(at, 1);
    else if (roll < 0.8) chars[at] = String.fromCharCode(32 + Math.floor(random() * 95));
    else chars.splice(at, 0, '"{}[],:0-'[Math.floor(random() * 9)]!);
  }
  return chars.join('');
}

describe('WebSocket frame fuzzing', () => {
  let fixture: HttpFixture;
  beforeAll(async () => {
    fixture = await startHttpFixture();
    await fixture.engine.createTopic('t', 1);
  });
  afterAll(() => fixture.close());

  it('decodes or refuses 100,000 mutated binary frames and 100,000 mutated JSON messages with typed errors', () => {
    const random = xorshift(7);
    for (let i = 0; i < 100_000; i++) {
      const bytes = mutateBytes(binarySeeds[i % binarySeeds.length]!, random);
      try {
        const request = decodeBinaryRequest(bytes);
        // What the decoder lets through, the splitter must turn into batches that decode back.
        if (request.op === 'produce' && request.frameRecords !== null) {
          const split = splitIntoBatches(
            request.frameRecords,
            (key) => (key === null ? 0 : key.length % 3),
            0,
          );
          let records = 0;
          for (const part of split.batches) records += decodeBatchRecords(part.batch).length;
          expect(records).toBe(request.frameRecords.count);
        }
      } catch (error) {
        if (!(error instanceof FrameError))
          throw new Error(`binary [${[...bytes].join(',')}] threw ${String(error)}`);
      }
      const text = mutateText(jsonSeeds[i % jsonSeeds.length]!, random);
      try {
        decodeJsonRequest(text);
      } catch (error) {
        if (!(error instanceof JsonRequestError)) throw new Error(`JSON ${text} threw ${String(error)}`);
      }
    }
  }, 60_000);

  it('answers thousands of mutated frames over a real socket and keeps serving', async () => {
    const random = xorshift(11);
    const socket = new WebSocket(fixture.wsUrl);
    await new Promise((resolve) => socket.once('open', resolve));
    let answers = 0;
    socket.on('message', () => answers++);
    for (let i = 0; i < 4000; i++) {
      if (i % 2 === 0) socket.send(mutateBytes(binarySeeds[i % binarySeeds.length]!, random));
      else socket.send(mutateText(jsonSeeds[i % jsonSeeds.length]!, random));
      if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const probe = new WebSocket(fixture.wsUrl);
    await new Promise((resolve) => probe.once('open', resolve));
    const reply = new Promise<string>((resolve) =>
      probe.once('message', (data: Buffer) => resolve(data.toString())),
    );
    probe.send('{"op":"offset","id":1,"consumer":"c","topic":"t","partition":0}');
    expect(JSON.parse(await reply)).toMatchObject({ id: 1, ok: true });
    expect(answers).toBeGreaterThan(1000);
    probe.close();
    socket.close();
  }, 60_000);
});
