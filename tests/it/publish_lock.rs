//! The publish lock (`PREFIX.sitegen-lock.json`, a lease created with S3 conditional writes)
//! and the state object's compare-and-swap, against s3s-fs (which evaluates `If-None-Match`
//! and `If-Match` on PUT itself; the test layer only makes them atomic, or makes the server
//! ignore or refuse them). The `moto_*` tests run the same against moto's S3, which
//! implements conditional writes too (`#[ignore]`d unless `.ci/run` provides moto).

use std::time::Duration;

use crate::harness::TestSite;
use crate::publish::{
    add_target, edit_post_2, finish, publish_in, spawn_publish, Deploy, Run, LOCK, NO_CLOUDFRONT, STATE,
};
use crate::s3server::{Conditions, Fault, Req, S3Server};

/// The conditional headers of a request, in words.
fn condition(r: &Req) -> String {
    match (r.headers.get("if-none-match"), r.headers.get("if-match")) {
        (Some(v), _) => format!("If-None-Match: {v}"),
        (_, Some(v)) if v.contains("probe") => format!("If-Match: {v}"),
        (_, Some(_)) => "If-Match: ETAG".into(),
        _ => "unconditional".into(),
    }
}

/// The requests on sitegen's own objects, one line each.
fn own_requests(s3: &S3Server) -> String {
    s3.requests()
        .iter()
        .filter(|r| r.key == LOCK || r.key == STATE)
        .map(|r| {
            format!(
                "{:<13} {:<20} {:<34} {}",
                r.op,
                r.key,
                condition(r),
                r.status.map_or("-".into(), |s| s.to_string())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Run ids, hosts, pids and times out of a message.
fn stable(text: &str) -> String {
    let subs = [
        (r"run `[0-9a-f]{16}`", "run `RUN`"),
        (r"host `[^`]*`", "host `HOST`"),
        (r"pid \d+", "pid PID"),
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "TIME"),
        (r"\(in [^)]*\)", "(in LEFT)"),
    ];
    let mut out = text.trim_end().to_string();
    for (re, to) in subs {
        out = regex::Regex::new(re).unwrap().replace_all(&out, to).into_owned();
    }
    out
}

/// The keys whose bytes differ between two snapshots of a bucket.
pub fn differ(
    a: &std::collections::BTreeMap<String, Vec<u8>>,
    b: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

/// A second site (the blog fixture, post 3 edited) publishing to `d`'s bucket.
fn other_site(d: &Deploy) -> TestSite {
    let site = TestSite::fixture("blog");
    add_target(&site, &d.s3, "");
    site.edit(
        "site/content/posts/post-3.md",
        "Body of post 3.",
        "Body of post 3, from the other site.",
    );
    site.cmd(&["build", "-q"]).assert().success();
    site
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sitegen::paths::hex(&sha2::Sha256::digest(bytes))
}

#[test]
fn a_publish_takes_the_lock_checks_the_server_and_releases_it() {
    let d = Deploy::new("");
    d.build();
    d.publish(&[]);
    // The state object is asked for (at the same time as the LIST, so also when there is
    // none), the lock created, the server shown to refuse writes whose condition fails (both
    // probes at once, so in either order), the state written over nothing and then over the
    // intent's ETag, the lock deleted.
    let mut lines: Vec<String> = own_requests(&d.s3).lines().map(String::from).collect();
    lines[2..4].sort();
    insta::assert_snapshot!(lines.join("\n"), @r#"
    GetObject     .sitegen-state.json  unconditional                      404
    PutObject     .sitegen-lock.json   If-None-Match: *                   200
    PutObject     .sitegen-lock.json   If-Match: "sitegen-lock-probe"     412
    PutObject     .sitegen-lock.json   If-None-Match: *                   412
    PutObject     .sitegen-state.json  If-None-Match: *                   200
    PutObject     .sitegen-state.json  If-Match: ETAG                     200
    DeleteObject  .sitegen-lock.json   If-Match: ETAG                     204
    "#);
    assert!(!d.s3.objects().contains_key(LOCK));
    // A publish with nothing to do takes no lock.
    d.s3.clear_log();
    d.publish(&[]);
    assert_eq!(
        own_requests(&d.s3),
        format!("{:<13} {STATE:<20} {:<34} 200", "GetObject", "unconditional")
    );
}

#[test]
fn a_second_publish_fails_naming_the_holder_or_waits_and_never_interleaves() {
    // One upload at a time, so that A is still while it is held.
    let a = Deploy::new("concurrency = 1");
    a.build();
    a.publish(&[]);
    edit_post_2(&a);
    a.build();
    let b = other_site(&a);
    // A stops at its first page (assets uploaded, lock held) until released.
    a.s3.fault_on("PutObject", "posts/post-2/index.html", Fault::Hold, Some(1));
    a.s3.clear_log();
    let run_a = spawn_publish(&a.site, &[]);
    let pid_a = run_a.id();
    assert!(
        a.s3.wait_for_hold(Duration::from_secs(60)),
        "A never reached its first page"
    );

    // B fails at once, saying who holds the lock until when, and changes nothing.
    let before = a.s3.objects();
    let r = publish_in(&b, NO_CLOUDFRONT, &[]);
    assert!(!r.ok, "{}", r.stdout);
    assert!(r.stderr.contains(&format!("pid {pid_a},")), "{}", r.stderr);
    insta::assert_snapshot!(stable(&r.stderr), @"error: s3://site/.sitegen-lock.json: another publish holds the lock: run `RUN` on host `HOST` (pid PID, target `test`), started TIME; its lease runs until TIME (in LEFT). Nothing was changed. To wait for it, run again with `--lock-wait 10m` (or set `lock_wait` in deploy target `test`); if that run is dead, its lease expires at that time and the next publish goes ahead");
    assert_eq!(differ(&a.s3.objects(), &before), Vec::<String>::new());

    // With --lock-wait, B waits for A, then plans again (A changed the bucket) and publishes.
    let (ra, rb) = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| publish_in(&b, NO_CLOUDFRONT, &["--lock-wait", "2m", "-v"]));
        std::thread::sleep(Duration::from_millis(1500));
        a.s3.release();
        (finish(run_a), waiting.join().unwrap())
    });
    assert!(ra.ok, "A failed:\n{}\n{}", ra.stdout, ra.stderr);
    assert!(rb.ok, "B failed:\n{}\n{}", rb.stdout, rb.stderr);
    assert!(
        rb.stdout
            .contains("waiting for the publish lock (up to 2m): held by run `"),
        "{}",
        rb.stdout
    );
    assert!(rb.stdout.contains("planning again"), "{}", rb.stdout);

    // Never interleaved: every upload before A released its lock carries A's bytes, every
    // one after it B's.
    let log = a.s3.requests();
    let released = log
        .iter()
        .position(|r| r.op == "DeleteObject" && r.key == LOCK)
        .expect("A released the lock");
    let local_a = a.local();
    let local_b = crate::harness::snapshot_dir(&b.path("public"));
    let mut seen = (0, 0);
    for (i, r) in log.iter().enumerate() {
        if r.op != "PutObject" || r.key == LOCK || r.key == STATE {
            continue;
        }
        let sha = &r.headers["x-amz-meta-sha256"];
        let (ours, theirs, count) = if i < released {
            (&local_a, &local_b, &mut seen.0)
        } else {
            (&local_b, &local_a, &mut seen.1)
        };
        *count += 1;
        assert_eq!(&sha256_hex(&ours[&r.key]), sha, "{} at request {i}", r.key);
        if let Some(other) = theirs.get(&r.key) {
            assert!(sha256_hex(other) != *sha || ours[&r.key] == *other, "{}", r.key);
        }
    }
    assert!(seen.0 > 0 && seen.1 > 0, "{seen:?}");
    // The bucket is B's site, and the state object says so.
    assert_eq!(a.remote(), local_b);
    let r = publish_in(&b, NO_CLOUDFRONT, &[]);
    assert!(r.stdout.starts_with("Nothing to publish"), "{}", r.stdout);
}

fn lock_record(s3: &S3Server) -> serde_json::Value {
    serde_json::from_slice(&s3.objects()[LOCK]).expect("a lock record")
}

#[test]
fn a_killed_publish_leaves_a_lease_that_expires_and_the_next_one_takes_over() {
    let d = Deploy::new("lock_lease = \"4s\"");
    d.build();
    d.publish(&[]);
    edit_post_2(&d);
    d.build();
    d.s3.fault_on("PutObject", "posts/post-2/index.html", Fault::Hold, Some(1));
    let mut child = spawn_publish(&d.site, &[]);
    assert!(d.s3.wait_for_hold(Duration::from_secs(60)));
    child.kill().unwrap();
    let pid = child.id();
    let killed: Run = finish(child);
    assert!(!killed.ok);
    d.s3.heal();
    // The dead run's lease is still there, and stops the next publish...
    let record = lock_record(&d.s3);
    assert_eq!(record["pid"], pid);
    assert_eq!(record["target"], "test");
    let err = d.publish_fails(&[]);
    assert!(err.contains(&format!("pid {pid},")), "{err}");
    assert!(err.contains("another publish holds the lock"), "{err}");
    // ...until it expires: then the next publish takes it over and finishes the job.
    let out = d.publish(&["--lock-wait", "1m"]);
    assert!(out.contains("took over the publish lock of run `"), "{out}");
    assert!(out.contains(&format!("(pid {pid}, target `test`)")), "{out}");
    assert_eq!(d.remote(), d.local());
    assert!(!d.s3.objects().contains_key(LOCK));
    d.s3.clear_log();
    let out = d.publish(&[]);
    assert!(out.starts_with("Nothing to publish"), "{out}");
}

/// Found by the fault runs (`publish_faults.rs`): a run killed while releasing its lock left
/// the lock in a bucket that needed no publish, and the next publish, having nothing to do,
/// never looked at it. Now it notes a lock still held, waits for it with `--lock-wait`, and
/// removes an expired one.
#[test]
fn a_lock_left_by_a_run_killed_at_its_release_is_cleared_by_a_publish_with_nothing_to_do() {
    let d = Deploy::new("lock_lease = \"2s\"");
    d.build();
    let killed_at_release = || {
        d.s3.fault_on("DeleteObject", LOCK, Fault::Hold, Some(1));
        let mut child = spawn_publish(&d.site, &[]);
        assert!(d.s3.wait_for_hold(Duration::from_secs(60)));
        child.kill().unwrap();
        let pid = child.id();
        finish(child);
        d.s3.heal();
        assert!(d.s3.objects().contains_key(LOCK));
        pid
    };
    let pid = killed_at_release();
    assert_eq!(d.remote().len(), d.local().len() + 1, "the site and the lock");
    // Still held: nothing to do, and a note that a publish seems to be running.
    let out = d.publish(&[]);
    assert!(out.starts_with("Nothing to publish"), "{out}");
    assert!(
        out.contains("Note: another publish is running (run `") && out.contains(&format!("(pid {pid}, ")),
        "{out}"
    );
    // With --lock-wait: waits for it, takes it over, finds nothing to do, releases it.
    let out = d.publish(&["--lock-wait", "1m"]);
    assert!(out.contains("took over the publish lock"), "{out}");
    assert!(out.contains("Nothing to publish"), "{out}");
    assert_eq!(d.remote(), d.local());
    // Expired: removed by a publish with nothing to do.
    edit_post_2(&d);
    d.build();
    killed_at_release();
    std::thread::sleep(Duration::from_millis(2100));
    let out = d.publish(&[]);
    assert!(out.contains("Removed the expired publish lock of run `"), "{out}");
    assert_eq!(d.remote(), d.local());
    d.s3.clear_log();
    d.publish(&[]);
    assert_eq!(d.s3.writes(), []);
}

#[test]
fn a_long_publish_renews_its_lease() {
    // Every answer is slow: the run takes several leases' time and renews as it goes.
    let d = Deploy::new("lock_lease = \"2s\"\nconcurrency = 2");
    d.build();
    d.s3.inject(0, 10_000, Fault::Slow(Duration::from_millis(120)));
    let out = d.publish(&[]);
    assert!(out.starts_with("Published"), "{out}");
    let renewals =
        d.s3.requests()
            .iter()
            .filter(|r| r.op == "PutObject" && r.key == LOCK && condition(r) == "If-Match: ETAG")
            .count();
    assert!(renewals >= 2, "{renewals} renewals:\n{}", own_requests(&d.s3));
    assert_eq!(d.remote(), d.local());
    assert!(!d.s3.objects().contains_key(LOCK));
}

#[test]
fn a_server_without_conditional_writes_gets_a_clear_error_and_lock_false_opts_out() {
    for conditions in [Conditions::Ignore, Conditions::NotImplemented] {
        let d = Deploy::on(S3Server::start_with(conditions), "blog", "");
        d.build();
        let err = d.publish_fails(&[]);
        match conditions {
            Conditions::Ignore => {
                insta::assert_snapshot!(err.trim_end(), @"error: s3://site/.sitegen-lock.json: cannot lock the target: the server does not support S3 conditional writes (it accepted a write with `If-None-Match: *` over an existing object), so a lock cannot keep two publishes apart. Nothing was changed. On such a server, set `lock = false` in deploy target `test` and make sure that two publishes to it never run at once")
            }
            _ => {
                insta::assert_snapshot!(err.trim_end(), @"error: s3://site/.sitegen-lock.json: cannot lock the target: the server does not support S3 conditional writes (it answered HTTP 501, NotImplemented: A header you provided implies functionality that is not implemented), so a lock cannot keep two publishes apart. Nothing was changed. On such a server, set `lock = false` in deploy target `test` and make sure that two publishes to it never run at once")
            }
        }
        assert!(d.s3.objects().is_empty(), "nothing was changed, no lock left");

        // The opt-out: no lock, no conditions, and the publish goes through.
        let config = d.site.read("config.toml");
        d.site.write("config.toml", format!("{config}lock = false\n"));
        d.s3.clear_log();
        d.publish(&[]);
        assert_eq!(d.remote(), d.local());
        let conditional: Vec<Req> = d
            .s3
            .requests()
            .into_iter()
            .filter(|r| r.key == LOCK || r.headers.contains_key("if-match") || r.headers.contains_key("if-none-match"))
            .collect();
        assert_eq!(conditional, []);
    }
}

#[test]
fn lock_settings_are_checked_at_their_key() {
    let d = Deploy::new("lock_lease = \"soon\"\nlock_wait = \"later\"");
    let err = d.publish_fails(&[]);
    insta::assert_snapshot!(err.trim_end(), @r"
    error: config.toml:20:1: deploy target `test`: `lock_lease` `soon` is not a duration such as `5m` or `90s`
    error: config.toml:21:1: deploy target `test`: `lock_wait` `later` is not a duration such as `10m`, `30s` or `0`
    ");
    let d = Deploy::new("");
    d.build();
    let err = d.publish_fails(&["--lock-wait", "a while"]);
    assert!(err.contains("`a while` is not a duration"), "{err}");
}

/// moto's S3 (`SITEGEN_TEST_MOTO`), with a bucket of its own for the test.
mod moto {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_s3::primitives::ByteStream;

    use super::*;

    struct MotoS3 {
        endpoint: String,
        bucket: String,
        client: aws_sdk_s3::Client,
        runtime: tokio::runtime::Runtime,
    }

    impl MotoS3 {
        fn connect(name: &str) -> MotoS3 {
            let endpoint = std::env::var("SITEGEN_TEST_MOTO")
                .unwrap_or_else(|_| panic!("needs moto: run .ci/run, or set SITEGEN_TEST_MOTO to a moto_server URL"));
            let conf = aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(&endpoint)
                .force_path_style(true)
                .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
                .build();
            let m = MotoS3 {
                endpoint,
                bucket: format!("sitegen-{name}-{}", std::process::id()),
                client: aws_sdk_s3::Client::from_conf(conf),
                runtime: tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap(),
            };
            m.runtime
                .block_on(m.client.create_bucket().bucket(&m.bucket).send())
                .unwrap_or_else(|e| panic!("moto refused CreateBucket: {e:?}"));
            m
        }

        fn site(&self) -> TestSite {
            let site = TestSite::fixture("blog");
            let config = site.read("config.toml");
            site.write(
                "config.toml",
                format!(
                    "{config}\n[[deploy.targets]]\nname = \"test\"\nbucket = \"{}\"\nendpoint = \"{}\"\n",
                    self.bucket, self.endpoint
                ),
            );
            site.cmd(&["build", "-q"]).assert().success();
            site
        }

        fn put_lock(&self, host: &str, expires_in: chrono::Duration) {
            let now = chrono::Utc::now();
            let record = serde_json::json!({
                "version": 1, "run": "0123456789abcdef", "host": host, "pid": 7, "target": "test",
                "started": now - chrono::Duration::hours(1), "expires": now + expires_in,
            });
            self.runtime
                .block_on(
                    self.client
                        .put_object()
                        .bucket(&self.bucket)
                        .key(LOCK)
                        .body(ByteStream::from(serde_json::to_vec(&record).unwrap()))
                        .send(),
                )
                .unwrap();
        }

        fn has_lock(&self) -> bool {
            self.runtime
                .block_on(self.client.head_object().bucket(&self.bucket).key(LOCK).send())
                .is_ok()
        }
    }

    #[test]
    #[ignore = "needs moto: run .ci/run (it sets SITEGEN_TEST_MOTO)"]
    fn moto_locks_refuses_a_held_lock_and_takes_over_an_expired_one() {
        let moto = MotoS3::connect("lock");
        let site = moto.site();
        // moto evaluates the conditions: the checks pass, the publish goes through.
        let r = publish_in(&site, NO_CLOUDFRONT, &[]);
        assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
        assert!(!moto.has_lock());
        // A lock held elsewhere stops the next publish.
        site.edit(
            "site/content/posts/post-2.md",
            "Body of post 2.",
            "Body of post 2, edited.",
        );
        site.cmd(&["build", "-q"]).assert().success();
        moto.put_lock("elsewhere", chrono::Duration::hours(1));
        let r = publish_in(&site, NO_CLOUDFRONT, &[]);
        assert!(!r.ok, "{}", r.stdout);
        assert!(
            r.stderr
                .contains("another publish holds the lock: run `0123456789abcdef` on host `elsewhere`"),
            "{}",
            r.stderr
        );
        // An expired one is taken over (If-Match on its ETag), and released at the end.
        moto.put_lock("elsewhere", -chrono::Duration::minutes(1));
        let r = publish_in(&site, NO_CLOUDFRONT, &[]);
        assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stdout
                .contains("took over the publish lock of run `0123456789abcdef`"),
            "{}",
            r.stdout
        );
        assert!(!moto.has_lock());
        let r = publish_in(&site, NO_CLOUDFRONT, &[]);
        assert!(r.stdout.starts_with("Nothing to publish"), "{}", r.stdout);
    }

    #[test]
    #[ignore = "needs moto: run .ci/run (it sets SITEGEN_TEST_MOTO)"]
    fn moto_two_publishes_at_once_one_waits_for_the_other() {
        let moto = MotoS3::connect("race");
        let (a, b) = (moto.site(), moto.site());
        b.edit(
            "site/content/posts/post-3.md",
            "Body of post 3.",
            "Body of post 3, from B.",
        );
        b.cmd(&["build", "-q"]).assert().success();
        // Started together; whichever locks first publishes, the other waits, then plans
        // again and publishes over it.
        let (ra, rb) = std::thread::scope(|scope| {
            let ta = scope.spawn(|| publish_in(&a, NO_CLOUDFRONT, &["--lock-wait", "2m"]));
            let tb = scope.spawn(|| publish_in(&b, NO_CLOUDFRONT, &["--lock-wait", "2m"]));
            (ta.join().unwrap(), tb.join().unwrap())
        });
        assert!(
            ra.ok && rb.ok,
            "{}\n{}\n{}\n{}",
            ra.stdout,
            ra.stderr,
            rb.stdout,
            rb.stderr
        );
        assert!(!moto.has_lock());
        // The bucket is whichever went second, and its state says so: that site has
        // nothing left to publish, the other one has.
        let noop = |site: &TestSite| {
            let r = publish_in(site, NO_CLOUDFRONT, &["--dry-run"]);
            r.stdout.contains("Nothing to do")
        };
        assert!(noop(&a) != noop(&b), "{}\n{}", ra.stdout, rb.stdout);
    }
}
