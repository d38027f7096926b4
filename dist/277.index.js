export const id = 277;
export const ids = [277];
export const modules = {

/***/ 53277:
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

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./lib/src/s3/client.js
var client = __webpack_require__(81922);
// EXTERNAL MODULE: ./lib/src/s3/errors.js
var errors = __webpack_require__(52254);
// EXTERNAL MODULE: ./lib/src/s3/settings.js
var settings = __webpack_require__(27156);
// EXTERNAL MODULE: ./lib/src/s3/objects.js + 1 modules
var objects = __webpack_require__(66627);
;// CONCATENATED MODULE: ./lib/src/s3/index.js
/** The S3 module: client settings, s3:// URLs, operations and error wording (see each file). */






// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(57075);
// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(46466);
// EXTERNAL MODULE: ./lib/src/log.js
var src_log = __webpack_require__(40736);
// EXTERNAL MODULE: ./lib/src/storage/jsonfiles.js + 1 modules
var jsonfiles = __webpack_require__(45611);
;// CONCATENATED MODULE: ./lib/src/storage/manifest.js
/**
 * What a backup's Storage files are: the per-backup file manifest (everything a restore needs, encrypted
 * with the backup when encryption is on) and the per-backup index (always plain: what the next run and
 * retention need, and nothing that reveals a file's contents or name). Design: docs/storage-files.md.
 */

const MANIFEST_FORMAT = 'supabase-complete-backup/storage-files/v1';
/** The counts of a manifest, kept as its entries are written. */
class FileTally {
    counts = { stored: 0, reused: 0, changed: 0, missing: 0, unreadableNames: 0, bytes: 0, storedBytes: 0 };
    file(entry) {
        this.counts.bytes += entry.size;
        if (entry.origin === 'stored') {
            this.counts.stored++;
            this.counts.storedBytes += entry.size;
        }
        else
            this.counts.reused++;
    }
    skip(skipped) {
        if (skipped.reason === 'changed')
            this.counts.changed++;
        else if (skipped.reason === 'missing')
            this.counts.missing++;
        else
            this.counts.unreadableNames++;
    }
    get files() {
        return this.counts.stored + this.counts.reused;
    }
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
/** A file's line in the index: what the next run looks it up by, and what retention keeps. */
function indexEntryOf(file, sealed) {
    return { k: rowKey(file), b: file.blob, d: sealed ? sealDigest(file, file.sha256) : file.sha256, s: file.size };
}
/** Throws unless a document read from the store is one of this tool's (its `format` field). */
function checkFormat(format, what) {
    if (format !== MANIFEST_FORMAT)
        throw new Error(`not a storage files ${what} of this tool (format ${String(format)})`);
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

// EXTERNAL MODULE: ./lib/src/storage/objects.js
var storage_objects = __webpack_require__(35304);
;// CONCATENATED MODULE: ./lib/src/storage/sortedrecords.js
/**
 * Fixed-width binary records kept sorted by their first `keyWidth` bytes and found by binary search: the
 * compact form of a per-file lookup. 100 000 files cost 100 000 × `width` bytes (33 to 44 here), where a
 * Map or Set of hex strings costs about 110 bytes a file and much more garbage on the way.
 * A key added twice keeps its last record.
 */
const CHUNK_RECORDS = 4096;
class SortedRecords {
    width;
    keyWidth;
    sorted = Buffer.alloc(0);
    full = [];
    tail;
    tailUsed = 0;
    pendingCount = 0;
    constructor(width, 
    /** At least 4 bytes. */
    keyWidth) {
        this.width = width;
        this.keyWidth = keyWidth;
        if (keyWidth < 4 || keyWidth > width)
            throw new Error(`a key of ${keyWidth} bytes in a record of ${width}`);
        this.tail = Buffer.allocUnsafe(width * CHUNK_RECORDS);
    }
    get size() {
        this.compact();
        return this.sorted.length / this.width;
    }
    /** Appends a record (its bytes are copied). Sorting waits until enough are pending, or a lookup. */
    add(record) {
        if (record.length !== this.width)
            throw new Error(`a record of ${record.length} bytes, expected ${this.width}`);
        if (this.tailUsed === CHUNK_RECORDS) {
            this.full.push(this.tail);
            this.tail = Buffer.allocUnsafe(this.width * CHUNK_RECORDS);
            this.tailUsed = 0;
        }
        this.tail.set(record, this.tailUsed * this.width);
        this.tailUsed++;
        // Duplicates (the same blob named by many backups) are merged away before they pile up.
        if (++this.pendingCount >= Math.max(65_536, this.sorted.length / this.width))
            this.compact();
    }
    /** The record whose key is `key`, or null. */
    find(key) {
        this.compact();
        const { width, keyWidth, sorted } = this;
        let low = 0;
        let high = sorted.length / width;
        while (low < high) {
            const mid = (low + high) >>> 1;
            const order = sorted.compare(key, 0, keyWidth, mid * width, mid * width + keyWidth);
            if (order === 0)
                return sorted.subarray(mid * width, (mid + 1) * width);
            if (order < 0)
                low = mid + 1;
            else
                high = mid;
        }
        return null;
    }
    compact() {
        if (this.pendingCount === 0)
            return;
        const { width, keyWidth } = this;
        const all = Buffer.concat([this.sorted, ...this.full, this.tail.subarray(0, this.tailUsed * width)]);
        this.full = [];
        this.tailUsed = 0;
        this.pendingCount = 0;
        const count = all.length / width;
        // Sorted by key, then by when added: the last record of a run of equal keys is the one kept.
        // The keys' first 4 bytes decide nearly every comparison (keys are hashes) without a call into Buffer.
        const order = new Uint32Array(count);
        const prefix = new Uint32Array(count);
        for (let i = 0; i < count; i++) {
            order[i] = i;
            prefix[i] = all.readUInt32BE(i * width);
        }
        order.sort((a, b) => prefix[a] !== prefix[b]
            ? prefix[a] < prefix[b]
                ? -1
                : 1
            : all.compare(all, b * width, b * width + keyWidth, a * width, a * width + keyWidth) || a - b);
        let kept = 0;
        const out = Buffer.allocUnsafe(all.length);
        for (let i = 0; i < count; i++) {
            const at = order[i] * width;
            const next = i + 1 < count ? order[i + 1] * width : -1;
            if (next >= 0 && all.compare(all, next, next + keyWidth, at, at + keyWidth) === 0)
                continue;
            all.copy(out, kept * width, at, at + width);
            kept++;
        }
        this.sorted = Buffer.from(out.subarray(0, kept * width));
    }
}

;// CONCATENATED MODULE: ./lib/src/storage/previous.js
/**
 * The previous backups' index entries, looked up by row key without holding them: the entries stay in
 * JSON-lines files of the run's work directory, and memory holds one 44-byte record a file (the key's
 * 32 bytes, which file, where in it, how long), sorted for binary search: 4.4 MB for 100 000 files.
 */



const KEY = 32;
/** key, file number (2), offset (6), length (4). */
const RECORD = KEY + 2 + 6 + 4;
const HEX_KEY = /^[0-9a-f]{64}$/;
class PreviousIndex {
    sealed;
    records = new SortedRecords(RECORD, KEY);
    files = [];
    /**
     * @param sealed whether the digests are sealed (sealDigest): every index taken is sealed as this run seals.
     */
    constructor(sealed) {
        this.sealed = sealed;
    }
    /** Takes the entries of one index (a later one wins over an earlier one for the same key). */
    async add(entries) {
        await entries.flush();
        const fileNumber = this.files.length;
        this.files.push(await (0,promises_.open)(entries.path, 'r'));
        const record = Buffer.alloc(RECORD);
        let offset = 0;
        for await (const line of entries.lines()) {
            const length = Buffer.byteLength(line) + 1;
            const key = JSON.parse(line).k;
            if (typeof key === 'string' && HEX_KEY.test(key)) {
                record.write(key, 0, KEY, 'hex');
                record.writeUInt16BE(fileNumber, KEY);
                record.writeUIntBE(offset, KEY + 2, 6);
                record.writeUInt32BE(length - 1, KEY + 8);
                this.records.add(record);
            }
            offset += length;
        }
    }
    /** The row's copy in a previous backup, when it holds this row version (same key, same size, a digest that opens). */
    async find(row) {
        const record = this.records.find(Buffer.from(rowKey(row), 'hex'));
        if (!record)
            return null;
        const file = this.files[record.readUInt16BE(KEY)];
        const length = record.readUInt32BE(KEY + 8);
        const { buffer } = await file.read(Buffer.alloc(length), 0, length, record.readUIntBE(KEY + 2, 6));
        const entry = JSON.parse(buffer.toString('utf8'));
        if (row.size !== null && entry.s !== row.size)
            return null;
        const sha256 = this.sealed ? openDigest(row, entry.d) : entry.d;
        return sha256 && /^[0-9a-f]{64}$/.test(sha256) ? { blob: entry.b, sha256, size: entry.s } : null;
    }
    async close() {
        await Promise.all(this.files.map((file) => file.close()));
        this.files.length = 0;
    }
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
 * whatever the number of files (an async iterable, such as a file list read from disk, is read as the
 * calls go). The first error that `work` throws stops the rest and is thrown.
 */
async function forEachLimited(items, limit, work) {
    const iterator = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
    let failed = false;
    async function worker() {
        while (!failed) {
            try {
                const next = await iterator.next();
                if (next.done)
                    return;
                await work(next.value);
            }
            catch (error) {
                failed = true;
                throw error;
            }
        }
    }
    const workers = Array.from({ length: Math.max(1, limit) }, () => worker());
    const results = await Promise.allSettled(workers);
    if (failed)
        await iterator.return?.();
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
/** Skipped rows a summary lists (the counts have them all; the manifest lists every one). */
const SKIPPED_LISTED = 100;
/** Why a row's bytes are not in the backup: thrown inside one file's transfer, turned into a SkippedFile. */
class Skip extends Error {
    reason;
    constructor(reason, detail) {
        super(detail);
        this.reason = reason;
    }
}
/**
 * Every row of the file list, a few at a time; each file's manifest entry, index line or skipped row is
 * appended to a JSON-lines file in a private directory as it is done (in that order, not the list's),
 * and the manifest and index are composed from those files at the end: memory holds the files in
 * flight and one compact record a file of the previous index (previous.ts), whatever the count.
 */
async function backupFiles(input) {
    const checkpointKeys = (await input.store.checkpoints()).map((c) => c.key);
    const dir = await (0,promises_.mkdtemp)(external_node_path_.join(input.work, 'files-'));
    const previous = new PreviousIndex(input.sealing !== null);
    const opened = [];
    const create = async (name) => {
        const file = await jsonfiles/* JsonLinesFile */.c5.create(external_node_path_.join(dir, name));
        opened.push(file);
        return file;
    };
    try {
        await readPreviousIndexes(input, checkpointKeys, previous, create);
        const lists = { files: await create('files.jsonl'), skipped: await create('skipped.jsonl'), index: await create('index.jsonl') };
        const tally = new FileTally();
        const skipped = [];
        const storing = new Map();
        const every = input.checkpointEvery ?? CHECKPOINT_EVERY;
        let done = 0;
        let storedSinceCheckpoint = 0;
        let checkpointed = { part: 0, bytes: 0 };
        let checkpoint = Promise.resolve();
        await forEachLimited((0,storage_objects/* objectRows */.R)(input.rows), input.concurrency ?? DEFAULT_CONCURRENCY, async (row) => {
            try {
                const entry = await backupOne(row, previous, storing, dir, input);
                await lists.files.append(entry);
                await lists.index.append(indexEntryOf(entry, input.sealing !== null));
                tally.file(entry);
                if (entry.origin === 'stored' && ++storedSinceCheckpoint >= every) {
                    storedSinceCheckpoint = 0;
                    checkpoint = checkpoint.then(async () => {
                        const part = checkpointed.part + 1;
                        checkpointed = { part, bytes: await input.store.writeCheckpoint(indexHeadOf(input), lists.index, checkpointed.bytes, part, dir) };
                    });
                    await checkpoint;
                }
            }
            catch (error) {
                if (!(error instanceof Skip))
                    throw error;
                const skip = { bucket: row.bucket, name: row.name, id: row.id, version: row.version, reason: error.reason, detail: error.message };
                await lists.skipped.append(skip);
                tally.skip(skip);
                if (skipped.length < SKIPPED_LISTED)
                    skipped.push(skip);
                input.log.warning(`Storage file ${(0,src_log/* printable */.g$)(row.bucket)}/${(0,src_log/* printable */.g$)(row.name)}: ${error.message}`);
            }
            if (++done % 1000 === 0)
                input.log.info(`⏳ Storage files: ${done} of ${input.rows.count}`);
        });
        await checkpoint;
        const manifest = manifestHeadOf(input, tally.counts);
        await input.store.writeManifest(manifest, lists, input.sealing, dir);
        // What this run reused from the checkpoints of interrupted runs is in its own index now.
        await input.store.remote.deleteKeys(input.store.bucket, checkpointKeys);
        return { manifest, skipped };
    }
    finally {
        await previous.close();
        await Promise.all(opened.map((file) => file.close().catch(() => undefined)));
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
}
function indexHeadOf(input) {
    return {
        format: MANIFEST_FORMAT,
        backup: input.backup,
        createdAt: input.createdAt.toISOString(),
        blobNaming: input.sealing ? 'row' : 'sha256',
        encryption: input.sealing?.fingerprint ?? null,
    };
}
function manifestHeadOf(input, counts) {
    const { format, backup, createdAt, blobNaming, encryption } = indexHeadOf(input);
    return { format, backup, snapshot: input.snapshotId, createdAt, blobNaming, encryption, counts };
}
/**
 * The last backup's index and the checkpoints of runs that failed since, when their blobs were sealed
 * the way this run seals them (else those files are fetched again): each read from the bucket into a
 * local JSON-lines file, then taken into `previous`.
 */
async function readPreviousIndexes(input, checkpointKeys, previous, create) {
    const fingerprint = input.sealing?.fingerprint ?? null;
    const latest = (await input.store.indexedBackups()).at(-1);
    const keys = [...(latest ? [input.store.indexKey(latest)] : []), ...checkpointKeys];
    let resumed = 0;
    for (const [n, key] of keys.entries()) {
        const entries = await create(`previous-${n}.jsonl`);
        const head = await input.store.readIndexEntries(key, (entry) => entries.append(entry));
        if (head.encryption === fingerprint) {
            await previous.add(entries);
            if (n > 0 || !latest)
                resumed += entries.count;
        }
        else if (n === 0 && latest) {
            input.log.info('🗂️ The previous file backup was sealed with another key (or none): every file is stored again');
        }
    }
    if (resumed > 0)
        input.log.info(`🗂️ Resuming: ${resumed} file(s) stored by a run that did not finish are not fetched again`);
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
async function backupOne(row, previous, storing, dir, input) {
    if (!isReadableBucket(row.bucket) || !isReadableName(row.name)) {
        throw new Skip('unreadable-name', "its name holds characters Storage's API cannot read or write (unicode, %, #, ~, [], quotes, backslash)");
    }
    const reused = await previous.find(row);
    if (reused)
        return entryOf(row, reused.size, reused.sha256, reused.blob, 'reused');
    const temp = external_node_path_.join(dir, rowKey(row));
    try {
        const fetched = await download(row, temp, input);
        const blob = input.sealing ? `${rowKey(row)}.age` : fetched.sha256;
        // The same content in two files in flight at once is uploaded once (later ones find it by HEAD).
        let stored = storing.get(blob);
        if (!stored) {
            stored = storeBlob(temp, blob, input).finally(() => storing.delete(blob));
            storing.set(blob, stored);
        }
        await stored;
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
function describeCounts(c) {
    return (`${c.stored + c.reused} files (${(0,src_log/* formatBytes */.z3)(c.bytes)}): ${c.stored} stored (${(0,src_log/* formatBytes */.z3)(c.storedBytes)}), ` +
        `${c.reused} reused from earlier backups, ${c.changed} changed during the backup, ${c.missing} missing, ` +
        `${c.unreadableNames} unreadable names`);
}

// EXTERNAL MODULE: ./lib/src/storage/artifactlimit.js
var artifactlimit = __webpack_require__(32601);
;// CONCATENATED MODULE: ./lib/src/storage/localremote.js
/**
 * The file store's keys as files under a directory: the store the artifact destination carries (and a
 * downloaded, unzipped artifact that `restore --files-from DIR` reads). Key `a/b/c` is `<root>/a/b/c`;
 * the bucket argument is ignored. A file is written under a temporary name and renamed, so a key either
 * holds all its bytes or does not exist. A missing key fails like S3 does: an error with status 404.
 */



class LocalRemote {
    root;
    constructor(root) {
        this.root = root;
    }
    /** The path of a key; a key that would leave the root (`..`, absolute) is refused. */
    pathOf(key) {
        const parts = key.split('/');
        if (key.startsWith('/') || parts.some((part) => part === '..' || part === '.' || part.includes('\\'))) {
            throw new Error(`file store key '${key}' is not a plain relative path`);
        }
        return external_node_path_.join(this.root, ...parts);
    }
    async get(_bucket, key, signal) {
        const file = this.pathOf(key);
        const { size } = await (0,promises_.stat)(file).catch(notFound(key));
        return { body: (0,external_node_fs_.createReadStream)(file, signal ? { signal } : {}), eTag: undefined, size };
    }
    async getText(bucket, key) {
        return (await this.getBytes(bucket, key)).toString('utf8');
    }
    async getBytes(_bucket, key) {
        return (0,promises_.readFile)(this.pathOf(key)).catch(notFound(key));
    }
    async putFile(_bucket, key, file, _size, _options, signal) {
        signal?.throwIfAborted();
        await this.writeAtomically(key, (temp) => (0,promises_.copyFile)(file, temp));
    }
    async putBytes(_bucket, key, bytes) {
        await this.writeAtomically(key, (temp) => (0,promises_.writeFile)(temp, bytes, { mode: 0o600 }));
    }
    async exists(_bucket, key) {
        try {
            return (await (0,promises_.stat)(this.pathOf(key))).isFile();
        }
        catch (error) {
            if (error.code === 'ENOENT')
                return false;
            throw error;
        }
    }
    async *list(_bucket, prefix, delimiter) {
        for (const key of (await this.keysUnder(prefix.slice(0, prefix.lastIndexOf('/') + 1))).sort()) {
            if (!key.startsWith(prefix))
                continue;
            if (delimiter && key.slice(prefix.length).includes(delimiter))
                continue;
            const info = await (0,promises_.stat)(this.pathOf(key));
            yield { key, size: info.size, lastModified: info.mtime };
        }
    }
    async deleteKeys(_bucket, keys) {
        for (const key of keys)
            await (0,promises_.rm)(this.pathOf(key), { force: true });
    }
    close() { }
    /** Every key in the folder `dir` ('' or ending in '/') and below it. */
    async keysUnder(dir) {
        let entries;
        try {
            entries = await (0,promises_.readdir)(dir ? this.pathOf(dir.slice(0, -1)) : this.root, { withFileTypes: true });
        }
        catch (error) {
            if (error.code === 'ENOENT')
                return [];
            throw error;
        }
        const keys = [];
        for (const entry of entries) {
            if (entry.isDirectory())
                keys.push(...(await this.keysUnder(`${dir}${entry.name}/`)));
            else if (entry.isFile() && !entry.name.endsWith(PARTIAL))
                keys.push(`${dir}${entry.name}`);
        }
        return keys;
    }
    async writeAtomically(key, write) {
        const file = this.pathOf(key);
        await (0,promises_.mkdir)(external_node_path_.dirname(file), { recursive: true, mode: 0o700 });
        const temp = `${file}.${process.pid}${PARTIAL}`;
        try {
            await write(temp);
            await (0,promises_.rename)(temp, file);
        }
        finally {
            await (0,promises_.rm)(temp, { force: true });
        }
    }
}
const PARTIAL = '.partial';
function notFound(key) {
    return (error) => {
        if (error.code === 'ENOENT') {
            throw Object.assign(new Error(`${key}: not in the file store`), { status: 404 });
        }
        throw error;
    };
}
/** Every file under `root` with its size, as paths relative to it (the artifact's entries). */
async function filesUnder(root) {
    const remote = new LocalRemote(root);
    const found = [];
    for await (const item of remote.list('', ''))
        found.push({ file: remote.pathOf(item.key), size: item.size });
    return found;
}

// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var dist_cjs = __webpack_require__(53711);
;// CONCATENATED MODULE: ./lib/src/storage/remote.js
/**
 * The few S3 calls Storage files need: Storage's S3 protocol on one side, the file store on the other.
 * S3Remote speaks S3 over an S3Client (src/s3/ makes the clients); localremote.ts keeps the same keys
 * as files in a directory (the file store of the artifact). Errors keep their HTTP status (statusOf).
 */



class S3Remote {
    client;
    constructor(client) {
        this.client = client;
    }
    close() {
        this.client.destroy();
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
    const buckets = await bucketsOf(manifest);
    const missingBuckets = await bucketsNotInTarget(input.db, buckets);
    if (missingBuckets.length > 0) {
        throw new FilesRestoreError(`the target has no bucket ${missingBuckets.map(src_log/* printable */.g$).join(', ')}: restore the SQL backup ${manifest.head.backup} first (it brings the buckets and the rows back)`);
    }
    const dir = await (0,promises_.mkdtemp)(external_node_path_.join(input.work, 'files-restore-'));
    const limits = await liftBucketLimits(input.db, buckets);
    let restored = 0;
    let bytes = 0;
    try {
        await forEachLimited(manifest.files(), input.concurrency ?? DEFAULT_CONCURRENCY, async (file) => {
            await uploadOne(file, dir, input);
            bytes += file.size;
            if (++restored % 500 === 0)
                log.info(`⏳ Storage files restored: ${restored} of ${manifest.fileCount} (${(0,src_log/* formatBytes */.z3)(bytes)})`);
        });
    }
    finally {
        await putBackBucketLimits(input.db, limits);
        await (0,promises_.rm)(dir, { recursive: true, force: true });
    }
    for await (const skipped of manifest.skipped()) {
        log.warning(`Storage file ${(0,src_log/* printable */.g$)(skipped.bucket)}/${(0,src_log/* printable */.g$)(skipped.name)} is not in the backup (${skipped.reason}): its row is restored without bytes`);
    }
    log.info(`✅ ${restored} Storage files uploaded (${(0,src_log/* formatBytes */.z3)(bytes)}); bucket limits put back as they were`);
    await putBackUserMetadata(input.db, manifest.files());
    const mismatches = await checkRestoredFiles(input);
    if (mismatches.length > 0) {
        throw new FilesRestoreError(`${mismatches.length} restored file(s) do not hash to the manifest's sha256: ${mismatches.slice(0, 10).join(', ')}`);
    }
    log.info(`🔍 Every restored file read back from Storage hashes to the manifest's sha256 (${restored} files)`);
    return { restored, bytes, notInBackup: manifest.skippedCount, mismatches };
}
/** The buckets the files are in (a project has a handful). */
async function bucketsOf(manifest) {
    const buckets = new Set();
    for await (const file of manifest.files())
        buckets.add(file.bucket);
    return [...buckets];
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
/** user_metadata exactly as the source row had it (PutObject replaced it with what x-amz-meta could carry), 1 000 rows a statement. */
async function putBackUserMetadata(db, files) {
    let batch = [];
    const write = async () => {
        await db.query(`UPDATE storage.objects o SET user_metadata = u.meta::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[]) AS u(bucket, name, meta)
        WHERE o.bucket_id = u.bucket AND o.name = u.name`, [batch.map((f) => f.bucket), batch.map((f) => f.name), batch.map((f) => f.userMetadata)]);
        batch = [];
    };
    for await (const file of files) {
        batch.push(file);
        if (batch.length >= 1000)
            await write();
    }
    if (batch.length > 0)
        await write();
}
/** Every restored file read back through Storage and hashed; returns the ones that differ. */
async function checkRestoredFiles(input) {
    const mismatches = [];
    await forEachLimited(input.manifest.files(), input.concurrency ?? DEFAULT_CONCURRENCY, async (file) => {
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
 *   <prefix>storage-files/indexes/partial/<backup>.<part>.index.json   checkpoints of a run not finished
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
    /** The checkpoints of a run: part 1, 2, … each holds the index lines since the one before. */
    checkpointKey(backup, part) {
        return `${this.prefix}${ROOT}indexes/partial/${backup}.${String(part).padStart(6, '0')}.index.json`;
    }
    /** Every checkpoint part a run wrote (and the single checkpoint an earlier version wrote). */
    async checkpointKeysOf(backup) {
        const keys = [];
        for await (const item of this.remote.list(this.bucket, `${this.prefix}${ROOT}indexes/partial/${backup}.`))
            keys.push(item.key);
        return keys;
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
    /**
     * The entries of a stored index or checkpoint (`key`), handed to `onEntry` one at a time as they are
     * read from the bucket; returns the index's other fields.
     */
    async readIndexEntries(key, onEntry) {
        const answer = await this.remote.get(this.bucket, key);
        const head = {};
        await (0,jsonfiles/* readJsonParts */.nu)(answer.body, (part) => {
            if (part.kind === 'field') {
                head[part.key] = part.value;
                if (part.key === 'format')
                    checkFormat(part.value, 'index');
                return undefined;
            }
            return part.list === 'entries' ? onEntry(part.value) : undefined;
        });
        checkFormat(head.format, 'index');
        return head;
    }
    /**
     * What a run has stored since its last checkpoint (`entries`: its index lines, from byte `from`), so
     * that a rerun after a failure does not fetch it again. Returns where the next part starts.
     */
    async writeCheckpoint(head, entries, from, part, dir) {
        const flushed = await entries.flush();
        if (flushed.bytes === from)
            return from;
        const file = external_node_path_.join(dir, 'checkpoint.json');
        await writeJsonFile(file, head, { entries: { lines: () => flushed.lines(from) } }, null);
        await this.putSmallFile(this.checkpointKey(head.backup, part), file, 'application/json');
        return flushed.bytes;
    }
    /**
     * The manifest first, then the index: a backup is listed (indexedBackups) only once both are stored.
     * Both are composed from the run's JSON-lines files into files in `dir` (through age when sealed), an
     * entry at a time, then uploaded.
     */
    async writeManifest(head, lists, sealing, dir) {
        const manifestFile = external_node_path_.join(dir, 'manifest.json');
        await writeJsonFile(manifestFile, head, { files: await lists.files.flush(), skipped: await lists.skipped.flush() }, sealing);
        await this.putSmallFile(this.manifestKey(head.backup, sealing !== null), manifestFile, sealing ? 'application/octet-stream' : 'application/json');
        const indexHead = { format: head.format, backup: head.backup, createdAt: head.createdAt, blobNaming: head.blobNaming, encryption: head.encryption };
        const indexFile = external_node_path_.join(dir, 'index.json');
        await writeJsonFile(indexFile, indexHead, { entries: await lists.index.flush() }, null);
        await this.putSmallFile(this.indexKey(head.backup), indexFile, 'application/json');
        await this.remote.deleteKeys(this.bucket, await this.checkpointKeysOf(head.backup));
    }
    async putSmallFile(key, file, contentType) {
        const { size } = await (0,promises_.stat)(file);
        await this.remote.putFile(this.bucket, key, file, size, { contentType });
        await (0,promises_.rm)(file, { force: true });
    }
    /**
     * A backup's manifest, decrypted with `identities` when it was stored encrypted, brought into `dir` as
     * two JSON-lines files (its files and its skipped rows) that a restore reads as often as it needs.
     */
    async openManifest(backup, identities, dir) {
        const plainKey = this.manifestKey(backup, false);
        const sealed = !(await this.remote.exists(this.bucket, plainKey));
        if (sealed && identities.length === 0 && (await this.remote.exists(this.bucket, this.manifestKey(backup, true)))) {
            throw new Error(`the file manifest of ${backup} is encrypted: give the age identity or the passphrase`);
        }
        const answer = await this.remote.get(this.bucket, sealed ? this.manifestKey(backup, true) : plainKey);
        const files = await jsonfiles/* JsonLinesFile */.c5.create(external_node_path_.join(dir, 'manifest-files.jsonl'));
        const skipped = await jsonfiles/* JsonLinesFile */.c5.create(external_node_path_.join(dir, 'manifest-skipped.jsonl'));
        const head = {};
        const onPart = (part) => {
            if (part.kind === 'field') {
                head[part.key] = part.value;
                if (part.key === 'format')
                    checkFormat(part.value, 'manifest');
                return undefined;
            }
            if (part.list === 'files')
                return files.append(part.value);
            return part.list === 'skipped' ? skipped.append(part.value) : undefined;
        };
        try {
            if (sealed) {
                const decrypt = new agestream/* AgeDecryptStream */.Rk({ identities });
                await Promise.all([decrypt.ready, (0,external_node_stream_promises_.pipeline)(answer.body, decrypt, (plain) => (0,jsonfiles/* readJsonParts */.nu)(plain, onPart))]);
            }
            else
                await (0,jsonfiles/* readJsonParts */.nu)(answer.body, onPart);
            checkFormat(head.format, 'manifest');
        }
        finally {
            await files.close();
            await skipped.close();
        }
        return new ManifestFile(head, files, skipped);
    }
}
/** A stored manifest brought to local disk: its head in memory, its lists read one entry at a time. */
class ManifestFile {
    head;
    fileList;
    skippedList;
    constructor(head, fileList, skippedList) {
        this.head = head;
        this.fileList = fileList;
        this.skippedList = skippedList;
    }
    /** Files the backup holds. */
    get fileCount() {
        return this.fileList.count;
    }
    get skippedCount() {
        return this.skippedList.count;
    }
    async *files() {
        for await (const line of this.fileList.lines())
            yield JSON.parse(line);
    }
    async *skipped() {
        for await (const line of this.skippedList.lines())
            yield JSON.parse(line);
    }
}
/** `{...head, "<list>": [line, line, …], …}` from JSON-lines files (each line a JSON text), through age when sealed. */
async function writeJsonFile(file, head, lists, sealing) {
    async function* json() {
        yield JSON.stringify(head).slice(0, -1);
        for (const [name, list] of Object.entries(lists)) {
            yield `,${JSON.stringify(name)}:[`;
            let first = true;
            for await (const line of list.lines()) {
                yield `${first ? '' : ','}\n${line}`;
                first = false;
            }
            yield ']';
        }
        yield '}\n';
    }
    const stages = [external_node_stream_.Readable.from(json()), ...(sealing ? [new agestream/* AgeEncryptStream */.TB({ recipients: sealing.recipients })] : []), (0,external_node_fs_.createWriteStream)(file, { mode: 0o600 })];
    await (0,external_node_stream_promises_.pipeline)(stages);
}

;// CONCATENATED MODULE: ./lib/src/storage/retention.js

/** A day: no run takes that long between storing its first blob and writing its index. */
const BLOB_GRACE_MS = 24 * 60 * 60 * 1000;
async function pruneFileStore(store, ownBackup, log, graceMs = BLOB_GRACE_MS, now = new Date()) {
    const sqlBackups = await backupsUnderPrefix(store);
    const indexed = await store.indexedBackups();
    const gone = indexed.filter((name) => name < ownBackup && !sqlBackups.has(name));
    await store.remote.deleteKeys(store.bucket, gone.flatMap((name) => [store.indexKey(name), store.manifestKey(name, false), store.manifestKey(name, true)]));
    const referenced = new BlobNames();
    for (const name of indexed.filter((n) => !gone.includes(n))) {
        await store.readIndexEntries(store.indexKey(name), (entry) => referenced.add(entry.b));
    }
    // A run that failed (or runs now) keeps what it stored for the rerun that resumes it.
    for (const checkpoint of await store.checkpoints()) {
        await store.readIndexEntries(checkpoint.key, (entry) => referenced.add(entry.b));
    }
    const blobPrefix = store.blobKey('');
    let unreferenced = 0;
    let batch = [];
    for await (const blob of store.remote.list(store.bucket, blobPrefix)) {
        const old = !blob.lastModified || now.getTime() - blob.lastModified.getTime() >= graceMs;
        if (old && !referenced.has(blob.key.slice(blobPrefix.length)))
            batch.push(blob.key);
        if (batch.length >= 1000) {
            await store.remote.deleteKeys(store.bucket, batch);
            unreferenced += batch.length;
            batch = [];
        }
    }
    await store.remote.deleteKeys(store.bucket, batch);
    unreferenced += batch.length;
    if (gone.length > 0 || unreferenced > 0) {
        log.info(`🧹 Storage files: deleted the file manifests of ${gone.length} deleted backup(s) and ${unreferenced} file(s) no kept backup references`);
    }
    return { backups: gone, blobs: unreferenced };
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
/**
 * The blob names kept backups reference, compact: a blob is named by a sha256 in hex (plain) or a row key
 * in hex with `.age` (sealed), so each is 33 bytes here (the 32 bytes and whether `.age`), sorted and
 * without repeats (the same blob named by every kept backup counts once): 3.3 MB for 100 000 blobs,
 * where a Set of the strings takes about 11 MB. Any other name (none is written) goes to a small Set.
 */
class BlobNames {
    records = new SortedRecords(33, 33);
    others = new Set();
    record = Buffer.alloc(33);
    add(name) {
        if (this.encode(name))
            this.records.add(this.record);
        else
            this.others.add(name);
    }
    has(name) {
        return this.encode(name) ? this.records.find(this.record) !== null : this.others.has(name);
    }
    encode(name) {
        const sealed = name.endsWith('.age');
        const hex = sealed ? name.slice(0, -4) : name;
        if (!/^[0-9a-f]{64}$/.test(hex))
            return false;
        this.record.write(hex, 0, 32, 'hex');
        this.record[32] = sealed ? 1 : 0;
        return true;
    }
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
    return new FileStore(new S3Remote((0,client/* createS3Client */.qo)((0,settings/* s3Settings */.os)(s3.inputs, env))), s3.location.bucket, s3.location.prefix);
}
async function backupStorageFiles(input) {
    const { config, log } = input;
    const local = config.s3 ? undefined : input.artifactStore;
    if (!config.storageFiles || (!config.s3 && !local))
        throw new Error('storage-files needs the s3 destination or the artifact');
    const limit = config.storageFiles.artifactLimitBytes;
    if (local)
        (0,artifactlimit/* checkListFitsArtifact */.x6)(input.rows, limit);
    const source = storageClient(config.storageFiles);
    const store = local ? new FileStore(new LocalRemote(local), '', '') : fileStoreFor(config.s3);
    try {
        const sealing = await fileSealing(config.encryption, () => store.passphraseSalt(true));
        log.info(`🗂️ Storage files: ${input.rows.count} file rows in the snapshot, fetched from ${config.storageFiles.endpoint}` +
            `${local ? ', every one into the artifact' : ''}${sealing ? ' (stored encrypted)' : ''}`);
        const outcome = await backupFiles({
            rows: input.rows,
            source: new S3Remote(source),
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
        if (local)
            (0,artifactlimit/* checkArtifactLimit */.mY)((await filesUnder(local)).reduce((sum, f) => sum + f.size, 0), limit, 'the file store for the artifact holds');
        log.info(`✅ Storage files: ${describeCounts(outcome.manifest.counts)}`);
        return summaryOf(outcome, store, sealing !== null, local !== undefined);
    }
    finally {
        source.destroy();
        store.remote.close();
    }
}
function summaryOf({ manifest, skipped }, store, sealed, inArtifact) {
    const key = store.manifestKey(manifest.backup, sealed);
    return {
        manifest: inArtifact ? key : `s3://${store.bucket}/${key}`,
        inArtifact,
        counts: manifest.counts,
        files: manifest.counts.stored + manifest.counts.reused,
        skipped,
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
    const dir = await (0,promises_.mkdtemp)(external_node_path_.join(input.work, 'files-manifest-'));
    const target = storageClient(input.target);
    try {
        const manifest = await input.store.openManifest(input.backup, identities, dir);
        input.log.info(`🗂️ Storage files of ${input.backup}: ${manifest.fileCount} to restore into ${input.target.endpoint}`);
        return await restoreFiles({
            manifest,
            store: input.store,
            identities,
            target: new S3Remote(target),
            db: input.db,
            work: input.work,
            log: input.log,
            ...(input.retry ? { retry: input.retry } : {}),
        });
    }
    finally {
        target.destroy();
        await (0,promises_.rm)(dir, { recursive: true, force: true });
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
        store.remote.close();
    }
}


/***/ })

};
