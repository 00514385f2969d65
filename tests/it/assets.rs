//! The asset pipeline: Sass, reference rewriting, fingerprints that follow content, SRI,
//! `manifest.json`, `--assets-only`, and errors that name the files involved.

use std::collections::BTreeMap;

use sitegen::build::BuildOptions;

use crate::harness::{snapshot_dir, TestSite};

fn site() -> TestSite {
    TestSite::fixture("assets")
}

/// Output path → first 16 hex chars of its sha256, for every file of an in-memory build.
fn hashes(site: &TestSite) -> BTreeMap<String, String> {
    let plan = site.plan().unwrap_or_else(|e| panic!("{e}")).plan;
    plan.files
        .iter()
        .map(|(p, f)| (p.clone(), f.sha256.iter().take(8).map(|b| format!("{b:02x}")).collect()))
        .collect()
}

fn listing(h: &BTreeMap<String, String>) -> String {
    h.iter()
        .map(|(p, s)| format!("{p}  {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn output_tree_with_hashes_and_manifest() {
    let site = site();
    insta::assert_snapshot!("tree", listing(&hashes(&site)));
    insta::assert_snapshot!("manifest", site.output("manifest.json"));
}

#[test]
fn sass_is_compiled_minified_and_references_rewritten() {
    let site = site();
    let plan = site.plan().unwrap().plan;
    let (_, css) = plan.files.iter().find(|(p, _)| p.starts_with("css/main.")).unwrap();
    insta::assert_snapshot!(String::from_utf8(css.bytes.to_vec()).unwrap());
    let (_, print) = plan.files.iter().find(|(p, _)| p.starts_with("css/print.")).unwrap();
    insta::assert_snapshot!("print_css", String::from_utf8(print.bytes.to_vec()).unwrap());
}

#[test]
fn html_references_are_rewritten_everywhere() {
    insta::assert_snapshot!(site().output("index.html"));
}

#[test]
fn changing_a_font_changes_the_css_that_uses_it_and_nothing_else() {
    let site = site();
    let before = hashes(&site);
    site.write("site/static/fonts/inter.woff2", "wOF2-fake-font-v2");
    let after = hashes(&site);
    let paths = |h: &BTreeMap<String, String>| h.keys().cloned().collect::<Vec<_>>();
    let gone: Vec<String> = paths(&before).into_iter().filter(|p| !after.contains_key(p)).collect();
    let new: Vec<String> = paths(&after).into_iter().filter(|p| !before.contains_key(p)).collect();
    let changed: Vec<String> = after
        .iter()
        .filter(|(p, h)| before.get(*p).is_some_and(|b| b != *h))
        .map(|(p, _)| p.clone())
        .collect();
    // The font and the stylesheet using it get new names; the page linking the stylesheet
    // and the manifest change; print.css, base.css, the image, the script and the theme's
    // own assets (used by 404.html) do not.
    assert_eq!(gone.len(), 2, "{gone:?}");
    assert!(
        gone.iter().any(|p| p.starts_with("fonts/inter.")) && gone.iter().any(|p| p.starts_with("css/main.")),
        "{gone:?}"
    );
    assert!(
        new.iter().any(|p| p.starts_with("fonts/inter.")) && new.iter().any(|p| p.starts_with("css/main.")),
        "{new:?}"
    );
    assert_eq!(changed, vec!["index.html", "manifest.json"]);
}

#[test]
fn two_builds_are_byte_identical() {
    let site = site();
    assert_eq!(site.plan().unwrap().plan, site.plan().unwrap().plan);
}

#[test]
fn fingerprinted_files_are_marked_immutable() {
    let plan = site().plan().unwrap().plan;
    let immutable: Vec<&str> = plan
        .files
        .iter()
        .filter(|(_, f)| f.immutable)
        .map(|(p, _)| p.as_str())
        .collect();
    // The fixture's 7 fingerprintable files and the theme's stylesheet and logo.
    assert_eq!(immutable.len(), 8, "{immutable:?}");
    assert!(!plan.files["favicon.ico"].immutable);
    assert!(!plan.files["manifest.json"].immutable);
    assert!(!plan.files["index.html"].immutable);
}

#[test]
fn assets_only_writes_no_html() {
    let site = site();
    site.cmd(&["build", "--assets-only", "-q"]).assert().success();
    let files = snapshot_dir(&site.path("public"));
    assert!(
        files.keys().all(|p| !p.ends_with(".html") && !p.ends_with(".xml")),
        "{:?}",
        files.keys()
    );
    assert!(files.contains_key("manifest.json"));
    assert_eq!(files.len(), 10, "{:?}", files.keys());
    // In memory too.
    let plan = site
        .plan_with(BuildOptions {
            assets_only: true,
            ..Default::default()
        })
        .unwrap()
        .plan;
    assert_eq!(plan.files.len(), 10);
}

#[test]
fn assets_base_url_points_asset_urls_at_a_cdn() {
    let site = site();
    let cfg = site.read("config.toml").replace(
        "generate_feeds = false",
        "generate_feeds = false\nassets_base_url = \"https://cdn.example.net/static/\"",
    );
    site.write("config.toml", cfg);
    let html = site.output("index.html");
    assert!(
        html.contains("href=\"https://cdn.example.net/static/css/main."),
        "{html}"
    );
    assert!(html.contains("src=\"https://cdn.example.net/static/js/app."), "{html}");
    assert!(site
        .output("manifest.json")
        .contains("\"url\": \"https://cdn.example.net/static/img/bg."));
}

#[test]
fn fingerprinting_and_minification_are_configurable() {
    let site = site();
    let cfg = site.read("config.toml") + "\n[assets]\nfingerprint = false\nminify_css = false\nminify_js = true\n";
    site.write("config.toml", cfg);
    let plan = site.plan().unwrap().plan;
    assert!(plan.files.contains_key("css/main.css"));
    assert!(plan.files.contains_key("js/app.js"));
    let js = String::from_utf8(plan.files["js/app.js"].bytes.to_vec()).unwrap();
    assert!(
        js.len() < 90 && js.contains("console.log(`hello`)") || js.contains("console.log(\"hello\")"),
        "{js}"
    );
    let css = String::from_utf8(plan.files["css/print.css"].bytes.to_vec()).unwrap();
    assert!(css.contains("@media print { body { color: black } }"), "{css}");
}

#[test]
fn missing_reference_names_both_files_and_the_line() {
    let site = site();
    site.write(
        "site/static/css/print.css",
        "@import \"base.css\";\n\nbody { background: url(../img/missing.png) }\n",
    );
    insta::assert_snapshot!(site.errors());
}

#[test]
fn missing_reference_in_a_sass_partial_names_the_partial() {
    let site = site();
    site.write(
        "site/static/css/partials/_colors.scss",
        "$text: #112233;\n.x { background: url(/img/nope.svg); }\n",
    );
    insta::assert_snapshot!(site.errors());
}

#[test]
fn sass_syntax_error_names_file_line_and_column() {
    let site = site();
    site.write("site/static/css/partials/_colors.scss", "$text: #112233\n.broken {\n");
    insta::assert_snapshot!(site.errors());
}

#[test]
fn import_cycle_is_an_error_naming_the_files() {
    let site = site();
    site.write("site/static/css/base.css", "@import \"print.css\";\n");
    insta::assert_snapshot!(site.errors());
}

#[test]
fn unknown_asset_in_a_template() {
    let site = site();
    site.write(
        "site/templates/index.html",
        "<link href=\"{{ asset(path='css/nope.scss') }}\">\n",
    );
    insta::assert_snapshot!(site.errors());
}

#[test]
fn feeds_get_fingerprinted_urls_too() {
    let site = site();
    site.write(
        "config.toml",
        site.read("config.toml")
            .replace("generate_feeds = false", "generate_feeds = true"),
    );
    site.write(
        "site/content/post.md",
        "+++\ntitle = \"Post\"\ndate = 2024-01-01\n+++\n![bg](/img/bg.png)\n",
    );
    let feed = site.output("atom.xml");
    assert!(feed.contains("img/bg.074522f5bc.png"), "{feed}");
    assert!(!feed.contains("/img/bg.png"), "{feed}");
}

#[test]
fn a_static_file_may_not_take_a_generated_name() {
    let site = site();
    site.write(
        "config.toml",
        site.read("config.toml")
            .replace("highlight_code = false", "highlight_code = true"),
    );
    site.write("site/static/syntax-theme.css", "pre { color: red }");
    insta::assert_snapshot!(site.errors(), @"error: site/static/syntax-theme.css: `static/syntax-theme.css` has the name of a file sitegen generates (markdown.highlight_theme in config.toml); rename it");
}

#[test]
fn check_sees_links_in_minified_html_and_assets_on_their_own_base() {
    let site = site();
    let cfg = site.read("config.toml").replace(
        "generate_feeds = false",
        "generate_feeds = false\nminify_html = true\nassets_base_url = \"https://example.com/static\"",
    );
    site.write("config.toml", cfg);
    site.cmd(&["check"]).assert().success();
    site.write("site/content/broken.md", "+++\ntitle = \"B\"\n+++\n[gone](/nowhere/)\n");
    let out = site.cmd(&["check"]).assert().failure().get_output().stderr.clone();
    assert_eq!(
        String::from_utf8(out).unwrap().trim(),
        "error: site/content/broken.md:4:1: broken internal link `/nowhere/`: nothing is built at `nowhere/index.html`"
    );
}
