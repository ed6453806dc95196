//! `jangteo`: the service binary (serve, migrate, seed, schema).

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use commerce::{Settings, db, demo};
use graphql::app::{self, AppState};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Jangteo (장터): headless commerce for Korean direct-to-consumer shops.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Settings file (default: ./jangteo.toml if present). JANGTEO_* variables override it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service: storefront GraphQL at /graphql, /healthz, /readyz.
    ///
    /// With no configuration it finds or starts PostgreSQL (DATABASE_URL, else the local
    /// server, else a private cluster under ./var/postgres) and migrates it.
    Serve {
        /// Address to listen on [env: JANGTEO_LISTEN] [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Seed the demo shop if the catalog is empty.
        #[arg(long)]
        demo: bool,
        /// Don't run migrations at start (deploys run `jangteo migrate` first).
        #[arg(long)]
        no_migrate: bool,
        /// Also run the background jobs and schedules in this process (e-mail, SMS,
        /// tracking, reports); on by default with --demo.
        #[arg(long, conflicts_with = "no_worker")]
        worker: bool,
        /// Leave the jobs to `jangteo worker` processes, also with --demo.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run background jobs and schedules until SIGTERM/Ctrl-C: e-mail, SMS and Alimtalk,
    /// unpaid-order expiry, delivery tracking, the daily report, member tiers, reminders.
    ///
    /// Run as many as you like: jobs are taken with FOR UPDATE SKIP LOCKED and each
    /// schedule's period runs once. Jobs in flight at shutdown finish or go back unspent.
    Worker {
        /// Don't run migrations at start.
        #[arg(long)]
        no_migrate: bool,
        /// Jobs run at once (default: jobs.concurrency).
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
    },
    /// Run the database migrations and exit.
    Migrate,
    /// Fill the shop: the demo catalog, or a bulk catalog for benchmarks, and past orders.
    ///
    /// `seed --demo --orders 1000000` makes the demo shop with two years of history.
    Seed {
        /// The demo shop (only into an empty catalog).
        #[arg(long, conflicts_with = "products")]
        demo: bool,
        /// Number of bulk products.
        #[arg(long, value_name = "N", requires = "variants")]
        products: Option<u32>,
        /// Variants per bulk product (1–6).
        #[arg(long, value_name = "M", requires = "products")]
        variants: Option<u32>,
        /// Past orders over the catalog (after --demo or --products if given): paid, shipped,
        /// cancelled, refunded and unpaid, by members and guests; then the statistics are rebuilt.
        #[arg(long, value_name = "N")]
        orders: Option<u64>,
        /// Days the orders span, up to now.
        #[arg(long, value_name = "D", default_value_t = 730, requires = "orders")]
        days: u32,
        /// Random seed of the orders: the same seed over the same catalog gives the same shop.
        #[arg(long, value_name = "U64", requires = "orders")]
        seed: Option<u64>,
    },
    /// Print the storefront GraphQL schema (SDL), as committed in graphql/schema.graphql.
    Schema {
        /// The admin schema instead (graphql/admin.graphql).
        #[arg(long)]
        admin: bool,
    },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Sales and member statistics.
    Stats {
        #[command(subcommand)]
        command: StatsCommand,
    },
}

impl Command {
    /// The `component` tag of what this process reports to Sentry.
    fn name(&self) -> &'static str {
        match self {
            Command::Serve { .. } => "serve",
            Command::Worker { .. } => "worker",
            Command::Migrate => "migrate",
            Command::Seed { .. } => "seed",
            Command::Schema { .. } => "schema",
            Command::Staff { .. } => "staff",
            Command::Stats { .. } => "stats",
        }
    }
}

