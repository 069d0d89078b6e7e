//! Run-time settings: the `[switchyard]` tables of Leptos.toml, each key overridable by an
//! environment variable `SWITCHYARD_<KEY>` (dots become underscores, e.g.
//! `SWITCHYARD_WORKER_CONCURRENCY`). A bad value stops start-up with a message naming the key.
//!
//! The Leptos site options (address, site root) stay in `[package.metadata.leptos]` and the
//! `LEPTOS_*` variables, read by `leptos_config`.

use std::fmt;
use std::path::Path;
use std::time::Duration;

/// A value that must never be printed: `Debug` and `Display` show a mask.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// May hold a password, so it is a secret.
    pub database_url: Secret<String>,
    pub public_base_url: url::Url,
    /// Session cookies are `Secure` (and named with the `__Host-` prefix) even though
    /// `public_base_url` is plain http (a TLS-terminating proxy in front).
    pub force_secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` header is believed (for the
    /// sign-in throttle, the audit log, API-key allow-lists and the listener log); None: no one.
    pub trusted_proxies: Option<crate::server::domain::IpAllowList>,
    pub community_name: String,
    pub log_format: LogFormat,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub login_max_failures: u32,
    pub login_window: Duration,
    pub worker_concurrency: u32,
    pub worker_poll_interval: Duration,
    /// How long a claimed job stays claimed; a job whose worker died is retried after it.
    pub worker_lease: Duration,
    /// How long a listener call waits for its queued run before answering 202 instead of 200.
    pub listener_sync_budget: Duration,
    /// A listener that refused more than this percentage of at least `listener_alert_min_calls`
    /// calls over the last hour raises an alert (0: never).
    pub listener_alert_refused_percent: u32,
    pub listener_alert_min_calls: u32,
    /// Listener-log rows older than this many days are deleted.
    pub listener_log_retention_days: u32,
    /// Listener calls allowed per API key: a bucket of `burst` refilled at `per_second`.
    pub api_rate_per_second: u32,
    pub api_rate_burst: u32,
    /// Calls refused before their API key was accepted, per caller address: a bucket of
    /// `burst` refilled at `per_second`; an address that used it up gets 429 at once.
    pub api_refused_per_second: u32,
    pub api_refused_burst: u32,
    /// How long a 429 to an address over its refusal budget is held before it is sent.
    pub api_refused_hold: Duration,
    /// Hosts or IP addresses that outgoing requests may reach although they are private,
    /// loopback or link-local (tests and local development name 127.0.0.1 here).
    pub outgoing_allow_hosts: Vec<String>,
    /// How long one outgoing request may take, connection included.
    pub outgoing_timeout: Duration,
    /// The delay before each retry of a failed delivery (`retry::parse_schedule`).
    pub outgoing_retry_schedule: Vec<Duration>,
    /// A webhook whose attempts failed this many times in a row is flagged: an alert on the
    /// dashboard and an email to community managers (0: never).
    pub outgoing_warn_after_failures: u32,
    /// A webhook failing this many times in a row, for at least `outgoing_pause_after`, is
    /// paused by the product: its deliveries wait, and managers are told (0 failures: never).
    pub outgoing_pause_after_failures: u32,
    pub outgoing_pause_after: Duration,
    /// Deliveries in flight at once in this process (0: this node sends none).
    pub outgoing_concurrency: u32,
    /// Requests per second to one destination host (a bucket of `burst`), per process.
    pub outgoing_host_rate_per_second: u32,
    pub outgoing_host_rate_burst: u32,
    /// The file holding the key that encrypts signing secrets at rest (made on first use;
    /// every node of an installation needs the same file).
    pub secret_key_file: std::path::PathBuf,
    /// The SMTP server that *Send email* actions go through (None: email is not set up).
    pub smtp: Option<Smtp>,
}

/// How email leaves: an SMTP server, its security, credentials and the sender address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    /// "starttls" (default), "tls" or "none".
    pub security: String,
    pub username: String,
    pub password: Secret<String>,
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting `{key}` ({origin}): {message}")]
pub struct SettingsError {
    pub key: String,
    pub origin: String,
    pub message: String,
}

impl Settings {
    /// Reads `path` if it exists (no file means defaults), then the environment.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = if path.exists() {
            std::fs::read_to_string(path).map_err(|e| SettingsError {
                key: "file".into(),
                origin: path.display().to_string(),
                message: e.to_string(),
            })?
        } else {
            String::new()
        };
        Self::from_sources(&text, &path.display().to_string(), |k| {
            std::env::var(k).ok()
        })
    }

    /// Parses settings from TOML text and an environment lookup; used by `load` and tests.
    pub fn from_sources(
        toml_text: &str,
        file_label: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let table: toml::Table = toml_text
            .parse()
            .map_err(|e: toml::de::Error| SettingsError {
                key: "file".into(),
                origin: file_label.into(),
                message: e.to_string(),
            })?;
        let section = table
            .get("switchyard")
            .and_then(|v| v.as_table())
            .cloned()
            .unwrap_or_default();
        let src = Source {
            section,
            file_label,
            env: &env,
        };

        let database_url = src.get(
            "database_url",
            "sqlite://data/switchyard.db?mode=rwc",
            |v| {
                if v.starts_with("sqlite:")
                    || v.starts_with("postgres://")
                    || v.starts_with("postgresql://")
                {
                    Ok(Secret::new(v.to_string()))
                } else {
                    Err("must start with sqlite:, postgres:// or postgresql://".into())
                }
            },
        )?;
        let public_base_url = src.get("public_base_url", "http://127.0.0.1:3000", |v| {
            let url = url::Url::parse(v).map_err(|e| e.to_string())?;
            match url.scheme() {
                "http" | "https" => Ok(url),
                other => Err(format!("scheme must be http or https, not {other}")),
            }
        })?;
        let force_secure_cookies = src.get("secure_cookies", "false", |v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("must be true or false".into()),
        })?;
        let trusted_proxies = src.get("trusted_proxies", "", |v| {
            let list = crate::server::domain::IpAllowList::parse(v)?;
            Ok((!list.is_empty()).then_some(list))
        })?;
        let community_name = src.get("community_name", "My Community", |v| {
            let v = v.trim();
            if v.is_empty() || v.len() > 200 {
                Err("must be 1 to 200 characters".into())
            } else {
                Ok(v.to_string())
            }
        })?;
        let log_format = src.get("log_format", "text", |v| match v {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("must be \"text\" or \"json\"".into()),
        })?;
        let minutes = |lo: u64, hi: u64| {
            move |v: &str| -> Result<Duration, String> {
                let n: u64 = v
                    .parse()
                    .map_err(|_| format!("must be a whole number of minutes, got \"{v}\""))?;
                if n < lo || n > hi {
                    return Err(format!("must be between {lo} and {hi} minutes"));
                }
                Ok(Duration::from_secs(n * 60))
            }
        };
        let session_idle = src.get("session.idle_minutes", "120", minutes(1, 60 * 24 * 7))?;
        let session_absolute =
            src.get("session.absolute_minutes", "720", minutes(5, 60 * 24 * 30))?;
        if session_absolute < session_idle {
            return Err(SettingsError {
                key: "session.absolute_minutes".into(),
                origin: "combined settings".into(),
                message: "must not be shorter than session.idle_minutes".into(),
            });
        }
        let login_max_failures = src.get("login.max_failures", "5", |v| {
            let n: u32 = v
                .parse()
                .map_err(|_| format!("must be a whole number, got \"{v}\""))?;
            if (1..=100).contains(&n) {
                Ok(n)
            } else {
                Err("must be between 1 and 100".into())
            }
        })?;
        let login_window = src.get("login.window_minutes", "15", minutes(1, 24 * 60))?;
        // 0 runs no worker in this process (a node that only serves requests).
        let worker_concurrency = src.get("worker.concurrency", "4", |v| {
            let n: u32 = v
                .parse()
                .map_err(|_| format!("must be a whole number, got \"{v}\""))?;
            if (0..=256).contains(&n) {
                Ok(n)
            } else {
                Err("must be between 0 and 256".into())
            }
        })?;
        let worker_poll_interval = src.get("worker.poll_interval_ms", "500", |v| {
            let n: u64 = v
                .parse()
                .map_err(|_| format!("must be a whole number of milliseconds, got \"{v}\""))?;
            if (10..=60_000).contains(&n) {
                Ok(Duration::from_millis(n))
            } else {
                Err("must be between 10 and 60000".into())
            }
        })?;
        let whole = |lo: u64, hi: u64, unit: &'static str| {
            move |v: &str| -> Result<u64, String> {
                let n: u64 = v
                    .parse()
                    .map_err(|_| format!("must be a whole number{unit}, got \"{v}\""))?;
                if (lo..=hi).contains(&n) {
                    Ok(n)
                } else {
                    Err(format!("must be between {lo} and {hi}"))
                }
            }
        };
        let worker_lease = Duration::from_secs(src.get(
            "worker.lease_seconds",
            "60",
            whole(5, 3600, " of seconds"),
        )?);
        let listener_sync_budget = Duration::from_millis(src.get(
            "listener.sync_budget_ms",
            "2000",
            whole(0, 60_000, " of milliseconds"),
        )?);
        let listener_log_retention_days = src.get(
            "listener.log_retention_days",
            "90",
            whole(1, 3650, " of days"),
        )? as u32;
        let api_rate_per_second =
            src.get("api.rate_per_second", "20", whole(1, 1_000_000, ""))? as u32;
        let api_rate_burst = src.get("api.rate_burst", "40", whole(1, 1_000_000, ""))? as u32;
        let api_refused_per_second =
            src.get("api.refused_per_second", "10", whole(1, 1_000_000, ""))? as u32;
        let api_refused_burst =
            src.get("api.refused_burst", "100", whole(1, 1_000_000, ""))? as u32;
        let api_refused_hold = Duration::from_millis(src.get(
            "api.refused_hold_ms",
            "1000",
            whole(0, 60_000, " of milliseconds"),
        )?);
        let outgoing_allow_hosts = src.get("outgoing.allow_hosts", "", |v| {
            let hosts: Vec<String> = v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
            match hosts.iter().find(|h| h.contains(['/', ' ', '@'])) {
                Some(bad) => Err(format!("\"{bad}\" is not a host name or IP address")),
                None => Ok(hosts),
            }
        })?;
        let outgoing_timeout = Duration::from_secs(src.get(
            "outgoing.timeout_seconds",
            "15",
            whole(1, 300, " of seconds"),
        )?);
        let outgoing_retry_schedule = src.get(
            "outgoing.retry_schedule",
            crate::server::retry::DEFAULT_SCHEDULE,
            crate::server::retry::parse_schedule,
        )?;
        let listener_alert_refused_percent = src.get(
            "listener.alert_refused_percent",
            "50",
            whole(0, 100, " of percent"),
        )? as u32;
        let listener_alert_min_calls =
            src.get("listener.alert_min_calls", "20", whole(1, 1_000_000, ""))? as u32;
        let outgoing_warn_after_failures = src.get(
            "outgoing.warn_after_failures",
            "10",
            whole(0, 1_000_000, ""),
        )? as u32;
        let outgoing_pause_after_failures = src.get(
            "outgoing.pause_after_failures",
            "20",
            whole(0, 1_000_000, ""),
        )? as u32;
        let outgoing_pause_after = Duration::from_secs(
            3600 * src.get(
                "outgoing.pause_after_hours",
                "120",
                whole(0, 8760, " of hours"),
            )?,
        );
        let outgoing_concurrency =
            src.get("outgoing.concurrency", "64", whole(0, 1024, ""))? as u32;
        let outgoing_host_rate_per_second = src.get(
            "outgoing.host_rate_per_second",
            "50",
            whole(1, 1_000_000, ""),
        )? as u32;
        let outgoing_host_rate_burst =
            src.get("outgoing.host_rate_burst", "100", whole(1, 1_000_000, ""))? as u32;
        let secret_key_file = src.get("secrets.key_file", "data/secret.key", |v| {
            if v.trim().is_empty() {
                Err("must name a file".to_string())
            } else {
                Ok(std::path::PathBuf::from(v.trim()))
            }
        })?;
        let smtp_host = src.get("smtp.host", "", |v| {
            if v.contains([' ', '/', '@']) {
                Err(format!("\"{v}\" is not a host name or IP address"))
            } else {
                Ok(v.to_string())
            }
        })?;
        let smtp = if smtp_host.is_empty() {
            None
        } else {
            Some(Smtp {
                host: smtp_host,
                port: src.get("smtp.port", "587", whole(1, 65_535, ""))? as u16,
                security: src.get("smtp.security", "starttls", |v| match v {
                    "starttls" | "tls" | "none" => Ok(v.to_string()),
                    _ => Err("must be starttls, tls or none".to_string()),
                })?,
                username: src.get("smtp.username", "", |v| Ok(v.to_string()))?,
                password: Secret::new(src.get("smtp.password", "", |v| Ok(v.to_string()))?),
                from: src.get("smtp.from", "Switchyard <switchyard@localhost>", |v| {
                    v.parse::<lettre::message::Mailbox>()
                        .map(|_| v.to_string())
                        .map_err(|_| {
                            format!("\"{v}\" is not an address such as Name <name@example.com>")
                        })
                })?,
            })
        };

        Ok(Settings {
            database_url,
            public_base_url,
            force_secure_cookies,
            trusted_proxies,
            community_name,
            log_format,
            session_idle,
            session_absolute,
            login_max_failures,
            login_window,
            worker_concurrency,
            worker_poll_interval,
            worker_lease,
            listener_sync_budget,
            listener_log_retention_days,
            api_rate_per_second,
            api_rate_burst,
            api_refused_per_second,
            api_refused_burst,
            api_refused_hold,
            outgoing_allow_hosts,
            outgoing_timeout,
            outgoing_retry_schedule,
            outgoing_warn_after_failures,
            listener_alert_refused_percent,
            listener_alert_min_calls,
            outgoing_pause_after_failures,
            outgoing_pause_after,
            outgoing_concurrency,
            outgoing_host_rate_per_second,
            outgoing_host_rate_burst,
            secret_key_file,
            smtp,
        })
    }

    /// Cookies carry `Secure` when the public address is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_base_url.scheme() == "https" || self.force_secure_cookies
    }

    /// Settings for tests: defaults plus the given database.
    pub fn for_database(database_url: &str) -> Settings {
        let url = database_url.to_string();
        Self::from_sources("", "defaults", move |k| {
            (k == "SWITCHYARD_DATABASE_URL").then(|| url.clone())
        })
        .expect("default settings are valid")
    }
}

struct Source<'a> {
    section: toml::Table,
    file_label: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Source<'_> {
    /// The environment variable that overrides a dotted key.
    fn env_name(key: &str) -> String {
        format!("SWITCHYARD_{}", key.replace('.', "_").to_ascii_uppercase())
    }

    fn lookup(&self, key: &str) -> Option<(String, String)> {
        let env_name = Self::env_name(key);
        if let Some(v) = (self.env)(&env_name) {
            return Some((v, format!("environment variable {env_name}")));
        }
        let mut parts = key.split('.').peekable();
        let mut table = &self.section;
        while let Some(part) = parts.next() {
            let value = table.get(part)?;
            if parts.peek().is_none() {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Array(items) => items
                        .iter()
                        .map(|i| {
                            i.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| i.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                };
                return Some((text, format!("[switchyard] in {}", self.file_label)));
            }
            table = value.as_table()?;
        }
        None
    }

    fn get<T>(
        &self,
        key: &str,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, SettingsError> {
        let (value, origin) = self
            .lookup(key)
            .unwrap_or_else(|| (default.to_string(), "default".to_string()));
        parse(value.trim()).map_err(|message| SettingsError {
            key: key.to_string(),
            origin,
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_are_valid() {
        let s = Settings::from_sources("", "test", no_env).unwrap();
        assert_eq!(s.session_idle, Duration::from_secs(120 * 60));
        assert_eq!(
            s.database_url.expose(),
            "sqlite://data/switchyard.db?mode=rwc"
        );
        assert!(!s.secure_cookies());
    }

    #[test]
    fn file_values_are_read_and_env_overrides_them() {
        let toml = "[package.metadata.leptos]\noutput-name = \"x\"\n\n[switchyard]\ncommunity_name = \"Beta Club\"\n[switchyard.worker]\nconcurrency = 8\n";
        let s = Settings::from_sources(toml, "t", no_env).unwrap();
        assert_eq!(s.community_name, "Beta Club");
        assert_eq!(s.worker_concurrency, 8);
        let s = Settings::from_sources(toml, "t", |k| {
            (k == "SWITCHYARD_WORKER_CONCURRENCY").then(|| "3".into())
        })
        .unwrap();
        assert_eq!(s.worker_concurrency, 3);
    }

    #[test]
    fn bad_value_names_the_key_and_origin() {
        let err = Settings::from_sources("", "t", |k| {
            (k == "SWITCHYARD_SESSION_IDLE_MINUTES").then(|| "soon".into())
        })
        .unwrap_err();
        assert_eq!(err.key, "session.idle_minutes");
        assert!(
            err.to_string().contains("SWITCHYARD_SESSION_IDLE_MINUTES"),
            "{err}"
        );
        let err = Settings::from_sources(
            "[switchyard]\npublic_base_url = \"ftp://x\"\n",
            "Leptos.toml",
            no_env,
        )
        .unwrap_err();
        assert_eq!(err.key, "public_base_url");
        assert!(err.to_string().contains("Leptos.toml"));
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings::for_database("postgres://u:hunter2@localhost/db");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn allow_hosts_accepts_a_list() {
        let s = Settings::from_sources(
            "[switchyard.outgoing]\nallow_hosts = [\"127.0.0.1\", \"Localhost\"]\n",
            "t",
            no_env,
        )
        .unwrap();
        assert_eq!(s.outgoing_allow_hosts, vec!["127.0.0.1", "localhost"]);
    }
}
