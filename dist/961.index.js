export const id = 961;
export const ids = [961,118];
export const modules = {

/***/ 24620:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   S: () => (/* binding */ PublishError)
/* harmony export */ });
/** A destination could not take the backup; the message says why and what to do. */
class PublishError extends Error {
    name = 'PublishError';
}


/***/ }),

/***/ 60961:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  publishBackup: () => (/* binding */ publishBackup)
});

// UNUSED EXPORTS: PublishError

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: ./lib/src/log.js
var src_log = __webpack_require__(40736);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./node_modules/@actions/artifact/lib/artifact.js + 326 modules
var artifact = __webpack_require__(20584);
// EXTERNAL MODULE: ./lib/src/publish/error.js
var publish_error = __webpack_require__(24620);
;// CONCATENATED MODULE: ./lib/src/publish/artifact.js
/**
 * Destination `artifact`: the backup file uploaded as a workflow artifact with `@actions/artifact`.
 *
 * The client talks to the Actions results service with the runtime token the runner hands to a
 * `uses:` step (ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL); it reads them from `process.env` itself.
 * We check for them first so a user who runs this outside Actions, on GHES or from a `run:` step is
 * told what to do instead of seeing the client's internal error.
 */





/** Characters the artifact service refuses in a name (NTFS limits), as the client lists them. */
const FORBIDDEN_IN_NAME = /[:/\\"<>|*?\r\n]/;
/** `full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql.gz` → `full_2026-11-29T23-45-00-000Z_3fa9c1d2`. */
function defaultArtifactName(file) {
    const stem = file.slice(0, file.indexOf('.') > 0 ? file.indexOf('.') : undefined);
    return stem.replace(new RegExp(FORBIDDEN_IN_NAME.source, 'g'), '-');
}
function checkArtifactName(name) {
    const bad = FORBIDDEN_IN_NAME.exec(name);
    if (!name || bad) {
        throw new publish_error/* PublishError */.S(`artifact name '${name}' is not allowed${bad ? `: it contains '${bad[0]}'` : ''}; ` +
            'artifact names may not contain : / \\ " < > | * ?');
    }
    return name;
}
/** Is the server GitHub Enterprise Server (where this artifact client does not work)? Same rule as the client. */
function isGhes(env) {
    let host;
    try {
        host = new URL(env.GITHUB_SERVER_URL || 'https://github.com').hostname.toLowerCase();
    }
    catch {
        return false;
    }
    return host !== 'github.com' && !host.endsWith('.ghe.com') && !host.endsWith('.localhost');
}
/** Throws a clear error when the Actions runtime the artifact service needs is not there. */
function checkArtifactRuntime(env) {
    if (isGhes(env)) {
        throw new publish_error/* PublishError */.S(`destination 'artifact' is not available on GitHub Enterprise Server (${env.GITHUB_SERVER_URL}): ` +
            'the current artifact service (upload-artifact v4+, @actions/artifact v2+) runs on github.com and ' +
            "ghe.com only; use 'destination: branch' there");
    }
    const missing = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_RESULTS_URL'].filter((name) => !env[name]);
    if (missing.length > 0) {
        throw new publish_error/* PublishError */.S(`destination 'artifact' needs the GitHub Actions runtime, and ${missing.join(' and ')} ` +
            `${missing.length > 1 ? 'are' : 'is'} not set. The runner gives these only to an action step ` +
            "(`uses: …`) of a job on github.com: not to a `run:` step, not outside Actions, not on GHES. " +
            "Run the action with `uses:`, or use 'destination: branch' (or 'none' and store the file yourself)");
    }
}
/** `https://github.com/acme/app/actions/runs/4242/artifacts/1001`, like upload-artifact reports. */
function artifactUrl(env, id) {
    const { GITHUB_SERVER_URL: server = 'https://github.com', GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = env;
    return repo && run ? `${server.replace(/\/+$/, '')}/${repo}/actions/runs/${run}/artifacts/${id}` : undefined;
}
/** Removes upload signatures from a message (the client masks them in the log, not in errors). */
function redactSignatures(message) {
    return message.replace(/([?&]sig=)[^&\s"']+/gi, '$1***');
}
function explainFailure(name, error) {
    let message = redactSignatures(error instanceof Error ? error.message : String(error)).trim();
    // The blob store's errors (Azure RestError) carry the HTTP status and code beside the message.
    const { statusCode, code } = (error ?? {});
    if (typeof statusCode === 'number')
        message = `blob storage answered ${statusCode}${typeof code === 'string' ? ` ${code}` : ''}: ${message}`;
    const hints = [];
    if (/\(409\)|already exists/i.test(message)) {
        hints.push(`an artifact named '${name}' already exists in this workflow run; set 'artifact-name' to a name not used yet in the run`);
    }
    else if (/\((401|403)\)|answered (401|403)/.test(message)) {
        hints.push('the artifact service refused the runtime credentials; re-run the job, and check that the job was not cancelled or timed out');
    }
    return `artifact upload of '${name}' failed: ${message}${hints.length > 0 ? ` (${hints.join('; ')})` : ''}`;
}
/**
 * Uploads the file as artifact `name` (a zip holding just the file). Fails with a PublishError that
 * says what to do; a failed upload is never finalized, so it leaves no artifact behind.
 */
async function uploadBackupArtifact(request, log, env = process.env) {
    checkArtifactRuntime(env);
    const name = checkArtifactName(request.name);
    const file = external_node_path_.resolve(request.file);
    // A gzip or age file does not shrink again: store it in the zip as is instead of deflating it twice.
    const compressionLevel = /\.(gz|zst|age)$/.test(file) ? 0 : 6;
    const retention = request.retentionDays ? `, kept ${request.retentionDays} days` : '';
    log.info(`📦 Uploading workflow artifact '${name}'${retention}...`);
    let response;
    const own = [file, ...(request.signature ? [external_node_path_.resolve(request.signature)] : [])];
    const root = request.fileStore ? external_node_path_.resolve(request.fileStore) : external_node_path_.dirname(file);
    // The client zips files under one root: the file and its signature are linked into the store's folder.
    const linked = request.fileStore ? await linkInto(own, root) : [];
    try {
        const files = request.fileStore ? [...linked, ...(await filesIn(root, linked))] : own;
        if (request.fileStore)
            log.info(`🗂️ The artifact carries the Storage files too: ${files.length - linked.length} file(s) of the file store`);
        response = await new artifact/* DefaultArtifactClient */.t9().uploadArtifact(name, files, root, {
            retentionDays: request.retentionDays,
            compressionLevel,
        });
    }
    catch (error) {
        throw new publish_error/* PublishError */.S(explainFailure(name, error));
    }
    finally {
        await Promise.all(linked.map((target) => (0,promises_.rm)(target, { force: true })));
    }
    if (response.id === undefined) {
        throw new publish_error/* PublishError */.S(`artifact upload of '${name}' failed: the artifact service returned no artifact id`);
    }
    const id = String(response.id);
    const url = artifactUrl(env, id);
    log.info(`✅ Artifact '${name}' uploaded (id ${id}, ${(0,src_log/* formatBytes */.z3)(response.size ?? 0)})${url ? `: ${url}` : ''}`);
    return { id, name, url, size: response.size, retentionDays: request.retentionDays };
}
/** Hard links (a copy where the file system has none) of `files` in `dir`; returns their paths. */
async function linkInto(files, dir) {
    const made = [];
    for (const file of files) {
        const target = external_node_path_.join(dir, external_node_path_.basename(file));
        await (0,promises_.rm)(target, { force: true });
        await (0,promises_.link)(file, target).catch(() => (0,promises_.copyFile)(file, target));
        made.push(target);
    }
    return made;
}
/** Every file under `dir` (the store), but for the links just made there. */
async function filesIn(dir, except) {
    const found = [];
    for (const entry of await (0,promises_.readdir)(dir, { recursive: true, withFileTypes: true })) {
        const file = external_node_path_.join(entry.parentPath, entry.name);
        if (entry.isFile() && !except.includes(file))
            found.push(file);
    }
    return found.sort();
}
/** Removes an artifact this run uploaded (used when a later destination fails). */
async function deleteBackupArtifact(name) {
    await new artifact/* DefaultArtifactClient */.t9().deleteArtifact(name);
}

// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(48161);
// EXTERNAL MODULE: external "node:timers/promises"
var external_node_timers_promises_ = __webpack_require__(58500);
// EXTERNAL MODULE: ./node_modules/execa/index.js + 133 modules
var execa = __webpack_require__(88555);
;// CONCATENATED MODULE: ./lib/src/publish/branch.js
/**
 * Destination `branch`: the backup file committed to a branch (default `backups`) of the repository.
 *
 * All git work happens in a temporary repository of its own, never in the user's checkout: it fetches
 * the branch tip (depth 1), or starts an orphan branch with a short README when the branch does not
 * exist, adds `backups/<file>`, removes the oldest backups beyond `keep` in the same commit, and pushes.
 * When another run pushed first, it fetches the new tip, applies the same change on top of it (so
 * `keep` counts the other run's file too) and pushes again, with jittered backoff.
 *
 * The token reaches git as an `http.<origin>/.extraheader` entry in GIT_CONFIG_COUNT/KEY/VALUE
 * environment variables, the way actions/checkout authenticates: never in argv, a remote URL, a
 * file, a log line or an error message.
 */







/** GitHub refuses a pushed file over 100 MiB and warns over 50 MiB. */
const GITHUB_FILE_LIMIT = 100 * 1024 * 1024;
const GITHUB_FILE_WARNING = 50 * 1024 * 1024;
/** The folder on the branch that holds the backups. */
const BRANCH_DIR = 'backups';
const BOT_NAME = 'github-actions[bot]';
const BOT_EMAIL = '41898282+github-actions[bot]@users.noreply.github.com';
/** `full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql[.gz|.zst][.age]`; group 1 is the time. */
const BACKUP_FILE = /^full_(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)_[0-9a-f]{8}\.sql(?:\.gz|\.zst)?(?:\.age)?$/;
/** Variables that would point git at another repository (the user's checkout, say). */
const REPOSITORY_VARIABLES = [
    'GIT_DIR',
    'GIT_WORK_TREE',
    'GIT_INDEX_FILE',
    'GIT_OBJECT_DIRECTORY',
    'GIT_ALTERNATE_OBJECT_DIRECTORIES',
    'GIT_COMMON_DIR',
    'GIT_NAMESPACE',
    'GIT_PREFIX',
    'GIT_QUARANTINE_PATH',
];
/** Refuses a file GitHub would refuse, before any commit is made. */
function checkBranchFileSize(bytes, file) {
    if (bytes > GITHUB_FILE_LIMIT) {
        throw new publish_error/* PublishError */.S(`${file} is ${(0,src_log/* formatBytes */.z3)(bytes)}, over GitHub's limit of 100 MB for a file in a repository, so it cannot ` +
            "go on a branch. Use 'compression: gzip' (SQL shrinks several times), or 'destination: artifact', which " +
            'has no such limit');
    }
}
/** Where the branch lives: an explicit remote, or the workflow's own repository on its GitHub server. */
function resolveBranchRemote(config, env, explicitUrl) {
    const token = config.githubToken;
    const explicit = explicitUrl ?? env.BACKUP_REMOTE_URL;
    let url;
    let label;
    let webUrl;
    if (explicit) {
        url = explicit;
        label = hideUserInfo(explicit);
        webUrl = undefined;
    }
    else {
        const repository = env.GITHUB_REPOSITORY;
        if (!repository) {
            throw new publish_error/* PublishError */.S("destination 'branch' needs to know the repository: GITHUB_REPOSITORY is not set (it is in GitHub Actions). " +
                'Outside Actions, set BACKUP_REMOTE_URL to the git remote to push to');
        }
        const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
        url = `${server}/${repository}.git`;
        label = repository;
        webUrl = `${server}/${repository}`;
        if (!token) {
            throw new publish_error/* PublishError */.S("destination 'branch' needs 'github-token' to push (the default is ${{ github.token }}), and the job needs " +
                '`permissions: contents: write`');
        }
    }
    if (!token || !/^https?:\/\//i.test(url))
        return { url, label, webUrl, auth: undefined, secrets: [] };
    const basic = Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64');
    return {
        url,
        label,
        webUrl,
        auth: { urlPrefix: `${new URL(url).origin}/`, header: `AUTHORIZATION: basic ${basic}` },
        secrets: [token, basic],
    };
}
function hideUserInfo(url) {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}
/**
 * The environment git runs with: the caller's, minus anything that points at another repository,
 * never prompting, committing as github-actions[bot], and with the auth header as config entries.
 */
function gitEnvironment(env, remote) {
    const out = {};
    for (const [name, value] of Object.entries(env)) {
        if (value !== undefined && !REPOSITORY_VARIABLES.includes(name))
            out[name] = value;
    }
    Object.assign(out, {
        GIT_TERMINAL_PROMPT: '0',
        GCM_INTERACTIVE: 'never',
        GIT_AUTHOR_NAME: BOT_NAME,
        GIT_AUTHOR_EMAIL: BOT_EMAIL,
        GIT_COMMITTER_NAME: BOT_NAME,
        GIT_COMMITTER_EMAIL: BOT_EMAIL,
        LC_ALL: 'C',
    });
    if (remote.auth) {
        // Keep entries the caller passed the same way. An empty value first clears any extraheader that
        // applies to this URL from other config (actions/checkout's persisted credentials, a global
        // setting), so the server sees one Authorization header: ours.
        const count = Number.parseInt(env.GIT_CONFIG_COUNT ?? '', 10);
        const first = Number.isInteger(count) && count > 0 ? count : 0;
        const key = `http.${remote.auth.urlPrefix}.extraheader`;
        out[`GIT_CONFIG_KEY_${first}`] = key;
        out[`GIT_CONFIG_VALUE_${first}`] = '';
        out[`GIT_CONFIG_KEY_${first + 1}`] = key;
        out[`GIT_CONFIG_VALUE_${first + 1}`] = remote.auth.header;
        out.GIT_CONFIG_COUNT = String(first + 2);
    }
    return out;
}
function gitRunner(cwd, environment, redact) {
    return async (args, options = {}) => {
        const result = await (0,execa/* execa */.Ho)('git', ['-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null', ...args], {
            cwd,
            env: environment,
            extendEnv: false,
            input: options.input,
            reject: false,
        });
        const out = {
            exitCode: result.exitCode ?? 1,
            stdout: String(result.stdout ?? ''),
            stderr: redact(String(result.stderr ?? '') || result.message || ''),
        };
        if (out.exitCode !== 0 && !options.allowFailure) {
            throw new publish_error/* PublishError */.S(`git ${args[0]} failed: ${out.stderr.trim() || `exit code ${out.exitCode}`}`);
        }
        return out;
    };
}
/** Adds what the user can do to a git failure. */
function explainGitFailure(what, stderr, remote, branch) {
    const hints = [];
    if (/GH006|protected branch/i.test(stderr)) {
        hints.push(`branch '${branch}' is protected: let github-actions push to it, or set 'branch' to another branch`);
    }
    else if (/GH001|exceeds GitHub's file size limit|large files detected/i.test(stderr)) {
        hints.push("GitHub refused the file size: use 'compression: gzip' or 'destination: artifact'");
    }
    else if (/\b403\b|permission to .* denied|write access .* not granted/i.test(stderr)) {
        hints.push('the token may read but not push: give the job `permissions: contents: write` (the default GITHUB_TOKEN is ' +
            "read-only in many repositories), or pass a token that can push as 'github-token'");
    }
    else if (/\b401\b|could not read username|authentication failed|terminal prompts disabled|invalid username or password/i.test(stderr)) {
        hints.push(`${remote.label} asked for credentials: 'github-token' is missing or not valid for it`);
    }
    else if (/repository not found|not found|does not appear to be a git repository/i.test(stderr)) {
        hints.push(`check that ${remote.label} exists and that the token has access to it`);
    }
    const detail = stderr.trim() || 'no message from git';
    return new publish_error/* PublishError */.S(`${what} failed for ${remote.label}: ${detail}${hints.length > 0 ? `\n→ ${hints.join('\n→ ')}` : ''}`);
}
const README = (branch) => `# Database backups

This branch is written by the **supabase-complete-backup** GitHub Action. It holds no source code.

- \`${BRANCH_DIR}/full_<UTC time>_<first 8 hex of its sha256>.sql\` is one complete backup (\`.gz\` when
  compressed, \`.age\` when encrypted). Each commit adds one and names its time and size.
- Only the newest backups are kept in the tree (the action's \`keep\` input); older ones are removed by
  the commit that adds a new one, but **stay in the branch's history** until the branch is rewritten.
- Anyone who can read this repository can read this branch: in a public repository that is everyone.
  Encrypt the backups (\`encryption-recipients\`) unless the repository is private.

Restore into a fresh project (one transaction; nothing changes if anything fails):

\`\`\`sh
git fetch origin ${branch} && git checkout origin/${branch} -- ${BRANCH_DIR}/full_….sql
psql "$DATABASE_URL" -f ${BRANCH_DIR}/full_….sql
# .sql.gz:      gunzip -k ${BRANCH_DIR}/full_….sql.gz, then psql -f the .sql
# .sql.age:     age -d -i key.txt -o full_….sql ${BRANCH_DIR}/full_….sql.age, then psql -f
# .sql.gz.age:  set -o pipefail; age -d -i key.txt ${BRANCH_DIR}/full_….sql.gz.age | gunzip | psql "$DATABASE_URL"
#               (passphrase-encrypted: age -d asks for it; see the action's docs/security.md)
\`\`\`
`;
/** The time in a backup's name as an ISO string, or undefined for another name. */
function backupTime(file) {
    const stamp = BACKUP_FILE.exec(file)?.[1];
    return stamp?.replace(/T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z$/, 'T$1:$2:$3.$4Z');
}
function commitMessage(backup, bytes, kept, removed, keep, env) {
    const when = (backupTime(backup.file) ?? new Date().toISOString()).replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
    const run = env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
        ? `${(env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '')}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined;
    return [
        `Backup ${when}: ${(0,src_log/* formatBytes */.z3)(bytes)}`,
        '',
        `Added:   ${BRANCH_DIR}/${backup.file} (${(0,src_log/* formatBytes */.z3)(bytes)}, ${bytes} bytes)`,
        `SHA-256: ${backup.sha256}`,
        `Data:    ${backup.authUsers} auth users, ${backup.tables} tables, ${backup.rows} rows`,
        `Branch:  ${kept.count} backup(s), ${(0,src_log/* formatBytes */.z3)(kept.bytes)} in total`,
        ...(removed.length > 0 ? [`Removed: ${removed.length} older backup(s) beyond keep ${keep}:`, ...removed.map((file) => `  ${file}`)] : []),
        ...(run ? [`Run:     ${run}`] : []),
        '',
    ].join('\n');
}
async function remoteTip(git, branch, remote) {
    const result = await git(['ls-remote', 'origin', `refs/heads/${branch}`], { allowFailure: true });
    if (result.exitCode !== 0)
        throw explainGitFailure(`reading branch '${branch}'`, result.stderr, remote, branch);
    return result.stdout.split(/\s/)[0] || undefined;
}
/**
 * Commits the backup to the branch and pushes it; returns the commit. Nothing is pushed unless the
 * whole change (file, README, pruning) is in the one commit; a failure leaves the remote as it was.
 */
async function publishToBranch(backup, config, log, env = process.env, options = {}) {
    const { branch, keep } = config;
    const bytes = (await (0,promises_.stat)(backup.path)).size;
    checkBranchFileSize(bytes, backup.file);
    if (bytes > GITHUB_FILE_WARNING) {
        log.warning(`${backup.file} is ${(0,src_log/* formatBytes */.z3)(bytes)}: GitHub warns about files over 50 MB and refuses them over 100 MB. ` +
            "Consider 'compression: gzip' or 'destination: artifact' before the database grows further");
    }
    const remote = resolveBranchRemote(config, env, options.remoteUrl);
    remote.secrets.forEach((secret) => log.secret(secret));
    const redact = (text) => remote.secrets.reduce((out, secret) => out.split(secret).join('***'), hideUserInfo(text));
    const attempts = Math.max(1, options.attempts ?? 5);
    const backoffMs = options.backoffMs ?? 1000;
    const pathOnBranch = `${BRANCH_DIR}/${backup.file}`;
    log.info(`🌿 Committing ${pathOnBranch} to branch '${branch}' of ${remote.label}...`);
    const work = await (0,promises_.mkdtemp)(external_node_path_.join(options.tempDir || env.RUNNER_TEMP || (0,external_node_os_.tmpdir)(), 'supabase-backup-branch-'));
    try {
        const repo = external_node_path_.join(work, 'repo');
        const environment = gitEnvironment(env, remote);
        await gitRunner(work, environment, redact)(['init', '-q', repo]);
        const git = gitRunner(repo, environment, redact);
        await git(['remote', 'add', 'origin', remote.url]);
        for (let attempt = 1;; attempt++) {
            // Start from the branch as it is now on the remote (or from nothing).
            const base = await remoteTip(git, branch, remote);
            if (base) {
                const fetched = await git(['fetch', '-q', '--depth', '1', '--no-tags', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`], { allowFailure: true });
                if (fetched.exitCode !== 0)
                    throw explainGitFailure(`fetching branch '${branch}'`, fetched.stderr, remote, branch);
                await git(['checkout', '-q', '-f', '-B', branch, `refs/remotes/origin/${branch}`]);
            }
            else {
                await git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
                await git(['update-ref', '-d', `refs/heads/${branch}`], { allowFailure: true });
                await git(['read-tree', '--empty']);
            }
            await git(['clean', '-q', '-f', '-d', '-x']);
            // The change: the file, the README of a new branch, and the oldest backups beyond `keep` removed.
            if (!base)
                await (0,promises_.writeFile)(external_node_path_.join(repo, 'README.md'), README(branch));
            await (0,promises_.mkdir)(external_node_path_.join(repo, BRANCH_DIR), { recursive: true });
            await (0,promises_.copyFile)(backup.path, external_node_path_.join(repo, pathOnBranch));
            // The signature goes beside the file, and leaves with it when the file is pruned.
            if (backup.signaturePath)
                await (0,promises_.copyFile)(backup.signaturePath, external_node_path_.join(repo, `${pathOnBranch}.sig`));
            const backups = (await (0,promises_.readdir)(external_node_path_.join(repo, BRANCH_DIR))).filter((file) => BACKUP_FILE.test(file));
            // The time comes right after the fixed `full_` prefix, so name order is time order.
            const others = backups.filter((file) => file !== backup.file).sort();
            const removed = keep > 0 ? others.slice(0, Math.max(0, backups.length - keep)).map((file) => `${BRANCH_DIR}/${file}`) : [];
            for (const file of removed) {
                await (0,promises_.rm)(external_node_path_.join(repo, file));
                await (0,promises_.rm)(external_node_path_.join(repo, `${file}.sig`), { force: true });
            }
            await git(['add', '-A']);
            if (base && (await git(['diff', '--cached', '--quiet'], { allowFailure: true })).exitCode === 0) {
                log.info(`✅ ${pathOnBranch} is already on branch '${branch}' (commit ${base.slice(0, 7)}); nothing to push`);
                return { branch, commitSha: base, pathOnBranch, created: false, removed: [], fileUrl: fileLink(remote, base, pathOnBranch), label: remote.label };
            }
            let keptBytes = 0;
            for (const file of backups.filter((file) => !removed.includes(`${BRANCH_DIR}/${file}`))) {
                keptBytes += (await (0,promises_.stat)(external_node_path_.join(repo, BRANCH_DIR, file))).size;
            }
            const message = commitMessage(backup, bytes, { count: backups.length - removed.length, bytes: keptBytes }, removed, keep, env);
            await git(['commit', '-q', '--no-verify', '-F', '-'], { input: message });
            await options.beforePush?.(attempt);
            const pushed = await git(['push', '-q', 'origin', `HEAD:refs/heads/${branch}`], { allowFailure: true });
            if (pushed.exitCode === 0) {
                const commitSha = (await git(['rev-parse', 'HEAD'])).stdout.trim();
                const url = fileLink(remote, commitSha, pathOnBranch);
                const pruned = removed.length > 0 ? `, removed ${removed.length} older backup(s) beyond keep ${keep}` : '';
                log.info(`✅ Pushed ${commitSha.slice(0, 7)} to branch '${branch}'${base ? '' : ' (new orphan branch)'}${pruned}${url ? `: ${url}` : ''}`);
                return { branch, commitSha, pathOnBranch, created: !base, removed, fileUrl: url, label: remote.label };
            }
            // Rejected: if another run moved the branch (or holds its lock), start again from the new tip.
            const moved = (await remoteTip(git, branch, remote)) !== base;
            const raced = moved || /\[rejected\]|non-fast-forward|fetch first|cannot lock ref|failed to update ref|unable to create .*\.lock|incorrect old value/i.test(pushed.stderr);
            if (!raced)
                throw explainGitFailure(`pushing to branch '${branch}'`, pushed.stderr, remote, branch);
            if (attempt >= attempts) {
                throw new publish_error/* PublishError */.S(`pushing to branch '${branch}' of ${remote.label} failed ${attempts} times because other pushes kept landing first; ` +
                    `nothing was pushed. Re-run the job, or keep backup workflows from running at the same time (a workflow \`concurrency:\` group). Last error: ${pushed.stderr.trim()}`);
            }
            const delay = Math.round(backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
            log.info(`↻ Branch '${branch}' moved while pushing (attempt ${attempt}/${attempts}); applying the backup on the new tip in ${delay} ms...`);
            await (0,external_node_timers_promises_.setTimeout)(delay);
        }
    }
    finally {
        await (0,promises_.rm)(work, { recursive: true, force: true });
    }
}
function fileLink(remote, commitSha, pathOnBranch) {
    return remote.webUrl ? `${remote.webUrl}/blob/${commitSha}/${pathOnBranch}` : undefined;
}

// EXTERNAL MODULE: ./lib/src/publish/local.js
var local = __webpack_require__(14977);
// EXTERNAL MODULE: ./lib/src/publish/s3.js
var s3 = __webpack_require__(45118);
;// CONCATENATED MODULE: ./lib/src/publish/index.js
/**
 * The publish stage: the verified backup file stored where `destination` asks (DESIGN.md §2, §4).
 *
 * - `artifact`: a workflow artifact (artifact.ts);
 * - `branch`: a commit on a branch of the repository (branch.ts);
 * - `s3`: objects in an S3-compatible bucket (s3.ts);
 * - any comma-separated combination of them; `none`: the file stays in `output-dir` only.
 *
 * A backup counts only once stored, and nothing is left half-done: what each destination needs is
 * checked before anything is stored, and they store in the order artifact, s3, branch; when one fails,
 * what the earlier ones stored is deleted again (a pushed commit is last, as it cannot be taken back).
 * Bucket retention runs only once every destination has the backup. The local file is the caller's:
 * the action removes it on failure.
 */








/**
 * Stores the backup in every configured destination. `env` gives the Actions context (repository,
 * server, run, BACKUP_REMOTE_URL); note that `@actions/artifact` itself reads its runtime variables
 * from `process.env`.
 */
async function publishBackup(result, config, log, env = process.env, options = {}) {
    const { artifact: toArtifact, branch: toBranch, s3: toS3 } = config.destinations;
    // Everything a destination needs is checked before the first one stores anything.
    const artifactName = toArtifact ? checkArtifactName(config.artifactName ?? defaultArtifactName(result.file)) : '';
    if (toArtifact)
        checkArtifactRuntime(env);
    if (toBranch) {
        checkBranchFileSize((await (0,promises_.stat)(result.path)).size, result.file);
        resolveBranchRemote(config, env, options.branch?.remoteUrl);
    }
    const bucket = toS3 ? (0,s3.s3DestinationTarget)(config, env) : undefined;
    if (bucket)
        await (0,s3.preflightS3)(config, env, log, bucket);
    const published = { destinations: [] };
    let upload;
    if (toArtifact) {
        upload = await uploadBackupArtifact({
            file: result.path,
            ...(result.signaturePath ? { signature: result.signaturePath } : {}),
            ...(result.storageFilesDir ? { fileStore: result.storageFilesDir } : {}),
            name: artifactName,
            retentionDays: config.retentionDays,
        }, log, env);
        published.artifactId = upload.id;
        published.artifactUrl = upload.url;
        const expiry = upload.retentionDays ? `, kept ${upload.retentionDays} days` : '';
        published.destinations.push({
            kind: 'artifact',
            description: `Workflow artifact \`${upload.name}\` (${(0,src_log/* formatBytes */.z3)(upload.size ?? result.bytes)} zip${expiry})`,
            url: upload.url,
        });
    }
    let stored;
    if (bucket) {
        try {
            stored = await (0,s3.storeInS3)(result, config, bucket, log, options.signal);
        }
        catch (error) {
            throw upload ? await withdrawArtifact(upload, error, log) : error;
        }
        published.s3 = { url: stored.url, key: stored.key, etag: stored.etag, ...(stored.versionId ? { versionId: stored.versionId } : {}) };
    }
    if (toBranch) {
        let pushed;
        try {
            pushed = await publishToBranch(result, config, log, env, options.branch);
        }
        catch (error) {
            const failure = bucket && stored ? await (0,s3.withdrawFromS3)(bucket, stored, error, log) : error;
            throw upload ? await withdrawArtifact(upload, failure, log) : failure;
        }
        published.commitSha = pushed.commitSha;
        published.destinations.push({
            kind: 'branch',
            description: `\`${pushed.pathOnBranch}\` on branch \`${pushed.branch}\` of ${pushed.label}, commit ${pushed.commitSha.slice(0, 7)}${pushed.removed.length > 0 ? ` (${pushed.removed.length} older backup(s) removed, keep ${config.keep})` : ''}`,
            url: pushed.fileUrl,
        });
    }
    if (bucket && stored)
        published.destinations.push(await bucketLine(bucket, stored, config, log, options.now));
    published.destinations.push((0,local/* localCopy */.l)(result.path, toArtifact || toBranch || toS3));
    return published;
}
/** Retention in the bucket (now that every destination has the backup) and the summary line. */
async function bucketLine(bucket, stored, config, log, now) {
    let pruned = '';
    try {
        const removed = await (0,s3.pruneS3)(bucket, config, stored, log, now);
        if (removed.length > 0)
            pruned = `, ${removed.length} older backup(s) deleted (${(0,s3.retentionWords)(config)})`;
    }
    catch (error) {
        // The backup is stored; a retention failure (e.g. no delete permission) must not withdraw it.
        log.warning(`The backup is stored, but deleting older backups failed: ${error.message}`);
        pruned = ', older backups not deleted (see the warning)';
    }
    return {
        kind: 's3',
        description: `\`${stored.url}\` (${(0,src_log/* formatBytes */.z3)(stored.bytes)}, ETag ${stored.etag}${stored.versionId ? `, version ${stored.versionId}` : ''}${pruned})`,
    };
}
/** The branch failed after the artifact was stored: delete the artifact so the run leaves neither. */
async function withdrawArtifact(upload, cause, log) {
    const message = cause instanceof Error ? cause.message : String(cause);
    try {
        await deleteBackupArtifact(upload.name);
        log.info(`🗑️ Deleted artifact '${upload.name}' again, because the branch push failed`);
        return new publish_error/* PublishError */.S(`${message}\n(the artifact '${upload.name}' uploaded before was deleted again, so the run stored nothing)`);
    }
    catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return new publish_error/* PublishError */.S(`${message}\n(the artifact '${upload.name}' was uploaded before the push failed and could not be deleted again: ` +
            `${reason}; delete it from the run's page${upload.url ? ` ${upload.url}` : ''})`);
    }
}


