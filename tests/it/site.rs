//! Whole-site behaviour: sections, pagination, taxonomies, feeds, sitemap, aliases, bundles,
//! data files, drafts.

use sitegen::build::BuildOptions;

use crate::harness::TestSite;

#[test]
fn output_tree_of_the_blog_fixture() {
    let site = TestSite::fixture("blog");
    let plan = site.plan().unwrap().plan;
    let listing: Vec<String> = plan.files.keys().cloned().collect();
    insta::assert_snapshot!(listing.join("\n"));
}

#[test]
fn drafts_only_with_the_flag() {
    let site = TestSite::fixture("blog");
    let without = site.plan().unwrap().plan;
    assert!(!without.files.contains_key("posts/draft/index.html"));
    let with = site
        .plan_with(BuildOptions {
            drafts: true,
            ..Default::default()
        })
        .unwrap()
        .plan;
    assert!(with.files.contains_key("posts/draft/index.html"));
}

#[test]
fn section_pagination() {
    let site = TestSite::fixture("blog");
    insta::assert_snapshot!("posts_page_1", site.output("posts/index.html"));
    insta::assert_snapshot!("posts_page_2", site.output("posts/page/2/index.html"));
}

#[test]
fn page_in_a_bundle_with_yaml_front_matter() {
    let site = TestSite::fixture("blog");
    insta::assert_snapshot!(site.output("posts/bundle/index.html"));
    assert_eq!(site.output("posts/bundle/photo.txt"), "not really a photo\n");
}

#[test]
fn custom_page_template_with_data_and_functions() {
    let site = TestSite::fixture("blog");
    insta::assert_snapshot!(site.output("docs/b/index.html"));
}

#[test]
fn taxonomy_pages() {
    let site = TestSite::fixture("blog");
    insta::assert_snapshot!("tags_list", site.output("tags/index.html"));
    insta::assert_snapshot!("tags_rust", site.output("tags/rust/index.html"));
}

#[test]
fn feeds_sitemap_robots() {
    let site = TestSite::fixture("blog");
    insta::assert_snapshot!("atom", site.output("atom.xml"));
    insta::assert_snapshot!("rss", site.output("rss.xml"));
    insta::assert_snapshot!("sitemap", site.output("sitemap.xml"));
    insta::assert_snapshot!("robots", site.output("robots.txt"));
}

#[test]
fn aliases_redirect_to_the_canonical_url() {
    let site = TestSite::fixture("blog");
    insta::assert_snapshot!(site.output("old/bundle/index.html"));
    assert!(site
        .output("articles/index.html")
        .contains("url=https://example.com/sub/posts/"));
    assert!(site
        .output("posts/page/1/index.html")
        .contains("url=https://example.com/sub/posts/"));
}

#[test]
fn site_templates_override_theme_templates() {
    let site = TestSite::fixture("blog");
    site.write("site/templates/404.html", "custom 404 for {{ config.title }}");
    assert_eq!(site.output("404.html"), "custom 404 for Blog fixture");
}

#[test]
fn base_url_override() {
    let site = TestSite::fixture("blog");
    site.cmd(&["build", "--base-url", "http://127.0.0.1:1111/", "-q"])
        .assert()
        .success();
    let html = site.read("public/posts/post-1/index.html");
    assert!(html.contains("href=\"http://127.0.0.1:1111/posts/post-2/\""), "{html}");
}

#[test]
fn load_data_of_one_file_in_two_formats() {
    let site = TestSite::fixture("blog");
    // Spaced so the raw text cannot be mistaken for the printed map (`{"a": 1}`).
    site.write("site/data/pair.json", "{ \"a\" :  1 }\n");
    site.write(
        "site/templates/404.html",
        concat!(
            r#"{% set j = load_data(path="pair.json", format="json") %}"#,
            r#"{% set t = load_data(path="pair.json", format="txt") %}"#,
            r#"{% set again = load_data(path="pair.json") %}"#,
            "json={{ j.a }}|txt={{ t | safe }}|again={{ again.a }}",
        ),
    );
    assert_eq!(site.output("404.html"), "json=1|txt={ \"a\" :  1 }\n|again=1");
}

/// A one-shot build frees the Markdown it has rendered, but not when a template reads
/// content files with `load_data`.
#[test]
fn load_data_of_a_content_markdown_file() {
    let site = TestSite::fixture("blog");
    site.write(
        "site/templates/404.html",
        r#"{% set t = load_data(path="content/posts/post-1.md", format="txt") %}{{ t | safe }}"#,
    );
    let text = std::fs::read_to_string(site.path("site/content/posts/post-1.md")).unwrap();
    assert_eq!(site.output("404.html"), text);
}

