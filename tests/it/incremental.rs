//! Incremental builds (what `serve` and `build --watch` run on every change): an edit
//! re-renders exactly the outputs it can affect, and the result equals a fresh build.

use std::sync::Arc;

use sitegen::build::{build, BuildOptions, BuildResult, Builder};
use sitegen::config::Config;
use sitegen::source::SourceTree;

use crate::harness::{load, many_posts, rebuild, rebuild_with, session, TestSite};

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
    site.edit(
        "site/content/posts/post-2.md",
        "Body of post 2.",
        "Body of post 2, edited.",
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
    site.edit(
        "site/templates/doc.html",
        "<div class=\"doc\">",
        "<div class=\"doc v2\">",
    );
    let r = rebuild(&site, &mut b);
    assert!(r.plan.files["docs/a/index.html"]
        .bytes
        .windows(6)
        .any(|w| w == b"doc v2"));
    assert!(r.rendered.contains(&"docs/a/index.html".to_string()));
    site.edit("config.toml", "Blog fixture", "Blog fixture 2");
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

/// `serve` shows an edited page before it rebuilds the pages that list it: what the preview
/// shows is what the rebuild renders for that output, and the rebuild equals a fresh build.
fn preview_then_rebuild(site: &TestSite, b: &mut Builder) -> (Vec<String>, BuildResult) {
    let (_, tree) = load(site);
    let shown = b.preview(&tree);
    let r = rebuild(site, b);
    for (path, file) in &shown {
        assert!(
            r.plan.files.get(path) == Some(file),
            "the preview of `{path}` differs from the rebuild's"
        );
    }
    (shown.into_iter().map(|(p, _)| p).collect(), r)
}

#[test]
fn a_body_edit_is_previewed() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    site.edit(
        "site/content/posts/post-2.md",
        "Body of post 2.",
        "Body of post 2, edited.\n\n## A new heading\n\nMore.",
    );
    let (shown, r) = preview_then_rebuild(&site, &mut b);
    assert_eq!(shown, vec!["posts/post-2/index.html"]);
    assert!(String::from_utf8_lossy(&r.plan.files["posts/post-2/index.html"].bytes).contains("A new heading"));
    // The rebuild still renders what lists the page.
    assert!(r.rendered.contains(&"posts/atom.xml".to_string()), "{:?}", r.rendered);
}

#[test]
fn a_title_or_description_edit_is_previewed_where_the_order_stays() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    site.edit(
        "site/content/posts/post-2.md",
        "title = \"Post 2\"",
        "title = \"Post two\"",
    )
    .edit("site/content/posts/post-2.md", "Description 2", "The second post");
    let (shown, r) = preview_then_rebuild(&site, &mut b);
    assert_eq!(shown, vec!["posts/post-2/index.html"]);
    // Its neighbours show the new title.
    assert!(
        r.rendered.contains(&"posts/post-1/index.html".to_string()),
        "{:?}",
        r.rendered
    );
}

#[test]
fn edits_that_change_more_than_the_page_are_not_previewed() {
    let post2 = TestSite::fixture("blog").read("site/content/posts/post-2.md");
    let doc_a = TestSite::fixture("blog").read("site/content/docs/a.md");
    let cases: Vec<(&str, String)> = vec![
        // The date decides the section's order.
        ("content/posts/post-2.md", post2.replace("2024-01-02", "2024-01-09")),
        // Terms are listed elsewhere.
        ("content/posts/post-2.md", post2.replace("\"tag-2\"", "\"tag-3\"")),
        // A shortcode may read anything.
        (
            "content/posts/post-2.md",
            post2.replace("Body of post 2.", "{{ quote(text=\"x\") }}"),
        ),
        // docs pages read their own section with `get_section`.
        ("content/docs/a.md", doc_a.replace("First doc.", "First doc, edited.")),
        // A new page.
        ("content/posts/post-4.md", "+++\ntitle = \"Post 4\"\n+++\nNew.\n".into()),
        // Not a page.
        ("data/team.toml", "members = [\"ann\"]\n".into()),
    ];
    for (logical, text) in cases {
        let site = TestSite::fixture("blog");
        let mut b = Builder::default();
        rebuild(&site, &mut b);
        site.write(&format!("site/{logical}"), &text);
        let (_, tree) = load(&site);
        assert_eq!(b.preview(&tree), vec![], "previewed `{logical}`:\n{text}");
    }
}

