/**
 * The public-repository guard: event payloads of public, private and internal repositories (and none),
 * for each destination and encryption, as a pure decision; the visibility lookup (payload file, REST API
 * stand-in); and the real action entry refusing before it connects to anything.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupConfig } from '../../src/config.js';
import { enforcePublicGuard, guardVerdict, repositoryFacts, visibilityFromPayload, type RepositoryFacts, type Visibility } from '../../src/publish/guard.js';
import { runAction } from '../helpers/action.js';
import { publishConfig, recordingLogger } from '../helpers/publish.js';

const AGE_KEY = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const DESTINATIONS = {
  artifact: { artifact: true, branch: false, s3: false },
  branch: { artifact: false, branch: true, s3: false },
  'artifact,branch': { artifact: true, branch: true, s3: false },
  none: { artifact: false, branch: false, s3: false },
  // A bucket is the user's own storage: the guard is about what a public repository shows.
  s3: { artifact: false, branch: false, s3: true },
  'artifact,s3': { artifact: true, branch: false, s3: true },
} as const;
const ENCRYPTIONS: Record<string, BackupConfig['encryption']> = {
  none: { kind: 'none' },
  recipients: { kind: 'recipients', recipients: [AGE_KEY] },
  passphrase: { kind: 'passphrase', passphrase: 'a long passphrase' },
};

/** A payload the way GitHub writes it (only the fields that matter here). */
function payload(visibility: Visibility, style: 'visibility' | 'private' = 'visibility'): object {
  const repository =
    style === 'visibility'
      ? { full_name: 'acme/app', private: visibility !== 'public', visibility }
      : { full_name: 'acme/app', private: visibility !== 'public' };
  return { action: 'workflow_dispatch', ref: 'refs/heads/main', repository, sender: { login: 'octocat' } };
}

const known = (visibility: Visibility | undefined): RepositoryFacts => ({
  repository: 'acme/app',
  visibility,
  source: visibility ? 'the event payload says so' : 'GITHUB_EVENT_PATH is not set',
});

describe('visibilityFromPayload', () => {
  it('reads repository.visibility, else repository.private', () => {
    expect(visibilityFromPayload(payload('public'))).toBe('public');
    expect(visibilityFromPayload(payload('private'))).toBe('private');
    expect(visibilityFromPayload(payload('internal'))).toBe('internal');
    expect(visibilityFromPayload(payload('public', 'private'))).toBe('public');
    expect(visibilityFromPayload(payload('private', 'private'))).toBe('private');
  });

  it('knows nothing from a payload without the repository (or with nonsense)', () => {
    for (const p of [undefined, null, {}, { schedule: '17 3 * * *' }, { repository: 'acme/app' }, { repository: { private: 'no', visibility: 'secret' } }]) {
      expect(visibilityFromPayload(p), JSON.stringify(p)).toBeUndefined();
    }
  });
});

describe('guardVerdict: every destination and encryption', () => {
  const cases = Object.entries(DESTINATIONS).flatMap(([destination, destinations]) =>
    Object.entries(ENCRYPTIONS).flatMap(([encryption, value]) =>
      (['public', 'private', 'internal', undefined] as const).map((visibility) => ({ destination, destinations, encryption, value, visibility })),
    ),
  );

  it.each(cases)('$destination, encryption $encryption, repository $visibility', ({ destinations, encryption, value, visibility, destination }) => {
    const config = publishConfig({ destinations, encryption: value });
    const verdict = guardVerdict(config, known(visibility));
    const exposed = encryption === 'none' && destination !== 'none' && destination !== 's3';
    if (exposed && visibility === 'public') {
      expect(verdict.refusal).toContain("refusing to publish an unencrypted backup: 'acme/app' is a public repository");
      expect(verdict.refusal).toContain('encryption-recipients');
      expect(verdict.refusal).toContain('allow-unencrypted-public: true');
      expect(verdict.refusal).toContain('Nothing was dumped');
      if (destinations.artifact) expect(verdict.refusal).toContain('as a workflow artifact');
      if (destinations.branch) expect(verdict.refusal).toContain("on branch 'backups'");
    } else if (exposed && visibility === undefined) {
      // Fails closed: not knowing is not a reason to publish.
      expect(verdict.refusal).toContain("refusing to publish an unencrypted backup: could not tell whether 'acme/app' is public (GITHUB_EVENT_PATH is not set)");
      expect(verdict.refusal).toContain('allow-unencrypted-public: true');
      expect(verdict.refusal).toContain('Nothing was dumped');
    } else {
      expect(verdict.refusal).toBeUndefined();
    }
    if (!exposed) expect(verdict).toEqual({ refusal: undefined, warnings: [], notes: [] });
  });

  it('allow-unencrypted-public lets a public repository through, with a warning', () => {
    for (const destinations of [DESTINATIONS.artifact, DESTINATIONS.branch, DESTINATIONS['artifact,branch']]) {
      const verdict = guardVerdict(publishConfig({ destinations, allowUnencryptedPublic: true }), known('public'));
      expect(verdict.refusal).toBeUndefined();
      expect(verdict.warnings.join('\n')).toMatch(/is PUBLIC and the backup is stored UNENCRYPTED/);
    }
  });
});

