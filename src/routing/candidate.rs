//! Re-export of the candidate type (it lives in `runtime`, so the snapshot can keep the
//! whole catalog as candidates for `auto`).

pub use crate::runtime::candidate::Candidate;
