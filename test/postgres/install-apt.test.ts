/**
 * The install path for real: on a Debian/Ubuntu host, as root, with a postgresql-client-<N> that the
 * configured apt archive carries but that is not installed, resolvePgTools installs it with apt-get and
 * then uses it by full path. Skipped, with the reason printed, wherever that cannot run (not root, no
 * apt, or every such client already installed, which is the usual case on a machine with PostgreSQL).
 * Afterwards the package is removed again, leaving the host as it was.
 */
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { aptCandidate, readHostFacts, resolvePgTools } from '../../src/postgres/install.js';
import type { Logger } from '../../src/log.js';
import { findPgTools } from '../../src/postgres/tools.js';

async function dpkgInstalled(pkg: string): Promise<boolean> {
  const { stdout } = await execa('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', pkg], { reject: false });
  return stdout.startsWith('ii');
}

/** The major to install, or why the test cannot run here. */
async function target(): Promise<{ major: number } | { skip: string }> {
  if (process.platform !== 'linux') return { skip: `not Linux (${process.platform})` };
  const facts = await readHostFacts(0);
  if (!facts.aptGet || !facts.distro.some((id) => id === 'debian' || id === 'ubuntu')) return { skip: 'not a Debian/Ubuntu host with apt-get' };
  if (facts.uid !== 0) return { skip: `needs root to run apt-get, running as uid ${facts.uid}` };
  const { stdout } = await execa('apt-cache', ['pkgnames', 'postgresql-client-'], { reject: false });
  const carried: number[] = [];
  for (const name of stdout.split('\n')) {
    const major = /^postgresql-client-(\d+)$/.exec(name)?.[1];
    if (major && (await aptCandidate(name))) carried.push(Number(major));
  }
  carried.sort((a, b) => a - b);
  if (carried.length === 0) return { skip: 'the apt sources carry no postgresql-client-<N> (run apt-get update?)' };
  for (const major of carried) {
    if (!(await dpkgInstalled(`postgresql-client-${major}`)) && !(await findPgTools(major, undefined, true))) return { major };
  }
  return { skip: `${carried.map((n) => `postgresql-client-${n}`).join(', ')} (all the archive carries) already installed` };
}

const found = await target();
const installed: string[] = [];

afterAll(async () => {
  for (const pkg of installed) await execa('apt-get', ['remove', '-y', pkg], { reject: false, env: { DEBIAN_FRONTEND: 'noninteractive' } });
});

describe('installing a PostgreSQL client with apt-get (real)', () => {
  it('installs the missing client, then uses it by full path', { timeout: 600_000 }, async ({ skip }) => {
    if ('skip' in found) {
      console.log(`install-apt.test.ts skipped: ${found.skip}`);
      skip(found.skip);
      return;
    }
    const { major } = found;
    const pkg = `postgresql-client-${major}`;
    const lines: string[] = [];
    const log: Logger = { info: (m) => lines.push(m), warning: (m) => lines.push(m), secret: () => undefined };
    installed.push(pkg);
    const tools = await resolvePgTools({ serverMajor: major, requested: major, log });
    console.log(lines.join('\n'));

    expect(await dpkgInstalled(pkg)).toBe(true);
    expect(tools.installedWith).toMatch(/^apt-get from /);
    expect(tools.pgDump).toBe(`/usr/lib/postgresql/${major}/bin/pg_dump`);
    expect(tools.psql).toBe(`/usr/lib/postgresql/${major}/bin/psql`);
    expect(tools.major).toBe(major);
    const { stdout } = await execa(tools.pgDump, ['--version']);
    expect(stdout).toMatch(new RegExp(`^pg_dump \\(PostgreSQL\\) ${major}\\.`));
    expect(lines).toContain(`📦 [2/2] apt-get install -y --no-install-recommends ${pkg}   # the PostgreSQL ${major} client`);
    expect(lines.at(-1)).toMatch(new RegExp(`^🧰 Using pg_dump ${tools.version} at ${tools.pgDump}: .*installed just now with apt-get`));
  });
});
