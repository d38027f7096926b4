/**
 * The install plan as the exact command lines that would run, per platform, and resolvePgTools end to
 * end over directories of real-looking clients: nothing suitable -> the plan runs -> a second lookup
 * finds what it installed. The installer there is a stand-in apt-get on PATH (the real one is exercised
 * by install-apt.test.ts, which needs root).
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatCommand,
  parseOsRelease,
  planInstall,
  readHostFacts,
  requiredMajor,
  resolvePgTools,
  runInstallPlan,
  type HostFacts,
  type InstallPlan,
} from '../../src/postgres/install.js';
import type { Logger } from '../../src/log.js';
import { ToolsError } from '../../src/postgres/tools.js';

const ubuntuRunner: HostFacts = {
  platform: 'linux',
  distro: ['ubuntu', 'debian'],
  distroName: 'Ubuntu 24.04.2 LTS',
  uid: 1001,
  aptGet: true,
  sudo: true,
  pgdgScript: true,
  aptCandidate: null,
  brew: null,
};
const debianRoot: HostFacts = {
  ...ubuntuRunner,
  distro: ['debian'],
  distroName: 'Debian GNU/Linux 12 (bookworm)',
  uid: 0,
  sudo: false,
  aptCandidate: '15.20-0+deb12u1',
};

function lines(plan: InstallPlan): string[] {
  if (!plan.possible) throw new Error(plan.reason);
  return plan.steps.map(formatCommand);
}

function reason(plan: InstallPlan): string {
  if (plan.possible) throw new Error(`expected no plan, got ${lines(plan).join('; ')}`);
  return plan.reason;
}

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warning: (m) => lines.push(`warning: ${m}`), secret: () => undefined };
}

describe('planInstall', () => {
  it('GitHub Ubuntu runner: PGDG script with sudo, then the client', () => {
    const plan = planInstall(ubuntuRunner, 17);
    expect(lines(plan)).toEqual([
      'sudo -n /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y',
      'sudo -n apt-get install -y --no-install-recommends postgresql-client-17',
    ]);
    expect(plan).toMatchObject({ binDir: '/usr/lib/postgresql/17/bin', method: 'apt-get from apt.postgresql.org (PGDG)' });
  });

  it('as root: the same commands without sudo', () => {
    expect(lines(planInstall({ ...ubuntuRunner, uid: 0, sudo: false }, 15))).toEqual([
      '/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y',
      'apt-get install -y --no-install-recommends postgresql-client-15',
    ]);
  });

  it('installs postgresql-common first when the PGDG script is absent', () => {
    expect(lines(planInstall({ ...ubuntuRunner, pgdgScript: false }, 17))).toEqual([
      'sudo -n apt-get update',
      'sudo -n apt-get install -y --no-install-recommends postgresql-common ca-certificates',
      'sudo -n /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y',
      'sudo -n apt-get install -y --no-install-recommends postgresql-client-17',
    ]);
  });

  it("uses the distro's archive when it carries the package (no PGDG)", () => {
    const plan = planInstall(debianRoot, 15);
    expect(lines(plan)).toEqual(['apt-get update', 'apt-get install -y --no-install-recommends postgresql-client-15']);
    expect(plan).toMatchObject({ binDir: '/usr/lib/postgresql/15/bin' });
    if (plan.possible) expect(plan.method).toContain("Debian GNU/Linux 12 (bookworm)'s archive");
  });

  it('steps are argument arrays, never a shell string', () => {
    const plan = planInstall(ubuntuRunner, 17);
    if (!plan.possible) throw new Error(plan.reason);
    expect(plan.steps[1]).toMatchObject({
      command: 'sudo',
      args: ['-n', 'apt-get', 'install', '-y', '--no-install-recommends', 'postgresql-client-17'],
    });
    expect(plan.steps.every((step) => step.why.length > 0)).toBe(true);
  });

  it('refuses clearly when not root and no sudo', () => {
    const text = reason(planInstall({ ...ubuntuRunner, sudo: false }, 17));
    expect(text).toMatch(/postgresql-client-17: it needs root, this job runs as uid 1001 and sudo is not available/);
    expect(text).toMatch(/PATH or in PG_BIN; set postgres-version: 17/);
  });

  it('refuses clearly on Debian without apt-get', () => {
    expect(reason(planInstall({ ...debianRoot, aptGet: false }, 17))).toMatch(/has no apt-get/);
  });

  it('macOS (Apple silicon): brew install postgresql@N, used by full path', () => {
    const plan = planInstall({ ...ubuntuRunner, platform: 'darwin', distro: [], distroName: '', aptGet: false, brew: '/opt/homebrew/bin/brew' }, 17);
    expect(lines(plan)).toEqual(['/opt/homebrew/bin/brew install postgresql@17']);
    expect(plan).toMatchObject({ binDir: '/opt/homebrew/opt/postgresql@17/bin', method: 'Homebrew postgresql@17' });
  });

  it('macOS (Intel): the /usr/local prefix', () => {
    const plan = planInstall({ ...ubuntuRunner, platform: 'darwin', distro: [], brew: '/usr/local/bin/brew' }, 15);
    expect(plan).toMatchObject({ binDir: '/usr/local/opt/postgresql@15/bin' });
  });

  it('macOS without Homebrew, Windows and other Linux: an error that says what is needed and how', () => {
    const advice = /PostgreSQL 17 client .* on PATH or in PG_BIN; set postgres-version: 17/;
    expect(reason(planInstall({ ...ubuntuRunner, platform: 'darwin', brew: null }, 17))).toMatch(/Homebrew not found/);
    const windows = reason(planInstall({ ...ubuntuRunner, platform: 'win32', distro: [], distroName: '', uid: null }, 17));
    expect(windows).toMatch(/PostgreSQL 17 or newer found, and installing one on win32 is not automated/);
    expect(windows).toMatch(advice);
    const fedora = reason(planInstall({ ...ubuntuRunner, distro: ['fedora'], distroName: 'Fedora Linux 41' }, 17));
    expect(fedora).toMatch(/on Fedora Linux 41 \(not Debian or Ubuntu\)/);
    expect(fedora).toMatch(advice);
  });
});

describe('host facts', () => {
  it('parses /etc/os-release', () => {
    const fields = parseOsRelease('PRETTY_NAME="Ubuntu 24.04.2 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n# comment\n');
    expect(fields).toMatchObject({ PRETTY_NAME: 'Ubuntu 24.04.2 LTS', ID: 'ubuntu', ID_LIKE: 'debian', VERSION_CODENAME: 'noble' });
  });

  it('reads this host', async () => {
    const facts = await readHostFacts(15);
    expect(facts.platform).toBe(process.platform);
    expect(facts.uid).toBe(process.getuid?.() ?? null);
    if (facts.aptGet) expect(facts.distro.length).toBeGreaterThan(0);
    // A major no archive carries: apt-cache has no candidate.
    expect((await readHostFacts(99)).aptCandidate).toBeNull();
  });
});

describe('requiredMajor', () => {
  it('auto is the server major; a pin may be newer, never older', () => {
    expect(requiredMajor(17, 'auto')).toBe(17);
    expect(requiredMajor(15, 17)).toBe(17);
    expect(() => requiredMajor(17, 15)).toThrow(/postgres-version 15 is older than the server \(PostgreSQL 17\).*use auto or 17/);
  });
});

describe('resolvePgTools', () => {
  let root: string;
  let lib: string;
  let fakeBin: string;
  let aptLog: string;

  async function client(dir: string, version: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    for (const name of ['pg_dump', 'psql']) {
      await writeFile(path.join(dir, name), `#!/bin/sh\necho "${name} (PostgreSQL) ${version}"\n`);
      await chmod(path.join(dir, name), 0o755);
    }
    return dir;
  }

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'pg-resolve-'));
    lib = path.join(root, 'lib');
    fakeBin = path.join(root, 'fake-bin');
    aptLog = path.join(root, 'apt.log');
    await mkdir(fakeBin, { recursive: true });
    // Stand-in apt-get: records its arguments; `install ... postgresql-client-N` puts a client in $FAKE_LIB/N/bin.
    await writeFile(
      path.join(fakeBin, 'apt-get'),
      [
        '#!/bin/sh',
        'echo "apt-get $*" >> "$APT_LOG"',
        'for last; do :; done',
        'case "$1:$last" in install:postgresql-client-*)',
        '  n=${last#postgresql-client-}; mkdir -p "$FAKE_LIB/$n/bin"',
        '  for p in pg_dump psql; do printf \'#!/bin/sh\\necho "%s (PostgreSQL) %s.2"\\n\' "$p" "$n" > "$FAKE_LIB/$n/bin/$p"; chmod 755 "$FAKE_LIB/$n/bin/$p"; done;;',
        'esac',
        '',
      ].join('\n'),
    );
    await chmod(path.join(fakeBin, 'apt-get'), 0o755);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const dirsUnder = (dir: string) => async () => [15, 16, 17, 18].map((n) => path.join(dir, String(n), 'bin'));
  const env = () => ({ PATH: `${fakeBin}${path.delimiter}${process.env.PATH}`, APT_LOG: aptLog, FAKE_LIB: lib });
  const noFacts = async (): Promise<HostFacts> => {
    throw new Error('must not need host facts');
  };

  it('uses an installed client of the exact major, and says why', async () => {
    const dir = path.join(root, 'installed');
    await client(path.join(dir, '17', 'bin'), '17.6');
    const log = recorder();
    const tools = await resolvePgTools({ serverMajor: 17, requested: 'auto', log, dirs: dirsUnder(dir), facts: noFacts });
    expect(tools).toMatchObject({ major: 17, version: '17.6', pgDump: path.join(dir, '17', 'bin', 'pg_dump') });
    expect(tools.installedWith).toBeUndefined();
    expect(log.lines).toEqual([
      `🧰 Using pg_dump 17.6 at ${tools.pgDump}: PostgreSQL 17 client; the server runs PostgreSQL 17 (postgres-version: auto); already installed`,
    ]);
  });

  it('auto accepts a newer installed client; a pin does not', async () => {
    const dir = path.join(root, 'newer');
    await client(path.join(dir, '18', 'bin'), '18.1');
    const log = recorder();
    const tools = await resolvePgTools({ serverMajor: 17, requested: 'auto', log, dirs: dirsUnder(dir), facts: noFacts });
    expect(tools.major).toBe(18);
    expect(tools.why).toMatch(/^PostgreSQL 18 client, newer than 17, which pg_dump supports/);
    await expect(resolvePgTools({ serverMajor: 17, requested: 17, log, dirs: dirsUnder(dir), install: false })).rejects.toThrow(
      /no pg_dump of PostgreSQL 17 found; postgres-version: 17/,
    );
  });

  it('refuses a pin older than the server before looking', async () => {
    await expect(resolvePgTools({ serverMajor: 17, requested: 15, log: recorder(), facts: noFacts })).rejects.toThrow(ToolsError);
  });

  it('older client only -> runs the install plan, logs each command, then uses what it installed', async () => {
    const dir = lib;
    await client(path.join(dir, '16', 'bin'), '16.9');
    await rm(aptLog, { force: true });
    const log = recorder();
    const facts = async (major: number): Promise<HostFacts> => ({ ...debianRoot, aptCandidate: `${major}.2-1` });
    const tools = await resolvePgTools({ serverMajor: 17, requested: 'auto', log, dirs: dirsUnder(dir), facts, env: env() });
    expect(tools).toMatchObject({ major: 17, version: '17.2', pgDump: path.join(lib, '17', 'bin', 'pg_dump') });
    expect(tools.installedWith).toMatch(/^apt-get from Debian GNU\/Linux 12 \(bookworm\)'s archive/);
    expect(await readFile(aptLog, 'utf8')).toBe('apt-get update\napt-get install -y --no-install-recommends postgresql-client-17\n');
    expect(log.lines).toEqual([
      expect.stringMatching(/^🧰 No pg_dump of PostgreSQL 17 or newer installed; the server runs PostgreSQL 17 \(postgres-version: auto\); installing postgresql-client-17 with apt-get/),
      '📦 [1/2] apt-get update   # refresh the package lists',
      '📦 [2/2] apt-get install -y --no-install-recommends postgresql-client-17   # the PostgreSQL 17 client',
      expect.stringMatching(/^🧰 Using pg_dump 17\.2 at .*\/17\/bin\/pg_dump: PostgreSQL 17 client; .*; installed just now with apt-get/),
    ]);
  });

  it('with install: false, or where no plan is possible, explains how to provide a client', async () => {
    const empty = dirsUnder(path.join(root, 'empty'));
    await expect(resolvePgTools({ serverMajor: 17, requested: 'auto', log: recorder(), dirs: empty, install: false })).rejects.toThrow(
      /no pg_dump of PostgreSQL 17 or newer found; .* on PATH or in PG_BIN/,
    );
    const windows = async (): Promise<HostFacts> => ({ ...ubuntuRunner, platform: 'win32', distro: [], uid: null });
    await expect(resolvePgTools({ serverMajor: 17, requested: 'auto', log: recorder(), dirs: empty, facts: windows })).rejects.toThrow(
      /installing one on win32 is not automated/,
    );
  });
});

describe('runInstallPlan', () => {
  it('stops at the first failing step with the command, its exit code and output', async () => {
    const log = recorder();
    const plan: InstallPlan = {
      possible: true,
      method: 'test',
      binDir: '/nowhere',
      manual: 'Do it by hand.',
      steps: [
        { command: 'sh', args: ['-c', 'echo E: Unable to locate package postgresql-client-99 >&2; exit 100'], why: 'fails' },
        { command: 'sh', args: ['-c', 'exit 0'], why: 'never runs' },
      ],
    };
    const error = await runInstallPlan(plan, log).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolsError);
    expect((error as Error).message).toBe(
      "installing with test failed: `sh -c 'echo E: Unable to locate package postgresql-client-99 >&2; exit 100'` exited with code 100:\n" +
        'E: Unable to locate package postgresql-client-99\nDo it by hand.',
    );
    expect(log.lines).toHaveLength(1);
  });

  it('reports a command that cannot start', async () => {
    const plan: InstallPlan = { possible: true, method: 'test', binDir: '/nowhere', manual: 'Do it by hand.', steps: [{ command: '/nonexistent/apt-get', args: [], why: 'x' }] };
    await expect(runInstallPlan(plan, recorder())).rejects.toThrow(/`\/nonexistent\/apt-get` .*ENOENT/);
  });
});
