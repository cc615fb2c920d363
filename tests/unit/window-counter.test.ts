import { createWindowCounter, type SharedCounts } from '../../src/services/window-counter';

/** Totals kept as a store would, so two counters can share them; `down` makes it fail. */
function sharedTotals() {
  const totals = new Map<string, number>();
  const store: SharedCounts & { down: boolean } = {
    down: false,
    async add(counts) {
      if (store.down) throw new Error('store unreachable');
      const answer = new Map<string, number>();
      for (const [key, n] of counts) {
        const total = (totals.get(key) ?? 0) + n;
        totals.set(key, total);
        answer.set(key, total);
      }
      return answer;
    },
  };
  return store;
}

describe('window counter', () => {
  it('keeps counting what an unanswered exchange has sent', async () => {
    let answer: (totals: Map<string, number>) => void = () => undefined;
    const slow: SharedCounts = {
      add: (counts) =>
        new Promise((resolve) => {
          answer = () => resolve(new Map([...counts].map(([key, n]) => [key, n])));
        }),
    };
    const counter = createWindowCounter({ points: 50, durationMs: 60_000, shared: slow });
    expect(counter.consume('k').state.remaining).toBe(49);
    const exchanging = counter.exchange();
    // The first request is on its way to the store, and still counts here meanwhile.
    expect(counter.consume('k').state.remaining).toBe(48);
    answer(new Map());
    await exchanging;
    expect(counter.consume('k').state.remaining).toBe(47);
    const closing = counter.close();
    answer(new Map());
    await closing;
  });

  it('counts in memory alone when nothing is shared', () => {
    const counter = createWindowCounter({ points: 2, durationMs: 60_000 });
    expect(counter.consume('a')).toMatchObject({
      allowed: true,
      state: { remaining: 1, limit: 2 },
    });
    expect(counter.consume('a')).toMatchObject({ allowed: true, state: { remaining: 0 } });
    expect(counter.consume('a')).toMatchObject({ allowed: false, state: { remaining: 0 } });
    expect(counter.consume('b').allowed).toBe(true);
  });

  it('learns the counts of other instances at each exchange, and keeps counting while the store is down', async () => {
    const store = sharedTotals();
    const one = createWindowCounter({ points: 4, durationMs: 60_000, shared: store });
    const two = createWindowCounter({ points: 4, durationMs: 60_000, shared: store });
    one.consume('k');
    one.consume('k');
    await one.exchange();
    two.consume('k');
    await two.exchange();
    // two now knows of 3, so one more is allowed there, and then none.
    expect(two.consume('k')).toMatchObject({ allowed: true, state: { remaining: 0 } });
    expect(two.consume('k').allowed).toBe(false);

    store.down = true;
    const three = createWindowCounter({ points: 4, durationMs: 60_000, shared: store });
    for (let i = 0; i < 4; i++) expect(three.consume('k').allowed).toBe(true);
    await three.exchange();
    // Nothing was lost: the counts wait for the store, and the local view still holds them.
    expect(three.consume('k').allowed).toBe(false);
    store.down = false;
    await three.exchange();
    // An instance learns a key's total when it next shares counts of that key: one request more.
    expect(one.consume('k').allowed).toBe(true);
    await one.exchange();
    expect(one.consume('k').allowed).toBe(false);
    await Promise.all([one.close(), two.close(), three.close()]);
  });

  it('starts a new window when the old one ends', async () => {
    const counter = createWindowCounter({ points: 1, durationMs: 50 });
    expect(counter.consume('a').allowed).toBe(true);
    expect(counter.consume('a').allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(counter.consume('a')).toMatchObject({ allowed: true, state: { resetSeconds: 1 } });
  });
});
