/**
 * action.yml, the workflows, the example callers and the documented tables agree with each other and
 * with the code: the input and output names of DESIGN.md §4, the defaults parseConfig applies, the
 * inputs the reusable workflow and the examples pass, the commands CI runs.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUT_NAMES, parseConfig } from '../../src/config.js';
import { backupOutputs } from '../../src/action/report.js';
import type { BackupResult } from '../../src/backup/pipeline.js';
import {
  extractBetweenMarkers,
  findRoot,
  inputsTable,
  outputsTable,
  readActionMetadata,
  renderTables,
  tableDrift,
} from '../../scripts/readme-tables.js';

const root = findRoot();
const action = readActionMetadata(path.join(root, 'action.yml'));
const inputNames = action.inputs.map((input) => input.name);
const requiredInputs = action.inputs.filter((input) => input.required).map((input) => input.name);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- workflow YAML is checked field by field below
type Yaml = any;
const readYaml = (file: string): Yaml => parse(readFileSync(path.join(root, file), 'utf8'));
const yamlFiles = (dir: string): string[] =>
  existsSync(path.join(root, dir))
    ? readdirSync(path.join(root, dir))
        .filter((name) => /\.ya?ml$/.test(name))
        .map((name) => `${dir}/${name}`)
    : [];

/** `${{ inputs.x }}`, `${{ secrets.Y }}` ... : every name of one context that a value refers to. */
function references(value: unknown, context: string): string[] {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  return [...text.matchAll(new RegExp(`\\b${context}\\.([A-Za-z0-9_-]+)`, 'g'))].map((match) => match[1]!);
}

/** `owner/repo@v1`: this action by its major tag (GitHub's own actions/* excepted). */
const ACTION_REF = /^(?!actions\/)[A-Za-z0-9-]+\/[A-Za-z0-9._-]+@v\d+$/;
const REUSABLE_REF = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+\/\.github\/workflows\/supabase-backup\.yml@v\d+$/;

const DESIGN_INPUTS = [
  'database-url',
  'destination',
  'output-dir',
  'schemas',
  'exclude-tables',
  'include-audit-log',
  'postgres-version',
  'compression',
  'encryption-recipients',
  'encryption-passphrase',
  'allow-unencrypted-public',
  'signing-key',
  'artifact-name',
  'retention-days',
  'branch',
  'keep',
  'keep-days',
  's3-bucket-url',
  's3-endpoint',
  's3-region',
  's3-force-path-style',
  's3-access-key-id',
  's3-secret-access-key',
  's3-session-token',
  'github-token',
  'verify',
  'verify-database-url',
  'stall-timeout',
  'storage-files',
  'storage-s3-endpoint',
  'storage-s3-region',
  'storage-s3-access-key-id',
  'storage-s3-secret-access-key',
  'storage-files-artifact-limit',
];

const DESIGN_OUTPUTS = [
  'backup-path',
  'backup-file',
  'backup-size',
  'sha256',
  'signature-path',
  'auth-users',
  'tables',
  'artifact-id',
  'artifact-url',
  'commit-sha',
  's3-url',
  's3-key',
  's3-etag',
  's3-version-id',
  'duration-seconds',
  'pg-dump-version',
  'storage-files-manifest',
];

/** The same commands as .ci/run, in .github/workflows/ci.yml. */
const CI_COMMANDS = [
  'npm ci',
  'npm run lint',
  'npm test',
  'bash scripts/validate-workflows.sh',
  'npm run bundle',
  'git diff --exit-code dist/',
];

// GitHub's branding options (docs: metadata syntax for GitHub Actions > branding).
const BRANDING_COLORS = ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark'];

describe('the input names', () => {
  it('are the same in action.yml and in the code (the CLI flags come from INPUT_NAMES)', () => {
    expect([...INPUT_NAMES].sort()).toEqual([...inputNames].sort());
  });
});

