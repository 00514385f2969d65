//! The remote image cache (`[images] remote_cache`): the entries of the local cache shared
//! through an S3 bucket (any S3-compatible endpoint), so a team's machines and a CI fleet
//! encode each image once between them, as sccache does for compiler outputs.
//!
//! An entry's object is `PREFIX KEY.EXT`, under the same content-addressed key as the local
//! cache ([`super::Job::key`]), with the sha256 of its bytes stored beside them
//! (`x-amz-meta-sha256`, and `x-amz-checksum-sha256`, which S3 checks on upload). The build
//! looks up what neither memory nor the local cache has ([`Remote::fetch`], bounded GETs in
//! parallel), and uses an entry only when its bytes hash to the stored sha256 and their header
//! says the job's format and size ([`check_entry`]); a used entry goes into the local cache.
//! What it encodes, it uploads with put-if-absent (`If-None-Match: *`, [`Remote::upload`],
//! while the other images are still encoding), so runners racing on a key never overwrite
//! each other's entry: the loser's failed condition is counted, not reported.
//!
//! The remote only ever saves time. A missing entry is encoded; a corrupt one is encoded
//! and never used (nor overwritten); the first failure to reach or use the bucket (refused
//! connection, timeout, refused credentials, a missing bucket) stops every further request
//! of the build. Whatever happened is one warning at the end ([`Remote::finish`]), never an
//! error, and never a different output.
//!
//! The SDK's futures run on a small runtime of this module's own, made per build and waited
//! for through channels, so a caller inside another runtime (`serve`) is not disturbed.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::config::ResponseChecksumValidation;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::{Format, Job};
use crate::aws::{in_words, Patience};
use crate::config::RemoteCacheConfig;
use crate::error::Diagnostic;

/// A cache that only saves time should not hold a build up for long: two attempts, and a
/// short wait for a connection.
const PATIENCE: Patience = Patience {
    attempts: 2,
    connect_timeout: Duration::from_secs(3),
    read_timeout: Duration::from_secs(30),
};

/// At most this many rejected entries are named in the warning.
const NAMED: usize = 3;

/// What the remote cache did in one build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteStats {
    /// Entries asked for (each key once).
    pub lookups: usize,
    /// Entries found.
    pub hits: usize,
    /// Entries found, verified and used (also stored in the local cache).
    pub downloaded: usize,
    /// Entries found that failed verification: made again, not used.
    pub rejected: usize,
    /// Entries this build encoded and uploaded.
    pub uploaded: usize,
    /// Uploads whose condition failed: another runner had uploaded the key meanwhile.
    pub already_there: usize,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// A verified entry.
    Hit(Arc<[u8]>),
    /// No entry: upload one once it is made.
    Absent,
    /// Nothing usable (a corrupt entry, which stays; or the remote is unavailable): make it,
    /// and upload nothing.
    Unusable,
}

/// A connection to the remote cache for one build.
pub struct Remote {
    runtime: Option<tokio::runtime::Runtime>,
    bucket: Arc<Bucket>,
    prefix: String,
    read_only: bool,
    uploads: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    upload_keys: Mutex<HashSet<String>>,
}

/// What every request task needs: the client, where it sends, its share of the requests in
/// flight, and the tally it adds to.
struct Bucket {
    client: Client,
    name: String,
    /// Where requests go, for messages.
    endpoint: String,
    slots: Semaphore,
    tally: Tally,
}

#[derive(Default)]
struct Tally {
    lookups: AtomicUsize,
    hits: AtomicUsize,
    downloaded: AtomicUsize,
    rejected: AtomicUsize,
    uploaded: AtomicUsize,
    already_there: AtomicUsize,
    /// Why the remote is not used for the rest of the build, once it is not.
    down: Mutex<Option<String>>,
    /// The first rejected entries: object key, why.
    rejections: Mutex<Vec<(String, String)>>,
    /// Why uploads stopped while lookups went on (a server without conditional writes).
    no_uploads: Mutex<Option<String>>,
}

impl Tally {
    fn is_down(&self) -> bool {
        self.down.lock().expect("tally lock").is_some()
    }

    fn take_down(&self, why: String) {
        self.down.lock().expect("tally lock").get_or_insert(why);
    }

    fn may_upload(&self) -> bool {
        !self.is_down() && self.no_uploads.lock().expect("tally lock").is_none()
    }
}

