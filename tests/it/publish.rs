//! `sitegen publish` against a real S3-protocol server (s3s-fs, in-process, SigV4 on), run
//! through the real binary. CloudFront is never reached here: the tests point
//! `AWS_ENDPOINT_URL_CLOUDFRONT` at a closed local port, so any invalidation attempt would
//! fail the publish. The invalidations themselves are tested against moto in
//! `publish_cloudfront.rs`.

use std::collections::BTreeMap;

use assert_cmd::Command;

use crate::harness::{snapshot_dir, TestSite};
use crate::s3server::{Fault, Req, S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};

/// sitegen's own objects in the bucket (without a prefix).
pub const STATE: &str = ".sitegen-state.json";
pub const LOCK: &str = ".sitegen-lock.json";

/// A closed port on loopback: nothing listens on the discard port here.
pub const NO_CLOUDFRONT: &str = "http://127.0.0.1:9";

/// The environment of a publish: only the test server's credentials, nothing from the machine.
pub fn aws_env(c: &mut Command, cloudfront: &str) {
    for v in AWS_UNSET {
        c.env_remove(v);
    }
    for (k, v) in aws_vars(cloudfront) {
        c.env(k, v);
    }
}

/// [`aws_env`] for a publish run as a child process (to be killed).
pub fn aws_env_std(c: &mut std::process::Command, cloudfront: &str) {
    for v in AWS_UNSET {
        c.env_remove(v);
    }
    c.envs(aws_vars(cloudfront));
}

const AWS_UNSET: [&str; 9] = [
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_DEFAULT_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];

