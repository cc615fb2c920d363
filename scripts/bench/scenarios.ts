// What the benchmark asks of the servers: each scenario's requests for the API and, where the
// floor answers the same route, for the floor; and the set-up they need (tokens, enrollments,
// deep cursors), done through the API itself.
import { createRequire } from 'node:module';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Fixtures } from './database';
import type { Variant } from './load';

/** scripts/seed.ts's DEMO_PASSWORD: every seeded user's password. */
export const DEMO_PASSWORD = 'opencourse-demo-password';

/** Students holding bearer tokens in a scenario: enough that no one token is the whole load. */
const TOKEN_USERS = 50;

export type Call = <T = Record<string, unknown>>(
  method: 'GET' | 'POST',
  url: string,
  options?: { token?: string; body?: unknown; retries?: number },
) => Promise<{ status: number; body: T }>;

/**
 * A client for the bench's own set-up requests. They come from addresses of their own
 * (10.254.x.y) so that they never count against the load's clients.
 */
export function client(origin: string): Call {
  let n = 0;
  return async function call(method, url, options = {}) {
    n += 1;
    const res = await fetch(origin + url, {
      method,
      headers: {
        'x-forwarded-for': `10.254.${(n >> 8) & 255}.${n & 255}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    // A login right after a login load finds the hashing queue still full: wait as told.
    if (res.status === 503 && res.headers.get('retry-after') && (options.retries ?? 0) < 60) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return call(method, url, { ...options, retries: (options.retries ?? 0) + 1 });
    }
    if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 500)}`);
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

export interface Prepared {
  api: Variant[];
  /** Absent where the floor does not answer the route. */
  floor?: Variant[];
  /** A second load on the API at the same time as `api` (the login storm). */
  storm?: { variants: Variant[]; connections: number };
  /**
   * A reference load run on the same server right after each round (the deep page's first
   * page): a cost compared across scenarios minutes apart follows the machine's drift, one
   * compared with the round beside it does not.
   */
  beside?: { api: Variant[]; floor: Variant[] };
}

export interface Scenario {
  /** Names it in BENCH_SCENARIOS. */
  key: string;
  title: string;
  group: 'main' | 'search';
  connections: number;
  /** Search scenarios: the term, to count the titles holding it. */
  term?: string;
  prepare(): Promise<Prepared>;
}

export interface ScenarioContext {
  fixtures: Fixtures;
  api: Call;
  floor: Call;
  /** The API's JWT_SECRET: its cursors are signed with a key derived from it. */
  jwtSecret: string;
  apiDir: string;
  connections: number;
  loginConnections: number;
  searchConnections: number;
  log: (line: string) => void;
}

/** Fresh access tokens for the first `count` students (a token lives 15 minutes). */
async function tokens(ctx: ScenarioContext, count = TOKEN_USERS): Promise<string[]> {
  const out: string[] = [];
  for (const email of ctx.fixtures.students.slice(0, count)) {
    const { body } = await ctx.api<{ accessToken: string }>('POST', '/api/v1/auth/login', {
      body: { email, password: DEMO_PASSWORD },
    });
    out.push(body.accessToken);
  }
  return out;
}

interface Cursors {
  api: string;
  floor: string;
}

interface CursorModule {
  createCursorCodec(secret: Uint8Array): {
    encode(scope: string, values: (string | number)[]): string;
  };
  listingScope(listing: string, filters: Record<string, unknown>): string;
}

/**
 * Cursors for the page after the deep position, for each server. The API's is signed the way the
 * API signs them (its own built cursor module, the same JWT_SECRET), which is much faster than
 * walking hundreds of thousands of courses; should the API refuse it (its cursor format changed), walk instead.
 */
async function deepCursors(ctx: ScenarioContext): Promise<Cursors> {
  const { createdAt, id, depth } = ctx.fixtures.deep;
  const floor = (ms: number, at: string) =>
    Buffer.from(JSON.stringify([ms, at])).toString('base64url');
  try {
    const load = createRequire(__filename);
    const cursors = load(path.join(ctx.apiDir, 'dist/services/cursor.js')) as CursorModule;
    const codec = cursors.createCursorCodec(new TextEncoder().encode(ctx.jwtSecret));
    const scope = cursors.listingScope('courses', { sort: '-createdAt', status: 'published' });
    const api = codec.encode(scope, [createdAt.getTime(), id]);
    await ctx.api('GET', `/api/v1/courses?limit=20&cursor=${api}`);
    return { api, floor: floor(createdAt.getTime(), id) };
  } catch (err) {
    ctx.log(`  a signed deep cursor did not work (${(err as Error).message.split('\n')[0]});`);
    ctx.log(`  walking ${depth} courses deep with limit=100 instead...`);
  }
  type Page = { items: { id: string; createdAt: string }[]; nextCursor: string | null };
  let cursor: string | null = null;
  let last: Page['items'][number] | undefined;
  for (let seen = 0; seen < depth;) {
    const query: string = cursor ? `&cursor=${cursor}` : '';
    const { body } = await ctx.api<Page>('GET', `/api/v1/courses?limit=100${query}`);
    if (!body.nextCursor) break;
    seen += body.items.length;
    last = body.items.at(-1);
    cursor = body.nextCursor;
  }
  if (!cursor || !last) throw new Error('the listing is too short for a deep page');
  return { api: cursor, floor: floor(Date.parse(last.createdAt), last.id) };
}

let memo: Promise<Cursors> | undefined;
const cursorsOf = (ctx: ScenarioContext) => (memo ??= deepCursors(ctx));

/**
 * The floor must answer what the API answers, or the comparison means nothing: the same course,
 * the same first page, the same deep page (cursors differ by construction). Returns the
 * differences found, to print beside the results.
 */
export async function checkParity(ctx: ScenarioContext): Promise<string[]> {
  const [token] = await tokens(ctx, 1);
  const cursors = await cursorsOf(ctx);
  const id = ctx.fixtures.courseIds[0]!;
  const pairs: [string, string, string][] = [
    ['by id', `/api/v1/courses/${id}`, `/api/v1/courses/${id}`],
    ['first page', '/api/v1/courses?limit=20', '/api/v1/courses?limit=20'],
    [
      'deep page',
      `/api/v1/courses?limit=20&cursor=${cursors.api}`,
      `/api/v1/courses?limit=20&cursor=${cursors.floor}`,
    ],
  ];
  const differences: string[] = [];
  for (const [name, apiPath, floorPath] of pairs) {
    const api = (await ctx.api('GET', apiPath, { token })).body;
    const floor = (await ctx.floor('GET', floorPath)).body;
    // A page's cursor is each server's own; whether there is one must agree.
    const comparable = (body: Record<string, unknown>) =>
      'items' in body ? { items: body.items, more: body.nextCursor !== null } : body;
    if (!isDeepStrictEqual(comparable(api), comparable(floor))) {
      differences.push(`${name}: the floor's answer differs from the API's`);
    }
  }
  return differences;
}

const get = (p: string, token?: string): Variant => ({ method: 'GET', path: p, token });

export function scenarios(ctx: ScenarioContext): Scenario[] {
  const { fixtures, connections } = ctx;
  const byId = (withTokens?: string[]) =>
    fixtures.courseIds.map((id, i) =>
      get(`/api/v1/courses/${id}`, withTokens?.[i % withTokens.length]),
    );
  const logins: Variant[] = fixtures.students.map((email) => ({
    method: 'POST',
    path: '/api/v1/auth/login',
    body: JSON.stringify({ email, password: DEMO_PASSWORD }),
  }));
  const firstPage = [get('/api/v1/courses?limit=20')];
  const search = (key: string, term: string, sort = ''): Scenario => ({
    key,
    title: `GET /courses?limit=20&q=${term}${sort ? `&sort=${sort}` : ''}`,
    group: 'search',
    connections: ctx.searchConnections,
    term,
    prepare: async () => ({
      api: [
        get(`/api/v1/courses?limit=20&q=${encodeURIComponent(term)}${sort ? `&sort=${sort}` : ''}`),
      ],
    }),
  });

  return [
    {
      key: 'by-id',
      title: 'GET /courses/{id}, bearer',
      group: 'main',
      connections,
      prepare: async () => ({ api: byId(await tokens(ctx)), floor: byId() }),
    },
    {
      key: 'first-page',
      title: 'GET /courses?limit=20',
      group: 'main',
      connections,
      prepare: async () => ({ api: firstPage, floor: firstPage }),
    },
    {
      key: 'deep-page',
      title: `GET /courses?limit=20, after ${fixtures.deep.depth.toLocaleString('en')} courses`,
      group: 'main',
      connections,
      prepare: async () => {
        const cursors = await cursorsOf(ctx);
        return {
          api: [get(`/api/v1/courses?limit=20&cursor=${cursors.api}`)],
          floor: [get(`/api/v1/courses?limit=20&cursor=${cursors.floor}`)],
          beside: { api: firstPage, floor: firstPage },
        };
      },
    },
    {
      key: 'me',
      title: 'GET /users/me, bearer',
      group: 'main',
      connections,
      prepare: async () => ({ api: (await tokens(ctx)).map((t) => get('/api/v1/users/me', t)) }),
    },
    {
      key: 'enroll',
      title: 'POST /courses/{id}/enroll, already enrolled (200)',
      group: 'main',
      connections,
      prepare: async () => {
        // Each student enrolls in a course of its own once (201); the load repeats it (200).
        const held = await tokens(ctx);
        const variants: Variant[] = held.map((token, i) => ({
          method: 'POST',
          path: `/api/v1/courses/${fixtures.openCourseIds[i % fixtures.openCourseIds.length]}/enroll`,
          token,
        }));
        for (const v of variants) await ctx.api('POST', v.path, { token: v.token });
        return { api: variants };
      },
    },
    {
      key: 'login',
      title: 'POST /auth/login, right password',
      group: 'main',
      connections: ctx.loginConnections,
      prepare: async () => ({ api: logins }),
    },
    {
      key: 'storm',
      title: `GET /courses/{id}, bearer, during a login storm (${ctx.loginConnections} conns)`,
      group: 'main',
      connections,
      prepare: async () => ({
        api: byId(await tokens(ctx)),
        storm: { variants: logins, connections: ctx.loginConnections },
      }),
    },
    {
      key: 'first-page-20',
      title: 'GET /courses?limit=20',
      group: 'search',
      connections: ctx.searchConnections,
      prepare: async () => ({ api: firstPage, floor: firstPage }),
    },
    // Titles are "<adjective> <subject> <1..400>" (scripts/seed.ts): an adjective is in 1/12 of
    // them, a subject in 1/30, a subject with its number in 1/12,000, and no title has a zebra.
    search('search-common', 'Advanced'),
    search('search-rarer', 'Cryptography'),
    search('search-rare', 'Cryptography 399'),
    search('search-absent', 'zebra'),
    search('search-common-title', 'Advanced', 'title'),
  ];
}
