export const id = 118;
export const ids = [118];
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
