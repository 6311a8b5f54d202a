/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The contract's transactions against a mock stub: what is read, written and emitted, and what
 * is refused.
 */

'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const EvidenceAnchor = require('../lib/evidence-anchor');
const { MockStub } = require('./mockstub');

const HASH = '0123456789abcdef'.repeat(4);
const HASH2 = 'f'.repeat(64);

async function run(args, opts) {
    const stub = new MockStub(args, opts);
    const contract = new EvidenceAnchor();
    const fn = args[0];
    const result = await contract[fn]({ stub }, ...args.slice(1));
    return { stub, result };
}

async function refused(args, opts, message) {
    const stub = new MockStub(args, opts);
    const contract = new EvidenceAnchor();
    await assert.rejects(contract[args[0]]({ stub }, ...args.slice(1)), (e) => {
        assert.equal(e.message, message);
        return true;
    });
    return stub;
}

test('Anchor reads the key once, writes the hex text, emits Anchored with the transaction time', async () => {
    const { stub, result } = await run(['Anchor', 'acme-motors.on', '42', HASH], { seconds: '1700000000', nanos: 5 });
    assert.equal(result, undefined, 'no payload');
    assert.deepEqual(stub.stateCalls(), [
        ['getState', 'ckpt/acme-motors.on/42'],
        ['putState', 'ckpt/acme-motors.on/42', HASH],
        ['setEvent', 'Anchored'],
    ]);
    assert.deepEqual([...stub.writes.keys()], ['ckpt/acme-motors.on/42']);
    assert.equal(stub.writes.get('ckpt/acme-motors.on/42').toString('latin1'), HASH, 'value is the hex ASCII text');
    assert.equal(stub.event.name, 'Anchored');
    assert.equal(
        stub.event.payload.toString('utf8'),
        `{"key":"ckpt/acme-motors.on/42","tenant":"acme-motors.on","seq":"42","checkpointHash":"${HASH}","txTime":"2023-11-14T22:13:20.000000005Z"}`,
    );
});

test('Anchor never overwrites: an existing key is refused and nothing is written', async () => {
    const state = new Map([['ckpt/t/5', Buffer.from(HASH)]]);
    const stub = await refused(['Anchor', 't', '5', HASH2], { state }, 'Anchor: key ckpt/t/5 already exists; anchors are never overwritten');
    assert.deepEqual(stub.stateCalls(), [['getState', 'ckpt/t/5']]);
    assert.equal(stub.writes.size, 0);
    assert.equal(stub.event, null);
    // The same value again is refused too: an anchor is written once.
    await refused(['Anchor', 't', '5', HASH], { state }, 'Anchor: key ckpt/t/5 already exists; anchors are never overwritten');
});

test('a second Anchor of a key after the first committed is refused', async () => {
    const { stub } = await run(['Anchor', 't', '1', HASH]);
    stub.commit();
    await refused(['Anchor', 't', '1', HASH2], { state: stub.state }, 'Anchor: key ckpt/t/1 already exists; anchors are never overwritten');
    // A different key is independent.
    const other = await run(['Anchor', 't', '2', HASH2], { state: stub.state });
    assert.deepEqual(other.stub.stateCalls()[0], ['getState', 'ckpt/t/2']);
});

test('bad arguments are refused before anything is read', async () => {
    const cases = [
        [['Anchor', 't', '1'], 'Anchor: expected 3 arguments (tenant, seq, checkpointHashHex), got 2'],
        [['Anchor', 't', '1', HASH, 'x'], 'Anchor: expected 3 arguments (tenant, seq, checkpointHashHex), got 4'],
        [['Anchor', '', '1', HASH], 'tenant id: empty'],
        [['Anchor', 'a'.repeat(65), '1', HASH], 'tenant id: longer than 64 bytes'],
        [['Anchor', '-t', '1', HASH], 'tenant id: must start with a-z or 0-9'],
        [['Anchor', 'Acme', '1', HASH], "tenant id: only a-z, 0-9, '-', '_' and '.' are allowed"],
        [['Anchor', 't/x', '1', HASH], "tenant id: only a-z, 0-9, '-', '_' and '.' are allowed"],
        [['Anchor', 'é', '1', HASH], 'tenant id: must start with a-z or 0-9'],
        [['Anchor', 't', '01', HASH], 'seq: must be a decimal number without sign or leading zeros'],
        [['Anchor', 't', '-1', HASH], 'seq: must be a decimal number without sign or leading zeros'],
        [['Anchor', 't', '+1', HASH], 'seq: must be a decimal number without sign or leading zeros'],
        [['Anchor', 't', '', HASH], 'seq: must be a decimal number without sign or leading zeros'],
        [['Anchor', 't', '1 ', HASH], 'seq: must be a decimal number without sign or leading zeros'],
        [['Anchor', 't', '18446744073709551616', HASH], 'seq: larger than 18446744073709551615'],
        [['Anchor', 't', '1', HASH.toUpperCase()], 'checkpointHashHex: must be exactly 64 lowercase hex characters'],
        [['Anchor', 't', '1', HASH.slice(1)], 'checkpointHashHex: must be exactly 64 lowercase hex characters'],
        [['Anchor', 't', '1', `${HASH}0`], 'checkpointHashHex: must be exactly 64 lowercase hex characters'],
        [['Anchor', 't', '1', `${HASH.slice(1)}g`], 'checkpointHashHex: must be exactly 64 lowercase hex characters'],
        [['Get', 't'], 'Get: expected 2 arguments (tenant, seq), got 1'],
        [['Get', 'T', '1'], "tenant id: only a-z, 0-9, '-', '_' and '.' are allowed"],
        [['Get', 't', '007'], 'seq: must be a decimal number without sign or leading zeros'],
    ];
    for (const [args, message] of cases) {
        const stub = await refused(args, {}, message);
        assert.deepEqual(stub.stateCalls(), [], `${JSON.stringify(args)} read or wrote state`);
    }
});

test('edge values that are valid', async () => {
    for (const [tenant, seq] of [['a'.repeat(64), '0'], ['0', '18446744073709551615'], ['x_y-z.9', '1']]) {
        const { stub } = await run(['Anchor', tenant, seq, HASH]);
        assert.deepEqual(stub.stateCalls()[1], ['putState', `ckpt/${tenant}/${seq}`, HASH]);
    }
});

test('Get returns the stored hex text, or an empty payload when absent, and writes nothing', async () => {
    const state = new Map([['ckpt/t/3', Buffer.from(HASH)]]);
    let { stub, result } = await run(['Get', 't', '3'], { state });
    assert.equal(result, HASH);
    assert.deepEqual(stub.stateCalls(), [['getState', 'ckpt/t/3']]);
    ({ stub, result } = await run(['Get', 't', '4'], { state }));
    assert.equal(result, '');
    assert.equal(stub.writes.size, 0);
});

test('unknown functions are refused with a message naming them', async () => {
    const stub = new MockStub(['Delete', 't', '1']);
    await assert.rejects(new EvidenceAnchor().unknownTransaction({ stub }), {
        message: 'unknown function "Delete" (the contract has Anchor and Get)',
    });
});

test('the contract has exactly the transactions Anchor and Get', () => {
    const own = Object.getOwnPropertyNames(EvidenceAnchor.prototype).filter((n) => n !== 'constructor').sort();
    assert.deepEqual(own, ['Anchor', 'Get', 'unknownTransaction']);
});
