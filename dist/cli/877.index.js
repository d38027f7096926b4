export const id = 877;
export const ids = [877];
export const modules = {

/***/ 1877:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  downloadS3Backup: () => (/* binding */ downloadS3Backup),
  listS3: () => (/* binding */ listS3)
});

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(6466);
// EXTERNAL MODULE: ./lib/src/log.js
var log = __webpack_require__(736);
// EXTERNAL MODULE: ./lib/src/s3/client.js
var client = __webpack_require__(1922);
// EXTERNAL MODULE: ./lib/src/s3/objects.js + 1 modules
var s3_objects = __webpack_require__(6627);
// EXTERNAL MODULE: ./lib/src/s3/url.js
var s3_url = __webpack_require__(5264);
// EXTERNAL MODULE: ./lib/src/publish/signature.js
var publish_signature = __webpack_require__(640);
;// CONCATENATED MODULE: ./lib/src/publish/s3.js
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
const UNFINISHED_GRACE_MS = (/* unused pure expression or super */ null && (24 * 60 * 60 * 1000));
const DAY_MS = (/* unused pure expression or super */ null && (24 * 60 * 60 * 1000));
/** The bucket of destination s3, reached with the inputs or the AWS variables of `env`. */
function s3DestinationTarget(config, env) {
    const s3 = requireS3(config);
    return s3Target(s3Settings(s3.inputs, env), s3.location.bucket);
}
function requireS3(config) {
    if (!config.s3)
        throw new PublishError("destination s3 needs 's3-bucket-url'");
    return config.s3;
}
/** Before the dump: the bucket is there and these credentials can read and list the prefix. */
async function preflightS3(config, env, log, target = s3DestinationTarget(config, env)) {
    const { location } = requireS3(config);
    await checkBucket(target, location.prefix);
    log.info(`🪣 Bucket ${formatS3Url(location.bucket, location.prefix)} at ${target.endpoint} is reachable`);
}
/** Uploads the backup, its signature and its manifest; on any failure deletes what it wrote. */
async function storeInS3(backup, config, target, log, signal) {
    const { location } = requireS3(config);
    const key = keyOf(location, backup.file);
    const bytes = (await stat(backup.path)).size;
    const parts = Math.max(1, Math.ceil(bytes / partSizeFor(bytes)));
    log.info(`☁️ Uploading ${backup.file} (${formatBytes(bytes)}) to ${formatS3Url(location.bucket, key)}` +
        (parts > 1 ? ` in ${parts} parts, ${Math.min(parts, UPLOAD_QUEUE)} at a time...` : '...'));
    const written = [];
    try {
        const stored = await uploadFile(target, { key, file: backup.path, bytes, metadata: { sha256: backup.sha256 }, signal, onProgress: progressLog(bytes, parts, log) });
        written.push(key);
        if (backup.signaturePath) {
            await putSmallObject(target, `${key}${SIGNATURE_SUFFIX}`, await readFile(backup.signaturePath), 'application/octet-stream');
            written.push(`${key}${SIGNATURE_SUFFIX}`);
        }
        signal?.throwIfAborted();
        const manifest = manifestOf(backup, bytes, config);
        await putSmallObject(target, `${key}${MANIFEST_SUFFIX}`, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
        written.push(`${key}${MANIFEST_SUFFIX}`);
        log.info(`✅ Stored in ${formatS3Url(location.bucket, key)} (ETag ${stored.etag}${stored.versionId ? `, version ${stored.versionId}` : ''})`);
        return { url: formatS3Url(location.bucket, key), bucket: location.bucket, key, etag: stored.etag, ...(stored.versionId ? { versionId: stored.versionId } : {}), bytes, keys: written };
    }
    catch (error) {
        // The backup's key too: a single PutObject cut short by a cancellation may still complete on the
        // server. The name (time and sha256) is this run's alone.
        await deleteObjects(target, [...new Set([key, ...written])]).catch(() => undefined);
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
        log.info(`   ${tenths * 10}% uploaded (${formatBytes(loaded)} of ${formatBytes(bytes)})`);
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
        await deleteObjects(target, stored.keys);
        log.info(`🗑️ Deleted ${stored.url} again, because a later destination failed`);
        return new PublishError(`${message}\n(${stored.url} uploaded before was deleted again)`);
    }
    catch (error) {
        return new PublishError(`${message}\n(${stored.url} was uploaded before and could not be deleted again: ${error.message}; delete it by hand)`);
    }
}
function backupTime(name) {
    const m = BACKUP_NAME.exec(name);
    return m ? new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) : null;
}
/** The backups directly under a prefix (not in its sub-folders), newest first. */
async function listS3Backups(target, prefix) {
    const objects = await (0,s3_objects/* listObjects */.L)(target, prefix, '/');
    const keys = new Set(objects.map((o) => o.key));
    const backups = [];
    for (const object of objects) {
        const name = (0,s3_url/* baseName */.Fl)(object.key);
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
        signed: keys.has(`${object.key}${publish_signature/* SIGNATURE_SUFFIX */.VV}`),
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
    const expired = expiredBackups(await listS3Backups(target, location.prefix), baseName(stored.key), { keep: config.keep, keepDays: config.keepDays }, now);
    if (expired.length === 0)
        return [];
    await deleteObjects(target, expired.flatMap((b) => [b.key, ...(b.signed ? [`${b.key}${SIGNATURE_SUFFIX}`] : []), ...(b.complete ? [`${b.key}${MANIFEST_SUFFIX}`] : [])]));
    log.info(`🧹 Deleted ${expired.length} older backup(s) from ${formatS3Url(location.bucket, location.prefix)} (${retentionWords(config)})`);
    return expired.map((b) => b.name);
}
function retentionWords(config) {
    const rules = [config.keep > 0 ? `keep ${config.keep}` : '', config.keepDays > 0 ? `keep-days ${config.keepDays}` : ''].filter(Boolean);
    return rules.length > 0 ? rules.join(', ') : 'no retention';
}

// EXTERNAL MODULE: ./lib/src/s3/settings.js
var s3_settings = __webpack_require__(7156);
// EXTERNAL MODULE: ./lib/src/restore/listing.js
var listing = __webpack_require__(7515);
;// CONCATENATED MODULE: ./lib/src/restore/s3.js
/**
 * Backups in a bucket, for the CLI's `list --s3`, `restore --s3` and `verify --s3`: listed from their
 * manifest objects (nothing downloaded), and one backup (the newest complete one, or the one named)
 * streamed into a private temporary file that then goes through the same checks and restore path as a
 * local file. A file, not a pipe: restore reads a backup twice (every check before anything runs, then
 * psql), and a network stream cannot be read twice without running unchecked SQL.
 */












function openSource(url, flags, env) {
    const named = /^(s3:\/\/.+\/)?([^/]+)$/.exec(url.trim());
    const file = named?.[1] && backupTime(named[2]) ? named[2] : undefined;
    const location = (0,s3_url/* parseS3Url */.F$)(file ? named[1] : url);
    const settings = (0,s3_settings/* s3Settings */.os)({ ...flags, accessKeyId: '', secretAccessKey: '', sessionToken: '' }, env);
    return { target: (0,client/* s3Target */.Qe)(settings, location.bucket), prefix: location.prefix, ...(file ? { key: `${location.prefix}${file}` } : {}) };
}
/** The backups under the prefix, newest first, with what their manifest objects say. */
async function listS3(url, flags, env = process.env) {
    const source = openSource(url, flags, env);
    const backups = await listS3Backups(source.target, source.prefix);
    const entries = [];
    for (const backup of backups)
        entries.push(await describe(source.target, backup));
    return entries;
}
async function describe(target, backup) {
    const base = {
        name: backup.name,
        time: backup.time,
        bytes: backup.bytes,
        location: (0,s3_url/* formatS3Url */.LL)(target.bucket, backup.key),
        sealing: { age: backup.name.endsWith('.age'), gzip: /\.gz(\.age)?$/.test(backup.name), zstd: /\.zst(\.age)?$/.test(backup.name) },
    };
    if (!backup.complete)
        return { ...base, manifest: null, note: 'no manifest object: an upload in progress, or one that did not finish' };
    try {
        const json = JSON.parse((await (0,s3_objects/* readSmallObject */.$A)(target, `${backup.key}${MANIFEST_SUFFIX}`)).toString('utf8'));
        return { ...base, manifest: s3_manifestOf(json) };
    }
    catch (error) {
        return { ...base, manifest: null, note: `manifest unreadable: ${error.message}` };
    }
}
function s3_manifestOf(json) {
    const rows = new Map(Object.entries(json.rowsByTable ?? {}).map(([table, count]) => [table, Number(count)]));
    return { rows, tables: json.tables, total: json.rows, authUsers: json.authUsers };
}
/**
 * Streams the backup the URL names (or the newest complete one under the prefix) and its signature,
 * when there is one, into a new private temporary directory.
 */
async function downloadS3Backup(url, flags, env = process.env, log = () => undefined) {
    const source = openSource(url, flags, env);
    const key = source.key ?? (await newestComplete(source)).key;
    const name = (0,s3_url/* baseName */.Fl)(key);
    const dir = await (0,promises_.mkdtemp)(external_node_path_.join((0,external_node_os_.tmpdir)(), 'supabase-backup-'));
    const file = external_node_path_.join(dir, name);
    try {
        const object = await (0,s3_objects/* readObject */.Ag)(source.target, key);
        log(`☁️ Downloading ${(0,s3_url/* formatS3Url */.LL)(source.target.bucket, key)} (${object.bytes} bytes)...`);
        await (0,external_node_stream_promises_.pipeline)(object.stream, (0,external_node_fs_.createWriteStream)(file, { mode: 0o600 }));
        const signature = await (0,s3_objects/* readObject */.Ag)(source.target, `${key}${publish_signature/* SIGNATURE_SUFFIX */.VV}`).catch(() => undefined);
        if (signature)
            await (0,external_node_stream_promises_.pipeline)(signature.stream, (0,external_node_fs_.createWriteStream)(`${file}${publish_signature/* SIGNATURE_SUFFIX */.VV}`, { mode: 0o600 }));
    }
    catch (error) {
        await (0,promises_.rm)(dir, { recursive: true, force: true });
        throw error;
    }
    return { file, label: name, cleanup: () => (0,promises_.rm)(dir, { recursive: true, force: true }) };
}
async function newestComplete(source) {
    const newest = (await listS3Backups(source.target, source.prefix)).find((b) => b.complete);
    if (!newest)
        throw new listing/* ListError */.Jc(`no complete backups (full_*.sql… with a ${MANIFEST_SUFFIX}) under ${(0,s3_url/* formatS3Url */.LL)(source.target.bucket, source.prefix)}`);
    return newest;
}


/***/ })

};
