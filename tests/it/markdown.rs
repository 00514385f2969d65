//! Markdown features, rendered through minimal templates so the snapshots show exactly what
//! the Markdown renderer produced.

use crate::harness::TestSite;

#[test]
fn every_markdown_feature() {
    let site = TestSite::fixture("markdown");
    insta::assert_snapshot!(site.output("blog/features/index.html"));
}

#[test]
fn table_of_contents_summary_and_counts() {
    let site = TestSite::fixture("markdown");
    insta::assert_snapshot!(site.output("blog/toc/index.html"));
}

#[test]
fn shortcodes_inline_with_body_escaped_and_in_code() {
    let site = TestSite::fixture("markdown");
    insta::assert_snapshot!(site.output("blog/shortcodes/index.html"));
}

#[test]
fn highlighting_can_be_turned_off() {
    let site = TestSite::fixture("markdown");
    site.write(
        "config.toml",
        "base_url = \"https://example.com\"\n[markdown]\nhighlight_code = false\nsmart_punctuation = false\nanchor_links = \"none\"\n",
    );
    let html = site.output("blog/features/index.html");
    assert!(html.contains("<pre class=\"code\" data-lang=\"rust\"><code class=\"language-rust\">fn main() { println!(&quot;hi&quot;); }\n</code></pre>"), "{html}");
    assert!(html.contains("<h2 id=\"tables\">Tables</h2>"), "{html}");
    assert!(html.contains("\"Smart quotes\" -- and"), "{html}");
    let plan = site.plan().unwrap().plan;
    assert!(!plan.files.keys().any(|p| p.starts_with("syntax-theme")));
}

#[test]
fn syntax_theme_css_matches_the_classes() {
    let site = TestSite::fixture("markdown");
    let plan = site.plan().unwrap().plan;
    let (_, file) = plan
        .files
        .iter()
        .find(|(p, _)| p.starts_with("syntax-theme.") && p.ends_with(".css"))
        .expect("a syntax theme stylesheet");
    let css = String::from_utf8(file.bytes.to_vec()).unwrap();
    assert!(css.contains(".hl-keyword"), "{css}");
}
