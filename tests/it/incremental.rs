//! Incremental builds (what `serve` and `build --watch` run on every change): an edit
//! re-renders exactly the outputs it can affect, and the result equals a fresh build.

use std::sync::Arc;

use sitegen::build::{build, BuildOptions, BuildResult, Builder};
use sitegen::config::Config;
use sitegen::source::SourceTree;

use crate::harness::TestSite;

fn rebuild(site: &TestSite, builder: &mut Builder) -> BuildResult {
    let text = std::fs::read_to_string(site.path("config.toml")).unwrap();
    let config = Arc::new(Config::parse("config.toml", &text).unwrap());
    let tree = Arc::new(SourceTree::read(site.root(), &config).unwrap());
    let r = builder
        .build(tree.clone(), config.clone(), &BuildOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    // Whatever was reused, the result is what a fresh build gives.
    let fresh = build(tree, config, &BuildOptions::default()).unwrap();
    assert!(r.plan == fresh.plan, "incremental build differs from a fresh build");
    r
}

fn html_only(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn a_rebuild_without_changes_renders_nothing() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    let first = rebuild(&site, &mut b);
    assert_eq!(
        first.rendered.len(),
        first.stats.outputs - first.stats.static_files - 4 /* manifest + bundle file + 2 */ + 2
    );
    let second = rebuild(&site, &mut b);
    assert_eq!(second.rendered, Vec::<String>::new());
}

#[test]
fn a_body_edit_renders_the_page_and_the_pages_listing_it() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    site.write(
        "site/content/posts/post-2.md",
        site.read("site/content/posts/post-2.md")
            .replace("Body of post 2.", "Body of post 2, edited."),
    );
    let r = rebuild(&site, &mut b);
    insta::assert_snapshot!(html_only(&r.rendered).join("\n"));
}

#[test]
fn a_title_edit_also_renders_the_neighbours() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    site.write(
        "site/content/docs/a.md",
        "+++\ntitle = \"A renamed\"\nweight = 1\n+++\nFirst doc.\n",
    );
    let r = rebuild(&site, &mut b);
    // docs/b shows its previous page's title; docs/index lists both; the home page reads the
    // docs section through `get_section` (for its title list); the sitemap (no dates) and the
    // posts do not change.
    assert_eq!(
        html_only(&r.rendered),
        vec![
            "docs/a/index.html",
            "docs/b/index.html",
            "docs/index.html",
            "index.html"
        ]
    );
}

#[test]
fn a_data_edit_renders_the_pages_that_load_it() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    site.write("site/data/team.toml", "members = [\"ann\", \"bob\", \"cy\"]\n");
    let r = rebuild(&site, &mut b);
    assert_eq!(html_only(&r.rendered), vec!["docs/a/index.html", "docs/b/index.html"]);
    assert!(String::from_utf8_lossy(&r.plan.files["docs/b/index.html"].bytes).contains("team=ann,bob,cy,"));
}

#[test]
fn a_new_page_and_a_deleted_page() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    site.write(
        "site/content/docs/c.md",
        "+++\ntitle = \"C\"\nweight = 3\n+++\nThird.\n",
    );
    let r = rebuild(&site, &mut b);
    // The docs pages read their section with `get_section`, so all of them change; so does
    // the home page, which lists the docs section.
    let expected = vec![
        "docs/a/index.html",
        "docs/b/index.html",
        "docs/c/index.html",
        "docs/index.html",
        "index.html",
        "sitemap.xml",
    ];
    assert_eq!(html_only(&r.rendered), expected);
    site.remove("site/content/docs/c.md");
    let r = rebuild(&site, &mut b);
    assert!(!r.plan.files.contains_key("docs/c/index.html"));
    assert_eq!(
        html_only(&r.rendered),
        vec![
            "docs/a/index.html",
            "docs/b/index.html",
            "docs/index.html",
            "index.html",
            "sitemap.xml"
        ]
    );
}

#[test]
fn a_template_edit_renders_again_and_a_config_edit_starts_over() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    let first = rebuild(&site, &mut b);
    site.write(
        "site/templates/doc.html",
        site.read("site/templates/doc.html")
            .replace("<div class=\"doc\">", "<div class=\"doc v2\">"),
    );
    let r = rebuild(&site, &mut b);
    assert!(r.plan.files["docs/a/index.html"]
        .bytes
        .windows(6)
        .any(|w| w == b"doc v2"));
    assert!(r.rendered.contains(&"docs/a/index.html".to_string()));
    site.write(
        "config.toml",
        site.read("config.toml").replace("Blog fixture", "Blog fixture 2"),
    );
    let r = rebuild(&site, &mut b);
    assert_eq!(r.rendered.len(), first.rendered.len());
}

#[test]
fn a_build_error_then_a_fix() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    let good = site.read("site/content/docs/a.md");
    site.write("site/content/docs/a.md", "+++\ntitle = \n+++\n");
    let text = std::fs::read_to_string(site.path("config.toml")).unwrap();
    let config = Arc::new(Config::parse("config.toml", &text).unwrap());
    let tree = Arc::new(SourceTree::read(site.root(), &config).unwrap());
    assert!(b.build(tree, config, &BuildOptions::default()).is_err());
    site.write("site/content/docs/a.md", good);
    rebuild(&site, &mut b);
}

#[test]
fn a_template_reading_a_taxonomy_renders_again_when_its_terms_change() {
    let site = TestSite::fixture("blog");
    site.write(
        "site/templates/index.html",
        "{% set tags = get_taxonomy(kind=\"tags\") %}{% for t in tags.items %}{{ t.name }}={{ t.page_count }};{% endfor %}",
    );
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    site.write(
        "site/content/docs/a.md",
        "+++\ntitle = \"A\"\nweight = 1\n[taxonomies]\ntags = [\"news\"]\n+++\nFirst doc.\n",
    );
    let r = rebuild(&site, &mut b);
    assert!(r.rendered.contains(&"index.html".to_string()), "{:?}", r.rendered);
    assert!(String::from_utf8_lossy(&r.plan.files["index.html"].bytes).contains("news=1;"));
}
