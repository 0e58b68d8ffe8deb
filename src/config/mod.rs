//! Configuration: the TOML file shape (`model`), loading with `${VAR}` interpolation and
//! line-numbered errors (`load`), semantic validation (`validate`) and the JSON Schema
//! (`schema`).
//!
//! Entry points: [`load_file`], [`load_str`], [`json_schema`]. Every problem found in a file is
//! reported at once, each as `<source>:<line>: <key.path>: <message>`.
//!
//! Depends on nothing else of the crate: every other module may use it, it uses none.

pub mod builtin_models;
mod interpolate;
mod load;
pub mod model;
mod path;
mod problem;
mod schema;
pub mod served;
mod validate;

pub use load::{load_file, load_file_with_env, load_str, load_str_with_env};
pub use model::*;
pub use path::{KeyPath, Segment};
pub use problem::{ConfigError, Problem};
pub use schema::json_schema;
pub use validate::validate;

#[cfg(test)]
mod tests;
