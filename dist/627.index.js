export const id = 627;
export const ids = [627];
export const modules = {

/***/ 81922:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   GM: () => (/* binding */ streamingClient),
/* harmony export */   Qe: () => (/* binding */ s3Target),
/* harmony export */   qo: () => (/* binding */ createS3Client)
/* harmony export */ });
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(53711);
/* harmony import */ var _settings_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(27156);
/**
 * An S3 client for any S3-compatible service (AWS, R2, B2, MinIO, Supabase Storage), built from the
 * action's inputs or the standard AWS variables. Used by the s3 destination, the CLI's list/restore
 * and the Storage-files backup alike, so it knows nothing about backups.
 *
 * Checksums: `WHEN_REQUIRED` for requests and responses. The SDK's newer default sends every body
 * aws-chunked with a CRC trailer, which several S3-compatible servers do not understand (some store
 * the chunk framing as the object's bytes); with WHEN_REQUIRED a body is sent plain and only the
 * operations S3 requires a checksum for (DeleteObjects) carry one. The backup's own sha256 (in its name
 * and its manifest) is what proves the bytes, and restore checks it.
 */


const settingsOfClient = new WeakMap();
function createS3Client(settings) {
    const client = new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.S3Client(clientConfig(settings));
    settingsOfClient.set(client, settings);
    return client;
}
function clientConfig(settings) {
    return {
        region: settings.region,
        forcePathStyle: settings.forcePathStyle,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // Transient errors (5xx, throttling, a reset connection) are retried with backoff.
        maxAttempts: settings.maxAttempts ?? 5,
        retryMode: 'standard',
        // A dead endpoint fails in seconds; a stalled transfer after a minute without a byte.
        requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
        followRegionRedirects: !settings.regionGiven && settings.endpoint === undefined,
        ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
        ...(settings.credentials ? { credentials: settings.credentials } : {}),
    };
}
const SILENT = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
/**
 * For bodies streamed from a file: the SDK cannot send a stream twice, so it does not retry such a
 * request (and warns on the console that it did not); the caller retries with a fresh stream instead.
 * The client is like `client` but makes each request once and does not warn; `attempts` is what
 * `client` would make. A client not made by createS3Client is used as it is.
 */
async function streamingClient(client) {
    const attempts = await client.config.maxAttempts();
    const settings = settingsOfClient.get(client);
    if (!settings)
        return { client, attempts, close: () => undefined };
    // Without Expect: 100-continue, which the SDK sends with a connection (and an agent) of its own per
    // request: hundreds of parts would each leave one for the garbage collector.
    const once = new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.S3Client({ ...clientConfig({ ...settings, maxAttempts: 1 }), logger: SILENT, expectContinueHeader: false });
    return { client: once, attempts, close: () => once.destroy() };
}
/** A client and the bucket it works on, with the endpoint's description for messages. */
function s3Target(settings, bucket) {
    return { client: createS3Client(settings), bucket, endpoint: (0,_settings_js__WEBPACK_IMPORTED_MODULE_1__/* .describeEndpoint */ .N2)(settings) };
}


/***/ }),

/***/ 52254:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Dg: () => (/* binding */ S3Error),
/* harmony export */   ZP: () => (/* binding */ isTransientS3Error),
/* harmony export */   y6: () => (/* binding */ explainS3Error)
/* harmony export */ });
/**
 * S3 failures in words a user can act on: which input to check (credentials, bucket, endpoint,
 * region) and what the service said. Messages carry no secret: the SDK's errors hold none, and the
 * access key id (not a secret) is not repeated either.
 */
class S3Error extends Error {
    name = 'S3Error';
    /** The S3 error code (NoSuchBucket, AccessDenied, …) or the network error code. */
    code;
    constructor(message, code) {
        super(message);
        this.code = code;
    }
}
const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'TimeoutError', 'RequestTimeout']);
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests', 'RequestThrottled', 'RequestLimitExceeded']);
/**
 * Whether the same request may succeed when sent again: a server error (5xx, not 501), throttling (429,
 * SlowDown), a cut, refused or timed-out connection. A cancellation (AbortError) is not.
 */
