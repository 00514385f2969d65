//! An S3 server for the tests: s3s-fs 0.14.1 (an implementation of the S3 protocol that keeps
//! objects as files and verifies SigV4 signatures and checksums), started in-process on
//! 127.0.0.1:0, one per test. The S3 behaviour is s3s-fs's, not ours, with two exceptions
//! that [`Conditions`] controls: conditional PUTs (`If-None-Match`, `If-Match`, which s3s-fs
//! 0.14.1 evaluates itself) are made atomic, as on S3 (s3s-fs checks, then writes; two
//! conditional writers could both pass the check), and a test can make the server ignore the
//! conditions or answer 501 to them, as some S3-compatible servers do.
//!
//! A thin layer in front records every request (operation, key, the headers sitegen sets,
//! the status answered) and injects faults: HTTP errors on chosen operations and keys
//! ([`S3Server::fail`]), or by request number ([`S3Server::inject`]) 500s, 503 SlowDown,
//! connections closed without an answer (before or after the request is carried out), cut
//! in the middle of the request's or the answer's body, slow answers, and a request held
//! until the test has killed the client ([`Fault::Hold`]).
//!
//! For the publish benchmark (`examples/s3_server.rs`), the layer can also add a latency to
//! every answer ([`S3Server::set_latency`], as a distant S3 region would), and the store can
//! answer ListObjectsV2 from one walk of the bucket's folder ([`S3Server::set_fast_list`]),
//! with s3s-fs's answers (a test checks that) but without its cost per file.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Request, S3Response, S3Result, S3};

pub const ACCESS_KEY: &str = "AKIASITEGENTEST00001";
pub const SECRET_KEY: &str = "sitegen/test/secret/key/0000000000000000";
pub const BUCKET: &str = "site";

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Req {
    /// Its number since the server started (or since [`S3Server::reset_count`]).
    pub n: usize,
    /// The S3 operation (`PutObject`, `ListObjectsV2`, `DeleteObjects`, ...).
    pub op: &'static str,
    /// The object key (empty for bucket-level operations).
    pub key: String,
    /// `content-type`, `cache-control`, `content-encoding`, `x-amz-website-redirect-location`,
    /// `if-match`, `if-none-match` and `x-amz-meta-*`, when sent.
    pub headers: BTreeMap<String, String>,
    /// The HTTP status answered; `None` while unanswered, or when no answer was sent.
    pub status: Option<u16>,
}

/// What the server does with conditional PUTs (`If-None-Match: *`, `If-Match: ETAG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditions {
    /// Evaluates them (s3s-fs), one conditional write at a time, as S3 does.
    Honour,
    /// Writes as if they were not there.
    Ignore,
    /// Answers 501 NotImplemented.
    NotImplemented,
}

/// A fault injected by request number ([`S3Server::inject`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An error answer with this status (500 InternalError, 503 SlowDown, ...), the request
    /// not carried out.
    Status(u16),
    /// The connection closed without an answer, the request not carried out.
    Drop,
    /// The request carried out, then the connection closed without an answer.
    DropAfter,
    /// Half of the request's body read, then the connection closed.
    CutRequest,
    /// The request carried out, then half of the answer's body sent and the connection
    /// closed (for an answer without a body, the same as [`Fault::DropAfter`]).
    CutResponse,
    /// The answer sent after this delay, its body in four slow pieces.
    Slow(Duration),
    /// The request held, unanswered, until [`S3Server::release`]; then the connection closes.
    Hold,
}

impl Fault {
    pub fn kind(self) -> &'static str {
        match self {
            Fault::Status(500) => "HTTP 500",
            Fault::Status(503) => "HTTP 503 SlowDown",
            Fault::Status(_) => "HTTP error",
            Fault::Drop => "connection closed before the request",
            Fault::DropAfter => "connection closed after the request",
            Fault::CutRequest => "request body cut",
            Fault::CutResponse => "answer body cut",
            Fault::Slow(_) => "slow answer",
            Fault::Hold => "held (client killed)",
        }
    }
}

struct Failure {
    op: &'static str,
    key: String,
    fault: Fault,
    /// How many more requests fail; `None` for all of them.
    remaining: Option<usize>,
    /// How many matching requests still pass before the failures start.
    after: usize,
}

