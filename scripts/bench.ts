// OpenCourse against a floor, side by side in one run (the product page's "Performance").
//
// The built API and a bare Express 5 + pg server answering the same routes with one raw query
// (scripts/bench/floor-server.ts) run over one PostgreSQL database seeded by the project's seed.
// Both servers and PostgreSQL are pinned to CPU 0 and the load generator (autocannon, in child
// processes) to CPU 1, so each side gets the same single core and nothing else competes for it.
// Every scenario runs rounds alternating between API and floor, and reports requests/s, p50/p99,
// CPU per request (the server's and PostgreSQL's), resident memory and the ratio API/floor.
//
//   npm run bench                                   (builds, then 1,000,000 courses, 10 s rounds)
//
// npm run bench runs this script, and with it both servers, on Node 24 (`npx -y node@24`): the
// runtime the container image ships, and one that package.json's engines accept.
//   BENCH_COURSES=100000 BENCH_SECONDS=5 npx tsx scripts/bench.ts        (quicker, no build)
//
// Environment (all optional):
//   BENCH_COURSES (1000000)   courses to seed         BENCH_SECONDS (10)  seconds per round
//   BENCH_ROUNDS (3)          rounds per server       BENCH_WARMUP (5)    warm-up seconds
//   BENCH_CONNECTIONS (50), BENCH_LOGIN_CONNECTIONS (20), BENCH_SEARCH_CONNECTIONS (20)
//   BENCH_LIMITS (on)         on: the API's default limits (RATE_LIMIT_PER_MINUTE 600 per
//                             address), the load spread over BENCH_CLIENTS (4096) addresses in
//                             X-Forwarded-For behind TRUST_PROXY=1; off: RATE_LIMIT_PER_MINUTE=0
//   BENCH_DB                  a database name to keep and reuse (seeded once); default: a fresh
//                             database, dropped at the end
//   BENCH_API_DIR (.)         the checkout whose build (dist/) and seed are measured
//   BENCH_SCENARIOS           keys to run, comma-separated (by-id,first-page,deep-page,me,enroll,
//                             login,storm,first-page-20,search-common,search-rarer,search-rare,
//                             search-absent,search-common-title)
//   BENCH_OUT                 also write the Markdown report to this file
//   BENCH_LOG_LEVEL (warn)    the API's LOG_LEVEL
//   BENCH_API_NODE_OPTIONS    NODE_OPTIONS for the API only (say, to try V8 heap flags)
//   BENCH_API_ENV             more of the API's environment, as space-separated NAME=value
//   BENCH_QUIET_WAIT (60)     seconds a round may wait for other work to leave CPU 0
//   BENCH_MAX_OTHER (10)      % of CPU 0 that other work may take in a round before it is run
//                             again (twice at most; the machine may be shared)
//   TEST_PG_URL               PostgreSQL as a superuser (postgres://postgres@127.0.0.1:5432/postgres)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { prepareDatabase, readFixtures, titleMatches, type BenchDatabase } from './bench/database';
import type { LoadResult, LoadSpec, Variant } from './bench/load';
import {
  freePort,
  killAll,
  liveHash,
  measureHashTime,
  runLoad,
  sleep,
  startServer,
  transpile,
  type Server,
} from './bench/processes';
import { markdown, type Round, type ScenarioResult, type ServerRounds } from './bench/report';
import {
  checkParity,
  client,
  DEMO_PASSWORD,
  scenarios,
  type Scenario,
  type ScenarioContext,
} from './bench/scenarios';
import {
  affinityOf,
  cpuSpentBetween,
  endedChildrenCpuSeconds,
  cpuBusySeconds,
  cpuSeconds,
  memoryOf,
  pin,
  pinPostgres,
  postgresCpuSeconds,
  postmasterPid,
  resetPeakMemory,
} from './bench/system';

const ROOT = path.resolve(__dirname, '..');
/** The servers' core and the load generator's. */
const SERVER_CPU = '0';
const LOAD_CPU = '1';
/** Fixed, so the bench can sign a deep cursor the way the API does. */
const JWT_SECRET = 'opencourse-bench-secret-at-least-32-bytes-long';

