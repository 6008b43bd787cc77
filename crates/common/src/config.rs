//! The configuration vocabulary shared by every component.
//!
//! Norn's configuration is one tree of serde structs (each component owns its section). A value
//! comes from, in increasing precedence: the struct's `Default`, the YAML file
//! (`-config.file`), and command-line flags. Flags are spelled exactly as Mimir spells them
//! (`-server.http-listen-port`), and each one is bound to a YAML path (`server.http_listen_port`)
//! by a [`FlagSpec`]. The same specs drive `-help`, the generated configuration reference in
//! `docs/configuration.md`, and secret redaction on `/config`.
//!
//! Loading works on YAML values: the file is deserialized straight into the typed tree (so an
//! unknown key or a wrong type is reported with its path, line and column), the tree is turned
//! back into a YAML value, flag values are written at their paths, and the result is
//! deserialized once more. There is exactly one deserialization path, so a flag can never
//! bypass the checks a YAML key gets.

use std::fmt::Write as _;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_yaml_ng::{Mapping, Value};

use crate::duration::Duration;

/// The type of value a flag takes, which decides how its text is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    /// `true`/`false`; `-flag` alone means true, as with Go's flag package.
    Bool,
    /// A signed integer.
    Int,
    /// A non-negative integer.
    Uint,
    /// A floating-point number.
    Float,
    /// Free text.
    String,
    /// A duration such as `15s` or `1h30m`.
    Duration,
    /// A comma-separated list of strings.
    List,
}

impl FlagKind {
    /// Returns the type name shown in `-help` and in the configuration reference.
    pub fn type_name(self) -> &'static str {
        match self {
            FlagKind::Bool => "boolean",
            FlagKind::Int => "int",
            FlagKind::Uint => "int",
            FlagKind::Float => "float",
            FlagKind::String => "string",
            FlagKind::Duration => "duration",
            FlagKind::List => "list of strings",
        }
    }
}

/// One configuration key: where it lives in YAML, its flag (if it has one) and what it means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagSpec {
    /// The dotted YAML path, relative to the section that declares it until [`nest`] prefixes it.
    pub path: String,
    /// The command-line flag without its leading dash, e.g. `server.http-listen-port`.
    pub flag: Option<&'static str>,
    /// The value type.
    pub kind: FlagKind,
    /// One or two sentences: what the key does and the values it accepts.
    pub help: &'static str,
    /// True for credentials: `/config` shows them as `********`.
    pub secret: bool,
}

impl FlagSpec {
    /// Returns a key that has both a YAML path and a flag.
    pub fn new(path: &str, flag: &'static str, kind: FlagKind, help: &'static str) -> Self {
        Self {
            path: path.to_owned(),
            flag: Some(flag),
            kind,
            help,
            secret: false,
        }
    }

    /// Returns a key that can only be set in YAML.
    pub fn yaml_only(path: &str, kind: FlagKind, help: &'static str) -> Self {
        Self {
            path: path.to_owned(),
            flag: None,
            kind,
            help,
            secret: false,
        }
    }

    /// Marks the key as a secret, redacted on `/config`.
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
}

/// Prefixes the YAML paths of a section's specs with the section's key.
pub fn nest(prefix: &str, specs: Vec<FlagSpec>) -> Vec<FlagSpec> {
    specs
        .into_iter()
        .map(|mut spec| {
            spec.path = format!("{prefix}.{}", spec.path);
            spec
        })
        .collect()
}

/// A configuration section: a serde struct with defaults, its keys' specs and its validation.
pub trait ConfigSection: Serialize + DeserializeOwned + Default {
    /// Returns the specs of every key of this section, with paths relative to the section.
    fn specs() -> Vec<FlagSpec>;

