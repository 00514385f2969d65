//! The command line as a user runs it.

use crate::harness::TestSite;

#[test]
fn init_then_build_works_in_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = assert_cmd::Command::cargo_bin("sitegen").unwrap();
    c.current_dir(dir.path()).args(["init", "my-site"]).assert().success();
    let mut c = assert_cmd::Command::cargo_bin("sitegen").unwrap();
    let out = c
        .current_dir(dir.path().join("my-site"))
        .arg("build")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("Built 1 pages, 2 sections, 3 static files into `public`"),
        "{out}"
    );
    let html = std::fs::read_to_string(dir.path().join("my-site/public/blog/first-post/index.html")).unwrap();
    assert!(html.contains("<h1 class=\"title\">My first post</h1>"));
}

#[test]
fn init_refuses_a_folder_with_files() {
    let site = TestSite::starter();
    let out = site.cmd(&["init", "."]).assert().failure().get_output().stderr.clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap(), @"error: .: folder is not empty; use `--force` to write the new site's files into it anyway");
}

#[test]
fn check_reports_broken_links_and_writes_nothing() {
    let site = TestSite::starter();
    site.cmd(&["check"]).assert().success();
    site.write(
        "site/content/blog/links.md",
        "+++\ntitle = \"Links\"\n+++\n[gone](/blog/gone/) and [ok](/blog/)\n",
    );
    let out = site
        .cmd(&["check"])
        .assert()
        .failure()
        .code(1)
        .get_output()
        .stderr
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap(), @"error: site/content/blog/links.md:4:1: broken internal link `/blog/gone/`: nothing is built at `blog/gone/index.html`");
    assert!(!site.path("public").exists());
    // `build` still builds, with a warning.
    let out = site.cmd(&["build"]).assert().success().get_output().stderr.clone();
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("warning: site/content/blog/links.md:4:1: broken internal link `/blog/gone/`"));
}

#[test]
fn root_and_config_flags() {
    let site = TestSite::starter();
    std::fs::rename(site.path("config.toml"), site.path("other.toml")).unwrap();
    let mut c = assert_cmd::Command::cargo_bin("sitegen").unwrap();
    c.args([
        "--root",
        site.root().to_str().unwrap(),
        "--config",
        "other.toml",
        "build",
        "-q",
    ])
    .assert()
    .success();
    assert!(site.path("public/index.html").exists());
    let out = site.cmd(&["build"]).assert().failure().get_output().stderr.clone();
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("error: config.toml: cannot read"));
}

#[test]
fn the_repository_documentation_site_builds_and_checks() {
    let mut c = assert_cmd::Command::cargo_bin("sitegen").unwrap();
    c.args(["--root", env!("CARGO_MANIFEST_DIR"), "check"])
        .assert()
        .success();
}

#[test]
fn build_watch_started_on_a_broken_site_leaves_no_stale_output() {
    // Regression: when the first build of `build --watch` failed, the first good build only
    // added its files to the old output, so files of an older build stayed in `public/`.
    let site = TestSite::starter();
    site.cmd(&["build", "-q"]).assert().success();
    site.write("public/stale.html", "from an older build");
    site.write("site/content/blog/broken.md", "+++\ntitle = \n+++\n");
    let (mut child, mut lines) = site.watch();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("build failed"), "{first}");
    assert!(site.path("public/stale.html").exists(), "a failed build writes nothing");
    let watching = lines.next().unwrap().unwrap();
    assert!(watching.starts_with("Watching"), "{watching}");
    std::thread::spawn(move || for _ in lines {});
    site.remove("site/content/blog/broken.md");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while site.path("public/stale.html").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(!site.path("public/stale.html").exists(), "stale output kept");
    assert!(site.path("public/blog/first-post/index.html").exists());
}

/// `--future` builds pages whose `publish_date` is still to come (the CLI reads the clock).
#[test]
fn build_future_includes_pages_to_be_published() {
    let site = TestSite::starter();
    site.write(
        "site/content/blog/later.md",
        "+++\ntitle = \"Later\"\npublish_date = 2999-01-01\n+++\nNot yet.\n",
    );
    site.cmd(&["build"]).assert().success();
    assert!(!site.path("public/blog/later/index.html").exists());
    site.cmd(&["build", "--future"]).assert().success();
    assert!(site.path("public/blog/later/index.html").exists());
}

