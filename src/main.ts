/**
 * The GitHub Action's entry: inputs, masking, outputs, job summary. Everything else is the core
 * (backup.ts), which runs the same from the CLI and the tests.
 */
import { rm } from 'node:fs/promises';
import * as core from '@actions/core';
import { runBackup } from './backup.js';
import { parseConfig } from './config.js';
import { urlSecretForms } from './connection.js';
import type { Logger } from './log.js';
import { backupOutputs, summaryMarkdown } from './report.js';

const actionLogger: Logger = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  secret: (value) => core.setSecret(value),
};

export async function run(): Promise<void> {
  // Mask the secrets before anything can print them, even a config error.
  for (const form of urlSecretForms(core.getInput('database-url'))) core.setSecret(form);
  for (const name of ['encryption-passphrase', 'github-token']) {
    const value = core.getInput(name);
    if (value) core.setSecret(value);
  }

  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const config = parseConfig((name) => core.getInput(name));
    const result = await runBackup(config, actionLogger, { signal: abort.signal });
    // A backup counts only once stored: when publishing fails, the local file goes too (DESIGN.md §2).
    // Loaded only now: the publishing clients are large, and the backup runs lighter without them.
    const { publishBackup } = await import('./publish/index.js');
    const published = await publishBackup(result, config, actionLogger).catch(async (error: unknown) => {
      await rm(result.path, { force: true });
      throw error;
    });
    const outputs = {
      ...backupOutputs(result),
      'artifact-id': published.artifactId ?? '',
      'artifact-url': published.artifactUrl ?? '',
      'commit-sha': published.commitSha ?? '',
    };
    for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);

    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summaryMarkdown(result, published.destinations)).write();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await run();
