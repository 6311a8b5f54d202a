/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * An in-memory stand-in for the fabric-shim ChaincodeStub: the calls the contract makes, with
 * every state call recorded so that tests can check what was read and written, and in which
 * order. Writes are buffered like a peer's simulator: getState sees committed state only, and
 * commit() applies the buffered writes.
 */

'use strict';

class MockStub {
    /**
     * @param {string[]} args function name and arguments, as a client sends them
     * @param {{state?: Map<string, Buffer>, seconds?: string, nanos?: number, creator?: object}} [opts]
     */
    constructor(args, opts = {}) {
        this.args = args;
        this.state = opts.state || new Map();
        this.txTimestamp = { seconds: { toString: () => opts.seconds || '1700000000' }, nanos: opts.nanos === undefined ? 123456789 : opts.nanos };
        this.creator = opts.creator;
        this.calls = [];
        this.writes = new Map();
        this.event = null;
    }

    getArgs() {
        return this.args.slice();
    }

    getStringArgs() {
        return this.args.slice();
    }

    getBufferArgs() {
        return this.args.map((a) => Buffer.from(a, 'utf8'));
    }

    getFunctionAndParameters() {
        return { fcn: this.args[0] || '', params: this.args.slice(1) };
    }

    getTxID() {
        return 'a0'.repeat(32);
    }

    getChannelID() {
        return 'evidence';
    }

    getCreator() {
        return this.creator;
    }

    getTxTimestamp() {
        this.calls.push(['getTxTimestamp']);
        return this.txTimestamp;
    }

    async getState(key) {
        this.calls.push(['getState', key]);
        return this.state.has(key) ? Buffer.from(this.state.get(key)) : Buffer.alloc(0);
    }

    async putState(key, value) {
        this.calls.push(['putState', key, Buffer.from(value).toString('utf8')]);
        this.writes.set(key, Buffer.from(value));
    }

    async deleteState(key) {
        this.calls.push(['deleteState', key]);
    }

    setEvent(name, payload) {
        this.calls.push(['setEvent', name]);
        this.event = { name, payload: Buffer.from(payload) };
    }

    /** Applies the buffered writes to the state (what a commit does). */
    commit() {
        for (const [k, v] of this.writes) {
            this.state.set(k, v);
        }
    }

    /** The state calls, without the timestamp read. */
    stateCalls() {
        return this.calls.filter((c) => c[0] !== 'getTxTimestamp');
    }
}

module.exports = { MockStub };
