//! Multilingual sites: the `multilingual` fixture (English, Japanese, Arabic) builds every
//! language under its own prefix, with translations linked both ways, per-language feeds,
//! taxonomies, 404 pages and a sitemap with `hreflang` alternates; bad input is an error
//! naming the file; edits of translated files and translation tables rebuild like any other.

use std::sync::Arc;

use sitegen::build::{build, BuildOptions, Builder};
use sitegen::config::Config;
use sitegen::source::SourceTree;

use crate::harness::TestSite;

fn outputs(site: &TestSite) -> Vec<String> {
    let r = site.plan().unwrap_or_else(|e| panic!("{e}"));
    r.plan.files.keys().cloned().collect()
}

/// The part of `html` from `start` to the first `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html.find(start).unwrap_or_else(|| panic!("no `{start}` in\n{html}"));
    let j = html[i..].find(end).map(|j| i + j + end.len()).unwrap();
    &html[i..j]
}

#[test]
fn every_language_is_under_its_prefix() {
    let site = TestSite::fixture("multilingual");
    insta::assert_snapshot!(outputs(&site).join("\n"));
}

#[test]
fn the_sitemap_lists_each_version_with_hreflang_and_x_default() {
    let site = TestSite::fixture("multilingual");
    let sitemap = site.output("sitemap.xml");
    assert!(sitemap.contains(r#"xmlns:xhtml="http://www.w3.org/1999/xhtml""#));
    insta::assert_snapshot!(sitemap);
}

#[test]
fn feeds_are_per_language_and_only_where_configured() {
    let site = TestSite::fixture("multilingual");
    let files = outputs(&site);
    let ja = site.output("ja/atom.xml");
    assert!(ja.contains(r#"xml:lang="ja""#) && ja.contains("<title>フィールドノート</title>"));
    assert_eq!(ja.matches("<entry").count(), 3, "the Japanese pages only:\n{ja}");
    assert!(!ja.contains("Second wind"));
    assert_eq!(site.output("atom.xml").matches("<entry").count(), 4);
    // `[languages.ar] generate_feeds = false`; its term feeds follow the taxonomy's `feed`.
    assert!(!files.iter().any(|f| f == "ar/atom.xml" || f == "ar/rss.xml"));
    assert!(files.iter().any(|f| f == "ar/tags/mydn/atom.xml"));
    insta::assert_snapshot!(ja);
}

#[test]
fn pages_show_their_language_direction_translations_and_switcher() {
    let site = TestSite::fixture("multilingual");
    let ar = site.output("ar/blog/first/index.html");
    assert!(ar.contains(r#"<html lang="ar" dir="rtl">"#), "{ar}");
    let ja = site.output("ja/blog/first/index.html");
    assert!(ja.contains(r#"<html lang="ja">"#));
    let en = site.output("blog/first/index.html");
    assert!(en.contains(r#"<html lang="en">"#));
    insta::assert_snapshot!(
        "switchers",
        [&en, &ja, &ar]
            .iter()
            .map(|h| between(h, r#"<nav class="lang-switch""#, "</nav>"))
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    // `<link rel="alternate" hreflang>` for every version, this one included.
    for lang in ["en", "ja", "ar"] {
        assert!(
            ja.contains(&format!(r#"<link rel="alternate" hreflang="{lang}""#)),
            "{lang}"
        );
    }
    // A page with no translation: the switcher offers the other languages' home pages.
    let third = site.output("blog/third/index.html");
    let nav = between(&third, r#"<nav class="lang-switch""#, "</nav>");
    assert!(nav.contains(r#"href="https://example.com/ja/""#) && nav.contains(r#"href="https://example.com/ar/""#));
    // config.title is the language's.
    assert!(ja.contains("<title>夜明け · フィールドノート</title>"), "{ja}");
}

#[test]
fn links_resolve_in_the_pages_language_and_fall_back_to_the_default() {
    let site = TestSite::fixture("multilingual");
    let ja = site.output("ja/blog/first/index.html");
    assert!(ja.contains(r#"<a href="https://example.com/ja/blog/second/">"#), "{ja}");
    // There is no Arabic `second`: the link goes to the default language's.
    let ar = site.output("ar/blog/first/index.html");
    assert!(ar.contains(r#"<a href="https://example.com/blog/second/">"#), "{ar}");
    // The bundle's file is beside each language's page.
    let files = outputs(&site);
    assert!(files.contains(&"blog/bundle/list.txt".to_string()));
    assert!(files.contains(&"ja/blog/bundle/list.txt".to_string()));
}

#[test]
fn translations_come_from_the_config_the_site_and_the_theme() {
    let site = TestSite::fixture("multilingual");
    site.write(
        "site/templates/page.html",
        "{{ trans(key='welcome') }}|{{ trans(key='welcome', lang='ar') }}|{{ trans(key='min_read') }}|{{ trans(key='tags') }}|{{ lang }}|{{ config.default_language }}|{{ get_url(path='@/blog/second.md') }}|{{ get_url(path='@/blog/second.md', lang='en') }}|{% set p = get_page(path='blog/first.md', lang='ar') %}{{ p.title }}|{{ get_taxonomy_url(kind='tags', name='x') }}|{% for t in page.translations %}{{ t.lang }}={{ t.permalink }} {% endfor %}",
    );
    assert_eq!(
        site.output("ja/blog/first/index.html"),
        "ようこそ|أهلاً وسهلاً|分|タグ|ja|en|https://example.com/ja/blog/second/|https://example.com/blog/second/|أول ضوء|https://example.com/ja/tags/x/|en=https://example.com/blog/first/ ar=https://example.com/ar/blog/first/ ja=https://example.com/ja/blog/first/ "
    );
    // A key only English has (the theme's) is the fallback of every language.
    site.write("site/templates/page.html", "{{ trans(key='contents', lang='ar') }}");
    assert_eq!(site.output("blog/first/index.html"), "المحتويات");
}

#[test]
fn bad_multilingual_input_is_an_error_naming_the_file_and_the_output_stays() {
    let site = TestSite::fixture("multilingual");
    site.cmd(&["build"]).assert().success();
    let before = crate::harness::snapshot_dir(&site.path("public"));

    // A language code the config does not list.
    site.write("site/content/blog/first.de.md", "+++\ntitle = \"Erstes Licht\"\n+++\n");
    let errs = site.errors();
    assert!(
        errs.contains(
            "site/content/blog/first.de.md: the file name says language `de`, which config.toml does not list"
        ),
        "{errs}"
    );
    let out = site.cmd(&["build"]).assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("first.de.md"), "{stderr}");
    assert_eq!(crate::harness::snapshot_dir(&site.path("public")), before);
    site.remove("site/content/blog/first.de.md");

    // A translation file that does not parse: its line and column.
    site.write("site/i18n/ja.toml", "min_read = \"分\"\ntags = \n");
    let errs = site.errors();
    assert!(errs.contains("site/i18n/ja.toml:2:"), "{errs}");
    site.write("site/i18n/ja.toml", "min_read = \"分\"\n");

    // Two files that claim the same URL in one language.
    site.write(
        "site/content/blog/other.ja.md",
        "+++\ntitle = \"x\"\npath = \"/ja/blog/second/\"\n+++\n",
    );
    let errs = site.errors();
    assert!(errs.contains("ja/blog/second/index.html"), "{errs}");
    assert!(errs.contains("other.ja.md") && errs.contains("second.ja.md"), "{errs}");
    site.remove("site/content/blog/other.ja.md");

    // A `trans` key no language has: the template's file and line.
    site.write("site/templates/page.html", "ok\n{{ trans(key='nowhere') }}");
    let errs = site.errors();
    assert!(
        errs.contains("site/templates/page.html:2:") && errs.contains("no language has the key `nowhere`"),
        "{errs}"
    );
    site.cmd(&["build"]).assert().failure();
    assert_eq!(crate::harness::snapshot_dir(&site.path("public")), before);

    // A taxonomy the language does not have.
    let c = Config::parse(
        "config.toml",
        "base_url = \"/\"\n[[taxonomies]]\nname = \"tags\"\n[languages.fr]\ntaxonomies = []\n",
    )
    .unwrap();
    let mut tree = SourceTree::default();
    tree.insert(
        "content/a.fr.md",
        sitegen::source::SourceFile::new(
            "site/content/a.fr.md",
            b"+++\n[taxonomies]\ntags = [\"x\"]\n+++\n".to_vec(),
        ),
    );
    let e = build(Arc::new(tree), Arc::new(c), &BuildOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("site/content/a.fr.md:3:1: taxonomy `tags` is not one of language `fr`'s"),
        "{e}"
    );
}

#[test]
fn config_errors_name_the_key() {
    let bad = "base_url = \"/\"\n[languages.fr]\n[languages.es]\npath = \"\"\n[languages.xx_1]\n[languages.de]\npath = \"fr\"\n";
    let errs: Vec<String> = Config::parse("config.toml", bad)
        .unwrap_err()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(
        errs.iter()
            .any(|e| e.starts_with("config.toml:4:1: `languages.es.path` must be a URL path")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("config.toml:5:") && e.contains("`xx_1` is not a language code")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("config.toml:2:") && e.contains("both use the URL prefix `/fr/`")),
        "{errs:#?}"
    );
}

/// An incremental build after each edit equals a fresh build; returns what it rendered.
fn rebuild(site: &TestSite, builder: &mut Builder) -> Vec<String> {
    crate::harness::rebuild(site, builder).rendered
}

#[test]
fn edits_of_translations_rebuild_like_any_other_input() {
    let site = TestSite::fixture("multilingual");
    let mut b = Builder::default();
    rebuild(&site, &mut b);

    // A translated page's body: that page and what lists it, in its language only.
    site.edit(
        "site/content/blog/first.ja.md",
        "夜明けに出発しました。",
        "夜明け前に出発しました。",
    );
    let r = rebuild(&site, &mut b);
    assert!(r.contains(&"ja/blog/first/index.html".to_string()), "{r:?}");
    assert!(
        !r.iter().any(|p| p.starts_with("blog/") || p.starts_with("ar/")),
        "{r:?}"
    );

    // A translated title shows in the other versions' switchers and hreflang lists.
    site.edit(
        "site/content/blog/first.ar.md",
        "title = \"أول ضوء\"",
        "title = \"الضوء الأول\"",
    );
    let r = rebuild(&site, &mut b);
    assert!(r.contains(&"ar/blog/first/index.html".to_string()), "{r:?}");

    // A new translation: the other versions now link to it, and `@/` links in that
    // language go to it.
    site.write(
        "site/content/blog/second.ar.md",
        "+++\ntitle = \"الريح الثانية\"\ndate = 2024-04-02\n+++\nتغيرت الريح.\n",
    );
    let r = rebuild(&site, &mut b);
    for p in [
        "ar/blog/second/index.html",
        "blog/second/index.html",
        "ja/blog/second/index.html",
        "ar/blog/first/index.html",
        "sitemap.xml",
    ] {
        assert!(r.contains(&p.to_string()), "{p} not rendered: {r:?}");
    }
    assert!(site
        .output("ar/blog/first/index.html")
        .contains(r#"<a href="https://example.com/ar/blog/second/">"#));

    // And removed again.
    site.remove("site/content/blog/second.ar.md");
    let r = rebuild(&site, &mut b);
    assert!(r.contains(&"ar/blog/first/index.html".to_string()), "{r:?}");

    // The site's translation file: every output that uses the theme's strings.
    site.write("site/i18n/ja.toml", "min_read = \"分で読める\"\n");
    let r = rebuild(&site, &mut b);
    assert!(r.contains(&"ja/blog/first/index.html".to_string()), "{r:?}");
    assert!(site.output("ja/blog/first/index.html").contains("1 分で読める"));

    // A new translation file for a language that had only the theme's.
    site.write("site/i18n/ar.toml", "tags = \"وسوم\"\n");
    rebuild(&site, &mut b);
    assert!(site.output("ar/blog/first/index.html").contains("وسوم:"));

    // The translation tables in the config: the builder starts over, and the result is
    // still a fresh build's.
    site.edit(
        "config.toml",
        "welcome = \"ようこそ\"",
        "welcome = \"いらっしゃいませ\"",
    );
    rebuild(&site, &mut b);
}
