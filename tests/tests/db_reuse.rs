//! `commerce::db::Reuse`: connections kept between catalog reads without the pool's ping,
//! and never when that could hand on a connection in an unknown state or starve other work.

use std::{sync::Arc, time::Duration};

use commerce::db::{KEEP, Reuse};
use jangteo_tests::TestDb;

async fn backend_pid(conn: &mut sqlx::PgConnection) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
        .expect("pid")
}

/// A finished read's connection serves the next read as it is; one dropped unfinished, or
/// whose statement was cancelled midway, goes back through the pool and is never kept.
#[tokio::test]
async fn only_connections_whose_reads_ran_to_their_end_are_kept() {
    let db = TestDb::create().await;
    let pool = db.pool(4).await;
    let reuse = Reuse::new(pool.clone(), 2);

    let mut conn = reuse.acquire().await.expect("acquire");
    let pid = backend_pid(&mut conn).await;
    conn.finish();
    assert_eq!(reuse.kept(), 1);
    let mut again = reuse.acquire().await.expect("acquire");
    assert_eq!(reuse.kept(), 0);
    assert_eq!(backend_pid(&mut again).await, pid, "the kept connection");
    drop(again);
    assert_eq!(reuse.kept(), 0, "dropped unfinished: not kept");

    // A statement cancelled midway (its future dropped, as when a client goes away): the
    // connection is not kept, and the next read's answer is its own.
    let mut conn = reuse.acquire().await.expect("acquire");
    let slow = sqlx::query_scalar::<_, i32>("SELECT 7 FROM pg_sleep(0.5)").fetch_one(&mut *conn);
    assert!(tokio::time::timeout(Duration::from_millis(50), slow).await.is_err());
    drop(conn);
    assert_eq!(reuse.kept(), 0);
    for _ in 0..4 {
        let mut conn = reuse.acquire().await.expect("acquire");
        let n: i32 = sqlx::query_scalar("SELECT 42")
            .fetch_one(&mut *conn)
            .await
            .expect("read");
        assert_eq!(n, 42);
        conn.finish();
    }

    // At most `max` are kept (of a pool with idle connections to spare).
    let pool = db.pool(8).await;
    let warm: Vec<_> = futures::future::join_all((0..5).map(|_| pool.acquire())).await;
    drop(warm);
    while pool.num_idle() < 5 {
        tokio::task::yield_now().await;
    }
    let reuse = Reuse::new(pool.clone(), 2);
    let (a, b, c) = (
        reuse.acquire().await.expect("a"),
        reuse.acquire().await.expect("b"),
        reuse.acquire().await.expect("c"),
    );
    a.finish();
    b.finish();
    c.finish();
    assert_eq!(reuse.kept(), 2);
}

/// When the pool has no idle connection, a finished read hands its connection to the work
/// waiting for one instead of keeping it.
#[tokio::test]
async fn a_waiter_on_a_short_pool_gets_the_connection() {
    let db = TestDb::create().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&db.url())
        .await
        .expect("pool");
    let reuse = Reuse::new(pool.clone(), 2);
    let held = pool.acquire().await.expect("held");
    let read = reuse.acquire().await.expect("read");
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.map(|_| ()) }
    });
    // The pool is at its size with none idle when the read finishes.
    tokio::task::yield_now().await;
    assert_eq!((pool.size(), pool.num_idle()), (2, 0));
    read.finish();
    assert_eq!(reuse.kept(), 0, "handed to the pool");
    tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("the waiter got a connection")
        .expect("task")
        .expect("acquire");
    drop(held);
}

/// Kept connections go back to the pool after `KEEP` unused, and all of them when it is
/// closing: closing (which waits for every connection) completes.
#[tokio::test]
async fn kept_connections_go_back_when_unused_and_when_the_pool_closes() {
    let db = TestDb::create().await;
    let pool = db.pool(4).await;
    let reuse = Arc::new(Reuse::new(pool.clone(), 2));
    let (a, b) = (reuse.acquire().await.expect("a"), reuse.acquire().await.expect("b"));
    a.finish();
    assert_eq!(reuse.sweep(), 0, "fresh: kept");
    tokio::time::sleep(KEEP + Duration::from_millis(50)).await;
    b.finish();
    assert_eq!(reuse.sweep(), 1, "the one unused for longer than KEEP");
    assert_eq!(reuse.kept(), 1);

    tokio::spawn(Reuse::sweep_while_alive(Arc::downgrade(&reuse)));
    tokio::time::timeout(KEEP * 4, pool.close())
        .await
        .expect("the pool closed with a connection kept");
    assert_eq!(reuse.kept(), 0);
}
