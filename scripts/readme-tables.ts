/**
 * The input and output tables of the README, generated from action.yml so they cannot drift.
 *
 *   npm run readme-tables              print both tables
 *   npm run readme-tables -- --write   rewrite the tables between the markers of docs/inputs-outputs.md
 *                                      and README.md (when it exists)
 *   npm run readme-tables -- --check   exit 1 when a file's tables differ from action.yml
 *
 * A document carries each table between `<!-- inputs:start -->` / `<!-- inputs:end -->` and
 * `<!-- outputs:start -->` / `<!-- outputs:end -->`; everything outside the markers is left alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

export interface ActionInput {
  name: string;
  description: string;
  required: boolean;
  /** undefined when action.yml gives no default */
  default: string | undefined;
}

export interface ActionOutput {
  name: string;
  description: string;
}

export interface ActionMetadata {
  name: string;
  description: string;
  author: string | undefined;
  branding: { icon: string | undefined; color: string | undefined };
  inputs: ActionInput[];
  outputs: ActionOutput[];
  runs: Record<string, unknown>;
}

export type TableName = 'inputs' | 'outputs';
export const TABLES: readonly TableName[] = ['inputs', 'outputs'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`action.yml: ${where} must be a string`);
  return value;
}

/** Parses action.yml, keeping the order in which inputs and outputs are declared. */
export function parseActionMetadata(source: string): ActionMetadata {
  const doc: unknown = parse(source);
  if (!isRecord(doc)) throw new Error('action.yml is not a mapping');
  const inputs = isRecord(doc.inputs) ? doc.inputs : {};
  const outputs = isRecord(doc.outputs) ? doc.outputs : {};
  const branding = isRecord(doc.branding) ? doc.branding : {};
  return {
    name: text(doc.name, 'name'),
    description: text(doc.description, 'description'),
    author: typeof doc.author === 'string' ? doc.author : undefined,
    branding: {
      icon: typeof branding.icon === 'string' ? branding.icon : undefined,
      color: typeof branding.color === 'string' ? branding.color : undefined,
    },
    inputs: Object.entries(inputs).map(([name, spec]) => {
      const input = isRecord(spec) ? spec : {};
      const fallback = input.default;
      return {
        name,
        description: text(input.description, `inputs.${name}.description`),
        required: input.required === true || input.required === 'true',
        default: fallback === undefined || fallback === null ? undefined : String(fallback),
      };
    }),
    outputs: Object.entries(outputs).map(([name, spec]) => ({
      name,
      description: text(isRecord(spec) ? spec.description : undefined, `outputs.${name}.description`),
    })),
    runs: isRecord(doc.runs) ? doc.runs : {},
  };
}

export function readActionMetadata(file: string): ActionMetadata {
  return parseActionMetadata(readFileSync(file, 'utf8'));
}

/** One table cell: one line, pipes escaped. */
function cell(value: string): string {
  return value.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

function code(value: string): string {
  return value.includes('`') ? `\`\` ${value} \`\`` : `\`${value}\``;
}

export function inputsTable(meta: ActionMetadata): string {
  const rows = meta.inputs.map((input) => {
    const fallback = input.default === undefined || input.default === '' ? '' : code(input.default);
    return `| \`${input.name}\` | ${input.required ? 'yes' : 'no'} | ${cell(fallback)} | ${cell(input.description)} |`;
  });
  return ['| Input | Required | Default | Description |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function outputsTable(meta: ActionMetadata): string {
  const rows = meta.outputs.map((output) => `| \`${output.name}\` | ${cell(output.description)} |`);
  return ['| Output | Description |', '| --- | --- |', ...rows].join('\n');
}

export function table(meta: ActionMetadata, name: TableName): string {
  return name === 'inputs' ? inputsTable(meta) : outputsTable(meta);
}

export function markers(name: TableName): { start: string; end: string } {
  return { start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` };
}

/** The text between a pair of markers, trimmed; undefined when the markers are missing or out of order. */
export function extractBetweenMarkers(document: string, name: TableName): string | undefined {
  const { start, end } = markers(name);
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from < 0 || to < 0 || to < from) return undefined;
  return document.slice(from + start.length, to).trim();
}

/** Puts `content` between a pair of markers; throws when the document lacks them. */
export function replaceBetweenMarkers(document: string, name: TableName, content: string): string {
  const { start, end } = markers(name);
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from < 0 || to < 0 || to < from) {
    throw new Error(`missing the markers ${start} and ${end}`);
  }
  return `${document.slice(0, from + start.length)}\n\n${content}\n\n${document.slice(to)}`;
}

/** Both tables of a document brought up to date with action.yml. */
export function renderTables(document: string, meta: ActionMetadata): string {
  return TABLES.reduce((doc, name) => replaceBetweenMarkers(doc, name, table(meta, name)), document);
}

/** Describes how a document's tables differ from action.yml; empty when they are equal. */
export function tableDrift(document: string, meta: ActionMetadata): string[] {
  return TABLES.flatMap((name) => {
    const found = extractBetweenMarkers(document, name);
    const { start, end } = markers(name);
    if (found === undefined) return [`missing the markers ${start} and ${end}`];
    return found === table(meta, name) ? [] : [`the ${name} table differs from action.yml`];
  });
}

/** The repository root: the nearest folder above this file that holds action.yml (from scripts/ or lib/scripts/). */
export function findRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'action.yml'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no action.yml above ${from}`);
  }
}
export const TABLE_DOCUMENTS = ['docs/inputs-outputs.md', 'README.md'];

function main(args: string[]): number {
  const root = findRoot();
  const meta = readActionMetadata(path.join(root, 'action.yml'));
  if (args.length === 0) {
    process.stdout.write(`${inputsTable(meta)}\n\n${outputsTable(meta)}\n`);
    return 0;
  }
  const mode = args[0];
  if (mode !== '--write' && mode !== '--check') {
    process.stderr.write('usage: readme-tables [--write | --check] [FILE...]\n');
    return 2;
  }
  const files = args.length > 1 ? args.slice(1) : TABLE_DOCUMENTS.filter((f) => existsSync(path.join(root, f)));
  let failed = false;
  for (const file of files) {
    const full = path.resolve(root, file);
    const document = readFileSync(full, 'utf8');
    if (mode === '--write') {
      const updated = renderTables(document, meta);
      if (updated !== document) writeFileSync(full, updated);
      process.stdout.write(`${file}: ${updated === document ? 'up to date' : 'updated'}\n`);
    } else {
      const drift = tableDrift(document, meta);
      drift.forEach((problem) => process.stderr.write(`${file}: ${problem}\n`));
      failed ||= drift.length > 0;
    }
  }
  if (failed) process.stderr.write('run: npm run readme-tables -- --write\n');
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
