//! Offline verification of one protobuf-encoded `common.Block`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::error::{CertificateProblem, FabricError, Location, SignatureRole};
use super::proto::{common, msp, protos};
use crate::pki::{self, Certificate, EcPublicKey, HashAlg, LowS};
use crate::types::{UnixMillis, sha256};

/// `common.HeaderType.ENDORSER_TRANSACTION`.
pub const HEADER_TYPE_ENDORSER_TRANSACTION: i32 = 3;

/// Trusted MSP root certificates, by MSP id, and which MSPs are orderer organisations.
///
/// Only certificates issued directly by one of its MSP's roots are accepted (what Fabric's
/// test networks and our emulator produce); intermediate CAs are not supported yet.
#[derive(Debug, Clone, Default)]
pub struct MspRoots {
    roots: BTreeMap<String, Vec<Certificate>>,
    orderer_msps: BTreeSet<String>,
}

impl MspRoots {
    /// An empty trust store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every certificate of a PEM text as a root of `msp_id`.
    ///
    /// # Errors
    /// [`FabricError::BadRoot`] when the PEM holds no certificate or a certificate that is not
    /// an ECDSA P-256/P-384 X.509 certificate.
    pub fn add_pem(&mut self, msp_id: &str, pem: &[u8]) -> Result<(), FabricError> {
        let bad = |problem: CertificateProblem| FabricError::BadRoot { msp_id: msp_id.to_owned(), problem: Box::new(problem) };
        let text = std::str::from_utf8(pem).map_err(|_| bad(pki::PkiError::Pem { offset: 0, problem: "not UTF-8 text" }.into()))?;
        let ders = pki::pem_blocks(text).map_err(|e| bad(e.into()))?;
        if ders.is_empty() {
            return Err(bad(CertificateProblem::Count { found: 0 }));
        }
        let mut parsed = Vec::with_capacity(ders.len());
        for der in &ders {
            let cert = Certificate::from_der(der).map_err(|e| bad(pki::PkiError::Certificate(e).into()))?;
            EcPublicKey::from_certificate(&cert).map_err(|e| bad(CertificateProblem::Key(e)))?;
            parsed.push(cert);
        }
        self.roots.entry(msp_id.to_owned()).or_default().extend(parsed);
        Ok(())
    }

    /// Marks `msp_id` as an orderer organisation: only its identities may sign blocks.
    pub fn add_orderer_msp(&mut self, msp_id: &str) {
        self.orderer_msps.insert(msp_id.to_owned());
    }

    /// The MSP ids with roots, in order.
    pub fn msp_ids(&self) -> impl Iterator<Item = &str> {
        self.roots.keys().map(String::as_str)
    }

    /// Whether `msp_id` is an orderer organisation.
    pub fn is_orderer(&self, msp_id: &str) -> bool {
        self.orderer_msps.contains(msp_id)
    }
}

/// Limits applied to hostile input.
#[derive(Debug, Clone, Copy)]
pub struct BlockLimits {
    /// Largest block accepted, in bytes.
    pub max_block_bytes: usize,
    /// Largest number of transactions per block.
    pub max_transactions: usize,
}

impl Default for BlockLimits {
    fn default() -> Self {
        Self { max_block_bytes: 64 * 1024 * 1024, max_transactions: 100_000 }
    }
}

/// The predecessor a block must link to.
#[derive(Debug, Clone, Copy)]
pub enum Predecessor<'a> {
    /// The predecessor block, protobuf-encoded; its header hash and number are checked.
    Block(&'a [u8]),
    /// The predecessor's header hash only.
    HeaderHash(&'a [u8; 32]),
}

/// One verified signature.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignatureReport {
    /// Which signature.
    pub role: String,
    /// The signer's MSP id.
    pub msp_id: String,
    /// Hex SHA-256 of the signer's certificate (DER).
    pub cert_sha256: String,
    /// The time (Unix seconds) at which the certificate was checked.
    pub cert_checked_at: i64,
}

/// What was verified about one transaction.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TxReport {
    /// Index in the block.
    pub index: usize,
    /// `ChannelHeader.tx_id` (empty for config transactions).
    pub tx_id: String,
    /// `ChannelHeader.channel_id`.
    pub channel: String,
    /// `ChannelHeader.type` (3 = endorser transaction, 1 = config).
    pub header_type: i32,
    /// `ChannelHeader.timestamp`, Unix seconds: certificates are checked at this time.
    pub timestamp: i64,
    /// The creator's signature over the payload.
    pub creator: SignatureReport,
    /// Every endorsement (endorser transactions only).
    pub endorsements: Vec<SignatureReport>,
    /// The validation flag from metadata slot 2, `None` when absent. UNSIGNED: reported only.
    pub validation_code: Option<u8>,
}

