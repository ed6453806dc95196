//! The `jangteo` binary for tests that start it as its own process (CLI, embedded
//! defaults, several replicas on one database).
//!
//! `cargo test --workspace` builds it (the `jangteo-graphql` package has integration tests,
//! so Cargo builds its binary); when it is missing or older than the sources, as after
//! `cargo test -p jangteo-tests` alone, it is built here first, once per test process.

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
        let me = std::env::current_exe().expect("test executable");
        // target/debug/deps/<test> → target/debug/jangteo
        let dir = me
            .parent()
            .and_then(Path::parent)
            .expect("target directory")
            .to_path_buf();
        let bin = dir.join("jangteo");
        if !is_fresh(&bin) {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "jangteo-graphql", "--bin", "jangteo"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("running cargo build");
            assert!(status.success() && bin.exists(), "could not build {}", bin.display());
        }
        bin
    })
}

/// A `Command` for `jangteo` with no database or log settings inherited.
pub fn jangteo() -> Command {
    let mut c = Command::new(jangteo_path());
    c.env_remove("DATABASE_URL").env_remove("RUST_LOG");
    c
}

/// The binary exists and is newer than every source file of the crates it is built from.
fn is_fresh(bin: &Path) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return false;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    ["graphql/src", "commerce/src", "migrations"]
        .iter()
        .all(|d| newest(&root.join(d)).is_none_or(|t| t <= built))
}

fn newest(dir: &Path) -> Option<SystemTime> {
    let mut latest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
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
