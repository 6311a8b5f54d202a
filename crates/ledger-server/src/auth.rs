//! Bearer tokens, roles and the permission table.
//!
//! Every token is bound to one tenant and one role (or to no tenant, for `admin`), lives
//! at most [`MAX_LIFETIME_MS`] (90 days), and is stored only as a SHA-256 hash. A token is
//! presented as `evl_<id>_<secret>`: the id (16 hex digits) finds the record, the secret is
//! hashed and compared with the stored hash in constant time. Several tokens of the same
//! principal may be valid at once, so rotation is: create the new token, deploy it, revoke
//! the old one — no downtime.
//!
//! # Permissions
//!
//! | action | dealer_principal | cfo | dealer_operator | auditor | service | admin |
//! |---|---|---|---|---|---|---|
//! | append claims | yes | yes | yes | no | yes | no |
//! | read receipts, checkpoints, proofs, anchoring status | yes | yes | yes | yes | yes | no |
//! | export bundles | yes | yes | no | yes | yes | no |
//! | retract, supersede | yes | yes | no | no | no | no |
//! | erase a record | yes | no | no | no | no | no |
//! | read the audit log | yes | no | no | yes | no | no |
//! | manage tenants and tokens | no | no | no | no | no | yes |
//!
//! The admin role manages the ledger and sees no tenant's data. The auditor reads and
//! exports but cannot write. An operator appends but cannot export evidence or erase.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use evidence_core::types::{TenantId, UnixMillis, sha256};
pub use ledger::tokens::{MAX_LIFETIME_MS, Role, TokenRecord, UnknownRole};
use subtle::ConstantTimeEq as _;

/// What a request wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Append claims.
    Append,
    /// Read receipts, checkpoints, proofs and anchoring status.
    Read,
    /// Export evidence bundles.
    Export,
    /// Retract or supersede a claim.
    Retract,
    /// Erase a record.
    Erase,
    /// Read the audit log.
    ReadAudit,
    /// Manage tenants and tokens.
    Administer,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 7] =
        [Action::Append, Action::Read, Action::Export, Action::Retract, Action::Erase, Action::ReadAudit, Action::Administer];
}

/// The permission table (see the module docs).
#[allow(clippy::match_same_arms)] // one row per role reads like the table in the docs
pub const fn allowed(role: Role, action: Action) -> bool {
    use Action as A;
    use Role as R;
    match (role, action) {
        (R::Admin, A::Administer) => true,
        (R::Admin, _) | (_, A::Administer) => false,
        (R::DealerPrincipal, _) => true,
        (R::Cfo, A::Append | A::Read | A::Export | A::Retract) => true,
        (R::DealerOperator, A::Append | A::Read) => true,
        (R::Auditor, A::Read | A::Export | A::ReadAudit) => true,
        (R::Service, A::Append | A::Read | A::Export) => true,
        _ => false,
    }
}

/// Authentication and authorisation failures. The HTTP layer maps them to 401/403 with
/// stable codes and no detail that would help a guesser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Not of the `evl_<id>_<secret>` shape.
    #[error("malformed token")]
    Malformed,
    /// No such token, or the secret does not match (not distinguished, on purpose).
    #[error("invalid token")]
    Invalid,
    /// Past its expiry.
    #[error("token expired")]
    Expired,
    /// Revoked.
    #[error("token revoked")]
    Revoked,
    /// The role may not do this.
    #[error("role {role} may not {action:?}")]
    Forbidden {
        /// The token's role.
        role: Role,
        /// The refused action.
        action: Action,
    },
    /// The token is for another tenant.
    #[error("token is not valid for this tenant")]
    WrongTenant,
    /// A lifetime over 90 days, or not positive.
    #[error("token lifetime must be between 1 ms and 90 days")]
    Lifetime,
    /// Admin tokens have no tenant; every other role needs one.
    #[error("admin tokens have no tenant; every other role needs one")]
    TenantScope,
    /// An unknown role name.
    #[error("unknown role")]
    UnknownRole,
}