/// Page values shared by listings leave out the content and table of contents when no
/// template reads them of a listed page; a template that does still gets them, by any route.
#[test]
fn listed_pages_content_and_toc_wherever_a_template_reads_them() {
    let site = TestSite::fixture("blog");
    site.write(
        "site/content/posts/post-2.md",
        "+++\ntitle = \"Post 2\"\ndate = 2024-01-02\n+++\n## First\n\nBody of post 2.\n",
    );
    // The own page: read as always.
    let own = site.output("posts/post-2/index.html");
    assert!(own.contains("Body of post 2."), "{own}");
    // A listing that reads them in a loop, through an included card.
    site.write(
        "site/templates/section.html",
        r#"{% for page in section.pages %}{% include "card.html" %}{% endfor %}"#,
    )
    .write(
        "site/templates/card.html",
        "[{{ page.title }}:{{ page.toc | length }}:{{ page.content | striptags | trim }}]",
    );
    let list = site.output("posts/index.html");
    assert!(
        list.contains("[Post 2:1:") && list.contains("Body of post 2.][Post 1:0:Body of post 1.]"),
        "{list}"
    );
    // Another page's, through get_page, from a page template.
    site.write(
        "site/templates/404.html",
        r#"{% set p = get_page(path="posts/post-2.md") %}{{ p.toc[0].title }}|{{ p.content | striptags | trim }}"#,
    );
    let other = site.output("404.html");
    assert!(
        other.starts_with("First|") && other.ends_with("Body of post 2."),
        "{other}"
    );
}