/// A fault for the requests numbered `from..from + count`.
struct Injected {
    from: usize,
    count: usize,
    fault: Fault,
}

/// The request a [`Fault::Hold`] keeps, and the test waiting for it.
#[derive(Default)]
struct Hold {
    reached: Mutex<bool>,
    cv: Condvar,
    released: tokio::sync::Notify,
}

/// s3s-fs, with conditional writes atomic (or ignored, or refused).
struct Store {
    fs: s3s_fs::FileSystem,
    conditions: Conditions,
    serial: tokio::sync::Mutex<()>,
    /// Where s3s-fs keeps the buckets, for [`fast_list`].
    root: PathBuf,
    fast_list: Arc<AtomicBool>,
    /// Writes behind the server's back so far: a walk kept for [`fast_list`] is good while
    /// this has not changed (the server's own writes and deletes update it).
    writes: Arc<AtomicU64>,
    /// The last walk, held while a walk runs, so that LISTs sent together wait for one.
    walked: tokio::sync::Mutex<Option<Walk>>,
}

macro_rules! store_impl {
    ($($name:ident: $input:ident => $output:ident),* $(,)?) => {
        #[async_trait::async_trait]
        impl S3 for Store {
            $(
                async fn $name(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.fs.$name(req).await
                }
            )*

            async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
                if !self.fast_list.load(Ordering::SeqCst) || req.input.delimiter.is_some() {
                    return self.fs.list_objects_v2(req).await;
                }
                let mut walked = self.walked.lock().await;
                let writes = self.writes.load(Ordering::SeqCst);
                let all = match walked.clone() {
                    Some((at, bucket, all)) if at == writes && bucket == req.input.bucket => all,
                    _ => {
                        let dir = self.root.join(&req.input.bucket);
                        if !dir.is_dir() {
                            return Err(s3s::s3_error!(NoSuchBucket));
                        }
                        let all = tokio::task::spawn_blocking(move || walk(&dir))
                            .await
                            .map_err(|e| s3s::s3_error!(InternalError, "{e}"))??;
                        let all = Arc::new(all);
                        *walked = Some((writes, req.input.bucket.clone(), all.clone()));
                        all
                    }
                };
                drop(walked);
                Ok(S3Response::new(fast_list(&all, req.input)))
            }

            async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
                let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
                let put = self.put(req).await;
                self.noted(&bucket, &[&key]).await;
                put
            }

            async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
                let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
                let copied = self.fs.copy_object(req).await;
                self.noted(&bucket, &[&key]).await;
                copied
            }

            async fn complete_multipart_upload(
                &self,
                req: S3Request<CompleteMultipartUploadInput>,
            ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
                let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
                let done = self.fs.complete_multipart_upload(req).await;
                self.noted(&bucket, &[&key]).await;
                done
            }

            async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
                let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
                let deleted = self.fs.delete_object(req).await;
                self.noted(&bucket, &[&key]).await;
                deleted
            }

            async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
                let bucket = req.input.bucket.clone();
                let keys: Vec<String> = req.input.delete.objects.iter().map(|o| o.key.clone()).collect();
                let deleted = self.fs.delete_objects(req).await;
                self.noted(&bucket, &keys.iter().map(String::as_str).collect::<Vec<_>>()).await;
                deleted
            }
        }

        impl Store {
            /// s3s-fs's PutObject, with conditional writes as [`Store::conditions`] says.
            async fn put(&self, mut req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
                if req.input.if_match.is_none() && req.input.if_none_match.is_none() {
                    return self.fs.put_object(req).await;
                }
                match self.conditions {
                    Conditions::Honour => {
                        let _one_at_a_time = self.serial.lock().await;
                        self.fs.put_object(req).await
                    }
                    Conditions::Ignore => {
                        req.input.if_match = None;
                        req.input.if_none_match = None;
                        self.fs.put_object(req).await
                    }
                    Conditions::NotImplemented => Err(s3s::s3_error!(
                        NotImplemented,
                        "A header you provided implies functionality that is not implemented"
                    )),
                }
            }
        }
    };
}