    /// Checks combinations and ranges serde cannot express; the message says what to fix.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// What went wrong while reading the command line or the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag that no component defines.
    #[error("flag provided but not defined: -{0} (run with -help to list the flags)")]
    UnknownFlag(String),
    /// A non-boolean flag at the end of the command line with no value.
    #[error("flag needs an argument: -{0}")]
    MissingFlagValue(String),
    /// A flag value of the wrong type.
    #[error("invalid value {value:?} for flag -{flag}: {reason}")]
    InvalidFlagValue {
        /// The flag, without its dash.
        flag: String,
        /// The text given.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A command-line argument that is not a flag.
    #[error("unexpected argument {0:?}: every option is a flag such as -target=all")]
    UnexpectedArgument(String),
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration file is not valid YAML or does not fit the configuration tree.
    #[error("config file {file}: {detail}")]
    Yaml {
        /// The file's path.
        file: String,
        /// The key path, the problem, and its line and column.
        detail: String,
    },
    /// A value is out of range or contradicts another.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The command line, split into the meta flags and the per-key overrides.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CommandLine {
    /// `-config.file`: the YAML file to load, if any.
    pub config_file: Option<String>,
    /// `-config.expand-env`: expand `${VAR}` and `${VAR:default}` in the file.
    pub expand_env: bool,
    /// `-help` / `-h`: print the flags and exit.
    pub help: bool,
    /// `-version`: print the version and exit.
    pub version: bool,
    /// Every other flag given, as (YAML path, value), in command-line order.
    pub overrides: Vec<(String, Value)>,
}

/// Parses Mimir-style arguments: `-flag=value`, `-flag value`, `--flag`, and bare `-bool-flag`.
pub fn parse_command_line<I, S>(args: I, specs: &[FlagSpec]) -> Result<CommandLine, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut line = CommandLine::default();
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let Some(stripped) = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|rest| !rest.is_empty())
        else {
            return Err(ConfigError::UnexpectedArgument(arg));
        };
        let (name, inline_value) = match stripped.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (stripped.to_owned(), None),
        };
        let meta_bool = |value: Option<String>| -> Result<bool, ConfigError> {
            match value {
                None => Ok(true),
                Some(text) => parse_bool(&text).ok_or_else(|| ConfigError::InvalidFlagValue {
                    flag: name.clone(),
                    value: text,
                    reason: "expected true or false".into(),
                }),
            }
        };
        match name.as_str() {
            "h" | "help" => line.help = meta_bool(inline_value)?,
            "version" => line.version = meta_bool(inline_value)?,
            "config.expand-env" => line.expand_env = meta_bool(inline_value)?,
            "config.file" => {
                let value = match inline_value {
                    Some(value) => value,
                    None => args
                        .next()
                        .ok_or_else(|| ConfigError::MissingFlagValue(name.clone()))?,
                };
                line.config_file = Some(value).filter(|path| !path.is_empty());
            }
            _ => {
                let spec = specs
                    .iter()
                    .find(|spec| spec.flag == Some(name.as_str()))
                    .ok_or_else(|| ConfigError::UnknownFlag(name.clone()))?;
                let text = match (inline_value, spec.kind) {
                    (Some(value), _) => value,
                    (None, FlagKind::Bool) => "true".to_owned(),
                    (None, _) => args
                        .next()
                        .ok_or_else(|| ConfigError::MissingFlagValue(name.clone()))?,
                };
                let value = flag_value(spec.kind, &text).map_err(|reason| {
                    ConfigError::InvalidFlagValue {
                        flag: name.clone(),
                        value: text.clone(),
                        reason,
                    }
                })?;
                line.overrides.push((spec.path.clone(), value));
            }
        }
    }
    Ok(line)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Turns a flag's text into the YAML value its key takes.
