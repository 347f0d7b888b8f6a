//! A masked type for secrets (password, TOTP secret).
//!
//! Why its own type: a `String` ends up in a `Debug` dump, an error message or
//! `config show` sooner or later. A [`Secret`] prints as `********` through
//! `Debug`, `Display` and `Serialize`, so the only way to read it is the
//! deliberate [`Secret::expose`] call, which is easy to audit with grep.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What every masked value prints as.
pub const MASK: &str = "********";

/// A secret string that never shows itself.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call only where the value is sent to Kameo or fed
    /// to the TOTP generator; never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

impl<'de> Deserialize<'de> for Secret {
    /// TOML may hold a numeric password unquoted (`password = 123456`); take
    /// it as its digits rather than refusing it.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Unsigned(u64),
            Signed(i64),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Text(s) => Secret(s),
            Raw::Unsigned(n) => Secret(n.to_string()),
            Raw::Signed(n) => Secret(n.to_string()),
        })
    }
}

/// Where a secret's effective value came from, for `config show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The TOML file at this path.
    File(String),
    /// An environment variable of this name.
    Env(String),
    /// A file named by a `*_FILE` variable.
    EnvFile { variable: String, path: String },
    /// A systemd credential file.
    Credential(String),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::File(path) => write!(f, "config file {path}"),
            SecretSource::Env(name) => write!(f, "environment variable {name}"),
            SecretSource::EnvFile { variable, path } => write!(f, "file {path} (from {variable})"),
            SecretSource::Credential(path) => write!(f, "systemd credential {path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_itself() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), MASK);
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(format!("{:#?}", Some(&s)), format!("Some(\n    {MASK},\n)"));
        assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{MASK}\""));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn numeric_toml_password_keeps_its_digits() {
        #[derive(Deserialize)]
        struct T {
            p: Secret,
        }
        let t: T = toml::from_str("p = 123456").unwrap();
        assert_eq!(t.p.expose(), "123456");
    }
}