/***/ }),

/***/ 45118:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   MANIFEST_SUFFIX: () => (/* binding */ MANIFEST_SUFFIX),
/* harmony export */   backupTime: () => (/* binding */ backupTime),
/* harmony export */   expiredBackups: () => (/* binding */ expiredBackups),
/* harmony export */   listS3Backups: () => (/* binding */ listS3Backups),
/* harmony export */   preflightS3: () => (/* binding */ preflightS3),
/* harmony export */   pruneS3: () => (/* binding */ pruneS3),
/* harmony export */   retentionWords: () => (/* binding */ retentionWords),
/* harmony export */   s3DestinationTarget: () => (/* binding */ s3DestinationTarget),
/* harmony export */   storeInS3: () => (/* binding */ storeInS3),
/* harmony export */   withdrawFromS3: () => (/* binding */ withdrawFromS3)
/* harmony export */ });
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(51455);
/* harmony import */ var _log_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(40736);
/* harmony import */ var _s3_client_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(81922);
/* harmony import */ var _s3_objects_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(66627);
/* harmony import */ var _s3_settings_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(27156);
/* harmony import */ var _s3_url_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(75264);
/* harmony import */ var _error_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(24620);
/* harmony import */ var _signature_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(70640);
/**
 * Destination s3: the verified backup file in any S3-compatible bucket, under the prefix of
 * `s3-bucket-url`, with its signature (`.sig`) and a manifest (`.manifest.json`) beside it.
 *
 * - Before the dump (`preflightS3`): the bucket exists and the credentials can read and list it, so a
 *   wrong key or a missing bucket fails in seconds, naming the input.
 * - Store (`storeInS3`): the file as a multipart upload (src/s3/objects.ts: parts in parallel, bounded
 *   memory, retried, aborted on failure or cancellation), then the signature, then the manifest. The
 *   manifest comes last and marks the backup complete; when any step fails, what was written is deleted.
 * - Retention (`pruneS3`), run only once every destination has stored the backup: a backup is deleted
 *   (with its .sig and manifest) when neither rule keeps it — among the newest `keep`, or younger than
 *   `keep-days` days. A run deletes only complete backups older than its own, so two runs at once never
 *   delete each other's work in progress.
 */








