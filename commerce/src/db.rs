//! Finding or starting PostgreSQL (DESIGN.md §2), creating the database, migrating.
//!
//! Order: `database.url` (or `DATABASE_URL`); else the local server over the default
//! socket, then `127.0.0.1:5432`; else a private cluster under `database.private_dir`
//! made with the system `initdb`/`pg_ctl`. If none works, one error says what to install.

use std::{
    fmt,
    net::TcpListener,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::Command,
    str::FromStr,
    time::Duration,
};

use sqlx::{
    Connection, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions, PgSslMode},
};

use crate::settings::{DatabaseSettings, DatabaseUrl};

mod reuse;

pub use reuse::{KEEP, Reuse, Reused};

/// Why no database could be opened.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No server found and no private cluster possible.
    #[error(
        "no PostgreSQL server found or startable:\n{tried}\n\
         Install PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`, macOS: `brew install postgresql`) \
         or point DATABASE_URL at a server."
    )]
    NoPostgres {
        /// One line per place tried, with what went wrong.
        tried: String,
    },
    /// The configured server refused or failed.
    #[error("cannot use the database at {url}: {source}")]
    Configured {
        /// The url with its password hidden.
        url: String,
        /// What went wrong.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A database error after connecting.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The statistics could not be rebuilt from the orders.
    #[error("statistics rebuild failed: {0}")]
    Stats(crate::Error),
}

/// An open database: the pool, where it is, and the private cluster if this process started one.
pub struct Database {
    /// The connection pool.
    pub pool: PgPool,
    /// What the statistics and reports read from: a small pool on `database.read_url` (a
    /// read replica) when it is set, else [`Database::pool`].
    pub reports: PgPool,
    /// Where the data is, for logs (no password).
    pub location: String,
    cluster: Option<PrivateCluster>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Finds or starts PostgreSQL as the settings say and opens a pool on the shop's
    /// database, creating it if missing. Does not migrate (see [`migrate`]).
    pub async fn open(settings: &DatabaseSettings) -> Result<Database, StartError> {
        let server = locate(settings).await?;
        let pool = server
            .pool(settings.max_connections, settings.statement_timeout_ms)
            .await?;
        let reports = match &settings.read_url {
            Some(url) => read_pool(url, settings).await?,
            None => pool.clone(),
        };
        Ok(Database {
            pool,
            reports,
            location: server.location,
            cluster: server.cluster,
        })
    }

    /// Closes the pools and stops the private cluster if this process started it.
    pub async fn close(self) {
        self.reports.close().await;
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
        }
    }
}

