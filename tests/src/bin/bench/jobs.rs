//! `bench jobs`: the job queue. Enqueue rate (one job per transaction, as a change enqueues
//! its message), then workers running real `notify.email` jobs (render, inline CSS, write
//! the `.eml`) until the queue is empty, beside pgbench running the queue's own claim and
//! finish statements (PostgreSQL's ceiling for the bookkeeping alone).

use std::{sync::Arc, time::Instant};

use commerce::{
    Settings,
    jobs::{self, NewJob, handlers::Runner, worker},
    notify::EMAIL_JOB,
};
use jangteo_tests::TestDb;
use serde_json::json;

use super::pgbench;

/// The queue's claim and finish, as a worker runs them (the lease's heartbeat aside).
const CLAIM_AND_FINISH: &str = "\\set w random(1, 1000000)
WITH c AS (UPDATE jobs j SET state = 'RUNNING', attempts = j.attempts + 1, locked_by = 'w' || :w, updated_at = now(),
                  locked_until = now() + make_interval(secs => 60)
            WHERE j.id IN (SELECT id FROM jobs WHERE state = 'QUEUED' AND run_at <= now()
                            ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING j.id)
UPDATE jobs SET state = 'DONE', locked_until = NULL, locked_by = NULL, finished_at = now() FROM c WHERE jobs.id = c.id;
";

fn email_job(i: usize) -> NewJob {
    NewJob::new(
        EMAIL_JOB,
        json!({ "notice": "welcome", "to": format!("bench{i}@example.com"), "customer": null,
                "ctx": { "customer": { "name": "김벤치" } } }),
    )
}

async fn enqueue_many(pool: &sqlx::PgPool, n: usize, connections: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in (c..n).step_by(connections) {
                let mut tx = pool.begin().await?;
                jobs::enqueue(&mut tx, email_job(i)).await?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Runs the scenario and prints its table.
pub async fn jobs_bench(db: &TestDb, n: usize, connections: usize, workers: usize) -> anyhow::Result<()> {
    let pool = db
        .pool(u32::try_from(connections.max(workers * 4) + 4).unwrap_or(32))
        .await;
    eprintln!("enqueuing {n} e-mail jobs over {connections} connections…");
    let enqueue_rate = enqueue_many(&pool, n, connections).await?;

    let dir = std::env::temp_dir().join(format!("jangteo-bench-mail-{}", std::process::id()));
    let mut settings = Settings::defaults();
    settings.mail.dir.clone_from(&dir);
    settings.jobs.concurrency = 4;
    let settings = Arc::new(settings);
    let runner = Arc::new(Runner::new(pool.clone(), settings.clone())?);
    eprintln!(
        "running them with {workers} workers × {} jobs at once…",
        settings.jobs.concurrency
    );
    let started = Instant::now();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut running = Vec::new();
    for _ in 0..workers {
        let (pool, runner, settings) = (pool.clone(), runner.clone(), settings.jobs.clone());
        let mut stopped = stopped.clone();
        running.push(tokio::spawn(async move {
            worker::run(pool, runner, settings, false, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        }));
    }
    loop {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state <> 'DONE'")
            .fetch_one(&pool)
            .await?;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let run_secs = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    for r in running {
        r.await??;
    }
    let files = std::fs::read_dir(&dir)?.count();
    std::fs::remove_dir_all(&dir)?;
    anyhow::ensure!(files == n, "{files} e-mails written for {n} jobs");
    #[allow(clippy::cast_precision_loss)]
    let run_rate = n as f64 / run_secs;

    // The ceiling: the same number of queued rows, claimed and finished by pgbench alone.
    sqlx::query("DELETE FROM jobs").execute(&pool).await?;
    // Enough rows that the queue never runs dry in pgbench's 5 seconds.
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload) SELECT gen_random_uuid(), 'notify.email', '{}' FROM generate_series(1, 200000)",
    )
    .execute(&pool)
    .await?;
    sqlx::query("VACUUM ANALYZE jobs").execute(&pool).await?;
    let ceiling = pgbench(&db.url(), CLAIM_AND_FINISH, workers * 4, 5)?;

    println!("| jobs | rate | PostgreSQL ceiling | ratio |");
    println!("|---|---|---|---|");
    println!("| enqueue, one job per transaction ({connections} connections) | {enqueue_rate:.0}/s | | |");
    println!(
        "| run `notify.email` to .eml files ({workers} workers × 4) | {run_rate:.0}/s | {ceiling:.0}/s claim+finish | {:.2} |",
        run_rate / ceiling
    );
    Ok(())
}