function integer(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}: a whole number ≥ ${min}`);
  return value;
}

function readSettings() {
  const apiDir = path.resolve(process.env.BENCH_API_DIR ?? ROOT);
  const limits = process.env.BENCH_LIMITS ?? 'on';
  if (limits !== 'on' && limits !== 'off') throw new Error('BENCH_LIMITS is on or off');
  const database = process.env.BENCH_DB;
  if (database !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(database)) {
    throw new Error('BENCH_DB must be a plain lower-case PostgreSQL identifier');
  }
  const dockerfile = readFileSync(path.join(apiDir, 'Dockerfile'), 'utf8');
  return {
    adminUrl: process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    courses: integer('BENCH_COURSES', 1_000_000),
    seconds: integer('BENCH_SECONDS', 10),
    rounds: integer('BENCH_ROUNDS', 3),
    warmup: integer('BENCH_WARMUP', 5),
    connections: integer('BENCH_CONNECTIONS', 50),
    loginConnections: integer('BENCH_LOGIN_CONNECTIONS', 20),
    searchConnections: integer('BENCH_SEARCH_CONNECTIONS', 20),
    clients: integer('BENCH_CLIENTS', 4096),
    quietWait: integer('BENCH_QUIET_WAIT', 60, 0),
    maxOther: integer('BENCH_MAX_OTHER', 10, 0),
    limits,
    database,
    apiDir,
    /** The image's runtime settings (read once from its Dockerfile), given to both servers. */
    imageEnv: imageRuntimeEnv(dockerfile),
    /** The node flags of the image's command, given to both servers too. */
    nodeFlags: imageNodeFlags(dockerfile),
    only: process.env.BENCH_SCENARIOS?.split(',').map((k) => k.trim()),
    out: process.env.BENCH_OUT,
    logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
    apiNodeOptions: process.env.BENCH_API_NODE_OPTIONS,
    apiEnv: Object.fromEntries(
      (process.env.BENCH_API_ENV ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
  };
}
type Settings = ReturnType<typeof readSettings>;

const log = (line: string) => process.stderr.write(`${line}\n`);

function checkPrerequisites(s: Settings): void {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('taskset (util-linux) is needed to pin the processes');
  }
  if (os.availableParallelism() < 2) throw new Error('pinning needs at least 2 CPUs');
  if (!existsSync(path.join(s.apiDir, 'dist/server.js'))) {
    throw new Error(`no build in ${s.apiDir}: run npm run build there first`);
  }
}

/**
 * The API's PostgreSQL pool size, from its build (or, for a checkout older than `POOL_MAX`, its
 * source) so the floor's pool is the same size (BENCH_POOL_MAX overrides).
 */
function apiPoolSize(apiDir: string): number {
  if (process.env.BENCH_POOL_MAX) return integer('BENCH_POOL_MAX', 10);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const built = (require(path.join(apiDir, 'dist/data/database.js')) as { POOL_MAX?: number })
    .POOL_MAX;
  if (built) return built;
  const source = readFileSync(path.join(apiDir, 'src/data/database.ts'), 'utf8');
  const found = /new pg\.Pool\(\{[\s\S]*?\bmax:\s*([\d_]+)/.exec(source)?.[1];
  if (!found)
    throw new Error('cannot find the pool size in src/data/database.ts; set BENCH_POOL_MAX');
  return Number(found.replace(/_/g, ''));
}

/** How busy each core is over `ms`, in percent, before the bench loads it: is the machine quiet? */
async function busyShares(ms: number): Promise<string> {
  const cpus = [Number(SERVER_CPU), Number(LOAD_CPU)];
  const before = cpus.map(cpuBusySeconds);
  await sleep(ms);
  return cpus
    .map(
      (cpu, i) => `CPU ${cpu} ${((100_000 * (cpuBusySeconds(cpu) - before[i]!)) / ms).toFixed(0)}%`,
    )
    .join(', ');
}

/** Steps that undo what the run did, newest first, each once, whatever fails. */
class Cleanup {
  private steps: { name: string; run: () => unknown }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, run: () => unknown): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (err) {
          log(`cleanup: ${step.name} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}

