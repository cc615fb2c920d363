import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { problems } from '../errors';

/**
 * Where webhooks may be sent: `https` URLs whose host resolves to public addresses only, so that
 * an endpoint cannot make the server call into its own network (SSRF). Checked when an endpoint
 * is registered or changed (`checkTarget`), and again at each delivery (`resolveTarget`), which
 * then connects to the address it checked: a DNS answer that changes in between (rebinding)
 * gets no say.
 */

/** Every address a host name resolves to, as `dns.lookup(host, { all: true })` gives them. */
export type LookupAll = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface TargetOptions {
  /** `WEBHOOK_ALLOW_PRIVATE_TARGETS`: `http` and any address are allowed too. */
  allowPrivate: boolean;
  /** Resolves host names; `dns.lookup` (the system's resolver, hosts file included) by default. */
  lookup?: LookupAll;
  /** How long resolving a name may take before it counts as a transient failure. */
  lookupTimeoutMs?: number;
}

export interface ResolvedTarget {
  /** The address to connect to: checked, and the first the resolver gave. */
  address: string;
  family: 4 | 6;
}

/**
 * A target that may not be called. `transient` when it could not be decided now (the resolver
 * did not answer): trying again later may succeed.
 */
export class TargetRefusedError extends Error {
  constructor(
    readonly reason: string,
    readonly transient = false,
  ) {
    super(reason);
    this.name = 'TargetRefusedError';
  }
}

const DEFAULT_LOOKUP_TIMEOUT_MS = 5_000;

/**
 * IPv4-compatible IPv6 addresses (`::a.b.c.d`, deprecated by RFC 4291), which ipaddr.js counts
 * as unicast although they embed an IPv4 address.
 */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** Resolver errors that say the name has no address, rather than that nobody answered. */
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

const systemLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * The kind of non-public range `address` lies in (ipaddr.js's names: `loopback`, `private`,
 * `linkLocal`, `uniqueLocal`, `carrierGradeNat`, `multicast`, `unspecified`, `reserved`, ...), or
 * undefined for a public unicast address. An IPv4-mapped IPv6 address is judged as the IPv4
 * address it maps.
 */
export function nonPublicRange(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return 'invalid';
  }
  const range = parsed.range();
  if (range !== 'unicast') return range;
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE)) return 'ipv4Compatible';
  return undefined;
}

function targetUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefusedError('is not a valid URL');
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw new TargetRefusedError(
      allowPrivate ? 'must be an http or https URL' : 'must be an https URL',
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new TargetRefusedError('must not hold a user name or password');
  }
  if (url.hostname === '') throw new TargetRefusedError('must name a host');
  return url;
}

/** The host of a URL as a resolver or `isIP` takes it: IPv6 literals without their brackets. */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

async function addressesOf(host: string, options: TargetOptions) {
  const family = isIP(host);
  if (family !== 0) return [{ address: host, family }];
  const lookup = options.lookup ?? systemLookup;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new TargetRefusedError('its host could not be resolved in time', true)),
      options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([lookup(host), timeout]);
  } catch (err) {
    if (err instanceof TargetRefusedError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && NO_SUCH_NAME.has(code)) {
      throw new TargetRefusedError('its host does not resolve');
    }
    throw new TargetRefusedError('its host could not be resolved right now', true);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves a webhook URL to the one address a delivery connects to. Throws `TargetRefusedError`
 * when the URL may not be called: not `https` (nor `http` with `allowPrivate`), or, unless
 * `allowPrivate`, a host with any non-public address among those it resolves to (one bad address
 * is enough: the resolver could hand it out next time).
 */
export async function resolveTarget(url: string, options: TargetOptions): Promise<ResolvedTarget> {
  const host = hostOf(targetUrl(url, options.allowPrivate));
  const addresses = await addressesOf(host, options);
  const first = addresses[0];
  if (first === undefined) throw new TargetRefusedError('its host does not resolve');
  if (!options.allowPrivate) {
    for (const { address } of addresses) {
      const range = nonPublicRange(address);
      if (range !== undefined) {
        throw new TargetRefusedError(`its host resolves to a non-public address (${range})`);
      }
    }
  }
  return { address: first.address, family: isIP(first.address) === 6 ? 6 : 4 };
}

/**
 * The check at registration: a 400 on `field` when the URL may not be a webhook target, a 503
 * when its host could not be resolved right now. With `allowPrivate` nothing is left for a
 * resolver to refuse, so the host is not resolved.
 */
export async function checkTarget(
  url: string,
  options: TargetOptions & { field?: string },
): Promise<void> {
  const field = options.field ?? 'body.url';
  try {
    if (options.allowPrivate) targetUrl(url, true);
    else await resolveTarget(url, options);
  } catch (err) {
    if (!(err instanceof TargetRefusedError)) throw err;
    if (err.transient) {
      throw problems.unavailable(`The host of ${field} could not be resolved right now.`, 5);
    }
    throw problems.badRequest(`The URL cannot receive webhooks: it ${err.reason}.`, [
      { path: field, message: err.reason },
    ]);
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for `http.request`, `net.connect` or undici's `connect` option that answers every
 * name with the checked address: the connection goes where `resolveTarget` looked, while the
 * URL's host name still serves for TLS (SNI, the certificate) and the `Host` header.
 */
export function lookupPinnedTo(target: ResolvedTarget) {
  return (_hostname: string, options: { all?: boolean } | number, callback: LookupCallback) => {
    if (typeof options === 'object' && options.all) {
      callback(null, [{ address: target.address, family: target.family }]);
    } else {
      callback(null, target.address, target.family);
    }
  };
}
