//! The publish lock: a lease object `PREFIX.sitegen-lock.json` beside the state object, so
//! that two publishes to the same bucket and prefix never interleave.
//!
//! A publish that is about to change the bucket creates the object with `If-None-Match: *`
//! (of two writers, S3 lets exactly one succeed), naming itself (run id, host, pid, target)
//! and when its lease expires. While the run goes on it renews the lease a third of the way
//! into it, with `If-Match` and the ETag it wrote last; at the end, failed or not, it deletes
//! the object. A second publish finds the object and waits for it (`lock_wait`,
//! `--lock-wait`) or fails with a message that names the holder and the expiry. A lease
//! whose holder died (killed, out of power) is taken over once it has expired, again with
//! `If-Match`, so of several runs waiting only one gets it.
//!
//! None of this holds on a server that ignores the conditions, so the holder first checks
//! that the server evaluates them: a second `If-None-Match: *` and an `If-Match` with a wrong
//! ETag must both be refused. A server that accepts either, or answers 501, gets an error
//! that says so (and names the `lock = false` opt-out), never a run that only looks locked.
//!
//! The lease is one half; the other is the state object's compare-and-swap
//! ([`super::s3::S3Store::put_state`]): a holder that lost its lease without noticing (a
//! process paused past its expiry) cannot overwrite the state of the run that took over, and
//! stops as soon as [`Lease::lost`] says so. Expiry times are the holder's clock, so the
//! machines that publish must agree on the time to well within a lease.

use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::s3::{Condition, S3Store, WriteError};
use crate::error::Diagnostic;

pub const VERSION: u32 = 1;

/// What the lock object says: who holds the lock, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub version: u32,
    /// A random id of the run, so a run recognises its own lock (e.g. after a retried PUT).
    pub run: String,
    pub host: String,
    pub pid: u32,
    /// The deploy target's name.
    pub target: String,
    pub started: DateTime<Utc>,
    /// After this time the lock is free to take over.
    pub expires: DateTime<Utc>,
}

impl LockRecord {
    pub fn parse(bytes: &[u8]) -> Result<LockRecord, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("the lock record serialises")
    }

    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires
    }

    /// `run `3f2a9c0112ab4d5e` on host `ci-7` (pid 4242, target `production`), started
    /// 2025-06-01 12:00:00 UTC; its lease runs until 2025-06-01 12:05:00 UTC (in 4m 10s)`.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let left = (self.expires - now).to_std().unwrap_or_default();
        let left = humantime::format_duration(Duration::from_secs(left.as_secs().max(1)));
        format!(
            "run `{}` on host `{}` (pid {}, target `{}`), started {}; its lease runs until {} (in {left})",
            self.run,
            self.host,
            self.pid,
            self.target,
            self.started.format("%Y-%m-%d %H:%M:%S UTC"),
            self.expires.format("%Y-%m-%d %H:%M:%S UTC"),
        )
    }
}

/// How a publish locks its target.
#[derive(Debug, Clone)]
pub struct LockSettings {
    /// The deploy target's name (for the record and the messages).
    pub target: String,
    /// How long the lease lasts unless renewed.
    pub lease: Duration,
    /// How long to wait for a lock held by another run before giving up.
    pub wait: Duration,
}

/// A held lock, renewed in the background until [`Lease::release`].
pub struct Lease {
    shared: Arc<Shared>,
    renewer: tokio::task::JoinHandle<()>,
}

struct Shared {
    store: Arc<S3Store>,
    lease: Duration,
    /// The record as last written, and its ETag.
    held: Mutex<(LockRecord, String)>,
    /// Why the lock is no longer this run's, once it is not.
    lost: Mutex<Option<String>>,
    stop: Notify,
}

impl Shared {
    fn held(&self) -> (LockRecord, String) {
        self.held.lock().expect("never poisoned").clone()
    }

    fn set_held(&self, record: LockRecord, etag: String) {
        *self.held.lock().expect("never poisoned") = (record, etag);
    }

    fn lose(&self, why: String) {
        self.lost.lock().expect("never poisoned").get_or_insert(why);
    }
}

/// A run id: 16 hex digits from the process's random hash keys, the pid and the time.
fn run_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_i64(Utc::now().timestamp_nanos_opt().unwrap_or(0));
    format!("{:016x}", h.finish())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn lease_until(lease: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
}

