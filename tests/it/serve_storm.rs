//! `sitegen serve` under an edit storm: a thousand edits, creates, renames and deletes in
//! about ten seconds across content, templates (some of them broken for a while) and static
//! files, made by a seeded generator. Afterwards the server must still run, must not be stuck
//! (a last edit shows up), and must serve exactly what a fresh `sitegen serve` of the same
//! files serves: every output of a fresh build, byte for byte (the port aside), and nothing
//! that was deleted.
//!
//! `SITEGEN_STORM_OPS` sets the number of operations (1,000 by default) and
//! `SITEGEN_STORM_SEED` the seed (printed, so a failure can be replayed).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{copy_dir, env_number, Rng, Serve, TestSite};

impl Serve {
    /// GET `path`: the status and the body, with this server's address replaced by `HOST`.
    fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).expect("serve accepts connections");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).expect("serve answers");
        let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP response");
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut body = buf[head_end + 4..].to_vec();
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        let body = replace(&body, self.addr.as_bytes(), b"HOST");
        (status, body)
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
    out
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

const WORDS: &[&str] = &["bucket", "storm", "page", "render", "theme", "reload", "asset", "watch"];

fn page(n: u64, v: u64, words: &str) -> String {
    format!(
        "+++\ntitle = \"Post {n}\"\ndate = 2026-01-{:02}\n[taxonomies]\ntags = [\"t{}\"]\n+++\n\nVersion {v}: {words}.\n",
        n % 28 + 1,
        v % 5
    )
}

fn template(v: u64, broken: bool) -> String {
    if broken {
        format!("<html><body><h1>{{{{ page.title </h1>{v}</body></html>\n")
    } else {
        format!("<!doctype html><html><body><h1>{{{{ page.title }}}}</h1>{{{{ page.content | safe }}}}<p>template {v}</p></body></html>\n")
    }
}

/// The URL paths a fresh build of `root` writes (fingerprinting is off in `serve`, and in
/// this site's config, so the names are the same).
fn built_paths(root: &Path) -> BTreeSet<String> {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(assert_cmd::cargo::cargo_bin("sitegen"))
        .current_dir(root)
        .args(["build", "--quiet", "--output"])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success(), "the final state builds");
    walkdir::WalkDir::new(out.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(out.path())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let rel = rel.strip_suffix("index.html").map(str::to_string).unwrap_or(rel);
            format!("/{rel}")
        })
        .collect()
}

