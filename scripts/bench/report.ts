// Turns the rounds of every scenario into the figures the product page asks about, as Markdown.
import type { LoadResult } from './load';
import type { HashTime } from './processes';
import type { Scenario } from './scenarios';
import type { Memory } from './system';

/** One load run against one server, with the CPU time it cost the server and PostgreSQL. */
export interface Round extends LoadResult {
  /** The server's CPU time during the round. */
  cpuSeconds: number;
  /** PostgreSQL's CPU time: the database's backends and the server-wide processes. */
  pgCpuSeconds: number;
  wallSeconds: number;
  /** CPU time on the servers' core that was neither: other processes, PostgreSQL's own. */
  otherCpuSeconds: number;
  /** CPU time of the load generator (autocannon): near 1 s a second, it is the limit. */
  loadCpuSeconds: number;
  /** 1, or more where a round disturbed by other work was run again. */
  attempts?: number;
  /** The login storm that ran at the same time, if any. */
  storm?: LoadResult;
  /** Login rounds: argon2id timed on the same core right after the round (the ceiling's). */
  hash?: HashTime;
  /** The scenario's reference load, run on the same server right after the round. */
  beside?: LoadResult;
}

export interface ServerRounds {
  rounds: Round[];
  /** After the scenario's last round; the peak is the scenario's own. */
  memory: Memory;
}

export interface ScenarioResult {
  scenario: Omit<Scenario, 'prepare'>;
  api: ServerRounds;
  floor?: ServerRounds;
  /** Search scenarios: published courses whose title holds the term. */
  matches?: number;
}

export interface Figures {
  rps: number;
  p50: number;
  p99: number;
  cpuMs: number;
  pgCpuMs: number;
  rssMb: number;
  peakMb: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Means over the rounds; CPU per request over all of them (total CPU / total requests). */
export function figures(server: ServerRounds): Figures {
  const { rounds } = server;
  const requests = sum(rounds.map((r) => r.requests + (r.storm?.requests ?? 0)));
  const statusCodes: Record<string, number> = {};
  for (const r of rounds) {
    for (const [code, n] of Object.entries(r.statusCodes)) {
      statusCodes[code] = (statusCodes[code] ?? 0) + n;
    }
  }
  return {
    rps: mean(rounds.map((r) => r.rps)),
    p50: mean(rounds.map((r) => r.p50)),
    p99: mean(rounds.map((r) => r.p99)),
    cpuMs: (sum(rounds.map((r) => r.cpuSeconds)) * 1000) / requests,
    pgCpuMs: (sum(rounds.map((r) => r.pgCpuSeconds)) * 1000) / requests,
    rssMb: server.memory.rssMb,
    peakMb: server.memory.peakMb,
    non2xx: sum(rounds.map((r) => r.non2xx)),
    errors: sum(rounds.map((r) => r.errors)),
    statusCodes,
  };
}

const DASH = '—';
const int = (n: number) => Math.round(n).toLocaleString('en');
const ms = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));
const ratio = (n: number) => `${n.toFixed(2)}x`;
const pair = (api: string, floor?: string) => (floor === undefined ? api : `${api} / ${floor}`);

function row(result: ScenarioResult): string {
  const a = figures(result.api);
  const f = result.floor ? figures(result.floor) : undefined;
  const storm = result.scenario.key === 'storm';
  const cells = [
    result.scenario.title,
    String(result.scenario.connections),
    int(a.rps),
    f ? int(f.rps) : DASH,
    f ? ratio(a.rps / f.rps) : DASH,
    pair(ms(a.p50), f && ms(f.p50)),
    pair(ms(a.p99), f && ms(f.p99)),
    // During the storm the server's CPU goes mostly to argon2: per by-id request it means nothing.
    storm ? DASH : pair(a.cpuMs.toFixed(2), f?.cpuMs.toFixed(2)),
    storm ? DASH : pair(a.pgCpuMs.toFixed(2), f?.pgCpuMs.toFixed(2)),
    pair(`${int(a.rssMb)} (${int(a.peakMb)})`, f && `${int(f.rssMb)} (${int(f.peakMb)})`),
    pair(String(a.non2xx + a.errors), f && String(f.non2xx + f.errors)),
  ];
  return `| ${cells.join(' | ')} |`;
}

function table(header: string[], rows: string[]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows];
}

function find(results: ScenarioResult[], key: string) {
  return results.find((r) => r.scenario.key === key);
}

