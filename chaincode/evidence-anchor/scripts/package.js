#!/usr/bin/env node
/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Builds the evidence-anchor chaincode packages that `peer lifecycle chaincode install` takes,
 * without the `peer` binary, and prints their package IDs as Fabric computes them.
 *
 *   node scripts/package.js node  --label LABEL [--dir CHAINCODE_DIR] [--out DIR]
 *   node scripts/package.js ccaas --label LABEL --address HOST:PORT [--dial-timeout 10s]
 *                                 [--tls-root-cert PEM] [--tls-client-cert PEM --tls-client-key PEM]
 *                                 [--client-auth] [--out DIR]
 *
 * Layout (Fabric's `peer lifecycle chaincode package`, internal/peer/lifecycle/chaincode/package.go,
 * and the ccaas builder, ccaas_builder/cmd/build): a gzipped tar holding exactly two regular files,
 * `metadata.json` and `code.tar.gz`.
 *   - node:  metadata.json {"path","type":"node","label"}; code.tar.gz holds the chaincode source
 *            under src/ (package.json, package-lock.json and the package.json "files"), which the
 *            peer's Node builder installs with npm and starts with `npm start`.
 *   - ccaas: metadata.json {"type":"ccaas","label"}; code.tar.gz holds connection.json (address,
 *            dial_timeout, tls_required, client_auth_required, root_cert, client_cert, client_key),
 *            which tells the peer where to dial the chaincode server.
 * Package ID: `<label>:<hex SHA-256 of the package file>` (core/chaincode/persistence PackageID).
 *
 * Deterministic: the same inputs give the same bytes. Entries are sorted by name, every header
 * has mode 0644, uid/gid 0, empty owner names and mtime 0, and the gzip streams use stored
 * (uncompressed) deflate blocks with a fixed header (mtime 0, OS 255 as Go writes it), so the
 * bytes depend on no zlib version. The packages are small (tens of kilobytes).
 *
 * --dir packages another copy of the chaincode (default: this script's parent); --out is where
 * the package is written as <label>.<node|ccaas>.tar.gz (default: dist/).
 *
 * Prints one JSON object: {"type","label","file","package_id","sha256","bytes"}.
 */

'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** Fabric's label rule (core/chaincode/persistence LabelRegexp). */
const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

/** The chaincode's directory (this script's parent). */
const CHAINCODE_DIR = path.resolve(__dirname, '..');

/** The path recorded in a node package's metadata.json (relative, so it is the same everywhere). */
const NODE_PATH = 'chaincode/evidence-anchor';

class PackageError extends Error {}

// ---- tar (POSIX ustar) ----------------------------------------------------------------------

function octal(value, width) {
    const s = value.toString(8);
    if (s.length > width - 1) {
        throw new PackageError(`value ${value} does not fit a ${width}-byte tar field`);
    }
    return s.padStart(width - 1, '0') + '\0';
}

function tarHeader(name, size) {
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length > 100) {
        throw new PackageError(`path ${name} is longer than 100 bytes (the ustar name field)`);
    }
    const h = Buffer.alloc(512, 0);
    nameBytes.copy(h, 0);
    h.write(octal(0o644, 8), 100, 'ascii');
    h.write(octal(0, 8), 108, 'ascii');
    h.write(octal(0, 8), 116, 'ascii');
    h.write(octal(size, 12), 124, 'ascii');
    h.write(octal(0, 12), 136, 'ascii');
    h.write('        ', 148, 'ascii'); // checksum computed with the field as spaces
    h.write('0', 156, 'ascii'); // regular file
    h.write('ustar\0', 257, 'ascii');
    h.write('00', 263, 'ascii');
    let sum = 0;
    for (const b of h) {
        sum += b;
    }
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
    return h;
}

/**
 * A tar archive of regular files, sorted by name.
 * @param {Array<[string, Buffer]>} files name and content
 * @returns {Buffer}
 */