/** What the image sets for the runtime (the Dockerfile's ENV, where it says why). */
const IMAGE_RUNTIME_VARIABLES = ['MALLOC_ARENA_MAX', 'NODE_OPTIONS'];

/** The image's runtime settings, which both servers get: they run as the image runs them. */
function imageRuntimeEnv(dockerfile: string): NodeJS.ProcessEnv {
  // ENV instructions, their continuation lines joined.
  const env = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.startsWith('ENV '))
    .join(' ');
  const out: NodeJS.ProcessEnv = {};
  for (const name of IMAGE_RUNTIME_VARIABLES) {
    const value = new RegExp(`\\b${name}=(\\S+)`).exec(env)?.[1];
    if (value) out[name] = value;
  }
  return out;
}

/**
 * The node flags of the image's command (`CMD ["node", ...flags, "dist/server.js"]`): V8 flags
 * that Node refuses in NODE_OPTIONS live there. Both servers get them.
 */
function imageNodeFlags(dockerfile: string): string[] {
  const command = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  const argv = command ? (JSON.parse(command) as string[]) : [];
  return argv[0] === 'node' ? argv.slice(1, -1) : [];
}

/** The API's own runtime options (BENCH_API_NODE_OPTIONS, BENCH_API_ENV), over everything else. */
const apiOverrides = (s: Settings): NodeJS.ProcessEnv => ({
  ...(s.apiNodeOptions ? { NODE_OPTIONS: s.apiNodeOptions } : {}),
  ...s.apiEnv,
});

/** The environment the servers run with beyond the bench's own settings, for the report. */
function describeEnv(s: Settings): string {
  const pairs = (env: NodeJS.ProcessEnv) => Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const image = [...pairs(s.imageEnv), ...s.nodeFlags];
  const overrides = pairs(apiOverrides(s));
  return (
    `both with the image's ${image.join(' ') || 'default settings'}` +
    (overrides.length > 0 ? `; the API with ${overrides.join(' ')} over them` : '')
  );
}

/** What the API's argon2 runs with: the API's runtime settings (see `apiEnv`), nothing else. */
const hashEnv = (s: Settings): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ...s.imageEnv,
  ...apiOverrides(s),
});

function apiEnv(s: Settings, database: BenchDatabase, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    ...s.imageEnv,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: s.logLevel,
    JWT_SECRET,
    // Required in production; nothing in the bench sends an email.
    SMTP_URL: 'smtp://127.0.0.1:2525',
    // One proxy in front: the address is the last X-Forwarded-For entry, which the load varies.
    TRUST_PROXY: '1',
    // Empty means the default (600 a minute per address); set, so no .env can change it.
    RATE_LIMIT_PER_MINUTE: s.limits === 'on' ? '' : '0',
    // Right-password logins from many addresses; nothing here should be locked out.
    LOGIN_MAX_FAILURES: '1000',
    LOGIN_MAX_FAILURES_PER_DAY: '1000000',
    REDIS_URL: '',
    ...apiOverrides(s),
  };
}

interface Tools {
  loadScript: string;
  cpus: string;
  tmpDir: string;
  nodePath: string;
}

interface Target {
  server: Server;
  variants: Variant[];
  storm?: { variants: Variant[]; connections: number };
  beside?: Variant[];
}

/** PostgreSQL as the bench sees it: the postmaster, the bench's database, the pinning. */
interface Postgres {
  postmaster: number;
  database: string;
  pinning: ReturnType<typeof pinPostgres>;
}

/**
 * Waits, up to BENCH_QUIET_WAIT seconds, until CPU 0 is nearly idle: between rounds both servers
 * are idle, so whatever keeps it busy is someone else's work (or the last round's tail, such as
 * queued password hashes), and would be counted against the next server measured.
 */
