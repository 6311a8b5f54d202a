/*
 * SPDX-License-Identifier: Apache-2.0
 */

'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const rules = require('../lib/rules');

test('txTimeRfc3339 writes the channel-header time with nine fractional digits', () => {
    const ts = (seconds, nanos) => ({ seconds: { toString: () => seconds }, nanos });
    assert.equal(rules.txTimeRfc3339(ts('0', 0)), '1970-01-01T00:00:00.000000000Z');
    assert.equal(rules.txTimeRfc3339(ts('1700000000', 5)), '2023-11-14T22:13:20.000000005Z');
    assert.equal(rules.txTimeRfc3339(ts('951782400', 999999999)), '2000-02-29T00:00:00.999999999Z');
    assert.equal(rules.txTimeRfc3339(ts('253402300799', 1)), '9999-12-31T23:59:59.000000001Z');
    assert.equal(rules.txTimeRfc3339(ts('-62167219200', 0)), '0000-01-01T00:00:00.000000000Z');
    for (const [s, n] of [['253402300800', 0], ['-62167219201', 0], ['1', -1], ['1', 1000000000]]) {
        assert.throws(() => rules.txTimeRfc3339(ts(s, n)), { message: 'transaction timestamp out of range' });
    }
});

test('txTimeRfc3339 takes a protobuf Long as fabric-shim returns it', () => {
    const Long = require('long');
    assert.equal(rules.txTimeRfc3339({ seconds: Long.fromNumber(1700000000, true), nanos: 7 }), '2023-11-14T22:13:20.000000007Z');
});

test('anchorKey is ckpt/<tenant>/<seq>', () => {
    assert.equal(rules.anchorKey('acme', '0'), 'ckpt/acme/0');
});

test('the event payload is compact JSON in a fixed field order', () => {
    assert.equal(
        rules.eventPayload('ckpt/t/1', 't', '1', 'ab', '1970-01-01T00:00:00.000000000Z').toString('utf8'),
        '{"key":"ckpt/t/1","tenant":"t","seq":"1","checkpointHash":"ab","txTime":"1970-01-01T00:00:00.000000000Z"}',
    );
});
