//! In-memory [`Poster`], [`Threads`] and [`Clock`] for tests (and for trying the relay without
//! Slack): they record what the relay did and let a test set the time.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use chrono::{DateTime, TimeDelta, Utc};

use super::{Clock, MessageUpdate, PostError, PostMessage, Poster, SlackThread, Threads, ThreadsError};

/// A message the relay posted, with the `ts` it was given.
#[derive(Clone, Debug, PartialEq)]
pub struct Posted {
    /// The message's `ts` (ids like Slack's, counting up).
    pub ts: String,
    /// What was posted.
    pub message: PostMessage,
}

/// Records posts and updates; every post gets a fresh `ts`.
#[derive(Clone, Default)]
pub struct MemoryPoster {
    log: Arc<Mutex<Log>>,
}

#[derive(Default)]
struct Log {
    posts: Vec<Posted>,
    updates: Vec<MessageUpdate>,
}

impl MemoryPoster {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The posts so far, oldest first.
    pub fn posts(&self) -> Vec<Posted> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).posts.clone()
    }

    /// The updates so far, oldest first.
    pub fn updates(&self) -> Vec<MessageUpdate> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).updates.clone()
    }
}

impl Poster for MemoryPoster {
    async fn post(&self, message: PostMessage) -> Result<String, PostError> {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let ts = format!("1767225600.{:06}", log.posts.len() + 1);
        log.posts.push(Posted {
            ts: ts.clone(),
            message,
        });
        Ok(ts)
    }

    async fn update(&self, update: MessageUpdate) -> Result<(), PostError> {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        if !log
            .posts
            .iter()
            .any(|p| p.ts == update.ts && p.message.channel == update.channel)
        {
            return Err(PostError::Slack("message_not_found".to_owned()));
        }
        log.updates.push(update);
        Ok(())
    }
}

/// Keys → threads; the first save of a key wins, like `botThreadSave`.
#[derive(Clone, Default)]
pub struct MemoryThreads {
    map: Arc<Mutex<HashMap<String, SlackThread>>>,
}

impl MemoryThreads {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Threads for MemoryThreads {
    async fn get(&self, key: &str) -> Result<Option<SlackThread>, ThreadsError> {
        Ok(self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned())
    }

    async fn save(&self, key: &str, thread: SlackThread) -> Result<SlackThread, ThreadsError> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map.entry(key.to_owned()).or_insert(thread).clone())
    }
}

/// A clock that moves only when told to.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock standing at `at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(at)),
        }
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: TimeDelta) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