fn aws_vars(cloudfront: &str) -> [(&'static str, String); 7] {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/nonexistent/sitegen-test".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/sitegen-test".into()),
        ("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.into()),
    ]
}

/// `sitegen publish ARGS` in `site` as a child process, its output piped.
pub fn spawn_publish(site: &TestSite, args: &[&str]) -> std::process::Child {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sitegen"));
    c.current_dir(site.root())
        .arg("publish")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    aws_env_std(&mut c, NO_CLOUDFRONT);
    c.spawn().unwrap()
}

/// The output of a child publish (that may have been killed).
pub fn finish(child: std::process::Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The blog fixture with a deploy target on a fresh S3 server.
pub struct Deploy {
    pub site: TestSite,
    pub s3: S3Server,
    pub cloudfront: String,
}

pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Deploy {
    /// `target` is extra TOML for the `[[deploy.targets]]` entry named `test`.
    pub fn new(target: &str) -> Deploy {
        Deploy::on(S3Server::start(), "blog", target)
    }

    /// The fixture site `fixture` with a deploy target `test` (extra TOML `target`) on `s3`.
    pub fn on(s3: S3Server, fixture: &str, target: &str) -> Deploy {
        let site = TestSite::fixture(fixture);
        add_target(&site, &s3, target);
        Deploy {
            site,
            s3,
            cloudfront: NO_CLOUDFRONT.into(),
        }
    }

    pub fn build(&self) -> &Self {
        self.site.cmd(&["build", "-q"]).assert().success();
        self
    }

    /// Adds a fingerprinted file to the output, as the asset pipeline will: the file, and its
    /// entry in `public/manifest.json`.
    pub fn asset(&self, logical: &str, path: &str, body: &str) -> &Self {
        self.site.write(&format!("public/{path}"), body);
        let mp = self.site.path("public/manifest.json");
        let mut m: serde_json::Value = std::fs::read(&mp)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| serde_json::json!({"version": 1, "assets": {}}));
        m["assets"][logical] = serde_json::json!({
            "url": format!("https://cdn.example.com/{path}"),
            "path": path,
            "integrity": "sha384-test",
            "size": body.len(),
            "content_type": "text/css",
        });
        std::fs::write(mp, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        publish_in(&self.site, &self.cloudfront, args)
    }

    /// A publish that must succeed; returns stdout.
    pub fn publish(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(r.ok, "publish failed:\nstdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        r.stdout
    }

    /// A publish that must fail; returns stderr.
    pub fn publish_fails(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(!r.ok, "publish succeeded but should have failed:\n{}", r.stdout);
        r.stderr
    }

    /// The output folder, as the bucket should hold it.
    pub fn local(&self) -> BTreeMap<String, Vec<u8>> {
        snapshot_dir(&self.site.path("public"))
    }

    /// The bucket without sitegen's state object (and without a lock, which a finished
    /// publish never leaves: it would show here).
    pub fn remote(&self) -> BTreeMap<String, Vec<u8>> {
        let mut m = self.s3.objects();
        m.remove(STATE);
        m
    }

    /// Keys of the objects uploaded since the log was cleared, sorted.
    pub fn uploaded(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .s3
            .requests()
            .into_iter()
            .filter(|r| matches!(r.op, "PutObject" | "CreateMultipartUpload") && r.key != STATE && r.key != LOCK)
            .map(|r| r.key)
            .collect();
        v.sort();
        v
    }

    /// The writes since the log was cleared, without those of the lock (`publish_lock.rs`
    /// tests those).
    pub fn writes_but_lock(&self) -> Vec<Req> {
        self.s3.writes().into_iter().filter(|r| r.key != LOCK).collect()
    }
}

/// Adds the deploy target `test` on `s3` (extra TOML `target`) to `site`'s config.
pub fn add_target(site: &TestSite, s3: &S3Server, target: &str) {
    let mut config = site.read("config.toml");
    config.push_str(&format!(
        "\n[[deploy.targets]]\nname = \"test\"\nbucket = \"{BUCKET}\"\nendpoint = \"{}\"\n{target}\n",
        s3.endpoint
    ));
    site.write("config.toml", config);
}

/// `sitegen publish ARGS` in `site`, with only the test server's credentials.
pub fn publish_in(site: &TestSite, cloudfront: &str, args: &[&str]) -> Run {
    let mut all = vec!["publish"];
    all.extend_from_slice(args);
    let mut c = site.cmd(&all);
    aws_env(&mut c, cloudfront);
    let out = c.output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Paths whose bytes differ between two snapshots of the output (added or changed).
fn changed(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

pub fn edit_post_2(d: &Deploy) {
    d.site.write(
        "site/content/posts/post-2.md",
        d.site
            .read("site/content/posts/post-2.md")
            .replace("title = \"Post 2\"", "title = \"Post 2, retitled\"")
            .replace("Body of post 2.", "Body of post 2, edited."),
    );
}

#[test]
fn first_publish_uploads_everything_with_the_right_headers() {
    let d = Deploy::new("");
    d.build()
        .asset("css/app.scss", "css/app.0123456789.css", "body{color:red}");
    let out = d.publish(&[]);
    assert!(
        out.starts_with("Published to `test` (s3://site/): 44 uploaded"),
        "{out}"
    );
    assert_eq!(d.remote(), d.local());
    assert_eq!(d.s3.counts().get("DeleteObjects"), None);
    // What was sent with each object.
    let mut rows: Vec<String> =
        d.s3.requests()
            .into_iter()
            .filter(|r| r.op == "PutObject" && r.key != LOCK)
            .map(|r| {
                let h = |n: &str| r.headers.get(n).cloned().unwrap_or_else(|| "-".into());
                let sha = if r.key == ".sitegen-state.json" {
                    h("x-amz-meta-sha256")
                } else {
                    // The recorded sha256 is the one of the file.
                    let local = d.local()[&r.key].clone();
                    use sha2::Digest;
                    let want = sha2::Sha256::digest(&local)
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>();
                    assert_eq!(h("x-amz-meta-sha256"), want, "{}", r.key);
                    "sha256 ok".into()
                };
                format!(
                    "{:<34} {:<40} {:<38} {}{}",
                    r.key,
                    h("content-type"),
                    h("cache-control"),
                    sha,
                    r.headers
                        .get("x-amz-website-redirect-location")
                        .map(|l| format!(" redirect {l}"))
                        .unwrap_or_default()
                )
            })
            .collect();
    rows.sort();
    insta::assert_snapshot!(rows.join("\n"));
}

#[test]
fn a_second_publish_without_changes_makes_no_put_delete_or_invalidation() {
    // A distribution is configured, and CloudFront is unreachable: an invalidation attempt
    // would fail the run.
    let d = Deploy::new("cloudfront_distribution_ids = [\"E2TESTDIST\"]");
    d.build()
        .asset("css/app.scss", "css/app.0123456789.css", "body{color:red}");
    d.publish(&[]);
    d.s3.clear_log();
    let out = d.publish(&[]);
    insta::assert_snapshot!(out.split(" (").next().unwrap(), @"Nothing to publish to `test`: 44 files unchanged");
    // 43 files: one LIST page, one GET of the state object, nothing else.
    assert_eq!(d.s3.counts(), BTreeMap::from([("GetObject", 1), ("ListObjectsV2", 1)]));
    // A rebuild rewrites nothing either (unchanged files keep their bytes).
    d.build()
        .asset("css/app.scss", "css/app.0123456789.css", "body{color:red}");
    d.s3.clear_log();
    d.publish(&[]);
    assert_eq!(d.s3.writes(), []);
}

/// From a `-v` publish: how many files it read, and how many of them it hashed.
fn read_and_hashed(out: &str) -> (usize, usize) {
    let line = out.lines().find(|l| l.starts_with("Read ")).expect(out);
    let number = |s: &str| s.split(' ').next().unwrap().parse().unwrap();
    let (_, hashed) = line.split_once(": ").unwrap();
    (number(&line["Read ".len()..]), number(hashed))
}

#[test]
fn a_publish_after_a_build_hashes_only_the_files_the_build_s_record_does_not_vouch_for() {
    use std::io::Write;
    let d = Deploy::new("");
    d.build();
    let n = d.local().len();
    assert_eq!(read_and_hashed(&d.publish(&["-v"])), (n, 0));

    // Touched (a new mtime, same bytes): that file is hashed again, and nothing goes up.
    let touched = d.site.path("public/docs/a/index.html");
    std::fs::File::options()
        .write(true)
        .open(&touched)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    d.s3.clear_log();
    let out = d.publish(&["-v"]);
    assert_eq!(read_and_hashed(&out), (n, 1), "{out}");
    assert_eq!(d.s3.writes(), []);

    // Rewritten behind the record's back with other bytes of the same size, in place with
    // its mtime put back, and through a rename (a new inode) with its mtime put back: the
    // ctime and the inode show it, so both are hashed and uploaded.
    let mut changed = Vec::new();
    for (rel, in_place) in [("posts/post-1/index.html", true), ("posts/post-3/index.html", false)] {
        let p = d.site.path(&format!("public/{rel}"));
        let old = std::fs::read(&p).unwrap();
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        let new = String::from_utf8(old.clone()).unwrap().replacen("Post", "Tsop", 1);
        assert_eq!(new.len(), old.len());
        let f = if in_place {
            let mut f = std::fs::File::options().write(true).open(&p).unwrap();
            f.write_all(new.as_bytes()).unwrap();
            f
        } else {
            let tmp = d.site.path("public/posts/new.tmp");
            std::fs::write(&tmp, &new).unwrap();
            std::fs::rename(&tmp, &p).unwrap();
            std::fs::File::options().write(true).open(&p).unwrap()
        };
        f.set_modified(mtime).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), old.len() as u64);
        changed.push(rel.to_string());
    }
    d.s3.clear_log();
    let out = d.publish(&["-v"]);
    assert_eq!(read_and_hashed(&out), (n, 3), "{out}");
    assert_eq!(d.uploaded(), changed, "{out}");
    assert_eq!(d.remote(), d.local());

    // A corrupt record vouches for nothing: every file is hashed, nothing goes up.
    let record = d.site.path(".public.sitegen-record");
    let mut bytes = std::fs::read(&record).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x01;
    std::fs::write(&record, bytes).unwrap();
    d.s3.clear_log();
    assert_eq!(read_and_hashed(&d.publish(&["-v"])), (n, n));
    assert_eq!(d.s3.writes(), []);
    // A rebuild writes a good record again (the rewritten pages go back to the built bytes).
    d.build();
    d.s3.clear_log();
    let out = d.publish(&["-v"]);
    assert_eq!(read_and_hashed(&out), (n, 0), "{out}");
    assert_eq!(d.uploaded(), changed, "{out}");
}

/// The S3 adapter on `s3` under `prefix`, for the tests that call it directly, with the
/// runtime to call it on.
fn adapter(s3: &S3Server, prefix: &str) -> (tokio::runtime::Runtime, sitegen::publish::s3::S3Store) {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let target: sitegen::config::DeployTarget = toml::from_str(&format!(
        "name = \"test\"\nbucket = \"{BUCKET}\"\nendpoint = \"{}\"\nprefix = \"{prefix}\"\n",
        s3.endpoint
    ))
    .unwrap();
    let sdk = aws_config::SdkConfig::builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "test",
        )))
        .region(Region::new("us-east-1"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    let store = rt
        .block_on(sitegen::publish::s3::S3Store::connect(&target, &sdk))
        .unwrap();
    (rt, store)
}

#[test]
fn a_listing_in_partitions_equals_the_sequential_listing_key_for_key() {
    use sitegen::publish::listing::{partitions, Partition};
    let s3 = S3Server::start();
    // 1,500 pages under `p/`, sitegen's state object, a run of 1,100 keys the output does
    // not have (more than a page, inside one partition), keys before and after the pages,
    // and keys outside the prefix.
    let mut keys: Vec<String> = (0..1500).map(|i| format!("p/page-{i:04}.html")).collect();
    keys.extend((0..1100).map(|i| format!("p/page-0500-old/{i:04}.html")));
    keys.extend(
        [
            "p/.sitegen-state.json",
            "p/0-first",
            "p/zz-last",
            "o-outside",
            "q/outside",
            "p-outside",
        ]
        .map(String::from),
    );
    for k in &keys {
        s3.put_behind_our_back(k, k.as_bytes());
    }
    // What the output folder would give: every other page, and pages the bucket lacks.
    let mut local: Vec<String> = (0..1500).step_by(2).map(|i| format!("p/page-{i:04}.html")).collect();
    local.extend(["p/page-0250-new.html", "p/page-9999-new.html"].map(String::from));

    let (rt, store) = adapter(&s3, "p/");
    let lists = |parts: &[Partition]| {
        s3.clear_log();
        let (objects, requests) = rt.block_on(store.list(parts)).unwrap();
        assert_eq!(requests, s3.counts()["ListObjectsV2"], "the requests are counted");
        (objects, requests)
    };
    let (sequential, pages) = lists(&[Partition::all()]);
    let expected: Vec<String> = s3
        .objects()
        .keys()
        .filter_map(|k| k.strip_prefix("p/").map(String::from))
        .collect();
    assert_eq!(sequential.iter().map(|o| o.key.clone()).collect::<Vec<_>>(), expected);
    assert_eq!(pages, 3);
    // One page per partition, and one more for the partition that holds the run (with
    // 950 keys a partition, a single one: the sequential listing).
    for (per, count, requests) in [(60, 13, 14), (200, 4, 5), (950, 1, 3)] {
        let parts = partitions(&local, per);
        let (listed, n) = lists(&parts);
        assert_eq!(listed, sequential, "{per} keys per partition");
        assert_eq!((parts.len(), n), (count, requests), "{per} keys per partition");
    }

    // The benchmark server's quicker listing answers as s3s-fs does, also after a write
    // and a delete through the server.
    s3.set_fast_list(true);
    assert_eq!(lists(&[Partition::all()]), (sequential.clone(), pages));
    assert_eq!(lists(&partitions(&local, 60)), (sequential.clone(), 14));
    let condition = sitegen::publish::s3::Condition::Always;
    assert!(rt.block_on(store.put_lock(b"{}".to_vec(), &condition)).is_ok());
    let (deleted, failed, _) = rt.block_on(store.delete(&["p/page-0001.html".to_string()]));
    assert_eq!((deleted.len(), failed.len()), (1, 0));
    let fast = lists(&partitions(&local, 60));
    s3.set_fast_list(false);
    assert_eq!(fast, lists(&partitions(&local, 60)));
    assert_eq!(fast.0.len(), sequential.len());

    // The whole bucket (no prefix), and a prefix with nothing under it.
    let (rt, whole) = adapter(&s3, "");
    let all = |parts: &[Partition]| rt.block_on(whole.list(parts)).unwrap().0;
    assert_eq!(all(&partitions(&local, 60)), all(&[Partition::all()]));
    assert_eq!(all(&[Partition::all()]).len(), keys.len());
    let (rt, empty) = adapter(&s3, "empty/");
    let none: Vec<String> = local.iter().map(|k| k.replacen("p/", "empty/", 1)).collect();
    let parts = partitions(&none, 60);
    s3.clear_log();
    assert_eq!(rt.block_on(empty.list(&parts)).unwrap(), (Vec::new(), parts.len()));
    assert_eq!(s3.counts()["ListObjectsV2"], parts.len());
}

#[test]
fn a_publish_lists_its_partitions_and_reads_the_state_at_once() {
    let d = Deploy::new("");
    d.build();
    d.publish(&[]);
    let run = |per: &str, args: &[&str]| {
        let mut c = d.site.cmd(&[&["publish"], args].concat());
        aws_env(&mut c, NO_CLOUDFRONT);
        c.env("SITEGEN_LIST_PARTITION", per);
        d.s3.clear_log();
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8(out.stdout).unwrap(), d.s3.counts())
    };
    let n = d.local().len();
    // 10 keys per partition: one LIST each, and the state GET.
    let (out, counts) = run("10", &[]);
    let parts = n.div_ceil(10);
    assert_eq!(counts, BTreeMap::from([("GetObject", 1), ("ListObjectsV2", parts)]));
    assert!(
        out.starts_with(&format!(
            "Nothing to publish to `test`: {n} files unchanged ({} requests,",
            parts + 1
        )),
        "{out}"
    );
    // The same plan as a sequential listing gives, also with changes to make.
    edit_post_2(&d);
    d.build();
    d.s3.put_behind_our_back("posts/old/index.html", b"gone");
    let (cut, _) = run("3", &["--dry-run"]);
    let (whole, counts) = run("0", &["--dry-run"]);
    assert_eq!(counts, BTreeMap::from([("GetObject", 1), ("ListObjectsV2", 1)]));
    let plan = |table: &str| -> Vec<String> {
        let cost = "to read the bucket";
        table.lines().filter(|l| !l.contains(cost)).map(String::from).collect()
    };
    assert_eq!(plan(&cut), plan(&whole));
    assert!(
        cut.contains(&format!("requests: {} to read the bucket", n.div_ceil(3) + 1)),
        "{cut}"
    );
    assert!(whole.contains("requests: 2 to read the bucket"), "{whole}");
    assert!(whole.contains("posts/old/index.html"), "{whole}");
}

#[test]
fn one_edited_page_uploads_it_and_the_pages_listing_it_and_invalidates_only_their_paths() {
    let d = Deploy::new("");
    // A second target on the same bucket, with a distribution, to show the invalidation plan.
    d.site.write(
        "config.toml",
        format!(
            "{}\n[[deploy.targets]]\nname = \"cdn\"\nbucket = \"{BUCKET}\"\nendpoint = \"{}\"\ncloudfront_distribution_ids = [\"E2TESTDIST\"]\nmax_invalidation_paths = 100\n",
            d.site.read("config.toml"),
            d.s3.endpoint
        ),
    );
    d.build();
    d.publish(&["--target", "test"]);
    let before = d.local();
    edit_post_2(&d);
    d.build();
    let changed = changed(&before, &d.local());
    d.s3.clear_log();
    let plan = d.publish(&["--target", "cdn", "--dry-run"]);
    assert_eq!(d.s3.writes(), []);
    insta::assert_snapshot!(plan);
    d.publish(&["--target", "test"]);
    assert_eq!(d.uploaded(), changed);
    assert_eq!(d.remote(), d.local());
}

#[test]
fn a_renamed_css_file_goes_up_before_any_html_and_the_old_one_is_deleted_last() {
    let d = Deploy::new("");
    d.build()
        .asset("css/app.scss", "css/app.aaaaaaaaaa.css", "body{color:red}");
    d.publish(&[]);
    // The stylesheet changes, so its fingerprint does; the pages change with it.
    edit_post_2(&d);
    d.build()
        .asset("css/app.scss", "css/app.bbbbbbbbbb.css", "body{color:blue}");
    d.s3.clear_log();
    let out = d.publish(&["-v"]);
    let writes = d.writes_but_lock();
    let pos = |pred: &dyn Fn(&crate::s3server::Req) -> bool| writes.iter().position(pred);
    let css = pos(&|r| r.op == "PutObject" && r.key == "css/app.bbbbbbbbbb.css").unwrap();
    let first_html = pos(&|r| r.op == "PutObject" && r.key.ends_with(".html")).unwrap();
    let delete = pos(&|r| r.op == "DeleteObjects").unwrap();
    assert!(css < first_html, "{writes:#?}");
    assert!(
        writes[..delete].iter().filter(|r| r.op == "PutObject").count() == writes.len() - 2,
        "everything but the state object goes up before the delete: {writes:#?}"
    );
    assert_eq!(writes.last().unwrap().key, ".sitegen-state.json");
    assert!(!d.remote().contains_key("css/app.aaaaaaaaaa.css"));
    assert_eq!(d.remote(), d.local());
    // The verbose log tells the same order.
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  uploaded") || l.starts_with("  deleted"))
        .collect();
    assert_eq!(lines.first(), Some(&"  uploaded css/app.bbbbbbbbbb.css (assets, new)"));
    assert_eq!(lines.last(), Some(&"  deleted css/app.aaaaaaaaaa.css"));
}

#[test]
fn more_deletes_than_max_deletes_deletes_nothing() {
    let d = Deploy::new("max_deletes = 2");
    d.build();
    d.publish(&[]);
    for p in ["posts/post-2.md", "posts/post-3.md", "docs/b.md"] {
        d.site.remove(&format!("site/content/{p}"));
    }
    d.build();
    d.s3.clear_log();
    let err = d.publish_fails(&[]);
    let err = err.lines().last().unwrap();
    insta::assert_snapshot!(err, @"error: deploy target `test`: 12 objects would be deleted, more than `max_deletes` (2): nothing was deleted. Check the output folder and the prefix; to allow it, run again with `--max-deletes 12`");
    assert_eq!(d.s3.counts().get("DeleteObjects"), None);
    assert!(d.remote().contains_key("posts/post-2/index.html"));
    // The uploads went through; allowing the deletes finishes the job.
    d.publish(&["--max-deletes", "12"]);
    assert_eq!(d.remote(), d.local());
}

#[test]
fn a_failing_upload_leaves_no_html_no_deletes_and_a_rerun_converges() {
    let d = Deploy::new("");
    d.build()
        .asset("css/app.scss", "css/app.aaaaaaaaaa.css", "body{color:red}");
    d.publish(&[]);
    let published = d.remote();
    edit_post_2(&d);
    d.build()
        .asset("css/app.scss", "css/app.bbbbbbbbbb.css", "body{color:blue}");
    // The server keeps failing this one key (500, retried, then given up).
    d.s3.fail("PutObject", "css/app.bbbbbbbbbb.css", 500, None);
    d.s3.clear_log();
    let err = d.publish_fails(&[]);
    insta::assert_snapshot!(err.lines().last().unwrap(), @"error: deploy target `test`: 1 of 17 uploads failed in phase `assets` (0 done, 16 not started); later phases, the invalidation and the deletes were skipped, so no page names a file that is missing. Run `sitegen publish` again to finish");
    assert!(
        err.starts_with(
            "error: s3://site/css/app.bbbbbbbbbb.css: cannot upload: HTTP 500, InternalError: injected by the test"
        ),
        "{err}"
    );
    let puts = |key: &str| {
        d.s3.requests()
            .iter()
            .filter(|r| r.op == "PutObject" && r.key == key)
            .count()
    };
    assert_eq!(puts("css/app.bbbbbbbbbb.css"), 4, "retried up to 4 attempts");
    // No page and no delete went out: the bucket still serves the old, consistent site.
    let writes = d.s3.writes();
    assert!(
        writes
            .iter()
            .all(|r| !r.key.ends_with(".html") && r.op != "DeleteObjects"),
        "{writes:#?}"
    );
    assert_eq!(d.remote(), published);
    // Once the server accepts the key again, a rerun finishes the job...
    d.s3.heal();
    d.publish(&[]);
    assert_eq!(d.remote(), d.local());
    // ...and the one after that has nothing left to do.
    d.s3.clear_log();
    d.publish(&[]);
    assert_eq!(d.s3.writes(), []);
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let d = Deploy::new("");
    d.build();
    d.s3.fail("PutObject", "index.html", 503, Some(2));
    d.s3.fail("ListObjectsV2", "", 500, Some(1));
    d.publish(&[]);
    let puts =
        d.s3.requests()
            .iter()
            .filter(|r| r.op == "PutObject" && r.key == "index.html")
            .count();
    assert_eq!(puts, 3);
    assert_eq!(d.remote(), d.local());
}

#[test]
fn dropped_connections_and_cut_bodies_are_retried() {
    let d = Deploy::new("");
    d.build();
    // Request 0 is the LIST, 1 the lock's creation; later ones are the checks, the state
    // and the uploads.
    d.s3.inject(0, 1, Fault::CutResponse);
    // The lock is created but the answer lost: the retry finds the run's own lock.
    d.s3.inject(1, 1, Fault::DropAfter);
    d.s3.inject(10, 1, Fault::Drop);
    d.s3.inject(14, 1, Fault::CutRequest);
    d.publish(&[]);
    let fired: Vec<(&str, usize)> = d.s3.take_fired().into_iter().collect();
    assert_eq!(
        fired,
        [
            ("answer body cut", 1),
            ("connection closed after the request", 1),
            ("connection closed before the request", 1),
            ("request body cut", 1)
        ]
    );
    assert_eq!(d.remote(), d.local());
    assert!(!d.s3.objects().contains_key(LOCK));
    d.s3.clear_log();
    d.publish(&[]);
    assert_eq!(d.s3.writes(), []);
}

#[test]
fn dry_run_writes_nothing() {
    let d = Deploy::new("cloudfront_distribution_ids = [\"E2TESTDIST\"]");
    d.build()
        .asset("css/app.scss", "css/app.0123456789.css", "body{color:red}");
    let out = d.publish(&["--dry-run"]);
    assert!(out.contains("1 assets  upload  new"), "{out}");
    assert!(out.ends_with("Dry run: nothing was changed.\n"), "{out}");
    assert_eq!(d.s3.writes(), []);
    assert!(d.s3.objects().is_empty());
    d.publish(&["--yes"]);
    let published = d.s3.objects();
    edit_post_2(&d);
    d.build();
    d.s3.clear_log();
    d.publish(&["--dry-run", "--force"]);
    assert_eq!(d.s3.writes(), []);
    assert_eq!(d.s3.objects(), published);
}

#[test]
fn the_prefix_is_never_escaped() {
    let d = Deploy::new("prefix = \"static/\"");
    for key in [
        "static-old/x.css",
        "staticfile.txt",
        "other/y.html",
        "static/stale.html",
    ] {
        d.s3.put_behind_our_back(key, b"not sitegen's");
    }
    d.build();
    d.publish(&[]);
    let remote = d.s3.objects();
    for key in ["static-old/x.css", "staticfile.txt", "other/y.html"] {
        assert_eq!(remote.get(key).map(Vec::as_slice), Some(&b"not sitegen's"[..]), "{key}");
    }
    assert!(!remote.contains_key("static/stale.html"));
    let under: BTreeMap<String, Vec<u8>> = remote
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("static/")?.to_string(), v)))
        .filter(|(k, _)| k != ".sitegen-state.json")
        .collect();
    assert_eq!(under, d.local());

    // Prefixes that would reach outside themselves are refused before anything runs.
    for (prefix, msg) in [
        ("static", "`prefix` `static` must end with `/` (`static/`)"),
        ("../static/", "`prefix` `../static/` has an empty, `.` or `..` segment"),
        ("/static/", "`prefix` `/static/` must not start with `/`"),
        ("a//b/", "`prefix` `a//b/` has an empty, `.` or `..` segment"),
    ] {
        let config = d.site.read("config.toml");
        let start = config.find("prefix = ").unwrap();
        let end = start + config[start..].find('\n').unwrap();
        d.site.write(
            "config.toml",
            format!("{}prefix = \"{prefix}\"{}", &config[..start], &config[end..]),
        );
        d.s3.clear_log();
        let err = d.publish_fails(&[]);
        // At the line of the `prefix` key.
        let line = config[..start].lines().count() + 1;
        assert!(
            err.starts_with(&format!("error: config.toml:{line}:1: deploy target `test`: {msg}")),
            "{err}"
        );
        assert_eq!(d.s3.requests(), []);
    }
}