function searchRows(results: ScenarioResult[]): string[] {
  const base = find(results, 'first-page-20');
  const baseRps = base ? figures(base.api).rps : undefined;
  return results
    .filter((r) => r.scenario.group === 'search' && r.scenario.key !== 'first-page-20')
    .map((r) => {
      const a = figures(r.api);
      return `| ${[
        r.scenario.title,
        r.matches === undefined ? DASH : int(r.matches),
        int(a.rps),
        ms(a.p50),
        ms(a.p99),
        a.cpuMs.toFixed(2),
        a.pgCpuMs.toFixed(2),
        baseRps ? ratio(a.rps / baseRps) : DASH,
        String(a.non2xx + a.errors),
      ].join(' | ')} |`;
    });
}

/** The sentences under the tables: deep page, logins against argon2's ceiling, the storm. */
function findings(results: ScenarioResult[], hash: HashTime, cores: number): string[] {
  const lines: string[] = [];
  const first = find(results, 'first-page');
  const deep = find(results, 'deep-page');
  if (deep) {
    // Each deep round's own first page, run right after it on the same server: both costs are
    // taken on the machine as it was then.
    const beside = (side: 'api' | 'floor') => {
      const rounds = deep[side]?.rounds.filter((r) => r.beside) ?? [];
      return rounds.length > 0 ? mean(rounds.map((r) => r.beside!.rps / r.rps)) : NaN;
    };
    const across = (side: 'api' | 'floor') => {
      const a = first?.[side];
      const b = deep[side];
      return a && b ? figures(a).rps / figures(b).rps : NaN;
    };
    if (!Number.isNaN(beside('api'))) {
      lines.push(
        `- Deep page: costs ${ratio(beside('api'))} the first page ` +
          `(the mean of first-page rps / deep-page rps over each round and the first-page round ` +
          `run right after it on the same server; the floor's: ${ratio(beside('floor'))}).`,
      );
    }
    if (first) {
      lines.push(
        `- Deep page against the first-page scenario, minutes apart: ${ratio(across('api'))} ` +
          `(the floor's: ${ratio(across('floor'))}).`,
      );
    }
  }
  const { memoryCost, timeCost, parallelism } = hash.options;
  const ceiling = (cores * 1000) / hash.medianMs;
  const login = find(results, 'login');
  lines.push(
    `- argon2id m=${memoryCost} KiB, t=${timeCost}, p=${parallelism}: median ${hash.medianMs.toFixed(1)} ms ` +
      `(mean ${hash.meanMs.toFixed(1)}) a hash over ${hash.hashes}, on one of the servers' cores with the API's runtime settings, ` +
      `before the servers started → ceiling ${cores} core / hash time = ${ceiling.toFixed(1)} logins/s.`,
  );
  if (login) {
    const l = figures(login.api);
    // The machine's speed drifts over a run: each login round is held to the hash time taken
    // on the same core right after it, as the other scenarios are held to their floor's rounds.
    const beside = login.api.rounds.filter((r) => r.hash);
    const shares = beside.map((r) => (r.rps * r.hash!.medianMs) / (cores * 1000));
    lines.push(
      `- Logins: ${l.rps.toFixed(1)}/s at ${login.scenario.connections} connections = ` +
        `${((100 * l.rps) / ceiling).toFixed(0)}% of that ceiling (p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms)` +
        (beside.length > 0
          ? `; ${(100 * mean(shares)).toFixed(0)}% of the ceiling timed right after each round ` +
            `(hash medians ${beside.map((r) => r.hash!.medianMs.toFixed(1)).join(', ')} ms; ` +
            `rounds ${shares.map((x) => `${(100 * x).toFixed(0)}%`).join(', ')}).`
          : '.'),
    );
  }
  const quiet = find(results, 'by-id');
  const storm = find(results, 'storm');
  if (storm) {
    const s = figures(storm.api);
    const logins = mean(storm.api.rounds.map((r) => r.storm?.rps ?? 0));
    const q = quiet ? figures(quiet.api).p99 : undefined;
    lines.push(
      `- Login storm: by-id p99 ${ms(s.p99)} ms against ${q === undefined ? DASH : `${ms(q)} ms`} ` +
        `quiet (${q === undefined ? DASH : ratio(s.p99 / q)}), by-id ${int(s.rps)} rps, ` +
        `logins ${logins.toFixed(1)}/s meanwhile.`,
    );
  }
  return lines;
}

/** Anything other than 2xx, by scenario and status: a figure built on refusals is no figure. */
function refusals(results: ScenarioResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    for (const side of ['api', 'floor'] as const) {
      const rounds = r[side];
      if (!rounds) continue;
      const f = figures(rounds);
      const codes = Object.entries(f.statusCodes)
        .filter(([code]) => !code.startsWith('2'))
        .map(([code, n]) => `${n}× ${code}`);
      if (f.errors > 0) codes.push(`${f.errors} errors/timeouts`);
      const storm = new Map<string, number>();
      for (const x of rounds.rounds) {
        for (const [code, n] of Object.entries(x.storm?.statusCodes ?? {})) {
          if (!code.startsWith('2')) storm.set(code, (storm.get(code) ?? 0) + n);
        }
      }
      for (const [code, n] of storm) codes.push(`${n}× ${code} among the storm's logins`);
      if (codes.length > 0) {
        lines.push(`- Not 2xx, ${r.scenario.title} (${side}): ${codes.join(', ')}`);
      }
    }
  }
  return lines;
}

