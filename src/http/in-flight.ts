/**
 * Operations still being handled. A server's sockets can all be closed while handlers still run
 * (a client that hung up), so draining on SIGTERM waits for these too before closing the pool.
 */
let active = 0;
let waiters: (() => void)[] = [];

export async function tracked<T>(work: () => Promise<T>): Promise<T> {
  active++;
  try {
    return await work();
  } finally {
    active--;
    if (active === 0) {
      for (const wake of waiters) wake();
      waiters = [];
    }
  }
}

/** Resolves once no operation is being handled. */
export function settled(): Promise<void> {
  return active === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
}