#[test]
fn multipart_uploads_are_recognised_on_the_next_publish() {
    let d = Deploy::new("multipart_threshold_mib = 5");
    d.build();
    let big: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    d.site.write("public/media/big.bin", &big);
    d.publish(&[]);
    let c = d.s3.counts();
    assert_eq!(
        (
            c["CreateMultipartUpload"],
            c["UploadPart"],
            c["CompleteMultipartUpload"]
        ),
        (1, 2, 1)
    );
    assert_eq!(d.remote()["media/big.bin"], big);
    d.s3.clear_log();
    d.publish(&[]);
    assert_eq!(d.s3.writes(), []);
}

#[test]
fn a_new_header_rule_reapplies_headers() {
    let d = Deploy::new("");
    d.build();
    d.publish(&[]);
    let config = d.site.read("config.toml");
    d.site.write(
        "config.toml",
        format!("{config}\n[[deploy.targets.rules]]\nglob = \"css/*\"\ncache_control = \"public, max-age=60\"\n"),
    );
    d.s3.clear_log();
    let out = d.publish(&["-v"]);
    // Both stylesheets (fingerprinted by the asset pipeline), nothing else.
    let uploaded = d.uploaded();
    assert_eq!(uploaded.len(), 2, "{out}");
    assert!(
        uploaded.iter().all(|k| k.starts_with("css/") && k.ends_with(".css")),
        "{out}"
    );
    assert_eq!(out.matches("(assets, headers)").count(), 2, "{out}");
    for r in
        d.s3.requests()
            .iter()
            .filter(|r| r.op == "PutObject" && r.key.starts_with("css/"))
    {
        assert_eq!(r.headers["cache-control"], "public, max-age=60");
    }
}

