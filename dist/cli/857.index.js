export const id = 857;
export const ids = [857];
export const modules = {

/***/ 7355:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   AT: () => (/* binding */ indexEntryOf),
/* harmony export */   KA: () => (/* binding */ checkFormat),
/* harmony export */   ND: () => (/* binding */ FileTally),
/* harmony export */   Sn: () => (/* binding */ MANIFEST_FORMAT),
/* harmony export */   Z4: () => (/* binding */ openDigest),
/* harmony export */   om: () => (/* binding */ rowKey)
/* harmony export */ });
/* unused harmony export sealDigest */
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
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
    return (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHash)('sha256').update(rowIdentity(row)).digest('hex');
}
function digestKey(row) {
    return Buffer.from((0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.hkdfSync)('sha256', rowIdentity(row), 'supabase-complete-backup/storage-files', 'digest', 32));
}
/**
 * A content sha256 sealed (AES-256-GCM) under a key derived from the row version: the next run, which
 * reads that row in its snapshot, can open it without any secret; the store alone cannot.
 */
function sealDigest(row, sha256) {
    const iv = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(12);
    const cipher = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createCipheriv)('aes-256-gcm', digestKey(row), iv);
    const body = Buffer.concat([cipher.update(Buffer.from(sha256, 'hex')), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}
/** The sha256 sealed by sealDigest, or null when the box was not made for this row version. */
function openDigest(row, box) {
    try {
        const raw = Buffer.from(box, 'base64url');
        const decipher = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createDecipheriv)('aes-256-gcm', digestKey(row), raw.subarray(0, 12));
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


/***/ }),

/***/ 3857:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   FileStore: () => (/* binding */ FileStore),
/* harmony export */   ManifestFile: () => (/* binding */ ManifestFile)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3024);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(1455);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6760);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(7075);
/* harmony import */ var node_stream_promises__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(6466);
/* harmony import */ var _streams_agestream_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(2195);
/* harmony import */ var _jsonfiles_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(2101);
/* harmony import */ var _manifest_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(7355);
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
        const salt = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(16);
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
        await (0,_jsonfiles_js__WEBPACK_IMPORTED_MODULE_7__/* .readJsonParts */ .nu)(answer.body, (part) => {
            if (part.kind === 'field') {
                head[part.key] = part.value;
                if (part.key === 'format')
                    (0,_manifest_js__WEBPACK_IMPORTED_MODULE_8__/* .checkFormat */ .KA)(part.value, 'index');
                return undefined;
            }
            return part.list === 'entries' ? onEntry(part.value) : undefined;
        });
        (0,_manifest_js__WEBPACK_IMPORTED_MODULE_8__/* .checkFormat */ .KA)(head.format, 'index');
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
        const file = node_path__WEBPACK_IMPORTED_MODULE_3__.join(dir, 'checkpoint.json');
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
        const manifestFile = node_path__WEBPACK_IMPORTED_MODULE_3__.join(dir, 'manifest.json');
        await writeJsonFile(manifestFile, head, { files: await lists.files.flush(), skipped: await lists.skipped.flush() }, sealing);
        await this.putSmallFile(this.manifestKey(head.backup, sealing !== null), manifestFile, sealing ? 'application/octet-stream' : 'application/json');
        const indexHead = { format: head.format, backup: head.backup, createdAt: head.createdAt, blobNaming: head.blobNaming, encryption: head.encryption };
        const indexFile = node_path__WEBPACK_IMPORTED_MODULE_3__.join(dir, 'index.json');
        await writeJsonFile(indexFile, indexHead, { entries: await lists.index.flush() }, null);
        await this.putSmallFile(this.indexKey(head.backup), indexFile, 'application/json');
        await this.remote.deleteKeys(this.bucket, await this.checkpointKeysOf(head.backup));
    }
    async putSmallFile(key, file, contentType) {
        const { size } = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.stat)(file);
        await this.remote.putFile(this.bucket, key, file, size, { contentType });
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.rm)(file, { force: true });
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
        const files = await _jsonfiles_js__WEBPACK_IMPORTED_MODULE_7__/* .JsonLinesFile */ .c5.create(node_path__WEBPACK_IMPORTED_MODULE_3__.join(dir, 'manifest-files.jsonl'));
        const skipped = await _jsonfiles_js__WEBPACK_IMPORTED_MODULE_7__/* .JsonLinesFile */ .c5.create(node_path__WEBPACK_IMPORTED_MODULE_3__.join(dir, 'manifest-skipped.jsonl'));
        const head = {};
        const onPart = (part) => {
            if (part.kind === 'field') {
                head[part.key] = part.value;
                if (part.key === 'format')
                    (0,_manifest_js__WEBPACK_IMPORTED_MODULE_8__/* .checkFormat */ .KA)(part.value, 'manifest');
                return undefined;
            }
            if (part.list === 'files')
                return files.append(part.value);
            return part.list === 'skipped' ? skipped.append(part.value) : undefined;
        };
        try {
            if (sealed) {
                const decrypt = new _streams_agestream_js__WEBPACK_IMPORTED_MODULE_6__/* .AgeDecryptStream */ .Rk({ identities });
                await Promise.all([decrypt.ready, (0,node_stream_promises__WEBPACK_IMPORTED_MODULE_5__.pipeline)(answer.body, decrypt, (plain) => (0,_jsonfiles_js__WEBPACK_IMPORTED_MODULE_7__/* .readJsonParts */ .nu)(plain, onPart))]);
            }
            else
                await (0,_jsonfiles_js__WEBPACK_IMPORTED_MODULE_7__/* .readJsonParts */ .nu)(answer.body, onPart);
            (0,_manifest_js__WEBPACK_IMPORTED_MODULE_8__/* .checkFormat */ .KA)(head.format, 'manifest');
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
    const stages = [node_stream__WEBPACK_IMPORTED_MODULE_4__.Readable.from(json()), ...(sealing ? [new _streams_agestream_js__WEBPACK_IMPORTED_MODULE_6__/* .AgeEncryptStream */ .TB({ recipients: sealing.recipients })] : []), (0,node_fs__WEBPACK_IMPORTED_MODULE_1__.createWriteStream)(file, { mode: 0o600 })];
    await (0,node_stream_promises__WEBPACK_IMPORTED_MODULE_5__.pipeline)(stages);
}


/***/ })

};
