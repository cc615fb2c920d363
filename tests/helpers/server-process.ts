import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  /** What the process wrote to stdout and stderr so far. */
  stdout: () => string;
  stderr: () => string;
  /** stdout and stderr together, in arrival order. */
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Each Jest worker counts through a thousand ports of its own (below Linux's ephemeral range),
 * from a random start per test file: servers started at once by one run never share a port. A
 * port picked at random from one shared range once gave a test another suite's server.
 */
const firstPort = 20_000 + (Number(process.env.JEST_WORKER_ID ?? 0) % 12) * 1_000;
let nextOffset = Math.floor(Math.random() * 1_000);
const nextPort = () => firstPort + (nextOffset++ % 1_000);

/**
 * The server as an operator runs it (`src/server.ts` in a process of its own, on a random port),
 * for what only a real process shows: start-up, signals, require hooks. Only PATH is inherited,
 * so a developer's environment cannot change a test; metrics are off unless asked, as suites
 * running at once would all want the default port.
 */
export function spawnServer(env: Record<string, string>): ServerProcess {
  const port = String(nextPort());
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: port,
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout?.on('data', (chunk) => {
    stdout += String(chunk);
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
    output += String(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => output,
    exited,
  };
}
