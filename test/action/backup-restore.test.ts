/**
 * The headline test: back up a Supabase-shaped SOURCE with the action's real entry (node dist/index.js),
 * restore the file into a fresh TARGET with one `psql -f` as the non-superuser `postgres`, and check
 * every point of supabase-reference.md §12.
 */
import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionRun } from '../helpers/action.js';
import {
  DURABLE_TABLES,
  LEDGER_TABLES,
  NON_PORTABLE_TABLES,
  OPTIONAL_LOG_TABLES,
  TRANSIENT_TABLES,
  listPolicies,
  listTriggers,
  relationAcls,
  routineAcls,
  rowCount,
  tableRows,
  withClient,
} from '../helpers/compare.js';
import { execa } from 'execa';
import { DEFAULT_MAJOR } from '../helpers/cluster.js';
import { PSQL, psqlFile, type PsqlRun } from '../helpers/restore.js';
import { ACTION_NODE } from '../helpers/runtimes.js';
import { statementText } from '../helpers/sql-oracle.js';
import { USER_IDS, startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const USER_TABLES = [
  'public.profiles',
  'public.notes',
  'public.tricky',
  'public.app_settings',
  'private.settings',
];

let supabase: SupabaseCluster;
let sourceUrl: string;
let targetUrl: string;
let run: ActionRun;
let file: string;
let sql: string;
let restore: PsqlRun;
let outputDir: string | undefined;

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('source')).url;
  targetUrl = (await supabase.createTarget('target')).url;
  outputDir = await mkdtemp(path.join(tmpdir(), 'backups-'));
  run = await runAction({ 'database-url': sourceUrl, destination: 'none', 'output-dir': outputDir });
  expect(run.exitCode, run.visible).toBe(0);
  file = run.outputs['backup-path']!;
  sql = await readFile(file, 'utf8');
  restore = await psqlFile(targetUrl, file);
});

afterAll(async () => {
  await supabase?.stop();
  if (outputDir) await rm(outputDir, { recursive: true, force: true });
});

describe('the run', () => {
  it('backs up a PostgreSQL server of the major under test with its pg_dump, restores with its psql, on the runtime under test', async () => {
    expect(run.stdout).toMatch(new RegExp(`✅ Connected: PostgreSQL ${DEFAULT_MAJOR}\\.\\d+`));
    expect(run.outputs['pg-dump-version']).toMatch(new RegExp(`^${DEFAULT_MAJOR}\\.`));
    expect((await execa(PSQL, ['--version'])).stdout).toMatch(new RegExp(`\\(PostgreSQL\\) ${DEFAULT_MAJOR}\\.`));
    // The pg17-node24 test project runs the action on Node 24, GitHub's runtime for it.
    const node = (await execa(ACTION_NODE, ['--version'])).stdout;
    expect(node).toMatch(DEFAULT_MAJOR === 17 ? /^v24\./ : /^v\d+\./);
  });
});

