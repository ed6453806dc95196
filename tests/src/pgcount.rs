//! A PostgreSQL wire-protocol proxy that counts the statements a client runs: every
//! `Execute` (extended protocol) and `Query` (simple protocol) message. Counting on the
//! wire needs no help from the code under test, so "at most N statements" is measured,
//! not trusted.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream, UnixStream},
};

/// A running counting proxy.
#[derive(Clone)]
pub struct StatementCounter {
    count: Arc<AtomicU64>,
    port: u16,
}

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

impl StatementCounter {
    /// Starts a proxy in front of the server `upstream` points at.
    pub async fn start(upstream: &PgConnectOptions) -> StatementCounter {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let count = Arc::new(AtomicU64::new(0));
        let target = Target::of(upstream);
        let c = count.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (c, target) = (c.clone(), target.clone());
                tokio::spawn(async move {
                    let _ = match target {
                        Target::Tcp(host, port) => match TcpStream::connect((host.as_str(), port)).await {
                            Ok(server) => relay(client, server, c).await,
                            Err(e) => Err(e),
                        },
                        Target::Unix(path) => match UnixStream::connect(path).await {
                            Ok(server) => relay(client, server, c).await,
                            Err(e) => Err(e),
                        },
                    };
                });
            }
        });
        StatementCounter { count, port }
    }

    /// Options that reach the same database and user through the proxy.
    pub fn client_options(&self, upstream: &PgConnectOptions) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username(upstream.get_username())
            .database(upstream.get_database().unwrap_or("postgres"))
            .ssl_mode(PgSslMode::Disable)
    }

    /// Statements seen so far.
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
enum Target {
    Tcp(String, u16),
    Unix(std::path::PathBuf),
}

impl Target {
    fn of(o: &PgConnectOptions) -> Target {
        match o.get_socket() {
            Some(dir) => Target::Unix(dir.join(format!(".s.PGSQL.{}", o.get_port()))),
            None => Target::Tcp(o.get_host().to_owned(), o.get_port()),
        }
    }
}

async fn read_startup(client: &mut TcpStream) -> std::io::Result<(u32, Vec<u8>)> {
    loop {
        let len = client.read_u32().await?;
        let mut body = vec![0; (len as usize).saturating_sub(4)];
        client.read_exact(&mut body).await?;
        let code = body.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if code == Some(SSL_REQUEST) || code == Some(GSSENC_REQUEST) {
            // No encryption: the rest of the conversation must stay readable.
            client.write_u8(b'N').await?;
            continue;
        }
        return Ok((len, body));
    }
}

async fn relay<S>(mut client: TcpStream, server: S, count: Arc<AtomicU64>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (len, startup) = read_startup(&mut client).await?;
    let (mut server_r, mut server_w) = tokio::io::split(server);
    server_w.write_u32(len).await?;
    server_w.write_all(&startup).await?;
    let (mut client_r, mut client_w) = client.split();
    let upstream = async {
        loop {
            let tag = client_r.read_u8().await?;
            let len = client_r.read_u32().await?;
            let mut body = vec![0; (len as usize).saturating_sub(4)];
            client_r.read_exact(&mut body).await?;
            if std::env::var_os("PGCOUNT_DEBUG").is_some() && (tag == b'P' || tag == b'Q' || tag == b'E' || tag == b'B')
            {
                eprintln!(
                    "pgcount {} {}",
                    tag as char,
                    String::from_utf8_lossy(&body).chars().take(90).collect::<String>()
                );
            }
            if tag == b'E' || tag == b'Q' {
                count.fetch_add(1, Ordering::SeqCst);
            }
            server_w.write_u8(tag).await?;
            server_w.write_u32(len).await?;
            server_w.write_all(&body).await?;
            if tag == b'X' {
                return Ok::<(), std::io::Error>(());
            }
        }
    };
    let downstream = async {
        tokio::io::copy(&mut server_r, &mut client_w).await?;
        Ok::<(), std::io::Error>(())
    };
    tokio::select! {
        r = upstream => r,
        r = downstream => r,
    }
}