/// `sitegen new`: the built-in archetype, then the site's `default.md`, then the section's;
/// the file builds as a draft; an existing file is never overwritten.
#[test]
fn new_writes_a_page_from_its_archetype_and_never_overwrites() {
    let site = TestSite::starter();
    let stdout = |args: &[&str]| {
        let out = site.cmd(args).assert().success().get_output().stdout.clone();
        String::from_utf8(out).unwrap()
    };
    assert_eq!(
        stdout(&["new", "blog/my-post.md"]),
        "Created `site/content/blog/my-post.md` from the built-in archetype.\n"
    );
    let text = site.read("site/content/blog/my-post.md");
    let date = text.lines().nth(2).unwrap().strip_prefix("date = ").unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(date).is_ok(), "{text}");
    assert_eq!(
        text.replace(date, "DATE"),
        "+++\ntitle = \"My post\"\ndate = DATE\ndraft = true\n+++\n"
    );
    site.write(
        "site/archetypes/default.md",
        "+++\ntitle = \"{{ title }}\"\n+++\nDefault.\n",
    );
    site.write(
        "site/archetypes/blog.md",
        "+++\ntitle = \"{{ title }}\"\ndate = {{ date }}\n[taxonomies]\ntags = [\"{{ section }}\"]\n+++\n{{ slug }}\n",
    );
    assert_eq!(
        stdout(&["new", "about-us.md"]),
        "Created `site/content/about-us.md` from `site/archetypes/default.md`.\n"
    );
    assert_eq!(
        site.read("site/content/about-us.md"),
        "+++\ntitle = \"About us\"\n+++\nDefault.\n"
    );
    stdout(&["new", "blog/2026-03-01-launch/index.md"]);
    assert!(site
        .read("site/content/blog/2026-03-01-launch/index.md")
        .ends_with("[taxonomies]\ntags = [\"blog\"]\n+++\nlaunch\n"));
    stdout(&["new", "docs/_index.md"]);
    assert_eq!(site.read("site/content/docs/_index.md"), "+++\ntitle = \"Docs\"\n+++\n");
    site.cmd(&["build"]).assert().success();
    assert!(site.path("public/about-us/index.html").exists());
    assert!(site.path("public/blog/launch/index.html").exists());
    assert!(!site.path("public/blog/my-post/index.html").exists(), "a draft");

    let out = site
        .cmd(&["new", "blog/my-post.md"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap(), @"error: site/content/blog/my-post.md: already exists; not overwriting it");
    let out = site
        .cmd(&["new", "../outside.md"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap(), @"error: ../outside.md: must be a path under `content/`, such as `blog/my-post.md`, with no `..`");
}

/// `sitegen completions SHELL` and `sitegen man` print what the shells and `man` read.
#[test]
fn completions_and_man_page() {
    let site = TestSite::starter();
    for (shell, marker) in [
        ("bash", "complete -F _sitegen"),
        ("zsh", "#compdef sitegen"),
        ("fish", "complete -c sitegen"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = site
            .cmd(&["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let script = String::from_utf8(out).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("completions") && script.contains("publish"), "{shell}");
    }
    let out = site.cmd(&["man"]).assert().success().get_output().stdout.clone();
    let page = String::from_utf8(out).unwrap();
    assert!(page.contains(".TH sitegen 1"), "{page}");
    assert!(
        page.contains(".SH SUBCOMMANDS") && page.contains("sitegen\\-new(1)"),
        "{page}"
    );
    // Each page it names is there too.
    let out = site.cmd(&["man", "new"]).assert().success().get_output().stdout.clone();
    let page = String::from_utf8(out).unwrap();
    assert!(page.contains(".TH sitegen-new 1  \"sitegen 0.1.0\""), "{page}");
    site.cmd(&["man", "nope"]).assert().failure();
    site.cmd(&["completions", "tcsh"]).assert().failure();
}