#[test]
fn an_object_changed_behind_our_back_is_uploaded_again() {
    let d = Deploy::new("");
    d.build();
    d.publish(&[]);
    d.s3.put_behind_our_back("robots.txt", b"User-agent: *\nDisallow: /\n# changed by someone else\n");
    d.s3.clear_log();
    d.publish(&[]);
    assert_eq!(d.uploaded(), ["robots.txt"]);
    assert_eq!(d.remote(), d.local());
}

#[test]
fn superseded_fingerprinted_files_are_kept_for_the_grace_period() {
    let d = Deploy::new("keep_superseded = \"7d\"");
    d.build()
        .asset("css/app.scss", "css/app.aaaaaaaaaa.css", "body{color:red}");
    d.publish(&[]);
    d.build()
        .asset("css/app.scss", "css/app.bbbbbbbbbb.css", "body{color:blue}");
    let plan = d.publish(&["--dry-run"]);
    assert!(
        plan.lines()
            .any(|l| l.contains(" keep ") && l.contains(" css/app.aaaaaaaaaa.css (until ")),
        "{plan}"
    );
    d.publish(&[]);
    assert!(d.remote().contains_key("css/app.aaaaaaaaaa.css"));
    let state: serde_json::Value = serde_json::from_slice(&d.s3.objects()[".sitegen-state.json"]).unwrap();
    assert!(
        state["objects"]["css/app.aaaaaaaaaa.css"]["superseded_at"].is_i64(),
        "{state}"
    );
}

