/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The evidence-anchor contract (fabric-contract-api). The contract it implements is written in
 * crates/fabric-anchor/src/lib.rs ("The evidence-anchor chaincode contract") and checked by
 * evidence_core::fabric::verify_receipt: the write set of an Anchor transaction holds
 * ckpt/<tenant>/<seq> = the checkpoint hash as 64 lowercase hex ASCII characters.
 */

'use strict';

const { Contract } = require('fabric-contract-api');
const rules = require('./rules');

class EvidenceAnchor extends Contract {
    constructor() {
        super('EvidenceAnchor');
    }

    /**
     * Anchor(tenant, seq, checkpointHashHex), submitted: writes ckpt/<tenant>/<seq> once.
     *
     * Validates every argument first (nothing is read before), then reads the key once: an
     * existing key is refused, never overwritten. The write is blind apart from that read, so
     * anchors of different keys never conflict; two concurrent anchors of one key conflict at
     * commit (MVCC), so a key is written at most once. The only time used is the transaction
     * timestamp (the same at every endorser), in the event.
     */
    async Anchor(ctx, tenant, seq, checkpointHashHex) {
        // The contract API's dispatcher checks the count first (it infers the parameters from
        // this signature: "Expected 3 parameters, but N have been supplied"); this check covers
        // any other caller.
        rules.checkArgCount('Anchor', ['tenant', 'seq', 'checkpointHashHex'], ctx.stub.getArgs().length - 1);
        rules.checkTenant(tenant);
        rules.checkSeq(seq);
        rules.checkHashHex(checkpointHashHex);
        const key = rules.anchorKey(tenant, seq);
        const existing = await ctx.stub.getState(key);
        if (existing && existing.length > 0) {
            throw new rules.ContractError(`Anchor: key ${key} already exists; anchors are never overwritten`);
        }
        await ctx.stub.putState(key, Buffer.from(checkpointHashHex, 'utf8'));
        const txTime = rules.txTimeRfc3339(ctx.stub.getTxTimestamp());
        ctx.stub.setEvent(rules.EVENT_NAME, rules.eventPayload(key, tenant, seq, checkpointHashHex, txTime));
    }

    /**
     * Get(tenant, seq), evaluated: the stored hex text, or an empty payload when the key is
     * absent (a Gateway turns error statuses into gRPC errors, so absence is not an error).
     */
    async Get(ctx, tenant, seq) {
        rules.checkArgCount('Get', ['tenant', 'seq'], ctx.stub.getArgs().length - 1);
        rules.checkTenant(tenant);
        rules.checkSeq(seq);
        const value = await ctx.stub.getState(rules.anchorKey(tenant, seq));
        return value && value.length > 0 ? Buffer.from(value).toString('utf8') : '';
    }

    /** Any other function name. */
    async unknownTransaction(ctx) {
        const { fcn } = ctx.stub.getFunctionAndParameters();
        throw new rules.ContractError(`unknown function ${JSON.stringify(fcn)} (the contract has Anchor and Get)`);
    }
}

module.exports = EvidenceAnchor;
