//! The publish plan: local files + the bucket's index → what to upload (in which phase), what
//! to delete, which URL paths to invalidate, and what it costs. Pure: no I/O, no clock (the
//! time comes in as [`PlanSettings::now`]), so every case is a unit test and `--dry-run` prints
//! exactly what a real run would do.
//!
//! The order is the point. Phase 1 uploads fingerprinted files and images, phase 2 the other
//! non-HTML files, phase 3 HTML, feeds and sitemaps, so no page is ever live before the files
//! it names. Then CloudFront is told what changed, and only then is anything deleted, so a page
//! still cached somewhere keeps finding its assets.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::headers::PathFilter;
use super::state::{PublishState, Record};
use super::{Headers, LocalFile};

/// S3's LIST and DeleteObjects page size.
pub const PAGE: usize = 1000;

/// One object of a LIST, with its key relative to the target's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    pub key: String,
    pub size: u64,
    pub etag: String,
}

/// What sitegen knows about one object in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEntry {
    pub size: u64,
    pub etag: String,
    /// The state object's record, only when it still matches the listed size and ETag.
    pub record: Option<Record>,
}

/// The bucket under the target's prefix, as a LIST and the state object describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteIndex {
    /// Key relative to the prefix → entry. Never holds the state object or the lock.
    pub objects: BTreeMap<String, RemoteEntry>,
    /// The state object as it was read (empty when there was none).
    pub state: PublishState,
    /// LIST requests the index took, GETs of the state object (sent whether or not the
    /// LIST shows one), and whether a state object was found.
    pub list_requests: usize,
    pub state_requests: usize,
    pub state_found: bool,
    /// Whether the LIST showed a lock object (a publish running, or one that died).
    pub lock_listed: bool,
}

impl RemoteIndex {
    /// Joins a listing with the state object: a record is kept only for an object whose size
    /// and ETag are still the ones sitegen recorded.
    pub fn new(listing: Vec<RemoteObject>, state: Option<PublishState>, list_requests: usize) -> RemoteIndex {
        let state_found = state.is_some();
        let lock_listed = listing.iter().any(|o| o.key == super::LOCK_KEY);
        let state = state.unwrap_or_default();
        let objects = listing
            .into_iter()
            .filter(|o| !super::is_own_key(&o.key))
            .map(|o| {
                let record = state
                    .objects
                    .get(&o.key)
                    .filter(|r| r.size == o.size && same_etag(&r.etag, &o.etag))
                    // A key an unfinished run was changing holds unknown bytes.
                    .filter(|_| !state.changing.contains(&o.key))
                    .cloned();
                (
                    o.key,
                    RemoteEntry {
                        size: o.size,
                        etag: o.etag,
                        record,
                    },
                )
            })
            .collect();
        RemoteIndex {
            objects,
            state,
            list_requests,
            state_requests: 1,
            state_found,
            lock_listed,
        }
    }
}

/// ETags compare without their quotes. A server whose LIST carries no ETag (some
/// S3-compatible ones) leaves only the size to compare; S3 itself always sends one.
fn same_etag(recorded: &str, listed: &str) -> bool {
    let (a, b) = (recorded.trim_matches('"'), listed.trim_matches('"'));
    a.is_empty() || b.is_empty() || a == b
}

/// Everything about the target the plan needs, resolved from config and flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSettings {
    pub target: String,
    pub bucket: String,
    /// Key prefix, empty or ending in `/`.
    pub prefix: String,
    /// URL path the distributions serve the prefix under, starting and ending with `/`.
    pub path_prefix: String,
    pub distributions: Vec<String>,
    pub max_deletes: usize,
    pub max_invalidation_paths: usize,
    /// Seconds to keep superseded fingerprinted files; 0 deletes them at once.
    pub keep_superseded: u64,
    /// Files of at least this many bytes go up in parts of this size.
    pub multipart_threshold: u64,
    /// Upload every file, even unchanged ones.
    pub force: bool,
    /// Unix seconds, for the grace period of superseded files.
    pub now: i64,
}

