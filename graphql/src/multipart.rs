//! The GraphQL multipart request spec (`operations`, `map`, then the files) on the admin
//! API, for `mediaUpload`. The parts become a JSON request for `http::handle` plus the
//! files, which [`Uploads::attach`] puts into the request's variables.
//!
//! Only requests with `Authorization: Bearer …` are read. A multipart form is a "simple"
//! request a foreign web page may send without a CORS preflight, but it cannot add an
//! `Authorization` header, and we have no cookies: so no CSRF, with no need for Apollo's
//! `Apollo-Require-Preflight` header.

use std::{collections::HashMap, sync::Mutex};

use async_graphql::{Request as GqlRequest, UploadValue};
use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// Files in one request, at most.
pub const MAX_FILES: usize = 4;

/// The boundary of a `multipart/form-data` request; `None` for any other type.
pub fn boundary(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let m: mime::Mime = ct.parse().ok()?;
    (m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA)
        .then(|| m.get_param(mime::BOUNDARY).map(|b| b.as_str().to_owned()))
        .flatten()
}

/// The files of a multipart request, by variable path (`variables.file`).
#[derive(Default)]
pub struct Uploads(Mutex<Vec<(String, UploadValue)>>);

impl Uploads {
    /// Puts the files into `req`'s variables (each path once; a later call finds none).
    pub fn attach(&self, mut req: GqlRequest) -> GqlRequest {
        let files = self.0.lock().map(|mut f| std::mem::take(&mut *f)).unwrap_or_default();
        for (path, file) in files {
            req.set_upload(&path, file);
        }
        req
    }
}

/// A refused multipart request: 400 (or 413 past the size limit), a GraphQL error body.
/// The body-size limit of every route answers with it too (`body_limit`).
pub struct Refused {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refused {
    /// 413, `TOO_LARGE`.
    pub fn too_large(message: String) -> Refused {
        Refused {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "TOO_LARGE",
            message,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let body = json!({ "errors": [{ "message": self.message, "extensions": { "code": self.code } }] });
        (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body.to_string(),
        )
            .into_response()
    }
}

fn bad(message: impl Into<String>) -> Refused {
    Refused {
        status: StatusCode::BAD_REQUEST,
        code: "BAD_REQUEST",
        message: message.into(),
    }
}

/// Reads a multipart request into the `operations` JSON (one operation; batches are not
/// served) and its files. A file over `max_file` bytes is refused with 413 and
/// `TOO_LARGE`; so are more than [`MAX_FILES`].
pub async fn parse(body: Bytes, boundary: String, max_file: u64) -> Result<(Bytes, Uploads), Refused> {
    let constraints = multer::Constraints::new().size_limit(multer::SizeLimit::new().per_field(max_file));
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut form = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut operations = None;
    let mut map: Option<HashMap<String, Vec<String>>> = None;
    let mut files: HashMap<String, UploadValue> = HashMap::new();
    let refuse = |e: multer::Error| match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            Refused::too_large(format!("a file is larger than {max_file} bytes"))
        }
        other => bad(format!("malformed multipart body: {other}")),
    };
    while let Some(field) = form.next_field().await.map_err(refuse)? {
        match field.name() {
            Some("operations") => operations = Some(field.bytes().await.map_err(refuse)?),
            Some("map") => {
                let bytes = field.bytes().await.map_err(refuse)?;
                map = Some(serde_json::from_slice(&bytes).map_err(|_| bad("`map` must map names to paths"))?);
            }
            Some(name) => {
                if files.len() >= MAX_FILES {
                    return Err(Refused::too_large(format!("at most {MAX_FILES} files")));
                }
                let name = name.to_owned();
                let filename = field.file_name().unwrap_or("upload").to_owned();
                let content_type = field.content_type().map(ToString::to_string);
                let content = field.bytes().await.map_err(refuse)?;
                files.insert(
                    name,
                    UploadValue {
                        filename,
                        content_type,
                        content,
                    },
                );
            }
            None => return Err(bad("a part without a name")),
        }
    }
    let operations = operations.ok_or_else(|| bad("the `operations` part is missing"))?;
    if operations.first() == Some(&b'[') {
        return Err(bad("batched operations are not served"));
    }
    let map = map.ok_or_else(|| bad("the `map` part is missing"))?;
    let mut uploads = Vec::new();
    for (name, paths) in map {
        let file = files
            .get(&name)
            .ok_or_else(|| bad(format!("`map` names a file `{name}` that was not sent")))?;
        for path in paths {
            if !path.starts_with("variables.") {
                return Err(bad("`map` paths start with `variables.`"));
            }
            uploads.push((
                path,
                UploadValue {
                    filename: file.filename.clone(),
                    content_type: file.content_type.clone(),
                    content: file.content.clone(),
                },
            ));
        }
    }
    Ok((operations, Uploads(Mutex::new(uploads))))
}

/// Refuses a multipart request without a bearer token (see the module doc).
pub fn needs_bearer() -> Response {
    bad("multipart requests need Authorization: Bearer").into_response()
}
