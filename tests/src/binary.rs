//! The `jangteo` and `jangteo-bot` binaries for tests that start them as their own
//! processes (CLI, embedded defaults, several replicas on one database, bot replicas).
//!
//! `cargo test --workspace` builds `jangteo` (the `jangteo-graphql` package has integration
//! tests, so Cargo builds its binary); `cargo build --workspace` builds both. When one is
//! missing or older than its sources, as after `cargo test -p jangteo-tests` alone, it is
//! built here first, once per test process.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::SystemTime,
};

/// The path of a fresh debug `jangteo` binary.
///
/// # Panics
/// When it can't be found or built: the tests can't run without it.
pub fn jangteo_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        fresh_binary(
            "jangteo-graphql",
            "jangteo",
            &["graphql/src", "commerce/src", "migrations"],
        )
    })
}

/// The path of a fresh debug `jangteo-bot` binary.
///
/// # Panics
/// When it can't be found or built: the tests can't run without it.
pub fn jangteo_bot_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        fresh_binary(
            "jangteo-bot",
            "jangteo-bot",
            &["bot/src", "bot/Cargo.toml", "telemetry/src"],
        )
    })
}

/// `target/debug/<bin>`, built with `cargo build -p <package> --bin <bin>` first when it is
/// missing or older than anything under `sources` (paths from the workspace root).
fn fresh_binary(package: &str, bin: &str, sources: &[&str]) -> PathBuf {
    let me = std::env::current_exe().expect("test executable");
    // target/debug/deps/<test> → target/debug/<bin>
    let dir = me
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf();
    let path = dir.join(bin);
    if !is_fresh(&path, sources) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", package, "--bin", bin])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo build");
        assert!(status.success() && path.exists(), "could not build {}", path.display());
    }
    path
}

/// A `Command` for `jangteo` with no database or log settings inherited, and its metrics
/// on a free port (tests run many at once; `.env` overrides it).
pub fn jangteo() -> Command {
    let mut c = Command::new(jangteo_path());
    c.env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("JANGTEO_METRICS__LISTEN", "127.0.0.1:0");
    c
}

/// A `Command` for `jangteo-bot` with no settings, log filter or Sentry DSN inherited: every
/// `JANGTEO_*` variable of the test process is removed, so the test sets all it needs.
pub fn jangteo_bot() -> Command {
    let mut c = Command::new(jangteo_bot_path());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("JANGTEO_") {
            c.env_remove(name);
        }
    }
    c.env_remove("RUST_LOG").env_remove("SENTRY_DSN");
    c
}

/// The binary exists and is newer than every file under `sources`.
fn is_fresh(bin: &Path, sources: &[&str]) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return false;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    sources.iter().all(|d| newest(&root.join(d)).is_none_or(|t| t <= built))
}

/// The newest modification time of `path` (a file, or everything under a folder).
fn newest(path: &Path) -> Option<SystemTime> {
    if path.is_file() {
        return std::fs::metadata(path).and_then(|m| m.modified()).ok();
    }
    let mut latest = None;
    for entry in std::fs::read_dir(path).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        latest = latest.max(t);
    }
    latest
}

/// A `jangteo serve` process, killed when dropped.
pub struct Service(std::process::Child);

impl Service {
    /// Sends SIGTERM, as an orchestrator does, and waits for the process to exit.
    ///
    /// # Panics
    /// When it is still running after `within`.
    pub async fn terminate(&mut self, within: std::time::Duration) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(exit) = self.0.try_wait().expect("wait") {
                return exit;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "jangteo serve still running {within:?} after SIGTERM"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `jangteo serve` on a free port against `db` (migrated already), as production
/// runs it (a TOTP key and a bank account of its own, not the demo's), with `env` on top;
/// returns it with its base URL once `/readyz` answers.
///
/// # Panics
/// When it doesn't become ready within a minute.
pub async fn serve(db: &crate::TestDb, env: &[(&str, &str)]) -> (Service, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let child = jangteo()
        .args(["serve", "--no-migrate", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", db.url())
        .env(
            "JANGTEO_STAFF__TOTP_KEY",
            "cmVwbGljYXMtdGVzdC10b3RwLWtleS0zMi1ieXRlcyE=",
        )
        .env("JANGTEO_BANK_TRANSFER__ACCOUNT_NUMBER", "999901-01-000002")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn jangteo");
    let service = Service(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status().is_success()
        {
            return (service, base);
        }
        assert!(std::time::Instant::now() < deadline, "jangteo did not become ready");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
