//! The remote image cache (`[images] remote_cache`) against s3s-fs in the test process,
//! through the real binary (credentials from the environment, as on a CI runner): runners
//! share a gallery's entries, a corrupt entry is caught and never published, an unreachable
//! remote is one warning, and two runners uploading one key do not clobber each other.

use std::collections::BTreeMap;

use crate::harness::{snapshot_dir, TestSite};
use crate::images::{png, quadrants, site};
use crate::publish::{aws_env, NO_CLOUDFRONT};
use crate::s3server::{Conditions, S3Server, BUCKET};

/// Images in the gallery.
const N: usize = 4;

/// The gallery's template: each image resized to 40 pixels wide (JPEG: the PNGs have no alpha).
fn template() -> String {
    (0..N)
        .map(|i| format!("{{% set r = resize_image(path='p{i}.png', width=40) %}}{{{{ r.url }}}}\n"))
        .collect()
}

fn remote_config(endpoint: &str) -> String {
    format!("[images]\nremote_cache = {{ bucket = \"{BUCKET}\", prefix = \"img/\", endpoint = \"{endpoint}\" }}\n")
}

/// A runner's checkout of the gallery site: N PNGs, the remote cache at `endpoint` (none
/// when `None`), and its own empty local cache.
fn gallery(endpoint: Option<&str>) -> TestSite {
    let s = site(&template(), &endpoint.map(remote_config).unwrap_or_default());
    for i in 0..N {
        s.write(
            &format!("site/content/gallery/p{i}.png"),
            png(&quadrants(60 + 10 * i as u32, 60)),
        );
    }
    s
}

/// What `sitegen build -v` said and wrote.
struct Built {
    stdout: String,
    /// The lines of stderr that are warnings.
    warnings: Vec<String>,
    public: BTreeMap<String, Vec<u8>>,
}

impl Built {
    /// The `remote image cache` line of `-v`.
    fn remote_line(&self) -> &str {
        self.stdout
            .lines()
            .find(|l| l.contains("remote image cache"))
            .unwrap_or_else(|| panic!("no remote cache line:\n{}", self.stdout))
            .trim()
    }

    /// The `(… made, … from the cache …)` part of the summary.
    fn images(&self) -> &str {
        let line = self.stdout.lines().find(|l| l.starts_with("Built ")).unwrap();
        let from = line.find("processed images (").unwrap() + "processed images ".len();
        let to = from + line[from..].find(')').unwrap() + 1;
        &line[from..to]
    }
}

fn build(s: &TestSite) -> Built {
    let mut c = s.cmd(&["build", "-v"]);
    aws_env(&mut c, NO_CLOUDFRONT);
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the build failed:\n{stdout}\n{stderr}");
    Built {
        stdout,
        warnings: stderr
            .lines()
            .filter(|l| l.starts_with("warning:"))
            .map(str::to_string)
            .collect(),
        public: snapshot_dir(&s.path("public")),
    }
}

/// The entries in the bucket: key → bytes.
fn entries(server: &S3Server) -> BTreeMap<String, Vec<u8>> {
    server
        .objects()
        .into_iter()
        .filter(|(k, _)| k.starts_with("img/"))
        .collect()
}

