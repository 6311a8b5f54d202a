#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod fonts;
mod layout;
pub mod model;
pub mod render;

pub use fonts::FontError;
pub use model::*;
pub use render::{RenderError, RenderedReport, render};

mod cms;
mod pdf;
pub mod sign;

pub use pdf::PdfError;
pub use sign::{DEFAULT_CONTENTS_RESERVE, PreparedSignature, SignError, SignOptions, SignedReport, SigningIdentity, prepare, prepare_with};