impl Store {
    /// Brings the walk kept for [`fast_list`] up to date with `keys` of `bucket`, which a
    /// request may have written or deleted: each is looked at again on disk.
    async fn noted(&self, bucket: &str, keys: &[&str]) {
        let mut walked = self.walked.lock().await;
        let Some((_, walked_bucket, all)) = walked.as_mut() else {
            return;
        };
        if walked_bucket != bucket {
            return;
        }
        let all = Arc::make_mut(all);
        for key in keys {
            let meta = std::fs::metadata(self.root.join(bucket).join(key))
                .ok()
                .filter(|m| m.is_file());
            let at = all.binary_search_by(|o| o.key.as_str().cmp(key));
            match (meta, at) {
                (Some(meta), at) => {
                    let listed = Listed {
                        key: key.to_string(),
                        size: meta.len() as i64,
                        modified: meta.modified().ok().map(Timestamp::from),
                    };
                    match at {
                        Ok(i) => all[i] = listed,
                        Err(i) => all.insert(i, listed),
                    }
                }
                (None, Ok(i)) => {
                    all.remove(i);
                }
                (None, Err(_)) => {}
            }
        }
    }
}

store_impl! {
    create_bucket: CreateBucketInput => CreateBucketOutput,
    delete_bucket: DeleteBucketInput => DeleteBucketOutput,
    get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput,
    get_object: GetObjectInput => GetObjectOutput,
    head_bucket: HeadBucketInput => HeadBucketOutput,
    head_object: HeadObjectInput => HeadObjectOutput,
    list_buckets: ListBucketsInput => ListBucketsOutput,
    list_objects: ListObjectsInput => ListObjectsOutput,
    create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput,
    upload_part: UploadPartInput => UploadPartOutput,
    upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput,
    list_parts: ListPartsInput => ListPartsOutput,
    abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput,
}

/// A walk of a bucket for [`fast_list`]: the write count it was made at, the bucket, its
/// objects.
type Walk = (u64, String, Arc<Vec<Listed>>);

/// One object of the bucket as [`fast_list`] keeps it.
#[derive(Clone)]
struct Listed {
    key: String,
    size: i64,
    modified: Option<Timestamp>,
}

/// The bucket's objects, sorted by key, from one blocking walk of its folder.
fn walk(dir: &std::path::Path) -> S3Result<Vec<Listed>> {
    let mut all = Vec::new();
    for e in walkdir::WalkDir::new(dir).min_depth(1) {
        let e = e.map_err(|e| s3s::s3_error!(InternalError, "{e}"))?;
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e.path().strip_prefix(dir).expect("under the bucket");
        let Some(parts) = rel
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect::<Option<Vec<&str>>>()
        else {
            continue;
        };
        let meta = e.metadata().map_err(|e| s3s::s3_error!(InternalError, "{e}"))?;
        all.push(Listed {
            key: parts.join("/"),
            size: meta.len() as i64,
            modified: meta.modified().ok().map(Timestamp::from),
        });
    }
    all.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(all)
}

/// ListObjectsV2 without a delimiter over `all` (sorted), as s3s-fs 0.14.1 answers it: keys
/// under the prefix after the later of `StartAfter` and the continuation token, `max-keys`
/// at a time, the last key as the next token. s3s-fs itself walks the bucket's folder for
/// every page, with a blocking-pool round trip per file: about a second per page at 10,000
/// objects on this machine, far slower than S3, so a benchmark of round trips would measure
/// that walk instead. [`Store`] keeps one walk, brought up to date by its own writes and
/// deletes ([`Store::noted`]) and made again after a write behind its back.
fn fast_list(all: &[Listed], input: ListObjectsV2Input) -> ListObjectsV2Output {
    let prefix = input.prefix.as_deref().unwrap_or("").trim_start_matches('/');
    let after = match (input.continuation_token.as_deref(), input.start_after.as_deref()) {
        (Some(ct), Some(sa)) => Some(ct.max(sa)),
        (ct, sa) => ct.or(sa),
    };
    let max_keys = input.max_keys.unwrap_or(1000);
    let take = usize::try_from(max_keys).unwrap_or(1000);
    let from = all
        .partition_point(|o| o.key.as_str() < prefix)
        .max(after.map_or(0, |a| all.partition_point(|o| o.key.as_str() <= a)));
    let mut matching = all[from..].iter().take_while(|o| o.key.starts_with(prefix));
    let objects: Vec<Object> = matching
        .by_ref()
        .take(take)
        .map(|o| Object {
            key: Some(o.key.clone()),
            last_modified: o.modified.clone(),
            size: Some(o.size),
            ..Default::default()
        })
        .collect();
    let is_truncated = take > 0 && matching.next().is_some();
    let next_continuation_token = if is_truncated {
        objects.last().and_then(|o| o.key.clone())
    } else {
        None
    };
    ListObjectsV2Output {
        key_count: Some(objects.len() as i32),
        max_keys: Some(max_keys),
        is_truncated: Some(is_truncated),
        contents: (!objects.is_empty()).then_some(objects),
        continuation_token: input.continuation_token,
        next_continuation_token,
        encoding_type: input.encoding_type,
        name: Some(input.bucket),
        prefix: input.prefix,
        start_after: input.start_after,
        ..Default::default()
    }
}

