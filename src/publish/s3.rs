//! The S3 adapter: list a prefix (in partitions at once, [`super::listing`]), read and write the state object, upload a file (one PUT, or
//! multipart above the threshold, streamed from disk either way), delete in batches. Every
//! call goes through the SDK's standard retry (backoff with jitter on throttling, 5xx and
//! timeouts). Errors become one [`Diagnostic`] naming the bucket and key, with the cause in
//! words; credentials are never part of a message.
//!
//! sitegen's own objects (the state object and the lock) are written with S3's conditional
//! writes when the target locks (`If-None-Match: *` to create, `If-Match: ETAG` to replace):
//! [`Condition`] says which, [`WriteError::Conflict`] is the answer that someone else got
//! there first. A retried write whose first attempt did land (the answer was lost on the
//! way) also meets a conflict; the callers tell that case apart by reading the object back.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use base64::Engine as _;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::listing::{self, Partition};
use super::plan::{RemoteObject, Upload, PAGE};
use super::state::PublishState;
use super::{LOCK_KEY, STATE_KEY};
use crate::aws::describe;
use crate::aws::{in_words, NoRegion, Patience};
use crate::config::DeployTarget;
use crate::error::Diagnostic;

/// Attempts per request (the first one and up to three retries).
pub const MAX_ATTEMPTS: u32 = 4;

/// A bucket and prefix, with a client configured from the standard AWS chain.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    pub bucket: String,
    pub prefix: String,
    /// Where requests go, for messages (`AWS` or the custom endpoint).
    pub endpoint: String,
    /// Errors carry the SDK's whole error value too (`-v`).
    pub verbose: bool,
    /// Write the state object only over the version last read or written (compare-and-swap),
    /// as a target with `lock = true` does.
    pub conditional: bool,
    /// The condition of the next state write: the state object as this store last saw it.
    state_version: Arc<Mutex<Condition>>,
}

/// The precondition of a write of one of sitegen's own objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// None: the write replaces whatever is there.
    Always,
    /// Only when there is no object under the key (`If-None-Match: *`).
    Absent,
    /// Only while the object still has this ETag (`If-Match`).
    ETag(String),
}

/// Why a conditional write (or delete) did not happen.
#[derive(Debug, Clone)]
pub enum WriteError {
    /// The condition did not hold (HTTP 412, 409 ConditionalRequestConflict, or NoSuchKey
    /// for `If-Match`): another writer changed or removed the object.
    Conflict,
    /// The server does not implement conditional writes (HTTP 501, NotImplemented); the
    /// server's answer in words.
    Unsupported(String),
    Failed(Diagnostic),
}

impl S3Store {
    /// A client for `target`: region and endpoint from the target when set, else from the
    /// standard chain (env, profile, SSO, container or instance role; `AWS_ENDPOINT_URL_S3`).
    pub async fn connect(target: &DeployTarget, sdk: &aws_config::SdkConfig) -> Result<S3Store, Diagnostic> {
        let patience = Patience {
            attempts: MAX_ATTEMPTS,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(120),
        };
        let (b, endpoint) = crate::aws::s3_config(sdk, target.region.as_deref(), target.endpoint.as_deref(), patience)
            .map_err(|NoRegion| {
                Diagnostic::new(
                    format!("deploy target `{}`", target.name),
                    "no AWS region: set `region` in the target, or `AWS_REGION` / a profile's region",
                )
            })?;
        Ok(S3Store {
            client: Client::from_conf(b.build()),
            bucket: target.bucket.clone(),
            prefix: target.prefix.clone(),
            endpoint,
            verbose: false,
            conditional: target.lock,
            state_version: Arc::new(Mutex::new(Condition::Always)),
        })
    }

    fn diag(&self, key: Option<&str>, what: &str, cause: String) -> Diagnostic {
        let at = match key {
            Some(k) => format!("s3://{}/{k}", self.bucket),
            None => format!("s3://{}/{}", self.bucket, self.prefix),
        };
        Diagnostic::new(at, format!("cannot {what}: {cause}"))
    }