describe('unknown visibility with allow-unencrypted-public', () => {
  it('goes on, with a warning', () => {
    const verdict = guardVerdict(publishConfig({ destinations: DESTINATIONS.branch, allowUnencryptedPublic: true }), known(undefined));
    expect(verdict.refusal).toBeUndefined();
    expect(verdict.warnings.join('\n')).toMatch(/could not tell whether 'acme\/app' is public .* because allow-unencrypted-public is true/);
  });
});

describe('repositoryFacts', () => {
  let dir: string;
  let api: Server;
  let apiUrl: string;
  const requests: IncomingMessage[] = [];
  const answers = new Map<string, { status: number; body: object }>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'guard-'));
    api = createServer((request, response) => {
      requests.push(request);
      const answer = answers.get(request.url ?? '') ?? { status: 404, body: { message: 'Not Found' } };
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    answers.set('/repos/acme/public-app', { status: 200, body: { full_name: 'acme/public-app', private: false, visibility: 'public' } });
    answers.set('/repos/acme/private-app', { status: 200, body: { full_name: 'acme/private-app', private: true, visibility: 'private' } });
  });

  afterAll(async () => {
    await new Promise((resolve) => api.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const eventFile = async (name: string, content: object | string): Promise<string> => {
    const file = path.join(dir, name);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  it('takes the payload when it says, without asking the API', async () => {
    requests.length = 0;
    const env = { GITHUB_EVENT_PATH: await eventFile('public.json', payload('public')), GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: apiUrl };
    expect(await repositoryFacts(env, 'ghs_x')).toEqual({ repository: 'acme/app', visibility: 'public', source: 'the event payload says so' });
    expect(requests).toHaveLength(0);
  });

  it('asks the API (with the token) when the payload does not say', async () => {
    requests.length = 0;
    const schedule = await eventFile('schedule.json', { schedule: '17 3 * * *' });
    const env = (repo: string) => ({ GITHUB_EVENT_PATH: schedule, GITHUB_REPOSITORY: repo, GITHUB_API_URL: apiUrl });
    expect(await repositoryFacts(env('acme/public-app'), 'ghs_x')).toMatchObject({ visibility: 'public', source: 'the GitHub API says so' });
    expect(await repositoryFacts(env('acme/private-app'), 'ghs_x')).toMatchObject({ visibility: 'private' });
    expect(requests[0]?.headers.authorization).toBe('Bearer ghs_x');
    const unknown = await repositoryFacts(env('acme/gone'), undefined);
    expect(unknown.visibility).toBeUndefined();
    expect(unknown.source).toMatch(/does not give the repository visibility; .*\/repos\/acme\/gone answered 404/);
  });

  it('checks the repository BACKUP_REMOTE_URL pushes to, not the workflow\'s own', async () => {
    const privateEvent = await eventFile('private-own.json', payload('private'));
    const env = (remote: string) => ({ GITHUB_EVENT_PATH: privateEvent, GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: apiUrl, BACKUP_REMOTE_URL: remote });
    const branchOnly = publishConfig({ destinations: DESTINATIONS.branch });
    // the workflow's repository is private, the remote is public: refused
    await expect(enforcePublicGuard(branchOnly, env('https://github.com/acme/public-app.git'), recordingLogger())).rejects.toThrow(
      /refusing to publish an unencrypted backup: 'acme\/public-app' is a public repository \(the GitHub API says so\)/,
    );
    await expect(enforcePublicGuard(branchOnly, env('git@github.com:acme/public-app.git'), recordingLogger())).rejects.toThrow(/'acme\/public-app' is a public/);
    // a private remote passes; a remote that is not on GitHub cannot be checked: refused
    await expect(enforcePublicGuard(branchOnly, env('https://github.com/acme/private-app'), recordingLogger())).resolves.toMatchObject({ refusal: undefined });
    await expect(enforcePublicGuard(branchOnly, env('https://git.example.com/acme/app.git'), recordingLogger())).rejects.toThrow(
      /could not tell whether 'https:\/\/git\.example\.com\/acme\/app\.git' is public \(BACKUP_REMOTE_URL is not a repository on this GitHub server\)/,
    );
    // an artifact still goes to the workflow's own (private) repository
    const artifactOnly = publishConfig({ destinations: DESTINATIONS.artifact });
    await expect(enforcePublicGuard(artifactOnly, env('https://github.com/acme/public-app.git'), recordingLogger())).resolves.toMatchObject({ refusal: undefined });
  });

  it("refuses the repository's default branch, encrypted or not", async () => {
    const event = await eventFile('default-branch.json', { repository: { full_name: 'acme/app', visibility: 'private', default_branch: 'main' } });
    const env = { GITHUB_EVENT_PATH: event, GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: apiUrl };
    for (const encryption of [ENCRYPTIONS.none!, ENCRYPTIONS.recipients!]) {
      await expect(enforcePublicGuard(publishConfig({ destinations: DESTINATIONS.branch, branch: 'main', encryption }), env, recordingLogger())).rejects.toThrow(
        /refusing to push backups to branch 'main': it is the default branch of acme\/app/,
      );
    }
    await expect(enforcePublicGuard(publishConfig({ destinations: DESTINATIONS.branch, branch: 'backups' }), env, recordingLogger())).resolves.toBeDefined();
  });

  it('says why it does not know: no payload, an unreadable payload, no repository', async () => {
    expect((await repositoryFacts({}, undefined)).source).toBe('GITHUB_EVENT_PATH is not set; GITHUB_REPOSITORY is not set');
    const broken = await repositoryFacts({ GITHUB_EVENT_PATH: await eventFile('broken.json', '{not json') }, undefined);
    expect(broken.visibility).toBeUndefined();
    expect(broken.source).toMatch(/could not be read/);
  });
});

describe('the action refuses before connecting', () => {
  let dir: string;
  let probe: ReturnType<typeof createTcpServer>;
  let connections = 0;
  let databaseUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'guard-action-'));
    // A "database" that only counts connection attempts: the guard must stop the run before the first.
    probe = createTcpServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    databaseUrl = `postgresql://postgres:${encodeURIComponent('s3cret p@ss')}@127.0.0.1:${(probe.address() as AddressInfo).port}/postgres`;
  });

  afterAll(async () => {
    await new Promise((resolve) => probe.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (visibility: Visibility, inputs: Record<string, string>) => {
    const event = path.join(dir, `${visibility}.json`);
    await writeFile(event, JSON.stringify(payload(visibility)));
    const outputDir = await mkdtemp(path.join(dir, 'out-'));
    const before = connections;
    const result = await runAction(
      { 'database-url': databaseUrl, 'output-dir': outputDir, 'github-token': 'ghs_dummy', ...inputs },
      { env: { GITHUB_EVENT_PATH: event, GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: 'http://127.0.0.1:9' } },
    );
    return { result, connected: connections > before, files: await readdir(outputDir) };
  };

  it('unknown visibility (no payload, no API), destination artifact: refuses, connects to nothing', async () => {
    const outputDir = await mkdtemp(path.join(dir, 'out-'));
    const before = connections;
    const result = await runAction(
      { 'database-url': databaseUrl, 'output-dir': outputDir, destination: 'artifact' },
      { env: { GITHUB_REPOSITORY: 'acme/app', GITHUB_API_URL: 'http://127.0.0.1:9' } },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain("::error::refusing to publish an unencrypted backup: could not tell whether 'acme/app' is public");
    expect(connections).toBe(before);
    expect(await readdir(outputDir)).toEqual([]);
  });

  it.each(['artifact', 'branch', 'artifact,branch'])('public repository, destination %s: refuses, connects to nothing', async (destination) => {
    const { result, connected, files } = await run('public', { destination });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain("::error::refusing to publish an unencrypted backup: 'acme/app' is a public repository");
    expect(result.stdout).toContain('allow-unencrypted-public: true');
    expect(connected).toBe(false);
    expect(files).toEqual([]);
    expect(result.visible.replace(/^::add-mask::.*$/gm, '')).not.toMatch(/s3cret|p%40ss/);
  });

  it.each<[Visibility, Record<string, string>]>([
    ['private', { destination: 'artifact' }],
    ['internal', { destination: 'branch' }],
    ['public', { destination: 'artifact', 'encryption-recipients': AGE_KEY }],
    ['public', { destination: 'branch', 'encryption-passphrase': 'a long passphrase for the test' }],
    ['public', { destination: 'artifact,branch', 'allow-unencrypted-public': 'true' }],
    ['public', { destination: 'none' }],
  ])('%s repository with %j: passes the guard and goes on to connect', async (visibility, inputs) => {
    const { result, connected } = await run(visibility, inputs);
    // The stand-in database hangs up, so the run fails, but after the guard.
    expect(result.exitCode).toBe(1);
    expect(result.stdout).not.toContain('refusing to publish');
    expect(connected).toBe(true);
    if (inputs['allow-unencrypted-public']) expect(result.stdout).toMatch(/::warning::'acme\/app' is PUBLIC and the backup is stored UNENCRYPTED/);
  });
});