function tar(files) {
    const sorted = files.slice().sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
    const parts = [];
    for (let i = 0; i < sorted.length; i++) {
        if (i > 0 && sorted[i][0] === sorted[i - 1][0]) {
            throw new PackageError(`duplicate entry ${sorted[i][0]}`);
        }
        const [name, content] = sorted[i];
        parts.push(tarHeader(name, content.length), content, Buffer.alloc((512 - (content.length % 512)) % 512, 0));
    }
    parts.push(Buffer.alloc(1024, 0)); // two zero blocks end the archive
    return Buffer.concat(parts);
}

// ---- gzip with stored deflate blocks (RFC 1952, RFC 1951 section 3.2.4) ----------------------

const CRC_TABLE = (() => {
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) {
            c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        }
        t[n] = c >>> 0;
    }
    return t;
})();

function crc32(buf) {
    let c = 0xffffffff;
    for (const b of buf) {
        c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
    }
    return (c ^ 0xffffffff) >>> 0;
}

/**
 * gzip without compression: the same bytes whatever zlib the machine has.
 * @param {Buffer} data
 * @returns {Buffer}
 */
function gzipStored(data) {
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown, what Go's compress/gzip writes).
    const parts = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])];
    let off = 0;
    do {
        const len = Math.min(65535, data.length - off);
        const final = off + len === data.length;
        const hdr = Buffer.alloc(5);
        hdr[0] = final ? 1 : 0; // BFINAL, BTYPE=00 (stored), then padding to the byte boundary
        hdr.writeUInt16LE(len, 1);
        hdr.writeUInt16LE(~len & 0xffff, 3);
        parts.push(hdr, data.subarray(off, off + len));
        off += len;
    } while (off < data.length);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(data), 0);
    trailer.writeUInt32LE(data.length % 0x100000000, 4);
    parts.push(trailer);
    return Buffer.concat(parts);
}

// ---- packages -------------------------------------------------------------------------------

function checkLabel(label) {
    if (typeof label !== 'string' || !LABEL_RE.test(label)) {
        throw new PackageError(`label ${JSON.stringify(label)} does not match Fabric's rule ${LABEL_RE.source}`);
    }
}

