//! A real S3-compatible server for the media tests: s3s-fs over a temp folder on
//! `127.0.0.1:0`, signed requests checked against one fixed key pair.

use std::path::Path;

use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use s3s::{auth::SimpleAuth, service::S3ServiceBuilder};
use tokio::task::JoinHandle;

/// The access key id the server accepts.
pub const ACCESS_KEY: &str = "JANGTEOTESTACCESS";
/// The secret key the server accepts.
pub const SECRET_KEY: &str = "jangteo-test-secret-key-0123456789";

/// A running S3 server; stops on drop.
pub struct S3Server {
    /// `http://127.0.0.1:port`
    pub endpoint: String,
    task: JoinHandle<()>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl S3Server {
    /// Serves `root` (each folder a bucket), with `bucket` made.
    pub async fn start(root: &Path, bucket: &str) -> S3Server {
        std::fs::create_dir_all(root.join(bucket)).expect("bucket folder");
        let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        S3Server { endpoint, task }
    }
}