/// Upload phases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Fingerprinted files, images, fonts, media.
    Assets,
    /// Every other non-HTML file (CSS and JS that are not fingerprinted, `manifest.json`, ...).
    Other,
    /// HTML, feeds, sitemaps: the files that name the others.
    Pages,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Assets, Phase::Other, Phase::Pages];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Assets => "assets",
            Phase::Other => "other",
            Phase::Pages => "pages",
        }
    }

    pub fn of(file: &LocalFile) -> Phase {
        let ext = file
            .path
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let essence = file.headers.content_type.split(';').next().unwrap_or("").trim();
        if file.immutable
            || ["image/", "font/", "audio/", "video/"]
                .iter()
                .any(|t| essence.starts_with(t))
        {
            Phase::Assets
        } else if matches!(ext.as_str(), "html" | "htm" | "xhtml" | "xml" | "rss" | "atom") || essence == "text/html" {
            Phase::Pages
        } else {
            Phase::Other
        }
    }
}

/// Why a file is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not in the bucket.
    New,
    /// Other bytes than the bucket's.
    Changed,
    /// Same bytes, other headers (e.g. a new cache rule).
    Headers,
    /// In the bucket but not recorded by sitegen, or changed behind its back.
    Unrecorded,
    /// Unchanged, uploaded because of `--force`.
    Forced,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Changed => "changed",
            Reason::Headers => "headers",
            Reason::Unrecorded => "unrecorded",
            Reason::Forced => "forced",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Relative to the output folder (and to the prefix).
    pub path: String,
    /// The full S3 key.
    pub key: String,
    pub size: u64,
    pub sha256: String,
    pub headers: Headers,
    pub immutable: bool,
    pub phase: Phase,
    pub reason: Reason,
    /// 1 for a single PUT, the part count for a multipart upload.
    pub parts: u64,
    /// URL paths CloudFront must forget once this is uploaded.
    pub invalidate: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub path: String,
    pub key: String,
    pub size: u64,
    pub immutable: bool,
    pub invalidate: Vec<String>,
}

/// A superseded fingerprinted file kept for the grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub path: String,
    /// Unix seconds after which a publish deletes it.
    pub until: i64,
}

/// Requests a plan costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    /// LIST pages and the GET of the state object, already spent while planning.
    pub index: usize,
    /// PUT, or CreateMultipartUpload + UploadPart + CompleteMultipartUpload.
    pub upload: usize,
    /// DeleteObjects (up to 1,000 keys each).
    pub delete: usize,
    /// PUT of the state object.
    pub state: usize,
    /// CreateInvalidation, one per distribution.
    pub invalidation: usize,
}