#[derive(Clone)]
struct Layer {
    inner: S3Service,
    log: Arc<Mutex<Vec<Req>>>,
    failures: Arc<Mutex<Vec<Failure>>>,
    injected: Arc<Mutex<Vec<Injected>>>,
    /// Faults that fired, by kind.
    fired: Arc<Mutex<BTreeMap<&'static str, usize>>>,
    count: Arc<AtomicUsize>,
    hold: Arc<Hold>,
    /// Microseconds every answer waits before it is sent.
    latency: Arc<AtomicU64>,
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
        404 => "NoSuchKey",
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

fn closed(why: &str) -> s3s::HttpError {
    s3s::HttpError::new(Box::new(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        format!("closed by the test: {why}"),
    )))
}

/// An answer's body in pieces, each after a delay, optionally ending in an error (which makes
/// hyper close the connection mid-body).
struct Pieces {
    pieces: VecDeque<Bytes>,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    fail_at_end: bool,
}

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if !self.delay.is_zero() {
            let delay = self.delay;
            let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        match self.pieces.pop_front() {
            Some(p) => Poll::Ready(Some(Ok(http_body::Frame::data(p)))),
            None if self.fail_at_end => {
                self.fail_at_end = false;
                Poll::Ready(Some(Err(std::io::Error::other("answer cut by the test"))))
            }
            None => Poll::Ready(None),
        }
    }
}

/// Sends `resp`'s body as `pieces` (after `delay` each), cut short when `cut`.
async fn reshape(resp: s3s::HttpResponse, pieces: usize, delay: Duration, cut: bool) -> s3s::HttpResponse {
    let (mut parts, mut body) = resp.into_parts();
    let bytes = body.store_all_limited(usize::MAX).await.unwrap_or_default();
    if !parts.headers.contains_key(http::header::CONTENT_LENGTH) {
        parts
            .headers
            .insert(http::header::CONTENT_LENGTH, bytes.len().to_string().parse().unwrap());
    }
    let keep = if cut { bytes.len() / 2 } else { bytes.len() };
    let size = keep.div_ceil(pieces.max(1)).max(1);
    let pieces: VecDeque<Bytes> = (0..keep)
        .step_by(size)
        .map(|i| bytes.slice(i..(i + size).min(keep)))
        .collect();
    let body = Pieces {
        pieces,
        delay,
        sleep: None,
        fail_at_end: cut,
    };
    http::Response::from_parts(parts, s3s::Body::http_body(body))
}

