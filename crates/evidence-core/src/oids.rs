//! Object identifiers used by RFC 3161, CMS and X.509, in dotted form.
#![allow(missing_docs)]

pub const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
pub const CT_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
pub const ATTR_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
pub const ATTR_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
pub const ATTR_SIGNING_CERT: &str = "1.2.840.113549.1.9.16.2.12";
pub const ATTR_SIGNING_CERT_V2: &str = "1.2.840.113549.1.9.16.2.47";
pub const ATTR_TIME_STAMP_TOKEN: &str = "1.2.840.113549.1.9.16.2.14";

pub const MD5: &str = "1.2.840.113549.2.5";
pub const SHA1: &str = "1.3.14.3.2.26";
pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
pub const SHA384: &str = "2.16.840.1.101.3.4.2.2";
pub const SHA512: &str = "2.16.840.1.101.3.4.2.3";

pub const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
pub const SHA1_WITH_RSA: &str = "1.2.840.113549.1.1.5";
pub const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
pub const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
pub const SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
pub const SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";
pub const MGF1: &str = "1.2.840.113549.1.1.8";

pub const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub const ECDSA_SHA1: &str = "1.2.840.10045.4.1";
pub const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
pub const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
pub const ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
pub const P256: &str = "1.2.840.10045.3.1.7";
pub const P384: &str = "1.3.132.0.34";

pub const BASIC_CONSTRAINTS: &str = "2.5.29.19";
pub const EXT_KEY_USAGE: &str = "2.5.29.37";
pub const SUBJECT_KEY_ID: &str = "2.5.29.14";
pub const KP_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";

/// The usual short name of an OID this crate knows (`sha1` for `1.3.14.3.2.26`), for people
/// reading a dump; `None` for any other.
pub fn name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        SIGNED_DATA => "signedData",
        CT_TST_INFO => "id-ct-TSTInfo",
        ATTR_CONTENT_TYPE => "contentType",
        ATTR_MESSAGE_DIGEST => "messageDigest",
        ATTR_SIGNING_CERT => "signingCertificate",
        ATTR_SIGNING_CERT_V2 => "signingCertificateV2",
        ATTR_TIME_STAMP_TOKEN => "timeStampToken",
        "1.2.840.113549.1.9.5" => "signingTime",
        MD5 => "md5",
        SHA1 => "sha1",
        "2.16.840.1.101.3.4.2.4" => "sha224",
        SHA256 => "sha256",
        SHA384 => "sha384",
        SHA512 => "sha512",
        RSA_ENCRYPTION => "rsaEncryption",
        SHA1_WITH_RSA => "sha1WithRSAEncryption",
        RSASSA_PSS => "RSASSA-PSS",
        SHA256_WITH_RSA => "sha256WithRSAEncryption",
        SHA384_WITH_RSA => "sha384WithRSAEncryption",
        SHA512_WITH_RSA => "sha512WithRSAEncryption",
        MGF1 => "MGF1",
        EC_PUBLIC_KEY => "id-ecPublicKey",
        ECDSA_SHA1 => "ecdsa-with-SHA1",
        ECDSA_SHA256 => "ecdsa-with-SHA256",
        ECDSA_SHA384 => "ecdsa-with-SHA384",
        ECDSA_SHA512 => "ecdsa-with-SHA512",
        P256 => "prime256v1",
        P384 => "secp384r1",
        BASIC_CONSTRAINTS => "basicConstraints",
        EXT_KEY_USAGE => "extKeyUsage",
        SUBJECT_KEY_ID => "subjectKeyIdentifier",
        KP_TIME_STAMPING => "timeStamping",
        _ => return None,
    })
}

/// `name (oid)` when the OID has a known name, else the dotted OID alone.
pub fn describe(oid: &str) -> String {
    name(oid).map_or_else(|| oid.to_owned(), |n| format!("{n} ({oid})"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_known_oids_and_leaves_others_dotted() {
        assert_eq!(super::describe("1.3.14.3.2.26"), "sha1 (1.3.14.3.2.26)");
        assert_eq!(super::describe("2.16.840.1.101.3.4.2.1"), "sha256 (2.16.840.1.101.3.4.2.1)");
        assert_eq!(super::describe("1.2.3.4"), "1.2.3.4");
    }
}