/// The result of a successful [`verify_block`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlockReport {
    /// Block number.
    pub number: u64,
    /// Hex `data_hash`, checked equal to SHA-256 of the concatenated envelopes.
    pub data_hash: String,
    /// Hex `previous_hash`.
    pub previous_hash: String,
    /// Hex SHA-256 of the DER header: what the next block's `previous_hash` must be.
    pub header_hash: String,
    /// Whether the link to a given predecessor was checked (it held, or verification failed).
    pub linked_to_predecessor: bool,
    /// The orderer signatures from metadata slot 0, each verified.
    pub orderer_signatures: Vec<SignatureReport>,
    /// Every transaction, each verified.
    pub transactions: Vec<TxReport>,
    /// Always true: the validation flags (metadata slot 2) are not covered by any signature.
    pub validation_flags_unsigned: bool,
}

/// SHA-256 of the DER `SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }`.
pub fn header_hash(number: u64, previous_hash: &[u8], data_hash: &[u8]) -> [u8; 32] {
    sha256(&[&header_der(number, previous_hash, data_hash)])
}

/// The DER encoding of a block header that Fabric hashes and orderers sign.
pub fn header_der(number: u64, previous_hash: &[u8], data_hash: &[u8]) -> Vec<u8> {
    let mut int = number.to_be_bytes().to_vec();
    while int.len() > 1 && int[0] == 0 && int[1] & 0x80 == 0 {
        int.remove(0);
    }
    if int[0] & 0x80 != 0 {
        int.insert(0, 0);
    }
    let mut body = Vec::with_capacity(int.len() + previous_hash.len() + data_hash.len() + 16);
    der_tlv(&mut body, 0x02, &int);
    der_tlv(&mut body, 0x04, previous_hash);
    der_tlv(&mut body, 0x04, data_hash);
    let mut out = Vec::with_capacity(body.len() + 6);
    der_tlv(&mut out, 0x30, &body);
    out
}

fn der_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
}

pub(crate) fn decode<M: prost::Message + Default>(bytes: &[u8], at: Location, what: &'static str) -> Result<M, FabricError> {
    M::decode(bytes).map_err(|e| FabricError::Decode { at, what, detail: e.to_string() })
}

/// A decoded and verified transaction envelope, kept for receipt checks.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedTx {
    pub(crate) report: TxReport,
    pub(crate) payload_data: Vec<u8>,
}

/// Decodes a block and checks its size caps.
pub(crate) fn decode_block(bytes: &[u8], opts: &BlockLimits) -> Result<common::Block, FabricError> {
    if bytes.len() > opts.max_block_bytes {
        return Err(FabricError::TooLarge { what: "block", len: bytes.len(), max: opts.max_block_bytes });
    }
    let block: common::Block = decode(bytes, Location::default(), "common.Block")?;
    let n = block.data.as_ref().map_or(0, |d| d.data.len());
    if n > opts.max_transactions {
        return Err(FabricError::TooLarge { what: "transaction count", len: n, max: opts.max_transactions });
    }
    Ok(block)
}

/// Verifies one protobuf-encoded `common.Block` offline.
///
/// Checks, in order: `data_hash` = SHA-256 of the concatenated envelopes; the link to the
/// predecessor when one is given; every transaction's creator signature over its payload and,
/// for endorser transactions, every endorsement signature over `proposal_response_payload ||
/// endorser`, each signer's certificate issued by a root of its MSP and valid at the
/// transaction's channel-header time; then the orderer signature(s) in metadata slot 0 over
/// `value || signature_header || DER header`, each by an identity of an orderer MSP, checked at
/// the latest channel-header time among the block's transactions (a block carries no time of
/// its own; the orderer signs it just after the last transaction was created). Validation
/// flags (metadata slot 2) are reported in [`TxReport::validation_code`] but never trusted.
///
/// ECDSA signatures are DER over SHA-256 of the message; a high-S signature is rejected, as
/// Fabric's own verifier (bccsp `sw`) rejects it. Certificate signatures accept either S.
///
/// # Errors
/// The first failed check, with block number, transaction index, signature role and MSP id.
pub fn verify_block(
    block_bytes: &[u8],
    roots: &MspRoots,
    prev: Option<Predecessor<'_>>,
    opts: &BlockLimits,
) -> Result<BlockReport, FabricError> {
    let block = decode_block(block_bytes, opts)?;
    verify_decoded(&block, roots, prev, opts).map(|(r, _)| r)
}