/// The reports' pool on `url`: `read_max_connections` connections, the same statement
/// timeout, made as they are needed. A replica that doesn't answer at start is a warning, not
/// a reason to keep the shop closed: the reports fail (`INTERNAL`) until it does.
async fn read_pool(url: &DatabaseUrl, settings: &DatabaseSettings) -> Result<PgPool, StartError> {
    let shown = url.redacted();
    let mut options = PgConnectOptions::from_str(url.expose()).map_err(|source| StartError::Configured {
        url: shown.clone(),
        source,
    })?;
    if settings.statement_timeout_ms > 0 {
        options = options.options([("statement_timeout", format!("{}ms", settings.statement_timeout_ms))]);
    }
    let pool = PgPoolOptions::new()
        .max_connections(settings.read_max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .connect_lazy_with(options);
    match tokio::time::timeout(Duration::from_secs(5), sqlx::query("SELECT 1").execute(&pool)).await {
        Ok(Ok(_)) => tracing::info!(database = %shown, "reports read from database.read_url"),
        Ok(Err(e)) => {
            tracing::warn!(database = %shown, error = %e, "database.read_url does not answer: reports fail until it does");
        }
        Err(_) => {
            tracing::warn!(database = %shown, "database.read_url does not answer in 5 s: reports fail until it does");
        }
    }
    Ok(pool)
}

/// Runs the embedded migrations (serialized across processes by an advisory lock), on a
/// connection of their own without the pool's `statement_timeout`: an index build on a big
/// table may take minutes. The connection is closed afterwards, not returned to the pool.
pub async fn migrate(pool: &PgPool) -> Result<(), StartError> {
    let mut conn = pool.acquire().await?.detach();
    sqlx::raw_sql("SET statement_timeout = 0").execute(&mut conn).await?;
    crate::MIGRATOR.run(&mut conn).await?;
    conn.close().await?;
    // Orders paid before the statistics existed are counted once, by the first start after.
    if let Some(done) = crate::stats::rebuild_if_needed(pool).await.map_err(StartError::Stats)? {
        tracing::info!(
            orders = done.orders,
            refunds = done.refunds,
            rows = done.rows,
            "statistics rebuilt"
        );
    }
    Ok(())
}

/// A server that answered, with the options to reach the shop's database on it.
pub struct Server {
    /// Options for the shop's database.
    pub options: PgConnectOptions,
    /// Where it is, for logs.
    pub location: String,
    cluster: Option<PrivateCluster>,
}

impl Server {
    /// Options for the server's maintenance database (`postgres`), to create or drop databases.
    pub fn maintenance(&self) -> PgConnectOptions {
        self.options.clone().database("postgres")
    }

    /// Creates database `name` unless it exists (a racing creator is not an error).
    pub async fn ensure_database(&self, name: &str) -> Result<(), sqlx::Error> {
        let mut conn = PgConnection::connect_with(&self.maintenance()).await?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
        if !exists {
            let sql = format!("CREATE DATABASE {}", quote_ident(name));
            match sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await {
                Ok(_) => {}
                // 42P04 duplicate_database: another process won the race.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
                Err(e) => return Err(e),
            }
        }
        conn.close().await
    }

    /// A pool of `max` connections whose statements are cancelled after
    /// `statement_timeout_ms` (0: never), set in the startup packet: no extra round trip.
    async fn pool(&self, max: u32, statement_timeout_ms: u64) -> Result<PgPool, sqlx::Error> {
        let mut options = self.options.clone();
        if statement_timeout_ms > 0 {
            options = options.options([("statement_timeout", format!("{statement_timeout_ms}ms"))]);
        }
        PgPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            // No ping before each use: it is a round trip per request. A connection that
            // died fails its one query and is dropped from the pool.
            .test_before_acquire(false)
            .connect_with(options)
            .await
    }
}

/// Finds the server per the settings and makes sure the shop's database exists on it.
pub async fn locate(settings: &DatabaseSettings) -> Result<Server, StartError> {
    if let Some(url) = &settings.url {
        let shown = url.redacted();
        let options = PgConnectOptions::from_str(url.expose()).map_err(|source| StartError::Configured {
            url: shown.clone(),
            source,
        })?;
        let name = options.get_database().unwrap_or("postgres").to_owned();
        let server = Server {
            options,
            location: shown.clone(),
            cluster: None,
        };
        server
            .ensure_database(&name)
            .await
            .map_err(|source| StartError::Configured { url: shown, source })?;
        return Ok(server);
    }
    let mut tried = Vec::new();
    if settings.local {
        for (location, options) in local_candidates() {
            match try_connect(&options).await {
                Ok(()) => {
                    let server = Server {
                        options: options.database(&settings.name),
                        location: format!("{location}/{}", settings.name),
                        cluster: None,
                    };
                    server.ensure_database(&settings.name).await?;
                    return Ok(server);
                }
                Err(e) => tried.push(format!("  - {location}: {}", first_line(&e.to_string()))),
            }
        }
    }
    let dir = settings.private_dir.clone();
    match tokio::task::spawn_blocking(move || PrivateCluster::start(&dir)).await {
        Ok(Ok(cluster)) => {
            let options = cluster.options().database(&settings.name);
            let server = Server {
                options,
                location: format!(
                    "private cluster {} on 127.0.0.1:{}/{}",
                    cluster.dir.display(),
                    cluster.port,
                    settings.name
                ),
                cluster: Some(cluster),
            };
            // Postgres may take a moment after pg_ctl returns to accept connections.
            wait_ready(&server.maintenance()).await?;
            server.ensure_database(&settings.name).await?;
            Ok(server)
        }
        Ok(Err(why)) => {
            tried.push(format!(
                "  - private cluster under {}: {why}",
                settings.private_dir.display()
            ));
            Err(StartError::NoPostgres {
                tried: tried.join("\n"),
            })
        }
        Err(join) => Err(StartError::NoPostgres {
            tried: format!("  - {join}"),
        }),
    }
}

fn local_candidates() -> Vec<(String, PgConnectOptions)> {
    let os_user = os_user();
    let mut out = Vec::new();
    for dir in ["/var/run/postgresql", "/tmp"] {
        if !Path::new(dir).join(".s.PGSQL.5432").exists() {
            continue;
        }
        for user in os_user.iter().map(String::as_str).chain(["postgres"]) {
            let opts = PgConnectOptions::new().socket(dir).username(user).database("postgres");
            out.push((format!("postgres://{user}@{dir} (socket)"), opts));
        }
    }
    let tcp = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(5432)
        .username("postgres")
        .database("postgres")
        .ssl_mode(PgSslMode::Prefer);
    out.push(("postgres://postgres@127.0.0.1:5432".to_owned(), tcp));
    out
}

async fn try_connect(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let conn = tokio::time::timeout(Duration::from_secs(3), PgConnection::connect_with(options))
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)??;
    conn.close().await
}