async function waitForQuiet(s: Settings): Promise<void> {
  const deadline = Date.now() + s.quietWait * 1000;
  for (let waited = false; ; waited = true) {
    const before = cpuBusySeconds(Number(SERVER_CPU));
    await sleep(500);
    const busy = (cpuBusySeconds(Number(SERVER_CPU)) - before) / 0.5;
    if (busy < 0.1 || Date.now() > deadline) {
      if (waited)
        log(`    (CPU ${SERVER_CPU} ${busy < 0.1 ? 'quiet again' : 'still busy, going on'})`);
      return;
    }
    if (!waited)
      log(`    (CPU ${SERVER_CPU} ${(busy * 100).toFixed(0)}% busy with other work: waiting)`);
  }
}

/**
 * One measured round: the load, and the CPU it cost the server and PostgreSQL meanwhile; and
 * what else ran on the servers' core, which should be next to nothing.
 */
async function measureRound(
  target: Target,
  spec: Omit<LoadSpec, 'origin' | 'variants'>,
  tools: Tools,
  postgres: Postgres,
): Promise<Round> {
  const { pid, origin } = target.server;
  const load = { ...spec, origin, variants: target.variants };
  postgres.pinning.again();
  const pgProcesses = () => postgresCpuSeconds(postgres.postmaster, postgres.database);
  const started = process.hrtime.bigint();
  const cpu = cpuSeconds(pid);
  const pgCpu = pgProcesses();
  const core = cpuBusySeconds(Number(SERVER_CPU));
  const generator = endedChildrenCpuSeconds(process.pid);
  let storm: Promise<LoadResult> | undefined;
  if (target.storm) {
    // The storm starts first and ends last, so it covers the whole measured load.
    storm = runLoad({ ...load, ...target.storm, seconds: spec.seconds + 2 }, tools);
    await sleep(1000);
  }
  const result = await runLoad(load, tools);
  const stormResult = await storm;
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuSpent = cpuSeconds(pid) - cpu;
  const pgCpuSpent = cpuSpentBetween(pgCpu, pgProcesses());
  return {
    ...result,
    cpuSeconds: cpuSpent,
    pgCpuSeconds: pgCpuSpent,
    wallSeconds,
    otherCpuSeconds: cpuBusySeconds(Number(SERVER_CPU)) - core - cpuSpent - pgCpuSpent,
    // The load generator runs have ended and been waited for: their CPU is our children's.
    loadCpuSeconds: endedChildrenCpuSeconds(process.pid) - generator,
    storm: stormResult,
  };
}

async function runScenario(
  scenario: Scenario,
  servers: { api: Server; floor: Server },
  s: Settings,
  tools: Tools,
  postgres: Postgres,
): Promise<ScenarioResult> {
  log(`\n${scenario.title} (${scenario.connections} connections)`);
  const prepared = await scenario.prepare();
  const targets: Target[] = [
    {
      server: servers.api,
      variants: prepared.api,
      storm: prepared.storm,
      beside: prepared.beside?.api,
    },
  ];
  if (prepared.floor) {
    targets.push({
      server: servers.floor,
      variants: prepared.floor,
      beside: prepared.beside?.floor,
    });
  }
  const spec = { connections: scenario.connections, clients: s.clients };
  for (const t of targets) resetPeakMemory(t.server.pid);
  // A short warm-up first: a route's first requests compile and cache what later ones reuse.
  for (const t of targets) {
    await runLoad(
      { ...spec, seconds: s.warmup, origin: t.server.origin, variants: t.variants },
      tools,
    );
  }
  const rounds = new Map<Server, Round[]>(targets.map((t) => [t.server, []]));
  // Alternating, so that whatever drifts during the run (caches, the table, the machine) drifts
  // under both servers alike.
  for (let i = 1; i <= s.rounds; i++) {
    for (const t of targets) {
      for (let attempt = 1; ; attempt++) {
        await waitForQuiet(s);
        const round = await measureRound(t, { ...spec, seconds: s.seconds }, tools, postgres);
        const other = (100 * round.otherCpuSeconds) / round.wallSeconds;
        const refused = round.non2xx + round.errors;
        log(
          `  ${t.server.name} round ${i}: ${Math.round(round.rps)} rps, p50 ${round.p50} ms, ` +
            `p99 ${round.p99} ms${refused ? `, ${refused} not 2xx` : ''}, other work on CPU ` +
            `${SERVER_CPU} ${Math.max(0, other).toFixed(0)}%` +
            (round.storm ? `; logins ${round.storm.rps.toFixed(1)}/s` : ''),
        );
        // Someone else's work took a share of the core: this round measured them too.
        if (other > s.maxOther && attempt < 3) {
          log(`    disturbed: once more`);
          continue;
        }
        // Logins have no floor server: their ceiling, argon2id's hash time, is taken beside
        // each round instead.
        let hash;
        if (scenario.key === 'login') {
          await waitForQuiet(s);
          hash = await measureHashTime(s.apiDir, SERVER_CPU, hashEnv(s));
        }
        let beside;
        if (t.beside) {
          await waitForQuiet(s);
          beside = await runLoad(
            { ...spec, seconds: s.seconds, origin: t.server.origin, variants: t.beside },
            tools,
          );
          log(`    beside it: ${Math.round(beside.rps)} rps, p99 ${beside.p99} ms`);
        }
        rounds.get(t.server)!.push({ ...round, attempts: attempt, hash, beside });
        break;
      }
    }
  }
  const of = (server: Server): ServerRounds => ({
    rounds: rounds.get(server)!,
    memory: memoryOf(server.pid),
  });
  const { prepare: _prepare, ...about } = scenario;
  return {
    scenario: about,
    api: of(servers.api),
    floor: prepared.floor ? of(servers.floor) : undefined,
  };
}

