//! `sitegen import hugo` on two real Hugo sites checked in as fixtures (see their READMEs):
//! Hugo's example site (`hugo-basic`: TOML, YAML and JSON front matter, taxonomies, relative
//! aliases, a headless bundle, embeds) and a trimmed copy of Hugo's documentation
//! (`hugo-docs`: module mounts, a headless section, bundles, Hugo's own shortcodes and dozens
//! of custom ones, every layout). Each import is built and its pages compared with the list
//! of pages Hugo 0.168 writes for the same content (`tests/fixtures/hugo-*.urls`).

use std::collections::BTreeSet;

use crate::harness::{fixture_dir, snapshot_dir, TestSite};

/// Imports the fixture `name` into `s/out` and returns the CLI's output.
fn import(s: &TestSite, name: &str, out: &str) -> String {
    let o = s
        .cmd(&["import", "hugo", fixture_dir(name).to_str().unwrap(), out])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(o).unwrap()
}

/// Imports the fixture `name` into `s/out`: the CLI's output, and the report (with the
/// fixture's path as `[SRC]`).
fn import_report(s: &TestSite, name: &str, out: &str) -> (String, String) {
    let printed = import(s, name, out);
    let report = s
        .read(&format!("{out}/IMPORT.md"))
        .replace(fixture_dir(name).to_str().unwrap(), "[SRC]");
    (printed, report)
}

/// Writes a site's files (path, text) into the test's folder.
fn write_all(s: &TestSite, files: &[(&str, &str)]) {
    for (path, text) in files {
        s.write(path, text);
    }
}

/// The pages (`.html` files) a build wrote.
fn pages(s: &TestSite, out: &str) -> BTreeSet<String> {
    snapshot_dir(&s.path(&format!("{out}/public")))
        .into_keys()
        .filter(|p| p.ends_with(".html"))
        .collect()
}

