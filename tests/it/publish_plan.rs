//! Snapshots of the printed publish plan for pairs of (local files, bucket index). Pure: no
//! server, no clock; each case reads as "the output folder has..., the bucket has...".

use sha2::{Digest, Sha256};
use sitegen::paths::hex;
use sitegen::publish::headers::{HeaderRules, PathFilter};
use sitegen::publish::plan::{next_state, plan, Outcome, PlanSettings, PublishPlan, RemoteIndex, RemoteObject};
use sitegen::publish::state::{PublishState, Record};
use sitegen::publish::{Headers, LocalFile};

const NOW: i64 = 1_700_000_000; // 2023-11-14 22:13 UTC
const DAY: i64 = 86_400;

fn settings() -> PlanSettings {
    PlanSettings {
        target: "production".into(),
        bucket: "example-site".into(),
        prefix: String::new(),
        path_prefix: "/".into(),
        distributions: vec!["E2EXAMPLE".into()],
        max_deletes: 100,
        max_invalidation_paths: 15,
        keep_superseded: 0,
        multipart_threshold: 64 * 1024 * 1024,
        force: false,
        now: NOW,
    }
}

fn sha(content: &str) -> String {
    hex(&Sha256::digest(content.as_bytes()))
}

fn headers(path: &str, immutable: bool) -> Headers {
    HeaderRules::default().headers(path, immutable, None)
}

/// A file of the output folder; `*` at the end of the path marks it fingerprinted.
fn local(path: &str, content: &str) -> LocalFile {
    let (path, immutable) = match path.strip_suffix('*') {
        Some(p) => (p, true),
        None => (path, false),
    };
    LocalFile {
        path: path.into(),
        sha256: sha(content),
        size: content.len() as u64,
        headers: headers(path, immutable),
        immutable,
    }
}

/// The bucket side of a case.
#[derive(Default)]
struct Bucket {
    listing: Vec<RemoteObject>,
    state: PublishState,
}

impl Bucket {
    /// An object sitegen uploaded and recorded (`*` at the end: fingerprinted).
    fn recorded(mut self, path: &str, content: &str) -> Self {
        let (path, immutable) = match path.strip_suffix('*') {
            Some(p) => (p, true),
            None => (path, false),
        };
        let etag = format!("\"{}\"", &sha(content)[..12]);
        self.listing.push(RemoteObject {
            key: path.into(),
            size: content.len() as u64,
            etag: etag.clone(),
        });
        self.state.objects.insert(
            path.into(),
            Record {
                sha256: sha(content),
                size: content.len() as u64,
                etag,
                headers: headers(path, immutable),
                immutable,
                superseded_at: None,
            },
        );
        self
    }

    /// An object in the bucket that sitegen has no record of.
    fn unrecorded(mut self, path: &str, content: &str) -> Self {
        self.listing.push(RemoteObject {
            key: path.into(),
            size: content.len() as u64,
            etag: format!("\"{}\"", &sha(content)[..12]),
        });
        self
    }

    fn edit_record(mut self, path: &str, f: impl FnOnce(&mut Record)) -> Self {
        f(self.state.objects.get_mut(path).unwrap());
        self
    }

    fn index(self) -> RemoteIndex {
        let pages = self.listing.len().div_ceil(1000).max(1);
        RemoteIndex::new(self.listing, Some(self.state), pages)
    }
}

fn site() -> Vec<LocalFile> {
    vec![
        local("index.html", "<h1>Home</h1>"),
        local("about/index.html", "<h1>About</h1>"),
        local("blog/first/index.html", "<h1>First</h1>"),
        local("atom.xml", "<feed/>"),
        local("sitemap.xml", "<urlset/>"),
        local("css/site.3f2a1b4c5d.css*", "body{}"),
        local("img/logo.png", "PNG"),
        local("robots.txt", "User-agent: *"),
        local("manifest.json", "{\"version\":1}"),
    ]
}

fn published() -> Bucket {
    site().iter().fold(Bucket::default(), |b, f| {
        let path = if f.immutable {
            format!("{}*", f.path)
        } else {
            f.path.clone()
        };
        b.recorded(&path, &content_of(&f.path))
    })
}

