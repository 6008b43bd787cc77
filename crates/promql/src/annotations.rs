//! Warnings and infos collected during evaluation and returned beside the result, as
//! Prometheus's `annotations` package does (`PromQL warning: …` / `PromQL info: …`).

use std::collections::BTreeSet;

/// The annotations of one query: distinct messages, each kept once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotations {
    warnings: BTreeSet<String>,
    infos: BTreeSet<String>,
}

impl Annotations {
    /// Returns an empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a warning. `message` is the text after the prefix; the prefix
    /// `PromQL warning: ` is added here.
    pub fn warn(&mut self, message: impl AsRef<str>) {
        self.warnings
            .insert(format!("PromQL warning: {}", message.as_ref()));
    }

    /// Adds an info. `message` is the text after the prefix; the prefix `PromQL info: ` is
    /// added here.
    pub fn info(&mut self, message: impl AsRef<str>) {
        self.infos
            .insert(format!("PromQL info: {}", message.as_ref()));
    }

    /// Adds a warning whose text is already complete (e.g. from storage), without a prefix.
    pub fn warn_raw(&mut self, message: impl Into<String>) {
        self.warnings.insert(message.into());
    }

    /// Moves every annotation of `other` into this set.
    pub fn merge(&mut self, other: Annotations) {
        self.warnings.extend(other.warnings);
        self.infos.extend(other.infos);
    }

    /// Returns the warnings, sorted.
    pub fn warnings(&self) -> impl Iterator<Item = &str> + '_ {
        self.warnings.iter().map(String::as_str)
    }

    /// Returns the infos, sorted.
    pub fn infos(&self) -> impl Iterator<Item = &str> + '_ {
        self.infos.iter().map(String::as_str)
    }

    /// Returns true when there is neither a warning nor an info.
    pub fn is_empty(&self) -> bool {
        self.warnings.is_empty() && self.infos.is_empty()
    }
}