#[test]
fn unknown_bucket_wrong_credentials_and_no_network_give_one_clear_error() {
    let d = Deploy::new("");
    d.build();
    let set_bucket = |from: &str, to: &str| {
        let config = d.site.read("config.toml");
        d.site.write(
            "config.toml",
            config.replace(&format!("bucket = \"{from}\""), &format!("bucket = \"{to}\"")),
        )
    };
    set_bucket("site", "no-such-bucket");
    let err = d.publish_fails(&[]);
    insta::assert_snapshot!(err.trim_end(), @"error: s3://no-such-bucket/: cannot list the bucket: HTTP 404, NoSuchBucket (the bucket does not exist: check `bucket` and the region)");
    set_bucket("no-such-bucket", "site");

    let mut c = d.site.cmd(&["publish"]);
    aws_env(&mut c, NO_CLOUDFRONT);
    c.env("AWS_SECRET_ACCESS_KEY", "wrong-secret-0000000000000000000000000000");
    let out = c.output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: s3://site/: cannot list the bucket: HTTP 403, SignatureDoesNotMatch"),
        "{err}"
    );
    assert!(err.contains("the credentials were refused"), "{err}");
    assert!(!err.contains("wrong-secret") && !err.contains(SECRET_KEY), "{err}");

    // Nothing listens on the endpoint.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = d
        .site
        .read("config.toml")
        .replace(&d.s3.endpoint, &format!("http://127.0.0.1:{port}"));
    d.site.write("config.toml", config);
    let err = d.publish_fails(&[]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: s3://site/: cannot list the bucket: cannot reach http://127.0.0.1:{port}:"
        )),
        "{err}"
    );
    // In words: the cause chain once, no debug dump of the SDK's error.
    assert!(err.contains("Connection refused"), "{err}");
    assert!(
        !err.contains("DispatchFailure(") && !err.contains("ConnectorError"),
        "{err}"
    );
    assert_eq!(d.s3.writes(), []);
}

