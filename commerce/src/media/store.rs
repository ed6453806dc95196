//! Where media files live: a folder on local disk (`media.dir`, the default) or an S3
//! bucket (`media.s3.bucket`, any S3-compatible store with `media.s3.endpoint`).

use std::{path::PathBuf, pin::Pin};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;

use super::{MediaSettings, S3Settings, Storage};
use crate::Error;

/// A stored file as the `/media/…` route streams it.
pub struct Object {
    /// Its MIME type (from the key's extension: we wrote it).
    pub content_type: &'static str,
    /// Its length, when known.
    pub len: Option<u64>,
    /// The bytes.
    pub body: Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
}

enum Backend {
    Local(PathBuf),
    S3 {
        settings: S3Settings,
        bucket: String,
        // Built on first use: the credential chain is async.
        client: OnceCell<aws_sdk_s3::Client>,
    },
}

/// The configured store.
pub struct Store {
    backend: Backend,
}

fn fault(what: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Fault {
        what,
        reason: e.to_string(),
    }
}

impl Store {
    /// The store `settings` name: S3 when `media.s3.bucket` is set, else the folder.
    pub fn new(settings: &MediaSettings) -> Store {
        let backend = match settings.s3.bucket.as_deref().filter(|b| !b.is_empty()) {
            Some(bucket) => Backend::S3 {
                settings: settings.s3.clone(),
                bucket: bucket.to_owned(),
                client: OnceCell::new(),
            },
            None => Backend::Local(settings.dir.clone()),
        };
        Store { backend }
    }

    /// Which kind of store this is.
    pub fn storage(&self) -> Storage {
        match self.backend {
            Backend::Local(_) => Storage::Local,
            Backend::S3 { .. } => Storage::S3,
        }
    }

    async fn s3(&self) -> Result<(&aws_sdk_s3::Client, &str), Error> {
        let Backend::S3 {
            settings,
            bucket,
            client,
        } = &self.backend
        else {
            return Err(fault("media.s3", "not an S3 store"));
        };
        let c = client.get_or_init(|| s3_client(settings)).await;
        Ok((c, bucket))
    }

    /// Writes one file. Errors: `INTERNAL` (disk or S3).
    pub async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), Error> {
        match &self.backend {
            Backend::Local(dir) => {
                let path = dir.join(key);
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| fault("media.dir", e))?;
                }
                // Written aside and renamed: a reader never sees half a file.
                let tmp = path.with_extension("part");
                tokio::fs::write(&tmp, bytes).await.map_err(|e| fault("media.dir", e))?;
                tokio::fs::rename(&tmp, &path).await.map_err(|e| fault("media.dir", e))
            }
            Backend::S3 { .. } => {
                let (client, bucket) = self.s3().await?;
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type(content_type)
                    .cache_control("public, max-age=31536000, immutable")
                    .body(bytes.into())
                    .send()
                    .await
                    .map_err(|e| fault("media.s3.put", aws_sdk_s3::error::DisplayErrorContext(e)))?;
                Ok(())
            }
        }
    }

    /// Opens one file; `None` when there is none. Errors: `INTERNAL`.
    pub async fn get(&self, key: &str) -> Result<Option<Object>, Error> {
        let Some(content_type) = key
            .rsplit_once('.')
            .and_then(|(_, ext)| super::pipeline::Kind::from_ext(ext))
            .map(super::pipeline::Kind::content_type)
        else {
            return Ok(None);
        };
        match &self.backend {
            Backend::Local(dir) => {
                let file = match tokio::fs::File::open(dir.join(key)).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(fault("media.dir", e)),
                };
                let len = file.metadata().await.ok().map(|m| m.len());
                Ok(Some(Object {
                    content_type,
                    len,
                    body: Box::pin(tokio_util::io::ReaderStream::new(file)),
                }))
            }
            Backend::S3 { .. } => {
                let (client, bucket) = self.s3().await?;
                match client.get_object().bucket(bucket).key(key).send().await {
                    Ok(out) => {
                        let len = out.content_length().and_then(|l| u64::try_from(l).ok());
                        let body = futures::stream::unfold(out.body, |mut b| async move {
                            match b.next().await {
                                Some(Ok(chunk)) => Some((Ok(chunk), b)),
                                Some(Err(e)) => Some((Err(std::io::Error::other(e)), b)),
                                None => None,
                            }
                        });
                        Ok(Some(Object {
                            content_type,
                            len,
                            body: body.boxed(),
                        }))
                    }
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(fault("media.s3.get", aws_sdk_s3::error::DisplayErrorContext(e))),
                }
            }
        }
    }

    /// Removes files; a missing one is no error. Errors: `INTERNAL`.
    pub async fn delete(&self, keys: &[String]) -> Result<(), Error> {
        for key in keys {
            match &self.backend {
                Backend::Local(dir) => match tokio::fs::remove_file(dir.join(key)).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(fault("media.dir", e)),
                },
                Backend::S3 { .. } => {
                    let (client, bucket) = self.s3().await?;
                    client
                        .delete_object()
                        .bucket(bucket)
                        .key(key)
                        .send()
                        .await
                        .map_err(|e| fault("media.s3.delete", aws_sdk_s3::error::DisplayErrorContext(e)))?;
                }
            }
        }
        if let (Backend::Local(dir), Some((folder, _))) = (&self.backend, keys.first().and_then(|k| k.split_once('/')))
        {
            // Empty now; another file in it (never, by the key grammar) keeps it.
            let _ = tokio::fs::remove_dir(dir.join(folder)).await;
        }
        Ok(())
    }
}

/// The S3 client: hyper 1 with rustls on ring (the process's one provider, DESIGN §9),
/// credentials from settings or else the usual AWS chain (environment, profile, IMDS…).
async fn s3_client(s: &S3Settings) -> aws_sdk_s3::Client {
    use aws_config::BehaviorVersion;
    use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    // Not aws-config's default region chain: it builds its own IMDS client without ours.
    let region = s
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new(region));
    if let (Some(id), Some(secret)) = (&s.access_key_id, &s.secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            id.clone(),
            secret.expose_secret().to_owned(),
            None,
            None,
            "jangteo-settings",
        ));
    }
    let shared = loader.load().await;
    let mut conf = aws_sdk_s3::config::Builder::from(&shared);
    if let Some(endpoint) = s.endpoint.as_deref().filter(|e| !e.is_empty()) {
        // S3-compatible stores (MinIO, R2, s3s…) want bucket-in-path addressing, and many
        // don't take the newer default checksums in aws-chunked trailers.
        conf = conf
            .endpoint_url(endpoint)
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    }
    aws_sdk_s3::Client::from_conf(conf.build())
}
