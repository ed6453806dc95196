//! Logs on stderr, as text for people or as JSON lines for a log pipeline: the `log` setting
//! of the service and the bot.
//!
//! ```toml
//! [log]
//! filter = "info,sqlx=warn"   # a tracing filter (RUST_LOG wins when set)
//! format = "json"             # or "text" (the default)
//! ```
//!
//! `log = "info,sqlx=warn"` (a filter alone, as before `log.format` existed) still reads, in
//! a file and as `JANGTEO_LOG=debug`, and either mixes with `JANGTEO_LOG__FORMAT=json`.
//! A JSON line carries the fields of its span and of every span around it, so a request's
//! lines all name its `request_id` (and its GraphQL `operation`).

use std::fmt;

use figment::{
    Metadata, Profile, Provider,
    providers::Env,
    value::{Dict, Map, Value},
};
use serde::{Deserialize, Deserializer, de};
use tracing_subscriber::{EnvFilter, Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _};

/// The `log` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// A `tracing` filter, e.g. `info,sqlx=warn` (`RUST_LOG` wins when set).
    pub filter: String,
    /// Text or JSON lines.
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            filter: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event, its spans' fields in front (for a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the event's fields (with
    /// `message`), `span` (the innermost span's fields) and `spans` (all of them, outermost
    /// first).
    Json,
}

impl<'de> Deserialize<'de> for LogSettings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            filter: Option<String>,
            format: Option<LogFormat>,
        }

        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = LogSettings;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a filter ("info,sqlx=warn") or a table { filter, format = "text" | "json" }"#)
            }

            fn visit_str<E: de::Error>(self, filter: &str) -> Result<LogSettings, E> {
                Ok(LogSettings {
                    filter: filter.to_owned(),
                    ..LogSettings::default()
                })
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<LogSettings, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let default = LogSettings::default();
                Ok(LogSettings {
                    filter: t.filter.unwrap_or(default.filter),
                    format: t.format.unwrap_or(default.format),
                })
            }
        }

        d.deserialize_any(Visitor)
    }
}

/// A settings layer in which `log = "…"` (a filter alone) reads as `log.filter`, so a later
/// layer's `log.format` adds to it instead of replacing it.
pub struct LogStringAsFilter<P>(pub P);

impl<P: Provider> Provider for LogStringAsFilter<P> {
    fn metadata(&self) -> Metadata {
        self.0.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut data = self.0.data()?;
        for dict in data.values_mut() {
            if let Some(Value::String(_, filter)) = dict.get("log") {
                let table = Dict::from([("filter".to_owned(), Value::from(filter.clone()))]);
                dict.insert("log".to_owned(), Value::from(table));
            }
        }
        Ok(data)
    }

    fn profile(&self) -> Option<Profile> {
        self.0.profile()
    }
}

/// `PREFIX…` environment variables with `__` between levels, `PREFIXLOG` read as
/// `log.filter` (so `JANGTEO_LOG=debug` and `JANGTEO_LOG__FORMAT=json` go together).
pub fn env(prefix: &str) -> Env {
    Env::prefixed(prefix)
        .split("__")
        .map(|key| if key == "log" { "log.filter".into() } else { key.into() })
}

/// `RUST_LOG` if set and valid, else `settings.filter` (an invalid one logs nothing but errors
/// and says so on stderr).
pub fn filter(settings: &LogSettings) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::try_new(&settings.filter).unwrap_or_else(|e| {
            eprintln!(
                "warning: log.filter {:?} is not a tracing filter ({e}): logging errors only",
                settings.filter
            );
            EnvFilter::new("error")
        })
    })
}

/// Sets the process's subscriber: `filter`, lines on stderr as `format` says (stdout is what a
/// command prints for its caller), and Sentry's layer when `sentry` (a client is set up).
///
/// # Panics
/// When a global subscriber is set already.
pub fn init(filter: EnvFilter, format: LogFormat, sentry: bool) {
    let lines = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .with(sentry.then(crate::sentry_layer))
        .init();
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Error, as Jail's closures return it
mod tests {
    use figment::{Figment, Jail, providers::Format as _, providers::Toml};

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Settings {
        log: LogSettings,
    }

    const DEFAULTS: &str = "[log]\nfilter = \"info\"\nformat = \"text\"\n";

    fn load() -> Result<LogSettings, figment::Error> {
        Figment::new()
            .merge(LogStringAsFilter(Toml::string(DEFAULTS)))
            .merge(LogStringAsFilter(Toml::file("jangteo.toml")))
            .merge(env("JANGTEO_"))
            .extract::<Settings>()
            .map(|s| s.log)
    }

    fn settings(filter: &str, format: LogFormat) -> LogSettings {
        LogSettings {
            filter: filter.to_owned(),
            format,
        }
    }

    #[test]
    fn a_filter_string_and_a_table_both_load() -> Result<(), figment::Error> {
        Jail::try_with(|jail| {
            assert_eq!(load()?, settings("info", LogFormat::Text));
            jail.create_file("jangteo.toml", "log = \"info,sqlx=warn\"\n")?;
            assert_eq!(load()?, settings("info,sqlx=warn", LogFormat::Text));
            jail.set_env("JANGTEO_LOG__FORMAT", "json");
            assert_eq!(
                load()?,
                settings("info,sqlx=warn", LogFormat::Json),
                "the file's filter stays"
            );
            jail.create_file("jangteo.toml", "[log]\nformat = \"json\"\nfilter = \"warn\"\n")?;
            jail.set_env("JANGTEO_LOG__FORMAT", "text");
            assert_eq!(load()?, settings("warn", LogFormat::Text));
            jail.set_env("JANGTEO_LOG", "debug");
            jail.set_env("JANGTEO_LOG__FORMAT", "json");
            assert_eq!(load()?, settings("debug", LogFormat::Json));
            jail.clear_env();
            jail.set_env("JANGTEO_LOG__FILTER", "trace");
            assert_eq!(load()?, settings("trace", LogFormat::Json), "the file's format stays");
            Ok(())
        })
    }

    #[test]
    fn unknown_formats_and_keys_are_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("jangteo.toml", "[log]\nformat = \"xml\"\n")?;
            let e = load().expect_err("xml is no format").to_string();
            assert!(e.contains("xml"), "{e}");
            jail.create_file("jangteo.toml", "[log]\nfromat = \"json\"\n")?;
            assert!(load().is_err(), "a misspelt key is an error, not silently text");
            Ok(())
        });
    }
}