#[test]
fn a_cancelled_build_keeps_the_last_one_for_previews() {
    use std::sync::atomic::AtomicUsize;
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    let first = rebuild(&site, &mut b);
    let original = site.read("site/content/posts/post-2.md");
    let edit = |n: usize| {
        site.write(
            "site/content/posts/post-2.md",
            original.replace("Body of post 2", &format!("Edit {n} of post 2")),
        );
    };
    edit(1);
    let (config, tree) = load(&site);
    let opts = BuildOptions {
        cancel: Some(Arc::new(AtomicUsize::new(1))),
        ..BuildOptions::default()
    };
    assert!(opts.cancelled());
    assert!(b.build(tree, config, &opts).is_err());
    // A second edit: the preview compares with the last complete build, so it shows both.
    edit(2);
    let (shown, r) = preview_then_rebuild(&site, &mut b);
    assert_eq!(shown, vec!["posts/post-2/index.html"]);
    let html = String::from_utf8_lossy(&r.plan.files["posts/post-2/index.html"].bytes).into_owned();
    assert!(html.contains("Edit 2 of post 2"), "{html}");
    assert!(r.rendered.len() < first.rendered.len());
}

#[test]
fn no_preview_after_a_failed_build() {
    let site = TestSite::fixture("blog");
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    site.write("site/templates/doc.html", "{% if %}");
    let (config, tree) = load(&site);
    assert!(b.build(tree, config, &BuildOptions::default()).is_err());
    site.edit("site/content/posts/post-2.md", "Body of post 2.", "Edited.");
    let (_, tree) = load(&site);
    assert_eq!(b.preview(&tree), vec![]);
}

/// What `serve` does per batch of file events: preview, then rebuild; a rebuild stopped for
/// newer edits is made up by the next, whose preview covers both batches.
#[test]
fn a_serve_session_previews_then_rebuilds_and_catches_up_after_a_cancel() {
    use sitegen::build::BuildPlan;
    use sitegen::serve::Outcome;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let site = TestSite::fixture("blog");
    let (mut s, first) = session(&site, None);
    assert!(matches!(first, Outcome::Built { .. }));
    let edit = |file: &str, from: &str, to: &str| {
        site.edit(file, from, to);
        vec![site.path(file)]
    };
    let mut shown: Vec<String> = Vec::new();
    let mut record = |_: &BuildPlan, paths: &[String]| shown.extend(paths.iter().cloned());

    // A rebuild that newer edits stop: the preview was still shown.
    let pending = Arc::new(AtomicUsize::new(1));
    s.cancel_when(pending.clone());
    let batch = edit("site/content/posts/post-2.md", "Body of post 2.", "Post 2, edited.");
    assert!(matches!(s.apply(&batch, Some(&mut record)), Outcome::Cancelled));
    pending.store(0, Ordering::SeqCst);

    // The next batch names only post-3; the rebuild builds both edits.
    let batch = edit("site/content/posts/post-3.md", "Body of post 3.", "Post 3, edited.");
    let Outcome::Built { changed, previewed, .. } = s.apply(&batch, Some(&mut record)) else {
        panic!("the rebuild failed");
    };
    assert_eq!(previewed, vec!["posts/post-3/index.html"]);
    assert_eq!(shown, vec!["posts/post-2/index.html", "posts/post-3/index.html"]);
    assert!(
        !changed.iter().any(|c| shown.contains(c)),
        "reloaded twice: {changed:?}"
    );
    assert!(changed.contains(&"posts/atom.xml".to_string()), "{changed:?}");
    let fresh = site.plan().unwrap().plan;
    assert!(s.plan == fresh, "the session's plan differs from a fresh build");
}

