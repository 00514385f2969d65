//! `sitegen publish` under injected faults: the test server's layer (`s3server.rs`) sits
//! between the SDK and s3s-fs and, on a schedule drawn from a seeded RNG, answers 500 or 503
//! SlowDown, closes connections before or after carrying a request out, cuts request or
//! answer bodies half-way, answers slowly, or holds request N while the test kills the
//! publishing process (SIGKILL). The site is a real build with fingerprinted stylesheets,
//! scripts, images and fonts, in two versions whose assets differ, published alternately, so
//! each run replaces assets and the pages that name them.
//!
//! After every faulty run (failed or not): no HTML object in the bucket names a stylesheet,
//! script, image or font that is missing (nor does a stylesheet it names); a run that failed
//! deleted nothing unless every upload of its plan had landed (deletes come last); a clean
//! rerun makes the bucket equal to the output folder byte for byte (plus the state object),
//! and a publish after that writes nothing. Violations are counted as "lost" per fault kind
//! and the test fails when there is any.
//!
//! `SITEGEN_FAULT_RUNS` sets the number of faulty runs (default 24), `SITEGEN_FAULT_SEED` the
//! seed (default: the clock; it is printed). The figures: `cargo test --test it
//! publish_faults -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::harness::{env_number, snapshot_dir, Rng, TestSite};
use crate::publish::{add_target, finish, publish_in, spawn_publish, Run, LOCK, NO_CLOUDFRONT, STATE};
use crate::s3server::{Fault, S3Server};

/// The kinds of faulty run, one of each in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Http500,
    SlowDown503,
    DropBefore,
    DropAfter,
    CutRequest,
    CutResponse,
    Slow,
    Kill,
}

const KINDS: [Kind; 8] = [
    Kind::Http500,
    Kind::SlowDown503,
    Kind::DropBefore,
    Kind::DropAfter,
    Kind::CutRequest,
    Kind::CutResponse,
    Kind::Slow,
    Kind::Kill,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Http500 => "HTTP 500",
            Kind::SlowDown503 => "HTTP 503 SlowDown",
            Kind::DropBefore => "connection closed, no answer",
            Kind::DropAfter => "connection closed after the request",
            Kind::CutRequest => "request body cut mid-way",
            Kind::CutResponse => "answer body cut mid-way",
            Kind::Slow => "slow answers",
            Kind::Kill => "process killed (SIGKILL) at request N",
        }
    }
}

/// Per kind: runs, faults that fired, runs that failed, runs after which an invariant broke.
#[derive(Debug, Default, Clone)]
struct Tally {
    runs: usize,
    faults: usize,
    failed: usize,
    lost: usize,
}

/// The assets fixture with pages, a target on `s3`, built as version `v` (1 or 2): version 2
/// has another colour, image, script and font, so every fingerprinted name changes, and
/// other page text.
fn site(s3: &S3Server, v: u8) -> TestSite {
    let site = TestSite::fixture("assets");
    add_target(&site, s3, "concurrency = 4\nlock_lease = \"2s\"");
    let index = site.read("site/templates/index.html");
    site.write(
        "site/templates/page.html",
        index.replace("{{ section.content }}", "<h1>{{ page.title }}</h1>{{ page.content }}"),
    );
    for i in 0..8 {
        site.write(
            &format!("site/content/p{i}.md"),
            format!("+++\ntitle = \"Page {i}\"\n+++\nVersion {v} of page {i}: ![bg](/img/bg.png).\n"),
        );
    }
    if v == 2 {
        site.write("site/static/css/partials/_colors.scss", "$text: #445566;\n");
        site.write(
            "site/static/js/app.js",
            "function add(first, second) { return first + second + 0; }\nwindow.add = add;\n",
        );
        site.write("site/static/fonts/inter.woff2", "wOF2 version two, not a real font");
        let png = image::RgbImage::from_pixel(3, 2, image::Rgb([200, 10, 10]));
        png.save_with_format(site.path("site/static/img/bg.png"), image::ImageFormat::Png)
            .unwrap();
    }
    site.cmd(&["build", "-q"]).assert().success();
    site
}

/// The bucket key a URL of the site names, if it is one of the site's.
fn key_of(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next()?;
    let path = url.strip_prefix("https://example.com").unwrap_or(url);
    let path = path.strip_prefix('/')?;
    if path.starts_with('/') {
        return None; // protocol-relative: another host
    }
    Some(if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    })
}

