//! Configuration: the TOML file shape (`model`), loading with `${VAR}` interpolation (`load`),
//! the type check of a file against the shape the JSON Schema gives (`shape`, `typecheck`,
//! with "did you mean" from `suggest`), semantic validation and warnings (`validate`, with
//! `served` saying which names a configuration serves) and the JSON Schema (`schema`).
//!
//! Entry points: [`load_file_checked`] (what `check-config` and startup use), [`load_file`],
//! [`load_str`], [`json_schema`]. Every problem found in a file is reported at once, in the
//! user's words (never a Rust type name), each as
//! `<source>:<line>:<column>: error: <key.path>: <message>`, warnings as `warning:`.
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
mod shape;
mod suggest;
mod typecheck;
mod validate;

pub use load::{
    Loaded, load_file, load_file_checked, load_file_with_env, load_str, load_str_checked,
    load_str_with_env,
};
pub use model::*;
pub use path::{KeyPath, Segment};
pub use problem::{ConfigError, Problem, Severity};
pub use schema::json_schema;
pub use validate::validate;

#[cfg(test)]
mod tests;