fn content_of(path: &str) -> String {
    match path {
        "index.html" => "<h1>Home</h1>",
        "about/index.html" => "<h1>About</h1>",
        "blog/first/index.html" => "<h1>First</h1>",
        "atom.xml" => "<feed/>",
        "sitemap.xml" => "<urlset/>",
        "css/site.3f2a1b4c5d.css" => "body{}",
        "img/logo.png" => "PNG",
        "robots.txt" => "User-agent: *",
        "manifest.json" => "{\"version\":1}",
        _ => unreachable!(),
    }
    .into()
}

fn run(local: &[LocalFile], bucket: Bucket, s: &PlanSettings) -> PublishPlan {
    plan(local, &bucket.index(), &PathFilter::all(), s)
}

#[test]
fn first_publish_to_an_empty_bucket() {
    let p = run(&site(), Bucket::default(), &settings());
    insta::assert_snapshot!(p.table());
}

#[test]
fn nothing_changed() {
    let p = run(&site(), published(), &settings());
    assert!(p.is_noop());
    insta::assert_snapshot!(p.table());
}

#[test]
fn edited_page_new_header_unrecorded_and_tampered_objects() {
    let mut files = site();
    files[1] = local("about/index.html", "<h1>About us</h1>");
    let mut bucket = published()
        // Uploaded before a cache rule changed.
        .edit_record("robots.txt", |r| r.headers.cache_control = "no-cache".into())
        // Replaced by another tool: the listed ETag is not the recorded one.
        .edit_record("atom.xml", |r| r.etag = "\"0000\"".into());
    // Uploaded by something else: in the bucket, not in the state.
    bucket.state.objects.remove("img/logo.png");
    // Owed by a run that failed before invalidating.
    bucket.state.pending_invalidation = vec!["/blog/first/index.html".into()];
    let p = run(&files, bucket, &settings());
    insta::assert_snapshot!(p.table());
}

#[test]
fn renamed_fingerprinted_file_uploads_first_and_deletes_last_without_invalidating_it() {
    let mut files = site();
    files[0] = local("index.html", "<h1>Home</h1><link href=/css/site.9e8d7c6b5a.css>");
    files[5] = local("css/site.9e8d7c6b5a.css*", "body{color:blue}");
    let p = run(&files, published(), &settings());
    insta::assert_snapshot!(p.table());
}

#[test]
fn more_deletes_than_allowed_are_all_held() {
    let bucket = published()
        .recorded("blog/old-1/index.html", "1")
        .recorded("blog/old-2/index.html", "2")
        .recorded("blog/old-3/index.html", "3");
    let s = PlanSettings {
        max_deletes: 2,
        ..settings()
    };
    let p = run(&site(), bucket, &s);
    assert!(p.deletes.is_empty());
    insta::assert_snapshot!(p.table());
}

#[test]
fn many_changed_pages_collapse_into_a_wildcard_not_everything() {
    let mut files = site();
    let mut bucket = published();
    for i in 0..20 {
        let path = format!("blog/post-{i:02}/index.html");
        files.push(local(&path, "new"));
        bucket = bucket.recorded(&path, "old");
    }
    let p = run(&files, bucket, &settings());
    assert_eq!(p.uploads.len(), 20);
    assert_eq!(p.invalidation, ["/blog/*"]);
    let s = PlanSettings {
        max_invalidation_paths: 100,
        ..settings()
    };
    let mut files = site();
    files[1] = local("about/index.html", "x");
    files[2] = local("blog/first/index.html", "x");
    files[3] = local("atom.xml", "x");
    let p = run(&files, published(), &s);
    assert_eq!(
        p.invalidation,
        [
            "/about",
            "/about/",
            "/about/index.html",
            "/atom.xml",
            "/blog/first",
            "/blog/first/",
            "/blog/first/index.html"
        ]
    );
    let p = run(
        &files,
        published(),
        &PlanSettings {
            max_invalidation_paths: 4,
            ..settings()
        },
    );
    assert_eq!(p.invalidation, ["/about", "/about/*", "/atom.xml", "/blog/first*"]);
}