const MANIFEST_SUFFIX = '.manifest.json';
const MANIFEST_FORMAT = 'supabase-complete-backup/manifest@1';
/** `full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql[.gz|.zst][.age]` (as restore/listing.ts). */
const BACKUP_NAME = /^full_(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z_([0-9a-f]{8})\.sql(\.gz|\.zst)?(\.age)?$/;
/** A backup without a manifest is another run's upload in progress, unless it is older than this. */
const UNFINISHED_GRACE_MS = 24 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** The bucket of destination s3, reached with the inputs or the AWS variables of `env`. */
function s3DestinationTarget(config, env) {
    const s3 = requireS3(config);
    return (0,_s3_client_js__WEBPACK_IMPORTED_MODULE_2__/* .s3Target */ .Qe)((0,_s3_settings_js__WEBPACK_IMPORTED_MODULE_5__/* .s3Settings */ .os)(s3.inputs, env), s3.location.bucket);
}
function requireS3(config) {
    if (!config.s3)
        throw new _error_js__WEBPACK_IMPORTED_MODULE_6__/* .PublishError */ .S("destination s3 needs 's3-bucket-url'");
    return config.s3;
}
/** Before the dump: the bucket is there and these credentials can read and list the prefix. */
async function preflightS3(config, env, log, target = s3DestinationTarget(config, env)) {
    const { location } = requireS3(config);
    await (0,_s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .checkBucket */ .L$)(target, location.prefix);
    log.info(`🪣 Bucket ${(0,_s3_url_js__WEBPACK_IMPORTED_MODULE_7__/* .formatS3Url */ .LL)(location.bucket, location.prefix)} at ${target.endpoint} is reachable`);
}
/** Uploads the backup, its signature and its manifest; on any failure deletes what it wrote. */
async function storeInS3(backup, config, target, log, signal) {
    const { location } = requireS3(config);
    const key = (0,_s3_url_js__WEBPACK_IMPORTED_MODULE_7__/* .keyOf */ .TN)(location, backup.file);
    const bytes = (await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.stat)(backup.path)).size;
    const parts = Math.max(1, Math.ceil(bytes / (0,_s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .partSizeFor */ .oV)(bytes)));
    log.info(`☁️ Uploading ${backup.file} (${(0,_log_js__WEBPACK_IMPORTED_MODULE_1__/* .formatBytes */ .z3)(bytes)}) to ${(0,_s3_url_js__WEBPACK_IMPORTED_MODULE_7__/* .formatS3Url */ .LL)(location.bucket, key)}` +
        (parts > 1 ? ` in ${parts} parts, ${Math.min(parts, _s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .UPLOAD_QUEUE */ .kt)} at a time...` : '...'));
    const written = [];
    try {
        const stored = await (0,_s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .uploadFile */ .QM)(target, { key, file: backup.path, bytes, metadata: { sha256: backup.sha256 }, signal, onProgress: progressLog(bytes, parts, log) });
        written.push(key);
        if (backup.signaturePath) {
            await (0,_s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .putSmallObject */ ._J)(target, `${key}${_signature_js__WEBPACK_IMPORTED_MODULE_4__/* .SIGNATURE_SUFFIX */ .VV}`, await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.readFile)(backup.signaturePath), 'application/octet-stream');
            written.push(`${key}${_signature_js__WEBPACK_IMPORTED_MODULE_4__/* .SIGNATURE_SUFFIX */ .VV}`);
        }
        signal?.throwIfAborted();
        const manifest = manifestOf(backup, bytes, config);
        await (0,_s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .putSmallObject */ ._J)(target, `${key}${MANIFEST_SUFFIX}`, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
        written.push(`${key}${MANIFEST_SUFFIX}`);
        log.info(`✅ Stored in ${(0,_s3_url_js__WEBPACK_IMPORTED_MODULE_7__/* .formatS3Url */ .LL)(location.bucket, key)} (ETag ${stored.etag}${stored.versionId ? `, version ${stored.versionId}` : ''})`);
        return { url: (0,_s3_url_js__WEBPACK_IMPORTED_MODULE_7__/* .formatS3Url */ .LL)(location.bucket, key), bucket: location.bucket, key, etag: stored.etag, ...(stored.versionId ? { versionId: stored.versionId } : {}), bytes, keys: written };
    }
    catch (error) {
        // The backup's key too: a single PutObject cut short by a cancellation may still complete on the
        // server. The name (time and sha256) is this run's alone.
        await (0,_s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .deleteObjects */ .Uw)(target, [...new Set([key, ...written])]).catch(() => undefined);
        throw error;
    }
}
/** A log line at every further tenth of a multipart upload (a large backup takes minutes). */
function progressLog(bytes, parts, log) {
    if (parts < 10)
        return undefined;
    let logged = 0;
    return (loaded) => {
        const tenths = Math.floor((loaded / bytes) * 10);
        if (tenths <= logged || tenths >= 10)
            return;
        logged = tenths;
        log.info(`   ${tenths * 10}% uploaded (${(0,_log_js__WEBPACK_IMPORTED_MODULE_1__/* .formatBytes */ .z3)(loaded)} of ${(0,_log_js__WEBPACK_IMPORTED_MODULE_1__/* .formatBytes */ .z3)(bytes)})`);
    };
}
function manifestOf(backup, bytes, config) {
    const encryption = config.encryption.kind === 'recipients' ? 'age-recipients' : config.encryption.kind === 'passphrase' ? 'age-passphrase' : 'none';
    return {
        format: MANIFEST_FORMAT,
        file: backup.file,
        bytes,
        sha256: backup.sha256,
        created: (backupTime(backup.file) ?? new Date()).toISOString(),
        compression: config.compression,
        encryption,
        signed: backup.signaturePath !== undefined,
        authUsers: backup.authUsers,
        tables: backup.tables,
        rows: backup.rows,
        rowsByTable: Object.fromEntries(backup.rowsByTable ?? []),
        ...(backup.serverVersion ? { serverVersion: backup.serverVersion } : {}),
        ...(backup.pgDump ? { pgDumpVersion: backup.pgDump.version } : {}),
    };
}
/** A later destination failed: deletes what storeInS3 wrote, and says so in the error. */
async function withdrawFromS3(target, stored, cause, log) {
    const message = cause instanceof Error ? cause.message : String(cause);
    try {
        await (0,_s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .deleteObjects */ .Uw)(target, stored.keys);
        log.info(`🗑️ Deleted ${stored.url} again, because a later destination failed`);
        return new _error_js__WEBPACK_IMPORTED_MODULE_6__/* .PublishError */ .S(`${message}\n(${stored.url} uploaded before was deleted again)`);
    }
    catch (error) {
        return new _error_js__WEBPACK_IMPORTED_MODULE_6__/* .PublishError */ .S(`${message}\n(${stored.url} was uploaded before and could not be deleted again: ${error.message}; delete it by hand)`);
    }
}
function backupTime(name) {
    const m = BACKUP_NAME.exec(name);
    return m ? new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) : null;
}
/** The backups directly under a prefix (not in its sub-folders), newest first. */
async function listS3Backups(target, prefix) {
    const objects = await (0,_s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .listObjects */ .L)(target, prefix, '/');
    const keys = new Set(objects.map((o) => o.key));
    const backups = [];
    for (const object of objects) {
        const name = (0,_s3_url_js__WEBPACK_IMPORTED_MODULE_7__/* .baseName */ .Fl)(object.key);
        const time = backupTime(name);
        if (!time)
            continue;
        backups.push(describeBackup(object, name, time, keys));
    }
    return backups.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.name < b.name ? 1 : -1));
}
function describeBackup(object, name, time, keys) {
    return {
        name,
        key: object.key,
        time,
        bytes: object.size,
        lastModified: object.lastModified,
        complete: keys.has(`${object.key}${MANIFEST_SUFFIX}`),
        signed: keys.has(`${object.key}${_signature_js__WEBPACK_IMPORTED_MODULE_4__/* .SIGNATURE_SUFFIX */ .VV}`),
    };
}
/**
 * The backups to delete: older than `own`, complete (or unfinished for more than a day), and kept by
 * neither rule. With neither rule set, nothing is deleted. `backups` is newest first.
 */
