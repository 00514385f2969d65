//! Runs a [`PublishPlan`] in its safe order: the upload phases one after the other (each one
//! concurrent), then the CloudFront invalidations, then the deletes, then the state object.
//!
//! A failed upload stops the run after its phase: no later phase starts (so no page goes live
//! before the files it names), nothing is invalidated and nothing is deleted. The state object
//! is still written with what did succeed, and with the invalidations still owed, so running
//! the publish again finishes the job instead of starting over.
//!
//! Under a [`Lease`], every step first checks that the lock is still this run's: a run that
//! lost it starts nothing more (not even the state write). The first state write (the
//! intent) is a compare-and-swap against the state the plan was made from; when another
//! publish changed it meanwhile, nothing has been changed yet and [`Report::stale`] asks for
//! a new plan.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::cloudfront::{Invalidation, Invalidator};
use super::lock::Lease;
use super::plan::{intent_state, next_state, Outcome, Phase, PublishPlan};
use super::s3::{S3Store, WriteError};
use crate::error::Diagnostic;

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// Wait until every invalidation is completed before deleting.
    pub wait: bool,
    pub wait_timeout: Duration,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub outcome: Outcome,
    pub failures: Vec<Diagnostic>,
    /// The phase whose failures stopped the run, and how many uploads failed in it.
    pub stopped_in: Option<Phase>,
    pub failed_uploads: usize,
    /// Requests made while applying (the plan's index requests come on top).
    pub requests: usize,
    pub uploaded_bytes: u64,
    pub invalidations: Vec<Invalidation>,
    pub state_written: bool,
    /// The state object changed since the plan read it (another publish): nothing was
    /// changed; plan again.
    pub stale: bool,
    /// The run lost its lock and stopped.
    pub lock_lost: bool,
    pub elapsed: Duration,
}

impl Report {
    /// Whether the run may go on: the lock (if any) is still held. Records the loss once.
    fn still_held(&mut self, lease: Option<&Lease>) -> bool {
        if self.lock_lost {
            return false;
        }
        match lease.and_then(Lease::lost) {
            None => true,
            Some(d) => {
                self.failures.push(d);
                self.lock_lost = true;
                false
            }
        }
    }
}

/// A failed state write in words.
fn state_failure(store: &S3Store, e: WriteError) -> Diagnostic {
    let at = format!("s3://{}/{}{}", store.bucket, store.prefix, super::STATE_KEY);
    match e {
        WriteError::Failed(d) => d,
        WriteError::Conflict => Diagnostic::new(
            at,
            "cannot write the state object: another publish changed it while this one ran; run `sitegen publish` again to finish",
        ),
        WriteError::Unsupported(m) => Diagnostic::new(
            at,
            format!("cannot write the state object: the server does not support conditional writes ({m}); set `lock = false` in the deploy target to publish without the lock"),
        ),
    }
}

