/**
 * Watches the process tree under one process (Linux /proc): every command line any descendant had while
 * it ran, sampled as fast as the test process can sweep /proc. Used to prove that no secret reaches a
 * command line, where any user of the machine can read it (`ps`, /proc/<pid>/cmdline). The environment
 * (/proc/<pid>/environ, readable only by the same user and root) is where PGPASSWORD legitimately goes.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface SeenProcess {
  pid: number;
  ppid: number;
  /** argv as read from /proc/<pid>/cmdline (a process may show its parent's argv before exec). */
  argv: string[];
  /** Whether /proc/<pid>/environ held PGPASSWORD when it was sampled. */
  pgpasswordInEnv: boolean;
}

export interface ProcessWatch {
  /** Every (pid, argv) seen so far under the root, in order of first sight. */
  seen: SeenProcess[];
  /** Resolves after at least one more complete sweep. */
  nextSweep(): Promise<void>;
  stop(): Promise<SeenProcess[]>;
}

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined;
  }
}

/** The parent pid from /proc/<pid>/stat (the command name in parentheses may hold spaces and ')'). */
function parentOf(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

export function watchProcessTree(rootPid: number): ProcessWatch {
  const seen: SeenProcess[] = [];
  const keys = new Set<string>();
  let running = true;
  let sweeps = 0;
  const waiters: { after: number; resolve: () => void }[] = [];

  const sweep = (): void => {
    const parents = new Map<number, number>();
    const lines = new Map<number, string>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const stat = readProc(name, 'stat');
      const cmdline = readProc(name, 'cmdline');
      if (stat === undefined || cmdline === undefined) continue;
      parents.set(Number(name), parentOf(stat));
      lines.set(Number(name), cmdline);
    }
    const inTree = (pid: number): boolean => {
      for (let p = pid, depth = 0; p > 1 && depth < 64; p = parents.get(p) ?? 0, depth++) {
        if (p === rootPid) return true;
      }
      return false;
    };
    for (const [pid, cmdline] of lines) {
      if (!inTree(pid) || cmdline === '') continue;
      const key = `${pid}\0${cmdline}`;
      if (keys.has(key)) continue;
      keys.add(key);
      const environ = readProc(String(pid), 'environ') ?? '';
      seen.push({
        pid,
        ppid: parents.get(pid) ?? 0,
        argv: Buffer.from(cmdline, 'latin1').toString('utf8').split('\0').filter((arg, i, all) => i < all.length - 1 || arg !== ''),
        pgpasswordInEnv: environ.split('\0').some((entry) => entry.startsWith('PGPASSWORD=')),
      });
    }
    sweeps += 1;
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (sweeps > waiters[i]!.after) waiters.splice(i, 1)[0]!.resolve();
    }
  };

  const loop = (async () => {
    while (running) {
      sweep();
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();

  return {
    seen,
    nextSweep: () => new Promise<void>((resolve) => waiters.push({ after: sweeps + 1, resolve })),
    async stop() {
      running = false;
      await loop;
      sweep();
      return seen;
    },
  };
}

/** Is `pid` still a live process running `program` (not a zombie)? */
export function stillRunning(pid: number, program: string): boolean {
  const stat = readProc(String(pid), 'stat');
  const cmdline = readProc(String(pid), 'cmdline');
  if (stat === undefined || cmdline === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state !== 'Z' && state !== 'X' && cmdline.split('\0')[0]!.endsWith(program);
}
