export const id = 161;
export const ids = [161];
export const modules = {

/***/ 70161:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  backupStorageFiles: () => (/* binding */ backupStorageFiles),
  fileStoreFor: () => (/* binding */ fileStoreFor),
  identitiesFor: () => (/* binding */ identitiesFor),
  pruneStorageFiles: () => (/* binding */ pruneStorageFiles),
  restoreStorageFiles: () => (/* binding */ restoreStorageFiles),
  storageClient: () => (/* binding */ storageClient)
});

// EXTERNAL MODULE: ./lib/src/s3/client.js
var client = __webpack_require__(81922);
// EXTERNAL MODULE: ./lib/src/s3/errors.js
var errors = __webpack_require__(52254);
// EXTERNAL MODULE: ./lib/src/s3/settings.js
var settings = __webpack_require__(27156);
// EXTERNAL MODULE: ./lib/src/s3/objects.js
var objects = __webpack_require__(49777);
;// CONCATENATED MODULE: ./lib/src/s3/index.js
/** The S3 module: client settings, s3:// URLs, operations and error wording (see each file). */






// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(57075);
// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(46466);
// EXTERNAL MODULE: ./lib/src/log.js
var src_log = __webpack_require__(40736);
;// CONCATENATED MODULE: ./lib/src/storage/manifest.js
/**
 * What a backup's Storage files are: the per-backup file manifest (everything a restore needs, encrypted
 * with the backup when encryption is on) and the per-backup index (always plain: what the next run and
 * retention need, and nothing that reveals a file's contents or name). Design: docs/storage-files.md.
 */

const MANIFEST_FORMAT = 'supabase-complete-backup/storage-files/v1';
function countFiles(files, skipped) {
    const stored = files.filter((f) => f.origin === 'stored');
    return {
        stored: stored.length,
        reused: files.length - stored.length,
        changed: skipped.filter((s) => s.reason === 'changed').length,
        missing: skipped.filter((s) => s.reason === 'missing').length,
        unreadableNames: skipped.filter((s) => s.reason === 'unreadable-name').length,
        bytes: files.reduce((sum, f) => sum + f.size, 0),
        storedBytes: stored.reduce((sum, f) => sum + f.size, 0),
    };
}
/** The identity of one version of one file: the same bytes for as long as these stay the same. */
function rowIdentity(row) {
    return JSON.stringify([MANIFEST_FORMAT, row.bucket, row.name, row.id, row.version, row.eTag, row.size]);
}
/**
 * The key of a row version in the index. It hashes the row's random ids (uuid v4 id and version), so
 * someone holding only the store can neither tell which file it is nor test a guess of its contents.
 */
function rowKey(row) {
    return (0,external_node_crypto_.createHash)('sha256').update(rowIdentity(row)).digest('hex');
}
function digestKey(row) {
    return Buffer.from((0,external_node_crypto_.hkdfSync)('sha256', rowIdentity(row), 'supabase-complete-backup/storage-files', 'digest', 32));
}
/**
 * A content sha256 sealed (AES-256-GCM) under a key derived from the row version: the next run, which
 * reads that row in its snapshot, can open it without any secret; the store alone cannot.
 */