function isTransientS3Error(error) {
    const { code, status, message } = facts(error);
    if (status !== undefined && ((status >= 500 && status !== 501) || status === 429))
        return true;
    return THROTTLING.has(code) || NETWORK.has(code) || /socket hang up|ECONNRESET|EPIPE/.test(message);
}
/** An S3 SDK (or network) error as an S3Error naming the input to check. */
function explainS3Error(error, context) {
    if (error instanceof S3Error)
        return error;
    const { code, status, message } = facts(error);
    const where = `bucket '${context.bucket}' at ${context.endpoint}`;
    const failed = `S3: ${context.action} failed`;
    switch (code) {
        case 'InvalidAccessKeyId':
            return new S3Error(`${failed}: ${context.endpoint} does not know the access key id; check 's3-access-key-id' (or AWS_ACCESS_KEY_ID)`, code);
        case 'SignatureDoesNotMatch':
            return new S3Error(`${failed}: the secret access key does not match the access key id; check 's3-secret-access-key' (or AWS_SECRET_ACCESS_KEY)`, code);
        case 'ExpiredToken':
        case 'InvalidToken':
        case 'TokenRefreshRequired':
            return new S3Error(`${failed}: the session token is expired or invalid; check 's3-session-token' (or AWS_SESSION_TOKEN)`, code);
        case 'NoSuchBucket':
            return new S3Error(`${failed}: ${where} does not exist; check 's3-bucket-url' (and 's3-endpoint'), or create the bucket first`, code);
        case 'CredentialsProviderError':
            return new S3Error(`${failed}: no S3 credentials; set 's3-access-key-id' and 's3-secret-access-key' from secrets, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`, code);
        case 'PermanentRedirect':
        case 'AuthorizationHeaderMalformed':
        case 'IllegalLocationConstraintException':
            return new S3Error(`${failed}: ${where} is in another region, or 's3-region' is wrong: ${message}`, code);
    }
    if (NETWORK.has(code) || /socket hang up|getaddrinfo|connect /.test(message)) {
        // Without path style the SDK asks for <bucket>.<endpoint host>, a name MinIO-like servers do not have.
        const pathStyleHint = (code === 'ENOTFOUND' || code === 'EAI_AGAIN') && context.endpoint.startsWith('http')
            ? ", or set 's3-force-path-style: true' when the server has no host name per bucket (MinIO)"
            : '';
        return new S3Error(`${failed}: cannot reach ${context.endpoint} (${code || message}); check 's3-endpoint' and the network${pathStyleHint}`, code || 'NetworkError');
    }
    // HEAD answers carry no error body: only the status says what went wrong.
    if (status === 404 && (code === 'NotFound' || code === '')) {
        return new S3Error(`${failed}: ${where} was not found; check 's3-bucket-url' (and 's3-endpoint'), or create the bucket first`, 'NoSuchBucket');
    }
    if (status === 403 || code === 'AccessDenied' || code === 'Forbidden') {
        return new S3Error(`${failed}: access to ${where} was denied: the credentials are wrong, or they lack permission for it; check 's3-access-key-id', 's3-secret-access-key' and the key's permissions`, code || 'AccessDenied');
    }
    if (status === 301) {
        return new S3Error(`${failed}: ${where} is in another region; set 's3-region'`, code || 'PermanentRedirect');
    }
    return new S3Error(`${failed} (${where}): ${code ? `${code}: ` : ''}${message}`, code || 'Unknown');
}
function facts(error) {
    if (!(error instanceof Error))
        return { code: '', status: undefined, message: String(error) };
    const e = error;
    const code = e.Code ?? (typeof e.code === 'string' ? e.code : undefined) ?? (e.name !== 'Error' && e.name !== 'S3ServiceException' ? e.name : '');
    const unknownMessage = e.message === 'UnknownError' || e.message === '';
    return { code, status: e.$metadata?.httpStatusCode, message: unknownMessage ? `HTTP ${e.$metadata?.httpStatusCode ?? '?'}` : e.message };
}


/***/ }),

