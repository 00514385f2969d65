//! `sitegen publish`: ship the built output folder to an S3 bucket (under a key prefix) and
//! invalidate what changed in the CloudFront distributions in front of it.
//!
//! The work is split the way the rest of sitegen is: plain values in the middle, I/O at the
//! edges. [`local`] reads the output folder into [`LocalFile`]s (path, sha256, size, headers);
//! [`s3`] lists the bucket and reads sitegen's state object into a [`plan::RemoteIndex`];
//! [`plan::plan`] (pure) diffs the two into a [`plan::PublishPlan`], which `--dry-run` prints
//! and [`apply`] executes in safe order through the [`s3`] and [`cloudfront`] adapters.
//!
//! Why a state object: a LIST returns key, size and ETag but no metadata, and an ETag is not a
//! content hash (multipart uploads and SSE-KMS break that). sitegen keeps the sha256 and the
//! headers of every object it uploaded in `PREFIX.sitegen-state.json`, next to the size and
//! ETag the upload produced. A listed object whose size and ETag match its record is known by
//! content without a HEAD; anything else (unrecorded, or changed behind sitegen's back) is
//! uploaded again. So a no-op publish of N files costs about N/950 LISTs and one GET, all
//! sent at once ([`listing`]): about one round trip.

pub mod apply;
pub mod cloudfront;
pub mod headers;
pub mod listing;
pub mod local;
pub mod lock;
pub mod plan;
pub mod s3;
pub mod state;

use serde::{Deserialize, Serialize};

/// The key, relative to the target's prefix, of the object in which sitegen records what it
/// uploaded. It is never uploaded from the output folder, listed as a site file or deleted.
pub const STATE_KEY: &str = ".sitegen-state.json";

/// The key, relative to the target's prefix, of the publish lock ([`lock`]): present while a
/// publish runs. Like the state object, never uploaded, listed as a site file or deleted by a
/// plan.
pub const LOCK_KEY: &str = ".sitegen-lock.json";

/// Whether `key` (relative to the prefix) is one of sitegen's own objects.
pub fn is_own_key(key: &str) -> bool {
    key == STATE_KEY || key == LOCK_KEY
}

/// The headers sitegen sets on an object; a change of any of them is a change of the object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headers {
    pub content_type: String,
    pub cache_control: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_redirect: Option<String>,
}

/// One file of the output folder, ready to be compared with the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// Relative to the output folder, with `/` separators (`blog/a/index.html`).
    pub path: String,
    /// Lower-case hex sha256 of the bytes.
    pub sha256: String,
    pub size: u64,
    pub headers: Headers,
    /// Fingerprinted by the asset pipeline (its path is in `manifest.json`): its content never
    /// changes under this name, so it is cached forever and never invalidated.
    pub immutable: bool,
}

/// The plan settings of `target`, with the command line's overrides.
pub fn settings(
    target: &crate::config::DeployTarget,
    force: bool,
    max_deletes: Option<usize>,
    now: i64,
) -> plan::PlanSettings {
    plan::PlanSettings {
        target: target.name.clone(),
        bucket: target.bucket.clone(),
        prefix: target.prefix.clone(),
        path_prefix: target
            .path_prefix
            .clone()
            .unwrap_or_else(|| format!("/{}", target.prefix)),
        distributions: target.cloudfront_distribution_ids.clone(),
        max_deletes: max_deletes.unwrap_or(target.max_deletes),
        max_invalidation_paths: target.max_invalidation_paths,
        keep_superseded: target
            .keep_superseded
            .as_deref()
            .and_then(crate::config::parse_duration)
            .unwrap_or(0),
        multipart_threshold: target.multipart_threshold_mib * 1024 * 1024,
        force,
        now,
    }
}

/// How a publish to `target` locks it; `lock_wait` from the command line wins over the
/// target's.
pub fn lock_settings(target: &crate::config::DeployTarget, lock_wait: Option<u64>) -> lock::LockSettings {
    let secs = |text: &str, default: u64| crate::config::parse_duration(text).unwrap_or(default);
    lock::LockSettings {
        target: target.name.clone(),
        lease: std::time::Duration::from_secs(secs(&target.lock_lease, 300).max(1)),
        wait: std::time::Duration::from_secs(lock_wait.unwrap_or_else(|| secs(&target.lock_wait, 0))),
    }
}

/// The shared AWS configuration (credentials, region, endpoints) from the standard chain.
pub async fn sdk_config(target: &crate::config::DeployTarget) -> aws_config::SdkConfig {
    crate::aws::sdk_config(target.region.as_deref()).await
}

/// Lists the target's prefix in `partitions` ([`listing`]) and reads the state object into
/// a [`plan::RemoteIndex`], the GET at the same time as the LISTs. An unreadable state object
/// is not fatal: it is ignored (every file is then uploaded again) and the returned warning
/// says so.
pub async fn read_remote(
    store: &s3::S3Store,
    partitions: &[listing::Partition],
) -> Result<(plan::RemoteIndex, Option<crate::error::Diagnostic>), crate::error::Diagnostic> {
    let getter = store.clone();
    let state = tokio::spawn(async move { getter.get_state().await });
    let (listing, list_requests) = match store.list(partitions).await {
        Ok(listed) => listed,
        Err(e) => {
            state.abort();
            return Err(e);
        }
    };
    let got = state.await.map_err(|e| {
        crate::error::Diagnostic::new(
            format!("s3://{}/{}{STATE_KEY}", store.bucket, store.prefix),
            format!("cannot read the state object: {e}"),
        )
    })?;
    // A failed GET matters only when the LIST shows a state object: a GET of a missing key
    // may answer 403 rather than 404 under a prefix-scoped policy.
    let stored = match got {
        Ok(stored) => stored,
        Err(_) if !listing.iter().any(|o| o.key == STATE_KEY) => {
            store.expect_state(s3::Condition::Absent);
            None
        }
        Err(e) => return Err(e),
    };
    let (state, warning) = match stored {
        None => (None, None),
        Some(bytes) => match state::PublishState::parse(&bytes) {
            Ok(s) => (Some(s), None),
            Err(e) => (
                None,
                Some(crate::error::Diagnostic::new(
                    format!("s3://{}/{}{STATE_KEY}", store.bucket, store.prefix),
                    format!("ignoring an unreadable state object ({e}); every file will be uploaded again"),
                )),
            ),
        },
    };
    Ok((plan::RemoteIndex::new(listing, state, list_requests), warning))
}
