import { HttpProblem } from '../../src/errors';
import {
  checkTarget,
  lookupPinnedTo,
  nonPublicRange,
  resolveTarget,
  TargetRefusedError,
  type LookupAll,
} from '../../src/services/webhook-targets';

/** A resolver that answers from a table, as a DNS server under a test's control would. */
function fakeLookup(table: Record<string, string[]>): LookupAll & { asked: string[] } {
  const asked: string[] = [];
  const lookup = async (hostname: string) => {
    asked.push(hostname);
    const addresses = table[hostname];
    if (!addresses)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(lookup, { asked });
}

const failingLookup =
  (code: string): LookupAll =>
  async () => {
    throw Object.assign(new Error(code), { code });
  };

/** Every kind of address a webhook may not reach, with the range ipaddr.js names. */
const NON_PUBLIC: [string, string][] = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.254', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'linkLocal'], // cloud metadata services
  ['100.64.0.1', 'carrierGradeNat'],
  ['100.100.100.200', 'carrierGradeNat'], // a cloud metadata service in the shared range
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['198.51.100.7', 'reserved'],
  ['203.0.113.9', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'linkLocal'],
  ['fc00::1', 'uniqueLocal'],
  ['fd00:ec2::254', 'uniqueLocal'], // a cloud metadata service over IPv6
  ['fec0::1', 'deprecatedSiteLocal'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'reserved'],
  ['64:ff9b::a00:1', 'rfc6052'], // NAT64 of 10.0.0.1
  ['2002:a00:1::1', '6to4'],
  ['2001:0:4136:e378::1', 'teredo'],
  ['100::1', 'discard'],
  // IPv4-mapped IPv6 is judged as the IPv4 address it maps.
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'linkLocal'],
  ['::ffff:7f00:1', 'loopback'],
  // IPv4-compatible (deprecated): ipaddr.js says unicast, but it embeds 127.0.0.1.
  ['::7f00:1', 'ipv4Compatible'],
  ['::a00:1', 'ipv4Compatible'],
  // ipaddr.js reads the dotted form as the IPv4 address itself.
  ['::127.0.0.1', 'loopback'],
];

const PUBLIC = ['93.184.215.14', '1.1.1.1', '8.8.8.8', '2606:4700:4700::1111', '::ffff:1.1.1.1'];

describe('nonPublicRange', () => {
  it.each(NON_PUBLIC)('refuses %s (%s)', (address, range) => {
    expect(nonPublicRange(address)).toBe(range);
  });

  it.each(PUBLIC)('accepts the public address %s', (address) => {
    expect(nonPublicRange(address)).toBeUndefined();
  });

  it('counts what is not an address as not public', () => {
    expect(nonPublicRange('example.com')).toBe('invalid');
  });
});

describe('resolveTarget', () => {
  const closed = { allowPrivate: false };

  it('answers the first address of a host whose every address is public', async () => {
    const lookup = fakeLookup({ 'hooks.example.com': ['93.184.215.14', '2606:4700:4700::1111'] });
    await expect(
      resolveTarget('https://hooks.example.com/opencourse', { ...closed, lookup }),
    ).resolves.toEqual({ address: '93.184.215.14', family: 4 });
    const v6 = fakeLookup({ 'hooks.example.com': ['2606:4700:4700::1111'] });
    await expect(
      resolveTarget('https://hooks.example.com:8443/x?y=1', { ...closed, lookup: v6 }),
    ).resolves.toEqual({ address: '2606:4700:4700::1111', family: 6 });
  });

  it.each(NON_PUBLIC)('refuses a host that resolves to %s (%s)', async (address, range) => {
    const lookup = fakeLookup({ 'rebind.example.com': [address] });
    const refusal = resolveTarget('https://rebind.example.com/', { ...closed, lookup });
    await expect(refusal).rejects.toThrow(TargetRefusedError);
    await expect(refusal).rejects.toMatchObject({
      reason: `its host resolves to a non-public address (${range})`,
      transient: false,
    });
  });

  it('refuses a host when any one of its addresses is not public', async () => {
    const lookup = fakeLookup({ 'mixed.example.com': ['93.184.215.14', '10.0.0.7'] });
    await expect(
      resolveTarget('https://mixed.example.com/', { ...closed, lookup }),
    ).rejects.toMatchObject({ reason: expect.stringMatching(/non-public address \(private\)/) });
  });

  it('takes literal addresses without asking the resolver, brackets and all', async () => {
    const lookup = fakeLookup({});
    await expect(resolveTarget('https://1.1.1.1/', { ...closed, lookup })).resolves.toEqual({
      address: '1.1.1.1',
      family: 4,
    });
    await expect(
      resolveTarget('https://[2606:4700:4700::1111]:443/', { ...closed, lookup }),
    ).resolves.toEqual({ address: '2606:4700:4700::1111', family: 6 });
    for (const url of [
      'https://127.0.0.1/',
      'https://[::1]/',
      'https://[::ffff:10.0.0.1]/',
      'https://169.254.169.254/latest/meta-data/',
      // The URL parser reads these as 127.0.0.1.
      'https://2130706433/',
      'https://0x7f.1/',
      'https://127.1/',
    ]) {
      await expect(resolveTarget(url, { ...closed, lookup })).rejects.toThrow(/non-public address/);
    }
    expect(lookup.asked).toEqual([]);
  });

  it('refuses localhost through the system resolver (no lookup injected)', async () => {
    await expect(resolveTarget('https://localhost/hook', closed)).rejects.toThrow(
      /non-public address \(loopback\)/,
    );
  });

  it('refuses URLs that are not https, or that carry credentials', async () => {
    const lookup = fakeLookup({ 'hooks.example.com': ['93.184.215.14'] });
    const cases: [string, RegExp][] = [
      ['http://hooks.example.com/', /must be an https URL/],
      ['ftp://hooks.example.com/', /must be an https URL/],
      ['file:///etc/passwd', /must be an https URL/],
      ['gopher://hooks.example.com/', /must be an https URL/],
      ['not a url', /is not a valid URL/],
      ['https://user:pass@hooks.example.com/', /user name or password/],
      ['https://user@hooks.example.com/', /user name or password/],
    ];
    for (const [url, reason] of cases) {
      await expect(resolveTarget(url, { ...closed, lookup })).rejects.toThrow(reason);
    }
    expect(lookup.asked).toEqual([]);
  });

  it('tells a name that does not exist from a resolver that does not answer', async () => {
    for (const code of ['ENOTFOUND', 'ENODATA']) {
      await expect(
        resolveTarget('https://nowhere.example/', { ...closed, lookup: failingLookup(code) }),
      ).rejects.toMatchObject({ reason: 'its host does not resolve', transient: false });
    }
    for (const code of ['EAI_AGAIN', 'ESERVFAIL', 'ECONNREFUSED']) {
      await expect(
        resolveTarget('https://slow.example/', { ...closed, lookup: failingLookup(code) }),
      ).rejects.toMatchObject({ transient: true });
    }
    await expect(
      resolveTarget('https://empty.example/', { ...closed, lookup: async () => [] }),
    ).rejects.toMatchObject({ reason: 'its host does not resolve', transient: false });
  });

  it('gives up on a resolver that takes too long, as a transient failure', async () => {
    const hanging: LookupAll = () => new Promise(() => undefined);
    await expect(
      resolveTarget('https://hang.example/', { ...closed, lookup: hanging, lookupTimeoutMs: 20 }),
    ).rejects.toMatchObject({ reason: expect.stringMatching(/in time/), transient: true });
  });

  it('with allowPrivate, takes http and any address, still resolving the host', async () => {
    const lookup = fakeLookup({ 'receiver.internal': ['10.1.2.3'] });
    const open = { allowPrivate: true, lookup };
    await expect(resolveTarget('http://receiver.internal:8080/hook', open)).resolves.toEqual({
      address: '10.1.2.3',
      family: 4,
    });
    await expect(resolveTarget('http://127.0.0.1:9999/', open)).resolves.toEqual({
      address: '127.0.0.1',
      family: 4,
    });
    await expect(resolveTarget('ftp://receiver.internal/', open)).rejects.toThrow(
      /must be an http or https URL/,
    );
  });
});