/// Reads about half of the request's body (by its `content-length`), then gives up.
async fn read_half(req: http::Request<Incoming>) {
    use http_body_util::BodyExt;
    let len: usize = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let mut body = req.into_body();
    let mut read = 0;
    while read < len / 2 {
        match body.frame().await {
            Some(Ok(f)) => read += f.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}

impl Layer {
    fn set_status(&self, n: usize, status: u16) {
        let mut log = self.log.lock().unwrap();
        if let Some(r) = log.iter_mut().rev().find(|r| r.n == n) {
            r.status = Some(status);
        }
    }

    /// The fault for request `n` of `op` on `key`, if any.
    fn fault_for(&self, n: usize, op: &'static str, key: &str) -> Option<Fault> {
        let mut failures = self.failures.lock().unwrap();
        let hit = failures
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
            return Some(f.fault);
        }
        drop(failures);
        let fault = self
            .injected
            .lock()
            .unwrap()
            .iter()
            .find(|i| (i.from..i.from + i.count).contains(&n))
            .map(|i| i.fault)?;
        *self.fired.lock().unwrap().entry(fault.kind()).or_default() += 1;
        Some(fault)
    }
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
                    "content-type"
                        | "cache-control"
                        | "content-encoding"
                        | "x-amz-website-redirect-location"
                        | "if-match"
                        | "if-none-match"
                ) || n.starts_with("x-amz-meta-")
            })
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let n = self.count.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(Req {
            n,
            op,
            key: key.clone(),
            headers,
            status: None,
        });
        let fault = self.fault_for(n, op, &key);
        let layer = self.clone();
        Box::pin(async move {
            let latency = layer.latency.load(Ordering::SeqCst);
            if latency > 0 {
                tokio::time::sleep(Duration::from_micros(latency)).await;
            }
            let inner = layer.inner.clone();
            let call = |req| async move { hyper::service::Service::call(&inner, req).await };
            let resp = match fault {
                None => call(req).await?,
                Some(Fault::Status(status)) => error_response(status),
                Some(Fault::Drop) => return Err(closed("no answer")),
                Some(Fault::CutRequest) => {
                    read_half(req).await;
                    return Err(closed("request body cut"));
                }
                Some(Fault::Hold) => {
                    // Listening before saying so: a release right after is not missed.
                    let released = layer.hold.released.notified();
                    tokio::pin!(released);
                    released.as_mut().enable();
                    *layer.hold.reached.lock().unwrap() = true;
                    layer.hold.cv.notify_all();
                    released.await;
                    return Err(closed("held"));
                }
                Some(Fault::DropAfter) => {
                    let resp = call(req).await?;
                    layer.set_status(n, resp.status().as_u16());
                    return Err(closed("answer dropped"));
                }
                Some(Fault::CutResponse) => {
                    let resp = call(req).await?;
                    layer.set_status(n, resp.status().as_u16());
                    if resp
                        .headers()
                        .get(http::header::CONTENT_LENGTH)
                        .is_some_and(|v| v == "0")
                    {
                        return Err(closed("answer dropped"));
                    }
                    return Ok(reshape(resp, 2, Duration::ZERO, true).await);
                }
                Some(Fault::Slow(delay)) => {
                    let resp = call(req).await?;
                    tokio::time::sleep(delay).await;
                    reshape(resp, 4, delay / 4, false).await
                }
            };
            layer.set_status(n, resp.status().as_u16());
            Ok(resp)
        })
    }
}