/// Takes the lock of `store`'s prefix, waiting up to `settings.wait` for another run's lock
/// to go. `say` receives a line when the run starts waiting.
pub async fn acquire(
    store: Arc<S3Store>,
    settings: &LockSettings,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Lease, Diagnostic> {
    let started = Utc::now();
    let deadline = tokio::time::Instant::now() + settings.wait;
    let poll = (settings.lease / 4).clamp(Duration::from_millis(100), Duration::from_secs(2));
    let mut record = LockRecord {
        version: VERSION,
        run: run_id(),
        host: host_name(),
        pid: std::process::id(),
        target: settings.target.clone(),
        started,
        expires: lease_until(settings.lease),
    };
    let key = store.url(&store.lock_key());
    let unsupported = |how: &str| unsupported(&key, &settings.target, how);
    let mut waiting_for = None;
    loop {
        record.expires = lease_until(settings.lease);
        let etag = match store.put_lock(record.to_bytes(), &Condition::Absent).await {
            Ok(etag) => Some(etag),
            Err(WriteError::Unsupported(m)) => return Err(unsupported(&format!("it answered {m}"))),
            Err(WriteError::Failed(d)) => return Err(d),
            Err(WriteError::Conflict) => None,
        };
        let etag = match etag {
            Some(etag) => etag,
            None => {
                // Someone has it: who, and is it still theirs?
                let Some((bytes, etag)) = store.get_lock().await? else {
                    continue; // released meanwhile
                };
                let theirs = LockRecord::parse(&bytes).map_err(|e| {
                    Diagnostic::new(
                        &key,
                        format!("cannot read the publish lock ({e}); if no publish is running, delete the object"),
                    )
                })?;
                if theirs.run == record.run {
                    // This run's own create, retried after its answer was lost.
                    record = theirs;
                    etag
                } else if theirs.expired(Utc::now()) {
                    match store.put_lock(record.to_bytes(), &Condition::ETag(etag)).await {
                        Ok(etag) => {
                            say(&format!(
                                "took over the publish lock of {}, which expired",
                                theirs.describe(Utc::now())
                            ));
                            etag
                        }
                        Err(WriteError::Conflict) => continue, // renewed, released or taken
                        Err(WriteError::Unsupported(m)) => return Err(unsupported(&format!("it answered {m}"))),
                        Err(WriteError::Failed(d)) => return Err(d),
                    }
                } else {
                    let now = tokio::time::Instant::now();
                    if now >= deadline {
                        return Err(held(&key, &theirs, settings, waiting_for.is_some()));
                    }
                    if waiting_for.as_deref() != Some(theirs.run.as_str()) {
                        say(&format!(
                            "waiting for the publish lock (up to {}): held by {}",
                            humantime::format_duration(settings.wait),
                            theirs.describe(Utc::now())
                        ));
                        waiting_for = Some(theirs.run.clone());
                    }
                    tokio::time::sleep(poll.min(deadline - now)).await;
                    continue;
                }
            }
        };
        verify_conditions(&store, &record, &etag, &unsupported).await?;
        let shared = Arc::new(Shared {
            store,
            lease: settings.lease,
            held: Mutex::new((record, etag)),
            lost: Mutex::new(None),
            stop: Notify::new(),
        });
        let renewer = tokio::spawn(renew(shared.clone()));
        return Ok(Lease { shared, renewer });
    }
}

/// What a publish with nothing to do found in the lock object its LIST showed.
pub enum Found {
    /// Released meanwhile.
    Gone,
    /// Another run's, still valid.
    Held(LockRecord),
    /// Expired (its run died) and now deleted.
    Removed(LockRecord),
}

/// Reads the lock object; deletes it if it has expired (with `If-Match`, so a lock taken over
/// or renewed meanwhile stays), so that a killed run's lease does not outlive it in a bucket
/// that needs no publish. An unreadable lock object is left alone.
pub async fn clear_expired(store: &S3Store) -> Result<Found, Diagnostic> {
    let Some((bytes, etag)) = store.get_lock().await? else {
        return Ok(Found::Gone);
    };
    let key = store.url(&store.lock_key());
    let record = LockRecord::parse(&bytes).map_err(|e| {
        Diagnostic::new(
            &key,
            format!("cannot read the publish lock ({e}); if no publish is running, delete the object"),
        )
    })?;
    if !record.expired(Utc::now()) {
        return Ok(Found::Held(record));
    }
    match store.delete_lock(&etag).await {
        Ok(()) => Ok(Found::Removed(record)),
        Err(WriteError::Conflict) => Ok(Found::Gone),
        Err(WriteError::Unsupported(m)) => Err(Diagnostic::new(
            &key,
            format!("cannot delete the expired publish lock: {m}"),
        )),
        Err(WriteError::Failed(d)) => Err(d),
    }
}

/// Checks that the server refuses writes whose condition fails; one that accepts them would
/// let two publishes "hold" the lock at once. The probes write the lock's own bytes again, so
/// a server that ignores them changes nothing; its lock is then removed. They are sent
/// together: the server decides each on its own.
async fn verify_conditions(
    store: &S3Store,
    record: &LockRecord,
    etag: &str,
    unsupported: &dyn Fn(&str) -> Diagnostic,
) -> Result<(), Diagnostic> {
    if etag.is_empty() {
        let _ = store.delete_lock("").await;
        return Err(unsupported("it wrote the lock without returning an ETag"));
    }
    let probes = [
        (Condition::Absent, "`If-None-Match: *` over an existing object"),
        (
            Condition::ETag("\"sitegen-lock-probe\"".into()),
            "`If-Match` with an ETag the object does not have",
        ),
    ];
    // Both at once (a round trip less); their answers are read in order.
    let bytes = record.to_bytes();
    let answers = tokio::join!(
        store.put_lock(bytes.clone(), &probes[0].0),
        store.put_lock(bytes, &probes[1].0)
    );
    for ((_, what), answer) in probes.iter().zip([answers.0, answers.1]) {
        match answer {
            Err(WriteError::Conflict) => {}
            Ok(_) => {
                let _ = store.delete_lock("").await;
                return Err(unsupported(&format!("it accepted a write with {what}")));
            }
            Err(WriteError::Unsupported(m)) => {
                let _ = store.delete_lock("").await;
                return Err(unsupported(&format!("it answered {m}")));
            }
            Err(WriteError::Failed(d)) => {
                let _ = store.delete_lock(etag).await;
                return Err(d);
            }
        }
    }
    Ok(())
}

fn unsupported(key: &str, target: &str, how: &str) -> Diagnostic {
    Diagnostic::new(
        key,
        format!(
            "cannot lock the target: the server does not support S3 conditional writes ({how}), so a lock cannot keep two publishes apart. Nothing was changed. On such a server, set `lock = false` in deploy target `{target}` and make sure that two publishes to it never run at once"
        ),
    )
}

fn held(key: &str, theirs: &LockRecord, settings: &LockSettings, waited: bool) -> Diagnostic {
    let waited = if waited {
        format!(" (waited {})", humantime::format_duration(settings.wait))
    } else {
        String::new()
    };
    Diagnostic::new(
        key,
        format!(
            "another publish holds the lock{waited}: {}. Nothing was changed. To wait for it, run again with `--lock-wait 10m` (or set `lock_wait` in deploy target `{}`); if that run is dead, its lease expires at that time and the next publish goes ahead",
            theirs.describe(Utc::now()),
            settings.target,
        ),
    )
}

/// Renews the lease a third of the way into it (so a slow start does not eat the margin)
/// until stopped or lost; after a failed attempt, again soon, while the lease lasts.
async fn renew(shared: Arc<Shared>) {
    let third = shared.lease / 3;
    let retry = (shared.lease / 10).max(Duration::from_millis(100));
    let (record, _) = shared.held();
    let written = record.expires - chrono::Duration::from_std(shared.lease).unwrap_or(chrono::Duration::zero());
    let mut wait = (written - Utc::now()).to_std().unwrap_or_default() + third;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shared.stop.notified() => return,
        }
        wait = retry;
        let (record, etag) = shared.held();
        let mut next = record.clone();
        next.expires = lease_until(shared.lease);
        match shared.store.put_lock(next.to_bytes(), &Condition::ETag(etag)).await {
            Ok(etag) => {
                shared.set_held(next, etag);
                wait = third;
            }
            Err(WriteError::Conflict) => match shared.store.get_lock().await {
                Ok(Some((bytes, etag))) => match LockRecord::parse(&bytes) {
                    // This renewal landed; its answer was lost and the retry found it.
                    Ok(r) if r.run == record.run => {
                        shared.set_held(r, etag);
                        wait = third;
                    }
                    Ok(r) => {
                        shared.lose(format!("it was taken over by {}", r.describe(Utc::now())));
                        return;
                    }
                    Err(e) => {
                        shared.lose(format!("the lock object was replaced by something else ({e})"));
                        return;
                    }
                },
                Ok(None) => {
                    shared.lose("the lock object was deleted by someone else".into());
                    return;
                }
                Err(_) => {} // again soon, while the lease lasts
            },
            Err(WriteError::Unsupported(m)) => {
                shared.lose(format!("the server refused to renew it: {m}"));
                return;
            }
            Err(WriteError::Failed(d)) => {
                if record.expired(Utc::now()) {
                    shared.lose(format!("it could not be renewed before it expired: {}", d.message));
                    return;
                }
            }
        }
    }
}