/// An in-memory one-shot build holding at most `budget` bytes of compressed page HTML.
fn with_html_budget(site: &TestSite, budget: usize) -> sitegen::build::BuildResult {
    site.plan_with(BuildOptions {
        html_in_memory: budget,
        ..BuildOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A one-shot build past its memory budget for page HTML keeps the rest compressed in a
/// temporary file, and each page's own job reads its HTML back from there: the output is
/// byte for byte that of a build that held everything in memory.
#[test]
fn page_html_past_the_memory_budget_waits_in_a_file_and_the_output_is_the_same() {
    let site = TestSite::fixture("blog");
    // No feeds: no listing shows a page's content, so each page's own job is its only reader.
    let config = std::fs::read_to_string(site.path("config.toml")).unwrap();
    site.write("config.toml", format!("feed_filenames = []\n{config}"));
    crate::harness::many_posts(&site, 40, |_| false);
    let with = |budget: usize| with_html_budget(&site, budget);
    let held = with(BuildOptions::default().html_in_memory);
    let all = with(0);
    let some = with(3000);
    assert_eq!(held.stats.pages_spilled, 0);
    assert!(all.stats.pages_spilled >= 40, "{}", all.stats.pages_spilled);
    assert!(
        some.stats.pages_spilled > 0 && some.stats.pages_spilled < all.stats.pages_spilled,
        "{}",
        some.stats.pages_spilled
    );
    assert!(held.plan == all.plan, "the same output with every page's HTML spilled");
    assert!(held.plan == some.plan, "the same output with some spilled");
    let page = String::from_utf8(all.plan.files["posts/many-39/index.html"].bytes.to_vec()).unwrap();
    assert!(
        page.contains("Body 39: words words") && page.contains("Part 39"),
        "{page}"
    );
}

/// With feeds, which show the content of pages without a summary, only the pages with one
/// wait in the file; the feeds still show the others' content.
#[test]
fn with_feeds_only_pages_with_a_summary_wait_in_the_file() {
    let site = TestSite::fixture("blog");
    crate::harness::many_posts(&site, 20, |i| i % 2 == 0);
    let with = |budget: usize| with_html_budget(&site, budget);
    let held = with(BuildOptions::default().html_in_memory);
    let all = with(0);
    assert_eq!(held.stats.pages_spilled, 0);
    // The 10 with a summary (and none of the fixture's own pages, which have none).
    assert_eq!(all.stats.pages_spilled, 10);
    assert!(held.plan == all.plan, "the same output");
    let feed = String::from_utf8(all.plan.files["atom.xml"].bytes.to_vec()).unwrap();
    assert!(
        feed.contains("Body 19: words") && feed.contains("Body 18: words"),
        "{feed}"
    );
}

/// Zola's `redirect_to`: the section's own page is a redirect (the alias page), to a path
/// under `base_url` or a full URL; its pages are still built.
#[test]
fn a_section_with_redirect_to_is_a_redirect_page() {
    let site = TestSite::starter();
    site.write(
        "site/content/docs/_index.md",
        "+++\ntitle = \"Docs\"\nredirect_to = \"docs/start/\"\n+++\n",
    );
    site.write("site/content/docs/start.md", "+++\ntitle = \"Start\"\n+++\nHello.\n");
    site.write(
        "site/content/away/_index.md",
        "+++\ntitle = \"Away\"\nredirect_to = \"https://example.org/x\"\n+++\n",
    );
    let docs = site.output("docs/index.html");
    assert!(
        docs.contains(r#"<meta http-equiv="refresh" content="0; url=https://example.com/docs/start/">"#),
        "{docs}"
    );
    assert!(site.output("docs/start/index.html").contains("Hello."));
    assert!(site.output("away/index.html").contains("url=https://example.org/x"));
}

/// JSON Feed beside Atom and RSS, and the default theme's OpenGraph / Twitter card tags with
/// the page's image cut to 1200x630.
#[test]
fn json_feed_and_social_meta() {
    let site = TestSite::starter();
    site.edit(
        "config.toml",
        "base_url",
        "feed_filenames = [\"atom.xml\", \"feed.json\"]\nbase_url",
    );
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(1600, 900)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    site.write("site/content/blog/cover/cover.png", png);
    site.write(
        "site/content/blog/cover/index.md",
        "+++\ntitle = \"With a \\\"cover\\\"\"\ndate = 2024-06-01\ndescription = \"Has an image\"\n[extra]\nimage = \"cover.png\"\n+++\nBody & more.\n",
    );
    let r = site.plan().unwrap_or_else(|e| panic!("{e}"));
    let text = |p: &str| String::from_utf8(r.plan.files[p].bytes.to_vec()).unwrap();
    let feed: serde_json::Value = serde_json::from_str(&text("feed.json")).expect("feed.json is JSON");
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    let item = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "With a \"cover\"")
        .expect("the page is in the feed");
    assert_eq!(item["date_published"], "2024-06-01T00:00:00Z");
    assert!(item["content_html"].as_str().unwrap().contains("Body &amp; more."));
    let html = text("blog/cover/index.html");
    assert!(
        html.contains(r#"<link rel="alternate" type="application/atom+xml""#),
        "{html}"
    );
    for tag in [
        r#"<meta property="og:type" content="article">"#,
        r#"<meta property="og:title" content="With a &quot;cover&quot;">"#,
        r#"<meta property="og:description" content="Has an image">"#,
        r#"<meta property="og:image:width" content="1200">"#,
        r#"<meta property="og:image:height" content="630">"#,
        r#"<meta name="twitter:card" content="summary_large_image">"#,
    ] {
        assert!(html.contains(tag), "no {tag} in\n{html}");
    }
    let og = html.split(r#"<meta property="og:image" content=""#).nth(1).unwrap();
    let og = &og[..og.find('"').unwrap()];
    let out = og.strip_prefix("https://example.com/").unwrap();
    assert!(
        out.starts_with("processed_images/") && r.plan.files.contains_key(out),
        "{og} is made"
    );
    // A page without an image gets the small card.
    assert!(text("index.html").contains(r#"<meta name="twitter:card" content="summary">"#));
}

/// `publish_date` and `expiry_date`: the posts listing at a build's time (`BuildOptions::now`)
/// holds the pages published by then and not expired; `future` adds the ones to come.
#[test]
fn scheduled_and_expired_pages_at_a_builds_time() {
    let site = TestSite::fixture("blog");
    site.write(
        "site/content/posts/scheduled.md",
        "+++\ntitle = \"Scheduled\"\ndate = 2024-02-01\npublish_date = 2024-06-01T12:00:00Z\n+++\nSoon.\n",
    );
    site.write(
        "site/content/posts/expired.md",
        "+++\ntitle = \"Expired\"\ndate = 2024-01-15\nexpiry_date = 2024-06-01\n+++\nGone.\n",
    );
    let at = |t: &str, future: bool| {
        let r = site
            .plan_with(BuildOptions {
                now: Some(chrono::DateTime::parse_from_rfc3339(t).unwrap()),
                future,
                ..Default::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let posts: Vec<&str> = r
            .plan
            .files
            .keys()
            .filter(|p| p.starts_with("posts/") && p.ends_with("/index.html"))
            .map(String::as_str)
            .collect();
        format!("{t} future={future}: {}", posts.join(" "))
    };
    let lines = [
        at("2024-05-01T00:00:00Z", false),
        at("2024-05-01T00:00:00Z", true),
        at("2024-07-01T00:00:00Z", false),
    ];
    insta::assert_snapshot!(lines.join("\n"));
}
