//! A round-robin TCP load balancer for tests of rolling deploys, behaving like a cloud load
//! balancer or kube-proxy in front of `serve` replicas: it health-checks every backend's
//! `/readyz` every 100 ms, sends each new client connection to the next ready backend, tries
//! the next one when a connect is refused (nothing was sent yet, so that is safe), and
//! forwards bytes both ways until either side closes. A connection stays with its backend
//! for its life, as it does through a real balancer.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::net::{TcpListener, TcpStream};

/// One backend and what the health checks saw of it.
#[derive(Debug)]
pub struct Backend {
    /// `host:port`.
    pub addr: SocketAddr,
    /// The last `/readyz` answered 200.
    ready: AtomicBool,
    /// A `/readyz` answered 503 (draining) at some point.
    saw_draining: AtomicBool,
    /// Client connections sent to it.
    connections: AtomicUsize,
}

impl Backend {
    /// Whether the last health check passed.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Whether a health check was ever answered 503 (a replica draining, not one gone).
    pub fn saw_draining(&self) -> bool {
        self.saw_draining.load(Ordering::SeqCst)
    }

    /// How many client connections went to it.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// The balancer; stops when dropped.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    backends: Arc<Mutex<Vec<Arc<Backend>>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Proxy {
    /// Listens on a free loopback port, with no backends yet.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let backends: Arc<Mutex<Vec<Arc<Backend>>>> = Arc::default();
        let health = tokio::spawn(check_health(backends.clone()));
        let accept = tokio::spawn(accept(listener, backends.clone()));
        Proxy {
            addr,
            backends,
            tasks: vec![health, accept],
        }
    }

    /// Adds a backend (not ready until its first health check passes) and returns it.
    pub fn add(&self, base_url: &str) -> Arc<Backend> {
        let addr = base_url.trim_start_matches("http://").parse().expect("backend address");
        let backend = Arc::new(Backend {
            addr,
            ready: AtomicBool::new(false),
            saw_draining: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
        });
        self.backends.lock().expect("backends").push(backend.clone());
        backend
    }

    /// Takes a backend out of the pool (its process is gone).
    pub fn remove(&self, backend: &Arc<Backend>) {
        self.backends
            .lock()
            .expect("backends")
            .retain(|b| !Arc::ptr_eq(b, backend));
    }

    /// Waits until `backend` passed a health check.
    ///
    /// # Panics
    /// After 30 s.
    pub async fn wait_ready(&self, backend: &Backend) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !backend.is_ready() {
            assert!(
                std::time::Instant::now() < deadline,
                "{} never became ready",
                backend.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn check_health(backends: Arc<Mutex<Vec<Arc<Backend>>>>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    loop {
        let all = backends.lock().expect("backends").clone();
        for b in all {
            let status = client
                .get(format!("http://{}/readyz", b.addr))
                .send()
                .await
                .map(|r| r.status());
            let ok = matches!(status, Ok(s) if s.is_success());
            if matches!(status, Ok(reqwest::StatusCode::SERVICE_UNAVAILABLE)) {
                b.saw_draining.store(true, Ordering::SeqCst);
            }
            b.ready.store(ok, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn accept(listener: TcpListener, backends: Arc<Mutex<Vec<Arc<Backend>>>>) {
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let (backends, next) = (backends.clone(), next.clone());
        tokio::spawn(async move {
            let ready: Vec<Arc<Backend>> = backends
                .lock()
                .expect("backends")
                .iter()
                .filter(|b| b.is_ready())
                .cloned()
                .collect();
            if ready.is_empty() {
                return; // the client sees its connection closed: a failure the test counts
            }
            let start = next.fetch_add(1, Ordering::Relaxed);
            for i in 0..ready.len() {
                let b = &ready[(start + i) % ready.len()];
                if let Ok(mut upstream) = TcpStream::connect(b.addr).await {
                    b.connections.fetch_add(1, Ordering::SeqCst);
                    let _ = upstream.set_nodelay(true);
                    let mut client = client;
                    let _ = client.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    return;
                }
            }
        });
    }
}