describe('the backup file', () => {
  it('is named full_<time>_<sha256 prefix>.sql, private to its owner, and described by the outputs', async () => {
    const info = await stat(file);
    const sha256 = createHash('sha256').update(await readFile(file)).digest('hex');
    expect(path.basename(file)).toMatch(/^full_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z_[0-9a-f]{8}\.sql$/);
    expect(path.basename(file)).toContain(`_${sha256.slice(0, 8)}.sql`);
    expect(info.mode & 0o777).toBe(0o600);
    expect(run.outputs).toMatchObject({
      'backup-file': path.basename(file),
      'backup-size': String(info.size),
      sha256,
      'auth-users': '5',
    });
    expect(Number(run.outputs.tables)).toBeGreaterThanOrEqual(DURABLE_TABLES.length + USER_TABLES.length);
    expect(Number(run.outputs['duration-seconds'])).toBeGreaterThan(0);
  });

  it('logs the steps and writes a job summary with the parts', () => {
    expect(run.stdout).toContain('Step 1/2: Dumping auth and storage data...');
    expect(run.stdout).toMatch(/✅ Public schema dumped: [\d.]+ KB/);
    expect(run.stdout).toMatch(/📊 Total size: [\d.]+ KB/);
    expect(run.summary).toContain('| Part | Contents | Tables | Rows | Size |');
    expect(run.summary).toContain('Auth and storage data');
  });

  it('has the header, the three markers, one transaction and the manifest', () => {
    const lines = statementText(sql).split('\n');
    expect(lines[1]).toBe('-- COMPLETE DATABASE BACKUP');
    const markers = lines.filter((line) => /^-- PART \d: /.test(line));
    expect(markers).toEqual([
      '-- PART 1: AUTH AND STORAGE DATA',
      '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
      '-- PART 3: USER OBJECTS ON AUTH AND STORAGE',
    ]);
    expect(lines.filter((line) => line === 'BEGIN;')).toHaveLength(1);
    expect(lines.filter((line) => line === 'COMMIT;')).toHaveLength(1);
    expect(lines).toContain('-- rows auth.users 5');
  });

  it('touches no reserved role, managed schema, event trigger or ledger', () => {
    const statements = statementText(sql)
      .split('\n')
      .filter((line) => !line.startsWith('--'));
    const forbidden = [
      /^(CREATE|ALTER|DROP) ROLE /,
      /^ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin/,
      /^CREATE SCHEMA public;/,
      /^CREATE SCHEMA (auth|storage|extensions|realtime)/,
      /DISABLE TRIGGER/,
      /^SET transaction_timeout/,
      /EVENT TRIGGER/,
      /^(INSERT INTO|COPY) (auth\.schema_migrations|storage\.migrations) /,
      /^(CREATE|ALTER|DROP) (TABLE|FUNCTION|TYPE) (IF EXISTS )?(auth|storage)\./,
      /^(INSERT INTO|COPY) auth\.(sessions|refresh_tokens|mfa_amr_claims|mfa_challenges|one_time_tokens|flow_state|audit_log_entries) /,
      /^\\restrict/,
    ];
    for (const pattern of forbidden) {
      expect(statements.filter((line) => pattern.test(line)), String(pattern)).toEqual([]);
    }
  });
});

