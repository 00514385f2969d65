//! Test harness: a fixture site copied into its own temp dir, built through the library or
//! the real binary, with helpers that read like the steps a user takes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use sitegen::build::{build, BuildOptions, BuildResult};
use sitegen::config::Config;
use sitegen::error::Errors;
use sitegen::source::SourceTree;

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub struct TestSite {
    pub dir: tempfile::TempDir,
}

impl TestSite {
    /// A copy of `tests/fixtures/NAME` in a fresh temp dir.
    pub fn fixture(name: &str) -> TestSite {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture_dir(name), dir.path());
        TestSite { dir }
    }

    /// A new site from `sitegen init`'s starter files.
    pub fn starter() -> TestSite {
        let dir = tempfile::tempdir().unwrap();
        sitegen::init::init(&dir.path().join("s"), false).unwrap();
        let s = TestSite { dir };
        copy_dir(&s.dir.path().join("s"), s.dir.path());
        std::fs::remove_dir_all(s.dir.path().join("s")).unwrap();
        s
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    /// Replaces `from` with `to` in the file at `rel` (which must contain it), as an editor would.
    pub fn edit(&self, rel: &str, from: &str, to: &str) -> &Self {
        let text = self.read(rel);
        assert!(text.contains(from), "`{rel}` has no `{from}`");
        self.write(rel, text.replace(from, to))
    }

    pub fn remove(&self, rel: &str) -> &Self {
        std::fs::remove_file(self.path(rel)).unwrap();
        self
    }

    /// Builds in memory through the library.
    pub fn plan(&self) -> Result<BuildResult, Errors> {
        self.plan_with(BuildOptions::default())
    }

    pub fn plan_with(&self, opts: BuildOptions) -> Result<BuildResult, Errors> {
        let text = std::fs::read_to_string(self.path("config.toml")).unwrap();
        let config = Config::parse("config.toml", &text).map_err(Errors::sorted)?;
        let tree = SourceTree::read(self.root(), &config).map_err(Errors::sorted)?;
        build(Arc::new(tree), Arc::new(config), &opts)
    }

    /// The text of one output file of an in-memory build.
    pub fn output(&self, rel: &str) -> String {
        let r = self.plan().unwrap_or_else(|e| panic!("build failed:\n{e}"));
        let f = r.plan.files.get(rel).unwrap_or_else(|| {
            panic!(
                "no output `{rel}`; outputs: {:?}",
                r.plan.files.keys().collect::<Vec<_>>()
            )
        });
        String::from_utf8(f.bytes.to_vec()).unwrap()
    }

    /// The error report of a build that must fail.
    pub fn errors(&self) -> String {
        match self.plan() {
            Ok(_) => panic!("the build succeeded, but it should have failed"),
            Err(e) => e.to_string(),
        }
    }

    /// The real binary, run in the site's root.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("sitegen").unwrap();
        c.current_dir(self.root()).args(args);
        c
    }

    /// `sitegen build --watch` in the site, with its stdout's lines (stderr dropped).
    #[allow(clippy::type_complexity)] // the child and its lines, as the tests use them
    pub fn watch(
        &self,
    ) -> (
        std::process::Child,
        std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    ) {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sitegen"))
            .current_dir(self.root())
            .args(["build", "--watch"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        (child, lines)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("cannot read `{rel}`: {e}"))
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let target = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`: relative path → bytes.
pub fn snapshot_dir(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The site's config and snapshot, read as `sitegen build` reads them.
pub fn load(site: &TestSite) -> (Arc<Config>, Arc<SourceTree>) {
    let text = std::fs::read_to_string(site.path("config.toml")).unwrap();
    let config = Arc::new(Config::parse("config.toml", &text).unwrap());
    let tree = Arc::new(SourceTree::read(site.root(), &config).unwrap());
    (config, tree)
}

/// An incremental build with `builder`, checked against a fresh build of the same input:
/// whatever was reused, the result must be what a fresh build gives.
pub fn rebuild(site: &TestSite, builder: &mut sitegen::build::Builder) -> BuildResult {
    rebuild_with(site, builder, &BuildOptions::default())
}

/// [`rebuild`] with `opts` for the incremental build (the fresh one has the defaults).
pub fn rebuild_with(site: &TestSite, builder: &mut sitegen::build::Builder, opts: &BuildOptions) -> BuildResult {
    let (config, tree) = load(site);
    let r = builder
        .build(tree.clone(), config.clone(), opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let fresh = build(tree, config, &BuildOptions::default()).unwrap();
    assert!(r.plan == fresh.plan, "incremental build differs from a fresh build");
    r
}

/// Adds `n` posts to the blog fixture, `posts/many-{i}.md`: a heading `Part {i}`, then
/// `Body {i}:` and `i * 20` words, and a summary break where `summary(i)`.
pub fn many_posts(site: &TestSite, n: usize, summary: impl Fn(usize) -> bool) {
    for i in 0..n {
        let more = if summary(i) {
            "\n\n<!-- more -->\n\nThe rest."
        } else {
            ""
        };
        site.write(
            &format!("site/content/posts/many-{i}.md"),
            format!(
                "+++\ntitle = \"Many {i}\"\ndate = 2024-02-{:02}\n+++\n## Part {i}\n\nBody {i}: {}{more}\n",
                i % 28 + 1,
                "words ".repeat(i * 20)
            ),
        );
    }
}

/// A `serve` session (without previews' browser) on `site`, streaming to `sink` if any.
pub fn session(
    site: &TestSite,
    sink: Option<Arc<dyn sitegen::build::OutputSink>>,
) -> (sitegen::serve::Session, sitegen::serve::Outcome) {
    let args = sitegen::cli::SiteArgs {
        drafts: false,
        future: false,
        base_url: None,
        target: None,
    };
    sitegen::serve::Session::start(
        site.root(),
        Path::new("config.toml"),
        args,
        (false, sink),
        Box::new(|_| {}),
    )
    .unwrap()
}

/// A number from the environment variable `name`, or `default` when it is unset or not one.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// SplitMix64: a reproducible stream of choices for the randomised tests (fault runs, the
/// edit storm), seeded from an environment variable so a failure can be replayed.
pub struct Rng(pub u64);

impl Rng {
    /// The seed in `var`, or one taken from the clock; returns it too, to be printed.
    pub fn from_env(var: &str) -> (Rng, u64) {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let seed = env_number(var, clock);
        (Rng(seed), seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// `sitegen serve --port 0` in `root` (the real binary), stopped on drop.
pub struct Serve {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Serve {
    pub fn start(root: &Path) -> Serve {
        Serve::start_with(root, &[])
    }

    /// [`Serve::start`] with these environment variables set.
    pub fn start_with(root: &Path, env: &[(&str, &str)]) -> Serve {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sitegen"))
            .current_dir(root)
            .envs(env.iter().copied())
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sitegen serve");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("serve prints its URL").unwrap();
        // "Serving ROOT at http://127.0.0.1:PORT/ (...)"
        let rest = first
            .split(" at http://")
            .nth(1)
            .expect("the URL in serve's first line");
        let addr = rest.split('/').next().unwrap().to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Serve {
            child,
            url: format!("http://{addr}"),
            addr,
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
