#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod client;
mod endpoint;
mod error;
mod tls;

pub use client::{
    ClientConfig, LEGACY_REPLY_CONTENT_TYPE, QUERY_CONTENT_TYPE, Quorum, REPLY_CONTENT_TYPE, ResidencyPolicy, RetryPolicy, Stamped,
    TsaClient, error_chain,
};
pub use endpoint::{Credentials, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, EndpointError, Jurisdiction, SecretString, TsaEndpoint};
pub use error::{AttemptFailure, BoxError, BuildError, FailureReason, TimestampError};
pub use tls::{TlsConfigError, client_config as client_tls};