describe('checkTarget', () => {
  const problemOf = async (promise: Promise<void>) => {
    const error = await promise.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(HttpProblem);
    return error as HttpProblem;
  };

  it('passes a public https URL', async () => {
    const lookup = fakeLookup({ 'hooks.example.com': ['93.184.215.14'] });
    await expect(
      checkTarget('https://hooks.example.com/x', { allowPrivate: false, lookup }),
    ).resolves.toBeUndefined();
  });

  it('refuses a target with a 400 on the field', async () => {
    const lookup = fakeLookup({ 'intranet.example.com': ['192.168.0.10'] });
    const problem = await problemOf(
      checkTarget('https://intranet.example.com/', { allowPrivate: false, lookup }),
    );
    expect(problem.status).toBe(400);
    expect(problem.kind).toBe('validation-error');
    expect(problem.extra.errors).toEqual([
      { path: 'body.url', message: 'its host resolves to a non-public address (private)' },
    ]);
    const named = await problemOf(
      checkTarget('http://x.example/', { allowPrivate: false, lookup, field: 'body.target' }),
    );
    expect(named.extra.errors).toEqual([{ path: 'body.target', message: 'must be an https URL' }]);
  });

  it('answers 503 when the resolver cannot say now', async () => {
    const problem = await problemOf(
      checkTarget('https://flaky.example/', {
        allowPrivate: false,
        lookup: failingLookup('EAI_AGAIN'),
      }),
    );
    expect(problem.status).toBe(503);
    expect(problem.extra.retryAfter).toBeGreaterThan(0);
  });

  it('with allowPrivate, checks the URL only, without resolving', async () => {
    const lookup = fakeLookup({});
    await expect(
      checkTarget('http://localhost:8080/hook', { allowPrivate: true, lookup }),
    ).resolves.toBeUndefined();
    await expect(
      checkTarget('https://not-resolvable.invalid/', { allowPrivate: true, lookup }),
    ).resolves.toBeUndefined();
    expect(lookup.asked).toEqual([]);
    const problem = await problemOf(
      checkTarget('ftp://localhost/', { allowPrivate: true, lookup }),
    );
    expect(problem.status).toBe(400);
  });

  it('lets other failures through as they are', async () => {
    const broken: LookupAll = async () => {
      throw new TypeError('a bug');
    };
    // Not a resolver error with a code: counted as the resolver not answering.
    const problem = await problemOf(
      checkTarget('https://x.example/', { allowPrivate: false, lookup: broken }),
    );
    expect(problem.status).toBe(503);
  });
});

describe('lookupPinnedTo', () => {
  it('answers every name with the checked address, in both callback forms', () => {
    const lookup = lookupPinnedTo({ address: '93.184.215.14', family: 4 });
    const single = jest.fn();
    lookup('rebound.example.com', { all: false }, single);
    expect(single).toHaveBeenCalledWith(null, '93.184.215.14', 4);
    const all = jest.fn();
    lookup('rebound.example.com', { all: true }, all);
    expect(all).toHaveBeenCalledWith(null, [{ address: '93.184.215.14', family: 4 }]);
    const legacy = jest.fn();
    lookup('rebound.example.com', 0, legacy);
    expect(legacy).toHaveBeenCalledWith(null, '93.184.215.14', 4);
  });
});
