// What the benchmark reads from and does to the machine: CPU time and memory from /proc, CPU
// affinity with taskset (util-linux), and PostgreSQL's processes.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
export const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // the process has gone
  }
}

// Field numbers of proc(5), minus 3: statFields' list starts at field 3 (state).
const PPID = 4 - 3;
const UTIME = 14 - 3;
const STIME = 15 - 3;
const CUTIME = 16 - 3;
const CSTIME = 17 - 3;

/** User + system CPU seconds of a process, every thread included (libuv's pool too). */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[UTIME]) + Number(f[STIME])) / CLOCK_TICKS : 0;
}

/**
 * CPU seconds of the children of `pid` that have ended and been waited for (cutime + cstime):
 * for the bench's own pid, the load generator runs that have finished.
 */
export function endedChildrenCpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[CUTIME]) + Number(f[CSTIME])) / CLOCK_TICKS : 0;
}

/** Processes whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[PPID]) === pid) children.push(Number(entry));
  }
  return children;
}

/**
 * CPU seconds so far of each PostgreSQL process working for `database`: its backends and
 * autovacuum workers (their process titles name the database, "postgres: 15/main: user db
 * host(port) state"), parallel workers of those backends, and the server-wide processes (WAL
 * writer, checkpointer, background writer...) whose work the load's writes cause. Backends of
 * other databases, other people's tests on a shared server, are not the bench's to count.
 */
export function postgresCpuSeconds(postmaster: number, database: string): Map<number, number> {
  const titles = new Map<number, string>();
  for (const child of childrenOf(postmaster)) {
    try {
      const cmdline = readFileSync(`/proc/${child}/cmdline`, 'utf8');
      titles.set(
        child,
        cmdline
          .replace(/\0/g, ' ')
          .replace(/^postgres: [^:]+: /, '')
          .trim(),
      );
    } catch {
      // gone meanwhile
    }
  }
  const ours = new Set<number>();
  const shared: number[] = [];
  const parallel: [number, number][] = [];
  for (const [pid, title] of titles) {
    const autovacuum = /^autovacuum worker (\S+)/.exec(title);
    const worker = /^parallel worker for PID (\d+)/.exec(title);
    const backend = /^\S+ (\S+) (\S+\(\d+\)|\[local\])/.exec(title);
    if (autovacuum || backend) {
      if ((autovacuum ?? backend)![1] === database) ours.add(pid);
    } else if (worker) parallel.push([pid, Number(worker[1])]);
    else shared.push(pid);
  }
  const counted = [...ours, ...shared, ...parallel.filter(([, l]) => ours.has(l)).map(([p]) => p)];
  return new Map(counted.map((pid) => [pid, cpuSeconds(pid)]));
}

/** CPU seconds spent between two postgresCpuSeconds readings (a new process started at 0). */
export function cpuSpentBetween(before: Map<number, number>, after: Map<number, number>): number {
  let spent = 0;
  for (const [pid, seconds] of after) spent += seconds - (before.get(pid) ?? 0);
  return spent;
}

/** Busy seconds of one CPU so far, whoever ran on it (/proc/stat: all but idle and iowait). */
export function cpuBusySeconds(cpu: number): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return 0;
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS;
}

export interface Memory {
  /** Resident set size now, MB. */
  rssMb: number;
  /** Peak resident set size since start or since resetPeakMemory, MB. */
  peakMb: number;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** Starts VmHWM afresh (proc(5), clear_refs "5"), so each scenario reports its own peak. */
export function resetPeakMemory(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not permitted here: the peak then stays the process's peak since it started.
  }
}

/** The CPU list a process may run on, as taskset prints it ("0,1", "0-1"). */
export function affinityOf(pid: number): string {
  const out = execFileSync('taskset', ['-cp', String(pid)]).toString();
  return out.slice(out.lastIndexOf(':') + 1).trim();
}

/** Pins every thread of a process to `cpus`; a process that has gone is ignored. */
export function pin(pid: number, cpus: string): void {
  try {
    execFileSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' });
  } catch {
    if (existsSync(`/proc/${pid}`)) throw new Error(`taskset could not pin process ${pid}`);
  }
}

/**
 * The postmaster of the cluster listening on `port`: the first line of its postmaster.pid, whose
 * fourth line is the port (BENCH_PG_PID overrides).
 */
export function postmasterPid(port: number): number {
  if (process.env.BENCH_PG_PID) return Number(process.env.BENCH_PG_PID);
  const root = '/var/lib/postgresql';
  const files = existsSync(root)
    ? readdirSync(root).flatMap((version) =>
        readdirSync(`${root}/${version}`).map((c) => `${root}/${version}/${c}/postmaster.pid`),
      )
    : [];
  for (const file of files.filter((f) => existsSync(f))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (Number(lines[3]) === port) return Number(lines[0]);
  }
  throw new Error(`no postmaster.pid for port ${port} under ${root}; set BENCH_PG_PID`);
}

/**
 * Pins PostgreSQL to `cpus`: the postmaster and every process it has forked so far. Backends
 * forked later inherit the postmaster's affinity. `restore` puts every one of them on `after`
 * (every CPU); it is synchronous so that it can run in an exit handler.
 */
export function pinPostgres(postmaster: number, cpus: string, after: string) {
  const all = (to: string) => {
    // The postmaster first: anything it forks from then on is born with its affinity.
    pin(postmaster, to);
    for (const child of childrenOf(postmaster)) pin(child, to);
  };
  all(cpus);
  let restored = false;
  return {
    /** Pins again: on a shared machine, someone else may have changed it meanwhile. */
    again: () => all(cpus),
    restore: () => {
      if (restored) return;
      restored = true;
      all(after);
    },
  };
}