/// A shortcode sees its page (`page.assets` here): a file added to the bundle renders the
/// Markdown again though the page's own file did not change.
#[test]
fn a_shortcode_reading_its_page_renders_again_when_the_page_changes_around_it() {
    let site = TestSite::starter();
    site.write(
        "site/templates/shortcodes/files.html",
        "{% for a in page.assets %}[{{ a }} {{ get_url(path=a) }}]{% endfor %}",
    );
    site.write(
        "site/content/album/index.md",
        "+++\ntitle = \"Album\"\n+++\n{{ files() }}\n",
    );
    site.write("site/content/album/a.txt", "a");
    let mut b = Builder::default();
    let first = rebuild(&site, &mut b);
    let page = |r: &BuildResult| String::from_utf8(r.plan.files["album/index.html"].bytes.to_vec()).unwrap();
    assert!(
        page(&first).contains("[/album/a.txt https://example.com/album/a.txt]"),
        "{}",
        page(&first)
    );
    site.write("site/content/album/b.txt", "b");
    let second = rebuild(&site, &mut b);
    assert!(
        page(&second).contains("[/album/b.txt https://example.com/album/b.txt]"),
        "{}",
        page(&second)
    );
}

/// A page whose `publish_date` passes (or whose `expiry_date` passes) between two builds of
/// the same sources: the rebuild at the later time gives the fresh build's result at that
/// time, lists and feeds included.
#[test]
fn a_rebuild_at_a_later_time_shows_scheduled_pages_as_a_fresh_build_does() {
    let site = TestSite::fixture("blog");
    site.write(
        "site/content/posts/scheduled.md",
        "+++\ntitle = \"Scheduled\"\ndate = 2024-02-01\npublish_date = 2024-06-01T12:00:00Z\n[taxonomies]\ntags = [\"Rust\"]\n+++\nSoon.\n",
    );
    site.write(
        "site/content/posts/expiring.md",
        "+++\ntitle = \"Expiring\"\ndate = 2024-01-15\nexpiry_date = 2024-06-01T12:00:00Z\n+++\nGone soon.\n",
    );
    let at = |t: &str| BuildOptions {
        now: Some(chrono::DateTime::parse_from_rfc3339(t).unwrap()),
        ..BuildOptions::default()
    };
    let mut b = Builder::default();
    let mut outputs = Vec::new();
    for t in ["2024-05-01T00:00:00Z", "2024-07-01T00:00:00Z", "2024-05-01T00:00:00Z"] {
        let (config, tree) = load(&site);
        let r = b
            .build(tree.clone(), config.clone(), &at(t))
            .unwrap_or_else(|e| panic!("{e}"));
        let fresh = build(tree, config, &at(t)).unwrap();
        assert!(
            r.plan == fresh.plan,
            "incremental build at {t} differs from a fresh build"
        );
        let has = |p: &str| r.plan.files.contains_key(p);
        outputs.push((has("posts/scheduled/index.html"), has("posts/expiring/index.html")));
    }
    assert_eq!(outputs, [(false, true), (true, false), (false, true)]);
}