impl Remote {
    /// A client for `config` with credentials from the standard AWS chain. Sends nothing:
    /// an unreachable endpoint shows at the first request.
    pub fn connect(config: &RemoteCacheConfig) -> Result<Remote, Diagnostic> {
        let at = location(&config.bucket, &config.prefix);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sitegen-image-cache")
            .enable_all()
            .build()
            .map_err(|e| {
                Diagnostic::new(
                    &at,
                    format!("the remote image cache is not used: cannot start its runtime: {e}"),
                )
            })?;
        let region = config.region.clone();
        let sdk = wait(&runtime, async move { crate::aws::sdk_config(region.as_deref()).await });
        let Some(sdk) = sdk else {
            runtime.shutdown_background();
            return Err(Diagnostic::new(
                &at,
                "the remote image cache is not used: its configuration could not be loaded",
            ));
        };
        let (b, endpoint) = match crate::aws::s3_config(
            &sdk,
            config.region.as_deref(),
            config.endpoint.as_deref(),
            PATIENCE,
        ) {
            Ok(x) => x,
            Err(crate::aws::NoRegion) => {
                runtime.shutdown_background();
                return Err(Diagnostic::new(
                    &at,
                    "the remote image cache is not used: no AWS region (set `region` in `[images] remote_cache`, or `AWS_REGION` / a profile's region)",
                ));
            }
        };
        // Entries are checked against their stored sha256 here ([`check_entry`]); the SDK's
        // own check would make a corrupt entry an error of the request instead.
        let b = b.response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        Ok(Remote {
            runtime: Some(runtime),
            bucket: Arc::new(Bucket {
                client: Client::from_conf(b.build()),
                name: config.bucket.clone(),
                endpoint,
                slots: Semaphore::new(config.concurrency.max(1)),
                tally: Tally::default(),
            }),
            prefix: config.prefix.clone(),
            read_only: config.read_only,
            uploads: Mutex::new(Vec::new()),
            upload_keys: Mutex::new(HashSet::new()),
        })
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives until the remote is dropped")
    }

    fn object_key(&self, job: &Job) -> String {
        format!("{}{}.{}", self.prefix, job.key, job.format.extension())
    }

    /// Looks up the entries of `jobs` (each key once, in parallel, bounded), verifying each
    /// one found. Keyed by [`Job::key`].
    pub fn fetch(&self, jobs: &[Job]) -> HashMap<String, Lookup> {
        let mut seen = HashSet::new();
        let wanted: Vec<(String, String, Format, (u32, u32))> = jobs
            .iter()
            .filter(|j| seen.insert(j.key.clone()))
            .map(|j| {
                (
                    j.key.clone(),
                    self.object_key(j),
                    j.format,
                    (j.geometry.width, j.geometry.height),
                )
            })
            .collect();
        self.bucket.tally.lookups.fetch_add(wanted.len(), Ordering::Relaxed);
        let bucket = self.bucket.clone();
        let all = async move {
            let mut tasks = tokio::task::JoinSet::new();
            for (key, object, format, size) in wanted {
                let bucket = bucket.clone();
                tasks.spawn(async move {
                    let _slot = bucket.slots.acquire().await;
                    let found = if bucket.tally.is_down() {
                        Lookup::Unusable
                    } else {
                        bucket.get(&object, format, size).await
                    };
                    (key, found)
                });
            }
            let mut out = HashMap::new();
            while let Some(r) = tasks.join_next().await {
                if let Ok((key, found)) = r {
                    out.insert(key, found);
                }
            }
            out
        };
        wait(self.runtime(), all).unwrap_or_default()
    }

    /// Uploads `bytes` as `job`'s entry unless one is there (`If-None-Match: *`), in the
    /// background; [`Remote::finish`] waits for it. Each key once; nothing when the cache is
    /// read-only or unavailable.
    pub fn upload(&self, job: &Job, bytes: Arc<[u8]>) {
        if self.read_only || !self.bucket.tally.may_upload() {
            return;
        }
        if !self.upload_keys.lock().expect("upload lock").insert(job.key.clone()) {
            return;
        }
        let bucket = self.bucket.clone();
        let object = self.object_key(job);
        let mime = job.format.mime();
        let task = self.runtime().spawn(async move {
            let _slot = bucket.slots.acquire().await;
            if bucket.tally.may_upload() {
                bucket.put(&object, mime, &bytes).await;
            }
        });
        self.uploads.lock().expect("upload lock").push(task);
    }

