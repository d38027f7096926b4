/**
 * Runs the action exactly as GitHub does: `node dist/index.js` with INPUT_* variables, a GITHUB_OUTPUT
 * file and a GITHUB_STEP_SUMMARY file; returns what a workflow would see.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { ACTION_NODE, productEnv } from './runtimes.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, whether this module runs from test/helpers or lib/test/helpers. */
export const ROOT = path.resolve(HERE, HERE.includes(`${path.sep}lib${path.sep}`) ? '../../..' : '../..');
export const ACTION_ENTRY = path.join(ROOT, 'dist/index.js');

export interface ActionRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Everything a user could see: logs (less the runner's ::add-mask:: commands), outputs file, summary. */
  visible: string;
}

export async function runAction(
  inputs: Record<string, string>,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onSpawn?: (child: ResultPromise) => void; node?: string } = {},
): Promise<ActionRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'action-run-'));
  const outputFile = path.join(dir, 'output');
  const summaryFile = path.join(dir, 'summary');
  await writeFile(outputFile, '');
  await writeFile(summaryFile, '');
  const env: NodeJS.ProcessEnv = {
    ...productEnv(),
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: dir,
    ...options.env,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const child = execa(options.node ?? ACTION_NODE, [ACTION_ENTRY], {
    cwd: options.cwd ?? dir,
    env,
    extendEnv: false,
    reject: false,
  });
  // Tests that watch or signal the running action (its pid, kill()).
  options.onSpawn?.(child);
  const result = await child;
  const outputsText = await readFile(outputFile, 'utf8');
  const summary = await readFile(summaryFile, 'utf8');
  await rm(dir, { recursive: true, force: true });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    outputs: parseOutputs(outputsText),
    summary,
    // `::add-mask::` commands are consumed by the runner and never shown; everything else is.
    visible: [result.stdout, result.stderr, outputsText, summary]
      .join('\n')
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n'),
  };
}

/** Parses GITHUB_OUTPUT's `name<<DELIMITER\nvalue\nDELIMITER` blocks. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (!match) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== match[2]; i++) value.push(lines[i]!);
    outputs[match[1]!] = value.join('\n');
  }
  return outputs;
}