pub(crate) fn verify_decoded(
    block: &common::Block,
    roots: &MspRoots,
    prev: Option<Predecessor<'_>>,
    opts: &BlockLimits,
) -> Result<(BlockReport, Vec<VerifiedTx>), FabricError> {
    let header = block.header.as_ref().ok_or(FabricError::Missing { at: Location::default(), field: "Block.header" })?;
    let number = header.number;
    let at_block = Location { block: Some(number), tx: None };
    let envelopes: &[Vec<u8>] = block.data.as_ref().map_or(&[], |d| d.data.as_slice());
    if envelopes.is_empty() {
        return Err(FabricError::Missing { at: at_block, field: "Block.data.data (no envelope)" });
    }

    // Data hash.
    let parts: Vec<&[u8]> = envelopes.iter().map(Vec::as_slice).collect();
    let computed = sha256(&parts);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(computed.as_slice(), header.data_hash.as_slice())) {
        return Err(FabricError::DataHash { block: number, in_header: hex::encode(&header.data_hash), computed: hex::encode(computed) });
    }

    // Chain link.
    let linked = if let Some(p) = prev {
        let expected = match p {
            Predecessor::HeaderHash(h) => *h,
            Predecessor::Block(bytes) => {
                let pb = decode_block(bytes, opts)?;
                let ph = pb.header.as_ref().ok_or(FabricError::Missing { at: at_block, field: "predecessor Block.header" })?;
                if ph.number.checked_add(1) != Some(number) {
                    return Err(FabricError::PredecessorNumber { block: number, prev_number: ph.number });
                }
                header_hash(ph.number, &ph.previous_hash, &ph.data_hash)
            }
        };
        if expected.as_slice() != header.previous_hash.as_slice() {
            return Err(FabricError::ChainLink {
                block: number,
                in_header: hex::encode(&header.previous_hash),
                expected: hex::encode(expected),
            });
        }
        true
    } else {
        false
    };

    let metadata: &[Vec<u8>] = block.metadata.as_ref().map_or(&[], |m| m.metadata.as_slice());
    let flags: &[u8] = metadata.get(2).map_or(&[], Vec::as_slice);

    // Transactions.
    let mut txs = Vec::with_capacity(envelopes.len());
    for (i, env_bytes) in envelopes.iter().enumerate() {
        let mut tx = verify_envelope(env_bytes, roots, Location { block: Some(number), tx: Some(i) })?;
        tx.report.validation_code = flags.get(i).copied();
        txs.push(tx);
    }

    // Orderer signatures, at the latest transaction time.
    let sign_time = txs.iter().map(|t| t.report.timestamp).max().unwrap_or(i64::MIN);
    let slot0 = metadata.first().filter(|m| !m.is_empty()).ok_or(FabricError::NoOrdererSignature { block: number })?;
    let md: common::Metadata = decode(slot0, at_block, "common.Metadata (slot 0)")?;
    if md.signatures.is_empty() {
        return Err(FabricError::NoOrdererSignature { block: number });
    }
    let hdr_der = header_der(number, &header.previous_hash, &header.data_hash);
    let mut orderer_signatures = Vec::with_capacity(md.signatures.len());
    for (index, ms) in md.signatures.iter().enumerate() {
        let role = SignatureRole::Orderer { index };
        if ms.signature_header.is_empty() {
            return Err(FabricError::Unsupported { at: at_block, what: "orderer signature identified by identifier_header (BFT)" });
        }
        let sh: common::SignatureHeader = decode(&ms.signature_header, at_block, "common.SignatureHeader (orderer)")?;
        let mut msg = Vec::with_capacity(md.value.len() + ms.signature_header.len() + hdr_der.len());
        msg.extend_from_slice(&md.value);
        msg.extend_from_slice(&ms.signature_header);
        msg.extend_from_slice(&hdr_der);
        let rep = verify_identity_signature(&sh.creator, &msg, &ms.signature, roots, at_block, role, sign_time, true)?;
        orderer_signatures.push(rep);
    }

    let report = BlockReport {
        number,
        data_hash: hex::encode(&header.data_hash),
        previous_hash: hex::encode(&header.previous_hash),
        header_hash: hex::encode(header_hash(number, &header.previous_hash, &header.data_hash)),
        linked_to_predecessor: linked,
        orderer_signatures,
        transactions: txs.iter().map(|t| t.report.clone()).collect(),
        validation_flags_unsigned: true,
    };
    Ok((report, txs))
}