fn flag_value(kind: FlagKind, text: &str) -> Result<Value, String> {
    Ok(match kind {
        FlagKind::Bool => {
            Value::Bool(parse_bool(text).ok_or_else(|| "expected true or false".to_owned())?)
        }
        FlagKind::Int => Value::from(
            text.parse::<i64>()
                .map_err(|_| "expected an integer".to_owned())?,
        ),
        FlagKind::Uint => Value::from(
            text.parse::<u64>()
                .map_err(|_| "expected a non-negative integer".to_owned())?,
        ),
        FlagKind::Float => Value::from(
            text.parse::<f64>()
                .map_err(|_| "expected a number".to_owned())?,
        ),
        FlagKind::Duration => {
            text.parse::<Duration>()
                .map_err(|error| error.to_string())?;
            Value::String(text.to_owned())
        }
        FlagKind::String => Value::String(text.to_owned()),
        FlagKind::List => Value::Sequence(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        ),
    })
}

/// Expands `${VAR}`, `${VAR:default}` and `$VAR` with `lookup`, as `-config.expand-env` does.
///
/// A variable that is unset or empty takes the default when one is given, else the empty
/// string (Mimir's rule). A `$` not followed by `{` or a name is kept as it is.
pub fn expand_env(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('$') {
        out.push_str(&rest[..position]);
        let after = &rest[position + 1..];
        if let Some((braced, end)) = after
            .strip_prefix('{')
            .and_then(|braced| braced.find('}').map(|end| (braced, end)))
        {
            let inner = &braced[..end];
            let (name, default) = match inner.split_once(':') {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            let value = lookup(name).filter(|value| !value.is_empty());
            out.push_str(&value.unwrap_or_else(|| default.unwrap_or("").to_owned()));
            rest = &braced[end + 1..];
            continue;
        }
        let name_len = after
            .char_indices()
            .take_while(|(index, c)| {
                c.is_ascii_alphabetic() || *c == '_' || (*index > 0 && c.is_ascii_digit())
            })
            .count();
        if name_len == 0 {
            out.push('$');
            rest = after;
        } else {
            out.push_str(&lookup(&after[..name_len]).unwrap_or_default());
            rest = &after[name_len..];
        }
    }
    out.push_str(rest);
    out
}

/// Loads a configuration tree: defaults, then the YAML `file` (name, text), then `overrides`.
pub fn load<C: ConfigSection>(
    file: Option<(&str, &str)>,
    overrides: &[(String, Value)],
) -> Result<C, ConfigError> {
    let from_file = match file {
        Some((name, text)) => {
            let yaml_error = |detail: String| ConfigError::Yaml {
                file: name.to_owned(),
                detail,
            };
            let probe: Value =
                serde_yaml_ng::from_str(text).map_err(|error| yaml_error(error.to_string()))?;
            if probe.is_null() {
                C::default()
            } else {
                let deserializer = serde_yaml_ng::Deserializer::from_str(text);
                serde_path_to_error::deserialize(deserializer)
                    .map_err(|error| yaml_error(describe_path_error(&error)))?
            }
        }
        None => C::default(),
    };
    let config = if overrides.is_empty() {
        from_file
    } else {
        let mut tree = to_value(&from_file)?;
        for (path, value) in overrides {
            set_path(&mut tree, path, value.clone());
        }
        from_value(tree).map_err(ConfigError::Invalid)?
    };
    config.validate().map_err(ConfigError::Invalid)?;
    Ok(config)
}

/// Names the key path of a deserialization error unless the YAML parser already did.
fn describe_path_error(error: &serde_path_to_error::Error<serde_yaml_ng::Error>) -> String {
    let path = error.path().to_string();
    let inner = error.inner().to_string();
    let first_segment = path.split('.').next().unwrap_or("");
    let already_located = inner.starts_with(&format!("{first_segment}:"))
        || inner.starts_with(&format!("{first_segment}."));
    if path.is_empty() || path == "." || already_located {
        inner
    } else {
        format!("{path}: {inner}")
    }
}

/// Deserializes a YAML value into a typed section; the error names the key path.
pub fn from_value<C: DeserializeOwned>(tree: Value) -> Result<C, String> {
    serde_path_to_error::deserialize(tree).map_err(|error| describe_path_error(&error))
}

/// Serializes a configuration tree to a YAML value.
pub fn to_value<C: Serialize>(config: &C) -> Result<Value, ConfigError> {
    serde_yaml_ng::to_value(config).map_err(|error| ConfigError::Invalid(error.to_string()))
}

/// Writes `value` at the dotted `path` of `tree`, creating mappings on the way.
pub fn set_path(tree: &mut Value, path: &str, value: Value) {
    let mut node = tree;
    for key in path.split('.') {
        if !node.is_mapping() {
            *node = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(mapping) = node else {
            return;
        };
        node = mapping
            .entry(Value::String(key.to_owned()))
            .or_insert(Value::Null);
    }
    *node = value;
}

/// Returns the value at the dotted `path` of `tree`.
pub fn get_path<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(tree, |node, key| node.get(key))
}

/// Deep-merges `overlay` into `base`: mappings merge key by key, anything else replaces.
pub fn merge_values(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(base), Value::Mapping(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) => merge_values(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Returns the parts of `actual` that differ from `defaults` (mappings compared key by key).
pub fn diff_values(actual: &Value, defaults: &Value) -> Option<Value> {
    match (actual, defaults) {
        (Value::Mapping(actual), Value::Mapping(defaults)) => {
            let mut out = Mapping::new();
            for (key, value) in actual {
                let changed = match defaults.get(key) {
                    Some(default) => diff_values(value, default),
                    None => Some(value.clone()),
                };
                if let Some(changed) = changed {
                    out.insert(key.clone(), changed);
                }
            }
            (!out.is_empty()).then_some(Value::Mapping(out))
        }
        (actual, defaults) if actual == defaults => None,
        (actual, _) => Some(actual.clone()),
    }
}

/// Replaces every non-empty secret of `tree` with `********`.
///
/// A path segment ending in `[]` (`auth.credentials[].password`) walks every item of a list.
pub fn redact_secrets(tree: &mut Value, specs: &[FlagSpec]) {
    for spec in specs.iter().filter(|spec| spec.secret) {
        let segments: Vec<&str> = spec.path.split('.').collect();
        redact_at(tree, &segments);
    }
}

fn redact_at(node: &mut Value, segments: &[&str]) {
    let Some((first, rest)) = segments.split_first() else {
        if node.as_str().is_some_and(|text| !text.is_empty()) {
            *node = Value::String("********".into());
        }
        return;
    };
    let (key, each) = match first.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (*first, false),
    };
    let Some(child) = node.get_mut(key) else {
        return;
    };
    match child {
        Value::Sequence(items) if each => {
            for item in items {
                redact_at(item, rest);
            }
        }
        child if !each => redact_at(child, rest),
        _ => {}
    }
}

/// Formats a YAML scalar or list for documentation and `-help` (`""` for the empty string).
pub fn format_default(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".to_owned(),
        Some(Value::String(text)) if text.is_empty() => "\"\"".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(flag)) => flag.to_string(),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::Sequence(items)) => {
            let items: Vec<String> = items
                .iter()
                .map(|item| format_default(Some(item)))
                .collect();
            format!("[{}]", items.join(", "))
        }
        Some(other) => serde_yaml_ng::to_string(other)
            .map(|text| text.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// Renders `-help`: every flag with its type, default and meaning, sorted by flag name.
pub fn render_help(specs: &[FlagSpec], defaults: &Value) -> String {
    let mut out = String::from(
        "Usage of norn:\n  -config.file string\n    \tConfiguration file to load (YAML).\n  \
         -config.expand-env\n    \tExpand ${VAR} and ${VAR:default} in the configuration file.\n  \
         -help\n    \tPrint this list and exit.\n  -version\n    \tPrint the version and exit.\n",
    );
    let mut flagged: Vec<&FlagSpec> = specs.iter().filter(|spec| spec.flag.is_some()).collect();
    flagged.sort_by_key(|spec| spec.flag);
    for spec in flagged {
        let flag = spec.flag.unwrap_or_default();
        let type_name = match spec.kind {
            FlagKind::Bool => String::new(),
            kind => format!(" {}", kind.type_name()),
        };
        let _ = writeln!(
            out,
            "  -{flag}{type_name}\n    \t{} (default {})",
            spec.help,
            format_default(get_path(defaults, &spec.path))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Inner {
        port: u16,
        name: String,
        enabled: bool,
        period: Duration,
        items: Vec<String>,
    }

    impl Default for Inner {
        fn default() -> Self {
            Self {
                port: 8080,
                name: "default".into(),
                enabled: false,
                period: Duration::from_secs(10),
                items: vec![],
            }
        }
    }

    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Root {
        inner: Inner,
        secret: String,
    }

    impl ConfigSection for Root {
        fn specs() -> Vec<FlagSpec> {
            let mut specs = nest(
                "inner",
                vec![
                    FlagSpec::new("port", "inner.port", FlagKind::Uint, "port"),
                    FlagSpec::new("name", "inner.name", FlagKind::String, "name"),
                    FlagSpec::new("enabled", "inner.enabled", FlagKind::Bool, "on"),
                    FlagSpec::new("period", "inner.period", FlagKind::Duration, "period"),
                    FlagSpec::new("items", "inner.items", FlagKind::List, "items"),
                ],
            );
            specs.push(FlagSpec::new("secret", "secret", FlagKind::String, "s").secret());
            specs
        }

        fn validate(&self) -> Result<(), String> {
            if self.inner.port == 0 {
                return Err("inner.port (-inner.port) must be between 1 and 65535".into());
            }
            Ok(())
        }
    }

    fn cli(args: &[&str]) -> Result<CommandLine, ConfigError> {
        parse_command_line(args.iter().copied(), &Root::specs())
    }

    #[test]
    fn all_flag_forms_are_accepted() {
        let line = cli(&[
            "-inner.port=9000",
            "--inner.name",
            "x",
            "-inner.enabled",
            "-inner.period",
            "1m",
            "-inner.items=a, b,,c",
            "-config.file=f.yaml",
            "-config.expand-env",
        ])
        .unwrap();
        assert_eq!(line.config_file.as_deref(), Some("f.yaml"));
        assert!(line.expand_env);
        let config: Root = load(None, &line.overrides).unwrap();
        assert_eq!(config.inner.port, 9000);
        assert_eq!(config.inner.name, "x");
        assert!(config.inner.enabled);
        assert_eq!(config.inner.period, Duration::from_secs(60));
        assert_eq!(config.inner.items, vec!["a", "b", "c"]);
    }

    #[test]
    fn bool_flag_takes_explicit_false_and_does_not_eat_the_next_argument() {
        let line = cli(&["-inner.enabled", "-inner.port=1"]).unwrap();
        assert_eq!(line.overrides.len(), 2);
        let line = cli(&["-inner.enabled=false"]).unwrap();
        assert_eq!(line.overrides[0].1, Value::Bool(false));
    }

    #[test]
    fn bad_flags_are_named() {
        let error = cli(&["-inner.prot=1"]).unwrap_err().to_string();
        assert!(error.contains("-inner.prot"), "{error}");
        let error = cli(&["-inner.port=eighty"]).unwrap_err().to_string();
        assert!(
            error.contains("-inner.port") && error.contains("eighty"),
            "{error}"
        );
        let error = cli(&["-inner.port"]).unwrap_err().to_string();
        assert!(error.contains("needs an argument"), "{error}");
        let error = cli(&["-inner.period=10"]).unwrap_err().to_string();
        assert!(error.contains("invalid duration"), "{error}");
        let error = cli(&["stray"]).unwrap_err().to_string();
        assert!(error.contains("stray"), "{error}");
    }

    #[test]
    fn precedence_is_default_then_yaml_then_flag() {
        let yaml = "inner:\n  port: 7000\n  name: from-yaml\n";
        let from_yaml: Root = load(Some(("c.yaml", yaml)), &[]).unwrap();
        assert_eq!(from_yaml.inner.port, 7000);
        assert_eq!(from_yaml.inner.name, "from-yaml");
        assert_eq!(
            from_yaml.inner.period,
            Duration::from_secs(10),
            "default kept"
        );
        let line = cli(&["-inner.port=7001"]).unwrap();
        let with_flag: Root = load(Some(("c.yaml", yaml)), &line.overrides).unwrap();
        assert_eq!(with_flag.inner.port, 7001, "flag beats YAML");
        assert_eq!(with_flag.inner.name, "from-yaml", "YAML beats default");
    }

    #[test]
    fn unknown_yaml_key_names_key_path_and_line() {
        let yaml = "inner:\n  port: 7000\n  prot: 1\n";
        let error = load::<Root>(Some(("c.yaml", yaml)), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("c.yaml"), "{error}");
        assert!(error.contains("prot"), "{error}");
        assert!(error.contains("line 3"), "{error}");
    }

    #[test]
    fn wrong_yaml_type_is_reported_with_its_path() {
        let yaml = "inner:\n  port: eighty\n";
        let error = load::<Root>(Some(("c.yaml", yaml)), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("inner.port"), "{error}");
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn empty_file_and_validation() {
        let config: Root = load(Some(("c.yaml", "# only a comment\n")), &[]).unwrap();
        assert_eq!(config, Root::default());
        let error = load::<Root>(Some(("c.yaml", "inner: {port: 0}")), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("must be between 1 and 65535"), "{error}");
    }

    #[test]
    fn env_expansion_with_defaults() {
        let lookup = |name: &str| match name {
            "PORT" => Some("9009".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(expand_env("port: ${PORT}", lookup), "port: 9009");
        assert_eq!(expand_env("port: $PORT!", lookup), "port: 9009!");
        assert_eq!(expand_env("x: ${MISSING:80}", lookup), "x: 80");
        assert_eq!(expand_env("x: ${EMPTY:fallback}", lookup), "x: fallback");
        assert_eq!(expand_env("x: ${MISSING}", lookup), "x: ");
        assert_eq!(
            expand_env("re: a$ and $1 and ${", lookup),
            "re: a$ and $1 and ${"
        );
        assert_eq!(
            expand_env("url: ${MISSING:http://a:1}", lookup),
            "url: http://a:1"
        );
    }

    #[test]
    fn diff_and_redaction() {
        let defaults = to_value(&Root::default()).unwrap();
        let mut changed = Root::default();
        changed.inner.port = 1;
        changed.secret = "hunter2".into();
        let mut tree = to_value(&changed).unwrap();
        redact_secrets(&mut tree, &Root::specs());
        assert_eq!(
            get_path(&tree, "secret").unwrap().as_str(),
            Some("********")
        );
        let diff = diff_values(&tree, &defaults).unwrap();
        assert_eq!(get_path(&diff, "inner.port").unwrap().as_u64(), Some(1));
        assert!(get_path(&diff, "inner.name").is_none());
        let untouched = to_value(&Root::default()).unwrap();
        assert!(diff_values(&untouched, &defaults).is_none());
    }

    #[test]
    fn merge_is_deep() {
        let mut base: Value = serde_yaml_ng::from_str("a: {x: 1, y: 2}\nb: 3").unwrap();
        let overlay: Value = serde_yaml_ng::from_str("a: {y: 20, z: 30}").unwrap();
        merge_values(&mut base, overlay);
        let expected: Value = serde_yaml_ng::from_str("a: {x: 1, y: 20, z: 30}\nb: 3").unwrap();
        assert_eq!(base, expected);
    }

    #[test]
    fn help_lists_flags_with_defaults() {
        let defaults = to_value(&Root::default()).unwrap();
        let help = render_help(&Root::specs(), &defaults);
        assert!(help.contains("-inner.port int"), "{help}");
        assert!(help.contains("(default 8080)"), "{help}");
        assert!(help.contains("(default 10s)"), "{help}");
    }
}