#[test]
fn publish_without_a_build_or_a_target_says_what_to_do() {
    let d = Deploy::new("");
    let err = d.publish_fails(&[]);
    assert!(
        err.contains("the output folder does not exist: run `sitegen build` first"),
        "{err}"
    );
    let err = d.publish_fails(&["--target", "prod"]);
    insta::assert_snapshot!(err.trim_end(), @"error: config.toml: no deploy target `prod`; the config has `test`");
    // `--build` builds for the target first.
    d.publish(&["--build"]);
    assert_eq!(d.remote(), d.local());
}

#[test]
fn build_for_a_target_takes_its_base_url_and_extra() {
    let d = Deploy::new("base_url = \"https://staging.example.com\"\nextra = { footer = \"Staging build\" }");
    d.site.cmd(&["build", "-q", "--target", "test"]).assert().success();
    let index = d.site.read("public/index.html");
    assert!(index.contains("Staging build"), "{index}");
    assert!(d
        .site
        .read("public/sitemap.xml")
        .contains("https://staging.example.com/posts/"));
    d.site.cmd(&["build", "-q"]).assert().success();
    assert!(!d.site.read("public/index.html").contains("Staging build"));
    assert!(d
        .site
        .read("public/sitemap.xml")
        .contains("https://example.com/sub/posts/"));
}