impl Lease {
    /// Why this run no longer holds the lock, once it does not: taken over, deleted, or
    /// expired before a renewal got through. A run that lost it must change nothing more.
    pub fn lost(&self) -> Option<Diagnostic> {
        let why = self.shared.lost.lock().expect("never poisoned").clone();
        let (record, _) = self.shared.held();
        let why = why.or_else(|| {
            record
                .expired(Utc::now())
                .then(|| "its lease expired before a renewal got through".to_string())
        })?;
        Some(Diagnostic::new(
            self.shared.store.url(&self.shared.store.lock_key()),
            format!("this publish lost the lock: {why}; it stopped and changed nothing more. Run `sitegen publish` again to finish"),
        ))
    }

    /// Stops renewing and deletes the lock object (only if it is still this run's). An error
    /// here leaves the bucket as it is; the lease then expires on its own.
    pub async fn release(self) -> Result<(), Diagnostic> {
        self.shared.stop.notify_one();
        let _ = self.renewer.await;
        let store = &self.shared.store;
        let (record, etag) = self.shared.held();
        let key = store.url(&store.lock_key());
        let failed = |d: Diagnostic| {
            Diagnostic::new(
                &key,
                format!(
                    "cannot release the publish lock ({}); it expires by itself at {}",
                    d.message,
                    record.expires.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            )
        };
        match store.delete_lock(&etag).await {
            Ok(()) => Ok(()),
            Err(WriteError::Conflict) => match store.get_lock().await.map_err(failed)? {
                // Still this run's, under another ETag (a renewal whose answer was lost).
                Some((bytes, etag)) if LockRecord::parse(&bytes).is_ok_and(|r| r.run == record.run) => {
                    match store.delete_lock(&etag).await {
                        Ok(()) | Err(WriteError::Conflict) => Ok(()),
                        Err(WriteError::Unsupported(m)) => Err(failed(Diagnostic::new(&key, m))),
                        Err(WriteError::Failed(d)) => Err(failed(d)),
                    }
                }
                // Another run's now, or gone: not this run's to delete.
                _ => Ok(()),
            },
            // A server without conditional deletes (the lock is still this run's: it was
            // renewed until a moment ago).
            Err(WriteError::Unsupported(_)) => match store.delete_lock("").await {
                Ok(()) | Err(WriteError::Conflict) => Ok(()),
                Err(WriteError::Unsupported(m)) => Err(failed(Diagnostic::new(&key, m))),
                Err(WriteError::Failed(d)) => Err(failed(d)),
            },
            Err(WriteError::Failed(d)) => Err(failed(d)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_record_round_trips_and_says_who_holds_it_until_when() {
        let r = LockRecord {
            version: VERSION,
            run: "3f2a9c0112ab4d5e".into(),
            host: "ci-7".into(),
            pid: 4242,
            target: "production".into(),
            started: at("2025-06-01T12:00:00Z"),
            expires: at("2025-06-01T12:05:00Z"),
        };
        assert_eq!(LockRecord::parse(&r.to_bytes()).unwrap(), r);
        let now = at("2025-06-01T12:00:50Z");
        assert!(!r.expired(now));
        assert!(r.expired(at("2025-06-01T12:05:00Z")));
        assert_eq!(
            r.describe(now),
            "run `3f2a9c0112ab4d5e` on host `ci-7` (pid 4242, target `production`), started 2025-06-01 12:00:00 UTC; its lease runs until 2025-06-01 12:05:00 UTC (in 4m 10s)"
        );
        assert!(LockRecord::parse(b"{}").is_err());
    }

    #[test]
    fn run_ids_differ() {
        assert_ne!(run_id(), run_id());
        assert_eq!(run_id().len(), 16);
    }
}