impl Requests {
    pub fn total(&self) -> usize {
        self.index + self.upload + self.delete + self.state + self.invalidation
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPlan {
    pub settings: PlanSettings,
    /// Ordered by phase, then path.
    pub uploads: Vec<Upload>,
    pub deletes: Vec<Delete>,
    /// Deletes withheld because there are more than `max_deletes`: none of them happens.
    pub held_deletes: Vec<Delete>,
    pub kept: Vec<Kept>,
    /// URL paths to invalidate in every distribution, collapsed into wildcards past
    /// `max_invalidation_paths`.
    pub invalidation: Vec<String>,
    /// Local files the bucket already has, with the same bytes and headers.
    pub unchanged: usize,
    pub upload_bytes: u64,
    pub requests: Requests,
    /// The state as it was read.
    pub previous_state: PublishState,
    /// The records to keep: every listed object whose record still matches, with updated
    /// grace-period marks. [`next_state`] adds what a run uploaded and removes what it deleted.
    pub base_state: PublishState,
}

impl PublishPlan {
    /// Whether applying the plan changes anything at all.
    pub fn is_noop(&self) -> bool {
        self.uploads.is_empty() && self.deletes.is_empty() && self.invalidation.is_empty() && self.requests.state == 0
    }

    pub fn uploads_in(&self, phase: Phase) -> impl Iterator<Item = &Upload> {
        self.uploads.iter().filter(move |u| u.phase == phase)
    }
}

/// URL paths (percent-encoded) a CloudFront distribution serves `path` under:
/// `a/index.html` is also `a/` and `a`.
pub fn url_paths(path_prefix: &str, path: &str) -> Vec<String> {
    let full = crate::paths::encode_url_path(&format!("{path_prefix}{path}"));
    let mut v = vec![full.clone()];
    if path == "index.html" || path.ends_with("/index.html") {
        let dir = full.strip_suffix("index.html").unwrap_or(&full).to_string();
        if dir != "/" {
            v.push(dir.trim_end_matches('/').to_string());
        }
        v.push(dir);
    }
    v
}

/// Reduces `paths` to at most `max` entries with wildcards, as specific as possible: the
/// deepest common prefixes are collapsed first (a page's `/a`, `/a/` and `/a/index.html`
/// become `/a*`, the pages of a folder `/blog/*`), biggest groups first within a depth, and
/// only as many as needed. `/*` comes only when nothing narrower gets under `max`.
pub fn collapse(paths: BTreeSet<String>, max: usize) -> Vec<String> {
    // A prefix that may replace the paths starting with it, and its depth: a folder `/a/b/`
    // is deeper than the page stem `/a/b`, which is deeper than the folder `/a/`.
    fn candidates(path: &str) -> Vec<(usize, String)> {
        let core = path.strip_suffix('*').unwrap_or(path);
        let mut v: Vec<(usize, String)> = core
            .match_indices('/')
            .map(|(i, _)| (2 * core[..=i].matches('/').count(), core[..=i].to_string()))
            .collect();
        let last = core.rsplit('/').next().unwrap_or("");
        let stem = if let Some(s) = core.strip_suffix("/index.html") {
            Some(s)
        } else if let Some(s) = core.strip_suffix('/') {
            Some(s)
        } else if !last.contains('.') {
            Some(core)
        } else {
            None
        };
        if let Some(s) = stem.filter(|s| !s.is_empty()) {
            v.push((2 * s.matches('/').count() + 1, s.to_string()));
        }
        v
    }
    let max = max.max(1);
    let mut set = paths;
    let deepest = set
        .iter()
        .flat_map(|p| candidates(p))
        .map(|(d, _)| d)
        .max()
        .unwrap_or(0);
    for depth in (0..=deepest).rev() {
        if set.len() <= max {
            break;
        }
        let mut groups: BTreeMap<String, usize> = BTreeMap::new();
        for p in &set {
            for (d, c) in candidates(p) {
                if d == depth {
                    *groups.entry(c).or_default() += 1;
                }
            }
        }
        let mut groups: Vec<(String, usize)> = groups.into_iter().filter(|(_, n)| *n > 1).collect();
        groups.sort_by(|(a, n), (b, m)| m.cmp(n).then(a.cmp(b)));
        for (prefix, _) in groups {
            if set.len() <= max {
                break;
            }
            let wildcard = format!("{prefix}*");
            let members: Vec<String> = set
                .iter()
                .filter(|p| p.starts_with(&prefix) && **p != wildcard)
                .cloned()
                .collect();
            if members.len() + usize::from(set.contains(&wildcard)) < 2 {
                continue;
            }
            for m in members {
                set.remove(&m);
            }
            set.insert(wildcard);
        }
    }
    set.into_iter().collect()
}

/// Diffs the local files (already filtered by include/exclude) against the bucket.
pub fn plan(local: &[LocalFile], remote: &RemoteIndex, filter: &PathFilter, s: &PlanSettings) -> PublishPlan {
    // The records to keep, filled in by both sides of the diff (their paths never overlap).
    let mut base = PublishState::default();
    let changes = classify(local, remote, s, &mut base);
    let removals = removals(remote, &changes.local_paths, filter, s, &mut base);
    base.changing = still_changing(remote, &changes.uploads, &removals.deletes);
    let invalidation = invalidation(remote, &changes.uploads, &removals.deletes, s);
    let requests = requests(remote, &base, &changes.uploads, &removals.deletes, &invalidation, s);
    PublishPlan {
        settings: s.clone(),
        upload_bytes: changes.uploads.iter().map(|u| u.size).sum(),
        uploads: changes.uploads,
        deletes: removals.deletes,
        held_deletes: removals.held,
        kept: removals.kept,
        invalidation,
        unchanged: changes.unchanged,
        requests,
        previous_state: remote.state.clone(),
        base_state: base,
    }
}

/// The keys an earlier run left `changing` that stay so after this plan's run: those still
/// in the bucket (their bytes are unknown) that the plan neither uploads nor deletes (an
/// excluded key, or deletes held back by `max_deletes`). A key no longer listed holds no
/// bytes at all, so it is dropped; kept, it would stay `changing` for ever, and every
/// publish after would write the state again.
fn still_changing(remote: &RemoteIndex, uploads: &[Upload], deletes: &[Delete]) -> BTreeSet<String> {
    let attempted: BTreeSet<&str> = uploads
        .iter()
        .map(|u| u.path.as_str())
        .chain(deletes.iter().map(|d| d.path.as_str()))
        .collect();
    remote
        .state
        .changing
        .iter()
        .filter(|k| remote.objects.contains_key(*k) && !attempted.contains(k.as_str()))
        .cloned()
        .collect()
}

/// The local side of the diff.
struct Changes<'a> {
    /// Ordered by phase, then path.
    uploads: Vec<Upload>,
    unchanged: usize,
    local_paths: BTreeSet<&'a str>,
}

/// Classifies every local file against the remote index: what to upload and why, in phase
/// order. A file with a matching record keeps it in `base` (no longer superseded).
fn classify<'a>(
    local: &'a [LocalFile],
    remote: &RemoteIndex,
    s: &PlanSettings,
    base: &mut PublishState,
) -> Changes<'a> {
    let mut uploads = Vec::new();
    let mut unchanged = 0;
    let mut local_paths = BTreeSet::new();
    for f in local {
        local_paths.insert(f.path.as_str());
        let entry = remote.objects.get(&f.path);
        if let Some(RemoteEntry { record: Some(r), .. }) = entry {
            let mut kept = r.clone();
            kept.superseded_at = None;
            kept.immutable = f.immutable;
            base.objects.insert(f.path.clone(), kept);
        }
        match reason(f, entry, s.force) {
            Some(reason) => uploads.push(upload(f, reason, s)),
            None => unchanged += 1,
        }
    }
    uploads.sort_by(|a, b| a.phase.cmp(&b.phase).then_with(|| a.path.cmp(&b.path)));
    Changes {
        uploads,
        unchanged,
        local_paths,
    }
}