function describeCommit(dir: string): string {
  try {
    const commit = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD']).toString();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--', 'src']).toString();
    return `${commit.trim()}${dirty.trim() ? ' + uncommitted changes under src/' : ''}`;
  } catch {
    return 'unknown';
  }
}

async function postgresVersion(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!
      .server_version;
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const s = readSettings();
  checkPrerequisites(s);
  const cleanup = new Cleanup();
  let restorePostgres: (() => void) | undefined;
  const everyCpu = `0-${os.availableParallelism() - 1}`;
  // Whatever ends the run, PostgreSQL gets its CPUs back and no server is left behind.
  process.on('exit', () => {
    restorePostgres?.();
    killAll();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      log(`\n${signal}: cleaning up`);
      void cleanup.run().finally(() => process.exit(130));
    });
  }
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'opencourse-bench-'));
  cleanup.add('remove the temporary directory', () =>
    rmSync(tmpDir, { recursive: true, force: true }),
  );
  try {
    const database = await prepareDatabase({
      passwordHash: await liveHash(s.apiDir, DEMO_PASSWORD),
      adminUrl: s.adminUrl,
      name: s.database ?? `opencourse_bench_${process.pid}_${Date.now().toString(36)}`,
      keep: s.database !== undefined,
      courses: s.courses,
      apiDir: s.apiDir,
      log,
    });
    cleanup.add('drop the database', () => database.drop());

    // From here on the bench itself stays on the load generator's core, off the servers' one.
    pin(process.pid, LOAD_CPU);
    const postmaster = postmasterPid(Number(new URL(s.adminUrl).port || 5432));
    const was = affinityOf(postmaster);
    const pinning = pinPostgres(postmaster, SERVER_CPU, everyCpu);
    restorePostgres = pinning.restore;
    cleanup.add(`put PostgreSQL back on CPUs ${everyCpu}`, pinning.restore);
    log(`PostgreSQL (postmaster ${postmaster}, on CPUs ${was}) pinned to CPU ${SERVER_CPU}`);
    const postgres: Postgres = { postmaster, database: database.name, pinning };

    log("timing argon2id on the servers' core...");
    await waitForQuiet(s);
    const hash = await measureHashTime(s.apiDir, SERVER_CPU, hashEnv(s));
    const fixtures = await readFixtures(database.url);

    const idle = await busyShares(3000);
    log(`busy before the servers start (others' work): ${idle}`);
    const poolSize = apiPoolSize(s.apiDir);
    const floorScript = transpile(path.join(__dirname, 'bench/floor-server.ts'), tmpDir);
    const tools: Tools = {
      loadScript: transpile(path.join(__dirname, 'bench/load.ts'), tmpDir),
      cpus: LOAD_CPU,
      tmpDir,
      nodePath: path.join(ROOT, 'node_modules'),
    };
    const apiPort = await freePort();
    const api = await startServer({
      name: 'api',
      script: path.join(s.apiDir, 'dist/server.js'),
      nodeFlags: s.nodeFlags,
      cwd: s.apiDir,
      env: apiEnv(s, database, apiPort),
      cpus: SERVER_CPU,
      port: apiPort,
      logFile: path.join(tmpDir, 'api.log'),
    });
    cleanup.add('stop the API', () => api.stop());
    const floorPort = await freePort();
    const floor = await startServer({
      name: 'floor',
      script: floorScript,
      nodeFlags: s.nodeFlags,
      cwd: s.apiDir,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        // The API's own express and pg.
        NODE_PATH: path.join(s.apiDir, 'node_modules'),
        ...s.imageEnv,
        DATABASE_URL: database.url,
        PORT: String(floorPort),
        HOST: '127.0.0.1',
        POOL_MAX: String(poolSize),
      },
      cpus: SERVER_CPU,
      port: floorPort,
      logFile: path.join(tmpDir, 'floor.log'),
    });
    cleanup.add('stop the floor', () => floor.stop());

    const ctx: ScenarioContext = {
      fixtures,
      api: client(api.origin),
      floor: client(floor.origin),
      jwtSecret: JWT_SECRET,
      apiDir: s.apiDir,
      connections: s.connections,
      loginConnections: s.loginConnections,
      searchConnections: s.searchConnections,
      log,
    };
    const parity = await checkParity(ctx);
    for (const p of parity) log(`PARITY: ${p}`);
    const chosen = scenarios(ctx).filter((sc) => !s.only || s.only.includes(sc.key));
    const matches = await titleMatches(
      database.url,
      chosen.flatMap((sc) => (sc.term ? [sc.term] : [])),
    );
    const results: ScenarioResult[] = [];
    for (const scenario of chosen) {
      // Let the previous scenario's tail (queued hashes, connections closing) die down first.
      await sleep(2000);
      const result = await runScenario(scenario, { api, floor }, s, tools, postgres);
      results.push({ ...result, matches: scenario.term ? matches.get(scenario.term) : undefined });
    }

    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    const setup = [
      `${new Date().toISOString().slice(0, 16)}Z, API ${describeCommit(s.apiDir)} (built, \`node dist/server.js\`, NODE_ENV=production, LOG_LEVEL=${s.logLevel}); ` +
        `floor: scripts/bench/floor-server.ts transpiled to CommonJS, same node ${process.version}, pg pool ${poolSize} like the API's; ` +
        describeEnv(s),
      `PostgreSQL ${await postgresVersion(database.url)}: ${fixtures.courses.toLocaleString('en')} courses ` +
        `(${fixtures.publishedCourses.toLocaleString('en')} published), ${fixtures.users.toLocaleString('en')} users, seeded by scripts/seed.ts, VACUUM ANALYZE`,
      `servers and PostgreSQL pinned to CPU ${SERVER_CPU}, autocannon to CPU ${LOAD_CPU}; ${s.rounds} rounds of ${s.seconds} s per server, alternating, after ${s.warmup} s of warm-up`,
      s.limits === 'on'
        ? `limits on (defaults: RATE_LIMIT_PER_MINUTE 600 per address): TRUST_PROXY=1 and each request from one of ${s.clients} addresses in X-Forwarded-For (the floor gets the same header)`
        : `limits off: RATE_LIMIT_PER_MINUTE=0`,
      `rps counts 2xx answers only; figures are means over the rounds; CPU/req is the server's (or PostgreSQL's) user+system CPU time over all requests answered; RSS after the scenario's last round, its peak in the scenario in parentheses`,
      `busy before the servers started (others' work on the machine): ${idle}; run took ${minutes} min`,
    ];
    const report = markdown({ setup, results, hash, cores: 1, parity, maxOther: s.maxOther });
    process.stdout.write(`\n${report}`);
    if (s.out) writeFileSync(s.out, report);
  } finally {
    await cleanup.run();
  }
}

main().catch((err: Error) => {
  log(`bench failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