/// A newly created token: the only time the full secret exists.
pub struct IssuedToken {
    /// What to store.
    pub record: TokenRecord,
    /// What to hand to the client, once: `evl_<id>_<secret>`.
    pub bearer: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken").field("record", &self.record).field("bearer", &"<redacted>").finish()
    }
}

/// Makes a token from 8 random id bytes and 32 random secret bytes (from the OS generator).
///
/// # Errors
/// [`AuthError::Lifetime`] or [`AuthError::TenantScope`].
pub fn issue(
    id_bytes: [u8; 8],
    secret: [u8; 32],
    tenant: Option<TenantId>,
    role: Role,
    label: &str,
    now: UnixMillis,
    lifetime_ms: i64,
) -> Result<IssuedToken, AuthError> {
    if lifetime_ms <= 0 || lifetime_ms > MAX_LIFETIME_MS {
        return Err(AuthError::Lifetime);
    }
    if (role == Role::Admin) != tenant.is_none() {
        return Err(AuthError::TenantScope);
    }
    let id = hex::encode(id_bytes);
    let secret_text = B64URL.encode(secret);
    let record = TokenRecord {
        id: id.clone(),
        tenant,
        role,
        label: label.to_owned(),
        secret_hash: sha256(&[secret_text.as_bytes()]),
        created_at: now,
        expires_at: UnixMillis(now.0.saturating_add(lifetime_ms)),
        revoked_at: None,
        principal: None,
    };
    Ok(IssuedToken { record, bearer: format!("evl_{id}_{secret_text}") })
}

/// Splits a presented token into its id and secret without looking anything up.
///
/// # Errors
/// [`AuthError::Malformed`].
pub fn split(bearer: &str) -> Result<(&str, &str), AuthError> {
    let rest = bearer.strip_prefix("evl_").ok_or(AuthError::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(AuthError::Malformed)?;
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) || secret.len() != 43 {
        return Err(AuthError::Malformed);
    }
    Ok((id, secret))
}

/// The principal a verified token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Token id.
    pub token_id: String,
    /// Tenant (none for admin).
    pub tenant: Option<TenantId>,
    /// Role.
    pub role: Role,
    /// The person the token belongs to ([`TokenRecord::principal`]), if bound.
    pub person: Option<String>,
    /// The `sub` of the MFA-asserting ID token presented with this request, once checked.
    pub mfa_subject: Option<String>,
}

impl Principal {
    /// Checks the principal may do `action` on `tenant` (`None` for ledger-wide actions).
    ///
    /// # Errors
    /// [`AuthError::Forbidden`] or [`AuthError::WrongTenant`].
    pub fn authorize(&self, action: Action, tenant: Option<&TenantId>) -> Result<(), AuthError> {
        if !allowed(self.role, action) {
            return Err(AuthError::Forbidden { role: self.role, action });
        }
        if let Some(t) = tenant
            && self.tenant.as_ref() != Some(t)
        {
            return Err(AuthError::WrongTenant);
        }
        Ok(())
    }
}