/// Why `f` is uploaded, given what the bucket has under its path; `None` when it is not.
fn reason(f: &LocalFile, entry: Option<&RemoteEntry>, force: bool) -> Option<Reason> {
    match entry {
        None => Some(Reason::New),
        Some(RemoteEntry { record: None, .. }) => Some(Reason::Unrecorded),
        Some(RemoteEntry { record: Some(r), .. }) => {
            if r.sha256 != f.sha256 {
                Some(Reason::Changed)
            } else if r.headers != f.headers {
                Some(Reason::Headers)
            } else if force {
                Some(Reason::Forced)
            } else {
                None
            }
        }
    }
}

fn upload(f: &LocalFile, reason: Reason, s: &PlanSettings) -> Upload {
    let parts = if f.size >= s.multipart_threshold {
        f.size.div_ceil(s.multipart_threshold)
    } else {
        1
    };
    Upload {
        path: f.path.clone(),
        key: format!("{}{}", s.prefix, f.path),
        size: f.size,
        sha256: f.sha256.clone(),
        headers: f.headers.clone(),
        immutable: f.immutable,
        phase: Phase::of(f),
        reason,
        parts,
        invalidate: match reason {
            Reason::Changed | Reason::Headers | Reason::Unrecorded => invalidate(s, &f.path, f.immutable),
            Reason::New | Reason::Forced => Vec::new(),
        },
    }
}

/// The URL paths to invalidate when `path` changes or goes: none without a distribution, and
/// none for a fingerprinted file, whose name is never served with other bytes.
fn invalidate(s: &PlanSettings, path: &str, immutable: bool) -> Vec<String> {
    if !s.distributions.is_empty() && !immutable {
        url_paths(&s.path_prefix, path)
    } else {
        Vec::new()
    }
}

/// The remote side of the diff.
struct Removals {
    deletes: Vec<Delete>,
    /// All of the deletes, when there are more than `max_deletes` (then `deletes` is empty).
    held: Vec<Delete>,
    kept: Vec<Kept>,
}