/***/ 66627:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  kt: () => (/* binding */ UPLOAD_QUEUE),
  L$: () => (/* binding */ checkBucket),
  Uw: () => (/* binding */ deleteObjects),
  L: () => (/* binding */ listObjects),
  oV: () => (/* binding */ partSizeFor),
  _J: () => (/* binding */ putSmallObject),
  QM: () => (/* binding */ uploadFile)
});

// UNUSED EXPORTS: abortPendingUploads, readObject, readSmallObject

// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(57075);
// EXTERNAL MODULE: external "node:timers/promises"
var promises_ = __webpack_require__(58500);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var dist_cjs = __webpack_require__(53711);
// EXTERNAL MODULE: ./lib/src/s3/client.js
var client = __webpack_require__(81922);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
;// CONCATENATED MODULE: ./lib/src/s3/filebody.js
/**
 * A byte range of a file as the body of one HTTP request, read into a few buffers that are used again
 * once the socket has written them.
 *
 * Why not fs.createReadStream: it reads every 64 KiB into a new Buffer, freed only when V8 collects
 * its wrapper, and V8 collects for memory outside its heap only after ~64 MB of it has piled up: an
 * upload held 33 (64 MiB file) to 60 MiB (3 GiB file) of such garbage at its peak. Here a body has at
 * most BUFFERS_PER_BODY buffers out, and the bodies of one upload share a ChunkPool, so an upload with
 * 4 parts in flight holds a few MiB of buffers whatever the size of the part or the file.
 *
 * The SDK sends a Readable body with `body.pipe(request)`; `pipe` is where this stream takes over: it
 * writes the range to the request itself, and a buffer goes back to the pool in the callback of its
 * write (when the socket has handed the bytes to the kernel, or the request has failed). Read as an
 * ordinary Readable, it reads the same range into fresh buffers.
 */


/** Bytes read and written at a time. */
const CHUNK_BYTES = 256 * 1024;
/**
 * Buffers one body may use: a write of a chunk larger than the request's high-water mark returns false
 * unless the socket took it at once, so at most one or two are out at any time.
 */
