/**
 * Every legal identifier works everywhere: tables, columns and a schema whose names hold a tab, two
 * spaces in a row or a newline are dumped, scanned, counted in the manifest, checked by `verify: restore`,
 * shown in the summary and restored by `restore`, with their rows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { summaryMarkdown } from '../../src/action/report.js';
import { runBackup } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import { parseDatabase } from '../../src/postgres/connection.js';
import { restoreBackup } from '../../src/restore/restore.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { withClient } from '../helpers/compare.js';
import { recordingLogger } from '../helpers/publish.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

let supabase: SupabaseCluster;
let scratchServer: Cluster;
let source: { name: string; url: string };

/** quote_ident form, as pg_dump and the manifest name them. */
const TABLES = ['public."tab\there"', 'public."two  spaces"', 'public."new\nline"', '"odd\nschema"."t  1"'];

beforeAll(async () => {
  [supabase, scratchServer] = await Promise.all([
    startSupabaseCluster(),
    startCluster({ superuser: 'supabase_admin', superuserPassword: 'sc-pw-idents' }),
  ]);
  source = await supabase.createSource('identifiers');
  await supabase.cluster.query(
    `CREATE SCHEMA "odd\nschema" AUTHORIZATION postgres;
     CREATE TABLE public."tab\there" (id int PRIMARY KEY, "col\tumn" text, "a  b" text);
     CREATE TABLE public."two  spaces" (id int PRIMARY KEY, "x\ny" text);
     CREATE TABLE public."new\nline" (id int PRIMARY KEY, "new\nline col" text, "c\td" int);
     CREATE TABLE "odd\nschema"."t  1" (id int PRIMARY KEY, v text);
     INSERT INTO public."tab\there" VALUES (1, 'a', 'b'), (2, 'c', 'd');
     INSERT INTO public."two  spaces" VALUES (1, 'x'), (2, 'y'), (3, 'z');
     INSERT INTO public."new\nline" VALUES (1, 'line\nbreak', 1);
     INSERT INTO "odd\nschema"."t  1" VALUES (1, 'v'), (2, 'w');
     ALTER TABLE public."tab\there" OWNER TO postgres;
     ALTER TABLE public."two  spaces" OWNER TO postgres;
     ALTER TABLE public."new\nline" OWNER TO postgres;
     ALTER TABLE "odd\nschema"."t  1" OWNER TO postgres;`.replaceAll('\\t', '\t').replaceAll('\\n', '\n'),
    { db: source.name },
  );
  await scratchServer.createDatabase('postgres').catch(() => undefined);
});

afterAll(async () => {
  await Promise.all([supabase?.stop(), scratchServer?.stop()]);
});

/** A table's rows as JSON text (column names and all), sorted. */
async function rowsOf(url: string, table: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ row: string }>(`SELECT to_jsonb(t)::text AS row FROM ${table} t ORDER BY 1`);
    return rows.map((r) => r.row);
  });
}

describe('names with a tab, two spaces or a newline', () => {
  it('round trip through the dump, the scan, the manifest, verify: restore, the summary and restore', async () => {
    const outputDir = await mkdtemp(path.join(tmpdir(), 'identifiers-'));
    onTestFinished(() => rm(outputDir, { recursive: true, force: true }));
    const inputs: Record<string, string> = {
      'database-url': source.url,
      destination: 'none',
      'output-dir': outputDir,
      verify: 'restore',
      'verify-database-url': scratchServer.url('postgres', 'supabase_admin'),
    };
    const result = await runBackup(parseConfig((name) => inputs[name] ?? ''), recordingLogger());
    const expected = [2, 3, 1, 2];
    TABLES.forEach((table, i) => expect(result.rowsByTable.get(table), table).toBe(expected[i]));
    expect(result.restoreCheck?.tables).toBe(result.tables);

    // The summary keeps one table per line (a newline or tab in a name is shown escaped).
    const summary = summaryMarkdown(result, []);
    for (const line of summary.split('\n').filter((l) => l.startsWith('| `'))) expect(line).toMatch(/^\| `.*` \| \d+ \|$/);
    expect(summary).toContain('| <code>public."new\\nline"</code> | 1 |');

    const target = await supabase.createTarget('identifiers_target');
    const outcome = await restoreBackup({ file: result.path, target: parseDatabase(target.url), keys: { identities: [] }, log: recordingLogger() });
    for (const table of TABLES) {
      expect(outcome.counts.find((c) => c.table === table)?.inTarget, table).toBe(result.rowsByTable.get(table));
      expect(await rowsOf(target.url, table)).toEqual(await rowsOf(source.url, table));
    }
  });
});
