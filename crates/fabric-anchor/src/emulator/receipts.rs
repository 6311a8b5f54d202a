//! [`ReceiptFactory`]: valid receipts in process, without gRPC.

use evidence_core::fabric::ANCHOR_NAMESPACE;
use evidence_core::internal::fabric_proto::gateway;
use prost::Message as _;
use tonic::Status;

use super::service::Service;
use super::{EmulatorError, EmulatorIdentities, TrustMaterial, new_inner};
use crate::identity::Identity;

/// Builds receipts in-process, without gRPC, through the same endorsement, validation and
/// ordering code the emulator serves (with the Rust chaincode semantics): for other crates'
/// tests and benches that need many valid [`evidence_core::fabric::FabricReceipt`]s quickly.
pub struct ReceiptFactory {
    svc: Service,
    trust: TrustMaterial,
    channel: String,
}

impl std::fmt::Debug for ReceiptFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptFactory").field("channel", &self.channel).finish_non_exhaustive()
    }
}

impl ReceiptFactory {
    /// A fresh PKI and one channel.
    ///
    /// # Errors
    /// [`EmulatorError::Pki`] when key generation fails.
    pub fn new(channel: &str) -> Result<Self, EmulatorError> {
        let (inner, trust) = new_inner(&[channel.to_owned()], EmulatorIdentities::generate()?, super::service::Runtime::Rust)?;
        Ok(Self { svc: Service(inner), trust, channel: channel.to_owned() })
    }

    /// The trust material that verifies this factory's receipts.
    pub fn trust(&self) -> &TrustMaterial {
        &self.trust
    }

    /// The client identity that signs the factory's transactions.
    pub fn client_identity(&self) -> &Identity {
        &self.svc.0.pki.client
    }

    /// Anchors `hash` under `ckpt/<tenant>/<seq>` and returns the receipt and the key.
    ///
    /// # Errors
    /// [`crate::Error`] when the contract refuses (e.g. the key exists) or signing fails.
    pub fn receipt(
        &self,
        tenant: &str,
        seq: u64,
        hash: &evidence_core::CheckpointHash,
    ) -> Result<(evidence_core::fabric::FabricReceipt, String), crate::Error> {
        let key = crate::anchor_key(tenant, seq);
        let seq_text = seq.to_string();
        let value = evidence_core::fabric::anchor_value(hash);
        let client = &self.svc.0.pki.client;
        let p = crate::client::build_proposal(
            client,
            &self.channel,
            ANCHOR_NAMESPACE,
            &[b"Anchor", tenant.as_bytes(), seq_text.as_bytes(), value.as_bytes()],
        )?;
        let req = gateway::EndorseRequest {
            transaction_id: p.tx_id.clone(),
            channel_id: self.channel.clone(),
            proposed_transaction: Some(p.signed),
            endorsing_organizations: Vec::new(),
        };
        let status = |s: Status| crate::Error::Rpc { operation: "ReceiptFactory", code: s.code(), message: s.message().to_owned() };
        let checked = self.svc.check_endorse(&req).map_err(status)?;
        let sim = self.svc.simulate_rust(&checked);
        let mut env = self.svc.endorsed_envelope(&checked, &sim).map_err(status)?;
        env.signature = client.sign(&env.payload)?;
        let (channel, tx_id, reads, writes) = self.svc.check_envelope(&env, &self.channel, &p.tx_id).map_err(status)?;
        self.svc.commit(&channel, &tx_id, env.encode_to_vec(), &reads, writes).map_err(status)?;
        let chans = self.svc.0.lock();
        let st = chans.get(&channel).ok_or_else(|| crate::Error::protocol("ReceiptFactory", "channel vanished"))?;
        let s = st.committed.get(&tx_id).copied().ok_or_else(|| crate::Error::protocol("ReceiptFactory", "not committed"))?;
        if s.code != 0 {
            return Err(crate::Error::InvalidTransaction { tx_id, block: s.block, code: s.code });
        }
        let block = usize::try_from(s.block)
            .ok()
            .and_then(|b| st.blocks.get(b))
            .cloned()
            .ok_or_else(|| crate::Error::protocol("ReceiptFactory", "block missing"))?;
        let msp_roots = self
            .trust
            .msp_roots
            .iter()
            .map(|(id, pem)| evidence_core::fabric::ReceiptMspRoot { msp_id: id.clone(), pem: pem.clone() })
            .collect();
        let receipt = evidence_core::fabric::FabricReceipt {
            channel,
            block,
            tx_index: 0,
            tx_id,
            msp_roots,
            orderer_msps: vec![self.trust.orderer_msp.clone()],
        };
        Ok((receipt, key))
    }
}
