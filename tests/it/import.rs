//! `sitegen import zola` on a trimmed copy of Zola's own documentation
//! (`tests/fixtures/zola-docs`, see its README): the report, what is left to fix, and the
//! URLs against the list of files Zola 0.22.1 writes for the whole site.

use std::collections::BTreeSet;

use crate::harness::{fixture_dir, snapshot_dir, TestSite};

/// Imports the fixture into `s/zd` and returns the CLI's output.
fn import(s: &TestSite) -> String {
    let out = s
        .cmd(&["import", "zola", fixture_dir("zola-docs").to_str().unwrap(), "zd"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn zola_docs_import_reports_every_change_and_what_is_left() {
    let s = TestSite::starter();
    let out = import(&s);
    // What is left are links into the pages and screenshots the fixture leaves out of Zola's docs.
    assert!(out.contains("does not build yet: 19 errors,"), "{out}");
    let report = s
        .read("zd/IMPORT.md")
        .replace(fixture_dir("zola-docs").to_str().unwrap(), "[SRC]");
    insta::assert_snapshot!("zola_docs_import_report", report);

    // The converted config and front matter are sitegen's.
    let config = s.read("zd/config.toml");
    assert!(config.contains("source_dir = \".\""), "{config}");
    let section = s.read("zd/content/documentation/_index.md");
    assert!(
        section.contains("\nredirect_to = \"documentation/getting-started/\""),
        "{section}"
    );
    // Tera 1 blocks that no parent has are gone.
    assert!(!s.read("zd/templates/documentation.html").contains("extra_nav_class"));

    // A second import into the same folder is refused; --force writes over it.
    let e = s
        .cmd(&["import", "zola", fixture_dir("zola-docs").to_str().unwrap(), "zd"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8(e).unwrap().contains("is not empty"));
    s.cmd(&[
        "import",
        "zola",
        fixture_dir("zola-docs").to_str().unwrap(),
        "site",
        "--force",
    ])
    .assert()
    .success();
}

/// The imported site builds as it is, and every file Zola writes for these pages is there at
/// the same path (the gallery shortcode reads `page.assets`, as in Zola; the search index is
/// Zola's `search_index.en.json` with `elasticlunr.min.js`).
#[test]
fn zola_docs_import_keeps_zolas_urls() {
    let s = TestSite::starter();
    import(&s);
    s.cmd(&["--root", "zd", "build", "-q"]).assert().success();
    let built: BTreeSet<String> = snapshot_dir(&s.path("zd/public")).into_keys().collect();

    let zola: BTreeSet<String> = std::fs::read_to_string(fixture_dir("zola-docs.files"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // What Zola writes for the files in the fixture (the rest of its list is the pages
    // trimmed away, and screenshots that are not in the fixture).
    let expected: Vec<&str> = vec![
        "404.html",
        "CNAME",
        "favicon.ico",
        "index.html",
        "robots.txt",
        "sitemap.xml",
        "site.css",
        "search.js",
        "elasticlunr.min.js",
        "search_index.en.json",
        "logos/Zola-logo-white.svg",
        "documentation/index.html",
        "documentation/content/index.html",
        "documentation/content/overview/index.html",
        "documentation/content/linking/index.html",
        "documentation/getting-started/index.html",
        "documentation/getting-started/overview/index.html",
        "documentation/getting-started/cli-usage/index.html",
        "themes/index.html",
        "themes/coffee/index.html",
        "themes/deepthought/index.html",
        "theme-tags/index.html",
        "theme-tags/dark/index.html",
        "theme-tags/simple/index.html",
        "theme-tags/mermaid/index.html",
        "theme-tags/katex/index.html",
        "documentation/content/image-processing/index.html",
        "documentation/content/image-processing/01-zola.png",
        "documentation/content/image-processing/08-example.jpg",
        "documentation/templates/index.html",
        "documentation/templates/feeds/index.html",
        "documentation/templates/pagination/index.html",
    ];
    for e in &expected {
        assert!(
            zola.contains(*e),
            "`{e}` is not in Zola's list: the expectation is wrong"
        );
        assert!(
            built.contains(*e),
            "Zola writes `{e}`, the imported site does not; it wrote:\n{built:#?}"
        );
    }
}

/// apollo (a popular theme with demo content, Tera 1 macros and all): after the import and
/// one fix IMPORT.md lists (its config names a favicon the demo does not ship), every file
/// Zola writes is written at the same path (its `elasticlunr_json` search index too), but
/// the processed images, whose names hash sitegen's own encoder settings (as many of them).
#[test]
fn apollo_import_keeps_zolas_urls() {
    let s = TestSite::starter();
    let src = fixture_dir("zola-apollo");
    let out = s
        .cmd(&["import", "zola", src.to_str().unwrap(), "ap"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("does not build yet: 1 error,"), "{out}");
    assert!(s
        .read("ap/IMPORT.md")
        .contains("get_url: no static file `icon/favicon.png`"));
    s.edit("ap/config.toml", "favicon = \"/icon/favicon.png\"", "");
    s.cmd(&["--root", "ap", "build", "-q"]).assert().success();
    let built: BTreeSet<String> = snapshot_dir(&s.path("ap/public")).into_keys().collect();
    let zola: Vec<String> = std::fs::read_to_string(fixture_dir("zola-apollo.files"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let processed = |v: &mut dyn Iterator<Item = &String>| v.filter(|p| p.starts_with("processed_images/")).count();
    let missing: Vec<&String> = zola
        .iter()
        .filter(|p| !built.contains(*p) && !p.starts_with("processed_images/"))
        .collect();
    assert_eq!(missing, Vec::<&String>::new());
    assert_eq!(processed(&mut built.iter()), processed(&mut zola.iter()));
}

/// Zola's own multilingual test site: every language's pages at Zola's URLs.
#[test]
fn a_multilingual_zola_site_keeps_every_languages_urls() {
    let s = TestSite::starter();
    let src = fixture_dir("zola-i18n");
    let out = s
        .cmd(&["import", "zola", src.to_str().unwrap(), "i18n"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("The imported site builds"), "{out}");
    let report = s.read("i18n/IMPORT.md");
    assert!(report.contains("`[languages.fr]`"), "{report}");
    assert!(
        report.contains(
            "`build_search_index` → `[search] enabled = true` with `zola_compat = [\"elasticlunr_javascript\"]`"
        ),
        "{report}"
    );
    s.cmd(&["--root", "i18n", "build", "-q"]).assert().success();
    let built: BTreeSet<String> = snapshot_dir(&s.path("i18n/public")).into_keys().collect();
    let zola = std::fs::read_to_string(fixture_dir("zola-i18n.files")).unwrap();
    let missing: Vec<&str> = zola.lines().filter(|p| !built.contains(*p)).collect();
    assert_eq!(missing, Vec::<&str>::new());
    // What Zola's templates show of each language.
    let fr = s.read("i18n/public/fr/blog/something/index.html");
    let en = s.read("i18n/public/blog/something/index.html");
    assert_ne!(fr, en);
    assert!(s.read("i18n/public/fr/atom.xml").contains("/fr/blog/"));
    assert!(!built.contains("it/atom.xml"), "Zola gives Italian no feed");
    // Per-taxonomy templates (`authors/list.html`, `tags/single.html`), as Zola picks them.
    let authors = s.read("i18n/public/authors/index.html");
    assert!(authors.contains("Queen Elizabeth  queen-elizabeth 1"), "{authors}");
    assert!(s
        .read("i18n/public/fr/tags/bonjour/index.html")
        .contains("Tag: bonjour"));
    // Zola's own anchor link, from the section's `insert_anchor_links`.
    assert!(s.read("i18n/public/blog/something-else/index.html").contains("🔗"));
}