async fn wait_ready(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match try_connect(options).await {
            Ok(()) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// `"name"` with inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL cluster of our own under a data directory, run with the system binaries.
struct PrivateCluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    /// `Some("postgres")` when we are root: initdb refuses root, so we run as that user.
    run_as: Option<String>,
    /// Whether this process started it (and so stops it).
    started: bool,
}

impl PrivateCluster {
    fn options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .ssl_mode(PgSslMode::Disable)
    }

    fn start(dir: &Path) -> Result<PrivateCluster, String> {
        let bin = find_pg_bin().ok_or_else(|| {
            "initdb and pg_ctl not found (looked on PATH and in /usr/lib/postgresql/*/bin)".to_owned()
        })?;
        let run_as = if is_root() { Some("postgres".to_owned()) } else { None };
        let owner = match &run_as {
            Some(user) => Some(
                user_ids(user)
                    .ok_or_else(|| format!("running as root, but there is no `{user}` user to run initdb as"))?,
            ),
            None => None,
        };
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let dir = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("cannot hand {} to the postgres user: {e}", dir.display()))?;
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut cluster = PrivateCluster {
            dir,
            port: 0,
            bin,
            run_as,
            started: false,
        };

        if !cluster.dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        if let Some(port) = cluster.running_port() {
            cluster.port = port;
            return Ok(cluster);
        }
        cluster.port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let opts = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
            cluster.port
        );
        let log = cluster.dir.join("server.log");
        let out = cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&cluster.dir)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "pg_ctl start failed: {}{} (see {})",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim(),
                log.display()
            ));
        }
        cluster.started = true;
        tracing::info!(dir = %cluster.dir.display(), port = cluster.port, "started private PostgreSQL cluster");
        Ok(cluster)
    }

    fn initdb(&self) -> Result<(), String> {
        // A UTF-8 ctype makes pg_trgm index Hangul; try the common ones, then none.
        let mut last = String::new();
        for locale in [Some("C.UTF-8"), Some("en_US.UTF-8"), None] {
            let mut cmd = self.command("initdb");
            cmd.arg("-D")
                .arg(&self.dir)
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"]);
            match locale {
                Some(l) => cmd.arg(format!("--locale={l}")),
                None => cmd.arg("--no-locale"),
            };
            let out = cmd.output().map_err(|e| format!("cannot run initdb: {e}"))?;
            if out.status.success() {
                return Ok(());
            }
            String::from_utf8_lossy(&out.stderr).trim().clone_into(&mut last);
            // initdb leaves a partial directory behind on some failures.
            if let Ok(entries) = std::fs::read_dir(&self.dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        }
        Err(format!("initdb failed: {last}"))
    }

    /// The port of a server already running on this directory, from `postmaster.pid`.
    fn running_port(&self) -> Option<u16> {
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .arg("status")
            .output()
            .ok()?;
        if !status.status.success() {
            return None;
        }
        let pid = std::fs::read_to_string(self.dir.join("postmaster.pid")).ok()?;
        pid.lines().nth(3)?.trim().parse().ok()
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn stop(&self) {
        if !self.started {
            return;
        }
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", "fast", "-w", "stop"])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                tracing::info!(dir = %self.dir.display(), "stopped private PostgreSQL cluster");
            }
            Ok(o) => {
                tracing::warn!(stderr = %String::from_utf8_lossy(&o.stderr), "pg_ctl stop failed");
            }
            Err(e) => tracing::warn!(error = %e, "cannot run pg_ctl stop"),
        }
    }
}

fn find_pg_bin() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH")
        && let Some(d) = std::env::split_paths(&path).find(|d| has_tools(d))
    {
        return Some(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The login name of this process's user: `USER`/`LOGNAME`, else looked up by uid.
fn os_user() -> Option<String> {
    for var in ["USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(var)
            && !u.is_empty()
        {
            return Some(u);
        }
    }
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_owned())
    })
}

fn is_root() -> bool {
    // /proc/self belongs to the effective user: no libc call needed.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn user_ids(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.first() == Some(&user) && f.len() > 3).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        let redact = |u: &str| crate::settings::DatabaseUrl::from(u.to_owned()).redacted();
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres:///db"), "postgres:///db");
        assert_eq!(
            redact("postgres://h/db?password=secret"),
            "postgres://h/db?password=***"
        );
        assert_eq!(redact("not a url:secret@"), "<unparseable url>");
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("jangteo"), "\"jangteo\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
