//! Code blocks: the info string's options (Zola's and Hugo's forms), light and dark themes
//! in one stylesheet, inline styles, bat's grammars, and the size of highlighted HTML
//! against Hugo's for the same code.

use crate::harness::TestSite;

/// A page of the markdown fixture with `body`, rendered.
fn page(site: &TestSite, body: &str) -> String {
    site.write(
        "site/content/blog/code.md",
        format!("+++\ntitle = \"code\"\n+++\n{body}"),
    );
    site.output("blog/code/index.html")
}

const CODE: &str = "fn one() {}\nfn two() {}\nfn three() {}\nfn four() {}\n";

#[test]
fn line_numbers() {
    let site = TestSite::fixture("markdown");
    insta::assert_snapshot!(page(&site, &format!("```rust,linenos\n{CODE}```\n")));
}

#[test]
fn line_numbers_from_a_start_inline_form() {
    let site = TestSite::fixture("markdown");
    insta::assert_snapshot!(page(
        &site,
        &format!("```rust {{linenos=inline,linenostart=10}}\n{CODE}```\n")
    ));
}

#[test]
fn highlighted_lines() {
    let site = TestSite::fixture("markdown");
    insta::assert_snapshot!(page(&site, &format!("```rust,hl_lines=1 3-4\n{CODE}```\n")));
}

#[test]
fn hidden_lines_keep_their_numbers() {
    let site = TestSite::fixture("markdown");
    insta::assert_snapshot!(page(
        &site,
        &format!("```rust,linenos,linenostart=10,hide_lines=1-2,hl_lines=4\n{CODE}```\n")
    ));
}

/// Hugo's attribute form means what Zola's does, and options apply to text in no language.
#[test]
fn hugo_attributes_and_plain_text() {
    let site = TestSite::fixture("markdown");
    let zola = page(
        &site,
        &format!("```rust,linenos,hl_lines=2-3,hide_lines=4\n{CODE}```\n"),
    );
    let hugo = page(
        &site,
        &format!("```rust {{linenos=table,hl_lines=[\"2-3\"],hide_lines=[4]}}\n{CODE}```\n"),
    );
    assert_eq!(zola, hugo);
    insta::assert_snapshot!(page(&site, "```text,linenos,hl_lines=2\na <b>\nc\n```\n"));
}

#[test]
fn bad_options_are_errors_at_their_column() {
    let site = TestSite::fixture("markdown");
    site.write(
        "site/content/blog/code.md",
        "+++\ntitle = \"code\"\n+++\nText.\n\n```rust,linenos,hl_lines=abc\nfn x() {}\n```\n\n```py {linenostart=one}\nx\n```\n",
    );
    insta::assert_snapshot!(site.errors());
}

#[test]
fn light_and_dark_stylesheet() {
    let site = TestSite::fixture("markdown");
    site.edit(
        "config.toml",
        "[markdown]\n",
        "[markdown]\nhighlight_theme = \"GitHub\"\nhighlight_theme_dark = \"OneHalfDark\"\n",
    );
    let plan = site.plan().unwrap().plan;
    let (_, css) = plan
        .files
        .iter()
        .find(|(p, _)| p.starts_with("syntax-theme.") && p.ends_with(".css"))
        .expect("a syntax theme stylesheet");
    let css = String::from_utf8(css.bytes.to_vec()).unwrap();
    insta::assert_snapshot!(css);
    // The classes are those both themes style.
    insta::assert_snapshot!(page(&site, &format!("```rust\n{CODE}```\n")));
}

#[test]
fn unknown_dark_theme_is_an_error_at_its_key() {
    let site = TestSite::fixture("markdown");
    site.edit(
        "config.toml",
        "[markdown]\n",
        "[markdown]\nhighlight_theme_dark = \"Nope\"\n",
    );
    let e = site.errors();
    assert!(
        e.starts_with("error: config.toml:5:1: unknown `markdown.highlight_theme_dark` `Nope`; known themes: "),
        "{e}"
    );
}

#[test]
fn inline_styles() {
    let site = TestSite::fixture("markdown");
    site.edit(
        "config.toml",
        "[markdown]\n",
        "[markdown]\nhighlight_style = \"inline\"\n",
    );
    insta::assert_snapshot!(page(&site, &format!("```rust,hl_lines=2\n{CODE}```\n")));
}

/// bat's grammars: languages syntect alone does not have are highlighted.
#[test]
fn grammars_bat_ships() {
    let site = TestSite::fixture("markdown");
    let langs = [
        ("toml", "[a]\nb = 1\n"),
        ("typescript", "let a: number = 1;\n"),
        ("scss", "$a: 1px;\n.b { c: $a; }\n"),
        ("dockerfile", "FROM debian\nRUN ls\n"),
        ("hcl", "resource \"a\" \"b\" {\n  c = 1\n}\n"),
        ("powershell", "Get-Item -Path $a\n"),
    ];
    let body: String = langs.iter().map(|(l, c)| format!("```{l}\n{c}```\n\n")).collect();
    let html = page(&site, &body);
    for (lang, _) in langs {
        let start = html.find(&format!("data-lang=\"{lang}\"")).unwrap();
        let block = &html[start..start + html[start..].find("</pre>").unwrap()];
        assert!(
            block.contains("<span class=\"hl-"),
            "{lang} is not highlighted: {block}"
        );
    }
}

/// The benchmark's real code blocks, highlighted with the benchmark's settings: each block's
/// `<pre>` is at most 1.1x the bytes of Hugo 0.168's `<div class="highlight">` for the same
/// code (recorded in `tests/fixtures/highlight-size/hugo.tsv`, see its README), and so are
/// all of them together (`--nocapture` prints each: 0.54x in all when this was written).
#[test]
fn highlighted_html_is_no_larger_than_hugos() {
    let dir = crate::harness::fixture_dir("highlight-size");
    let blocks = std::fs::read_to_string(dir.join("blocks.md")).unwrap();
    let hugo: Vec<(String, usize)> = std::fs::read_to_string(dir.join("hugo.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[1].to_string(), f[2].parse().unwrap())
        })
        .collect();
    let site = TestSite::fixture("markdown");
    site.edit(
        "config.toml",
        "[markdown]\n",
        "[markdown]\nhighlight_theme = \"InspiredGitHub\"\n",
    );
    let html = page(&site, &blocks);
    let ours: Vec<&str> = html
        .match_indices("<pre class=\"code\"")
        .map(|(at, _)| &html[at..at + html[at..].find("</pre>").unwrap() + "</pre>".len()])
        .collect();
    assert_eq!(ours.len(), hugo.len());
    let mut report = String::new();
    let (mut total_ours, mut total_hugo) = (0, 0);
    for (i, (pre, (lang, hugo_bytes))) in ours.iter().zip(&hugo).enumerate() {
        assert!(pre.contains(&format!("data-lang=\"{lang}\"")), "block {i}: {pre}");
        let ratio = pre.len() as f64 / *hugo_bytes as f64;
        report.push_str(&format!(
            "block {i:2} {lang:6} sitegen {:6} Hugo {hugo_bytes:6} ratio {ratio:.2}\n",
            pre.len()
        ));
        total_ours += pre.len();
        total_hugo += hugo_bytes;
    }
    let total = total_ours as f64 / total_hugo as f64;
    report.push_str(&format!(
        "total sitegen {total_ours} Hugo {total_hugo} ratio {total:.3}\n"
    ));
    println!("{report}");
    assert!(total <= 1.1, "{report}");
    for line in report.lines().filter(|l| l.starts_with("block")) {
        let ratio: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(ratio <= 1.1, "{line}\n{report}");
    }
}