#[derive(Subcommand)]
enum StatsCommand {
    /// Recompute the sales rollups and the members' purchase sequence from the orders (after
    /// a bulk import or a restore); reports read the old numbers until it commits.
    Rebuild,
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a staff member; they enroll an authenticator at their first login.
    Create {
        /// Sign-in e-mail.
        #[arg(long)]
        email: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// OWNER, MANAGER, CS or BOT.
        #[arg(long, value_parser = ["OWNER", "MANAGER", "CS", "BOT"])]
        role: String,
        /// Read the password from standard input (otherwise it is asked for).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Issue a token for the Slack bot (`bot.api_token`), printed once, as the owner `--owner`.
    BotToken {
        /// The e-mail of the active owner the audit log names.
        #[arg(long)]
        owner: String,
        /// The token's name (`slack`); its bot account is made with the first token.
        #[arg(long, default_value = "slack")]
        name: String,
        /// Days until it expires (1–3650); none: until revoked.
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// Link a staff member to their Slack user (`U0123ABCD`), as the owner `--owner`: the bot
    /// then answers them with their own role. `--slack-user none` unlinks.
    LinkSlack {
        /// The e-mail of the active owner the audit log names.
        #[arg(long)]
        owner: String,
        /// The staff member's sign-in e-mail.
        #[arg(long)]
        staff: String,
        /// Their Slack member id (profile → ⋮ → Copy member ID), or `none`.
        #[arg(long)]
        slack_user: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // One TLS crypto provider for the process (DESIGN §9): ring, which sqlx uses too; sentry's
    // HTTP client takes the process default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    if let Command::Schema { admin } = cli.command {
        print!(
            "{}",
            if admin {
                graphql::admin::sdl()
            } else {
                graphql::storefront::sdl()
            }
        );
        return Ok(());
    }
    let mut settings = Settings::load(cli.config.as_deref()).context("reading settings")?;
    if let Command::Seed { .. } = &cli.command {
        // A bulk load and the statistics rebuild after it run longer than any request may.
        settings.database.statement_timeout_ms = 0;
    }
    if let Command::Serve { listen, demo, .. } = &cli.command {
        if let Some(addr) = listen {
            settings.listen = *addr;
        }
        settings.demo = *demo;
        refuse_demo_secrets(&settings)?;
    }
    let mut filter = telemetry::logs::filter(&settings.log);
    if let Command::Seed { .. } = &cli.command {
        // Bulk statements are slow by design: no "slow statement" warning with each batch's SQL.
        filter = filter.add_directive("sqlx::query=error".parse()?);
    }
    // Panics and `error!` go to Sentry when SENTRY_DSN is set; the guard flushes at exit.
    let sentry = telemetry::init_sentry(
        concat!("jangteo@", env!("CARGO_PKG_VERSION")),
        None,
        None,
        cli.command.name(),
    );
    // Logs on stderr: stdout is what a command prints for the caller (a bot token, a schema).
    telemetry::logs::init(filter, settings.log.format, sentry.is_some());
    if let Command::Serve { .. } = &cli.command {
        warn_of_demo_details(&settings);
    }

    let database = db::Database::open(&settings.database).await?;
    tracing::info!(database = %database.location, "database open");
    let result = run(cli.command, &settings, &database).await;
    database.close().await;
    result
}

async fn run(command: Command, settings: &Settings, database: &db::Database) -> anyhow::Result<()> {
    let pool = &database.pool;
    match command {
        Command::Serve {
            demo,
            no_migrate,
            worker,
            no_worker,
            ..
        } => serve(settings, database, demo, no_migrate, (worker || demo) && !no_worker).await?,
        Command::Worker {
            no_migrate,
            concurrency,
        } => run_worker(settings, pool, no_migrate, concurrency).await?,
        Command::Migrate => {
            db::migrate(pool).await?;
            tracing::info!("migrations applied");
        }
        Command::Seed {
            demo,
            products,
            variants,
            orders,
            days,
            seed,
        } => {
            if !demo && products.is_none() && orders.is_none() {
                anyhow::bail!("say what to seed: --demo, --products N --variants M, or --orders N");
            }
            db::migrate(pool).await?;
            if demo {
                report_seed(&demo::seed_demo(pool).await?);
                seed_demo_media(settings, pool).await?;
            }
            if let (Some(n), Some(m)) = (products, variants) {
                report_seed(&demo::seed_bulk(pool, n, m).await?);
            }
            if let Some(orders) = orders {
                seed_orders(pool, settings, orders, days, seed).await?;
            }
        }
        Command::Schema { .. } => unreachable!("handled before settings"),
        Command::Stats {
            command: StatsCommand::Rebuild,
        } => {
            db::migrate(pool).await?;
            let started = std::time::Instant::now();
            let done = commerce::stats::rebuild(pool).await?;
            println!(
                "statistics rebuilt from {} paid orders and {} refunds: {} rollup rows in {:.1} s",
                done.orders,
                done.refunds,
                done.rows,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Staff { command } => {
            db::migrate(pool).await?;
            staff(pool, command).await?;
        }
    }
    Ok(())
}

/// `jangteo serve`: the HTTP service, with the jobs in the same process when `with_worker`.
async fn serve(
    settings: &Settings,
    database: &db::Database,
    demo: bool,
    no_migrate: bool,
    with_worker: bool,
) -> anyhow::Result<()> {
    let pool = &database.pool;
    if !no_migrate {
        db::migrate(pool).await?;
    }
    if demo {
        report_seed(&demo::seed_demo(pool).await?);
        seed_demo_media(settings, pool).await?;
    }
    commerce::notify::marketing::sync_tiers(pool, &settings.customers.tiers).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr} (storefront GraphQL and GraphiQL at /graphql)");
    let settings = std::sync::Arc::new(settings.clone());
    let metrics = graphql::metrics::Metrics::install(&settings.metrics);
    let stop = Stop::on_signal(std::time::Duration::from_millis(settings.http.drain_ms));
    let jobs = if with_worker {
        let runner = std::sync::Arc::new(commerce::jobs::handlers::Runner::new(pool.clone(), settings.clone())?);
        tracing::info!("running background jobs in this process");
        tokio::spawn(commerce::jobs::worker::run(
            pool.clone(),
            runner,
            settings.jobs.clone(),
            true,
            // Running jobs finish while the HTTP side drains; none is claimed after the signal.
            stop.draining(),
        ))
    } else {
        // Unpaid orders still expire while no worker runs; once one does, its
        // schedule takes over.
        let (pool, minutes) = (pool.clone(), settings.payments.pending_minutes);
        tokio::spawn(async move {
            expire_unpaid_until_a_worker_runs(pool, minutes).await;
            Ok(())
        })
    };
    // Reports read from database.read_url when it is set.
    let state = AppState::with_reports_pool(pool.clone(), database.reports.clone(), settings.clone());
    metrics.serve(pool.clone(), Some(state.cache.clone())).await;
    let draining = stop.draining();
    let drained = state.clone();
    tokio::spawn(async move {
        draining.await;
        drained.start_draining();
    });
    app::serve(listener, state, stop.stopped()).await?;
    if with_worker {
        match jobs.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "the worker stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "the worker task failed"),
            Ok(Ok(())) => {}
        }
    } else {
        jobs.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// `jangteo worker`: background jobs and schedules until SIGTERM/Ctrl-C.
async fn run_worker(
    settings: &Settings,
    pool: &sqlx::PgPool,
    no_migrate: bool,
    concurrency: Option<usize>,
) -> anyhow::Result<()> {
    if !no_migrate {
        db::migrate(pool).await?;
    }
    let mut settings = settings.clone();
    if let Some(n) = concurrency {
        settings.jobs.concurrency = n.max(1);
    }
    commerce::notify::marketing::sync_tiers(pool, &settings.customers.tiers).await?;
    let settings = std::sync::Arc::new(settings);
    graphql::metrics::Metrics::install(&settings.metrics)
        .serve(pool.clone(), None)
        .await;
    let runner = std::sync::Arc::new(commerce::jobs::handlers::Runner::new(pool.clone(), settings.clone())?);
    // No listener to drain: running jobs finish, none is claimed after the signal.
    let stop = Stop::on_signal(std::time::Duration::ZERO);
    commerce::jobs::worker::run(pool.clone(), runner, settings.jobs.clone(), true, stop.draining()).await?;
    Ok(())
}

/// `jangteo staff …`.
async fn staff(pool: &sqlx::PgPool, command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::Create {
            email,
            name,
            role,
            password_stdin,
        } => {
            let email = commerce::types::Email::parse(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let role: commerce::staff::Role = role.parse().map_err(|_| anyhow::anyhow!("unknown role {role}"))?;
            let password = read_password(password_stdin)?;
            let password = commerce::types::NewPassword::parse(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
            let staff = commerce::staff::create(pool, &email, &name, role, &password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created {} ({}, {}); they set up two-factor login at their first sign-in at /admin/graphql",
                staff.id,
                staff.email,
                staff.role.as_str()
            );
        }
        StaffCommand::BotToken {
            owner,
            name,
            expires_in_days,
        } => {
            let by = cli_owner(pool, &owner).await?;
            let issued = commerce::staff::bot_token_create(pool, by, &name, expires_in_days, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            // The token alone on stdout (for `$(…)`); what it is on stderr.
            eprintln!(
                "bot token {} ({}) issued; it is shown once: set it as JANGTEO_BOT__API_TOKEN",
                issued.listed.id, issued.listed.name
            );
            println!("{}", issued.token);
        }
        StaffCommand::LinkSlack {
            owner,
            staff,
            slack_user,
        } => {
            let by = cli_owner(pool, &owner).await?;
            let email = commerce::types::Email::parse(&staff).map_err(|e| anyhow::anyhow!("{e}"))?;
            let id = commerce::staff::id_by_email(pool, &email)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let slack = Some(slack_user.as_str()).filter(|s| !s.eq_ignore_ascii_case("none"));
            let linked = commerce::staff::slack_link(pool, by, id, slack, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match linked.staff.slack_user_id {
                Some(user) => println!("{} is Slack user {user}", linked.staff.email),
                None => println!("{} is linked to no Slack user", linked.staff.email),
            }
        }
    }
    Ok(())
}

/// The active owner `email` the command line acts as.
async fn cli_owner(pool: &sqlx::PgPool, email: &str) -> anyhow::Result<commerce::staff::Principal> {
    let email = commerce::types::Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    commerce::staff::owner_by_email(pool, &email)
        .await
        .map_err(|e| anyhow::anyhow!("--owner {}: {e}", email.as_str()))
}

/// Outside `--demo`, the built-in TOTP key would let anyone who read the source decrypt the
/// staff's second factors: `serve` does not start with it.
fn refuse_demo_secrets(settings: &Settings) -> anyhow::Result<()> {
    if !settings.demo && settings.staff.uses_demo_key() {
        anyhow::bail!(
            "staff.totp_key is the built-in demo key, which only `jangteo serve --demo` may use: \
             set JANGTEO_STAFF__TOTP_KEY to the base64 of 32 random bytes (`openssl rand -base64 32`) \
             and keep it: it decrypts the staff's TOTP secrets"
        );
    }
    Ok(())
}

/// Not a secret, so no refusal; but a real shop must not show the demo's details. (Logged,
/// so that with `log.format = "json"` every line of stderr stays JSON.)
fn warn_of_demo_details(settings: &Settings) {
    if !settings.demo && settings.shop.business.uses_demo_details() {
        tracing::warn!(
            "shop.business holds the demo shop's details: set JANGTEO_SHOP__BUSINESS__* \
             (company_name, ceo, registration_number, mail_order_number, address, phone, email, \
             privacy_officer), which the storefront footer shows",
        );
    }
}

/// Shutdown, for the several parts of one process (the HTTP server, the worker), in two
/// steps: `draining` at the signal, `stopped` after the drain time. The drain applies to
/// SIGTERM (what an orchestrator sends); Ctrl-C, or a second signal, stops at once.
#[derive(Clone)]
struct Stop {
    draining: tokio::sync::watch::Receiver<bool>,
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl Stop {
    fn on_signal(drain: std::time::Duration) -> Stop {
        let (draining, draining_rx) = tokio::sync::watch::channel(false);
        let (stopped, stopped_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let signal = shutdown_signal().await;
            let _ = draining.send(true);
            if signal == Signal::Terminate && !drain.is_zero() {
                tracing::info!(
                    "SIGTERM: draining for {} ms before the listener closes",
                    drain.as_millis()
                );
                tokio::select! {
                    () = tokio::time::sleep(drain) => {}
                    _ = shutdown_signal() => tracing::info!("second signal: not waiting out the drain"),
                }
            }
            tracing::info!("shutting down: finishing in-flight requests and jobs");
            let _ = stopped.send(true);
        });
        Stop {
            draining: draining_rx,
            stopped: stopped_rx,
        }
    }

    /// Resolves at the signal.
    fn draining(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        Stop::when(self.draining.clone())
    }

    /// Resolves when the drain is over: stop accepting.
    fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        Stop::when(self.stopped.clone())
    }

    async fn when(mut rx: tokio::sync::watch::Receiver<bool>) {
        let _ = rx.wait_for(|set| *set).await;
    }
}

/// `serve` without a worker in it: expires unpaid orders every minute, unless a worker has
/// been seen lately (its every-minute schedule does it then).
async fn expire_unpaid_until_a_worker_runs(pool: sqlx::PgPool, pending_minutes: i64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_mins(1));
    loop {
        tick.tick().await;
        if commerce::jobs::worker::any_alive(&pool).await.unwrap_or(false) {
            continue;
        }
        match commerce::order::expire_unpaid(&pool, chrono::Utc::now(), pending_minutes).await {
            Ok(expired) if !expired.is_empty() => tracing::info!(count = expired.len(), "expired unpaid orders"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "expiring unpaid orders failed"),
        }
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Password (again): ")?;
    anyhow::ensure!(first == again, "the passwords differ");
    Ok(first)
}

async fn seed_orders(
    pool: &sqlx::PgPool,
    settings: &Settings,
    orders: u64,
    days: u32,
    seed: Option<u64>,
) -> anyhow::Result<()> {
    use commerce::seed_orders::{OrderSeed, Progress};
    let seed = OrderSeed {
        orders,
        days,
        // Printed below, so a shop worth keeping can be made again.
        seed: seed.unwrap_or_else(|| {
            let random = commerce::auth::new_token().1;
            u64::from_le_bytes(random[..8].try_into().unwrap_or_default())
        }),
        now: chrono::Utc::now(),
    };
    tracing::info!(orders, days, seed = seed.seed, "seeding orders");
    let started = std::time::Instant::now();
    let seeded = commerce::seed_orders::seed_orders(pool, settings, seed, |p| match p {
        Progress::Inserted { done, of } => {
            tracing::info!("{done} of {of} orders ({:.0} s)", started.elapsed().as_secs_f64());
        }
        Progress::Rebuilding => {
            tracing::info!(
                "all orders in ({:.0} s); rebuilding the statistics",
                started.elapsed().as_secs_f64()
            );
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(
        orders = seeded.orders,
        paid = seeded.paid,
        cancelled_after_payment = seeded.cancelled_after_payment,
        partly_refunded = seeded.partly_refunded,
        unpaid = seeded.unpaid,
        by_members = seeded.by_members,
        with_coupon = seeded.with_coupon,
        lines = seeded.lines,
        customers = seeded.customers,
        rollup_rows = seeded.rebuilt.map_or(0, |r| r.rows),
        seed = seed.seed,
        "orders seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Draws and stores pictures for demo products that show only outside placeholders.
async fn seed_demo_media(settings: &Settings, pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let media = commerce::media::MediaService::new(&settings.media)?;
    let n = commerce::media::demo::seed(pool, &media).await?;
    if n > 0 {
        tracing::info!(products = n, "demo pictures drawn and stored");
    }
    Ok(())
}

fn report_seed(seeded: &demo::Seeded) {
    match seeded {
        demo::Seeded::Catalog { products, variants } => {
            tracing::info!(products, variants, "catalog seeded");
        }
        demo::Seeded::AlreadyHasCatalog => tracing::info!("catalog not empty: nothing seeded"),
    }
}

/// Which signal asked the process to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signal {
    Interrupt,
    Terminate,
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() -> Signal {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => Signal::Interrupt,
        () = term => Signal::Terminate,
    }
}
