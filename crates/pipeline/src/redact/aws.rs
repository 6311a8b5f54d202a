//! AWS back-ends, each behind its own cargo feature (both off by default):
//!
//! - `comprehend`: `ComprehendDetector`, stage 1 over Amazon Comprehend `DetectPiiEntities`.
//! - `bedrock`: `BedrockClient`, an [`LlmClient`](super::llm::LlmClient) over Bedrock
//!   Runtime `InvokeModel`.
//!
//! Both take an already configured SDK client (build it with `aws-config` in the
//! application), so this crate reads no credentials and no environment itself.
//!
//! **Status: compiled here, never run against AWS** (no credentials on the build machine).
//! The unit tests cover only the offset conversion and type mapping.

#[cfg(feature = "comprehend")]
pub use comprehend::ComprehendDetector;

#[cfg(feature = "bedrock")]
pub use bedrock::{BedrockClient, BedrockError};

/// Converts a code-point offset (what Comprehend reports) to a byte offset into `text`.
/// `None` when it is negative or past the end.
pub fn code_point_to_byte(text: &str, cp: i32) -> Option<usize> {
    let cp = usize::try_from(cp).ok()?;
    if cp == 0 {
        return Some(0);
    }
    match text.char_indices().nth(cp) {
        Some((b, _)) => Some(b),
        None => (text.chars().count() == cp).then_some(text.len()),
    }
}

#[cfg(feature = "comprehend")]
mod comprehend {
    use aws_sdk_comprehend::types::{LanguageCode, PiiEntityType};

    use super::super::offline::OfflineDetector;
    use super::super::{DetectError, Lang, PiiDetector, PiiType, Span};
    use super::code_point_to_byte;

    /// The largest text `DetectPiiEntities` accepts (100 KB of UTF-8).
    pub const MAX_COMPREHEND_BYTES: usize = 100_000;

    /// Stage 1 over Amazon Comprehend `DetectPiiEntities`, united with the offline detector.
    ///
    /// - English text goes to Comprehend; its `NAME`, `ADDRESS`, `PHONE`, `EMAIL`,
    ///   `CA_SOCIAL_INSURANCE_NUMBER`, `DRIVER_ID` and `LICENSE_PLATE` entities become spans.
    ///   `DATE_TIME` and `VEHICLE_IDENTIFICATION_NUMBER` are ignored on purpose: dates other
    ///   than DOBs and VINs must survive (stage 2 finds DOBs with context).
    /// - `DetectPiiEntities` does not accept French, so French text gets the offline
    ///   detector only.
    /// - The offline detector's spans are always added (union), so switching the feature
    ///   on never lowers recall.
    ///
    /// [`PiiDetector::detect`] is synchronous: it blocks on a private current-thread tokio
    /// runtime. Call it from a blocking context (e.g. `spawn_blocking`); called on an async
    /// runtime thread it returns [`DetectError::Backend`] instead of panicking.
    #[derive(Debug)]
    pub struct ComprehendDetector {
        client: aws_sdk_comprehend::Client,
        rt: tokio::runtime::Runtime,
        offline: OfflineDetector,
    }

    impl ComprehendDetector {
        /// Wraps a configured client.
        ///
        /// # Errors
        /// The I/O error if the private runtime cannot be built.
        pub fn new(client: aws_sdk_comprehend::Client) -> std::io::Result<Self> {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            Ok(Self { client, rt, offline: OfflineDetector::new() })
        }
    }

    /// The span type for a Comprehend entity type, or `None` for types we keep or ignore.
    pub fn map_type(t: &PiiEntityType) -> Option<PiiType> {
        Some(match t {
            PiiEntityType::Name => PiiType::Name,
            PiiEntityType::Address => PiiType::Address,
            PiiEntityType::Phone => PiiType::Phone,
            PiiEntityType::Email => PiiType::Email,
            PiiEntityType::CaSocialInsuranceNumber => PiiType::Sin,
            PiiEntityType::DriverId => PiiType::DriversLicence,
            PiiEntityType::LicensePlate => PiiType::Plate,
            _ => return None,
        })
    }

