// Interop check: the official Hyperledger Fabric Gateway client for Node
// (@hyperledger/fabric-gateway) against our fabric-emulator.
//
// Usage: node interop.js TRUST_DIR TENANT SEQ HASH_HEX EXISTING_TENANT EXISTING_SEQ EXISTING_HASH_HEX
//   TRUST_DIR                 the emulator's --out directory (trust.json, client/*)
//   TENANT, SEQ, HASH_HEX     anchored here through the official client: Anchor(tenant, seq, hash)
//   EXISTING_TENANT/SEQ/HASH  anchored earlier by our Rust client; read back here with Get(tenant, seq)
//
// Writes TRUST_DIR/node-block.bin (the block holding the Node client's transaction,
// fetched with qscc GetBlockByTxID) and prints one JSON line with what it saw.
// Any failed expectation exits 1 with a message on stderr.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const { connect, signers, hash, EndorseError, GatewayError } = require('@hyperledger/fabric-gateway');

function fail(msg) {
    process.stderr.write(`interop.js: ${msg}\n`);
    process.exit(1);
}

function expect(cond, msg) {
    if (!cond) fail(msg);
}

async function main() {
    const [dir, tenant, seq, value, existingTenant, existingSeq, existingValue] = process.argv.slice(2);
    if (!existingValue) fail('usage: node interop.js TRUST_DIR TENANT SEQ HASH_HEX EXISTING_TENANT EXISTING_SEQ EXISTING_HASH_HEX');
    const trust = JSON.parse(fs.readFileSync(path.join(dir, 'trust.json'), 'utf8'));
    const channel = trust.channels[0];
    const address = trust.gateway.replace(/^https?:\/\//, '');
    const mspId = fs.readFileSync(path.join(dir, 'client/mspid'), 'utf8').trim();
    const credentials = fs.readFileSync(path.join(dir, 'client/cert.pem'));
    const privateKey = crypto.createPrivateKey(fs.readFileSync(path.join(dir, 'client/key.pem')));

    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const deadline = () => ({ deadline: Date.now() + 10000 });
    const options = { evaluateOptions: deadline, endorseOptions: deadline, submitOptions: deadline, commitStatusOptions: deadline };
    const gateway = connect({ client, identity: { mspId, credentials }, signer: signers.newPrivateKeySigner(privateKey), hash: hash.sha256, ...options });
    const seen = {};
    try {
        const network = gateway.getNetwork(channel);
        const contract = network.getContract('evidence-anchor');

        // 1. Anchor through Endorse -> Submit -> CommitStatus, all signed by the Node client.
        const commit = await contract.submitAsync('Anchor', { arguments: [tenant, seq, value] });
        const status = await commit.getStatus();
        expect(status.successful, `Anchor did not commit: code ${status.code}`);
        seen.tx_id = commit.getTransactionId();
        seen.block_number = status.blockNumber.toString();

        // 2. Get reads back what the Node client wrote, and what our Rust client wrote.
        const got = Buffer.from(await contract.evaluateTransaction('Get', tenant, seq)).toString('utf8');
        expect(got === value, `Get(${tenant}, ${seq}) returned ${JSON.stringify(got)}, expected ${value}`);
        const gotExisting = Buffer.from(await contract.evaluateTransaction('Get', existingTenant, existingSeq)).toString('utf8');
        expect(gotExisting === existingValue, `Get(${existingTenant}, ${existingSeq}) returned ${JSON.stringify(gotExisting)}`);
        const absent = await contract.evaluateTransaction('Get', tenant, `${seq}0`);
        expect(absent.length === 0, 'Get of an absent key returned bytes');

        // 3. A second Anchor of the same key is refused at endorsement.
        try {
            await contract.submitTransaction('Anchor', tenant, seq, value);
            fail('a second Anchor of the same key was accepted');
        } catch (e) {
            expect(e instanceof EndorseError, `second Anchor: expected EndorseError, got ${e && e.name}: ${e && e.message}`);
            const detail = (e.details || []).map((d) => d.message).join('; ');
            expect(detail.includes('already exists'), `second Anchor: detail does not say the key exists: ${detail}`);
            seen.duplicate_refused = true;
        }

        // 4. qscc GetBlockByTxID returns the block for offline verification by the Rust side.
        const qscc = network.getContract('qscc');
        const block = await qscc.evaluateTransaction('GetBlockByTxID', channel, seen.tx_id);
        expect(block.length > 0, 'GetBlockByTxID returned no bytes');
        fs.writeFileSync(path.join(dir, 'node-block.bin'), block);
        seen.block_bytes = block.length;
    } finally {
        gateway.close();
    }

    // 5. Same certificate, a different private key: the emulator must refuse the signature.
    const otherKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = connect({ client, identity: { mspId, credentials }, signer: signers.newPrivateKeySigner(otherKey), hash: hash.sha256, ...options });
    try {
        await forged.getNetwork(channel).getContract('evidence-anchor').submitTransaction('Anchor', tenant, `${seq}1`, value);
        fail('a proposal signed with the wrong key was endorsed');
    } catch (e) {
        expect(e instanceof GatewayError, `forged signature: expected a GatewayError, got ${e && e.name}: ${e && e.message}`);
        expect(e.code === grpc.status.PERMISSION_DENIED, `forged signature: expected PERMISSION_DENIED, got code ${e.code}`);
        seen.forged_refused = `${e.name} code ${e.code}`;
    } finally {
        forged.close();
        client.close();
    }
    process.stdout.write(`${JSON.stringify(seen)}\n`);
}

main().catch((e) => fail(`${e && e.name}: ${e && e.message}${e && e.details ? ` ${JSON.stringify(e.details)}` : ''}`));
