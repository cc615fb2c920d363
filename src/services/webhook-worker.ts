import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { ClaimedDelivery, WebhookDeliveryStore } from '../data/webhook-deliveries';
import { logger } from '../logger';
import type { Metrics, WebhookOutcome } from '../observability/metrics';
import { lookupPinnedTo, type ResolvedTarget } from './webhook-targets';

/**
 * How long after each failed attempt the next one comes: about 5 s, 5 min, 30 min, 2 h, 5 h,
 * 10 h and 10 h, so eight attempts over about a day and a quarter; after the last, failed.
 */
export const RETRY_SCHEDULE_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3600_000,
  5 * 3600_000,
  10 * 3600_000,
  10 * 3600_000,
];

/**
 * The secrets a message to an endpoint is signed with now (two while a rotation overlaps);
 * undefined once the endpoint is deleted.
 */
export interface SigningSecrets {
  signingSecretsOf(endpointId: string, now: Date): Promise<readonly string[] | undefined>;
}

export interface WebhookWorkerDeps {
  deliveries: WebhookDeliveryStore;
  secrets: SigningSecrets;
  metrics: Metrics;
  /** Checks a target against SSRF and gives the address to connect to (webhook-targets.ts). */
  resolveTarget: (url: string) => Promise<ResolvedTarget>;
  /** An attempt's whole time limit: resolving, connecting, and the response's status line. */
  timeoutMs: number;
  /** Delays after each failed attempt; one attempt more than its length, then failed. */
  schedule?: readonly number[];
  /** How long a claim holds a delivery; past it another worker may take it over. */
  leaseMs?: number;
  /** Attempts in flight at once, per worker. */
  concurrency?: number;
  /** How often an idle worker looks for due deliveries (a local commit wakes it at once). */
  pollMs?: number;
  /** How long `stop` lets attempts in flight finish before it aborts and releases them. */
  graceMs?: number;
}

type AttemptOutcome =
  | { statusCode: number; error?: undefined; interrupted: false }
  | { statusCode: null; error: string; interrupted: boolean };

const USER_AGENT = 'OpenCourse-Webhooks/1.0';

/**
 * Delivers the outbox: every instance runs one worker. It claims due deliveries under a lease
 * (src/data/webhook-deliveries.ts), posts each signed message to the address its target
 * resolves to, and records the attempt: a 2xx delivers, anything else is tried again on the
 * schedule. `runOnce` claims and delivers one batch and waits for it, for tests and scripts;
 * `start` runs the loop, `stop` ends it (stop claiming, let attempts finish for a grace period,
 * then abort and release what is left).
 */