/// Checks a presented secret against its stored record at time `now`.
///
/// The secret comparison is constant-time; expiry and revocation are checked after it, so
/// the error reveals them only to a holder of the right secret.
///
/// # Errors
/// [`AuthError::Invalid`], [`AuthError::Expired`] or [`AuthError::Revoked`].
pub fn verify(record: &TokenRecord, presented_secret: &str, now: UnixMillis) -> Result<Principal, AuthError> {
    let presented = sha256(&[presented_secret.as_bytes()]);
    if !bool::from(presented.ct_eq(&record.secret_hash)) {
        return Err(AuthError::Invalid);
    }
    if record.revoked_at.is_some_and(|r| r <= now) {
        return Err(AuthError::Revoked);
    }
    if now >= record.expires_at {
        return Err(AuthError::Expired);
    }
    Ok(Principal {
        token_id: record.id.clone(),
        tenant: record.tenant.clone(),
        role: record.role,
        person: record.principal.clone(),
        mfa_subject: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> TenantId {
        TenantId::new(name).unwrap()
    }

    #[test]
    fn permission_table_matches_the_docs() {
        let expected: &[(Role, &[Action])] = &[
            (Role::DealerPrincipal, &[Action::Append, Action::Read, Action::Export, Action::Retract, Action::Erase, Action::ReadAudit]),
            (Role::Cfo, &[Action::Append, Action::Read, Action::Export, Action::Retract]),
            (Role::DealerOperator, &[Action::Append, Action::Read]),
            (Role::Auditor, &[Action::Read, Action::Export, Action::ReadAudit]),
            (Role::Service, &[Action::Append, Action::Read, Action::Export]),
            (Role::Admin, &[Action::Administer]),
        ];
        for (role, actions) in expected {
            for a in Action::ALL {
                assert_eq!(allowed(*role, a), actions.contains(&a), "{role} {a:?}");
            }
        }
    }

    #[test]
    fn issue_verify_expire_revoke() {
        let now = UnixMillis(1_000_000);
        let tok = issue([1; 8], [2; 32], Some(t("r1")), Role::Auditor, "audit firm", now, 3_600_000).unwrap();
        assert!(!format!("{tok:?}").contains(&tok.bearer));
        let (id, secret) = split(&tok.bearer).unwrap();
        assert_eq!(id, tok.record.id);
        let p = verify(&tok.record, secret, now).unwrap();
        assert_eq!(p.role, Role::Auditor);
        p.authorize(Action::Export, Some(&t("r1"))).unwrap();
        assert_eq!(p.authorize(Action::Append, Some(&t("r1"))), Err(AuthError::Forbidden { role: Role::Auditor, action: Action::Append }));
        assert_eq!(p.authorize(Action::Read, Some(&t("r2"))), Err(AuthError::WrongTenant));
        assert_eq!(verify(&tok.record, secret, UnixMillis(now.0 + 3_600_000)), Err(AuthError::Expired));
        let mut wrong = secret.to_owned().into_bytes();
        wrong[0] ^= 1;
        assert_eq!(verify(&tok.record, std::str::from_utf8(&wrong).unwrap(), now), Err(AuthError::Invalid));
        let mut revoked = tok.record.clone();
        revoked.revoked_at = Some(now);
        assert_eq!(verify(&revoked, secret, now), Err(AuthError::Revoked));
    }

    #[test]
    fn issuing_rules() {
        let now = UnixMillis(0);
        assert_eq!(issue([0; 8], [0; 32], Some(t("r")), Role::Cfo, "", now, MAX_LIFETIME_MS + 1).err(), Some(AuthError::Lifetime));
        assert_eq!(issue([0; 8], [0; 32], Some(t("r")), Role::Cfo, "", now, 0).err(), Some(AuthError::Lifetime));
        assert!(issue([0; 8], [0; 32], Some(t("r")), Role::Cfo, "", now, MAX_LIFETIME_MS).is_ok());
        assert_eq!(issue([0; 8], [0; 32], Some(t("r")), Role::Admin, "", now, 1).err(), Some(AuthError::TenantScope));
        assert_eq!(issue([0; 8], [0; 32], None, Role::Service, "", now, 1).err(), Some(AuthError::TenantScope));
        let admin = issue([0; 8], [0; 32], None, Role::Admin, "", now, 1).unwrap();
        let p = verify(&admin.record, split(&admin.bearer).unwrap().1, now).unwrap();
        p.authorize(Action::Administer, None).unwrap();
        assert!(p.authorize(Action::Read, Some(&t("r"))).is_err());
    }

    #[test]
    fn malformed_tokens() {
        for bad in [
            "",
            "evl_",
            "evl_0123456789abcdef",
            "Bearer x",
            "evl_0123456789ABCDEF_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "evl_0123456789abcdef_short",
        ] {
            assert_eq!(split(bad), Err(AuthError::Malformed), "{bad}");
        }
    }
}
