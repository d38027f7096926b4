export const id = 265;
export const ids = [265];
export const modules = {

/***/ 4265:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   LocalRemote: () => (/* binding */ LocalRemote),
/* harmony export */   filesUnder: () => (/* binding */ filesUnder)
/* harmony export */ });
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1455);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6760);
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
        return node_path__WEBPACK_IMPORTED_MODULE_2__.join(this.root, ...parts);
    }
    async get(_bucket, key, signal) {
        const file = this.pathOf(key);
        const { size } = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.stat)(file).catch(notFound(key));
        return { body: (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.createReadStream)(file, signal ? { signal } : {}), eTag: undefined, size };
    }
    async getText(bucket, key) {
        return (await this.getBytes(bucket, key)).toString('utf8');
    }
    async getBytes(_bucket, key) {
        return (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.readFile)(this.pathOf(key)).catch(notFound(key));
    }
    async putFile(_bucket, key, file, _size, _options, signal) {
        signal?.throwIfAborted();
        await this.writeAtomically(key, (temp) => (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.copyFile)(file, temp));
    }
    async putBytes(_bucket, key, bytes) {
        await this.writeAtomically(key, (temp) => (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.writeFile)(temp, bytes, { mode: 0o600 }));
    }
    async exists(_bucket, key) {
        try {
            return (await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.stat)(this.pathOf(key))).isFile();
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
            const info = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.stat)(this.pathOf(key));
            yield { key, size: info.size, lastModified: info.mtime };
        }
    }
    async deleteKeys(_bucket, keys) {
        for (const key of keys)
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.rm)(this.pathOf(key), { force: true });
    }
    close() { }
    /** Every key in the folder `dir` ('' or ending in '/') and below it. */
    async keysUnder(dir) {
        let entries;
        try {
            entries = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.readdir)(dir ? this.pathOf(dir.slice(0, -1)) : this.root, { withFileTypes: true });
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
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir)(node_path__WEBPACK_IMPORTED_MODULE_2__.dirname(file), { recursive: true, mode: 0o700 });
        const temp = `${file}.${process.pid}${PARTIAL}`;
        try {
            await write(temp);
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.rename)(temp, file);
        }
        finally {
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.rm)(temp, { force: true });
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


/***/ })

};
