//! What is wrong with a configuration file: one [`Problem`] (severity, key path, line and
//! column, message) and the [`ConfigError`] that carries every problem found in a file,
//! rendered one per line as `<source>:<line>:<column>: error: <key.path>: <message>` (warnings
//! say `warning:`).
//!
//! Plain data; depends on nothing else in the crate, so `load` and `validate` can both use it.

use std::fmt;

/// Whether a problem stops the file from loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The file is refused.
    Error,
    /// The file loads, but probably does not do what its author meant.
    Warning,
}

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    /// Key path, e.g. `providers[1].api_key`; empty for problems with the whole file.
    pub path: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters) in that line, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// An error.
    pub fn new(path: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            path: path.into(),
            line,
            column: None,
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::new(path, None, message)
        }
    }

    /// This problem at a line and column.
    pub fn at(mut self, position: Option<(usize, usize)>) -> Self {
        self.line = position.map(|(line, _)| line);
        self.column = position.map(|(_, column)| column);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// This problem as one line of a report about the file `source`.
    pub fn render(&self, source: &str) -> String {
        let mut out = String::from(source);
        for n in [self.line, self.line.and(self.column)]
            .into_iter()
            .flatten()
        {
            out.push(':');
            out.push_str(&n.to_string());
        }
        out.push_str(match self.severity {
            Severity::Error => ": error: ",
            Severity::Warning => ": warning: ",
        });
        if !self.path.is_empty() {
            out.push_str(&self.path);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        out
    }
}

/// A configuration that could not be loaded: every problem found (errors, and the warnings
/// that came with them), in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name used in messages.
    pub source: String,
    /// Holds at least one error.
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

    /// How many of the problems are errors.
    pub fn errors(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
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
