/**
 * The GitHub Action's entry: inputs, masking, outputs, job summary. Everything else is the core
 * (backup/pipeline.ts), which runs the same from the CLI and the tests.
 */
import { rm } from 'node:fs/promises';
import * as core from '@actions/core';
import { backupDatabases, runBackup } from '../backup/pipeline.js';
import { parseConfig } from '../config.js';
import { redact, secretForms, urlSecretForms } from '../postgres/connection.js';
import { enforcePublicGuard } from '../publish/guard.js';
import { neutraliseWorkflowCommands, type Logger } from '../log.js';
import type { PublishResult } from '../publish/index.js';
import { localCopy } from '../publish/local.js';
import { scratchSecretForms } from '../backup/restorecheck.js';
import { s3SecretForms } from '../s3/settings.js';
import { backupOutputs, summaryMarkdown } from './report.js';
import { letHeapGrowForStreaming } from '../heap.js';

const actionLogger: Logger = {
  info: (message) => core.info(neutraliseWorkflowCommands(message)),
  warning: (message) => core.warning(neutraliseWorkflowCommands(message)),
  secret: (value) => core.setSecret(value),
};

/** Every form of every secret input: the database password (as written, encoded, decoded), the passphrase, the token. */
function secretInputs(): string[] {
  const passphrase = core.getInput('encryption-passphrase');
  return [
    ...urlSecretForms(core.getInput('database-url')),
    ...scratchSecretForms(core.getInput('verify-database-url')),
    ...secretForms(passphrase),
    // A multi-line secret is masked line by line by the runner; register each line too.
    ...passphrase.split(/\r?\n/).filter((line) => line.trim().length > 0),
    ...secretForms(core.getInput('github-token')),
    // The signing key (PEM): the whole of it and each line of its body.
    ...signingKeyLines(core.getInput('signing-key')),
    // S3 credentials, from the inputs or the standard AWS variables.
    ...s3SecretForms({ accessKeyId: core.getInput('s3-access-key-id'), secretAccessKey: core.getInput('s3-secret-access-key'), sessionToken: core.getInput('s3-session-token') }),
    ...s3SecretForms({ accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '', sessionToken: process.env.AWS_SESSION_TOKEN ?? '' }),
    // The project's Storage S3 keys (storage-files).
    ...s3SecretForms({ accessKeyId: core.getInput('storage-s3-access-key-id'), secretAccessKey: core.getInput('storage-s3-secret-access-key'), sessionToken: '' }),
  ];
}

function signingKeyLines(pem: string): string[] {
  if (!pem.trim()) return [];
  return [pem, pem.trim(), ...pem.split(/\r?\n/).filter((line) => line.trim().length > 0 && !line.startsWith('-----'))];
}

export async function run(): Promise<void> {
  // Mask the secrets before anything can print them, even a config error.
  const secrets = [...new Set(secretInputs())];
  for (const form of secrets) core.setSecret(form);

  // Cancellation (GitHub sends SIGINT, then SIGTERM): the first signal stops pg_dump and the merge, and the
  // pipeline removes its temporary files; a second one exits at once (cleanup.ts removes them on exit).
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!abort.signal.aborted) {
      core.warning(`${signal} received: cancelling the backup and removing temporary files...`);
      abort.abort(new Error(`cancelled by ${signal}`));
      return;
    }
    core.setFailed(`${signal} received again: stopped at once; nothing was stored`);
    process.exit(1);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const config = parseConfig((name) => core.getInput(name));
    // Before dumping: refuse to publish an unencrypted backup in a public repository.
    await enforcePublicGuard(config, process.env, actionLogger);
    // Before dumping: the bucket is there and the credentials can use it.
    if (config.destinations.s3) await (await import('../publish/s3.js')).preflightS3(config, process.env, actionLogger);
    // The URLs, parsed once here; the pipeline receives the connections.
    const databases = backupDatabases(config);
    const result = await runBackup(config, actionLogger, { signal: abort.signal, databases });
    // A backup counts only once stored: when publishing fails, the local file goes too (DESIGN.md §2).
    const published = await Promise.resolve()
      .then(async (): Promise<PublishResult> => {
        abort.signal.throwIfAborted();
        const { artifact, branch, s3 } = config.destinations;
        if (!artifact && !branch && !s3) return { destinations: [localCopy(result.path, false)] };
        // Loaded only now: the publishing clients are large, and the backup runs lighter without them.
        const { publishBackup } = await import('../publish/index.js');
        return publishBackup(result, config, actionLogger, process.env, { signal: abort.signal });
      })
      .catch(async (error: unknown) => {
        await rm(result.path, { force: true });
        if (result.storageFilesDir) await rm(result.storageFilesDir, { recursive: true, force: true });
        throw error;
      });
    // storage-files: after the s3 destination's retention, the file manifests and blobs no kept backup needs.
    if (result.storageFiles && config.s3) await (await import('../storage/run.js')).pruneStorageFiles(config.s3, result.file, actionLogger);
    const outputs = {
      ...backupOutputs(result),
      'artifact-id': published.artifactId ?? '',
      'artifact-url': published.artifactUrl ?? '',
      'commit-sha': published.commitSha ?? '',
      's3-url': published.s3?.url ?? '',
      's3-key': published.s3?.key ?? '',
      's3-etag': published.s3?.etag ?? '',
      's3-version-id': published.s3?.versionId ?? '',
      'storage-files-manifest': result.storageFiles?.manifest ?? '',
    };
    for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);

    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summaryMarkdown(result, published.destinations)).write();
  } catch (error) {
    const reason: unknown = abort.signal.reason;
    const message = abort.signal.aborted
      ? `the backup was ${reason instanceof Error ? reason.message : 'cancelled'}: nothing was stored, and temporary files were removed`
      : error instanceof Error
        ? error.message
        : String(error);
    // Every error is worded without secrets at its source; this is the last line of defence.
    core.setFailed(redact(message, secrets));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

letHeapGrowForStreaming();
await run();
