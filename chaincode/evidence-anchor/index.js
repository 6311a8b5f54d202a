/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Entry point read by fabric-chaincode-node (package.json "main"): the contracts this chaincode
 * serves. The first (and only) one is the default, so clients call "Anchor" and "Get" without a
 * contract-name prefix.
 */

'use strict';

const EvidenceAnchor = require('./lib/evidence-anchor');

module.exports.EvidenceAnchor = EvidenceAnchor;
module.exports.contracts = [EvidenceAnchor];
