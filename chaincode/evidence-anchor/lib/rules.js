/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The evidence-anchor contract's rules, as pure functions (no Fabric API), so that they can be
 * tested directly and read beside their Rust twin in
 * crates/fabric-anchor/src/emulator/contract.rs (the emulator's Rust-only semantics mode). Every
 * message below is part of the contract: the Rust twin produces the same text, and the tests
 * compare the two modes' responses byte for byte.
 */

'use strict';

/** Largest sequence number: a checkpoint sequence is a u64 in the ledger. */
const MAX_SEQ = 18446744073709551615n;

/** Longest tenant id, in bytes (evidence_core::TenantId::MAX_LEN). */
const TENANT_MAX_LEN = 64;

/** The event every successful Anchor emits. */
const EVENT_NAME = 'Anchored';

/** An error the contract reports as its response message (status 500, nothing written). */
class ContractError extends Error {}

/**
 * Checks the argument count (arguments after the function name).
 * @param {string} fn function name
 * @param {string[]} names the expected argument names
 * @param {number} got how many arguments were sent
 */
function checkArgCount(fn, names, got) {
    if (got !== names.length) {
        throw new ContractError(`${fn}: expected ${names.length} arguments (${names.join(', ')}), got ${got}`);
    }
}

/**
 * Checks a tenant id with the ledger's rule (evidence_core::TenantId): 1 to 64 bytes of
 * a-z, 0-9, '-', '_' and '.', starting with a letter or digit. The reasons are the ledger's.
 * @param {string} tenant
 */
function checkTenant(tenant) {
    let reason = null;
    if (tenant.length === 0) {
        reason = 'empty';
    } else if (Buffer.byteLength(tenant, 'utf8') > TENANT_MAX_LEN) {
        reason = 'longer than 64 bytes';
    } else if (!/^[A-Za-z0-9]/.test(tenant)) {
        // The ledger's rule tests the first byte for an ASCII letter or digit; an upper-case
        // first letter then fails the character rule below, as it does there.
        reason = 'must start with a-z or 0-9';
    } else if (!/^[a-z0-9._-]+$/.test(tenant)) {
        reason = "only a-z, 0-9, '-', '_' and '.' are allowed";
    }
    if (reason !== null) {
        throw new ContractError(`tenant id: ${reason}`);
    }
}

/**
 * Checks a checkpoint sequence number: decimal, no sign, no leading zeros, at most 2^64 - 1.
 * @param {string} seq
 */
function checkSeq(seq) {
    if (!/^(0|[1-9][0-9]*)$/.test(seq)) {
        throw new ContractError('seq: must be a decimal number without sign or leading zeros');
    }
    if (BigInt(seq) > MAX_SEQ) {
        throw new ContractError(`seq: larger than ${MAX_SEQ}`);
    }
}

/**
 * Checks a checkpoint hash: exactly 64 lowercase hex characters (the stored value).
 * @param {string} hex
 */
function checkHashHex(hex) {
    if (!/^[0-9a-f]{64}$/.test(hex)) {
        throw new ContractError('checkpointHashHex: must be exactly 64 lowercase hex characters');
    }
}

/**
 * The ledger key of a checkpoint: ckpt/<tenant>/<seq> (fabric_anchor::anchor_key).
 * @param {string} tenant an id that passed checkTenant
 * @param {string} seq a sequence number that passed checkSeq
 * @returns {string}
 */
function anchorKey(tenant, seq) {
    return `ckpt/${tenant}/${seq}`;
}

/**
 * The transaction timestamp (channel header time, the same at every endorser) as RFC 3339
 * UTC with nine fractional digits, e.g. 2026-11-23T09:15:02.123456789Z.
 * @param {{seconds: {toString(): string}, nanos: number}} ts what stub.getTxTimestamp() returns
 * @returns {string}
 */
function txTimeRfc3339(ts) {
    const seconds = BigInt(ts.seconds.toString());
    const nanos = Number(ts.nanos);
    // Years 0000-9999 only, as RFC 3339 writes them.
    if (seconds < -62167219200n || seconds > 253402300799n || !Number.isInteger(nanos) || nanos < 0 || nanos > 999999999) {
        throw new ContractError('transaction timestamp out of range');
    }
    const date = new Date(Number(seconds) * 1000).toISOString();
    return `${date.slice(0, 19)}.${String(nanos).padStart(9, '0')}Z`;
}

/**
 * The payload of the Anchored event: JSON with the fields in this order, no spaces.
 * @returns {Buffer}
 */
function eventPayload(key, tenant, seq, checkpointHashHex, txTime) {
    return Buffer.from(JSON.stringify({ key, tenant, seq, checkpointHash: checkpointHashHex, txTime }), 'utf8');
}

module.exports = {
    ContractError,
    EVENT_NAME,
    MAX_SEQ,
    anchorKey,
    checkArgCount,
    checkHashHex,
    checkSeq,
    checkTenant,
    eventPayload,
    txTimeRfc3339,
};
