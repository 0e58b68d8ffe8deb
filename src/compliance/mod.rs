//! Compliance (X1, X2): detectors of credentials and personal data ([`detectors`]), the
//! scanner that finds and redacts them in one pass ([`scan`]), and the stream filter of the
//! output gate that holds back only what a match could still span ([`holdback`]). Pure: the
//! request path applies them (input redaction before a provider sees a prompt, the output
//! gate on answers).

pub mod detectors;
pub mod holdback;
pub mod scan;