const BUFFERS_PER_BODY = 4;
class FileRangeBody extends external_node_stream_.Readable {
    #file;
    #end;
    #position;
    #fd;
    /** The fs.read in progress, which must finish before the descriptor is closed. */
    #reading = Promise.resolve();
    #pumping = false;
    #pool;
    /** Buffers written and not yet called back, and who waits for one to come back. */
    #lent = 0;
    #returned;
    constructor(file, range, pool = new ChunkPool(BUFFERS_PER_BODY)) {
        super({ highWaterMark: CHUNK_BYTES });
        this.#file = file;
        this.#pool = pool;
        this.#position = range.start;
        this.#end = range.end + 1;
    }
    pipe(destination, options) {
        if (this.#pumping)
            throw new Error('FileRangeBody can be piped once');
        this.#pumping = true;
        this.#pump(destination, options?.end ?? true).catch((error) => this.destroy(asError(error)));
        return destination;
    }
    _read() {
        const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, this.#end - this.#position));
        if (buffer.length === 0) {
            this.push(null);
            return;
        }
        this.#readNext(buffer).then((bytes) => this.push(buffer.subarray(0, bytes)), (error) => this.destroy(asError(error)));
    }
    _destroy(error, callback) {
        const fd = this.#fd;
        this.#fd = undefined;
        // A read still running on the descriptor would read whatever file gets its number next.
        void this.#reading
            .then(() => fd)
            .then((opened) => (opened === undefined ? undefined : closeFd(opened)), () => undefined)
            .finally(() => callback(error));
    }
    async #pump(destination, end) {
        const stopped = () => this.destroyed || destination.destroyed || destination.writableEnded;
        while (this.#position < this.#end && !stopped()) {
            if (this.#lent >= BUFFERS_PER_BODY)
                await new Promise((resolve) => (this.#returned = resolve));
            const buffer = this.#pool.take();
            let bytes;
            try {
                bytes = await this.#readNext(buffer.subarray(0, Math.min(buffer.length, this.#end - this.#position)));
            }
            catch (error) {
                this.#pool.give(buffer);
                throw error;
            }
            if (stopped()) {
                this.#pool.give(buffer);
                return;
            }
            this.#lent++;
            const more = destination.write(buffer.subarray(0, bytes), () => this.#giveBack(buffer));
            if (!more)
                await drained(destination);
        }
        if (!stopped() && end)
            destination.end();
    }
    #giveBack(buffer) {
        this.#lent--;
        this.#pool.give(buffer);
        const waiting = this.#returned;
        this.#returned = undefined;
        waiting?.();
    }
    /** Reads the next bytes of the range into `buffer`; fewer than asked only at the range's end. */
    async #readNext(buffer) {
        if (this.destroyed)
            throw new Error('FileRangeBody read after it was destroyed');
        this.#fd ??= openFd(this.#file);
        const fd = await this.#fd;
        const reading = readAt(fd, buffer, this.#position);
        this.#reading = reading.catch(() => undefined);
        const bytes = await reading;
        if (bytes === 0)
            throw new Error(`${this.#file} ended at byte ${this.#position}, before the ${this.#end} bytes to send`);
        this.#position += bytes;
        return bytes;
    }
}
/**
 * Free buffers of CHUNK_BYTES, shared by the bodies of one upload so that a part's buffers serve the
 * next part; keeps at most `keep` (a buffer whose write never called back is simply not returned).
 */
class ChunkPool {
    #free = [];
    #keep;
    constructor(keep) {
        this.#keep = keep;
    }
    take() {
        return this.#free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
    }
    give(buffer) {
        if (this.#free.length < this.#keep)
            this.#free.push(buffer);
    }
}
/** Resolves when `stream` drains, or closes or fails (the pump then stops). */
function drained(stream) {
    return new Promise((resolve) => {
        const done = () => {
            stream.off('drain', done);
            stream.off('close', done);
            stream.off('error', done);
            resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
        stream.on('error', done);
    });
}
function openFd(file) {
    return new Promise((resolve, reject) => (0,external_node_fs_.open)(file, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));
}
function closeFd(fd) {
    return new Promise((resolve) => (0,external_node_fs_.close)(fd, () => resolve()));
}
function readAt(fd, buffer, position) {
    return new Promise((resolve, reject) => (0,external_node_fs_.read)(fd, buffer, 0, buffer.length, position, (error, bytes) => (error ? reject(error) : resolve(bytes))));
}
function asError(error) {
    return error instanceof Error ? error : new Error(String(error));
}

// EXTERNAL MODULE: ./lib/src/s3/errors.js
var errors = __webpack_require__(52254);
;// CONCATENATED MODULE: ./lib/src/s3/objects.js
/**
 * The S3 operations the backup tools need, generic over what the objects are: a bucket check before
 * any work starts, listing a prefix, uploading a file (multipart, bounded memory, nothing left pending
 * when it fails or is cancelled), small objects, reading an object as a stream, deleting keys.
 * Every failure is an S3Error naming what to check (errors.ts).
 */






const MiB = 1024 * 1024;
/** S3 allows 10,000 parts; the part size leaves room so any file up to ~5 TB fits. */
const MAX_PARTS = 9_000;
const MIN_PART_SIZE = 8 * MiB;
/** Parts sent at once (from a file each is streamed, so memory does not grow with the part size). */
const UPLOAD_QUEUE = 4;
function context(target, action) {
    return { action, bucket: target.bucket, endpoint: target.endpoint };
}
async function call(target, action, run) {
    try {
        return await run();
    }
    catch (error) {
        throw (0,errors/* explainS3Error */.y6)(error, context(target, action));
    }
}
/**
 * Before any work: the bucket exists and the credentials can read it (HeadBucket), and can list the
 * prefix (needed for retention and `list`). Writes nothing.
 */
async function checkBucket(target, prefix) {
    const list = () => target.client.send(new dist_cjs.ListObjectsV2Command({ Bucket: target.bucket, Prefix: prefix, MaxKeys: 1 }));
    try {
        await target.client.send(new dist_cjs.HeadBucketCommand({ Bucket: target.bucket }));
    }
    catch (error) {
        // A HEAD answer has no body, so no error code: a GET of the same bucket says which (wrong key id,
        // wrong secret, no such bucket).
        const detail = await list().then(() => error, (listError) => listError);
        throw (0,errors/* explainS3Error */.y6)(detail, context(target, 'checking the bucket'));
    }
    await call(target, `listing '${prefix || '/'}'`, list);
}
/** Every object under `prefix` (all pages), in key order. */
async function listObjects(target, prefix, delimiter) {
    const objects = [];
    let token;
    do {
        const page = await call(target, `listing '${prefix || '/'}'`, () => target.client.send(new dist_cjs.ListObjectsV2Command({ Bucket: target.bucket, Prefix: prefix, ...(delimiter ? { Delimiter: delimiter } : {}), ...(token ? { ContinuationToken: token } : {}) })));
        for (const item of page.Contents ?? []) {
            if (item.Key === undefined)
                continue;
            objects.push({ key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0), etag: item.ETag ?? '' });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
}
/** The part size for a file of `bytes`: at least 8 MiB, larger so the file needs at most 9,000 parts. */
function partSizeFor(bytes) {
    return Math.max(MIN_PART_SIZE, Math.ceil(bytes / MAX_PARTS / MiB) * MiB);
}
/**
 * Uploads a complete file (or a stream of known length): one PutObject when it fits a part, else a
 * multipart upload of parts in parallel, each retried on transient errors. On failure or cancellation
 * the multipart upload is aborted (and a sweep of the key's pending uploads catches what that could
 * not), so no object and no pending upload remains.
 */
async function uploadFile(target, options) {
    if (options.body)
        return uploadStream(target, options, options.body);
    return uploadFromDisk(target, options, requireFile(options.file));
}
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 20_000;
/**
 * A file is read from disk for each part (again for each retry), so memory does not grow with the part
 * size or the file: a stream body is sent as it is read, signed as UNSIGNED-PAYLOAD (the SDK hashes
 * only strings and buffers). lib-storage would hold every part in memory.
 */
async function uploadFromDisk(target, options, file) {
    const sender = await (0,client/* streamingClient */.GM)(target.client);
    try {
        options.signal?.throwIfAborted();
        const chunks = new ChunkPool((options.queueSize ?? UPLOAD_QUEUE) * BUFFERS_PER_BODY);
        const upload = { target, sender, file, partSize: options.partSize ?? partSizeFor(options.bytes), chunks, options };
        return options.bytes <= upload.partSize ? await putWholeFile(upload) : await uploadParts(upload);
    }
    catch (error) {
        await abortPendingUploads(target, options.key).catch(() => undefined);
        if (options.signal?.aborted)
            throw cancelled(options.signal);
        throw (0,errors/* explainS3Error */.y6)(error, context(target, `uploading '${options.key}'`));
    }
    finally {
        sender.close();
    }
}
function objectParams(upload) {
    const { options } = upload;
    return {
        Bucket: upload.target.bucket,
        Key: options.key,
        ContentType: options.contentType ?? 'application/octet-stream',
        ...(options.metadata ? { Metadata: options.metadata } : {}),
    };
}
function storedObject(key, result) {
    return { key, etag: result.ETag ?? '', ...(result.VersionId ? { versionId: result.VersionId } : {}) };
}
async function putWholeFile(upload) {
    const { options } = upload;
    const result = await sendFromFile(upload, { start: 0, end: options.bytes - 1 }, options.signal, (body, signal) => upload.sender.client.send(new dist_cjs.PutObjectCommand({ ...objectParams(upload), Body: body, ContentLength: options.bytes }), { abortSignal: signal }));
    options.onProgress?.(options.bytes);
    return storedObject(options.key, result);
}
async function uploadParts(upload) {
    const { target, options } = upload;
    const signal = options.signal;
    const created = await target.client.send(new dist_cjs.CreateMultipartUploadCommand(objectParams(upload)), signal ? { abortSignal: signal } : {});
    const uploadId = created.UploadId;
    if (!uploadId)
        throw new errors/* S3Error */.Dg(`S3: uploading '${options.key}' failed: CreateMultipartUpload gave no upload id`, 'NoUploadId');
    const id = { Bucket: target.bucket, Key: options.key, UploadId: uploadId };
    try {
        const parts = await sendParts(upload, uploadId);
        const result = await target.client.send(new dist_cjs.CompleteMultipartUploadCommand({ ...id, MultipartUpload: { Parts: parts } }));
        return storedObject(options.key, result);
    }
    catch (error) {
        await target.client.send(new dist_cjs.AbortMultipartUploadCommand(id)).catch(() => undefined);
        throw error;
    }
}
function partRange(index, partSize, bytes) {
    const start = index * partSize;
    return { start, end: Math.min(start + partSize, bytes) - 1 };
}
/**
 * Every part, `queueSize` at a time, in order of their numbers. The first part that fails for good
 * stops the others (those in flight are cut off) and is the error; all have settled when it is thrown,
 * so an abort of the upload comes after the last part request.
 */
async function sendParts(upload, uploadId) {
    const { options } = upload;
    const count = Math.ceil(options.bytes / upload.partSize);
    const parts = [];
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    let next = 0;
    let loaded = 0;
    const failures = [];
    const worker = async () => {
        while (next < count && !signal.aborted) {
            const index = next++;
            const range = partRange(index, upload.partSize, options.bytes);
            try {
                parts[index] = { PartNumber: index + 1, ETag: await sendPart(upload, uploadId, index + 1, range, signal) };
            }
            catch (error) {
                failures.push(error);
                stop.abort();
                return;
            }
            loaded += range.end - range.start + 1;
            options.onProgress?.(loaded);
        }
    };
    await Promise.all(Array.from({ length: Math.min(options.queueSize ?? UPLOAD_QUEUE, count) }, () => worker()));
    if (failures.length > 0)
        throw failures[0];
    options.signal?.throwIfAborted();
    return parts;
}
async function sendPart(upload, uploadId, partNumber, range, signal) {
    const { target, options } = upload;
    const result = await sendFromFile(upload, range, signal, (body, attemptSignal) => upload.sender.client.send(new dist_cjs.UploadPartCommand({ Bucket: target.bucket, Key: options.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: range.end - range.start + 1 }), { abortSignal: attemptSignal }));
    if (!result.ETag)
        throw new errors/* S3Error */.Dg(`S3: uploading '${options.key}' failed: part ${partNumber} was stored without an ETag`, 'NoETag');
    return result.ETag;
}
/**
 * Sends a request whose body is `range` of the file (FileRangeBody): a fresh stream for each attempt,
 * transient failures tried again after a backoff, up to the client's attempts. `send` gets `signal`
 * joined with one that fires when the file cannot be read.
 */
async function sendFromFile(upload, range, signal, send) {
    for (let attempt = 1;; attempt++) {
        const body = new FileRangeBody(upload.file, range, upload.chunks);
        // The SDK pipes the body, and a pipe does not pass a read error on: the request would wait for
        // bytes until it times out.
        const unreadable = new AbortController();
        body.once('error', (error) => unreadable.abort(error));
        try {
            return await send(body, signal ? AbortSignal.any([signal, unreadable.signal]) : unreadable.signal);
        }
        catch (error) {
            if (unreadable.signal.aborted)
                throw unreadable.signal.reason;
            if (signal?.aborted || attempt >= upload.sender.attempts || !(0,errors/* isTransientS3Error */.ZP)(error))
                throw error;
        }
        finally {
            // A failed request leaves its stream paused, holding the file open.
            body.destroy();
        }
        await (0,promises_.setTimeout)(backoff(attempt), undefined, signal ? { signal } : {});
    }
}
/** Full jitter, as the SDK's standard retry: a random wait up to 100 ms × 2^attempt, at most 20 s. */
function backoff(attempt) {
    return Math.random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
}
/**
 * A stream that cannot be read again: lib-storage, which gathers each part in memory (so it can send
 * it again) and aborts the upload itself when it fails.
 */
async function uploadStream(target, options, body) {
    const { Upload } = await __webpack_require__.e(/* import() */ 358).then(__webpack_require__.t.bind(__webpack_require__, 22358, 19));
    const upload = new Upload({
        client: target.client,
        params: {
            Bucket: target.bucket,
            Key: options.key,
            Body: body,
            ContentLength: options.bytes,
            ContentType: options.contentType ?? 'application/octet-stream',
            ...(options.metadata ? { Metadata: options.metadata } : {}),
        },
        partSize: options.partSize ?? partSizeFor(options.bytes),
        queueSize: options.queueSize ?? UPLOAD_QUEUE,
        leavePartsOnError: false,
    });
    if (options.onProgress) {
        const report = options.onProgress;
        upload.on('httpUploadProgress', (progress) => report(progress.loaded ?? 0));
    }
    // Cancelling ends the body, so lib-storage stops, waits for the parts in flight and aborts the
    // upload itself (its own abort() would return before the AbortMultipartUpload is sent).
    const cancel = () => {
        body.destroy(cancelled(options.signal));
    };
    options.signal?.addEventListener('abort', cancel, { once: true });
    try {
        options.signal?.throwIfAborted();
        return storedObject(options.key, await upload.done());
    }
    catch (error) {
        body.destroy();
        await abortPendingUploads(target, options.key).catch(() => undefined);
        if (options.signal?.aborted)
            throw cancelled(options.signal);
        throw (0,errors/* explainS3Error */.y6)(error, context(target, `uploading '${options.key}'`));
    }
    finally {
        options.signal?.removeEventListener('abort', cancel);
    }
}
function requireFile(file) {
    if (file === undefined)
        throw new Error('uploadFile needs a file or a body');
    return file;
}
function cancelled(signal) {
    const reason = signal?.reason;
    return reason instanceof Error ? reason : new Error('cancelled');
}
/** Aborts every pending multipart upload of exactly `key` (a last line after a failed upload). */
async function abortPendingUploads(target, key) {
    const listed = await target.client.send(new dist_cjs.ListMultipartUploadsCommand({ Bucket: target.bucket, Prefix: key }));
    let aborted = 0;
    for (const pending of listed.Uploads ?? []) {
        if (pending.Key !== key || !pending.UploadId)
            continue;
        await target.client.send(new dist_cjs.AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: pending.UploadId }));
        aborted++;
    }
    return aborted;
}
/** Stores a small object (a manifest, a signature) in one PutObject. */
async function putSmallObject(target, key, body, contentType) {
    const result = await call(target, `uploading '${key}'`, () => target.client.send(new dist_cjs.PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body, ContentType: contentType })));
    return { key, etag: result.ETag ?? '', ...(result.VersionId ? { versionId: result.VersionId } : {}) };
}
/** An object's bytes as a stream (errors while streaming are the stream's). */
async function readObject(target, key, signal) {
    const result = await call(target, `reading '${key}'`, () => target.client.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }), signal ? { abortSignal: signal } : {}));
    if (!(result.Body instanceof Readable))
        throw new S3Error(`S3: reading '${key}' gave no stream`, 'NoBody');
    return { stream: result.Body, bytes: result.ContentLength ?? 0 };
}
/** A small object's bytes (a manifest). */
async function readSmallObject(target, key) {
    const { stream } = await readObject(target, key);
    const chunks = [];
    for await (const chunk of stream)
        chunks.push(chunk);
    return Buffer.concat(chunks);
}
/** Deletes keys, 1000 per request; a key S3 could not delete is an error naming it. */
async function deleteObjects(target, keys) {
    for (let at = 0; at < keys.length; at += 1000) {
        const batch = keys.slice(at, at + 1000);
        const result = await call(target, `deleting ${batch.length} object(s)`, () => target.client.send(new dist_cjs.DeleteObjectsCommand({ Bucket: target.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })));
        const failed = result.Errors?.[0];
        if (failed)
            throw new errors/* S3Error */.Dg(`S3: deleting '${failed.Key}' failed: ${failed.Code ?? ''} ${failed.Message ?? ''}`.trim(), failed.Code ?? 'DeleteFailed');
    }
}


/***/ })

};