    /// Waits for the uploads; what the remote did, and the one warning about it, if any.
    pub fn finish(mut self) -> (RemoteStats, Option<Diagnostic>) {
        let tasks = std::mem::take(&mut *self.uploads.lock().expect("upload lock"));
        let _ = wait(self.runtime(), async move {
            for t in tasks {
                let _ = t.await;
            }
        });
        let t = &self.bucket.tally;
        let n = |c: &AtomicUsize| c.load(Ordering::Relaxed);
        let stats = RemoteStats {
            lookups: n(&t.lookups),
            hits: n(&t.hits),
            downloaded: n(&t.downloaded),
            rejected: n(&t.rejected),
            uploaded: n(&t.uploaded),
            already_there: n(&t.already_there),
        };
        let mut said = Vec::new();
        if let Some(why) = t.down.lock().expect("tally lock").take() {
            said.push(format!(
                "the remote image cache is unavailable ({why}); the build went on without it"
            ));
        }
        let rejections = std::mem::take(&mut *t.rejections.lock().expect("tally lock"));
        if stats.rejected > 0 {
            let named: Vec<String> = rejections.iter().map(|(k, why)| format!("`{k}`: {why}")).collect();
            let more = stats.rejected.saturating_sub(named.len());
            said.push(format!(
                "{} remote image cache entr{} failed verification and {} made again, not used ({}{})",
                stats.rejected,
                if stats.rejected == 1 { "y" } else { "ies" },
                if stats.rejected == 1 { "was" } else { "were" },
                named.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if let Some(why) = t.no_uploads.lock().expect("tally lock").take() {
            said.push(format!(
                "nothing was uploaded to the remote image cache: the server does not support conditional writes (`If-None-Match: *`), and the cache never overwrites an entry ({why})"
            ));
        }
        let warning =
            (!said.is_empty()).then(|| Diagnostic::new(location(&self.bucket.name, &self.prefix), said.join("; ")));
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        (stats, warning)
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Allowed inside another runtime, unlike dropping one.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// `s3://bucket/prefix`, for messages.
fn location(bucket: &str, prefix: &str) -> String {
    format!("s3://{bucket}/{prefix}")
}

/// Runs `fut` on `rt` and waits for it from any thread, also one of another runtime's
/// (where `block_on` would panic). `None` if the task died.
fn wait<T: Send + 'static>(rt: &tokio::runtime::Runtime, fut: impl Future<Output = T> + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().ok()
}

/// The largest entry worth downloading for an output of `size`: far more than any encoder
/// writes (4 bytes a pixel, and some), so a huge object under a key is refused unread.
fn max_entry_len((w, h): (u32, u32)) -> u64 {
    u64::from(w) * u64::from(h) * 5 + (1 << 20)
}

impl Bucket {
    /// The entry under `object`, verified for an output of `format` and `size`.
    async fn get(&self, object: &str, format: Format, size: (u32, u32)) -> Lookup {
        let tally = &self.tally;
        let resp = match self.client.get_object().bucket(&self.name).key(object).send().await {
            Ok(r) => r,
            Err(e) if is_absent(&e) => return Lookup::Absent,
            Err(e) => {
                tally.take_down(format!("reading `{object}`: {}", in_words(&e, &self.endpoint)));
                return Lookup::Unusable;
            }
        };
        tally.hits.fetch_add(1, Ordering::Relaxed);
        let reject = |why: String| {
            tally.rejected.fetch_add(1, Ordering::Relaxed);
            let mut r = tally.rejections.lock().expect("tally lock");
            if r.len() < NAMED {
                r.push((object.to_string(), why));
            }
            Lookup::Unusable
        };
        let len = resp.content_length().unwrap_or(0).max(0) as u64;
        if len > max_entry_len(size) {
            return reject(format!(
                "{len} bytes, more than an image of {} x {} can be",
                size.0, size.1
            ));
        }
        let stored = resp.metadata().and_then(|m| m.get("sha256")).cloned();
        let checksum = resp.checksum_sha256().map(str::to_string);
        let bytes = match resp.body.collect().await {
            Ok(b) => b.into_bytes(),
            Err(e) => {
                tally.take_down(format!("reading `{object}`: {}", crate::aws::chain(&e)));
                return Lookup::Unusable;
            }
        };
        match check_entry(&bytes, stored.as_deref(), checksum.as_deref(), format, size) {
            Ok(()) => {
                tally.downloaded.fetch_add(1, Ordering::Relaxed);
                Lookup::Hit(Arc::from(&bytes[..]))
            }
            Err(why) => reject(why),
        }
    }

    /// Uploads `bytes` under `object` unless an object is there.
    async fn put(&self, object: &str, mime: &str, bytes: &[u8]) {
        let tally = &self.tally;
        let sha = Sha256::digest(bytes);
        let sent = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(object)
            .if_none_match("*")
            .content_type(mime)
            .content_length(bytes.len() as i64)
            .metadata("sha256", crate::paths::hex(&sha))
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(sha))
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await;
        let e = match sent {
            Ok(_) => {
                tally.uploaded.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) => e,
        };
        if let SdkError::ServiceError(se) = &e {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("");
            if status == 412 || matches!(code, "PreconditionFailed" | "ConditionalRequestConflict") {
                // Another runner uploaded the key first (or this upload's first attempt landed
                // and its answer was lost): the entry is there, which is all that matters.
                tally.already_there.fetch_add(1, Ordering::Relaxed);
                return;
            }
            if status == 501 || code == "NotImplemented" {
                tally
                    .no_uploads
                    .lock()
                    .expect("tally lock")
                    .get_or_insert_with(|| in_words(&e, &self.endpoint));
                return;
            }
        }
        tally.take_down(format!("uploading `{object}`: {}", in_words(&e, &self.endpoint)));
    }
}

/// A GET's answer for a key with no object: 404 NoSuchKey, or 403 AccessDenied, which S3
/// answers instead to credentials without `s3:ListBucket`.
fn is_absent<E: ProvideErrorMetadata>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("");
            status == 404 || code == "NoSuchKey" || (status == 403 && code == "AccessDenied")
        }
        _ => false,
    }
}

