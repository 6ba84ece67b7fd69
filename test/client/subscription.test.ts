import { describe, expect, it } from 'vitest';
import { Subscription, type SubscriptionHooks } from '../../src/client/subscription.js';
import type { ConsumedRecord } from '../../src/record/record.js';

/** The client's subscription iterator on its own: resume points, order, pausing, ending. */
function hooks(): SubscriptionHooks & { paused: number; unsubscribed: number } {
  const state = {
    paused: 0,
    unsubscribed: 0,
    pause: () => state.paused++,
    resume: () => state.paused--,
    unsubscribe: () => state.unsubscribed++,
  };
  return state;
}

const record = (offset: number): ConsumedRecord => ({
  offset,
  timestampMs: 0,
  key: null,
  value: null,
  headers: [],
});

describe('Subscription', () => {
  it('resubscribes with what was asked until the broker names a start, then from the next offset', () => {
    const subscription = new Subscription('t', 0, 'earliest', hooks(), 10);
    expect(subscription.resumeFrom()).toBe('earliest');
    subscription.started(40);
    expect(subscription.resumeFrom()).toBe(40);
    subscription.deliver([record(40), record(41)], 42);
    expect(subscription.resumeFrom()).toBe(42);
  });

  it('drops records below the next offset, so a push that overlaps an earlier one yields no duplicate', async () => {
    const subscription = new Subscription('t', 0, 5, hooks(), 10);
    subscription.deliver([record(3), record(4), record(5), record(6)], 7);
    subscription.deliver([record(6), record(7)], 8);
    const offsets: number[] = [];
    for (let i = 0; i < 3; i++) offsets.push(((await subscription.next()).value as ConsumedRecord).offset);
    expect(offsets).toEqual([5, 6, 7]);
  });

  it('pauses the connection when its reader falls behind and resumes at half the mark', async () => {
    const state = hooks();
    const subscription = new Subscription('t', 0, 0, state, 4);
    subscription.deliver([0, 1, 2, 3, 4].map(record), 5);
    expect(state.paused).toBe(1);
    for (let i = 0; i < 3; i++) await subscription.next();
    expect(state.paused).toBe(1); // two unread: not yet under half of four
    await subscription.next();
    expect(state.paused).toBe(0);
  });

  it('hands out queued records before the error that ended it, and ends a waiting reader when closed', async () => {
    const subscription = new Subscription('t', 0, 0, hooks(), 10);
    subscription.deliver([record(0)], 1);
    subscription.fail(new Error('gone'));
    expect((await subscription.next()).value).toMatchObject({ offset: 0 });
    await expect(subscription.next()).rejects.toThrow('gone');
    const other = new Subscription('t', 0, 0, hooks(), 10);
    const waiting = other.next();
    other.close();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});
