//! Compliance (X1, X2): detectors of credentials and personal data ([`detectors`]), the
//! scanner that finds and redacts them in one pass ([`scan`]), and the stream filter of the
//! output gate that holds back only what a match could still span ([`holdback`]), and what a
//! finding does under a policy, on a whole JSON body or a stream's text ([`policy`]). Pure:
//! the request path applies them (`runtime::sanitizer` compiles `[sanitization]`).
//!
//! Depends on nothing of the gateway's (config validation reads the detector ids).

pub mod detectors;
pub mod holdback;
pub mod policy;
pub mod scan;
