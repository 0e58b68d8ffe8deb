//! Compliance (X1, X2): detectors of credentials and personal data ([`detectors`]), the
//! scanner that finds and redacts them in one pass ([`scan`]), and the stream filter of the
//! output gate that holds back only what a match could still span ([`holdback`]), and the
//! input side of `[sanitization]` ([`input`]). Pure: the request path applies them.
//!
//! May depend on `config` only.

pub mod detectors;
pub mod holdback;
pub mod input;
pub mod scan;