pub struct S3Server {
    pub endpoint: String,
    root: PathBuf,
    _temp: Option<tempfile::TempDir>,
    log: Arc<Mutex<Vec<Req>>>,
    failures: Arc<Mutex<Vec<Failure>>>,
    injected: Arc<Mutex<Vec<Injected>>>,
    fired: Arc<Mutex<BTreeMap<&'static str, usize>>>,
    count: Arc<AtomicUsize>,
    hold: Arc<Hold>,
    #[allow(dead_code)] // for `examples/s3_server.rs`, which includes this file
    latency: Arc<AtomicU64>,
    fast_list: Arc<AtomicBool>,
    writes: Arc<AtomicU64>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl S3Server {
    /// A new server with an empty bucket `site`, in a temp dir, on a free port.
    pub fn start() -> S3Server {
        S3Server::start_with(Conditions::Honour)
    }

    /// [`S3Server::start`], with conditional writes treated as `conditions` says.
    pub fn start_with(conditions: Conditions) -> S3Server {
        let temp = tempfile::tempdir().unwrap();
        let mut s = S3Server::start_in_with(temp.path().to_path_buf(), 0, conditions);
        s._temp = Some(temp);
        s
    }

    /// A server storing its buckets in `root` (bucket `site` is created if missing).
    #[allow(dead_code)] // for `examples/s3_server.rs`, which includes this file
    pub fn start_in(root: PathBuf, port: u16) -> S3Server {
        S3Server::start_in_with(root, port, Conditions::Honour)
    }

    fn start_in_with(root: PathBuf, port: u16, conditions: Conditions) -> S3Server {
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fast_list = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(AtomicU64::new(0));
        let store = Store {
            fs: s3s_fs::FileSystem::new(&root).unwrap(),
            conditions,
            serial: tokio::sync::Mutex::new(()),
            root: root.clone(),
            fast_list: fast_list.clone(),
            writes: writes.clone(),
            walked: tokio::sync::Mutex::new(None),
        };
        let mut b = S3ServiceBuilder::new(store);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let layer = Layer {
            inner: b.build(),
            log: Arc::default(),
            failures: Arc::default(),
            injected: Arc::default(),
            fired: Arc::default(),
            count: Arc::default(),
            hold: Arc::default(),
            latency: Arc::default(),
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server_layer = layer.clone();
        runtime.spawn(async move {
            let layer = server_layer;
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
            log: layer.log.clone(),
            failures: layer.failures.clone(),
            injected: layer.injected.clone(),
            fired: layer.fired.clone(),
            count: layer.count.clone(),
            hold: layer.hold.clone(),
            latency: layer.latency.clone(),
            fast_list,
            writes,
            runtime: Some(runtime),
        }
    }

    /// Makes every request wait `latency` before it is carried out and answered, as a
    /// distant region's round trip would.
    #[allow(dead_code)] // for `examples/s3_server.rs`, which includes this file
    pub fn set_latency(&self, latency: Duration) {
        self.latency.store(latency.as_micros() as u64, Ordering::SeqCst);
    }

    /// Answers ListObjectsV2 without a delimiter from one walk of the bucket's folder, kept
    /// up to date by the server's writes ([`fast_list`]), instead of s3s-fs's walk with a
    /// blocking-pool round trip per file for every page.
    pub fn set_fast_list(&self, fast: bool) {
        self.fast_list.store(fast, Ordering::SeqCst);
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
        self.fault_on(op, key, Fault::Status(status), times);
    }

    /// Injects `fault` into `op` on `key` (`*`: any key), `times` times (or always).
    pub fn fault_on(&self, op: &'static str, key: &str, fault: Fault, times: Option<usize>) {
        self.failures.lock().unwrap().push(Failure {
            op,
            key: key.to_string(),
            fault,
            remaining: times,
            after: 0,
        });
    }

    /// Lets the first `after` requests of `op` (any key) through, then fails every one.
    pub fn fail_after(&self, op: &'static str, after: usize, status: u16) {
        self.fault_after(op, "*", after, Fault::Status(status));
    }

    /// Lets the first `after` requests of `op` on `key` (`*`: any) through, then injects
    /// `fault` into every one.
    pub fn fault_after(&self, op: &'static str, key: &str, after: usize, fault: Fault) {
        self.failures.lock().unwrap().push(Failure {
            op,
            key: key.to_string(),
            fault,
            remaining: None,
            after,
        });
    }

    /// Injects `fault` into the requests numbered `from..from + count` (see [`Req::n`]).
    pub fn inject(&self, from: usize, count: usize, fault: Fault) {
        self.injected.lock().unwrap().push(Injected { from, count, fault });
    }

    /// Removes every fault ([`S3Server::fail`], [`S3Server::inject`]) and lets a held
    /// request go.
    pub fn heal(&self) {
        self.failures.lock().unwrap().clear();
        self.injected.lock().unwrap().clear();
        self.release();
    }

    /// Numbers the next request 0.
    pub fn reset_count(&self) {
        self.count.store(0, Ordering::SeqCst);
    }

    /// Requests numbered since the start or the last [`S3Server::reset_count`].
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// The injected faults that fired, by kind ([`Fault::kind`]), since the last call.
    pub fn take_fired(&self) -> BTreeMap<&'static str, usize> {
        std::mem::take(&mut *self.fired.lock().unwrap())
    }

    /// Waits up to `timeout` for a request to be held by [`Fault::Hold`].
    pub fn wait_for_hold(&self, timeout: Duration) -> bool {
        let reached = self.hold.reached.lock().unwrap();
        let (reached, _) = self.hold.cv.wait_timeout_while(reached, timeout, |r| !*r).unwrap();
        *reached
    }

    /// Lets the held request go (its connection closes).
    pub fn release(&self) {
        *self.hold.reached.lock().unwrap() = false;
        self.hold.released.notify_waiters();
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
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
