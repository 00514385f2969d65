//! An S3 server for the tests: s3s-fs 0.14.1 (an implementation of the S3 protocol that keeps
//! objects as files and verifies SigV4 signatures and checksums), started in-process on
//! 127.0.0.1:0, one per test. A thin layer in front of it records every request (operation,
//! key, the headers sitegen sets) and can make chosen requests fail, to test retries and
//! half-finished publishes. The S3 behaviour itself is s3s-fs's, not ours.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};

pub const ACCESS_KEY: &str = "AKIASITEGENTEST00001";
pub const SECRET_KEY: &str = "sitegen/test/secret/key/0000000000000000";
pub const BUCKET: &str = "site";

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Req {
    /// The S3 operation (`PutObject`, `ListObjectsV2`, `DeleteObjects`, ...).
    pub op: &'static str,
    /// The object key (empty for bucket-level operations).
    pub key: String,
    /// `content-type`, `cache-control`, `content-encoding`, `x-amz-website-redirect-location`
    /// and `x-amz-meta-*`, when sent.
    pub headers: BTreeMap<String, String>,
}

struct Fault {
    op: &'static str,
    key: String,
    status: u16,
    /// How many more requests fail; `None` for all of them.
    remaining: Option<usize>,
    /// How many matching requests still pass before the failures start.
    after: usize,
}

#[derive(Clone)]
struct Layer {
    inner: S3Service,
    log: Arc<Mutex<Vec<Req>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
}

fn classify(method: &http::Method, query: &str) -> &'static str {
    let has = |q: &str| query.split('&').any(|p| p == q || p.starts_with(&format!("{q}=")));
    match method.as_str() {
        "GET" if has("list-type") => "ListObjectsV2",
        "GET" => "GetObject",
        "HEAD" => "HeadObject",
        "PUT" if has("partNumber") => "UploadPart",
        "PUT" => "PutObject",
        "POST" if has("uploads") => "CreateMultipartUpload",
        "POST" if has("uploadId") => "CompleteMultipartUpload",
        "POST" if has("delete") => "DeleteObjects",
        "DELETE" if has("uploadId") => "AbortMultipartUpload",
        "DELETE" => "DeleteObject",
        _ => "Other",
    }
}

fn error_response(status: u16) -> s3s::HttpResponse {
    let code = match status {
        403 => "AccessDenied",
        503 => "SlowDown",
        _ => "InternalError",
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test</Message></Error>"
    );
    http::Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(s3s::Body::from(body))
        .expect("a valid response")
}

impl hyper::service::Service<http::Request<Incoming>> for Layer {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let query = req.uri().query().unwrap_or("").to_string();
        let op = classify(req.method(), &query);
        let path = req.uri().path();
        let key = path
            .trim_start_matches('/')
            .split_once('/')
            .map(|(_, k)| sitegen::paths::percent_decode(k))
            .unwrap_or_default();
        let headers = req
            .headers()
            .iter()
            .filter(|(n, _)| {
                let n = n.as_str();
                matches!(
                    n,
                    "content-type" | "cache-control" | "content-encoding" | "x-amz-website-redirect-location"
                ) || n.starts_with("x-amz-meta-")
            })
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        self.log.lock().unwrap().push(Req {
            op,
            key: key.clone(),
            headers,
        });
        let mut faults = self.faults.lock().unwrap();
        let hit = faults
            .iter_mut()
            .find(|f| f.op == op && (f.key == key || f.key == "*") && f.remaining != Some(0));
        let hit = match hit {
            Some(f) if f.after > 0 => {
                f.after -= 1;
                None
            }
            other => other,
        };
        if let Some(f) = hit {
            if let Some(n) = &mut f.remaining {
                *n -= 1;
            }
            let status = f.status;
            return Box::pin(async move { Ok(error_response(status)) });
        }
        drop(faults);
        let inner = self.inner.clone();
        Box::pin(async move { hyper::service::Service::call(&inner, req).await })
    }
}

pub struct S3Server {
    pub endpoint: String,
    root: PathBuf,
    _temp: Option<tempfile::TempDir>,
    log: Arc<Mutex<Vec<Req>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl S3Server {
    /// A new server with an empty bucket `site`, in a temp dir, on a free port.
    pub fn start() -> S3Server {
        let temp = tempfile::tempdir().unwrap();
        let mut s = S3Server::start_in(temp.path().to_path_buf(), 0);
        s._temp = Some(temp);
        s
    }

    /// A server storing its buckets in `root` (bucket `site` is created if missing).
    pub fn start_in(root: PathBuf, port: u16) -> S3Server {
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fs = s3s_fs::FileSystem::new(&root).unwrap();
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let layer = Layer {
            inner: b.build(),
            log: Arc::default(),
            faults: Arc::default(),
        };
        let (log, faults) = (layer.log.clone(), layer.faults.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let layer = layer.clone();
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), layer)
                        .await;
                });
            }
        });
        S3Server {
            endpoint,
            root,
            _temp: None,
            log,
            faults,
            runtime: Some(runtime),
        }
    }

    /// Every request since the start (or the last [`S3Server::clear_log`]).
    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }

    /// The requests since the last drain, removing them from the log.
    #[allow(dead_code)] // for `examples/s3_server.rs`, which includes this file
    pub fn drain(&self) -> Vec<Req> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Requests per operation, e.g. `{"ListObjectsV2": 1, "GetObject": 1}`.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for r in self.requests() {
            *m.entry(r.op).or_default() += 1;
        }
        m
    }

    /// Requests that write or delete.
    pub fn writes(&self) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| !matches!(r.op, "ListObjectsV2" | "GetObject" | "HeadObject"))
            .collect()
    }

    /// Makes `op` on `key` fail with `status`, `times` times (or always).
    pub fn fail(&self, op: &'static str, key: &str, status: u16, times: Option<usize>) {
        self.faults.lock().unwrap().push(Fault {
            op,
            key: key.to_string(),
            status,
            remaining: times,
            after: 0,
        });
    }

    /// Lets the first `after` requests of `op` (any key) through, then fails every one.
    pub fn fail_after(&self, op: &'static str, after: usize, status: u16) {
        self.faults.lock().unwrap().push(Fault {
            op,
            key: "*".to_string(),
            status,
            remaining: None,
            after,
        });
    }

    pub fn heal(&self) {
        self.faults.lock().unwrap().clear();
    }

    fn bucket_dir(&self) -> PathBuf {
        self.root.join(BUCKET)
    }

    /// The bucket's objects: key → bytes.
    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        let dir = self.bucket_dir();
        walkdir::WalkDir::new(&dir)
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let key = e.path().strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
                (key, std::fs::read(e.path()).unwrap())
            })
            .collect()
    }

    /// Puts an object directly into the store, as another tool would (no sitegen record).
    pub fn put_behind_our_back(&self, key: &str, bytes: &[u8]) {
        let p = self.bucket_dir().join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
