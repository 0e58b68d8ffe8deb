//! The inbound stage: who is calling (virtual keys, admin token), reading the body under the
//! size cap with the content-type check, and the lenient JSON view of the request.

pub mod auth;
pub mod body;
pub mod request;