function expiredBackups(backups, own, rules, now) {
    if (rules.keep === 0 && rules.keepDays === 0)
        return [];
    const ownTime = backupTime(own);
    if (!ownTime)
        return [];
    const finished = backups.filter((b) => b.complete || now.getTime() - b.lastModified.getTime() > UNFINISHED_GRACE_MS);
    return finished.filter((backup, index) => {
        if (backup.name === own || backup.time.getTime() >= ownTime.getTime())
            return false;
        const keptByCount = rules.keep > 0 && index < rules.keep;
        const keptByAge = rules.keepDays > 0 && now.getTime() - backup.time.getTime() < rules.keepDays * DAY_MS;
        return !keptByCount && !keptByAge;
    });
}
/** Retention under the prefix, after the new backup is complete; returns the names deleted. */
async function pruneS3(target, config, stored, log, now = new Date()) {
    const { location } = requireS3(config);
    const expired = expiredBackups(await listS3Backups(target, location.prefix), (0,_s3_url_js__WEBPACK_IMPORTED_MODULE_7__/* .baseName */ .Fl)(stored.key), { keep: config.keep, keepDays: config.keepDays }, now);
    if (expired.length === 0)
        return [];
    await (0,_s3_objects_js__WEBPACK_IMPORTED_MODULE_3__/* .deleteObjects */ .Uw)(target, expired.flatMap((b) => [b.key, ...(b.signed ? [`${b.key}${_signature_js__WEBPACK_IMPORTED_MODULE_4__/* .SIGNATURE_SUFFIX */ .VV}`] : []), ...(b.complete ? [`${b.key}${MANIFEST_SUFFIX}`] : [])]));
    log.info(`🧹 Deleted ${expired.length} older backup(s) from ${(0,_s3_url_js__WEBPACK_IMPORTED_MODULE_7__/* .formatS3Url */ .LL)(location.bucket, location.prefix)} (${retentionWords(config)})`);
    return expired.map((b) => b.name);
}
function retentionWords(config) {
    const rules = [config.keep > 0 ? `keep ${config.keep}` : '', config.keepDays > 0 ? `keep-days ${config.keepDays}` : ''].filter(Boolean);
    return rules.length > 0 ? rules.join(', ') : 'no retention';
}


/***/ })

};