/// Whether `bytes` are a good entry for an output of `format` and `size`: their sha256 is
/// the one stored with them (and the server's checksum, when it sends one), and their
/// header says that format and size. The reason in words when not.
pub fn check_entry(
    bytes: &[u8],
    stored_sha256: Option<&str>,
    checksum_sha256: Option<&str>,
    format: Format,
    size: (u32, u32),
) -> Result<(), String> {
    let sha = Sha256::digest(bytes);
    let hex = crate::paths::hex(&sha);
    let Some(stored) = stored_sha256 else {
        return Err("no sha256 is stored with it (`x-amz-meta-sha256`)".into());
    };
    if !stored.eq_ignore_ascii_case(&hex) {
        return Err(format!("its bytes' sha256 is {hex}, the entry says {stored}"));
    }
    if let Some(c) = checksum_sha256 {
        if base64::engine::general_purpose::STANDARD.decode(c).ok().as_deref() != Some(&sha[..]) {
            return Err(format!("its bytes do not match the server's checksum {c}"));
        }
    }
    let kind = imagesize::image_type(bytes).map_err(|_| "it is not an image".to_string())?;
    let right_kind = matches!(
        (format, kind),
        (Format::Jpeg, imagesize::ImageType::Jpeg)
            | (Format::Png, imagesize::ImageType::Png)
            | (Format::Webp | Format::WebpLossless, imagesize::ImageType::Webp)
            | (Format::Avif, imagesize::ImageType::Heif(_))
    );
    if !right_kind {
        return Err(format!("it is not a {} image", format.extension().to_uppercase()));
    }
    let got = imagesize::blob_size(bytes).map_err(|e| format!("its header cannot be read: {e}"))?;
    if (got.width as u64, got.height as u64) != (u64::from(size.0), u64::from(size.1)) {
        return Err(format!(
            "it is {} x {} pixels, not {} x {}",
            got.width, got.height, size.0, size.1
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        use image::ImageEncoder;
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&vec![90u8; (w * h * 3) as usize], w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    #[test]
    fn an_entry_is_used_only_with_its_sha256_format_and_size() {
        let bytes = png(30, 20);
        let sha = Sha256::digest(&bytes);
        let hex = crate::paths::hex(&sha);
        let b64 = base64::engine::general_purpose::STANDARD.encode(sha);
        assert_eq!(
            check_entry(&bytes, Some(&hex), Some(&b64), Format::Png, (30, 20)),
            Ok(())
        );
        assert_eq!(
            check_entry(&bytes, Some(&hex.to_uppercase()), None, Format::Png, (30, 20)),
            Ok(())
        );
        assert_eq!(
            check_entry(&bytes, None, Some(&b64), Format::Png, (30, 20)),
            Err("no sha256 is stored with it (`x-amz-meta-sha256`)".to_string())
        );
        let other = "0".repeat(64);
        assert_eq!(
            check_entry(&bytes, Some(&other), None, Format::Png, (30, 20)),
            Err(format!("its bytes' sha256 is {hex}, the entry says {other}"))
        );
        let wrong_checksum = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
        assert!(
            check_entry(&bytes, Some(&hex), Some(&wrong_checksum), Format::Png, (30, 20))
                .unwrap_err()
                .contains("server's checksum")
        );
        // Stored with a matching sha256, and still not what the job makes.
        assert_eq!(
            check_entry(&bytes, Some(&hex), None, Format::Jpeg, (30, 20)),
            Err("it is not a JPG image".to_string())
        );
        assert_eq!(
            check_entry(&bytes, Some(&hex), None, Format::Png, (30, 21)),
            Err("it is 30 x 20 pixels, not 30 x 21".to_string())
        );
        let text = b"hello".to_vec();
        let text_sha = crate::paths::hex(&Sha256::digest(&text));
        assert_eq!(
            check_entry(&text, Some(&text_sha), None, Format::Png, (1, 1)),
            Err("it is not an image".to_string())
        );
    }

    #[test]
    fn a_huge_object_is_refused_unread() {
        assert_eq!(max_entry_len((100, 100)), 50_000 + (1 << 20));
        assert!(max_entry_len((16_384, 16_384)) > 16_384 * 16_384 * 4);
    }
}
