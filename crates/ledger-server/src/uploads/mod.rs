//! Dealer exports sent to the server (issue #25), **partly built**:
//!
//! - [`files`]: the tenant file store (trait + encrypted local directory). Built and tested.
//! - [`url`]: signing and verifying upload URLs (HMAC-SHA-256 with key ids, expiry, constant-
//!   time comparison). Built and tested as a library.
//! - Upload state rows: `ledger::store::uploads` (migration `0003_uploads`, both backends).
//!
//! Not built yet: the HTTP routes (`POST/GET …/uploads`, the `PUT` on the URL), ingestion of
//! received files through the pipeline, the SFTP drop-directory watcher, the S3 store.

pub mod files;
pub mod url;