/// Applies `plan`, reading the files from `dir`. `event` receives one line per action, in
/// the order the actions finish (for `--verbose` and the tests).
pub async fn apply(
    plan: &PublishPlan,
    store: Arc<S3Store>,
    cdn: Option<&Invalidator>,
    dir: &Path,
    opts: &ApplyOptions,
    lease: Option<&Lease>,
    event: &(dyn Fn(&str) + Sync),
) -> Report {
    let start = Instant::now();
    let mut report = Report::default();
    let bar = progress_bar(plan, opts.progress);
    let say = |line: &str| bar.suspend(|| event(line));

    // First say what this run is about to change, so that a run that dies half-way (or a
    // server whose LIST has no ETags) leaves the next one knowing which keys to write again.
    let intent = intent_state(plan);
    if let Some(st) = &intent {
        report.requests += 1;
        let written = if report.still_held(lease) {
            store.put_state(st).await
        } else {
            Ok(())
        };
        if report.lock_lost || written.is_err() {
            bar.finish_and_clear();
            match written {
                Err(WriteError::Conflict) => report.stale = true,
                Err(e) => report.failures.push(state_failure(&store, e)),
                Ok(()) => {}
            }
            report.elapsed = start.elapsed();
            return report;
        }
    }

    for phase in Phase::ALL {
        let indexes: Vec<usize> = (0..plan.uploads.len())
            .filter(|&i| plan.uploads[i].phase == phase)
            .collect();
        if indexes.is_empty() {
            continue;
        }
        let sem = Arc::new(Semaphore::new(opts.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        let part_size = plan.settings.multipart_threshold;
        for i in indexes {
            if !report.still_held(lease) {
                break;
            }
            let permit = sem
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let store = store.clone();
            let upload = plan.uploads[i].clone();
            let file = dir.join(&upload.path);
            tasks.spawn(async move {
                let r = store.upload(&upload, &file, part_size).await;
                drop(permit);
                (i, r)
            });
            // Collect what finished meanwhile, so the bar moves while the phase runs.
            while let Some(done) = tasks.try_join_next() {
                record(done, plan, &mut report, &bar, &say);
            }
        }
        while let Some(done) = tasks.join_next().await {
            record(done, plan, &mut report, &bar, &say);
        }
        if !report.failures.is_empty() {
            report.stopped_in = Some(phase).filter(|_| report.failed_uploads > 0);
            break;
        }
    }
    bar.finish_and_clear();

    let uploads_ok = report.failures.is_empty() && report.still_held(lease);
    let mut invalidated = plan.invalidation.is_empty();
    if uploads_ok && !plan.invalidation.is_empty() {
        if let Some(cdn) = cdn {
            invalidated = invalidate(plan, cdn, opts, &mut report, &say).await;
        }
    }
    report.outcome.invalidated = invalidated;

    if uploads_ok && invalidated && !plan.deletes.is_empty() && report.still_held(lease) {
        let keys: Vec<String> = plan.deletes.iter().map(|d| d.key.clone()).collect();
        let (done, failed, requests) = store.delete(&keys).await;
        report.requests += requests;
        let done: std::collections::BTreeSet<String> = done.into_iter().collect();
        for (i, d) in plan.deletes.iter().enumerate() {
            if done.contains(&d.key) {
                report.outcome.deleted.push(i);
                say(&format!("deleted {}", d.path));
            }
        }
        report.failures.extend(failed);
    }

    let state = next_state(plan, &report.outcome);
    if state != *intent.as_ref().unwrap_or(&plan.previous_state) && report.still_held(lease) {
        report.requests += 1;
        match store.put_state(&state).await {
            Ok(()) => report.state_written = true,
            Err(e) => report.failures.push(state_failure(&store, e)),
        }
    }
    report.elapsed = start.elapsed();
    report
}

type Done = Result<(usize, Result<(String, usize), Diagnostic>), tokio::task::JoinError>;

fn record(done: Done, plan: &PublishPlan, report: &mut Report, bar: &ProgressBar, say: &dyn Fn(&str)) {
    match done {
        Ok((i, Ok((etag, requests)))) => {
            let u = &plan.uploads[i];
            report.requests += requests;
            report.uploaded_bytes += u.size;
            report.outcome.uploaded.push((i, etag));
            bar.inc(u.size);
            bar.set_message(format!(
                "{}/{} files",
                report.outcome.uploaded.len(),
                plan.uploads.len()
            ));
            say(&format!(
                "uploaded {} ({}, {})",
                u.path,
                u.phase.name(),
                u.reason.name()
            ));
        }
        Ok((i, Err(e))) => {
            report.requests += 1;
            report.failed_uploads += 1;
            say(&format!("FAILED {}", plan.uploads[i].path));
            report.failures.push(e);
        }
        Err(e) => {
            report.failed_uploads += 1;
            report.failures.push(Diagnostic::new(
                "sitegen publish",
                format!("an upload task failed: {e}"),
            ))
        }
    }
}

async fn invalidate(
    plan: &PublishPlan,
    cdn: &Invalidator,
    opts: &ApplyOptions,
    report: &mut Report,
    say: &dyn Fn(&str),
) -> bool {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(plan.invalidation.join("\n").as_bytes());
    let reference = format!("sitegen-{}-{}", plan.settings.now, &crate::paths::hex(&digest)[..16]);
    let mut ok = true;
    for dist in &plan.settings.distributions {
        report.requests += 1;
        match cdn.invalidate(dist, &plan.invalidation, &reference).await {
            Ok(inv) => {
                say(&format!(
                    "invalidated {} paths in {} ({}): {}",
                    plan.invalidation.len(),
                    dist,
                    inv.id,
                    plan.invalidation.join(" ")
                ));
                report.invalidations.push(inv);
            }
            Err(e) => {
                report.failures.push(e);
                ok = false;
            }
        }
    }
    if ok && opts.wait {
        for inv in &report.invalidations.clone() {
            match cdn.wait(inv, opts.wait_timeout).await {
                Ok(n) => {
                    report.requests += n;
                    say(&format!("invalidation {} in {} completed", inv.id, inv.distribution));
                }
                Err(e) => {
                    report.failures.push(e);
                    ok = false;
                }
            }
        }
    }
    ok
}

fn progress_bar(plan: &PublishPlan, visible: bool) -> ProgressBar {
    if !visible || plan.uploads.is_empty() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(plan.upload_bytes), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {wide_bar} {bytes}/{total_bytes} {msg}")
            .expect("the template is valid"),
    );
    bar.set_message(format!("0/{} files", plan.uploads.len()));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