    /// Every object under the prefix (keys made relative to it), and the LIST requests it
    /// took. The `partitions` ([`listing`]) are listed at once, up to
    /// [`listing::CONCURRENCY`] at a time, and joined in order, which gives exactly the
    /// keys of one sequential listing.
    pub async fn list(&self, partitions: &[Partition]) -> Result<(Vec<RemoteObject>, usize), Diagnostic> {
        if partitions.len() <= 1 {
            return self
                .list_partition(partitions.first().cloned().unwrap_or_default())
                .await;
        }
        let permits = Arc::new(Semaphore::new(listing::CONCURRENCY));
        let mut tasks = JoinSet::new();
        for (i, p) in partitions.iter().cloned().enumerate() {
            let (store, permits) = (self.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
                (i, store.list_partition(p).await)
            });
        }
        let mut parts: Vec<Vec<RemoteObject>> = vec![Vec::new(); partitions.len()];
        let mut requests = 0;
        while let Some(done) = tasks.join_next().await {
            // An error ends the listing; dropping `tasks` cancels the other partitions.
            let (i, listed) = done.map_err(|e| self.diag(None, "list the bucket", e.to_string()))?;
            let (objects, n) = listed?;
            parts[i] = objects;
            requests += n;
        }
        Ok((parts.into_iter().flatten().collect(), requests))
    }

    /// The objects of one partition, page after page while its pages end below its upper
    /// boundary.
    async fn list_partition(&self, p: Partition) -> Result<(Vec<RemoteObject>, usize), Diagnostic> {
        let mut out = Vec::new();
        let mut token = None;
        let mut requests = 0;
        loop {
            let resp = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .max_keys(PAGE as i32)
                .set_start_after(p.start_after.clone())
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.diag(None, "list the bucket", describe(&e, &self.endpoint, self.verbose)))?;
            requests += 1;
            let objects = resp.contents();
            let keys: Vec<&str> = objects.iter().map(|o| o.key().unwrap_or("")).collect();
            let truncated = resp.is_truncated() == Some(true) && resp.next_continuation_token().is_some();
            let (keep, more) = p.step(&keys, truncated);
            for o in &objects[..keep] {
                let Some(key) = o.key() else { continue };
                // Defence in depth: a server that returns keys outside the prefix gets them ignored.
                let Some(rel) = key.strip_prefix(self.prefix.as_str()) else {
                    continue;
                };
                out.push(RemoteObject {
                    key: rel.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    etag: o.e_tag().unwrap_or("").to_string(),
                });
            }
            if !more {
                break;
            }
            token = resp.next_continuation_token().map(str::to_string);
        }
        Ok((out, requests))
    }

    fn state_key(&self) -> String {
        format!("{}{STATE_KEY}", self.prefix)
    }

    /// The full key of the lock object.
    pub fn lock_key(&self) -> String {
        format!("{}{LOCK_KEY}", self.prefix)
    }

    /// `s3://bucket/key`, for messages.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The state object's bytes, `None` when there is none. With [`S3Store::conditional`],
    /// the next state write is made conditional on the version read here.
    pub async fn get_state(&self) -> Result<Option<Vec<u8>>, Diagnostic> {
        let key = self.state_key();
        let got = self.get_own(&key, "read the state object").await?;
        self.expect_state(match &got {
            None => Condition::Absent,
            Some((_, etag)) if etag.is_empty() => Condition::Always,
            Some((_, etag)) => Condition::ETag(etag.clone()),
        });
        Ok(got.map(|(bytes, _)| bytes))
    }

    /// Sets the version of the state object the next write must replace (a LIST that shows
    /// none means [`Condition::Absent`]). Ignored unless [`S3Store::conditional`].
    pub fn expect_state(&self, version: Condition) {
        if self.conditional {
            *self.state_version.lock().expect("never poisoned") = version;
        }
    }

    /// Writes the state object over the version this store last saw. A conflict means that
    /// another publish wrote it meanwhile (unless the object holds exactly these bytes: then
    /// it was this write, retried after its answer was lost).
    pub async fn put_state(&self, state: &PublishState) -> Result<(), WriteError> {
        let key = self.state_key();
        let bytes = state.to_bytes();
        let condition = self.state_version.lock().expect("never poisoned").clone();
        let written = self
            .put_own(&key, bytes.clone(), &condition, "write the state object")
            .await;
        let etag = match written {
            Ok(etag) => etag,
            Err(WriteError::Conflict) => match self.get_own(&key, "read the state object back").await {
                Ok(Some((back, etag))) if back == bytes => etag,
                Ok(_) => return Err(WriteError::Conflict),
                Err(e) => return Err(WriteError::Failed(e)),
            },
            Err(e) => return Err(e),
        };
        self.expect_state(if etag.is_empty() {
            Condition::Always
        } else {
            Condition::ETag(etag)
        });
        Ok(())
    }

    /// The lock object's bytes and ETag, `None` when there is none.
    pub async fn get_lock(&self) -> Result<Option<(Vec<u8>, String)>, Diagnostic> {
        self.get_own(&self.lock_key(), "read the publish lock").await
    }

    /// Writes the lock object under `condition`; returns its new ETag.
    pub async fn put_lock(&self, bytes: Vec<u8>, condition: &Condition) -> Result<String, WriteError> {
        self.put_own(&self.lock_key(), bytes, condition, "write the publish lock")
            .await
    }

    /// Deletes the lock object if it still has `etag` (servers without conditional deletes
    /// delete it anyway). A lock already gone is not an error.
    pub async fn delete_lock(&self, etag: &str) -> Result<(), WriteError> {
        let key = self.lock_key();
        let mut req = self.client.delete_object().bucket(&self.bucket).key(&key);
        if !etag.is_empty() {
            req = req.if_match(etag);
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) => match self.write_error(&e, &key, "release the publish lock") {
                // Gone already (a retried delete whose first attempt landed).
                WriteError::Conflict if is_code(&e, "NoSuchKey") => Ok(()),
                other => Err(other),
            },
        }
    }

    /// GET of one of sitegen's own objects: bytes and ETag, `None` when there is none.
    async fn get_own(&self, key: &str, what: &str) -> Result<Option<(Vec<u8>, String)>, Diagnostic> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(resp) => {
                let etag = resp.e_tag().unwrap_or("").to_string();
                let bytes = resp
                    .body
                    .collect()
                    .await
                    .map_err(|e| self.diag(Some(key), what, e.to_string()))?;
                Ok(Some((bytes.into_bytes().to_vec(), etag)))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(self.diag(Some(key), what, describe(&e, &self.endpoint, self.verbose))),
        }
    }

    /// PUT of one of sitegen's own objects (JSON, never cached) under `condition`; its ETag.
    async fn put_own(
        &self,
        key: &str,
        bytes: Vec<u8>,
        condition: &Condition,
        what: &str,
    ) -> Result<String, WriteError> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .cache_control("no-store")
            .body(ByteStream::from(bytes));
        req = match condition {
            Condition::Always => req,
            Condition::Absent => req.if_none_match("*"),
            Condition::ETag(etag) => req.if_match(etag),
        };
        match req.send().await {
            Ok(resp) => Ok(resp.e_tag().unwrap_or("").to_string()),
            Err(e) => Err(self.write_error(&e, key, what)),
        }
    }

    /// A failed conditional request, sorted: the condition did not hold, the server cannot
    /// evaluate it, or something else went wrong.
    fn write_error<E>(&self, e: &SdkError<E, HttpResponse>, key: &str, what: &str) -> WriteError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if let SdkError::ServiceError(se) = e {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("");
            if status == 412 || matches!(code, "PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey") {
                return WriteError::Conflict;
            }
            if status == 501 || code == "NotImplemented" {
                return WriteError::Unsupported(in_words(e, &self.endpoint));
            }
        }
        WriteError::Failed(self.diag(Some(key), what, describe(e, &self.endpoint, self.verbose)))
    }

    /// Uploads `file` as `u.key`, in parts of `part_size` when `u.parts > 1`, streaming from
    /// disk. Returns the ETag and the number of requests it took.
    pub async fn upload(&self, u: &Upload, file: &Path, part_size: u64) -> Result<(String, usize), Diagnostic> {
        let fail = |what: &str, cause: String| self.diag(Some(&u.key), what, cause);
        if u.parts <= 1 {
            let body = ByteStream::read_from()
                .path(file)
                .length(Length::Exact(u.size))
                .build()
                .await
                .map_err(|e| fail("read the file to upload", format!("{}: {e}", file.display())))?;
            let resp = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&u.key)
                .body(body)
                .content_length(u.size as i64)
                .content_type(&u.headers.content_type)
                .cache_control(&u.headers.cache_control)
                .set_content_encoding(u.headers.content_encoding.clone())
                .set_website_redirect_location(u.headers.website_redirect.clone())
                .metadata("sha256", &u.sha256)
                .checksum_sha256(
                    base64::engine::general_purpose::STANDARD.encode(hex::decode(&u.sha256).unwrap_or_default()),
                )
                .send()
                .await
                .map_err(|e| fail("upload", describe(&e, &self.endpoint, self.verbose)))?;
            return Ok((resp.e_tag().unwrap_or("").to_string(), 1));
        }
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&u.key)
            .content_type(&u.headers.content_type)
            .cache_control(&u.headers.cache_control)
            .set_content_encoding(u.headers.content_encoding.clone())
            .set_website_redirect_location(u.headers.website_redirect.clone())
            .metadata("sha256", &u.sha256)
            .send()
            .await
            .map_err(|e| fail("start a multipart upload", describe(&e, &self.endpoint, self.verbose)))?;
        let upload_id = created.upload_id().unwrap_or("").to_string();
        let mut requests = 1;
        let result = self.upload_parts(u, file, part_size, &upload_id, &mut requests).await;
        match result {
            Ok(etag) => Ok((etag, requests)),
            Err(e) => {
                // Leave no parts behind to be billed; the next publish starts over.
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&u.key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                Err(e)
            }
        }
    }

    async fn upload_parts(
        &self,
        u: &Upload,
        file: &Path,
        part_size: u64,
        upload_id: &str,
        requests: &mut usize,
    ) -> Result<String, Diagnostic> {
        let fail = |what: &str, cause: String| self.diag(Some(&u.key), what, cause);
        let mut parts = Vec::new();
        let mut offset = 0;
        let mut number = 1;
        while offset < u.size {
            let len = part_size.min(u.size - offset);
            let body = ByteStream::read_from()
                .path(file)
                .offset(offset)
                .length(Length::Exact(len))
                .build()
                .await
                .map_err(|e| fail("read the file to upload", format!("{}: {e}", file.display())))?;
            let resp = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(&u.key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(len as i64)
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    fail(
                        &format!("upload part {number}"),
                        describe(&e, &self.endpoint, self.verbose),
                    )
                })?;
            *requests += 1;
            parts.push(
                CompletedPart::builder()
                    .e_tag(resp.e_tag().unwrap_or(""))
                    .part_number(number)
                    .build(),
            );
            offset += len;
            number += 1;
        }
        let resp = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&u.key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| {
                fail(
                    "complete the multipart upload",
                    describe(&e, &self.endpoint, self.verbose),
                )
            })?;
        *requests += 1;
        Ok(resp.e_tag().unwrap_or("").to_string())
    }

    /// Deletes `keys` (full keys, all under the prefix) in batches of 1,000. Returns the keys
    /// that were deleted, the failures, and the number of requests.
    pub async fn delete(&self, keys: &[String]) -> (Vec<String>, Vec<Diagnostic>, usize) {
        let mut done = Vec::new();
        let mut failed = Vec::new();
        let mut requests = 0;
        for batch in keys.chunks(PAGE) {
            // The plan never holds a key outside the prefix; refuse one here all the same.
            let (inside, outside): (Vec<&String>, Vec<&String>) = batch
                .iter()
                .partition(|k| k.starts_with(self.prefix.as_str()) && k.len() > self.prefix.len());
            for k in outside {
                failed.push(self.diag(Some(k), "delete", "the key is outside the target's prefix".into()));
            }
            if inside.is_empty() {
                continue;
            }
            let objects = inside
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k.as_str()).build().expect("key is set"))
                .collect();
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .expect("objects are set");
            requests += 1;
            match self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
            {
                Ok(resp) => {
                    let errors: std::collections::BTreeMap<&str, String> = resp
                        .errors()
                        .iter()
                        .filter_map(|e| {
                            Some((
                                e.key()?,
                                format!("{}: {}", e.code().unwrap_or("error"), e.message().unwrap_or("")),
                            ))
                        })
                        .collect();
                    for k in inside {
                        match errors.get(k.as_str()) {
                            Some(msg) => failed.push(self.diag(Some(k), "delete", msg.clone())),
                            None => done.push(k.clone()),
                        }
                    }
                }
                Err(e) => {
                    let cause = describe(&e, &self.endpoint, self.verbose);
                    failed.push(self.diag(
                        inside.first().map(|k| k.as_str()),
                        &format!("delete {} objects", inside.len()),
                        cause,
                    ));
                }
            }
        }
        (done, failed, requests)
    }
}

fn is_code<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>, code: &str) -> bool {
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some(code))
}