fn local_entries(s: &TestSite) -> usize {
    walkdir::WalkDir::new(s.path(".sitegen/cache/images"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count()
}

#[test]
fn a_second_runner_downloads_every_image_and_encodes_none() {
    let server = S3Server::start();
    let a = gallery(Some(&server.endpoint));
    let mut check = a.cmd(&["check"]);
    aws_env(&mut check, NO_CLOUDFRONT);
    check.assert().success();
    assert!(
        server.requests().is_empty(),
        "check reached the remote cache: {:?}",
        server.requests()
    );

    let first = build(&a);
    assert_eq!(first.images(), "(4 made, 0 from the cache)");
    assert_eq!(
        first.remote_line(),
        format!("remote image cache s3://{BUCKET}/img/: 4 looked up, 0 found, 0 downloaded, 0 rejected, 4 uploaded, 0 already there")
    );
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    let uploaded = entries(&server);
    assert_eq!(uploaded.len(), N, "{:?}", uploaded.keys());
    let puts: Vec<_> = server.requests().into_iter().filter(|r| r.op == "PutObject").collect();
    assert_eq!(puts.len(), N);
    for p in &puts {
        assert_eq!(p.headers.get("if-none-match").map(String::as_str), Some("*"), "{p:?}");
        assert_eq!(
            p.headers.get("content-type").map(String::as_str),
            Some("image/jpeg"),
            "{p:?}"
        );
        assert!(p.headers.contains_key("x-amz-meta-sha256"), "{p:?}");
        assert_eq!(p.status, Some(200), "{p:?}");
    }

    // Runner B: the same site, an empty local cache.
    let b = gallery(Some(&server.endpoint));
    server.clear_log();
    let second = build(&b);
    assert_eq!(second.images(), "(0 made, 0 from the cache, 4 from the remote cache)");
    assert_eq!(
        second.remote_line(),
        format!("remote image cache s3://{BUCKET}/img/: 4 looked up, 4 found, 4 downloaded, 0 rejected, 0 uploaded, 0 already there")
    );
    assert!(second.warnings.is_empty(), "{:?}", second.warnings);
    assert_eq!(second.public, first.public, "the output is byte for byte runner A's");
    assert_eq!(server.counts(), BTreeMap::from([("GetObject", N)]));
    assert_eq!(local_entries(&b), N, "downloads go into the local cache");

    // B again: the local cache first, the remote not asked.
    server.clear_log();
    let third = build(&b);
    assert_eq!(third.images(), "(0 made, 4 from the cache)");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_eq!(third.public, first.public);
}

#[test]
fn a_corrupt_entry_is_made_again_and_never_published() {
    let server = S3Server::start();
    let a = gallery(Some(&server.endpoint));
    let first = build(&a);
    let (bad, good) = entries(&server).into_iter().next().unwrap();
    server.put_behind_our_back(&bad, b"\x89PNG\r\n\x1a\n not what was uploaded");

    let b = gallery(Some(&server.endpoint));
    server.clear_log();
    let second = build(&b);
    assert_eq!(second.images(), "(1 made, 0 from the cache, 3 from the remote cache)");
    assert_eq!(
        second.remote_line(),
        format!("remote image cache s3://{BUCKET}/img/: 4 looked up, 4 found, 3 downloaded, 1 rejected, 0 uploaded, 0 already there")
    );
    assert_eq!(second.warnings.len(), 1, "{:?}", second.warnings);
    let w = &second.warnings[0];
    assert!(
        w.starts_with(&format!(
            "warning: s3://{BUCKET}/img/: 1 remote image cache entry failed verification and was made again, not used (`{bad}`: its bytes' sha256 is "
        )),
        "{w}"
    );
    assert_eq!(second.public, first.public, "the corrupt bytes are not published");
    assert!(
        !second.public.values().any(|v| v.ends_with(b"not what was uploaded")),
        "published the corrupt entry"
    );
    assert_eq!(
        server.counts().get("PutObject"),
        None,
        "a corrupt entry is left, not overwritten"
    );
    assert_ne!(entries(&server)[&bad], good);
}

#[test]
fn an_unreachable_remote_is_one_warning_and_the_same_output() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let with = build(&gallery(Some(&closed)));
    let without = build(&gallery(None));
    assert_eq!(with.public, without.public);
    assert_eq!(with.images(), "(4 made, 0 from the cache)");
    assert_eq!(with.warnings.len(), 1, "{:?}", with.warnings);
    let w = &with.warnings[0];
    assert!(
        w.starts_with(&format!(
            "warning: s3://{BUCKET}/img/: the remote image cache is unavailable (reading `img/"
        )) && w.contains(&format!("cannot reach {closed}"))
            && w.ends_with("; the build went on without it"),
        "{w}"
    );
    assert!(without.warnings.is_empty(), "{:?}", without.warnings);
}

#[test]
fn a_second_upload_of_a_key_meets_a_failed_condition_and_that_is_fine() {
    let server = S3Server::start();
    let a = gallery(Some(&server.endpoint));
    let first = build(&a);
    let before = entries(&server);

    // Runner B looked before A's uploads landed: every lookup misses, then it uploads too.
    server.fail("GetObject", "*", 404, None);
    server.clear_log();
    let b = gallery(Some(&server.endpoint));
    let second = build(&b);
    assert_eq!(second.images(), "(4 made, 0 from the cache)");
    assert_eq!(
        second.remote_line(),
        format!("remote image cache s3://{BUCKET}/img/: 4 looked up, 0 found, 0 downloaded, 0 rejected, 0 uploaded, 4 already there")
    );
    assert!(second.warnings.is_empty(), "{:?}", second.warnings);
    let statuses: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.op == "PutObject")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![Some(412); N]);
    assert_eq!(entries(&server), before, "runner A's entries stay as they were");
    assert_eq!(second.public, first.public);
}

#[test]
fn a_read_only_runner_looks_up_and_never_uploads() {
    let server = S3Server::start();
    let s = gallery(Some(&server.endpoint));
    s.edit(
        "config.toml",
        "prefix = \"img/\"",
        "prefix = \"img/\", read_only = true",
    );
    let built = build(&s);
    assert_eq!(built.images(), "(4 made, 0 from the cache)");
    assert_eq!(
        built.remote_line(),
        format!("remote image cache s3://{BUCKET}/img/: 4 looked up, 0 found, 0 downloaded, 0 rejected, 0 uploaded, 0 already there")
    );
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    assert_eq!(server.counts(), BTreeMap::from([("GetObject", N)]));
}

#[test]
fn a_server_without_conditional_writes_gets_no_uploads_and_one_warning() {
    let server = S3Server::start_with(Conditions::NotImplemented);
    let without = build(&gallery(None));
    let built = build(&gallery(Some(&server.endpoint)));
    assert_eq!(built.public, without.public);
    assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
    assert!(
        built.warnings[0].starts_with(&format!(
            "warning: s3://{BUCKET}/img/: nothing was uploaded to the remote image cache: the server does not support conditional writes (`If-None-Match: *`), and the cache never overwrites an entry (HTTP 501, NotImplemented"
        )),
        "{}",
        built.warnings[0]
    );
    assert!(entries(&server).is_empty());
}

#[test]
fn server_errors_stop_the_remote_for_the_build_with_one_warning() {
    let server = S3Server::start();
    server.fail("GetObject", "*", 500, None);
    let without = build(&gallery(None));
    let built = build(&gallery(Some(&server.endpoint)));
    assert_eq!(built.public, without.public);
    assert_eq!(built.images(), "(4 made, 0 from the cache)");
    assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
    let w = &built.warnings[0];
    assert!(
        w.starts_with(&format!(
            "warning: s3://{BUCKET}/img/: the remote image cache is unavailable (reading `img/"
        )) && w.contains(": HTTP 500, InternalError: injected by the test); the build went on without it"),
        "{w}"
    );
    let counts = server.counts();
    assert_eq!(
        counts.get("PutObject"),
        None,
        "an unavailable remote gets no uploads: {counts:?}"
    );
    assert!(counts["GetObject"] <= 2 * N, "{counts:?}");
}