/// The sequence on a server whose LIST has no ETags (s3s-fs): publish v1; publish v2
/// while every PUT after the first two uploads fails (the state write too); publish v1
/// again. Same-size objects whose bytes v2 changed must be written back: the run said which
/// keys it was changing before it changed them.
#[test]
fn a_run_that_dies_half_way_is_finished_by_the_next_even_without_etags() {
    let d = Deploy::new("");
    d.build();
    d.publish(&[]);
    let v1 = d.local();
    // v2: same sizes, other bytes (the LIST shows nothing that differs).
    let post = d.site.read("site/content/posts/post-2.md");
    d.site.write(
        "site/content/posts/post-2.md",
        post.replace("Body of post 2.", "Body of post Z."),
    );
    let idx = d.site.read("site/content/_index.md");
    d.site
        .write("site/content/_index.md", idx.replace("Welcome", "WELCOME"));
    d.build();
    assert!(d.local() != v1);
    // The lock, its two checks and the intent go through, and two uploads.
    d.s3.fail_after("PutObject", 6, 500);
    d.publish_fails(&[]);
    let half = d.remote();
    assert!(half != v1, "some of v2 landed");
    // Back to v1, and the server works again.
    d.s3.heal();
    d.site.write("site/content/posts/post-2.md", post);
    d.site.write("site/content/_index.md", idx);
    d.build();
    assert_eq!(d.local(), v1);
    d.publish(&[]);
    let remote = d.remote();
    let differ: Vec<&String> = v1
        .keys()
        .chain(remote.keys())
        .filter(|k| v1.get(*k) != remote.get(*k))
        .collect();
    assert!(
        differ.is_empty(),
        "the bucket is v1 again, byte for byte; these differ: {differ:?}"
    );
    // And then there is nothing left to do.
    d.s3.clear_log();
    let out = d.publish(&[]);
    assert!(out.starts_with("Nothing to publish"), "{out}");
    assert_eq!(d.s3.writes(), []);
}

