//! Pool connections kept from one short read to the next, without sqlx's ping.
//!
//! sqlx pings every connection it takes back into the pool (a `Sync` and its answer: a
//! second round trip for every request, about a twentieth of what a storefront listing costs
//! PostgreSQL and the service together). A read that ran to its end leaves its connection
//! idle and ready, so the next read may use it as it is. The rest is the pool's job:
//! - a read that failed, or was cancelled mid-statement, hands its connection back through
//!   the pool, whose ping flushes or closes it;
//! - at most `max` are kept, and none while the pool has no idle connection (other work may
//!   be waiting for one, and it gets this one);
//! - one kept longer than [`KEEP`] goes back at the next [`Reuse::sweep`], all of them once
//!   the pool is closing (it waits for every connection).

use std::{
    ops::{Deref, DerefMut},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use sqlx::{PgConnection, PgPool, Postgres, pool::PoolConnection};

/// How long a kept connection may wait for the next read before it goes back to the pool.
pub const KEEP: Duration = Duration::from_millis(250);

/// Connections kept for short reads on one pool.
pub struct Reuse {
    pool: PgPool,
    kept: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
    max: usize,
}

/// A connection for one read: [`Reused::finish`] once the read ran to its end, or drop it.
pub struct Reused<'a> {
    conn: Option<PoolConnection<Postgres>>,
    home: &'a Reuse,
}

impl Reuse {
    /// Keeps at most `max` connections of `pool`.
    #[must_use]
    pub fn new(pool: PgPool, max: usize) -> Reuse {
        Reuse {
            pool,
            kept: Mutex::new(Vec::with_capacity(max)),
            max,
        }
    }

    /// The most recently kept connection, else one from the pool.
    ///
    /// # Errors
    /// The pool's: none free within its acquire timeout, or closed.
    pub async fn acquire(&self) -> Result<Reused<'_>, sqlx::Error> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match kept {
            Some((conn, _)) => conn,
            None => self.pool.acquire().await?,
        };
        Ok(Reused {
            conn: Some(conn),
            home: self,
        })
    }

    /// How many are kept now.
    pub fn kept(&self) -> usize {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Hands back to the pool those kept longer than [`KEEP`], and all of them once the
    /// pool is closing; returns how many.
    pub fn sweep(&self) -> usize {
        let closing = self.pool.is_closed();
        let stale: Vec<_> = {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            // Oldest first: the stack's bottom.
            let n = kept
                .iter()
                .take_while(|(_, since)| closing || since.elapsed() > KEEP)
                .count();
            kept.drain(..n).collect()
        };
        stale.len()
    }

    /// Sweeps every [`KEEP`] for as long as `this` is alive.
    pub async fn sweep_while_alive(this: std::sync::Weak<Reuse>) {
        let mut tick = tokio::time::interval(KEEP);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(reuse) = this.upgrade() else { return };
            reuse.sweep();
        }
    }

    /// Whether other work could be waiting for a connection: the pool is at its size and
    /// has none idle.
    fn pool_is_short(&self) -> bool {
        self.pool.num_idle() == 0 && self.pool.size() >= self.pool.options().get_max_connections()
    }
}

impl Reused<'_> {
    /// The read ran to its end (every statement's rows were read): the connection is kept
    /// for the next read, or goes back to the pool.
    pub fn finish(mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let home = self.home;
        if home.pool_is_short() || home.pool.is_closed() {
            return;
        }
        let mut kept = home.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < home.max {
            kept.push((conn, Instant::now()));
        }
        // Else dropped (after the lock): back to the pool.
    }
}

impl Deref for Reused<'_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        // Taken only by `finish`, which consumes it.
        self.conn.as_ref().expect("a connection until finished")
    }
}

impl DerefMut for Reused<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("a connection until finished")
    }
}