describe('action.yml', () => {
  it('has what the Marketplace needs', () => {
    expect(action.name).toBe('Supabase Complete Backup');
    expect(action.description.length).toBeGreaterThan(20);
    expect(action.description.length).toBeLessThanOrEqual(125);
    expect(action.author).toBe('supabase-complete-backup contributors');
    expect(action.branding.icon).toBe('database');
    expect(BRANDING_COLORS).toContain(action.branding.color);
  });

  it('runs dist/index.js on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });

  it('declares exactly the inputs of DESIGN.md §4, each described, only database-url required', () => {
    expect(inputNames).toEqual(DESIGN_INPUTS);
    for (const input of action.inputs) expect(input.description.length, input.name).toBeGreaterThan(20);
    expect(requiredInputs).toEqual(['database-url']);
    for (const input of action.inputs.filter((i) => !i.required)) expect(input.default, input.name).toBeDefined();
  });

  it('gives the documented defaults', () => {
    const defaults = Object.fromEntries(action.inputs.map((input) => [input.name, input.default]));
    expect(defaults).toMatchObject({
      destination: 'artifact',
      'output-dir': 'backups',
      schemas: 'auto',
      'include-audit-log': 'false',
      'postgres-version': 'auto',
      compression: 'none',
      'allow-unencrypted-public': 'false',
      branch: 'backups',
      keep: '30',
      'github-token': '${{ github.token }}',
      verify: 'basic',
    });
  });

  it('names every accepted value of the enumerated inputs in their descriptions', () => {
    const accepted: Record<string, string[]> = {
      destination: ['artifact', 'branch', 's3', 'artifact,branch', 'artifact,s3', 'none'],
      compression: ['none', 'gzip'],
      verify: ['basic', 'restore'],
      'include-audit-log': ['true', 'false'],
      'allow-unencrypted-public': ['true', 'false'],
      'postgres-version': ['auto', '15', '17'],
      schemas: ['auto'],
      'retention-days': ['1', '90'],
      keep: ['0', '100000'],
    };
    for (const [name, values] of Object.entries(accepted)) {
      const description = action.inputs.find((input) => input.name === name)!.description;
      for (const value of values) {
        // Words are written as code (`artifact`), numbers as they are (from 1 to 90).
        expect(description, `${name} lists ${value}`).toContain(/^\d+$/.test(value) ? value : `\`${value}\``);
      }
    }
  });

  it('declares exactly the inputs parseConfig reads', () => {
    const read = new Set<string>();
    parseConfig((name) => {
      read.add(name);
      return name === 'database-url' ? 'postgresql://postgres:pw@localhost:5432/postgres' : '';
    });
    expect([...read].sort()).toEqual([...inputNames].sort());
  });

  it('has defaults that parse to the same configuration as empty inputs', () => {
    const url = 'postgresql://postgres:pw@localhost:5432/postgres';
    const withDefaults = parseConfig((name) => {
      if (name === 'database-url') return url;
      if (name === 'github-token') return 'ghs_example';
      return action.inputs.find((input) => input.name === name)?.default ?? '';
    });
    const withNothing = parseConfig((name) => (name === 'database-url' ? url : ''));
    expect({ ...withDefaults, githubToken: undefined }).toEqual(withNothing);
  });

  it('declares exactly the outputs of DESIGN.md §4 (and pg-dump-version), each described', () => {
    expect(action.outputs.map((output) => output.name)).toEqual(DESIGN_OUTPUTS);
    for (const output of action.outputs) expect(output.description.length, output.name).toBeGreaterThan(10);
  });

  it('declares every output the action sets', () => {
    const result = {
      path: 'backups/full.sql',
      file: 'full.sql',
      bytes: 1,
      sha256: '0'.repeat(64),
      authUsers: 1,
      tables: 1,
      rows: 1,
      rowsByTable: new Map(),
      parts: [],
      serverVersion: '17.6',
      pgDump: { binDir: '/usr/lib/postgresql/17/bin', pgDump: 'pg_dump', psql: 'psql', major: 17, version: '17.6' },
      snapshotId: 'x',
      durationSeconds: 1,
      warnings: [],
    } satisfies BackupResult;
    const declared = action.outputs.map((output) => output.name);
    for (const name of Object.keys(backupOutputs(result))) expect(declared).toContain(name);
  });
});

describe('the input and output tables of the docs', () => {
  const documents = ['docs/inputs-outputs.md', 'README.md'].filter((file) => existsSync(path.join(root, file)));

  it('docs/inputs-outputs.md exists with both tables', () => {
    expect(documents).toContain('docs/inputs-outputs.md');
  });

  it.each(documents)('%s has the tables action.yml declares', (file) => {
    const document = readFileSync(path.join(root, file), 'utf8');
    expect(tableDrift(document, action), `run: npm run readme-tables -- --write`).toEqual([]);
    expect(extractBetweenMarkers(document, 'inputs')).toBe(inputsTable(action));
    expect(extractBetweenMarkers(document, 'outputs')).toBe(outputsTable(action));
  });

  it('has one row per input and output, with its default', () => {
    const inputs = inputsTable(action).split('\n').slice(2);
    expect(inputs.map((row) => /^\| `([^`]+)`/.exec(row)?.[1])).toEqual(inputNames);
    expect(inputs.find((row) => row.startsWith('| `keep`'))).toContain('| no | `30` |');
    expect(inputs.find((row) => row.startsWith('| `github-token`'))).toContain('`${{ github.token }}`');
    expect(outputsTable(action).split('\n').slice(2)).toHaveLength(action.outputs.length);
  });

  it('notices drift: a renamed input, a changed default, missing markers', () => {
    const document = renderTables('x\n<!-- inputs:start -->\n<!-- inputs:end -->\n<!-- outputs:start --><!-- outputs:end -->\n', action);
    expect(tableDrift(document, action)).toEqual([]);
    const renamed = { ...action, inputs: action.inputs.map((i) => (i.name === 'keep' ? { ...i, name: 'keep-last' } : i)) };
    expect(tableDrift(document, renamed)).toEqual(['the inputs table differs from action.yml']);
    const changed = { ...action, inputs: action.inputs.map((i) => (i.name === 'keep' ? { ...i, default: '7' } : i)) };
    expect(tableDrift(document, changed)).toEqual(['the inputs table differs from action.yml']);
    expect(tableDrift('no markers', action)).toEqual([
      'missing the markers <!-- inputs:start --> and <!-- inputs:end -->',
      'missing the markers <!-- outputs:start --> and <!-- outputs:end -->',
    ]);
  });
});

describe('the reusable workflow .github/workflows/supabase-backup.yml', () => {
  const workflow = readYaml('.github/workflows/supabase-backup.yml');
  const call = workflow.on.workflow_call;
  const callInputs: Record<string, Yaml> = call.inputs ?? {};
  const callSecrets: Record<string, Yaml> = call.secrets ?? {};
  const jobs = Object.values(workflow.jobs) as Yaml[];
  const steps = jobs.flatMap((job) => (job.steps ?? []) as Yaml[]);
  const actionSteps = steps.filter((step) => typeof step.uses === 'string' && ACTION_REF.test(step.uses));

  it('is called with workflow_call only', () => {
    expect(Object.keys(workflow.on)).toEqual(['workflow_call']);
  });

  it('runs the action once, by its major version tag', () => {
    expect(actionSteps).toHaveLength(1);
  });

  it('passes every input the action requires, from a secret', () => {
    const step = actionSteps[0]!;
    for (const name of requiredInputs) {
      expect(step.with?.[name], name).toBeTruthy();
      expect(references(step.with[name], 'secrets').length, `${name} comes from a secret`).toBe(1);
    }
    expect(callSecrets.SUPABASE_DB_URL?.required).toBe(true);
  });

  it('passes every input of the action, and nothing else', () => {
    expect(Object.keys(actionSteps[0]!.with).sort()).toEqual([...inputNames].sort());
  });

  it('offers the action inputs as its own inputs, with the same defaults', () => {
    const step = actionSteps[0]!;
    for (const [name, value] of Object.entries(step.with as Record<string, string>)) {
      for (const ref of references(value, 'inputs')) {
        expect(callInputs, `inputs.${ref}`).toHaveProperty(ref);
        const actionDefault = action.inputs.find((input) => input.name === ref)?.default;
        expect(String(callInputs[ref].default ?? ''), `default of ${ref}`).toBe(actionDefault ?? '');
        expect(ref, `${name} is passed from the input of the same name`).toBe(name);
      }
      for (const ref of references(value, 'secrets')) expect(callSecrets, `secrets.${ref}`).toHaveProperty(ref);
    }
    // Secrets stay secrets: never inputs of the reusable workflow.
    for (const secretInput of ['database-url', 'encryption-passphrase', 'verify-database-url', 'github-token', 'signing-key']) {
      expect(callInputs).not.toHaveProperty(secretInput);
    }
  });

  it('asks for the permissions it needs and runs one backup at a time per repository', () => {
    const job = jobs[0];
    const permissions = job.permissions ?? workflow.permissions;
    expect(permissions).toEqual({ contents: 'write' });
    const concurrency = job.concurrency ?? workflow.concurrency;
    expect(concurrency.group).toContain('${{ github.repository }}');
    expect(concurrency['cancel-in-progress']).toBe(false);
  });

  it('forwards the action outputs', () => {
    const declared = action.outputs.map((output) => output.name);
    const jobOutputs: Record<string, string> = jobs[0].outputs;
    for (const [name, spec] of Object.entries(call.outputs as Record<string, Yaml>)) {
      expect(declared).toContain(name);
      expect(spec.value).toBe(`\${{ jobs.backup.outputs.${name} }}`);
      expect(jobOutputs[name]).toBe(`\${{ steps.${actionSteps[0]!.id}.outputs.${name} }}`);
    }
  });
});

describe('the example callers in examples/', () => {
  const reusable = readYaml('.github/workflows/supabase-backup.yml').on.workflow_call;
  const examples = yamlFiles('examples');

  it('exist', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(examples)('%s passes every required input and only known ones', (file) => {
    const workflow = readYaml(file);
    let calls = 0;
    for (const [id, job] of Object.entries(workflow.jobs as Record<string, Yaml>)) {
      if (typeof job.uses === 'string') {
        expect(job.uses, id).toMatch(REUSABLE_REF);
        calls++;
        const given = Object.keys(job.with ?? {});
        for (const name of given) expect(reusable.inputs, `${id}: with.${name}`).toHaveProperty(name);
        for (const [name, spec] of Object.entries(reusable.inputs as Record<string, Yaml>)) {
          if (spec.required) expect(given, `${id} passes ${name}`).toContain(name);
        }
        if (job.secrets !== 'inherit') {
          for (const [name, spec] of Object.entries(reusable.secrets as Record<string, Yaml>)) {
            if (spec.required) expect(job.secrets ?? {}, `${id} passes secret ${name}`).toHaveProperty(name);
          }
        }
        // The reusable workflow asks for contents: write; a caller must allow at least that.
        expect(job.permissions ?? workflow.permissions, `${id} permissions`).toMatchObject({ contents: 'write' });
      }
      for (const step of (job.steps ?? []) as Yaml[]) {
        if (typeof step.uses !== 'string' || !ACTION_REF.test(step.uses)) continue;
        calls++;
        const given = Object.keys(step.with ?? {});
        for (const name of given) expect(inputNames, `${id}: with.${name}`).toContain(name);
        for (const name of requiredInputs) expect(given, `${id} passes ${name}`).toContain(name);
      }
    }
    expect(calls, `${file} uses the action or the reusable workflow`).toBeGreaterThan(0);
  });

  it('include a scheduled caller of the reusable workflow with destination and verify choices', () => {
    const callers = examples.map(readYaml).filter((workflow) =>
      Object.values(workflow.jobs as Record<string, Yaml>).some((job) => REUSABLE_REF.test(job.uses ?? '')),
    );
    const caller = callers.find((workflow) => workflow.on.schedule && workflow.on.workflow_dispatch);
    expect(caller).toBeDefined();
    const dispatch = caller.on.workflow_dispatch.inputs;
    expect(dispatch.destination.options).toEqual(['artifact', 'branch', 'artifact,branch', 'none']);
    expect(dispatch.destination.default).toBe('artifact');
    expect(dispatch.verify.options).toEqual(['basic', 'restore']);
    expect(dispatch.verify.default).toBe('basic');
    const job = Object.values(caller.jobs as Record<string, Yaml>).find((j) => REUSABLE_REF.test(j.uses ?? ''));
    expect(job.secrets).toBe('inherit');
    expect(references(job.with.destination, 'inputs')).toEqual(['destination']);
    expect(references(job.with.verify, 'inputs')).toEqual(['verify']);
  });
});

describe('CI', () => {
  const ci = readYaml('.github/workflows/ci.yml');
  const runs = (job: Yaml): string[] => ((job.steps ?? []) as Yaml[]).map((step) => step.run).filter(Boolean);

  it('runs the same commands as .ci/run', () => {
    const commands = runs(ci.jobs.check).join('\n');
    for (const command of CI_COMMANDS) expect(commands, command).toContain(command);
    const local = path.join(root, '.ci/run');
    if (existsSync(local)) {
      const script = readFileSync(local, 'utf8');
      for (const command of CI_COMMANDS) expect(script, `.ci/run runs ${command}`).toContain(command);
    }
  });

  it('runs the action from the repository against supabase/postgres 15 and 17, restores and compares', () => {
    const e2e = ci.jobs.e2e;
    const images: string[] = e2e.strategy.matrix.image;
    expect(images.map((image) => /^supabase\/postgres:(\d+)\./.exec(image)?.[1])).toEqual(['15', '17']);
    for (const service of Object.values(e2e.services as Record<string, Yaml>)) {
      expect(service.image).toBe('${{ matrix.image }}');
    }
    expect(Object.keys(e2e.services)).toHaveLength(3);

    const step = (e2e.steps as Yaml[]).find((s) => s.uses === './');
    expect(step).toBeDefined();
    for (const name of requiredInputs) expect(step.with, name).toHaveProperty(name);
    for (const name of Object.keys(step.with)) expect(inputNames).toContain(name);
    expect(step.with).toMatchObject({ destination: 'none', verify: 'restore' });
    expect(step.with['verify-database-url']).toBeTruthy();

    const script = runs(e2e).join('\n');
    for (const file of ['.github/e2e/services.sql', '.github/e2e/seed.sql', '.github/e2e/compare.sh']) {
      expect(script).toContain(file);
      expect(existsSync(path.join(root, file)), file).toBe(true);
    }
    expect(script).toContain('-f "$BACKUP_PATH"');
  });
});

describe('the release workflow', () => {
  const release = readYaml('.github/workflows/release.yml');
  const script = (Object.values(release.jobs) as Yaml[])
    .flatMap((job) => (job.steps as Yaml[]).map((step) => step.run ?? ''))
    .join('\n');

  it('runs on a v1.2.3 tag', () => {
    expect(release.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+']);
  });

  it('checks dist/, creates the release with notes and moves the major tag', () => {
    expect(script).toContain('npm run bundle');
    expect(script).toContain('git diff --exit-code dist/');
    expect(script).toMatch(/gh release create "\$GITHUB_REF_NAME" .*--notes-file/s);
    expect(script).toContain('git push --force origin "refs/tags/$MAJOR"');
    expect(release.permissions).toEqual({ contents: 'write' });
  });
});
