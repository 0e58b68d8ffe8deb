//! Runtime types built from a validated config at load time: the [`snapshot`] the request path
//! reads (providers, catalog, aliases, pools, tenants, timeouts), the runtime view of each
//! [`provider`], the model [`catalog`] and its entries as [`candidate`]s, and what a virtual key may do ([`tenant`]). Nothing on the request path reads file-config
//! structs directly; it reads these. Pure: building them does no I/O.
//!
//! May depend on `config` only (and `errors` for messages).

pub mod candidate;
pub mod catalog;
pub mod provider;
pub mod sanitizer;
pub mod snapshot;
pub mod tenant;
