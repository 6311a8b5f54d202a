//! Bearer-token records and roles, as the catalogue stores them.
//!
//! A token is bound to one tenant and one role (or to no tenant, for `admin`), lives at most
//! [`MAX_LIFETIME_MS`] (90 days), and is stored only as the SHA-256 hash of its secret. Issuing,
//! checking and the permission table are the HTTP service's (`ledger::auth`).

use std::fmt;
use std::str::FromStr;

use evidence_core::types::{TenantId, UnixMillis};

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown role")]
pub struct UnknownRole;

/// The longest a token may live: 90 days.
pub const MAX_LIFETIME_MS: i64 = 90 * 24 * 3600 * 1000;

/// Who a token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The dealer principal: everything within the tenant, including erasure.
    DealerPrincipal,
    /// The chief financial officer.
    Cfo,
    /// A dealership operator: appends and reads.
    DealerOperator,
    /// An external auditor: reads and exports only.
    Auditor,
    /// A machine client (e.g. the pipeline).
    Service,
    /// The ledger administrator: tenants and tokens, no tenant data.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [Role::DealerPrincipal, Role::Cfo, Role::DealerOperator, Role::Auditor, Role::Service, Role::Admin];

    /// The snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            Role::DealerPrincipal => "dealer_principal",
            Role::Cfo => "cfo",
            Role::DealerOperator => "dealer_operator",
            Role::Auditor => "auditor",
            Role::Service => "service",
            Role::Admin => "admin",
        }
    }

    /// True for roles held by people (who may be required to present MFA).
    pub const fn is_human(self) -> bool {
        !matches!(self, Role::Service)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        Role::ALL.into_iter().find(|r| r.name() == s).ok_or(UnknownRole)
    }
}

/// The stored form of a token: never the secret itself.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenRecord {
    /// Public identifier (16 hex digits), also shown in listings and the audit log.
    pub id: String,
    /// The tenant, or none for admin tokens.
    pub tenant: Option<TenantId>,
    /// The role.
    pub role: Role,
    /// A label for people ("pipeline on host X").
    pub label: String,
    /// SHA-256 of the secret part.
    #[serde(with = "hex_bytes")]
    pub secret_hash: [u8; 32],
    /// Creation time.
    pub created_at: UnixMillis,
    /// Expiry time.
    pub expires_at: UnixMillis,
    /// Revocation time, if revoked.
    pub revoked_at: Option<UnixMillis>,
    /// The person a token of a human role belongs to: the `sub` or e-mail their OIDC ID
    /// token must carry when the server requires MFA (see `ledger::oidc`). None: unbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}