/**
 * Whether the measurements can be trusted: the servers' core should run nothing but the server
 * under load and its PostgreSQL backends, and the load generator's core should not be saturated.
 */
function machineChecks(results: ScenarioResult[], maxOther: number): string[] {
  const rounds = results.flatMap((r) =>
    [r.api, r.floor].flatMap((side) =>
      (side?.rounds ?? []).map((round) => ({ title: r.scenario.title, round })),
    ),
  );
  if (rounds.length === 0) return [];
  const share = (seconds: number, wall: number) => (100 * seconds) / wall;
  const worst = (pick: (round: Round) => number) =>
    rounds.reduce((a, b) => (pick(b.round) > pick(a.round) ? b : a));
  const other = (round: Round) => share(round.otherCpuSeconds, round.wallSeconds);
  const loadCore = (round: Round) => share(round.loadCpuSeconds, round.wallSeconds);
  const o = worst(other);
  const l = worst(loadCore);
  const meanOther = mean(rounds.map((x) => other(x.round)));
  const repeated = rounds.filter((x) => (x.round.attempts ?? 1) > 1).length;
  return [
    ...(repeated > 0
      ? [`- ${repeated} round(s) were run again because other work disturbed them.`]
      : []),
    `- Other work on the servers' core during the rounds (neither the server under load nor ` +
      `PostgreSQL working for it): ${meanOther.toFixed(0)}% of the core on average, at most ` +
      `${other(o.round).toFixed(0)}% (${o.title})` +
      (other(o.round) > maxOther
        ? ' — NOT QUIET even after repeats: the machine was shared, these figures are disturbed.'
        : '.'),
    `- The load generator (autocannon) used at most ${loadCore(l.round).toFixed(0)}% of its core (${l.title})` +
      (loadCore(l.round) > 90 ? ' — it may have been the limit there.' : '.'),
  ];
}

function roundDetails(results: ScenarioResult[]): string[] {
  return results.map((r) => {
    const rps = (s?: ServerRounds) => s?.rounds.map((x) => int(x.rps)).join(', ');
    return `- ${r.scenario.title}: ${pair(rps(r.api)!, rps(r.floor))}`;
  });
}

export function markdown(input: {
  setup: string[];
  results: ScenarioResult[];
  hash: HashTime;
  cores: number;
  parity: string[];
  /** % of the servers' core other work may take in a round (BENCH_MAX_OTHER). */
  maxOther: number;
}): string {
  const { results } = input;
  const main = results.filter(
    (r) => r.scenario.group === 'main' || r.scenario.key === 'first-page-20',
  );
  const lines = [
    '## OpenCourse against the floor',
    '',
    ...input.setup.map((l) => `- ${l}`),
    '',
    ...table(
      [
        'scenario',
        'conns',
        'OpenCourse rps',
        'floor rps',
        'ratio',
        'p50 ms (API / floor)',
        'p99 ms (API / floor)',
        'CPU/req ms (API / floor)',
        'PG CPU/req ms (API / floor)',
        'RSS MB after (peak) (API / floor)',
        'non-2xx (API / floor)',
      ],
      main.map(row),
    ),
    '',
    ...findings(results, input.hash, input.cores),
  ];
  const search = searchRows(results);
  if (search.length > 0) {
    lines.push(
      '',
      `### Title search, against the first page at the same connections`,
      '',
      ...table(
        [
          'search',
          'published titles with the term',
          'rps',
          'p50 ms',
          'p99 ms',
          'CPU/req ms',
          'PG CPU/req ms',
          'x first page',
          'non-2xx',
        ],
        search,
      ),
    );
  }
  const refused = refusals(results);
  lines.push(
    '',
    '### Checks',
    '',
    input.parity.length === 0
      ? '- The floor answers what the API answers (by id, first page, deep page: same JSON rows).'
      : input.parity.map((p) => `- PARITY: ${p}`).join('\n'),
    ...(refused.length === 0 ? ['- Every response was 2xx.'] : refused),
    ...machineChecks(results, input.maxOther),
    '',
    '### Requests per second, round by round (API / floor)',
    '',
    ...roundDetails(results),
    '',
  );
  return lines.join('\n');
}
