//! What is wrong with a configuration file: one [`Problem`] (key path, line, message) and the
//! [`ConfigError`] that carries every problem found in a file, rendered as
//! `<source>:<line>: <key.path>: <message>`.
//!
//! Plain data; depends on nothing else in the crate, so `load` and `validate` can both use it.

use std::fmt;

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path, e.g. `providers[1].api_key`; empty for problems with the whole file.
    pub path: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// This problem as one line of a report about the file `source`.
    pub fn render(&self, source: &str) -> String {
        let mut out = String::from(source);
        if let Some(line) = self.line {
            out.push(':');
            out.push_str(&line.to_string());
        }
        out.push_str(": ");
        if !self.path.is_empty() {
            out.push_str(&self.path);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        out
    }
}

/// A configuration that could not be loaded: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name used in messages.
    pub source: String,
    /// Never empty.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// An error with a single problem that concerns the whole file (e.g. it cannot be read).
    pub fn whole_file(source: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            problems: vec![Problem::new("", None, message)],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&problem.render(&self.source))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