function sealDigest(row, sha256) {
    const iv = (0,external_node_crypto_.randomBytes)(12);
    const cipher = (0,external_node_crypto_.createCipheriv)('aes-256-gcm', digestKey(row), iv);
    const body = Buffer.concat([cipher.update(Buffer.from(sha256, 'hex')), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}
/** The sha256 sealed by sealDigest, or null when the box was not made for this row version. */
function openDigest(row, box) {
    try {
        const raw = Buffer.from(box, 'base64url');
        const decipher = (0,external_node_crypto_.createDecipheriv)('aes-256-gcm', digestKey(row), raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
        return plain.length === 32 ? plain.toString('hex') : null;
    }
    catch {
        return null;
    }
}
/** The index lines of a manifest: what the next run looks files up in, and what retention keeps. */
function indexOf(manifest) {
    const sealed = manifest.encryption !== null;
    return {
        format: MANIFEST_FORMAT,
        backup: manifest.backup,
        createdAt: manifest.createdAt,
        blobNaming: manifest.blobNaming,
        encryption: manifest.encryption,
        entries: manifest.files.map((file) => ({
            k: rowKey(file),
            b: file.blob,
            d: sealed ? sealDigest(file, file.sha256) : file.sha256,
            s: file.size,
        })),
    };
}
/** Looks rows up in a previous index (built once; one Map entry per file). */
class PreviousIndex {
    byKey = new Map();
    /** The last complete index, then the checkpoints of interrupted runs sealed the same way. */
    constructor(indexes) {
        for (const index of indexes) {
            for (const entry of index.entries)
                this.byKey.set(entry.k, { entry, sealed: index.encryption !== null });
        }
    }
    find(row) {
        const found = this.byKey.get(rowKey(row));
        if (!found)
            return null;
        const { entry, sealed } = found;
        if (row.size !== null && entry.s !== row.size)
            return null;
        const sha256 = sealed ? openDigest(row, entry.d) : entry.d;
        return sha256 && /^[0-9a-f]{64}$/.test(sha256) ? { blob: entry.b, sha256, size: entry.s } : null;
    }
}
function parseIndex(text) {
    const parsed = JSON.parse(text);
    if (parsed.format !== MANIFEST_FORMAT || !Array.isArray(parsed.entries)) {
        throw new Error(`not a storage files index of this tool (format ${String(parsed.format)})`);
    }
    return parsed;
}
function parseManifest(text) {
    const parsed = JSON.parse(text);
    if (parsed.format !== MANIFEST_FORMAT || !Array.isArray(parsed.files)) {
        throw new Error(`not a storage files manifest of this tool (format ${String(parsed.format)})`);
    }
    return parsed;
}

;// CONCATENATED MODULE: ./lib/src/storage/names.js
/**
 * Which object names Storage's API can read and write at all (storage-s3-reference.md, "Object names"):
 * letters, digits and `_ / ! . * ' ( ) space & $ = @ ; : + , ? -`. Any other character (unicode, `%`,
 * `#`, `~`, brackets, quotes, backslash, emoji) gives 400 InvalidKey on GET and PUT alike, so such a file
 * is reported and skipped instead of being asked for.
 */
const ALLOWED_NAME = /^[A-Za-z0-9_/!.*'() &$=@;:+,?-]+$/;
function isReadableName(name) {
    return ALLOWED_NAME.test(name);
}
/** Bucket ids follow the same rules for our purposes (they are part of the path). */
function isReadableBucket(bucket) {
    return ALLOWED_NAME.test(bucket) && !bucket.includes('/');
}

// EXTERNAL MODULE: ./node_modules/age-encryption/dist/index.js + 51 modules
var dist = __webpack_require__(81539);
// EXTERNAL MODULE: ./lib/src/streams/agestream.js
var agestream = __webpack_require__(72195);
;// CONCATENATED MODULE: ./lib/src/storage/sealing.js
/**
 * Encryption of Storage files and their manifest (docs/storage-files.md). Files are age files like the
 * SQL backup. A passphrase is not used per file (age's scrypt costs about a second, per file): it is
 * stretched once per store, with a salt kept in the store, into an X25519 identity, and files are
 * encrypted to its public key; a restore with the passphrase derives the same identity.
 */





/** age's default scrypt work factor (what `age -p` uses): once per run, not per file. */
const PASSPHRASE_LOG_N = 18;
/** The X25519 identity (AGE-SECRET-KEY-1…) a passphrase stands for in a store with this salt. */
function passphraseIdentity(passphrase, salt) {
    const N = 2 ** PASSPHRASE_LOG_N;
    const scalar = (0,external_node_crypto_.scryptSync)(passphrase, Buffer.concat([Buffer.from('supabase-complete-backup/storage-files/'), salt]), 32, {
        N,
        r: 8,
        p: 1,
        maxmem: 128 * 8 * N + (32 << 20),
    });
    return bech32Encode('age-secret-key-', scalar).toUpperCase();
}
async function fileSealing(encryption, salt) {
    if (encryption.kind === 'none')
        return null;
    const recipients = encryption.kind === 'recipients'
        ? [...encryption.recipients].sort()
        : [await (0,dist/* identityToRecipient */.RE)(passphraseIdentity(encryption.passphrase, await salt()))];
    const fingerprint = `age:${(0,external_node_crypto_.createHash)('sha256').update(recipients.join('\n')).digest('hex').slice(0, 32)}`;
    return { recipients, fingerprint };
}
/** Encrypts a file into another (age, to the sealing's recipients). */
async function encryptFile(from, to, sealing) {
    await (0,external_node_stream_promises_.pipeline)((0,external_node_fs_.createReadStream)(from), new agestream/* AgeEncryptStream */.TB({ recipients: sealing.recipients }), (0,external_node_fs_.createWriteStream)(to, { mode: 0o600 }));
}
const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
function polymod(values) {
    const generators = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let check = 1;
    for (const value of values) {
        const top = check >>> 25;
        check = ((check & 0x1ffffff) << 5) ^ value;
        for (let i = 0; i < 5; i++)
            if ((top >>> i) & 1)
                check ^= generators[i];
    }
    return check >>> 0;
}
/** BIP-173 bech32, as age writes its keys. */
function bech32Encode(hrp, data) {
    const words = [];
    let acc = 0;
    let bits = 0;
    for (const byte of data) {
        acc = (acc << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            words.push((acc >>> bits) & 31);
        }
    }
    if (bits > 0)
        words.push((acc << (5 - bits)) & 31);
    const expanded = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
    const check = polymod([...expanded, ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
    const checksum = Array.from({ length: 6 }, (_, i) => (check >>> (5 * (5 - i))) & 31);
    return `${hrp}1${[...words, ...checksum].map((w) => BECH32_ALPHABET[w]).join('')}`;
}

;// CONCATENATED MODULE: ./lib/src/storage/transfer.js
/** Bounded parallelism and retries with backoff for the file transfers of Storage backups and restores. */
const DEFAULT_RETRY = { attempts: 5, baseDelayMs: 500 };
/** HTTP status of a failed S3 call (the SDK's `$metadata`, or our own RemoteError's). */
function statusOf(error) {
    const e = error;
    const status = e?.status ?? e?.$metadata?.httpStatusCode;
    return typeof status === 'number' ? status : undefined;
}
/** Throttling and server errors are retried; a 4xx other than 429 is an answer, not a hiccup. */
function isRetryable(error) {
    const status = statusOf(error);
    if (status === undefined)
        return !(error instanceof Error && error.name === 'AbortError');
    return status === 429 || status >= 500;
}
function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(done, ms);
        function done() {
            signal?.removeEventListener('abort', stop);
            resolve();
        }
        function stop() {
            clearTimeout(timer);
            reject(signal?.reason ?? new Error('aborted'));
        }
        signal?.addEventListener('abort', stop, { once: true });
    });
}
/** Runs `attempt` until it succeeds, fails with a non-retryable error, or the tries are used up (the last error is thrown). */
async function withRetries(attempt, policy, signal, retryable = isRetryable) {
    for (let tryNumber = 1;; tryNumber++) {
        try {
            return await attempt(tryNumber);
        }
        catch (error) {
            signal?.throwIfAborted();
            if (tryNumber >= policy.attempts || !retryable(error))
                throw error;
            const backoff = policy.baseDelayMs * 2 ** (tryNumber - 1);
            await sleep(backoff / 2 + Math.random() * (backoff / 2), signal);
        }
    }
}
/**
 * Calls `work` for every item with at most `limit` calls in flight: memory holds `limit` transfers,
 * whatever the number of files. The first error that `work` throws stops the rest and is thrown.
 */
async function forEachLimited(items, limit, work) {
    let next = 0;
    let failed = false;
    async function worker() {
        while (!failed && next < items.length) {
            const item = items[next++];
            try {
                await work(item);
            }
            catch (error) {
                failed = true;
                throw error;
            }
        }
    }
    const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker());
    const results = await Promise.allSettled(workers);
    const rejected = results.find((r) => r.status === 'rejected');
    if (rejected)
        throw rejected.reason;
}

;// CONCATENATED MODULE: ./lib/src/storage/backup.js
/**
 * The Storage files of one backup: every file row of the snapshot, fetched through Storage's S3 protocol
 * (a few at a time, each streamed to a temporary file while its sha256 is computed), checked against the
 * row (the ETag the GET returns against `metadata->>'eTag'`), and stored in the file store unless an
 * earlier backup already holds that row version. Rows whose bytes cannot be had are reported one by one:
 * changed during the backup, missing, or a name Storage's API cannot read. None of them fails the run.
 */











/** Files in flight at once: each holds a socket and a stream buffer, never a whole file. */
const DEFAULT_CONCURRENCY = 4;
/** A checkpoint of what is stored is written after this many stored files (a rerun after a failure resumes there). */
const CHECKPOINT_EVERY = 500;
/** Why a row's bytes are not in the backup: thrown inside one file's transfer, turned into a SkippedFile. */
class Skip extends Error {
    reason;
    constructor(reason, detail) {
        super(detail);
        this.reason = reason;
    }
}
async function backupFiles(input) {
    const checkpointKeys = (await input.store.checkpoints()).map((c) => c.key);
    const previous = await previousIndex(input, checkpointKeys);
    const files = [];
    const skipped = [];
    const dir = await (0,promises_.mkdtemp)(external_node_path_.join(input.work, 'files-'));
    const known = new Set();
    let done = 0;
    let storedSinceCheckpoint = 0;
    let checkpoint = Promise.resolve();
    let manifest;
    try {
        await forEachLimited(input.rows, input.concurrency ?? DEFAULT_CONCURRENCY, async (row) => {
            try {
                const entry = await backupOne(row, previous, known, dir, input);
                files.push(entry);
                if (entry.origin === 'stored' && ++storedSinceCheckpoint >= (input.checkpointEvery ?? CHECKPOINT_EVERY)) {
                    storedSinceCheckpoint = 0;
                    checkpoint = checkpoint.then(() => input.store.writeCheckpoint(manifestOf([...files], [], input), dir));
                    await checkpoint;
                }
            }
            catch (error) {
                if (!(error instanceof Skip))
                    throw error;
                skipped.push({ bucket: row.bucket, name: row.name, id: row.id, version: row.version, reason: error.reason, detail: error.message });
                input.log.warning(`Storage file ${(0,src_log/* printable */.g$)(row.bucket)}/${(0,src_log/* printable */.g$)(row.name)}: ${error.message}`);
            }
            if (++done % 1000 === 0)
                input.log.info(`⏳ Storage files: ${done} of ${input.rows.length}`);
        });
        manifest = manifestOf(files, skipped, input);
        await input.store.writeManifest(manifest, input.sealing, dir);
        // What this run reused from the checkpoints of interrupted runs is in its own index now.
        await input.store.remote.deleteKeys(input.store.bucket, checkpointKeys);
    }
    finally {
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
    return manifest;
}
function manifestOf(files, skipped, input) {
    const order = (a, b) => a.bucket === b.bucket ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.bucket < b.bucket ? -1 : 1;
    files.sort(order);
    skipped.sort(order);
    return {
        format: MANIFEST_FORMAT,
        backup: input.backup,
        snapshot: input.snapshotId,
        createdAt: input.createdAt.toISOString(),
        blobNaming: input.sealing ? 'row' : 'sha256',
        encryption: input.sealing?.fingerprint ?? null,
        counts: countFiles(files, skipped),
        files,
        skipped,
    };
}
/**
 * The last backup's index and the checkpoints of runs that failed since, when their blobs were sealed
 * the way this run seals them (else those files are fetched again).
 */
async function previousIndex(input, checkpointKeys) {
    const fingerprint = input.sealing?.fingerprint ?? null;
    const latest = await input.store.latestIndex();
    const checkpoints = await Promise.all(checkpointKeys.map((key) => input.store.readCheckpoint(key)));
    const usable = [latest, ...checkpoints].filter((index) => index !== null && index.encryption === fingerprint);
    if (latest && latest.encryption !== fingerprint) {
        input.log.info('🗂️ The previous file backup was sealed with another key (or none): every file is stored again');
    }
    const resumed = checkpoints.filter((c) => c.encryption === fingerprint).reduce((n, c) => n + c.entries.length, 0);
    if (resumed > 0)
        input.log.info(`🗂️ Resuming: ${resumed} file(s) stored by a run that did not finish are not fetched again`);
    return new PreviousIndex(usable);
}
function entryOf(row, size, sha256, blob, origin) {
    return {
        bucket: row.bucket,
        name: row.name,
        id: row.id,
        version: row.version,
        size,
        sha256,
        eTag: row.eTag,
        contentType: row.contentType,
        cacheControl: row.cacheControl,
        userMetadata: row.userMetadata,
        blob,
        origin,
    };
}
async function backupOne(row, previous, known, dir, input) {
    if (!isReadableBucket(row.bucket) || !isReadableName(row.name)) {
        throw new Skip('unreadable-name', "its name holds characters Storage's API cannot read or write (unicode, %, #, ~, [], quotes, backslash)");
    }
    const reused = previous.find(row);
    if (reused)
        return entryOf(row, reused.size, reused.sha256, reused.blob, 'reused');
    const temp = external_node_path_.join(dir, rowKey(row));
    try {
        const fetched = await download(row, temp, input);
        const blob = input.sealing ? `${rowKey(row)}.age` : fetched.sha256;
        if (!known.has(blob)) {
            known.add(blob);
            await storeBlob(temp, blob, input);
        }
        return entryOf(row, fetched.size, fetched.sha256, blob, 'stored');
    }
    finally {
        await (0,promises_.rm)(temp, { force: true });
        await (0,promises_.rm)(`${temp}.age`, { force: true });
    }
}
/** Quotes and case do not matter in an ETag comparison; a weak prefix neither. */
function sameETag(a, b) {
    const norm = (tag) => tag.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
    return typeof a === 'string' && typeof b === 'string' && norm(a) === norm(b);
}
/** GET into `file` with its sha256, retried on throttling and server errors; Skip when the row's bytes cannot be had. */
async function download(row, file, input) {
    try {
        return await withRetries(async () => {
            const answer = await input.source.get(row.bucket, row.name, input.signal);
            if (row.eTag && !sameETag(answer.eTag, row.eTag)) {
                answer.body.destroy();
                throw new Skip('changed', `changed during the backup (ETag ${answer.eTag ?? 'none'}, the snapshot's row has ${row.eTag}): ` +
                    'Storage keeps no old versions, so the bytes of the snapshot are gone; the next backup stores the new ones');
            }
            const hash = new HashStream();
            await (0,external_node_stream_promises_.pipeline)(answer.body, hash, (0,external_node_fs_.createWriteStream)(file, { mode: 0o600 }), { signal: input.signal });
            if (row.size !== null && hash.size !== row.size) {
                throw new Skip('changed', `changed during the backup (${hash.size} bytes read, the snapshot's row says ${row.size})`);
            }
            return { size: hash.size, sha256: hash.digest() };
        }, input.retry ?? DEFAULT_RETRY, input.signal, (error) => !(error instanceof Skip) && isRetryable(error));
    }
    catch (error) {
        if (error instanceof Skip)
            throw error;
        input.signal?.throwIfAborted();
        const status = statusOf(error);
        if (status === 400)
            throw new Skip('unreadable-name', `Storage refused its name (HTTP 400: ${error.name})`);
        if (status !== undefined && (status === 404 || status >= 500 || status === 403)) {
            throw new Skip('missing', `its bytes could not be read (HTTP ${status} after retries): the row has no file behind it`);
        }
        throw error;
    }
}
/** Uploads a downloaded file to the store (encrypted first when the backup is), unless the blob is there already. */
async function storeBlob(file, blob, input) {
    const key = input.store.blobKey(blob);
    if (await input.store.remote.exists(input.store.bucket, key))
        return;
    let upload = file;
    if (input.sealing) {
        upload = `${file}.age`;
        await encryptFile(file, upload, input.sealing);
    }
    const { size } = await (0,promises_.stat)(upload);
    await withRetries(() => input.store.remote.putFile(input.store.bucket, key, upload, size, {}, input.signal), input.retry ?? DEFAULT_RETRY, input.signal);
}
/** Passes bytes through while counting them and computing their sha256. */
class HashStream extends external_node_stream_.Transform {
    hash = (0,external_node_crypto_.createHash)('sha256');
    size = 0;
    _transform(chunk, _encoding, done) {
        this.hash.update(chunk);
        this.size += chunk.length;
        done(null, chunk);
    }
    digest() {
        return this.hash.digest('hex');
    }
}
/** One log line of a manifest's counts. */
function describeCounts(manifest) {
    const c = manifest.counts;
    return (`${manifest.files.length} files (${(0,src_log/* formatBytes */.z3)(c.bytes)}): ${c.stored} stored (${(0,src_log/* formatBytes */.z3)(c.storedBytes)}), ` +
        `${c.reused} reused from earlier backups, ${c.changed} changed during the backup, ${c.missing} missing, ` +
        `${c.unreadableNames} unreadable names`);
}

// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var dist_cjs = __webpack_require__(53711);
;// CONCATENATED MODULE: ./lib/src/storage/remote.js
/**
 * The few S3 calls Storage files need, over an S3Client (src/s3/ makes the clients): Storage's S3
 * protocol on one side, the backup's bucket on the other. Errors keep their HTTP status (statusOf).
 */



class Remote {
    client;
    constructor(client) {
        this.client = client;
    }
    async get(bucket, key, signal) {
        const answer = await this.client.send(new dist_cjs.GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        if (!answer.Body)
            throw new Error(`s3://${bucket}/${key}: the answer had no body`);
        return { body: answer.Body, eTag: answer.ETag, size: answer.ContentLength };
    }
    async getText(bucket, key) {
        const answer = await this.get(bucket, key);
        const chunks = [];
        for await (const chunk of answer.body)
            chunks.push(Buffer.from(chunk));
        return Buffer.concat(chunks).toString('utf8');
    }
    async getBytes(bucket, key) {
        const answer = await this.get(bucket, key);
        const chunks = [];
        for await (const chunk of answer.body)
            chunks.push(Buffer.from(chunk));
        return Buffer.concat(chunks);
    }
    /** Uploads a local file (its length known: no streaming upload needed). */
    async putFile(bucket, key, file, size, options = {}, signal) {
        await this.client.send(new dist_cjs.PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: (0,external_node_fs_.createReadStream)(file),
            ContentLength: size,
            ...(options.contentType ? { ContentType: options.contentType } : {}),
            ...(options.cacheControl ? { CacheControl: options.cacheControl } : {}),
        }), { abortSignal: signal });
    }
    async putBytes(bucket, key, bytes, contentType = 'application/octet-stream') {
        await this.client.send(new dist_cjs.PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.length, ContentType: contentType }));
    }
    async exists(bucket, key) {
        try {
            await this.client.send(new dist_cjs.HeadObjectCommand({ Bucket: bucket, Key: key }));
            return true;
        }
        catch (error) {
            if (statusOf(error) === 404)
                return false;
            throw error;
        }
    }
    /** Every object under `prefix`, page by page (servers cap a page at 1000 keys). */
    async *list(bucket, prefix, delimiter) {
        let token;
        do {
            const page = await this.client.send(new dist_cjs.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, ...(delimiter ? { Delimiter: delimiter } : {}) }));
            for (const item of page.Contents ?? []) {
                if (item.Key)
                    yield { key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified };
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
    }
    async deleteKeys(bucket, keys) {
        for (let at = 0; at < keys.length; at += 1000) {
            const batch = keys.slice(at, at + 1000).map((Key) => ({ Key }));
            await this.client.send(new dist_cjs.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
        }
    }
}

;// CONCATENATED MODULE: ./lib/src/storage/restore.js
/**
 * `restore --storage-files`: the files of a backup's manifest back into a project's Storage, after the
 * SQL restore brought back their rows (docs/storage-files.md):
 *   1. each bucket's `allowed_mime_types` and `file_size_limit` are lifted, so no file the source holds
 *      is refused (415, 413), and put back exactly as they were afterwards, whatever happens;
 *   2. every file is read from the store (decrypted), checked against its sha256, and uploaded with S3
 *      PutObject to the same bucket and name with the source row's Content-Type and Cache-Control:
 *      Storage upserts onto the restored row, keeping its id, owner and created_at;
 *   3. `user_metadata` is put back by SQL (PutObject replaces it, and x-amz-meta keeps strings only);
 *   4. every file is read back from Storage and hashed: it must be the manifest's sha256.
 */









class FilesRestoreError extends Error {
    name = 'FilesRestoreError';
}
async function restoreFiles(input) {
    const { manifest, log } = input;
    const buckets = [...new Set(manifest.files.map((f) => f.bucket))];
    const missingBuckets = await bucketsNotInTarget(input.db, buckets);
    if (missingBuckets.length > 0) {
        throw new FilesRestoreError(`the target has no bucket ${missingBuckets.map(src_log/* printable */.g$).join(', ')}: restore the SQL backup ${manifest.backup} first (it brings the buckets and the rows back)`);
    }
    const dir = await (0,promises_.mkdtemp)(external_node_path_.join(input.work, 'files-restore-'));
    const limits = await liftBucketLimits(input.db, buckets);
    let restored = 0;
    let bytes = 0;
    try {
        await forEachLimited(manifest.files, input.concurrency ?? DEFAULT_CONCURRENCY, async (file) => {
            await uploadOne(file, dir, input);
            bytes += file.size;
            if (++restored % 500 === 0)
                log.info(`⏳ Storage files restored: ${restored} of ${manifest.files.length} (${(0,src_log/* formatBytes */.z3)(bytes)})`);
        });
    }
    finally {
        await putBackBucketLimits(input.db, limits);
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
    for (const skipped of manifest.skipped) {
        log.warning(`Storage file ${(0,src_log/* printable */.g$)(skipped.bucket)}/${(0,src_log/* printable */.g$)(skipped.name)} is not in the backup (${skipped.reason}): its row is restored without bytes`);
    }
    log.info(`✅ ${restored} Storage files uploaded (${(0,src_log/* formatBytes */.z3)(bytes)}); bucket limits put back as they were`);
    await putBackUserMetadata(input.db, manifest.files);
    const mismatches = await checkRestoredFiles(input);
    if (mismatches.length > 0) {
        throw new FilesRestoreError(`${mismatches.length} restored file(s) do not hash to the manifest's sha256: ${mismatches.slice(0, 10).join(', ')}`);
    }
    log.info(`🔍 Every restored file read back from Storage hashes to the manifest's sha256 (${restored} files)`);
    return { restored, bytes, notInBackup: manifest.skipped.length, mismatches };
}
async function bucketsNotInTarget(db, buckets) {
    const { rows } = await db.query('SELECT id FROM storage.buckets WHERE id = ANY($1::text[])', [buckets]);
    const present = new Set(rows.map((r) => r.id));
    return buckets.filter((b) => !present.has(b));
}
/** Reads the limits of the buckets, then clears them: a file the source holds must not be refused (415/413). */
async function liftBucketLimits(db, buckets) {
    const { rows } = await db.query(`SELECT id, allowed_mime_types, file_size_limit::text AS file_size_limit FROM storage.buckets
      WHERE id = ANY($1::text[]) AND (allowed_mime_types IS NOT NULL OR file_size_limit IS NOT NULL)`, [buckets]);
    if (rows.length > 0) {
        await db.query('UPDATE storage.buckets SET allowed_mime_types = NULL, file_size_limit = NULL WHERE id = ANY($1::text[])', [
            rows.map((r) => r.id),
        ]);
    }
    return rows;
}
async function putBackBucketLimits(db, limits) {
    for (const bucket of limits) {
        await db.query('UPDATE storage.buckets SET allowed_mime_types = $2::text[], file_size_limit = $3::bigint WHERE id = $1', [
            bucket.id,
            bucket.allowed_mime_types,
            bucket.file_size_limit,
        ]);
    }
}
/** Blob → plain temporary file (checked against the sha256) → PutObject, retried on throttling and server errors. */
async function uploadOne(file, dir, input) {
    const temp = external_node_path_.join(dir, `${file.blob}-${Math.random().toString(36).slice(2)}`);
    const retry = input.retry ?? DEFAULT_RETRY;
    try {
        await withRetries(() => fetchBlob(file, temp, input), retry, input.signal);
        await withRetries(() => input.target.putFile(file.bucket, file.name, temp, file.size, { contentType: file.contentType ?? undefined, cacheControl: file.cacheControl ?? undefined }, input.signal), retry, input.signal);
    }
    finally {
        await (0,promises_.rm)(temp, { force: true });
    }
}
async function fetchBlob(file, temp, input) {
    const answer = await input.store.remote.get(input.store.bucket, input.store.blobKey(file.blob), input.signal);
    const hash = new HashStream();
    const sealed = file.blob.endsWith('.age');
    const decrypt = sealed ? new agestream/* AgeDecryptStream */.Rk({ identities: input.identities }) : undefined;
    if (sealed && input.identities.length === 0)
        throw new FilesRestoreError('the files are encrypted: give the age identity or the passphrase');
    await Promise.all([
        decrypt?.ready,
        (0,external_node_stream_promises_.pipeline)([answer.body, ...(decrypt ? [decrypt] : []), hash, (0,external_node_fs_.createWriteStream)(temp, { mode: 0o600 })], { signal: input.signal }),
    ]);
    const sha256 = hash.digest();
    if (sha256 !== file.sha256) {
        throw new FilesRestoreError(`${file.bucket}/${file.name}: the stored blob hashes to ${sha256}, the manifest says ${file.sha256}`);
    }
}
/** user_metadata exactly as the source row had it (PutObject replaced it with what x-amz-meta could carry). */
async function putBackUserMetadata(db, files) {
    for (let at = 0; at < files.length; at += 1000) {
        const batch = files.slice(at, at + 1000);
        await db.query(`UPDATE storage.objects o SET user_metadata = u.meta::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[]) AS u(bucket, name, meta)
        WHERE o.bucket_id = u.bucket AND o.name = u.name`, [batch.map((f) => f.bucket), batch.map((f) => f.name), batch.map((f) => f.userMetadata)]);
    }
}
/** Every restored file read back through Storage and hashed; returns the ones that differ. */
async function checkRestoredFiles(input) {
    const mismatches = [];
    await forEachLimited(input.manifest.files, input.concurrency ?? DEFAULT_CONCURRENCY, async (file) => {
        const sha256 = await withRetries(async () => {
            const answer = await input.target.get(file.bucket, file.name, input.signal);
            const hash = new HashStream();
            await (0,external_node_stream_promises_.pipeline)(answer.body, hash, new external_node_stream_.Writable({ write: (_chunk, _encoding, done) => done() }), { signal: input.signal });
            return hash.digest();
        }, input.retry ?? DEFAULT_RETRY, input.signal);
        if (sha256 !== file.sha256)
            mismatches.push(`${(0,src_log/* printable */.g$)(file.bucket)}/${(0,src_log/* printable */.g$)(file.name)}`);
    });
    return mismatches;
}

;// CONCATENATED MODULE: ./lib/src/storage/store.js
/**
 * The file store beside the SQL backups in the backup bucket (docs/storage-files.md):
 *
 *   <prefix>storage-files/blobs/<sha256>            plain: named by content (identical files stored once)
 *   <prefix>storage-files/blobs/<row key>.age       encrypted: named by row version, never by content
 *   <prefix>storage-files/manifests/<backup>.files.json[.age]   everything a restore needs
 *   <prefix>storage-files/indexes/<backup>.index.json           plain: what the next run and retention need
 *   <prefix>storage-files/passphrase-salt                        the salt a passphrase is stretched with
 */








const ROOT = 'storage-files/';
class FileStore {
    remote;
    bucket;
    prefix;
    constructor(remote, bucket, 
    /** '' or ending in '/'. */
    prefix) {
        this.remote = remote;
        this.bucket = bucket;
        this.prefix = prefix;
    }
    blobKey(blob) {
        return `${this.prefix}${ROOT}blobs/${blob}`;
    }
    manifestKey(backup, sealed) {
        return `${this.prefix}${ROOT}manifests/${backup}.files.json${sealed ? '.age' : ''}`;
    }
    indexKey(backup) {
        return `${this.prefix}${ROOT}indexes/${backup}.index.json`;
    }
    /** The store's passphrase salt, made on first use. */
    async passphraseSalt(create) {
        const key = `${this.prefix}${ROOT}passphrase-salt`;
        if (await this.remote.exists(this.bucket, key))
            return Buffer.from((await this.remote.getText(this.bucket, key)).trim(), 'base64');
        if (!create)
            throw new Error(`the file store has no ${key}: no passphrase-encrypted file was ever stored there`);
        const salt = (0,external_node_crypto_.randomBytes)(16);
        await this.remote.putBytes(this.bucket, key, Buffer.from(salt.toString('base64')), 'text/plain');
        return salt;
    }
    /** The backups that have a file index, oldest first (backup names start with their UTC time). */
    async indexedBackups() {
        const prefix = `${this.prefix}${ROOT}indexes/`;
        const names = [];
        for await (const item of this.remote.list(this.bucket, prefix)) {
            const name = item.key.slice(prefix.length);
            if (name.endsWith('.index.json') && !name.includes('/'))
                names.push(name.slice(0, -'.index.json'.length));
        }
        return names.sort();
    }
    checkpointKey(backup) {
        return `${this.prefix}${ROOT}indexes/partial/${backup}.index.json`;
    }
    /** The checkpoints of runs that stopped before their index was written, with when they were written. */
    async checkpoints() {
        const found = [];
        for await (const item of this.remote.list(this.bucket, `${this.prefix}${ROOT}indexes/partial/`)) {
            if (item.key.endsWith('.index.json'))
                found.push({ key: item.key, lastModified: item.lastModified });
        }
        return found;
    }
    async readCheckpoint(key) {
        return parseIndex(await this.remote.getText(this.bucket, key));
    }
    /** What a run has stored so far, so that a rerun after a failure does not fetch it again. */
    async writeCheckpoint(manifest, dir) {
        const { entries, ...head } = indexOf(manifest);
        const file = external_node_path_.join(dir, 'checkpoint.json');
        await writeJsonFile(file, head, { entries }, null);
        await this.putSmallFile(this.checkpointKey(manifest.backup), file, 'application/json');
    }
    async readIndex(backup) {
        return parseIndex(await this.remote.getText(this.bucket, this.indexKey(backup)));
    }
    /** The newest index, or null when the store holds none yet (a first, full backup). */
    async latestIndex() {
        const backups = await this.indexedBackups();
        const newest = backups.at(-1);
        return newest ? this.readIndex(newest) : null;
    }
    /**
     * The manifest first, then the index: a backup is listed (indexedBackups) only once both are stored.
     * Both are written to files in `dir` an entry at a time (never one string of the whole), then uploaded.
     */
    async writeManifest(manifest, sealing, dir) {
        const { files, skipped, ...head } = manifest;
        const manifestFile = external_node_path_.join(dir, 'manifest.json');
        await writeJsonFile(manifestFile, head, { files, skipped }, sealing);
        await this.putSmallFile(this.manifestKey(manifest.backup, sealing !== null), manifestFile, sealing ? 'application/octet-stream' : 'application/json');
        const { entries, ...indexHead } = indexOf(manifest);
        const indexFile = external_node_path_.join(dir, 'index.json');
        await writeJsonFile(indexFile, indexHead, { entries }, null);
        await this.putSmallFile(this.indexKey(manifest.backup), indexFile, 'application/json');
        await this.remote.deleteKeys(this.bucket, [this.checkpointKey(manifest.backup)]);
    }
    async putSmallFile(key, file, contentType) {
        const { size } = await (0,promises_.stat)(file);
        await this.remote.putFile(this.bucket, key, file, size, { contentType });
        await (0,promises_.rm)(file, { force: true });
    }
    /** A backup's manifest, decrypted with `identities` when it was stored encrypted. */
    async readManifest(backup, identities) {
        const plainKey = this.manifestKey(backup, false);
        if (await this.remote.exists(this.bucket, plainKey))
            return parseManifest(await this.remote.getText(this.bucket, plainKey));
        const sealed = await this.remote.getBytes(this.bucket, this.manifestKey(backup, true));
        if (identities.length === 0)
            throw new Error(`the file manifest of ${backup} is encrypted: give the age identity or the passphrase`);
        return parseManifest((await decryptBytes(sealed, identities)).toString('utf8'));
    }
}
/** `{...head, "<list>": [item, item, …], …}` as a stream of small strings, through age when sealed. */
async function writeJsonFile(file, head, lists, sealing) {
    async function* json() {
        yield JSON.stringify(head).slice(0, -1);
        for (const [name, items] of Object.entries(lists)) {
            yield `,${JSON.stringify(name)}:[`;
            for (let i = 0; i < items.length; i++)
                yield `${i === 0 ? '' : ','}\n${JSON.stringify(items[i])}`;
            yield ']';
        }
        yield '}\n';
    }
    const stages = [external_node_stream_.Readable.from(json()), ...(sealing ? [new agestream/* AgeEncryptStream */.TB({ recipients: sealing.recipients })] : []), (0,external_node_fs_.createWriteStream)(file, { mode: 0o600 })];
    await (0,external_node_stream_promises_.pipeline)(stages);
}
async function collect(stream) {
    const chunks = [];
    for await (const chunk of stream)
        chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
}
async function decryptBytes(bytes, identities) {
    const decrypt = new agestream/* AgeDecryptStream */.Rk({ identities });
    const [, plain] = await Promise.all([decrypt.ready, collect(external_node_stream_.Readable.from([bytes]).pipe(decrypt))]);
    return plain;
}

;// CONCATENATED MODULE: ./lib/src/storage/retention.js
/** A day: no run takes that long between storing its first blob and writing its index. */
const BLOB_GRACE_MS = 24 * 60 * 60 * 1000;
async function pruneFileStore(store, ownBackup, log, graceMs = BLOB_GRACE_MS, now = new Date()) {
    const sqlBackups = await backupsUnderPrefix(store);
    const indexed = await store.indexedBackups();
    const gone = indexed.filter((name) => name < ownBackup && !sqlBackups.has(name));
    await store.remote.deleteKeys(store.bucket, gone.flatMap((name) => [store.indexKey(name), store.manifestKey(name, false), store.manifestKey(name, true)]));
    const referenced = new Set();
    for (const name of indexed.filter((n) => !gone.includes(n))) {
        for (const entry of (await store.readIndex(name)).entries)
            referenced.add(entry.b);
    }
    // A run that failed (or runs now) keeps what it stored for the rerun that resumes it.
    for (const checkpoint of await store.checkpoints()) {
        for (const entry of (await store.readCheckpoint(checkpoint.key)).entries)
            referenced.add(entry.b);
    }
    const blobPrefix = store.blobKey('');
    const unreferenced = [];
    for await (const blob of store.remote.list(store.bucket, blobPrefix)) {
        const old = !blob.lastModified || now.getTime() - blob.lastModified.getTime() >= graceMs;
        if (old && !referenced.has(blob.key.slice(blobPrefix.length)))
            unreferenced.push(blob.key);
    }
    await store.remote.deleteKeys(store.bucket, unreferenced);
    if (gone.length > 0 || unreferenced.length > 0) {
        log.info(`🧹 Storage files: deleted the file manifests of ${gone.length} deleted backup(s) and ${unreferenced.length} file(s) no kept backup references`);
    }
    return { backups: gone, blobs: unreferenced.length };
}
/** The SQL backup files directly under the prefix (`full_…`). */
async function backupsUnderPrefix(store) {
    const names = new Set();
    for await (const item of store.remote.list(store.bucket, store.prefix, '/')) {
        const name = item.key.slice(store.prefix.length);
        if (name.startsWith('full_') && !name.includes('/'))
            names.add(name);
    }
    return names;
}

;// CONCATENATED MODULE: ./lib/src/storage/run.js







/** Storage's S3 protocol: the SDK does not retry here, the transfer's own retries (with reports) do. */
function storageClient(settings) {
    return (0,client/* createS3Client */.qo)({
        endpoint: settings.endpoint,
        region: settings.region,
        regionGiven: true,
        forcePathStyle: true,
        credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
        maxAttempts: 1,
    });
}
function fileStoreFor(s3, env = process.env) {
    return new FileStore(new Remote((0,client/* createS3Client */.qo)((0,settings/* s3Settings */.os)(s3.inputs, env))), s3.location.bucket, s3.location.prefix);
}
async function backupStorageFiles(input) {
    const { config, log } = input;
    if (!config.storageFiles || !config.s3)
        throw new Error('storage-files needs the s3 destination');
    const source = storageClient(config.storageFiles);
    const store = fileStoreFor(config.s3);
    try {
        const sealing = await fileSealing(config.encryption, () => store.passphraseSalt(true));
        log.info(`🗂️ Storage files: ${input.rows.length} file rows in the snapshot, fetched from ${config.storageFiles.endpoint}${sealing ? ' (stored encrypted)' : ''}`);
        const manifest = await backupFiles({
            rows: input.rows,
            source: new Remote(source),
            store,
            sealing,
            backup: input.backup,
            snapshotId: input.snapshotId,
            createdAt: input.createdAt,
            work: input.work,
            log,
            ...(input.retry ? { retry: input.retry } : {}),
            ...(input.signal ? { signal: input.signal } : {}),
        });
        log.info(`✅ Storage files: ${describeCounts(manifest)}`);
        return summaryOf(manifest, store, sealing !== null);
    }
    finally {
        source.destroy();
        store.remote.client.destroy();
    }
}
function summaryOf(manifest, store, sealed) {
    return {
        manifest: `s3://${store.bucket}/${store.manifestKey(manifest.backup, sealed)}`,
        counts: manifest.counts,
        files: manifest.files.length,
        skipped: manifest.skipped.slice(0, 100),
    };
}
/** The identities that open a store's files: the given ones, plus the one a passphrase stands for. */
async function identitiesFor(store, identities, passphrase) {
    if (!passphrase)
        return identities;
    return [...identities, passphraseIdentity(passphrase, await store.passphraseSalt(false))];
}
async function restoreStorageFiles(input) {
    const identities = await identitiesFor(input.store, input.identities, input.passphrase);
    const manifest = await input.store.readManifest(input.backup, identities);
    input.log.info(`🗂️ Storage files of ${input.backup}: ${manifest.files.length} to restore into ${input.target.endpoint}`);
    const target = storageClient(input.target);
    try {
        return await restoreFiles({
            manifest,
            store: input.store,
            identities,
            target: new Remote(target),
            db: input.db,
            work: input.work,
            log: input.log,
            ...(input.retry ? { retry: input.retry } : {}),
        });
    }
    finally {
        target.destroy();
    }
}
/** Retention of the file store after a backup; a failure is a warning (the backup itself is stored). */
async function pruneStorageFiles(s3, ownBackup, log) {
    const store = fileStoreFor(s3);
    try {
        await pruneFileStore(store, ownBackup, log);
    }
    catch (error) {
        log.warning(`The backup and its files are stored, but deleting files no kept backup needs failed: ${error.message}`);
    }
    finally {
        store.remote.client.destroy();
    }
}


/***/ })

};
