//! Links: relative URLs of the output resolved against their page and checked (reported at
//! their Markdown line), and links between Markdown files resolved like `@/` links.

use crate::harness::TestSite;

fn warnings(s: &TestSite) -> String {
    let r = s.plan().unwrap_or_else(|e| panic!("build failed:\n{e}"));
    sitegen::error::Errors::sorted(r.warnings).to_string()
}

/// The Rust Book's chapters link each other mdBook's way (`ch03-02-data-types.html#…`):
/// in a sitegen site those lead nowhere, and the check says so at each link's line; the
/// `.md` links (`appendix-02-operators.md`) lead to the chapters' pages.
#[test]
fn rust_book_relative_links_are_checked_at_their_markdown_lines() {
    let s = TestSite::fixture("rust-book");
    insta::assert_snapshot!(warnings(&s));
    let html = s.output("ch03-00-common-programming-concepts/index.html");
    assert!(
        html.contains(r#"href="https://example.com/appendix-01-keywords/""#),
        "{html}"
    );
}

/// What the check fails on, with the real binary.
#[test]
fn rust_book_check_fails() {
    let s = TestSite::fixture("rust-book");
    let out = s.cmd(&["check"]).assert().failure().get_output().stderr.clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with(
            "error: site/content/appendix-01-keywords.md:58:25: broken relative link `../reference/items/unions.html`"
        ),
        "{out}"
    );
}

fn link_site() -> TestSite {
    let s = TestSite::fixture("markdown");
    s.write("site/content/docs/_index.md", "+++\ntitle = \"Docs\"\n+++\n")
        .write(
            "site/content/docs/guide.md",
            "+++\ntitle = \"Guide\"\n+++\n## Setup\n\nSee [Get-Item](Get-Item.md), [the team](../about/index.md#team), \
             [a query](Get-Item.md?view=7#usage), [it again](./Get-Item.md) and [notes](/notes.md).\n",
        )
        .write(
            "site/content/docs/Get-Item.md",
            "+++\ntitle = \"Get-Item\"\n+++\n## Usage\n\nBack to [the guide](guide.md#setup).\n",
        )
        .write("site/content/about/index.md", "+++\ntitle = \"About\"\n+++\n## Team\n")
        .write("site/static/notes.md", "# Notes\n");
    s
}

#[test]
fn links_between_markdown_files_lead_to_their_pages() {
    let s = link_site();
    let html = s.output("docs/guide/index.html");
    let p = html
        .split("<p>See")
        .nth(1)
        .and_then(|t| t.split("</p>").next())
        .unwrap();
    insta::assert_snapshot!(p);
}

#[test]
fn a_link_to_a_missing_markdown_file_or_heading_is_an_error() {
    let s = link_site();
    s.write(
        "site/content/docs/broken.md",
        "+++\ntitle = \"Broken\"\n+++\nA [typo](Get-Itme.md), [no heading](Get-Item.md#nope) and\n[a draft](draft.md).\n",
    )
    .write("site/content/docs/draft.md", "+++\ntitle = \"Draft\"\ndraft = true\n+++\n");
    insta::assert_snapshot!(s.errors());
}

#[test]
fn a_link_to_a_draft_is_left_as_written_and_checked() {
    let s = link_site();
    s.write(
        "site/content/docs/soon.md",
        "+++\ntitle = \"Soon\"\n+++\nComing: [the draft](draft.md).\n",
    )
    .write(
        "site/content/docs/draft.md",
        "+++\ntitle = \"Draft\"\ndraft = true\n+++\n",
    );
    insta::assert_snapshot!(warnings(&s));
}

/// Relative URLs from templates, raw HTML, `srcset` and `<base href>`.
#[test]
fn relative_urls_in_templates_srcset_and_base() {
    let s = link_site();
    s.write(
        "site/content/docs/pictures.md",
        "+++\ntitle = \"Pictures\"\n+++\n<img src=\"cat.bmp\" srcset=\"cat.bmp 1x, ../pictures/cat@2x.bmp 2x\">\n\n\
         ![up](../../../../x.png) [fine](../guide/) [also fine](../get-item/#usage) [mail](mailto:a@example.com) [here](#top)\n\
         [not content](../../static/notes.md) [fingerprinted](../../css/other.css)\n",
    )
    .write("site/static/docs/pictures/cat.bmp", "not really a bmp")
    .write("site/static/css/other.css", "body { color: red }\n")
    .write(
        "site/templates/based.html",
        "<base href=\"/docs/\"><a href=\"guide/\">guide</a> <a href=\"nowhere/\">nowhere</a>\n",
    )
    .write(
        "site/content/docs/based.md",
        "+++\ntitle = \"Based\"\ntemplate = \"based.html\"\n+++\n",
    );
    insta::assert_snapshot!(warnings(&s));
}

/// Links between Markdown files go to the linking page's language version, like `@/` links,
/// and fall back to the default language's page.
#[test]
fn markdown_file_links_in_the_pages_language() {
    let s = TestSite::fixture("multilingual");
    s.write(
        "site/content/about.ja.md",
        "+++\ntitle = \"について\"\n+++\n[一](blog/first.md) [三](blog/third.md) [二](blog/second.ja.md)\n",
    );
    let html = s.output("ja/about/index.html");
    let p = html.split("<p>").nth(1).and_then(|t| t.split("</p>").next()).unwrap();
    insta::assert_snapshot!(p, @r#"<a href="https://example.com/ja/blog/first/">一</a> <a href="https://example.com/blog/third/">三</a> <a href="https://example.com/ja/blog/second/">二</a>"#);
}
