/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The contract behind fabric-shim's own contract dispatcher (ChaincodeFromContract, what
 * `fabric-chaincode-node start|server` runs): function names route to the default contract, a
 * thrown error becomes status 500 with its message, and the response payloads are what the
 * ledger's client expects. The submitter's certificate is a real Fabric 2.4.7 one
 * (testdata/fabric), which the contract API's ClientIdentity parses on every call.
 */

'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ChaincodeFromContract = require('fabric-shim/lib/contract-spi/chaincodefromcontract');
const { JSONSerializer } = require('fabric-contract-api');
const { contracts } = require('..');
const { MockStub } = require('./mockstub');

const CERT = fs.readFileSync(path.join(__dirname, '../../../testdata/fabric/asset-transfer-basic-2.4.7/msp-roots/Org1MSP.pem'));
const HASH = 'ab'.repeat(32);

function chaincode() {
    const serializers = { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } };
    return new ChaincodeFromContract(contracts.slice(), serializers, {}, 'evidence-anchor', '1.0.0');
}

function stub(args, state) {
    return new MockStub(args, { state, creator: { mspid: 'Org1MSP', idBytes: new Uint8Array(CERT) } });
}

test('Anchor and Get through the contract API dispatcher', async () => {
    const cc = chaincode();
    const s = stub(['Anchor', 'acme', '7', HASH]);
    const r = await cc.Invoke(s);
    assert.equal(r.status, 200, r.message);
    assert.equal(r.payload === undefined || r.payload.length === 0, true, 'Anchor returns no payload');
    assert.deepEqual(s.stateCalls().map((c) => c[0]), ['getState', 'putState', 'setEvent']);
    s.commit();

    const got = await cc.Invoke(stub(['Get', 'acme', '7'], s.state));
    assert.equal(got.status, 200);
    assert.equal(Buffer.from(got.payload).toString('utf8'), HASH);
    const absent = await cc.Invoke(stub(['Get', 'acme', '8'], s.state));
    assert.equal(absent.status, 200);
    assert.equal(Buffer.from(absent.payload).length, 0);

    // The contract's own name routes to it too.
    const named = await cc.Invoke(stub(['EvidenceAnchor:Get', 'acme', '7'], s.state));
    assert.equal(Buffer.from(named.payload).toString('utf8'), HASH);
});

test('refusals come back as status 500 with the contract message', async () => {
    const cc = chaincode();
    const state = new Map([['ckpt/acme/7', Buffer.from(HASH)]]);
    const dup = await cc.Invoke(stub(['Anchor', 'acme', '7', HASH], state));
    assert.equal(dup.status, 500);
    assert.equal(dup.message, 'Anchor: key ckpt/acme/7 already exists; anchors are never overwritten');
    const bad = await cc.Invoke(stub(['Anchor', 'acme', '7', HASH.toUpperCase()]));
    assert.equal(bad.status, 500);
    assert.equal(bad.message, 'checkpointHashHex: must be exactly 64 lowercase hex characters');
    const unknown = await cc.Invoke(stub(['Put', 'acme', '7', HASH]));
    assert.equal(unknown.status, 500);
    assert.equal(unknown.message, 'unknown function "Put" (the contract has Anchor and Get)');
    // The dispatcher counts the arguments against the signature before the contract runs.
    const short = await cc.Invoke(stub(['Anchor', 'acme', '7']));
    assert.equal(short.status, 500);
    assert.equal(short.message, 'Expected 3 parameters, but 2 have been supplied');
    const long = await cc.Invoke(stub(['Get', 'acme', '7', 'x']));
    assert.equal(long.message, 'Expected 2 parameters, but 3 have been supplied');
    const otherContract = await cc.Invoke(stub(['Other:Anchor', 'acme', '7', HASH]));
    assert.equal(otherContract.status, 500);
    assert.equal(otherContract.message, 'Contract name is not known: Other');
});
