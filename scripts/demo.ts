/**
 * `npm run demo`: builds a throwaway Supabase-shaped database on a local PostgreSQL cluster and backs it
 * up with the real action entry (node dist/index.js, INPUT_* variables, as GitHub runs it), then prints
 * where the file went, its head, and the job summary. Everything is removed afterwards but the file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runAction, ROOT } from '../test/helpers/action.js';
import { startSupabaseCluster } from '../test/helpers/supabase.js';

async function demo(): Promise<void> {
  console.log('Starting a throwaway PostgreSQL cluster with a Supabase-shaped database...');
  const supabase = await startSupabaseCluster();
  try {
    await supabase.createSource('demo');
    const outputDir = path.join(ROOT, 'backups');
    console.log(`Running the action (node dist/index.js) against it, output-dir ${outputDir}\n`);
    const run = await runAction(
      { 'database-url': supabase.urlFor('demo'), destination: 'none', 'output-dir': outputDir },
      { cwd: ROOT },
    );
    process.stdout.write(run.stdout);
    process.stderr.write(run.stderr);
    if (run.exitCode !== 0) throw new Error(`the action failed (exit code ${run.exitCode})`);

    const file = run.outputs['backup-path']!;
    const head = (await readFile(file, 'utf8')).split('\n').slice(0, 10).join('\n');
    console.log(`\n--- outputs ---\n${Object.entries(run.outputs).map(([k, v]) => `${k}=${v}`).join('\n')}`);
    console.log(`\n--- ${path.relative(ROOT, file)} (first lines) ---\n${head}\n...`);
    console.log(`\n--- job summary ---\n${run.summary}`);
    console.log(`Restore it into a fresh Supabase project with:\n  psql "$DATABASE_URL" -f ${path.relative(ROOT, file)}`);
  } finally {
    await supabase.stop();
  }
}

demo().catch((error: unknown) => {
  console.error(`✖ ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