/// The objects no local file has: left alone when the filter excludes them, kept for the grace
/// period when they are superseded fingerprinted files, deleted otherwise (or all held, past
/// `max_deletes`). Their records go into `base`.
fn removals(
    remote: &RemoteIndex,
    local_paths: &BTreeSet<&str>,
    filter: &PathFilter,
    s: &PlanSettings,
    base: &mut PublishState,
) -> Removals {
    let mut deletes = Vec::new();
    let mut kept = Vec::new();
    for (path, e) in &remote.objects {
        if local_paths.contains(path.as_str()) {
            continue;
        }
        if !filter.allows(path) {
            // Not this target's business: leave the object, and keep its record.
            if let Some(r) = &e.record {
                base.objects.insert(path.clone(), r.clone());
            }
            continue;
        }
        let immutable = e.record.as_ref().is_some_and(|r| r.immutable);
        if let Some((r, until)) = e.record.as_ref().and_then(|r| in_grace(r, s)) {
            base.objects.insert(path.clone(), r);
            kept.push(Kept {
                path: path.clone(),
                until,
            });
            continue;
        }
        if let Some(r) = &e.record {
            base.objects.insert(path.clone(), r.clone());
        }
        deletes.push(Delete {
            path: path.clone(),
            key: format!("{}{}", s.prefix, path),
            size: e.size,
            immutable,
            invalidate: invalidate(s, path, immutable),
        });
    }
    let held = if deletes.len() > s.max_deletes {
        std::mem::take(&mut deletes)
    } else {
        Vec::new()
    };
    Removals { deletes, held, kept }
}

/// For a superseded fingerprinted file still in its grace period: its record, marked with
/// when it was first found superseded, and the time after which it is deleted.
fn in_grace(r: &Record, s: &PlanSettings) -> Option<(Record, i64)> {
    if !r.immutable || s.keep_superseded == 0 {
        return None;
    }
    let since = r.superseded_at.unwrap_or(s.now);
    let until = since.saturating_add(s.keep_superseded as i64);
    if s.now >= until {
        return None;
    }
    let mut r = r.clone();
    r.superseded_at = Some(since);
    Some((r, until))
}

/// The URL paths to invalidate in every distribution: those still owed from the last run and
/// those of the changed and deleted files, collapsed to `max_invalidation_paths`.
fn invalidation(remote: &RemoteIndex, uploads: &[Upload], deletes: &[Delete], s: &PlanSettings) -> Vec<String> {
    let mut raw: BTreeSet<String> = BTreeSet::new();
    if !s.distributions.is_empty() {
        raw.extend(remote.state.pending_invalidation.iter().cloned());
        raw.extend(uploads.iter().flat_map(|u| u.invalidate.iter().cloned()));
        raw.extend(deletes.iter().flat_map(|d| d.invalidate.iter().cloned()));
    }
    collapse(raw, s.max_invalidation_paths)
}

/// What the plan costs in requests; the state object is written when anything changes,
/// records included.
fn requests(
    remote: &RemoteIndex,
    base: &PublishState,
    uploads: &[Upload],
    deletes: &[Delete],
    invalidation: &[String],
    s: &PlanSettings,
) -> Requests {
    let mut settled = base.clone();
    settled.pending_invalidation.clear();
    let state_write = !uploads.is_empty() || !deletes.is_empty() || settled != remote.state;
    Requests {
        index: remote.list_requests + remote.state_requests,
        upload: uploads
            .iter()
            .map(|u| if u.parts > 1 { u.parts as usize + 2 } else { 1 })
            .sum(),
        delete: deletes.len().div_ceil(PAGE),
        state: usize::from(state_write),
        invalidation: if invalidation.is_empty() {
            0
        } else {
            s.distributions.len()
        },
    }
}

/// What a run of the plan achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Indexes into [`PublishPlan::uploads`] that succeeded, with the ETag S3 returned.
    pub uploaded: Vec<(usize, String)>,
    /// Indexes into [`PublishPlan::deletes`] that succeeded.
    pub deleted: Vec<usize>,
    /// Whether every distribution accepted the invalidation (or there was nothing to do).
    pub invalidated: bool,
}

