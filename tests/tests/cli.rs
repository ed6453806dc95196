//! The `jangteo` binary: help, and the embedded-defaults path that makes a private
//! PostgreSQL cluster when no server is configured or found.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use jangteo_tests::binary::jangteo;
use serde_json::json;

#[test]
fn every_subcommand_has_help() {
    for sub in [
        &[][..],
        &["serve"],
        &["migrate"],
        &["seed"],
        &["schema"],
        &["staff", "create"],
        &["staff", "bot-token"],
        &["staff", "link-slack"],
        &["stats", "rebuild"],
    ] {
        let out = jangteo().args(sub).arg("--help").output().expect("run");
        assert!(out.status.success(), "{sub:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: jangteo"), "{sub:?}: {text}");
    }
    let out = jangteo().args(["serve", "--help"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--listen", "--demo", "--no-migrate"] {
        assert!(text.contains(flag), "serve --help lacks {flag}");
    }
}

#[test]
fn serve_refuses_the_demo_totp_key_outside_demo() {
    // Checked before the database is looked for: this fails fast, with no PostgreSQL.
    let out = jangteo()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("JANGTEO_STAFF__TOTP_KEY")
        .env("JANGTEO_DATABASE__LOCAL", "false")
        .env("JANGTEO_DATABASE__PRIVATE_DIR", "/proc/jangteo-cannot-be-made")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("JANGTEO_STAFF__TOTP_KEY") && err.contains("demo key"),
        "{err}"
    );
    assert!(
        !err.contains("no PostgreSQL server found"),
        "refused before looking: {err}"
    );
    // With a key of its own it gets past that check (to the missing database here).
    let out = jangteo()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "JANGTEO_STAFF__TOTP_KEY",
            "c2VjcmV0LXRvdHAta2V5LWZvci10aGUtdGVzdC0zMmI=",
        )
        .env("JANGTEO_DATABASE__LOCAL", "false")
        .env("JANGTEO_DATABASE__PRIVATE_DIR", "/proc/jangteo-cannot-be-made")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no PostgreSQL server found"), "{err}");
}

#[test]
fn seed_without_a_target_fails_clearly() {
    let out = jangteo().args(["seed", "--products", "3"]).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--variants"));
}

struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_makes_a_private_cluster_when_no_server_is_found() {
    // /tmp, not the target folder: the postgres user (when we run as root) must reach it.
    let parent = std::env::temp_dir().join(format!("jangteo-private-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&parent).expect("mkdir");
    let _cleanup = Cleanup(parent.clone());
    let data_dir = parent.join("postgres");
    let port = free_port();
    let mut child = jangteo()
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .env("JANGTEO_DATABASE__LOCAL", "false")
        .env("JANGTEO_DATABASE__PRIVATE_DIR", &data_dir)
        .current_dir(&parent)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jangteo");
    let client = jangteo_tests::fakes::http_client();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_mins(2);
    let ready = loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            break true;
        }
        if Instant::now() > deadline || child.try_wait().expect("wait").is_some() {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if !ready {
        let _ = child.kill();
        let out = child.wait_with_output().expect("output");
        panic!("service did not become ready: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        data_dir.join("PG_VERSION").exists(),
        "no cluster made under {}",
        data_dir.display()
    );
    let resp: serde_json::Value = client
        .post(format!("{base}/graphql"))
        .json(&serde_json::json!({ "query": "{ products(first: 3) { totalCount edges { node { name } } } }" }))
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    assert!(
        resp["data"]["products"]["totalCount"].as_i64().unwrap_or(0) >= 20,
        "{resp}"
    );

    // SIGTERM: graceful stop, and the cluster we started is stopped with us.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "exit: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !data_dir.join("postmaster.pid").exists(),
        "the private cluster is still running"
    );
}

#[test]
fn without_any_postgres_one_error_says_what_to_install() {
    let out = jangteo()
        .args(["migrate"])
        .env("JANGTEO_DATABASE__LOCAL", "false")
        .env("JANGTEO_DATABASE__PRIVATE_DIR", "/proc/jangteo-cannot-be-made")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no PostgreSQL server found"), "{err}");
    assert!(
        err.contains("apt-get install postgresql") && err.contains("DATABASE_URL"),
        "{err}"
    );
    assert!(
        err.contains("/proc/jangteo-cannot-be-made"),
        "says where it tried: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_create_reads_the_password_from_stdin() {
    use std::io::Write as _;
    let db = jangteo_tests::TestDb::create().await;
    let run = |password: &str| {
        let mut child = jangteo()
            .args([
                "staff",
                "create",
                "--email",
                "Boss@Jangteo.kr",
                "--name",
                "김사장",
                "--role",
                "OWNER",
                "--password-stdin",
            ])
            .env("DATABASE_URL", db.url())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(password.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let weak = run("short\n");
    assert!(!weak.status.success(), "the password policy applies");
    let out = run("correct-horse-7\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("boss@jangteo.kr"));
    let again = run("correct-horse-7\n");
    assert!(!again.status.success(), "the e-mail is taken");
    let pool = db.pool(1).await;
    let (role, hash): (String, String) = sqlx::query_as("SELECT role, password_hash FROM staff")
        .fetch_one(&pool)
        .await
        .expect("staff");
    assert_eq!(role, "OWNER");
    assert!(hash.starts_with("$argon2id$"));
}

#[tokio::test(flavor = "multi_thread")]
async fn seeded_orders_show_in_the_statistics_and_a_rebuild_finds_the_same() {
    let db = jangteo_tests::TestDb::create().await;
    let run = |args: &[&str]| {
        let out = jangteo()
            .args(args)
            .env("DATABASE_URL", db.url())
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["seed", "--demo", "--orders", "400", "--days", "30", "--seed", "7"]);
    let pool = db.pool(1).await;
    let rollups = || async {
        sqlx::query_as::<_, (String, String, String, String, i64, i64, i64)>(
            "SELECT dim, day::text, channel, key, orders, gross, refunds FROM sales_rollups ORDER BY 1, 2, 3, 4",
        )
        .fetch_all(&pool)
        .await
        .expect("rollups")
    };
    let seeded = rollups().await;
    let paid: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE paid_at IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("paid");
    let counted: i64 = seeded.iter().filter(|r| r.0 == "ALL" && r.2 == "*").map(|r| r.4).sum();
    assert_eq!(counted, paid, "every paid order counted once");
    let out = run(&["stats", "rebuild"]);
    assert!(out.contains(&format!("from {paid} paid orders")), "{out}");
    assert_eq!(rollups().await, seeded);
}

/// `jangteo staff bot-token` prints a working bot token and nothing else on stdout, and
/// `jangteo staff link-slack` links a staff member; both only as an active owner.
#[tokio::test(flavor = "multi_thread")]
async fn an_owner_issues_the_bot_token_and_links_slack_users_on_the_command_line() {
    let app = jangteo_tests::TestApp::spawn().await;
    let pool = &app.pool;
    jangteo_tests::staff_session(pool, "boss@jangteo.kr", commerce::staff::Role::Owner).await;
    jangteo_tests::staff_session(pool, "desk@jangteo.kr", commerce::staff::Role::Cs).await;
    let run = |args: &[&str]| {
        jangteo()
            .args(args)
            .env("DATABASE_URL", app.db_url())
            .output()
            .expect("run")
    };

    let out = run(&["staff", "bot-token", "--owner", "boss@jangteo.kr", "--name", "slack"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let token = stdout.trim_end_matches('\n');
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "only the token: {stdout:?}"
    );
    let me = app.admin(token, "{ staffMe { role } }", json!({})).await;
    assert_eq!(jangteo_tests::data(&me)["staffMe"]["role"], "BOT", "{me}");

    // A CS member can't act as an owner, and an unknown e-mail isn't one: nothing issued.
    for owner in ["desk@jangteo.kr", "nobody@jangteo.kr"] {
        let out = run(&["staff", "bot-token", "--owner", owner]);
        assert!(!out.status.success(), "{owner}");
        assert!(out.stdout.is_empty(), "{owner}: no token printed");
    }
    let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM staff_sessions WHERE kind = 'BOT'")
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(tokens, 1);

    let link = |staff: &str, user: &str| {
        run(&[
            "staff",
            "link-slack",
            "--owner",
            "boss@jangteo.kr",
            "--staff",
            staff,
            "--slack-user",
            user,
        ])
    };
    let linked = || async {
        sqlx::query_scalar::<_, Option<String>>("SELECT slack_user_id FROM staff WHERE email = 'desk@jangteo.kr'")
            .fetch_one(pool)
            .await
            .expect("staff")
    };
    assert!(link("desk@jangteo.kr", "U0DESK0001").status.success());
    assert_eq!(linked().await.as_deref(), Some("U0DESK0001"));
    let bad = link("desk@jangteo.kr", "not-a-slack-id");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("slackUserId"));
    assert_eq!(
        linked().await.as_deref(),
        Some("U0DESK0001"),
        "a bad id changes nothing"
    );
    assert!(link("desk@jangteo.kr", "none").status.success());
    assert_eq!(linked().await, None);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action IN ('staff.bot_token.create', 'staff.slack_link')",
    )
    .fetch_one(pool)
    .await
    .expect("audit");
    assert_eq!(audited, 3, "the token and two link changes, in the owner's name");
    app.stop().await;
}