#[test]
fn a_markdown_file_link_renders_again_when_its_target_moves_or_becomes_a_draft() {
    let site = TestSite::fixture("blog");
    site.write(
        "site/content/posts/linker.md",
        "+++\ntitle = \"Linker\"\n+++\nRead [later](later.md#end).\n",
    )
    .write("site/content/posts/later.md", "+++\ntitle = \"Later\"\n+++\n## End\n");
    let mut b = Builder::default();
    let href = |r: &BuildResult| {
        let html = String::from_utf8(r.plan.files["posts/linker/index.html"].bytes.to_vec()).unwrap();
        html.split("Read <a href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        href(&rebuild(&site, &mut b)),
        "https://example.com/sub/posts/later/#end"
    );
    site.edit(
        "site/content/posts/later.md",
        "title = \"Later\"",
        "title = \"Later\"\nslug = \"moved\"",
    );
    assert_eq!(
        href(&rebuild(&site, &mut b)),
        "https://example.com/sub/posts/moved/#end"
    );
    site.edit("site/content/posts/later.md", "slug = \"moved\"", "draft = true");
    let r = rebuild(&site, &mut b);
    assert_eq!(href(&r), "later.md#end");
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    site.edit("site/content/posts/later.md", "draft = true", "");
    assert_eq!(
        href(&rebuild(&site, &mut b)),
        "https://example.com/sub/posts/later/#end"
    );
}

/// Code-block options and the highlighting themes: an edit of either gives what a fresh
/// build gives (a theme change makes new classes, so every highlighted page changes).
#[test]
fn code_block_options_and_themes_rebuild_like_a_fresh_build() {
    let site = TestSite::fixture("markdown");
    site.write(
        "site/content/blog/code.md",
        "+++\ntitle = \"code\"\n+++\n```rust,linenos,hl_lines=2\nfn a() {}\nfn b() {}\n```\n",
    );
    let mut b = Builder::default();
    rebuild(&site, &mut b);
    site.edit("site/content/blog/code.md", "hl_lines=2", "hl_lines=1,hide_lines=2");
    let r = rebuild(&site, &mut b);
    // The page, and the section that lists it (with its summary).
    assert_eq!(html_only(&r.rendered), vec!["blog/code/index.html", "blog/index.html"]);
    site.edit(
        "config.toml",
        "[markdown]\n",
        "[markdown]\nhighlight_theme_dark = \"Dracula\"\nhighlight_style = \"inline\"\n",
    );
    rebuild(&site, &mut b);
}

/// `serve`'s loop with its store of served files: the outputs stream to the store, the plans
/// keep hashes. Through a preview, a rebuild stopped for newer edits, a failed build, an edit
/// taken back (an output of an earlier build reused, though the preview replaced it on the
/// page) and a removed page, every path shows what a fresh build makes, and after each
/// finished build the store holds exactly the bodies shown.
#[test]
fn serve_s_store_shows_a_fresh_build_through_cancels_failures_and_reverts() {
    use sitegen::build::{BuildPlan, OutputSink};
    use sitegen::serve::server::Shared;
    use sitegen::serve::store::Store;
    use sitegen::serve::Outcome;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let site = TestSite::fixture("blog");
    // A budget of 2 KB: most bodies wait in the temporary files.
    let store = Arc::new(Store::new(2048));
    let sink: Arc<dyn OutputSink> = store.clone();
    let (mut s, first) = session(&site, Some(sink));
    assert!(matches!(first, Outcome::Built { .. }));
    assert!(s.plan.files.values().all(|f| f.streamed && f.bytes.is_empty()));
    let shared = Shared::new(&s.plan, store.clone());
    let pending = Arc::new(AtomicUsize::new(0));
    s.cancel_when(pending.clone());
    // One batch of changed files; `preview`: show edited pages ahead of the rebuild (as
    // `serve` does when it can).
    let mut step = |paths: Vec<std::path::PathBuf>, cancel: bool, preview: bool| -> &'static str {
        pending.store(cancel as usize, Ordering::SeqCst);
        let mut show = |plan: &BuildPlan, paths: &[String]| shared.publish(plan, paths);
        let outcome = s.apply(&paths, preview.then_some(&mut show as _));
        pending.store(0, Ordering::SeqCst);
        match outcome {
            Outcome::Built { changed, .. } => {
                shared.publish(&s.plan, &changed);
                store.sweep();
                // Every path shows what a fresh build makes; the store holds nothing else.
                let fresh = site.plan().unwrap().plan;
                let files = shared.files.read().unwrap();
                let mut shown: Vec<&String> = files.keys().collect();
                shown.sort();
                let mut want: Vec<&String> = fresh.files.keys().collect();
                want.sort();
                assert_eq!(shown, want);
                for (p, f) in &fresh.files {
                    let got = store.read(&files[p]).expect("a body").expect("read back");
                    assert!(got == *f.bytes, "`{p}` differs from a fresh build");
                }
                let distinct: std::collections::HashSet<_> = files.values().collect();
                assert_eq!(store.stats().bodies, distinct.len());
                "built"
            }
            Outcome::Cancelled => "cancelled",
            Outcome::Failed(e) => {
                eprintln!("{e}");
                "failed"
            }
        }
    };
    let post2 = "site/content/posts/post-2.md";
    site.edit(post2, "Body of post 2.", "Post 2, edited.");
    assert_eq!(step(vec![site.path(post2)], true, true), "cancelled");
    let shown = |path: &str| {
        let files = shared.files.read().unwrap();
        String::from_utf8(store.read(&files[path]).unwrap().unwrap()).unwrap()
    };
    assert!(shown("posts/post-2/index.html").contains("Post 2, edited."));
    // Taken back before the next build: the builder reuses its first build's output of the
    // page (streamed: the plan has its hash only), which the preview had replaced on the
    // page; the store kept it.
    site.edit(post2, "Post 2, edited.", "Body of post 2.");
    assert_eq!(step(vec![site.path(post2)], false, false), "built");
    site.edit(post2, "Body of post 2.", "Post 2, edited again.");
    assert_eq!(step(vec![site.path(post2)], false, true), "built");
    // A build that fails as it renders post-3 renders (and streams) its lists first, with
    // post-3's new title: the next build reuses those, which nothing showed yet.
    let post3 = "site/content/posts/post-3.md";
    site.write(
        "site/templates/bad.html",
        "{% set p = get_page(path=\"nope.md\") %}{{ p.title }}",
    );
    site.edit(
        post3,
        "title = \"Post 3\"",
        "title = \"Post 3, renamed\"\ntemplate = \"bad.html\"",
    );
    let batch = vec![site.path("site/templates/bad.html"), site.path(post3)];
    assert_eq!(step(batch, false, true), "failed");
    site.edit(post3, "template = \"bad.html\"", "");
    assert_eq!(step(vec![site.path(post3)], false, true), "built");
    site.remove(post2);
    assert_eq!(step(vec![site.path(post2)], false, true), "built");
}