/// The state written before a publish changes anything: the bucket's state as it was, with
/// every key the plan will upload or delete marked `changing` (and those an earlier run left
/// changing that are still in the bucket). `None` when the plan changes no object.
pub fn intent_state(plan: &PublishPlan) -> Option<PublishState> {
    if plan.uploads.is_empty() && plan.deletes.is_empty() {
        return None;
    }
    let mut st = plan.previous_state.clone();
    st.changing = attempted(plan);
    Some(st)
}

/// The keys left `changing` by earlier runs that stay so, and every key the plan changes.
fn attempted(plan: &PublishPlan) -> BTreeSet<String> {
    let mut keys = plan.base_state.changing.clone();
    keys.extend(plan.uploads.iter().map(|u| u.path.clone()));
    keys.extend(plan.deletes.iter().map(|d| d.path.clone()));
    keys
}

/// The state object after a run: the plan's base, plus what was uploaded, minus what was
/// deleted, and the invalidations still owed if CloudFront was not told.
pub fn next_state(plan: &PublishPlan, outcome: &Outcome) -> PublishState {
    let mut st = plan.base_state.clone();
    // Still unconfirmed: what an earlier run left, and what this one attempted, less what
    // this one finished.
    st.changing = attempted(plan);
    let mut owed: BTreeSet<String> = plan.previous_state.pending_invalidation.iter().cloned().collect();
    for (i, etag) in &outcome.uploaded {
        let u = &plan.uploads[*i];
        st.changing.remove(&u.path);
        st.objects.insert(
            u.path.clone(),
            Record {
                sha256: u.sha256.clone(),
                size: u.size,
                etag: etag.clone(),
                headers: u.headers.clone(),
                immutable: u.immutable,
                superseded_at: None,
            },
        );
        owed.extend(u.invalidate.iter().cloned());
    }
    for i in &outcome.deleted {
        let d = &plan.deletes[*i];
        st.changing.remove(&d.path);
        st.objects.remove(&d.path);
        owed.extend(d.invalidate.iter().cloned());
    }
    st.pending_invalidation = if outcome.invalidated || plan.settings.distributions.is_empty() {
        Vec::new()
    } else {
        owed.into_iter().collect()
    };
    st
}

/// `1.2 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl PublishPlan {
    /// The plan as `--dry-run` prints it: one line per action, in the order they run.
    pub fn table(&self) -> String {
        let mut out = self.table_heading();
        let mut rows = Rows::default();
        for phase in Phase::ALL {
            rows.section(phase.name(), self.upload_rows(phase));
        }
        rows.section("cloudfront", self.invalidation_rows());
        rows.section("deletes", self.delete_rows().chain(self.kept_rows()));
        if rows.rows.is_empty() {
            let _ = writeln!(
                out,
                "Nothing to do: {} unchanged.",
                plural(self.unchanged, "file", "files")
            );
        } else {
            rows.write_to(&mut out);
        }
        self.write_held(&mut out);
        self.write_summary(&mut out);
        out
    }

    /// `Publish plan for target `NAME`: s3://BUCKET/PREFIX -> CloudFront ...`, and a newline.
    fn table_heading(&self) -> String {
        let s = &self.settings;
        let mut out = String::new();
        let _ = write!(
            out,
            "Publish plan for target `{}`: s3://{}/{}",
            s.target, s.bucket, s.prefix
        );
        if !s.distributions.is_empty() {
            let _ = write!(
                out,
                " -> CloudFront {} at `{}`",
                s.distributions.join(", "),
                s.path_prefix
            );
        }
        out.push('\n');
        out
    }

    fn upload_rows(&self, phase: Phase) -> impl Iterator<Item = Row> + '_ {
        self.uploads_in(phase).map(|u| {
            let parts = if u.parts > 1 {
                format!(" ({} parts)", u.parts)
            } else {
                String::new()
            };
            [
                String::new(),
                "upload".into(),
                u.reason.name().into(),
                human_bytes(u.size),
                format!("{}{parts}", u.path),
            ]
        })
    }

    fn invalidation_rows(&self) -> impl Iterator<Item = Row> + '_ {
        self.invalidation.iter().map(|p| {
            [
                String::new(),
                "invalidate".into(),
                String::new(),
                String::new(),
                p.clone(),
            ]
        })
    }

    fn delete_rows(&self) -> impl Iterator<Item = Row> + '_ {
        self.deletes.iter().map(|d| {
            [
                String::new(),
                "delete".into(),
                if d.immutable { "superseded" } else { "gone" }.into(),
                human_bytes(d.size),
                d.path.clone(),
            ]
        })
    }

    fn kept_rows(&self) -> impl Iterator<Item = Row> + '_ {
        self.kept.iter().map(|k| {
            let until = chrono::DateTime::from_timestamp(k.until, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            [
                String::new(),
                "keep".into(),
                "superseded".into(),
                String::new(),
                format!("{} (until {until})", k.path),
            ]
        })
    }

    /// The line saying that the deletes are held, if they are.
    fn write_held(&self, out: &mut String) {
        if !self.held_deletes.is_empty() {
            let _ = writeln!(
                out,
                "  HELD: {} would be deleted, more than max_deletes ({}): nothing will be deleted (allow with `--max-deletes {}`)",
                plural(self.held_deletes.len(), "object", "objects"),
                self.settings.max_deletes,
                self.held_deletes.len()
            );
        }
    }

    /// The last line: counts, bytes and requests.
    fn write_summary(&self, out: &mut String) {
        let r = &self.requests;
        let _ = writeln!(
            out,
            "{} ({}), {}, {}, {} unchanged; requests: {} to read the bucket, about {} more",
            plural(self.uploads.len(), "upload", "uploads"),
            human_bytes(self.upload_bytes),
            plural(self.deletes.len(), "delete", "deletes"),
            plural(self.invalidation.len(), "invalidation path", "invalidation paths"),
            self.unchanged,
            r.index,
            r.total() - r.index,
        );
    }
}