/// The pages Hugo 0.168 writes for a fixture.
fn hugo_pages(name: &str) -> BTreeSet<String> {
    std::fs::read_to_string(fixture_dir(&format!("{name}.urls")))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// Hugo's example site: the import builds with no error and no broken internal link, and
/// writes every page Hugo writes but one: the `tags/index/` term, which Hugo makes because
/// the posts section's `_index.md` has `tags = ["index"]` (sitegen's sections have no terms;
/// IMPORT.md says so at that line).
#[test]
fn hugo_basic_import_keeps_hugos_urls() {
    let s = TestSite::starter();
    let (out, report) = import_report(&s, "hugo-basic", "hb");
    // What the build reports are the demo's links to Hugo's own docs at its `baseURL`
    // (gohugo.io), which are internal links to a site that is not there.
    assert!(out.contains("does not build yet: 5 errors,"), "{out}");
    insta::assert_snapshot!("hugo_basic_import_report", report);
    assert!(report.contains(
        "`content/post/_index.md:5`: front matter `tags` moved to `[extra]`: a section has no taxonomy terms"
    ));

    // Served anywhere but gohugo.io, those links leave the site: no error is left.
    s.cmd(&["--root", "hb", "check", "--base-url", "https://example.org"])
        .assert()
        .success();
    s.cmd(&["--root", "hb", "build", "-q", "--base-url", "https://example.org"])
        .assert()
        .success();
    let built = pages(&s, "hb");
    let hugo = hugo_pages("hugo-basic");
    let missing: Vec<&String> = hugo.difference(&built).collect();
    let extra: Vec<&String> = built.difference(&hugo).collect();
    assert_eq!(missing, ["tags/index/index.html"]);
    assert!(extra.is_empty(), "sitegen writes pages Hugo does not: {extra:?}");
    assert_eq!(built.len(), 32);

    // The three front matter formats and the embeds, converted.
    let json = s.read("hb/content/post/emoji-support.md");
    assert!(json.starts_with("+++\ntitle = \"Emoji Support\"\n"), "{json}");
    let rich = s.read("hb/public/post/rich-content/index.html");
    assert!(
        rich.contains("src=\"https://www.youtube-nocookie.com/embed/ZJthWmvUzzc?"),
        "{rich}"
    );
    assert!(rich.contains("https://player.vimeo.com/video/48912912"), "{rich}");
}

/// Hugo's documentation, trimmed: IMPORT.md lists every layout left behind and every
/// shortcode left as text, with its line. The site builds and writes exactly the pages Hugo
/// writes; what the build reports are links to pages trimmed from the fixture, which Hugo
/// does not write either.
#[test]
fn hugo_docs_import_lists_what_is_left_and_keeps_hugos_urls() {
    let s = TestSite::starter();
    let (out, report) = import_report(&s, "hugo-docs", "hd");
    assert!(out.contains("does not build yet: "), "{out}");
    insta::assert_snapshot!("hugo_docs_import_report", report);
    let layouts = snapshot_dir(&fixture_dir("hugo-docs/layouts"));
    assert!(layouts.len() > 70);
    for l in layouts.keys() {
        assert!(
            report.contains(&format!("- `layouts/{l}`: a ")),
            "IMPORT.md does not list `layouts/{l}`"
        );
    }
    for line in [
        "- `content/en/shortcodes/qr.md:36`: shortcode `qr` left as text",
        "- `content/en/configuration/permalinks.md:18`: shortcode `code-toggle` left as text",
        "- `content/en/news/_content.gotmpl`: a content adapter",
    ] {
        assert!(report.contains(line), "IMPORT.md has no `{line}`");
    }

    let build = s
        .cmd(&["--root", "hd", "build"])
        .assert()
        .success()
        .get_output()
        .clone();
    let built = pages(&s, "hd");
    let hugo = hugo_pages("hugo-docs");
    assert_eq!(built, hugo);
    assert_eq!(built.len(), 41);
    let warnings = String::from_utf8(build.stderr).unwrap();
    let broken: Vec<&str> = warnings
        .lines()
        .filter_map(|l| l.split("nothing is built at `").nth(1)?.split('`').next())
        .collect();
    assert!(broken.len() > 50, "{warnings}");
    for b in &broken {
        assert!(!hugo.contains(*b), "a link to `{b}`, which Hugo builds, is broken");
    }
    // The headless section is not published, its snippets kept as drafts.
    assert!(s.read("hd/content/_common/_index.md").contains("draft = true"));
    assert!(!s.path("hd/public/_common").exists());
}

/// A small Hugo site of the kind users have: a config that does not parse, then a front
/// matter that does not parse, are errors at their line and column, and nothing is written;
/// a second import into the same folder is refused unless `--force`; SRC is never changed.
#[test]
fn hugo_import_errors_point_at_the_line_and_dest_is_protected() {
    let s = TestSite::starter();
    s.write("src/hugo.yaml", "baseURL: https://example.org/\ntitle: [unclosed\n");
    s.write("src/content/posts/a.md", "---\ntitle: A\ntags: [x\n---\nText\n");
    s.write("src/content/posts/b.md", "+++\ntitle = \"B\"\n+++\n");
    let err = |args: &[&str]| {
        let o = s.cmd(args).assert().failure().get_output().stderr.clone();
        String::from_utf8(o).unwrap()
    };
    let e = err(&["import", "hugo", "src", "out"]);
    assert!(e.contains("hugo.yaml:3:1: not valid Hugo config: "), "{e}");
    assert!(!s.path("out").exists());

    s.write("src/hugo.yaml", "baseURL: https://example.org/\ntitle: T\n");
    let e = err(&["import", "hugo", "src", "out"]);
    assert!(e.contains("content/posts/a.md:4:1: not valid front matter: "), "{e}");
    assert!(!s.path("out").exists());

    s.write("src/content/posts/a.md", "---\ntitle: A\ntags: [x]\n---\nText\n");
    let before = snapshot_dir(&s.path("src"));
    let o = s
        .cmd(&["import", "hugo", "src", "out"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(o).unwrap().contains("The imported site builds"));
    let e = err(&["import", "hugo", "src", "out"]);
    assert!(e.contains("is not empty"), "{e}");
    s.cmd(&["import", "hugo", "src", "out", "--force"]).assert().success();
    s.cmd(&["--root", "out", "check"]).assert().success();
    assert_eq!(snapshot_dir(&s.path("src")), before, "the import changed SRC");
}

/// A multilingual site with a content folder per language and translation tables: the
/// content meets in one tree as `NAME.CODE.md`, the translations become `i18n/CODE.toml`, and
/// the config has sitegen's `[languages]` (so it builds: every language at Hugo's URLs).
#[test]
fn hugo_multilingual_content_and_translations() {
    let s = TestSite::starter();
    write_all(
        &s,
        &[
            ("src/config/_default/hugo.toml", "baseURL = \"https://example.org/\"\ndefaultContentLanguage = \"en\"\n"),
            ("src/config/_default/languages.toml", "[en]\ncontentDir = \"content/english\"\nweight = 1\n[fr]\ncontentDir = \"content/french\"\ntitle = \"Le site\"\nweight = 2\n"),
            ("src/config/_default/params.toml", "description = \"A site\"\n"),
            ("src/content/english/posts/hello.md", "---\ntitle: Hello\n---\nHi\n"),
            ("src/content/english/posts/trip/index.md", "---\ntitle: Trip\n---\n![map](map.png)\n"),
            ("src/content/english/posts/trip/map.png", "PNG"),
            ("src/content/french/posts/hello.md", "---\ntitle: Bonjour\n---\nSalut\n"),
            ("src/content/french/posts/trip/index.md", "---\ntitle: Voyage\n---\n"),
            ("src/content/french/posts/trip/map.png", "PNG"),
            ("src/i18n/fr.yaml", "readMore:\n  other: Lire la suite\nwords:\n  one: un mot\n  other: \"{{ .Count }} mots\"\n"),
            ("src/i18n/en.toml", "readMore = \"Read more\"\n"),
        ],
    );
    s.cmd(&["import", "hugo", "src", "out"]).assert().success();
    let written: Vec<String> = snapshot_dir(&s.path("out/content")).into_keys().collect();
    assert_eq!(
        written,
        [
            "posts/_index.fr.md",
            "posts/_index.md",
            "posts/hello.fr.md",
            "posts/hello.md",
            "posts/trip/index.fr.md",
            "posts/trip/index.md",
            "posts/trip/map.png"
        ]
    );
    assert_eq!(
        s.read("out/content/posts/hello.fr.md"),
        "+++\ntitle = \"Bonjour\"\n+++\nSalut\n"
    );
    assert_eq!(
        s.read("out/i18n/fr.toml"),
        "readMore = \"Lire la suite\"\nwords = \"{{ .Count }} mots\"\n"
    );
    assert_eq!(s.read("out/i18n/en.toml"), "readMore = \"Read more\"\n");
    let config = s.read("out/config.toml");
    assert!(config.contains("language = \"en\"\n"), "{config}");
    assert!(config.contains("description = \"A site\"\n"), "{config}");
    assert!(config.contains("\n[languages.fr]\ntitle = \"Le site\"\n"), "{config}");
    // It builds, every language at Hugo's URLs, the bundle's file beside each version.
    s.write("out/content/posts/trip/map.png", tiny_png());
    s.cmd(&["--root", "out", "build", "-q"]).assert().success();
    let built = pages(&s, "out");
    for p in [
        "posts/hello/index.html",
        "fr/posts/hello/index.html",
        "posts/trip/index.html",
        "fr/posts/trip/index.html",
        "fr/posts/index.html",
    ] {
        assert!(built.contains(p), "{p} not in {built:?}");
    }
    assert!(s.path("out/public/fr/posts/trip/map.png").exists());
    let fr = s.read("out/public/fr/posts/hello/index.html");
    assert!(fr.contains(r#"<html lang="fr">"#) && fr.contains("Salut"), "{fr}");
}

/// A 1x1 PNG.
fn tiny_png() -> Vec<u8> {
    let mut v = Vec::new();
    image::DynamicImage::new_rgb8(1, 1)
        .write_to(&mut std::io::Cursor::new(&mut v), image::ImageFormat::Png)
        .unwrap();
    v
}

/// A site with a theme, Sass in `assets/`, data files and a permalink: the theme's static
/// files, translations and layouts are taken or listed (the site's files win), Sass is
/// compiled where Hugo Pipes would have put it, and the page's URL is its permalink's.
#[test]
fn hugo_theme_assets_data_and_permalinks() {
    let s = TestSite::starter();
    write_all(
        &s,
        &[
            ("src/hugo.toml", "baseURL = \"https://example.org/\"\ntitle = \"T\"\ntheme = \"paper\"\n[permalinks]\nposts = \"/:year/:slug/\"\n"),
            ("src/content/posts/2024-01-02-first.md", "---\ntitle: First Post\ndate: 2024-01-02\ntags: [Go Lang, C++]\n---\nSee [about]({{< relref \"/about\" >}}).\n"),
            ("src/content/about.md", "---\ntitle: About\n---\nThe [first post]({{< ref \"2024-01-02-first.md\" >}}).\n"),
            ("src/assets/scss/main.scss", "$c: red;\nbody { color: $c; }\n"),
            ("src/static/img/logo.svg", "<svg/>"),
            ("src/data/authors.yaml", "- name: A\n"),
            ("src/i18n/en.toml", "[readMore]\nother = \"More\"\n"),
            ("src/themes/paper/layouts/_default/single.html", "{{ .Content }}"),
            ("src/themes/paper/static/img/logo.svg", "<svg>theme</svg>"),
            ("src/themes/paper/static/theme.css", "body{}"),
            ("src/themes/paper/i18n/en.toml", "readMore = \"Theme more\"\nnext = \"Next\"\n"),
            ("src/themes/paper/theme.toml", "name = \"Paper\"\n"),
        ],
    );
    let o = s
        .cmd(&["import", "hugo", "src", "out"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(o).unwrap().contains("The imported site builds"));
    s.cmd(&["--root", "out", "check"]).assert().success();
    s.cmd(&["--root", "out", "build", "-q"]).assert().success();
    let built: Vec<String> = snapshot_dir(&s.path("out/public")).into_keys().collect();
    for p in [
        "2024/first-post/index.html",
        "about/index.html",
        "posts/index.html",
        "tags/go-lang/index.html",
        "tags/c++/index.html",
        "scss/main.css",
        "img/logo.svg",
        "theme.css",
    ] {
        assert!(built.iter().any(|b| b == p), "no `{p}` in {built:#?}");
    }
    assert_eq!(s.read("out/public/img/logo.svg"), "<svg/>");
    assert_eq!(s.read("out/data/authors.yaml"), "- name: A\n");
    assert_eq!(s.read("out/i18n/en.toml"), "readMore = \"More\"\nnext = \"Next\"\n");
    let about = s.read("out/public/about/index.html");
    assert!(
        about.contains("href=\"https://example.org/2024/first-post/\""),
        "{about}"
    );
    let report = s.read("out/IMPORT.md");
    for line in [
        "- `themes/paper/layouts/_default/single.html`: a layout (Go template): not converted",
        "- `themes/paper/theme.toml`: the theme's config",
        "- `content/posts/2024-01-02-first.md`: its permalink → `path` (`/2024/first-post/`)",
    ] {
        assert!(report.contains(line), "IMPORT.md has no `{line}`:\n{report}");
    }
}