/// What each HTML object names (stylesheets, scripts, images, icons) and each stylesheet it
/// names names in turn (fonts, images), when missing from `bucket`.
fn missing_references(bucket: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let url_ref = regex::Regex::new(r#"url\(\s*['"]?([^'")\s]+)"#).unwrap();
    let mut missing = BTreeSet::new();
    for (key, bytes) in bucket.iter().filter(|(k, _)| k.ends_with(".html")) {
        let html = String::from_utf8_lossy(bytes);
        let mut named = Vec::new();
        for a in sitegen::html::attributes(&html) {
            let value = &html[a.value.clone()];
            let tag = html[a.tag.clone()].to_ascii_lowercase();
            match (tag.as_str(), &*a.name) {
                ("link", "href") | ("script", "src") | ("img", "src") | ("source", "src") => {
                    named.extend(key_of(value))
                }
                ("img" | "source", "srcset") => {
                    named.extend(value.split(',').filter_map(|c| key_of(c.split_whitespace().next()?)))
                }
                _ => {}
            }
        }
        for name in named {
            match bucket.get(&name) {
                None => {
                    missing.insert(format!("{key} names {name}"));
                }
                Some(css) if name.ends_with(".css") => {
                    let css = String::from_utf8_lossy(css);
                    for c in url_ref.captures_iter(&css) {
                        let u = &c[1];
                        let k = if u.starts_with("data:") || u.contains("://") && !u.starts_with("https://example.com")
                        {
                            None
                        } else if u.starts_with('/') || u.starts_with("https://") {
                            key_of(u)
                        } else {
                            // Relative to the stylesheet.
                            let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                            sitegen::paths::normalize(&format!("{dir}/{u}")).and_then(|p| key_of(&format!("/{p}")))
                        };
                        if let Some(k) = k.filter(|k| !bucket.contains_key(k)) {
                            missing.insert(format!("{key} names {name}, which names {k}"));
                        }
                    }
                }
                Some(_) => {}
            }
        }
    }
    missing.into_iter().collect()
}

/// The bucket without the state object.
fn site_objects(s3: &S3Server) -> BTreeMap<String, Vec<u8>> {
    let mut m = s3.objects();
    m.remove(STATE);
    m
}

fn differ(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

/// Injects the faults of one run of `kind` into the requests of the next run (numbered from
/// 0), about `requests` of them; returns the schedule in words.
fn schedule(s3: &S3Server, rng: &mut Rng, kind: Kind, requests: u64) -> String {
    let from = rng.below(requests) as usize;
    let count = rng.pick(&[1, 2, 3, 5, 8, 13, 40]) as usize;
    let fault = match kind {
        Kind::Http500 => Fault::Status(500),
        Kind::SlowDown503 => Fault::Status(503),
        Kind::DropBefore => Fault::Drop,
        Kind::DropAfter => Fault::DropAfter,
        Kind::CutRequest => Fault::CutRequest,
        Kind::CutResponse => Fault::CutResponse,
        Kind::Slow => Fault::Slow(Duration::from_millis(rng.pick(&[50, 150, 400, 900]))),
        Kind::Kill => Fault::Hold,
    };
    let count = if kind == Kind::Kill { 1 } else { count };
    s3.inject(from, count, fault);
    format!("{fault:?} on requests {from}..{}", from + count)
}

/// Runs the child publish of `site`; for [`Kind::Kill`], kills it when the server holds its
/// request. Returns its output and whether it was killed.
fn run_faulty(s3: &S3Server, site: &TestSite, kind: Kind) -> (Run, bool) {
    let mut child = spawn_publish(site, &[]);
    let start = Instant::now();
    let mut killed = false;
    loop {
        if kind == Kind::Kill && s3.wait_for_hold(Duration::from_millis(20)) {
            child.kill().unwrap();
            killed = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(180) {
            child.kill().unwrap();
            let run = finish(child);
            panic!("a faulty publish hung for 3 minutes:\n{}\n{}", run.stdout, run.stderr);
        }
        if kind != Kind::Kill {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let run = finish(child);
    s3.heal();
    (run, killed)
}

#[test]
fn publish_survives_injected_faults_and_a_clean_rerun_converges() {
    let runs: usize = env_number("SITEGEN_FAULT_RUNS", 24);
    let (mut rng, seed) = Rng::from_env("SITEGEN_FAULT_SEED");
    println!("publish fault runs: {runs}, seed {seed} (SITEGEN_FAULT_SEED={seed} draws the same schedule)");
    let s3 = S3Server::start();
    let sites = [site(&s3, 1), site(&s3, 2)];
    let locals = [
        snapshot_dir(&sites[0].path("public")),
        snapshot_dir(&sites[1].path("public")),
    ];
    assert!(
        locals[0].keys().filter(|k| !locals[1].contains_key(*k)).count() >= 4,
        "version 2 renames the fingerprinted assets"
    );
    let first = publish_in(&sites[0], NO_CLOUDFRONT, &[]);
    assert!(first.ok, "{}", first.stderr);
    // Requests a clean publish of a version change takes (re-measured as runs go).
    let mut requests: [u64; 2] = [40, 40];
    let mut current = 0;
    let mut tally: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut lost: Vec<String> = Vec::new();
    let offset = rng.below(KINDS.len() as u64) as usize;
    for i in 0..runs {
        let kind = KINDS[(i + offset) % KINDS.len()];
        let next = 1 - current;
        let (site, local) = (&sites[next], &locals[next]);
        let before = site_objects(&s3);
        s3.take_fired();
        s3.reset_count();
        let plan = schedule(&s3, &mut rng, kind, requests[next]);
        let (run, killed) = run_faulty(&s3, site, kind);
        // The range the next faults of this direction are drawn from: the most requests a
        // faulty publish of it took (one that failed early took few).
        requests[next] = requests[next].max(s3.count() as u64);
        let fired: usize = s3.take_fired().values().sum();
        let failed = killed || !run.ok;
        let t = tally.entry(kind).or_default();
        t.runs += 1;
        t.faults += fired;
        t.failed += usize::from(failed);
        let mut broken = Vec::new();

        // No page names a missing asset.
        let bucket = site_objects(&s3);
        broken.extend(missing_references(&bucket));
        // A failed run deleted nothing, unless its deletes came after every upload.
        let removed: Vec<&String> = before
            .keys()
            .filter(|k| !bucket.contains_key(*k) && **k != LOCK)
            .collect();
        if failed && !removed.is_empty() {
            let incomplete = local.iter().filter(|(k, v)| bucket.get(*k) != Some(*v)).count();
            if incomplete > 0 {
                broken.push(format!(
                    "the failed run deleted {removed:?} with {incomplete} uploads not done"
                ));
            }
        }
        // A clean rerun converges, and the next one writes nothing.
        let rerun = publish_in(site, NO_CLOUDFRONT, &["--lock-wait", "1m"]);
        if !rerun.ok {
            broken.push(format!("the clean rerun failed: {}", rerun.stderr.trim_end()));
        }
        let bucket = site_objects(&s3);
        let differ = differ(&bucket, local);
        if !differ.is_empty() {
            broken.push(format!(
                "after the clean rerun the bucket differs from the output: {differ:?}"
            ));
        }
        s3.clear_log();
        let again = publish_in(site, NO_CLOUDFRONT, &[]);
        let writes = s3.writes();
        if !again.stdout.starts_with("Nothing to publish") || !writes.is_empty() {
            broken.push(format!(
                "the publish after the rerun wrote {} requests: {}",
                writes.len(),
                again.stdout.trim_end()
            ));
        }
        if !broken.is_empty() {
            tally.get_mut(&kind).unwrap().lost += 1;
            lost.push(format!(
                "run {i} ({}, {plan}, {}):\n  {}\nits stdout:\n{}\nits stderr:\n{}",
                kind.name(),
                if killed {
                    "killed".into()
                } else {
                    format!("ok = {}", run.ok)
                },
                broken.join("\n  "),
                run.stdout,
                run.stderr
            ));
        }
        current = next;
    }

    println!(
        "{:<40} {:>5} {:>7} {:>7} {:>5}",
        "fault kind", "runs", "faults", "failed", "lost"
    );
    let mut total = Tally::default();
    for (kind, t) in &tally {
        println!(
            "{:<40} {:>5} {:>7} {:>7} {:>5}",
            kind.name(),
            t.runs,
            t.faults,
            t.failed,
            t.lost
        );
        total.runs += t.runs;
        total.faults += t.faults;
        total.failed += t.failed;
        total.lost += t.lost;
    }
    println!(
        "{:<40} {:>5} {:>7} {:>7} {:>5}",
        "all", total.runs, total.faults, total.failed, total.lost
    );
    assert!(
        lost.is_empty(),
        "seed {seed}: {} runs lost something:\n{}",
        lost.len(),
        lost.join("\n\n")
    );
}

/// The reference check can fail: it sees a missing stylesheet, script, image and a font that
/// a stylesheet names.
#[test]
fn the_reference_check_sees_what_is_missing() {
    let s3 = S3Server::start();
    let local = snapshot_dir(&site(&s3, 1).path("public"));
    assert_eq!(missing_references(&local), Vec::<String>::new());
    let named = |prefix: &str| local.keys().find(|k| k.starts_with(prefix)).unwrap().clone();
    let (css, js, img, font) = (
        named("css/main."),
        named("js/app."),
        named("img/bg."),
        named("fonts/inter."),
    );
    let mut bucket = local.clone();
    for k in [&css, &js, &img] {
        bucket.remove(k);
    }
    let missing = missing_references(&bucket);
    for k in [&css, &js, &img] {
        assert!(missing.contains(&format!("index.html names {k}")), "{k}: {missing:#?}");
    }
    let mut bucket = local.clone();
    bucket.remove(&font);
    assert!(
        missing_references(&bucket).contains(&format!("index.html names {css}, which names {font}")),
        "{:#?}",
        missing_references(&bucket)
    );
}