export function createWebhookWorker(deps: WebhookWorkerDeps) {
  const { deliveries, metrics } = deps;
  const schedule = deps.schedule ?? RETRY_SCHEDULE_MS;
  // Well past an attempt's limit, so that only a worker that died loses its claims.
  const leaseMs = deps.leaseMs ?? 2 * deps.timeoutMs + 10_000;
  const concurrency = deps.concurrency ?? 8;
  const pollMs = deps.pollMs ?? 1_000;
  const graceMs = deps.graceMs ?? 3_000;

  /** Attempts under way, each with the switch that interrupts it at shutdown. */
  const inFlight = new Map<string, { done: Promise<void>; interrupt: AbortController }>();
  let looping: Promise<void> | undefined;
  let stopping = false;
  /** Wakes the loop from its wait; set while it waits. */
  let wake: (() => void) | undefined;
  /** A wake-up that came while the loop was busy: it looks again at once. */
  let woken = false;

  const nudge = () => {
    woken = true;
    wake?.();
  };

  async function attempt(
    claim: ClaimedDelivery,
    secrets: readonly string[],
    interrupt: AbortSignal,
  ): Promise<AttemptOutcome> {
    const signal = AbortSignal.any([interrupt, AbortSignal.timeout(deps.timeoutMs)]);
    const failed = (error: string): AttemptOutcome => ({
      statusCode: null,
      error,
      interrupted: interrupt.aborted,
    });
    try {
      const target = await abortable(deps.resolveTarget(claim.url), signal);
      // The attempt's own time: receivers refuse timestamps far from theirs, so a retry hours
      // later is signed afresh (the body and webhook-id never change).
      const sentAt = new Date();
      const signature = secrets
        .map((secret) => new Webhook(secret).sign(claim.id, sentAt, claim.payload))
        .join(' ');
      const statusCode = await post(new URL(claim.url), target, signal, claim.payload, {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': claim.id,
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': signature,
      });
      return { statusCode, interrupted: false };
    } catch (err) {
      if (signal.aborted && !interrupt.aborted) {
        return failed(`no answer within ${deps.timeoutMs} ms`);
      }
      return failed(err instanceof Error ? err.message : String(err));
    }
  }

  /** One claimed delivery, from attempt to record; never throws. */
  async function deliver(claim: ClaimedDelivery, interrupt: AbortController): Promise<void> {
    const context = {
      webhookId: claim.id,
      endpointId: claim.endpointId,
      eventType: claim.eventType,
    };
    try {
      if (claim.endpoint === 'disabled') {
        // Disabled just now: the message waits for the endpoint to be enabled again.
        await deliveries.release([claim]);
        return;
      }
      const secrets =
        claim.endpoint === 'deleted'
          ? undefined
          : await deps.secrets.signingSecretsOf(claim.endpointId, new Date());
      if (!secrets) {
        await deliveries.abandon(claim);
        logger.info('webhook not sent: its endpoint was deleted', context);
        return;
      }
      const started = performance.now();
      const result = await attempt(claim, secrets, interrupt.signal);
      if (result.interrupted) {
        // Stopping: not the receiver's failure, so no attempt is counted; another worker
        // (or this one, restarted) sends it.
        await deliveries.release([claim]);
        logger.info('webhook attempt interrupted by shutdown; released', context);
        return;
      }
      const at = new Date();
      const made = claim.attempts + 1;
      const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
      const outcome: WebhookOutcome = ok
        ? 'delivered'
        : made <= schedule.length
          ? 'retrying'
          : 'failed';
      const nextAttemptAt =
        outcome === 'retrying' ? new Date(at.getTime() + (schedule[made - 1] ?? 0)) : null;
      const recorded = await deliveries.recordAttempt(claim, {
        at,
        statusCode: result.statusCode,
        status: outcome === 'retrying' ? 'pending' : outcome,
        nextAttemptAt,
      });
      metrics.webhookDeliveries.inc({ outcome });
      const details = {
        ...context,
        attempt: made,
        outcome,
        statusCode: result.statusCode,
        durationMs: Math.round(performance.now() - started),
        ...(result.error && { error: result.error }),
        ...(nextAttemptAt && { nextAttemptAt: nextAttemptAt.toISOString() }),
      };
      if (!recorded) {
        logger.warn('webhook attempt not recorded: another worker took the delivery over', details);
      } else if (ok) {
        logger.info(`webhook ${claim.id} delivered`, details);
      } else {
        logger.warn(`webhook ${claim.id} attempt ${made} failed (${outcome})`, details);
      }
    } catch (err) {
      // The database failed us: the claim stays until its lease runs out, then it is tried again.
      logger.error('webhook delivery could not be recorded', {
        ...context,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** Claims as many due deliveries as there are free slots and starts them. */
  async function claimAndStart(): Promise<{ started: Promise<void>[]; full: boolean }> {
    const free = concurrency - inFlight.size;
    if (free <= 0 || stopping) return { started: [], full: false };
    const claims = await deliveries.claim(free, leaseMs);
    const started = claims.map((claim) => {
      const interrupt = new AbortController();
      const done = deliver(claim, interrupt).finally(() => {
        inFlight.delete(claim.id);
        // A slot came free while more may be due.
        if (looping) nudge();
      });
      inFlight.set(claim.id, { done, interrupt });
      return done;
    });
    return { started, full: claims.length === free };
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      woken = false;
      let full = false;
      try {
        ({ full } = await claimAndStart());
      } catch (err) {
        logger.warn('webhook worker could not claim deliveries', {
          error: err instanceof Error ? err.message : String(err),
        });
      }
      if (stopping) break;
      if (full && inFlight.size < concurrency) continue;
      if (!woken) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          timer.unref();
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  }

  return {
    /** Starts the loop; it runs until `stop`. */
    start(): void {
      if (looping || stopping) return;
      looping = loop();
    },

    /** A local commit wrote messages: look now rather than at the next poll. */
    nudge(): void {
      if (looping) nudge();
    },

    /** Claims one batch, delivers it, and resolves once every attempt is recorded. */
    async runOnce(): Promise<number> {
      const { started } = await claimAndStart();
      await Promise.all(started);
      return started.length;
    },

    /** Attempts under way now. */
    get inFlight(): number {
      return inFlight.size;
    },

    /**
     * Stops claiming, lets attempts in flight finish for the grace period, then interrupts the
     * rest, which release their claims untried.
     */
    async stop(): Promise<void> {
      stopping = true;
      wake?.();
      await looping;
      const pending = () => Promise.all([...inFlight.values()].map((entry) => entry.done));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([pending(), graceOver]);
      clearTimeout(timer);
      for (const entry of inFlight.values()) entry.interrupt.abort();
      await pending();
    },
  };
}

export type WebhookWorker = ReturnType<typeof createWebhookWorker>;

/** `promise`, or a rejection as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * POSTs `body` to `url`, connecting to `target` only: the lookup hands back the address that
 * was checked, so a DNS answer that changes between the check and the connection (rebinding)
 * is never used. The Host header and TLS server name stay the URL's host. Redirects are not
 * followed (a 3xx is an answer like any other non-2xx). Resolves with the status once the
 * response's head arrives; its body is not read.
 */
function post(
  url: URL,
  target: ResolvedTarget,
  signal: AbortSignal,
  body: string,
  headers: Record<string, string>,
): Promise<number> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request({
      method: 'POST',
      protocol: url.protocol,
      hostname,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: false,
      lookup: lookupPinnedTo(target),
      ...(secure && isIP(hostname) === 0 && { servername: hostname }),
      signal,
    });
    req.once('response', (res) => {
      resolve(res.statusCode ?? 0);
      res.on('error', () => undefined);
      res.destroy();
      req.destroy();
    });
    // Kept for the request's life: an error after the answer must not go unheard (and crash).
    req.on('error', reject);
    req.end(body);
  });
}