/// A kept builder (`serve`'s) on a site whose listings never show a page's content holds
/// each page's HTML compressed, past its budget in temporary files, for as long as it keeps
/// the render; with feeds, which show the content of pages without a summary, only the
/// pages with one. Every rebuild (an edited page, an edited template, which renders every
/// page from its kept HTML) still equals a fresh build.
#[test]
fn a_kept_builder_holds_page_html_compressed_and_rebuilds_as_a_fresh_build() {
    for feeds in [false, true] {
        kept_builder_case(feeds);
    }
}

fn kept_builder_case(feeds: bool) {
    let site = TestSite::fixture("blog");
    if !feeds {
        let config = std::fs::read_to_string(site.path("config.toml")).unwrap();
        site.write("config.toml", format!("feed_filenames = []\n{config}"));
    }
    many_posts(&site, 30, |i| i % 2 == 0);
    let opts = BuildOptions {
        html_in_memory: 0,
        ..BuildOptions::default()
    };
    let mut b = Builder::default();
    let mut step = |what: &str| {
        eprintln!("{what} (feeds: {feeds})");
        rebuild_with(&site, &mut b, &opts)
    };
    let first = step("first build");
    if feeds {
        // The 15 with a summary (the fixture's own pages have none).
        assert_eq!(first.stats.pages_spilled, 15);
        let feed = String::from_utf8(first.plan.files["atom.xml"].bytes.to_vec()).unwrap();
        assert!(feed.contains("Body 27: words"), "{feed}");
    } else {
        assert!(first.stats.pages_spilled >= 30, "{}", first.stats.pages_spilled);
    }
    site.edit("site/content/posts/many-8.md", "Body 8:", "Body 8, edited:");
    let edited = step("a page edited");
    assert_eq!(edited.stats.pages_spilled, 1, "only the edited page is held anew");
    let page = String::from_utf8(edited.plan.files["posts/many-8/index.html"].bytes.to_vec()).unwrap();
    assert!(page.contains("Body 8, edited: words"), "{page}");
    let doc = std::fs::read_to_string(site.path("site/templates/doc.html")).unwrap();
    site.write("site/templates/doc.html", format!("{doc}{{# edited #}}"));
    let all = step("a template edited");
    assert!(all.stats.rendered > 30, "{}", all.stats.rendered);
    site.edit("site/content/posts/many-8.md", "Body 8, edited:", "Body 8:");
    step("the page edited back");
}
