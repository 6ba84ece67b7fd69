import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import type { Engine, ProduceOutcome } from '../../src/engine/engine-api.js';
import type { ProducedGroup } from '../../src/protocol/ws/produce-frame.js';
import { WsProblem } from '../../src/protocol/ws/ws-error-code.js';
import type { ProduceRequest } from '../../src/protocol/ws/ws-request.js';
import { type ProduceHost, ProduceInFlight } from '../../src/server/ws-produce-in-flight.js';
import type { WsReplies } from '../../src/server/ws-replies.js';

/** An engine whose produce answers wait until the test settles them, one per call. */
function heldEngine() {
  const calls: { partition: number; settle: (outcome: ProduceOutcome | Error) => void }[] = [];
  const engine = {
    produce(_topic: string, partition: number): Promise<ProduceOutcome> {
      return new Promise((resolve, reject) =>
        calls.push({
          partition,
          settle: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)),
        }),
      );
    },
  } as unknown as Engine;
  return { engine, calls };
}

function landedAt(baseOffset: number, errorCode: KafkaErrorCode = KafkaErrorCode.NONE): ProduceOutcome {
  return {
    errorCode,
    baseOffset: baseOffset as Offset,
    logAppendTimeMs: -1,
    logStartOffset: 0 as Offset,
    errorMessage: '',
  };
}

function recordingHost() {
  const events: string[] = [];
  let groupsSeen: readonly ProducedGroup[] = [];
  const host: ProduceHost = {
    replies: {
      produced(_mode: string, id: number, groups: readonly ProducedGroup[]) {
        groupsSeen = groups.map((g) => ({ ...g }));
        events.push(`produced ${id}`);
      },
    } as unknown as WsReplies,
    isClosed: false,
    answerFailure(_mode, id, error) {
      events.push(`failed ${id}: ${error instanceof WsProblem ? error.kind.code : String(error)}`);
    },
    finished(sizeBytes) {
      events.push(`finished ${sizeBytes}`);
    },
  };
  return { host, events, groups: () => groupsSeen };
}

const request = (acks: 0 | 1 | -1 = 1): ProduceRequest => ({
  op: 'produce',
  id: 7,
  topic: 't',
  acks,
  records: null,
  frameRecords: null,
  batch: null,
});
const prepared = (partitions: number[]) => ({
  batches: partitions.map((partition) => ({ partition, batch: new Uint8Array(61), recordCount: 2 })),
  slots: partitions.length > 1 ? new Int32Array([0, 0, 1, 1]) : null,
  lent: false,
});
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('ProduceInFlight', () => {
  it('given one batch, answers PRODUCED with its base offset and then frees its room', async () => {
    const { engine, calls } = heldEngine();
    const { host, events, groups } = recordingHost();
    new ProduceInFlight(host, request(), 'binary', prepared([3]), 500).start(engine);
    expect(calls.map((c) => c.partition)).toEqual([3]);
    calls[0]!.settle(landedAt(40));
    await turn();
    expect(events).toEqual(['produced 7', 'finished 500']);
    expect(groups()).toEqual([{ partition: 3, baseOffset: 40, recordCount: 2 }]);
  });

  it('given several partitions, answers once all landed, each with its own base offset', async () => {
    const { engine, calls } = heldEngine();
    const { host, events, groups } = recordingHost();
    new ProduceInFlight(host, request(), 'binary', prepared([0, 1]), 100).start(engine);
    calls[1]!.settle(landedAt(5));
    await turn();
    expect(events).toEqual([]);
    calls[0]!.settle(landedAt(9));
    await turn();
    expect(events).toEqual(['produced 7', 'finished 100']);
    expect(groups().map((g) => g.baseOffset)).toEqual([9, 5]);
  });

  it('given one partition failing, answers its error once and frees the room only after every batch settled', async () => {
    const { engine, calls } = heldEngine();
    const { host, events } = recordingHost();
    new ProduceInFlight(host, request(), 'binary', prepared([0, 1, 2]), 100).start(engine);
    calls[0]!.settle(landedAt(-1, KafkaErrorCode.NOT_LEADER_OR_FOLLOWER));
    calls[1]!.settle(new Error('shard gone'));
    await turn();
    expect(events).toEqual(['failed 7: UNAVAILABLE']);
    calls[2]!.settle(landedAt(1));
    await turn();
    expect(events).toEqual(['failed 7: UNAVAILABLE', 'finished 100']);
  });

  it('given acks 0, answers offsets of -1', async () => {
    const { engine, calls } = heldEngine();
    const { host, groups } = recordingHost();
    new ProduceInFlight(host, request(0), 'binary', prepared([0]), 1).start(engine);
    calls[0]!.settle(landedAt(12));
    await turn();
    expect(groups()[0]!.baseOffset).toBe(-1);
  });

  it('given an engine that throws instead of rejecting, answers the failure and frees the room', async () => {
    const engine = {
      produce() {
        throw new Error('bug');
      },
    } as unknown as Engine;
    const { host, events } = recordingHost();
    new ProduceInFlight(host, request(), 'binary', prepared([0]), 9).start(engine);
    await turn();
    expect(events).toEqual(['failed 7: Error: bug', 'finished 9']);
  });
});