/// Found by the fault runs (`publish_faults.rs`): a run whose last state write failed after
/// its deletes left the deleted keys `changing` for ever, so every publish after it wrote
/// the state again instead of finding nothing to do.
#[test]
fn a_failed_state_write_after_the_deletes_is_finished_by_the_next_publish() {
    let d = Deploy::new("");
    d.build()
        .asset("css/app.scss", "css/app.aaaaaaaaaa.css", "body{color:red}");
    d.publish(&[]);
    edit_post_2(&d);
    d.build()
        .asset("css/app.scss", "css/app.bbbbbbbbbb.css", "body{color:blue}");
    // The intent goes through; the state write after the deletes fails (4 attempts).
    d.s3.fault_after("PutObject", STATE, 1, Fault::Status(500));
    let err = d.publish_fails(&[]);
    assert!(err.contains("cannot write the state object"), "{err}");
    assert!(!d.remote().contains_key("css/app.aaaaaaaaaa.css"), "the deletes ran");
    d.s3.heal();
    d.publish(&[]);
    assert_eq!(d.remote(), d.local());
    let state: serde_json::Value = serde_json::from_slice(&d.s3.objects()[STATE]).unwrap();
    assert_eq!(state.get("changing"), None);
    d.s3.clear_log();
    let out = d.publish(&[]);
    assert!(out.starts_with("Nothing to publish"), "{out}");
    assert_eq!(d.s3.writes(), []);
}
