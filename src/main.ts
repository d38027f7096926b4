/**
 * The GitHub Action's entry: inputs, masking, outputs, job summary. Everything else is the core
 * (backup.ts), which runs the same from the CLI and the tests.
 */
import * as core from '@actions/core';
import { runBackup } from './backup.js';
import { parseConfig } from './config.js';
import { urlSecretForms } from './connection.js';
import type { Logger } from './log.js';
import { backupOutputs, summaryMarkdown, type Destination } from './report.js';

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
    for (const [name, value] of Object.entries(backupOutputs(result))) core.setOutput(name, value);

    const destinations: Destination[] = [{ kind: 'local', description: `kept on the runner at ${result.path}` }];
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summaryMarkdown(result, destinations)).write();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await run();