fn verify_envelope(env_bytes: &[u8], roots: &MspRoots, at: Location) -> Result<VerifiedTx, FabricError> {
    let env: common::Envelope = decode(env_bytes, at, "common.Envelope")?;
    let payload: common::Payload = decode(&env.payload, at, "common.Payload")?;
    let header = payload.header.as_ref().ok_or(FabricError::Missing { at, field: "Payload.header" })?;
    let ch: common::ChannelHeader = decode(&header.channel_header, at, "common.ChannelHeader")?;
    let sh: common::SignatureHeader = decode(&header.signature_header, at, "common.SignatureHeader")?;
    let timestamp = ch.timestamp.as_ref().ok_or(FabricError::Missing { at, field: "ChannelHeader.timestamp" })?.seconds;

    let creator =
        verify_identity_signature(&sh.creator, &env.payload, &env.signature, roots, at, SignatureRole::Creator, timestamp, false)?;

    let mut endorsements = Vec::new();
    if ch.r#type == HEADER_TYPE_ENDORSER_TRANSACTION {
        let tx: protos::Transaction = decode(&payload.data, at, "protos.Transaction")?;
        if tx.actions.is_empty() {
            return Err(FabricError::Missing { at, field: "Transaction.actions" });
        }
        for (a, action) in tx.actions.iter().enumerate() {
            let cap: protos::ChaincodeActionPayload = decode(&action.payload, at, "protos.ChaincodeActionPayload")?;
            let ea = cap.action.as_ref().ok_or(FabricError::Missing { at, field: "ChaincodeActionPayload.action" })?;
            if ea.endorsements.is_empty() {
                return Err(FabricError::Missing { at, field: "ChaincodeEndorsedAction.endorsements" });
            }
            for (e, end) in ea.endorsements.iter().enumerate() {
                let mut msg = Vec::with_capacity(ea.proposal_response_payload.len() + end.endorser.len());
                msg.extend_from_slice(&ea.proposal_response_payload);
                msg.extend_from_slice(&end.endorser);
                let role = SignatureRole::Endorsement { action: a, endorsement: e };
                endorsements.push(verify_identity_signature(&end.endorser, &msg, &end.signature, roots, at, role, timestamp, false)?);
            }
        }
    }

    Ok(VerifiedTx {
        report: TxReport {
            index: at.tx.unwrap_or(0),
            tx_id: ch.tx_id,
            channel: ch.channel_id,
            header_type: ch.r#type,
            timestamp,
            creator,
            endorsements,
            validation_code: None,
        },
        payload_data: payload.data,
    })
}

/// Verifies `signature` over `message` by the `msp.SerializedIdentity` in `identity`.
#[allow(clippy::too_many_arguments)]
fn verify_identity_signature(
    identity: &[u8],
    message: &[u8],
    signature: &[u8],
    roots: &MspRoots,
    at: Location,
    role: SignatureRole,
    time: i64,
    orderer: bool,
) -> Result<SignatureReport, FabricError> {
    let id: msp::SerializedIdentity = decode(identity, at, "msp.SerializedIdentity")?;
    let msp_id = id.mspid;
    let Some(msp_roots) = roots.roots.get(&msp_id) else {
        return Err(FabricError::UntrustedMsp { at, role, msp_id, needed: if orderer { "orderer" } else { "member" } });
    };
    if orderer && !roots.is_orderer(&msp_id) {
        return Err(FabricError::UntrustedMsp { at, role, msp_id, needed: "orderer" });
    }
    let cert_err = |problem: CertificateProblem| FabricError::Certificate { at, role, msp_id: msp_id.clone(), problem: Box::new(problem) };
    let text =
        std::str::from_utf8(&id.id_bytes).map_err(|_| cert_err(pki::PkiError::Pem { offset: 0, problem: "not UTF-8 text" }.into()))?;
    let ders = pki::pem_blocks(text).map_err(|e| cert_err(e.into()))?;
    let [der] = ders.as_slice() else {
        return Err(cert_err(CertificateProblem::Count { found: ders.len() }));
    };
    let leaf = Certificate::from_der(der).map_err(|e| cert_err(pki::PkiError::Certificate(e).into()))?;
    let key = EcPublicKey::from_certificate(&leaf).map_err(|e| cert_err(CertificateProblem::Key(e)))?;
    // Issued directly by a root of its MSP, every certificate valid at the transaction's time
    // (no intermediates: the pool is empty).
    pki::build_path(&leaf, &[], msp_roots, UnixMillis(time.saturating_mul(1000))).map_err(|e| cert_err(e.into()))?;
    // Fabric's bccsp signs SHA-256 of the message, whatever the curve.
    key.verify(message, HashAlg::Sha256, signature, LowS::Required).map_err(|reason| FabricError::Signature {
        at,
        role,
        msp_id: msp_id.clone(),
        reason,
    })?;
    Ok(SignatureReport {
        role: role.to_string(),
        msp_id: msp_id.clone(),
        cert_sha256: hex::encode(sha256(&[&leaf.der])),
        cert_checked_at: time,
    })
}
