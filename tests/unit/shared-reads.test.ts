import { createSharedReads } from '../../src/services/shared-reads';

/** A read whose answers the test hands out one at a time, counting how often it ran. */
function controlledRead() {
  const pending: ((value: number) => void)[] = [];
  const failures: ((err: Error) => void)[] = [];
  let runs = 0;
  return {
    read: () =>
      new Promise<number>((resolve, reject) => {
        runs += 1;
        pending.push(resolve);
        failures.push(reject);
      }),
    answer(value: number) {
      failures.shift();
      pending.shift()!(value);
    },
    fail(err: Error) {
      pending.shift();
      failures.shift()!(err);
    },
    get runs() {
      return runs;
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('shared reads', () => {
  it('runs a read at once when no copy of it is in flight', async () => {
    const shared = createSharedReads();
    const db = controlledRead();
    const answer = shared('page', db.read);
    expect(db.runs).toBe(1);
    db.answer(1);
    await expect(answer).resolves.toBe(1);
  });

  it('gives the copies that arrive during a read the next read, one for all of them', async () => {
    const shared = createSharedReads();
    const db = controlledRead();
    const first = shared('page', db.read);
    // These arrived after the first read started: it may predate a write they have seen.
    const later = [shared('page', db.read), shared('page', db.read), shared('page', db.read)];
    expect(db.runs).toBe(1);
    db.answer(1);
    await expect(first).resolves.toBe(1);
    await tick();
    expect(db.runs).toBe(2);
    db.answer(2);
    await expect(Promise.all(later)).resolves.toEqual([2, 2, 2]);
  });

  it('keeps different reads apart', async () => {
    const shared = createSharedReads();
    const db = controlledRead();
    const a = shared('page a', db.read);
    const b = shared('page b', db.read);
    expect(db.runs).toBe(2);
    db.answer(1);
    db.answer(2);
    await expect(Promise.all([a, b])).resolves.toEqual([1, 2]);
  });

  it('runs the next copy even when the one before it failed, and fails only its own callers', async () => {
    const shared = createSharedReads();
    const db = controlledRead();
    const first = shared('page', db.read);
    const second = shared('page', db.read);
    db.fail(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await tick();
    db.answer(7);
    await expect(second).resolves.toBe(7);
    // Nothing is left behind: the next caller starts a read of its own.
    const third = shared('page', db.read);
    expect(db.runs).toBe(3);
    db.answer(8);
    await expect(third).resolves.toBe(8);
  });
});
