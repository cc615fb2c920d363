// The processes a benchmark run starts: the two servers, the load generator runs and the argon2
// timing, each pinned with taskset to the core it belongs on; and the bookkeeping that lets the
// run kill whatever is still alive when it ends, however it ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import ts from 'typescript';
import type { LoadResult, LoadSpec } from './load';

const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Kills every child still running; synchronous, for exit handlers. */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Compiles one self-contained TypeScript file to CommonJS in `outDir`, so that it runs on plain
 * node like the API's own build does (no tsx loader in the measured process).
 */
export function transpile(file: string, outDir: string): string {
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
    fileName: file,
  });
  const out = path.join(outDir, `${path.basename(file, '.ts')}.js`);
  writeFileSync(out, outputText);
  return out;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Runs a command to its end; rejects on a non-zero exit. Output goes where `stdio` says. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; echo?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(command, args, {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const timer = options.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
      : undefined;
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.echo) process.stdout.write(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (options.echo) process.stderr.write(chunk);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')}: ${signal ?? code}\n${stderr.trim()}`));
    });
  });
}

export interface Server {
  name: string;
  pid: number;
  origin: string;
  logFile: string;
  stop(): Promise<void>;
}

const tail = (file: string) => readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');

/**
 * Starts `node script` pinned to `cpus` and waits for GET /health/ready to answer 200. taskset
 * execs node, so the child's pid is node's: the pid whose CPU time and memory are read.
 */
export async function startServer(options: {
  name: string;
  script: string;
  /** Node's own flags, before the script. */
  nodeFlags: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  cpus: string;
  port: number;
  logFile: string;
}): Promise<Server> {
  const log = openSync(options.logFile, 'a');
  const child = track(
    spawn('taskset', ['-c', options.cpus, process.execPath, ...options.nodeFlags, options.script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', log, log],
    }),
  );
  closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  const origin = `http://127.0.0.1:${options.port}`;
  const server: Server = {
    name: options.name,
    pid: child.pid!,
    origin,
    logFile: options.logFile,
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      // The API drains requests in flight for up to 10 s before it exits; past that, kill it.
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      child.kill('SIGTERM');
      await gone;
      clearTimeout(timer);
    },
  };
  // Ready within seconds; a minute is for a loaded machine.
  for (let attempt = 0; attempt < 300; attempt++) {
    if (exited) throw new Error(`${options.name} exited at start:\n${tail(options.logFile)}`);
    const ready = await fetch(`${origin}/health/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return server;
    await sleep(200);
  }
  await server.stop();
  throw new Error(`${options.name} was not ready after 60 s:\n${tail(options.logFile)}`);
}

/**
 * One autocannon run in a child process pinned to `cpus` (scripts/bench/load.ts, transpiled to
 * `loadScript`), so the load generator never competes with the servers for their core.
 */
export async function runLoad(
  spec: LoadSpec,
  tools: { loadScript: string; cpus: string; tmpDir: string; nodePath: string },
): Promise<LoadResult> {
  // Each run gets its own spec file: a storm and its by-id load run at once.
  const file = path.join(tools.tmpDir, `load-${process.hrtime.bigint()}.json`);
  writeFileSync(file, JSON.stringify(spec));
  const out = await run('taskset', ['-c', tools.cpus, process.execPath, tools.loadScript, file], {
    env: { ...process.env, NODE_PATH: tools.nodePath },
    // A run that has not ended a minute after its duration never will.
    timeoutMs: (spec.seconds + 60) * 1000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;
}

export interface HashTime {
  medianMs: number;
  meanMs: number;
  hashes: number;
  options: { memoryCost: number; timeCost: number; parallelism: number };
}

/**
 * argon2id at the API's own HASH_OPTIONS (from its build), one hash after another in a process
 * pinned to `cpus`: the cost of one login's password check on the one core the API is given.
 * `env` is the API's runtime settings (allocator, V8), which change what a hash costs.
 */
export async function measureHashTime(
  apiDir: string,
  cpus: string,
  env: NodeJS.ProcessEnv,
  hashes = 30,
) {
  const script = `
    const argon2 = require('argon2');
    const { HASH_OPTIONS } = require(${JSON.stringify(path.join(apiDir, 'dist/services/passwords.js'))});
    (async () => {
      for (let i = 0; i < 3; i++) await argon2.hash('warm-up ' + i, HASH_OPTIONS);
      const times = [];
      for (let i = 0; i < ${hashes}; i++) {
        const start = process.hrtime.bigint();
        await argon2.hash('benchmark password ' + i, HASH_OPTIONS);
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      times.sort((a, b) => a - b);
      const { memoryCost, timeCost, parallelism } = HASH_OPTIONS;
      console.log(JSON.stringify({
        medianMs: times[Math.floor(times.length / 2)],
        meanMs: times.reduce((a, b) => a + b, 0) / times.length,
        hashes: times.length,
        options: { memoryCost, timeCost, parallelism },
      }));
    })();`;
  const out = await run('taskset', ['-c', cpus, process.execPath, '-e', script], {
    cwd: apiDir,
    env,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as HashTime;
}

/**
 * A hash of `password` made exactly as the API makes one at registration: its own argon2 and
 * HASH_OPTIONS, from its build.
 */
export async function liveHash(apiDir: string, password: string): Promise<string> {
  const script = `
    const argon2 = require('argon2');
    const { HASH_OPTIONS } = require(${JSON.stringify(path.join(apiDir, 'dist/services/passwords.js'))});
    argon2.hash(process.argv[1], HASH_OPTIONS).then((hash) => console.log(hash));`;
  const out = await run(process.execPath, ['-e', script, password], { cwd: apiDir });
  return out.trim();
}