#[test]
fn serve_survives_an_edit_storm_and_then_serves_what_a_fresh_build_does() {
    let ops: u64 = env_number("SITEGEN_STORM_OPS", 1000);
    let (mut rng, seed) = Rng::from_env("SITEGEN_STORM_SEED");
    eprintln!("edit storm: {ops} operations, SITEGEN_STORM_SEED={seed}");
    let site = TestSite::starter();
    site.write(
        "config.toml",
        format!(
            "{}\n",
            site.read("config.toml")
                .replace("[markdown]", "[assets]\nfingerprint = false\n\n[markdown]")
        ),
    );
    for n in 0..40 {
        site.write(&format!("site/content/blog/p{n}.md"), page(n, 0, "start"));
    }
    site.write("site/templates/page.html", template(0, false));
    for k in 0..10 {
        site.write(&format!("site/static/files/f{k}.txt"), format!("file {k}\n"));
    }
    site.write("site/static/style.css", "body { color: black }\n");
    // 4 KB of compressed files in memory: most of what the storm's server shows waits in its
    // temporary files, which fill and empty as files are replaced (the fresh server below
    // holds everything in memory).
    let mut serve = Serve::start_with(site.root(), &[("SITEGEN_HTML_IN_MEMORY", "4096")]);
    assert_eq!(serve.get("/blog/p1/").0, 200);

    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut counts = [0u32; 8];
    let started = Instant::now();
    let spacing = Duration::from_secs(10) / ops.max(1) as u32;
    for i in 0..ops {
        let due = started + spacing * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let n = rng.below(60);
        let rel = format!("site/content/blog/p{n}.md");
        let exists = site.path(&rel).exists();
        let words: Vec<&str> = (0..1 + rng.below(6))
            .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
            .collect();
        let kind = rng.below(100);
        match kind {
            // Edit (or create) a page.
            0..=44 => {
                site.write(&rel, page(n, i, &words.join(" ")));
                seen.insert(format!("/blog/p{n}/"));
                counts[0] += 1;
            }
            // Delete a page.
            45..=54 if exists => {
                std::fs::remove_file(site.path(&rel)).unwrap();
                counts[1] += 1;
            }
            // Rename a page (its URL moves).
            55..=64 if exists => {
                let m = 60 + rng.below(20);
                let to = format!("site/content/blog/p{m}.md");
                if !site.path(&to).exists() {
                    std::fs::rename(site.path(&rel), site.path(&to)).unwrap();
                    seen.insert(format!("/blog/p{m}/"));
                }
                counts[2] += 1;
            }
            // The page template: mostly valid, sometimes broken until a later write.
            65..=74 => {
                site.write("site/templates/page.html", template(i, rng.below(4) == 0));
                counts[3] += 1;
            }
            // Static files: edit, create, delete.
            75..=89 => {
                let k = rng.below(15);
                let f = format!("site/static/files/f{k}.txt");
                seen.insert(format!("/files/f{k}.txt"));
                if site.path(&f).exists() && rng.below(3) == 0 {
                    std::fs::remove_file(site.path(&f)).unwrap();
                } else {
                    site.write(&f, format!("file {k} at {i}: {}\n", words.join(" ")));
                }
                counts[4] += 1;
            }
            // A stylesheet.
            90..=94 => {
                site.write("site/static/style.css", format!("body {{ margin: {i}px }}\n"));
                counts[5] += 1;
            }
            // The section's front matter.
            _ => {
                let sort = if rng.below(2) == 0 { "date" } else { "title" };
                site.write(
                    "site/content/blog/_index.md",
                    format!(
                        "+++\ntitle = \"Blog {i}\"\nsort_by = \"{sort}\"\npaginate_by = {}\n+++\n",
                        3 + rng.below(8)
                    ),
                );
                counts[6] += 1;
            }
        }
    }
    // Leave a valid template, then one last edit that must show up: the server is not stuck.
    site.write("site/templates/page.html", template(ops, false));
    site.write("site/content/blog/p0.md", page(0, ops + 1, "final"));
    let storm = started.elapsed();
    eprintln!(
        "storm took {storm:?}: page edits {}, deletes {}, renames {}, template writes {}, static {}, css {}, section {}",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6]
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while !String::from_utf8_lossy(&serve.get("/blog/p0/").1).contains("final") {
        assert!(serve.running(), "serve crashed during the storm");
        assert!(
            Instant::now() < deadline,
            "serve did not catch up with the last edit within 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(serve.running(), "serve crashed during the storm");

    // A fresh serve of a copy of the final files: what every path must look like.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(site.root(), copy.path());
    let paths = built_paths(copy.path());
    let fresh = Serve::start(copy.path());
    let mut differing = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        differing.clear();
        for p in &paths {
            let want = fresh.get(p);
            assert!(
                want.0 == 200 || p == "/404.html",
                "a fresh serve serves {p}: {}",
                want.0
            );
            if serve.get(p) != want {
                differing.push(p.clone());
            }
        }
        for p in seen.iter().filter(|p| !paths.contains(*p)) {
            if serve.get(p).0 != 404 {
                differing.push(format!("{p} (deleted, still served)"));
            }
        }
        if differing.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        differing.is_empty(),
        "after the storm (seed {seed}) serve differs from a fresh serve at {} of {} paths: {:?}",
        differing.len(),
        paths.len(),
        &differing[..differing.len().min(10)]
    );
    eprintln!(
        "after the storm: {} paths equal to a fresh serve's, {} deleted paths gone",
        paths.len(),
        seen.iter().filter(|p| !paths.contains(*p)).count()
    );
    assert!(serve.running());
}