/// One line of the table: step, action, reason, size, path.
type Row = [String; 5];

/// The rows of the table, in sections numbered in the order they run.
#[derive(Default)]
struct Rows {
    rows: Vec<Row>,
    step: usize,
}

impl Rows {
    /// Adds a section; its first row is labelled with its number and `name` (`2 other`). An
    /// empty section adds nothing and takes no number.
    fn section(&mut self, name: &str, rows: impl Iterator<Item = Row>) {
        let start = self.rows.len();
        self.rows.extend(rows);
        if self.rows.len() > start {
            self.step += 1;
            self.rows[start][0] = format!("{} {name}", self.step);
        }
    }

    /// The rows as aligned columns (the size right-aligned), each line indented by two spaces.
    fn write_to(&self, out: &mut String) {
        let mut w = [0usize; 5];
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        for r in &self.rows {
            let line = format!(
                "  {:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3]
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_html_is_also_its_folder() {
        assert_eq!(url_paths("/", "index.html"), ["/index.html", "/"]);
        assert_eq!(url_paths("/", "a/b/index.html"), ["/a/b/index.html", "/a/b", "/a/b/"]);
        assert_eq!(url_paths("/static/", "css/a b*.css"), ["/static/css/a%20b%2A.css"]);
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn collapse_keeps_wildcards_as_narrow_as_the_limit_allows() {
        let paths = set(&["/a.html", "/blog/x/", "/blog/x", "/blog/y/", "/blog/y", "/docs/z.html"]);
        assert_eq!(collapse(paths.clone(), 6), paths.into_iter().collect::<Vec<_>>());
        let paths = set(&["/a.html", "/blog/x/", "/blog/x", "/blog/y/", "/blog/y", "/docs/z.html"]);
        assert_eq!(
            collapse(paths.clone(), 4),
            ["/a.html", "/blog/x*", "/blog/y*", "/docs/z.html"]
        );
        assert_eq!(collapse(paths, 3), ["/a.html", "/blog/*", "/docs/z.html"]);
        let paths = set(&["/a/b/c/1", "/a/b/c/2", "/a/b/d/1", "/a/b/d/2"]);
        assert_eq!(collapse(paths.clone(), 2), ["/a/b/c/*", "/a/b/d/*"]);
        assert_eq!(collapse(paths, 1), ["/a/b/*"]);
        assert_eq!(collapse(set(&["/x.html", "/y/z.html"]), 1), ["/*"]);
        assert_eq!(collapse(set(&["/", "/index.html", "/a.html"]), 2), ["/*"]);
    }
}