#[test]
fn a_prefix_maps_to_the_distributions_path() {
    // Assets only, under `prod/assets/`, served by an `/assets/*` behaviour whose origin
    // path is `/prod` (the EC2/ELB and EKS/ALB setup with one bucket for several stages).
    let s = PlanSettings {
        prefix: "prod/assets/".into(),
        path_prefix: "/assets/".into(),
        ..settings()
    };
    let files = vec![
        local("css/site.3f2a1b4c5d.css*", "body{}"),
        local("img/logo.png", "PNG2"),
        local("manifest.json", "{\"version\":2}"),
    ];
    let bucket = Bucket::default()
        .recorded("css/site.3f2a1b4c5d.css*", "body{}")
        .recorded("img/logo.png", "PNG")
        .recorded("manifest.json", "{\"version\":1}")
        .recorded("img/unused.png", "old");
    let p = run(&files, bucket, &s);
    assert_eq!(p.uploads[0].key, "prod/assets/img/logo.png");
    assert_eq!(p.deletes[0].key, "prod/assets/img/unused.png");
    insta::assert_snapshot!(p.table());
}

#[test]
fn superseded_fingerprinted_files_are_kept_then_deleted() {
    let s = PlanSettings {
        keep_superseded: DAY as u64,
        ..settings()
    };
    let bucket = published()
        .recorded("css/site.1111111111.css*", "old 1")
        .recorded("css/site.2222222222.css*", "old 2")
        .edit_record("css/site.2222222222.css", |r| r.superseded_at = Some(NOW - 2 * DAY));
    let p = run(&site(), bucket, &s);
    insta::assert_snapshot!(p.table());
    // The grace period starts now and is remembered in the state.
    assert_eq!(p.base_state.objects["css/site.1111111111.css"].superseded_at, Some(NOW));
}

#[test]
fn force_uploads_everything_and_big_files_go_in_parts() {
    let s = PlanSettings {
        force: true,
        multipart_threshold: 8,
        ..settings()
    };
    let p = run(&site(), published(), &s);
    insta::assert_snapshot!(p.table());
}

#[test]
fn excluded_objects_are_neither_uploaded_nor_deleted() {
    let bucket = published().unrecorded("uploads/user-1.jpg", "jpeg");
    let filter = PathFilter::new(&[], &["uploads/**".into()]).unwrap();
    let p = plan(&site(), &bucket.index(), &filter, &settings());
    assert!(p.is_noop(), "{}", p.table());
}

#[test]
fn the_next_state_records_uploads_and_owes_invalidations_that_did_not_happen() {
    let mut files = site();
    files[1] = local("about/index.html", "<h1>About us</h1>");
    let p = run(&files, published(), &settings());
    // Uploaded, but CloudFront was not told.
    let failed = next_state(
        &p,
        &Outcome {
            uploaded: vec![(0, "\"new-etag\"".into())],
            deleted: vec![],
            invalidated: false,
        },
    );
    assert_eq!(failed.objects["about/index.html"].etag, "\"new-etag\"");
    assert_eq!(failed.objects["about/index.html"].sha256, sha("<h1>About us</h1>"));
    assert_eq!(failed.pending_invalidation, ["/about", "/about/", "/about/index.html"]);
    // The next run picks the owed paths up although the page is unchanged by then.
    let mut bucket = published();
    bucket.state = failed;
    bucket.listing.retain(|o| o.key != "about/index.html");
    bucket.listing.push(RemoteObject {
        key: "about/index.html".into(),
        size: "<h1>About us</h1>".len() as u64,
        etag: "\"new-etag\"".into(),
    });
    let p = run(&files, bucket, &settings());
    assert!(p.uploads.is_empty());
    assert_eq!(p.invalidation, ["/about", "/about/", "/about/index.html"]);
    let done = next_state(
        &p,
        &Outcome {
            invalidated: true,
            ..Default::default()
        },
    );
    assert!(done.pending_invalidation.is_empty());
}