    impl PiiDetector for ComprehendDetector {
        fn name(&self) -> &'static str {
            "aws-comprehend-detect-pii+pipeline-offline-ner"
        }

        fn version(&self) -> &'static str {
            "1"
        }

        fn detect(&self, text: &str, lang: Lang) -> Result<Vec<Span>, DetectError> {
            let mut spans = self.offline.detect(text, lang)?;
            if lang != Lang::En || text.is_empty() {
                return Ok(spans);
            }
            if text.len() > MAX_COMPREHEND_BYTES {
                return Err(DetectError::TooLarge { len: text.len(), max: MAX_COMPREHEND_BYTES });
            }
            if tokio::runtime::Handle::try_current().is_ok() {
                return Err(DetectError::Backend {
                    detector: "aws-comprehend",
                    message: "called on an async runtime thread; call from spawn_blocking".to_owned(),
                });
            }
            let call = self.client.detect_pii_entities().text(text).language_code(LanguageCode::En).send();
            let out = self.rt.block_on(call).map_err(|e| DetectError::Backend { detector: "aws-comprehend", message: e.to_string() })?;
            for e in out.entities() {
                let (Some(t), Some(b), Some(en)) = (e.r#type(), e.begin_offset(), e.end_offset()) else { continue };
                let Some(kind) = map_type(t) else { continue };
                if let (Some(s), Some(end)) = (code_point_to_byte(text, b), code_point_to_byte(text, en)) {
                    spans.push(Span { byte_start: s, byte_end: end, kind });
                }
            }
            Ok(spans)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn keeps_vins_and_dates() {
            assert_eq!(map_type(&PiiEntityType::VehicleIdentificationNumber), None);
            assert_eq!(map_type(&PiiEntityType::DateTime), None);
            assert_eq!(map_type(&PiiEntityType::CaSocialInsuranceNumber), Some(PiiType::Sin));
        }
    }
}

#[cfg(feature = "bedrock")]
mod bedrock {
    use std::future::Future;

    use aws_sdk_bedrockruntime::primitives::Blob;

    use super::super::llm::LlmClient;

    /// An [`LlmClient`] over Bedrock Runtime `InvokeModel` (`application/json` in and out).
    #[derive(Debug, Clone)]
    pub struct BedrockClient {
        client: aws_sdk_bedrockruntime::Client,
    }

    impl BedrockClient {
        /// Wraps a configured client.
        pub fn new(client: aws_sdk_bedrockruntime::Client) -> Self {
            Self { client }
        }
    }

    /// A failed `InvokeModel` call (the SDK's message; the body is never included).
    #[derive(Debug, thiserror::Error)]
    #[error("bedrock InvokeModel failed: {0}")]
    pub struct BedrockError(String);

    impl LlmClient for BedrockClient {
        type Error = BedrockError;

        fn invoke(&self, model_id: &str, body: &[u8]) -> impl Future<Output = Result<Vec<u8>, Self::Error>> + Send {
            let call = self
                .client
                .invoke_model()
                .model_id(model_id)
                .content_type("application/json")
                .accept("application/json")
                .body(Blob::new(body.to_vec()))
                .send();
            async move {
                let out = call.await.map_err(|e| BedrockError(e.to_string()))?;
                Ok(out.body().as_ref().to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::code_point_to_byte;

    #[test]
    fn code_points_to_bytes() {
        let t = "Élodie Côté";
        assert_eq!(code_point_to_byte(t, 0), Some(0));
        assert_eq!(code_point_to_byte(t, 7), Some(8));
        assert_eq!(code_point_to_byte(t, 11), Some(t.len()));
        assert_eq!(code_point_to_byte(t, 12), None);
        assert_eq!(code_point_to_byte(t, -1), None);
    }
}