function packageId(label, bytes) {
    return `${label}:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

function pkg(metadata, codeFiles) {
    const meta = Buffer.from(JSON.stringify(metadata), 'utf8');
    const code = gzipStored(tar(codeFiles));
    return gzipStored(tar([['metadata.json', meta], ['code.tar.gz', code]]));
}

/** Every regular file under `dir` (relative paths with '/'), skipping node_modules. */
function walk(root, rel) {
    const out = [];
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    if (st.isSymbolicLink()) {
        throw new PackageError(`${rel} is a symbolic link; packages hold regular files only`);
    }
    if (st.isDirectory()) {
        for (const name of fs.readdirSync(abs).sort()) {
            if (name === 'node_modules' || name === '.git') {
                continue;
            }
            out.push(...walk(root, rel ? `${rel}/${name}` : name));
        }
    } else if (st.isFile()) {
        out.push(rel);
    } else {
        throw new PackageError(`${rel} is not a regular file`);
    }
    return out;
}

/**
 * The source files a node package carries: package.json, package-lock.json and everything
 * package.json's "files" names (directories recursively).
 * @param {string} dir the chaincode directory
 * @returns {string[]} relative paths, sorted
 */
function nodeSourceFiles(dir) {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    if (!Array.isArray(manifest.files) || manifest.files.length === 0) {
        throw new PackageError('package.json has no "files" list');
    }
    const files = new Set(['package.json', 'package-lock.json']);
    for (const entry of manifest.files) {
        for (const f of walk(dir, entry.replace(/\/+$/, ''))) {
            files.add(f);
        }
    }
    return [...files].sort();
}

/**
 * The standard Node package (`peer lifecycle chaincode package --lang node`).
 * @param {{label: string, dir?: string}} opts
 * @returns {Buffer}
 */
function buildNodePackage(opts) {
    checkLabel(opts.label);
    const dir = opts.dir || CHAINCODE_DIR;
    const code = nodeSourceFiles(dir).map((rel) => [`src/${rel}`, fs.readFileSync(path.join(dir, rel))]);
    return pkg({ path: NODE_PATH, type: 'node', label: opts.label }, code);
}

/**
 * The chaincode-as-a-service package: connection.json for the peer's ccaas builder.
 * @param {{label: string, address: string, dialTimeout?: string, rootCert?: string,
 *          clientCert?: string, clientKey?: string, clientAuth?: boolean}} opts PEM texts, not paths
 * @returns {Buffer}
 */
function buildCcaasPackage(opts) {
    checkLabel(opts.label);
    if (typeof opts.address !== 'string' || opts.address === '') {
        throw new PackageError('--address HOST:PORT is required');
    }
    const tls = opts.rootCert !== undefined;
    if (!tls && (opts.clientCert !== undefined || opts.clientKey !== undefined || opts.clientAuth)) {
        throw new PackageError('client certificate, key or --client-auth need --tls-root-cert');
    }
    if ((opts.clientCert === undefined) !== (opts.clientKey === undefined)) {
        throw new PackageError('--tls-client-cert and --tls-client-key go together');
    }
    if (opts.clientAuth && opts.clientCert === undefined) {
        throw new PackageError('--client-auth needs --tls-client-cert and --tls-client-key');
    }
    const connection = {
        address: opts.address,
        dial_timeout: opts.dialTimeout || '10s',
        tls_required: tls,
        client_auth_required: Boolean(opts.clientAuth),
        root_cert: opts.rootCert || '',
        client_cert: opts.clientCert || '',
        client_key: opts.clientKey || '',
    };
    const body = Buffer.from(`${JSON.stringify(connection, null, 2)}\n`, 'utf8');
    return pkg({ type: 'ccaas', label: opts.label }, [['connection.json', body]]);
}

// ---- command line ---------------------------------------------------------------------------

function parseArgs(argv) {
    const [kind, ...rest] = argv;
    const flags = {};
    const valued = new Set(['--label', '--out', '--address', '--dial-timeout', '--tls-root-cert', '--tls-client-cert', '--tls-client-key', '--dir']);
    for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        if (a === '--client-auth') {
            flags[a] = true;
        } else if (valued.has(a)) {
            if (i + 1 >= rest.length) {
                throw new PackageError(`${a} needs a value`);
            }
            flags[a] = rest[++i];
        } else {
            throw new PackageError(`unknown argument ${JSON.stringify(a)}`);
        }
    }
    return { kind, flags };
}

function main(argv) {
    const { kind, flags } = parseArgs(argv);
    const read = (f) => (flags[f] === undefined ? undefined : fs.readFileSync(flags[f], 'utf8'));
    let bytes;
    if (kind === 'node') {
        bytes = buildNodePackage({ label: flags['--label'], dir: flags['--dir'] });
    } else if (kind === 'ccaas') {
        bytes = buildCcaasPackage({
            label: flags['--label'],
            address: flags['--address'],
            dialTimeout: flags['--dial-timeout'],
            rootCert: read('--tls-root-cert'),
            clientCert: read('--tls-client-cert'),
            clientKey: read('--tls-client-key'),
            clientAuth: flags['--client-auth'] === true,
        });
    } else {
        throw new PackageError('usage: package.js node|ccaas --label LABEL [options] (see the header of scripts/package.js)');
    }
    const out = path.resolve(flags['--out'] || path.join(CHAINCODE_DIR, 'dist'));
    fs.mkdirSync(out, { recursive: true });
    const file = path.join(out, `${flags['--label']}.${kind}.tar.gz`);
    fs.writeFileSync(file, bytes);
    const id = packageId(flags['--label'], bytes);
    process.stdout.write(`${JSON.stringify({ type: kind, label: flags['--label'], file, package_id: id, sha256: id.slice(id.lastIndexOf(':') + 1), bytes: bytes.length })}\n`);
}

if (require.main === module) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        if (e instanceof PackageError || e.code === 'ENOENT') {
            process.stderr.write(`package.js: ${e.message}\n`);
            process.exit(2);
        }
        throw e;
    }
}

module.exports = { PackageError, buildCcaasPackage, buildNodePackage, crc32, gzipStored, nodeSourceFiles, packageId, tar };