describe('restore into a fresh project with one psql -f as postgres', () => {
  it('succeeds in one transaction', () => {
    expect(restore.stderr).not.toMatch(/ERROR/);
    expect(restore.exitCode).toBe(0);
  });

  it('brings every durable auth and storage row back identical, generated columns recomputed', async () => {
    for (const table of DURABLE_TABLES) {
      expect(await tableRows(targetUrl, table), table).toEqual(await tableRows(sourceUrl, table));
    }
    expect(await rowCount(targetUrl, 'auth.users')).toBe(5);
    // PART 1 is COPY with column lists; generated columns are not in the file: the target computed them.
    expect(sql).toMatch(/^COPY auth\.users \(instance_id, id, [^)]*\) FROM stdin;$/m);
    expect(sql).not.toMatch(/^INSERT INTO /m);
    expect(sql).not.toMatch(/COPY auth\.users \([^)]*[ (]confirmed_at[,)]/);
    expect(sql).not.toMatch(/COPY storage\.objects \([^)]*[ (]path_tokens[,)]/);
    const phoneUser = await withClient(targetUrl, (c) =>
      c.query('SELECT confirmed_at = phone_confirmed_at AS ok FROM auth.users WHERE id = $1', [USER_IDS.phoneOnly]),
    );
    expect(phoneUser.rows[0].ok).toBe(true);
  });

  it('brings the user schemas back identical: data, sequences and privileges', async () => {
    for (const table of USER_TABLES) {
      expect(await tableRows(targetUrl, table), table).toEqual(await tableRows(sourceUrl, table));
    }
    expect(await relationAcls(targetUrl, ['public', 'private'])).toEqual(await relationAcls(sourceUrl, ['public', 'private']));
    expect(await routineAcls(targetUrl, ['public', 'private'])).toEqual(await routineAcls(sourceUrl, ['public', 'private']));
    const sequences = (url: string) =>
      withClient(url, (c) =>
        c.query("SELECT schemaname, sequencename, last_value FROM pg_sequences WHERE schemaname IN ('public','private') ORDER BY 1, 2"),
      ).then((r) => r.rows);
    expect(await sequences(targetUrl)).toEqual(await sequences(sourceUrl));
  });

  it('keeps a privilege revoked in the source revoked (no drift from the target default privileges)', async () => {
    const canInsert = await withClient(targetUrl, (c) =>
      c.query("SELECT has_table_privilege('anon', 'public.app_settings', 'INSERT') AS anon_insert"),
    );
    expect(canInsert.rows[0].anon_insert).toBe(false);
  });

  it('leaves transient tables, the audit log and non-portable tables empty, and ledgers unchanged', async () => {
    for (const table of [...TRANSIENT_TABLES, ...OPTIONAL_LOG_TABLES, ...NON_PORTABLE_TABLES]) {
      expect(await rowCount(targetUrl, table), table).toBe(0);
    }
    for (const table of LEDGER_TABLES) {
      expect(await tableRows(targetUrl, table), table).toEqual(await tableRows(sourceUrl, table));
    }
  });

  it('restores the on_auth_user_created trigger, once: one profile per user, and new users get one', async () => {
    expect((await listTriggers(targetUrl, 'auth.users')).map((t) => t.name)).toContain('on_auth_user_created');
    const counts = await withClient(targetUrl, (c) =>
      c.query('SELECT (SELECT count(*) FROM auth.users) AS users, (SELECT count(*) FROM public.profiles) AS profiles, (SELECT count(DISTINCT id) FROM public.profiles) AS distinct_profiles'),
    );
    expect(counts.rows[0]).toEqual({ users: '5', profiles: '5', distinct_profiles: '5' });
    const created = await withClient(targetUrl, async (c) => {
      await c.query('BEGIN');
      await c.query(
        "INSERT INTO auth.users (instance_id, id, aud, role, email, raw_user_meta_data) VALUES ('00000000-0000-0000-0000-000000000000', '99999999-9999-4999-8999-999999999999', 'authenticated', 'authenticated', 'new@example.test', '{\"username\":\"newbie\"}')",
      );
      const r = await c.query("SELECT username FROM public.profiles WHERE id = '99999999-9999-4999-8999-999999999999'");
      await c.query('ROLLBACK');
      return r.rows;
    });
    expect(created).toEqual([{ username: 'newbie' }]);
  });

  it('restores the policies on storage.objects and auth.users, and RLS behaves the same', async () => {
    const onManaged = (policies: Awaited<ReturnType<typeof listPolicies>>) =>
      policies.filter((p) => /^(auth|storage)\./.test(`${p.schema}.${p.table}`));
    const sourcePolicies = onManaged(await listPolicies(sourceUrl));
    expect(sourcePolicies.length).toBeGreaterThanOrEqual(4);
    expect(onManaged(await listPolicies(targetUrl))).toEqual(sourcePolicies);
    expect(await listPolicies(targetUrl)).toEqual(await listPolicies(sourceUrl));

    const visibleNotes = (url: string) =>
      withClient(url, async (c) => {
        await c.query('BEGIN');
        await c.query('SET LOCAL ROLE authenticated');
        await c.query(`SELECT set_config('request.jwt.claims', $1, true)`, [
          JSON.stringify({ sub: USER_IDS.confirmedEmail, role: 'authenticated' }),
        ]);
        const r = await c.query('SELECT owner FROM public.notes ORDER BY id');
        await c.query('ROLLBACK');
        return r.rows;
      });
    const seen = await visibleNotes(targetUrl);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((row) => row.owner === USER_IDS.confirmedEmail)).toBe(true);
    expect(seen).toEqual(await visibleNotes(sourceUrl));
  });

  it('keeps foreign keys to auth.users, validated, and realtime publication membership', async () => {
    const fks = await withClient(targetUrl, (c) =>
      c.query(
        "SELECT conrelid::regclass::text AS tbl, convalidated FROM pg_constraint WHERE contype = 'f' AND confrelid = 'auth.users'::regclass AND connamespace <> 'auth'::regnamespace ORDER BY 1",
      ),
    );
    expect(fks.rows.map((r) => r.tbl)).toEqual(expect.arrayContaining(['profiles', 'notes'].map((t) => expect.stringContaining(t))));
    expect(fks.rows.every((r) => r.convalidated)).toBe(true);
    const published = (url: string) =>
      withClient(url, (c) =>
        c.query("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime' ORDER BY 1, 2"),
      ).then((r) => r.rows);
    expect(await published(targetUrl)).toEqual(await published(sourceUrl));
    expect((await published(targetUrl)).length).toBeGreaterThan(0);
  });

  it('refuses to run twice on the now non-fresh target, and the failed run changes nothing', async () => {
    const before = await tableRows(targetUrl, 'public.notes');
    const again = await psqlFile(targetUrl, file);
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toMatch(/duplicate key value/);
    expect(await tableRows(targetUrl, 'public.notes')).toEqual(before);
    expect(await rowCount(targetUrl, 'auth.users')).toBe(5);
  });
});
