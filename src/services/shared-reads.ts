/**
 * Identical reads, sharing one query. A read that arrives while the same read is in flight does
 * not join it (that query may have started before a write the caller has already seen commit):
 * it waits for it to end and joins the next one, with every other copy that arrived meanwhile.
 * So each caller gets an answer read after it arrived, never an older one, and a crowd asking
 * for the same thing (the catalogue's first page) costs one query at a time rather than one
 * each. Readers share the answer: it must be treated as read-only.
 */
export function createSharedReads() {
  const running = new Map<string, Promise<unknown>>();
  const next = new Map<string, Promise<unknown>>();

  function start<T>(key: string, read: () => Promise<T>): Promise<T> {
    next.delete(key);
    const reading = read();
    running.set(key, reading);
    const done = () => {
      if (running.get(key) === reading) running.delete(key);
    };
    reading.then(done, done);
    return reading;
  }

  return function shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    const queued = next.get(key) as Promise<T> | undefined;
    if (queued) return queued;
    const current = running.get(key);
    if (!current) return start(key, read);
    const after = () => start(key, read);
    const queuedRead = current.then(after, after);
    next.set(key, queuedRead);
    return queuedRead;
  };
}
