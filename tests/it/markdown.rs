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

/// `shortcode_rules = "zola"` (what the Zola import sets): calls and escapes in code are
/// processed as Zola does, and an escape only counts around a well-formed call.
#[test]
fn zola_shortcode_rules_reach_into_code() {
    let site = TestSite::fixture("markdown");
    let page = "+++\ntitle = \"z\"\n+++\n`{{/* youtube(id=\"a\") */}}` and `{{/*` alone `*/}}`.\n\n```\n{{/* youtube(id=\"b\") */}}\n{{ get_url(path=asset) }}\n{{ youtube(id=\"c\") }}\n```\n";
    site.write("site/content/blog/z.md", page);
    let sitegen = site.output("blog/z/index.html");
    // sitegen's rules: code shows what is written.
    assert!(
        sitegen.contains("<code>{{/* youtube(id=\"a\") */}}</code>"),
        "{sitegen}"
    );
    assert!(sitegen.contains("{{ youtube(id=&quot;c&quot;) }}"), "{sitegen}");
    site.edit(
        "config.toml",
        "[markdown]\n",
        "[markdown]\nshortcode_rules = \"zola\"\n",
    );
    let zola = site.output("blog/z/index.html");
    assert!(zola.contains("<code>{{ youtube(id=\"a\") }}</code>"), "{zola}");
    // Not a call: kept as written.
    assert!(zola.contains("<code>{{/*</code> alone <code>*/}}</code>"), "{zola}");
    assert!(zola.contains("{{ youtube(id=&quot;b&quot;) }}"), "{zola}");
    assert!(zola.contains("{{ get_url(path=asset) }}"), "{zola}");
    // A call in code is rendered into the code's text, as Zola does.
    assert!(
        zola.contains("youtube.com/embed/c") || zola.contains("&lt;iframe"),
        "{zola}"
    );
}

#[test]
fn github_alerts_section_anchor_links_and_an_anchor_link_template() {
    let site = TestSite::fixture("markdown");
    site.write(
        "site/content/notes/_index.md",
        "+++\ntitle = \"n\"\nanchor_links = \"right\"\n+++\n",
    );
    site.write(
        "site/content/notes/a.md",
        "+++\ntitle = \"a\"\n+++\n## Install\n\n> [!TIP]\n> Read this.\n",
    );
    let html = site.output("notes/a/index.html");
    assert!(
        html.contains("<h2 id=\"install\">Install<a class=\"anchor\" href=\"#install\""),
        "the section's setting wins over the site's `left`: {html}"
    );
    assert!(html.contains("markdown-alert-tip"), "{html}");
    site.write(
        "site/templates/anchor-link.html",
        "<a class=\"zola-anchor\" href=\"#{{ id }}\">🔗{{ level }}</a>\n",
    );
    site.edit("config.toml", "[markdown]\n", "[markdown]\ngithub_alerts = false\n");
    let html = site.output("notes/a/index.html");
    assert!(
        html.contains("<h2 id=\"install\">Install<a class=\"zola-anchor\" href=\"#install\">🔗2</a></h2>"),
        "{html}"
    );
    assert!(!html.contains("markdown-alert") && html.contains("[!TIP]"), "{html}");
}

/// Zola's escapes: `{%/* end */%}` closes an escaped body; `{{/* end */}}` is not a call.
#[test]
fn zola_escapes_of_bodies_and_what_is_not_a_call() {
    let site = TestSite::fixture("markdown");
    site.edit(
        "config.toml",
        "[markdown]\n",
        "[markdown]\nshortcode_rules = \"zola\"\n",
    );
    site.write(
        "site/content/blog/z.md",
        "+++\ntitle = \"z\"\n+++\n```\n{%/* quote(author=\"V\") */%}\nA quote\n{%/* end */%}\n{{/* end */}}\n```\n",
    );
    let html = site.output("blog/z/index.html");
    assert!(
        html.contains("{% quote(author=&quot;V&quot;) %}\nA quote\n{% end %}\n{{/* end */}}"),
        "{html}"
    );
}

/// A 2x1 PNG.
fn png() -> Vec<u8> {
    let mut v = Vec::new();
    image::DynamicImage::new_rgb8(2, 1)
        .write_to(&mut std::io::Cursor::new(&mut v), image::ImageFormat::Png)
        .unwrap();
    v
}

const HOOKED: &str = "+++\ntitle = \"h\"\n+++\n## Install *now* {#inst .big}\n\n![A photo](photo.png \"T\")\n\n![remote](https://example.org/x.jpg)\n\n> Plain [link](https://example.org/) quote.\n\n> [!WARNING]\n> Careful.\n";

/// Render hooks: `templates/hooks/{heading,image,blockquote}.html` replace sitegen's HTML
/// and get the element's parts.
#[test]
fn render_hooks_replace_headings_images_and_blockquotes() {
    let site = TestSite::fixture("markdown");
    site.write("site/content/blog/hooked/index.md", HOOKED);
    site.write("site/content/blog/hooked/photo.png", png());
    site.write(
        "site/templates/hooks/heading.html",
        "<h{{ level }} id=\"{{ id }}\" data-classes=\"{{ classes | join(sep=',') }}\">{{ html | safe }} ({{ text }})</h{{ level }}>",
    );
    site.write(
        "site/templates/hooks/image.html",
        "<figure><img src=\"{{ url }}\" alt=\"{{ alt }}\"{% if width %} width=\"{{ width }}\"{% endif %}><figcaption>{{ title }}|{{ destination }}</figcaption></figure>",
    );
    site.write(
        "site/templates/hooks/blockquote.html",
        "<aside class=\"{{ kind or 'quote' }}\" lang=\"{{ lang }}\">{{ html | safe }}</aside>",
    );
    insta::assert_snapshot!(site.output("blog/hooked/index.html"));
}

#[test]
fn a_failing_render_hook_is_an_error_at_the_element() {
    let site = TestSite::fixture("markdown");
    site.write("site/content/blog/hooked/index.md", HOOKED);
    site.write("site/content/blog/hooked/photo.png", png());
    site.write("site/templates/hooks/blockquote.html", "{{ nope.x }}");
    let errs = site.errors();
    assert!(
        errs.contains("site/content/blog/hooked/index.md:10:1: render hook `templates/hooks/blockquote.html`"),
        "{errs}"
    );
}

/// Hooks take part in incremental builds like shortcodes: adding, editing and removing a
/// hook renders the pages again, and the result is a fresh build's.
#[test]
fn render_hooks_in_incremental_builds() {
    use sitegen::build::{build, BuildOptions, Builder};
    let site = TestSite::fixture("markdown");
    site.write("site/content/blog/hooked/index.md", HOOKED);
    site.write("site/content/blog/hooked/photo.png", png());
    let mut b = Builder::default();
    let mut rebuild = || {
        let text = std::fs::read_to_string(site.path("config.toml")).unwrap();
        let config = std::sync::Arc::new(sitegen::config::Config::parse("config.toml", &text).unwrap());
        let tree = std::sync::Arc::new(sitegen::source::SourceTree::read(site.root(), &config).unwrap());
        let r = b.build(tree.clone(), config.clone(), &BuildOptions::default()).unwrap();
        let fresh = build(tree, config, &BuildOptions::default()).unwrap();
        assert!(r.plan == fresh.plan, "incremental build differs from a fresh build");
        r
    };
    rebuild();
    site.write(
        "site/templates/hooks/heading.html",
        "<h{{ level }}>[{{ text }}]</h{{ level }}>",
    );
    let r = rebuild();
    assert!(
        r.rendered.contains(&"blog/hooked/index.html".to_string()),
        "{:?}",
        r.rendered
    );
    site.write(
        "site/templates/hooks/heading.html",
        "<h{{ level }}>({{ text }})</h{{ level }}>",
    );
    rebuild();
    site.remove("site/templates/hooks/heading.html");
    let r = rebuild();
    assert!(
        r.rendered.contains(&"blog/hooked/index.html".to_string()),
        "{:?}",
        r.rendered
    );
}

/// `[markdown] math = true`: `$…$`, `$$…$$` and fenced `math` blocks become MathML at build
/// time; a `$` in prose stays text.
#[test]
fn math_inline_display_and_fenced() {
    let site = TestSite::fixture("markdown");
    site.edit("config.toml", "[markdown]\n", "[markdown]\nmath = true\n");
    site.write(
        "site/content/blog/math.md",
        "+++\ntitle = \"Math\"\n+++\nEuler: $e^{i\\pi} + 1 = 0$, for $5 or $10.\n\n$$\n\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}\n$$\n\n```math\n\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}\n```\n\n```rust\nlet dollars = \"$x$\";\n```\n",
    );
    insta::assert_snapshot!(site.output("blog/math/index.html"));
}

/// Without `math = true`, dollars are text and a `math` block is code.
#[test]
fn math_is_off_unless_asked() {
    let site = TestSite::fixture("markdown");
    site.write(
        "site/content/blog/math.md",
        "+++\ntitle = \"Math\"\n+++\n$x^2$\n\n```math\nx\n```\n",
    );
    let html = site.output("blog/math/index.html");
    assert!(html.starts_with("<p>$x^2$</p>"), "{html}");
    assert!(html.contains("language-math"), "{html}");
}

/// A malformed expression is an error at its line and column, in inline, display and fenced
/// math, also after a shortcode on the same line.
#[test]
fn math_errors_name_the_file_line_and_column() {
    let site = TestSite::fixture("markdown");
    site.edit("config.toml", "[markdown]\n", "[markdown]\nmath = true\n");
    site.write(
        "site/content/blog/math.md",
        "+++\ntitle = \"Math\"\n+++\n{{ youtube(id=\"a\") }} and $\\frac{1}$\n\nText, then $$\\begin{matrix} a \\end{pmatrix}$$\n\n```math\na\n\\nope{b}\n```\n",
    );
    insta::assert_snapshot!(site.errors());
}

/// Definition lists (always on), emoji aliases (`emoji = true`; not in code) and GitHub's
/// five alert kinds.
#[test]
fn definition_lists_emoji_and_github_alerts() {
    let site = TestSite::fixture("markdown");
    site.edit("config.toml", "[markdown]\n", "[markdown]\nemoji = true\n");
    site.write(
        "site/content/blog/content.md",
        "+++\ntitle = \"Content\"\n+++\nApple\n: A fruit :apple:\n: A company\n\nTerm *two*\n: Its definition.\n\nShip it :rocket: :+1:, not `:rocket:` nor :no_such_alias: at 10:30:45.\n\n## Done :tada:\n\n> [!NOTE]\n> A note.\n\n> [!TIP]\n> A tip.\n\n> [!IMPORTANT]\n> Important.\n\n> [!WARNING]\n> A warning.\n\n> [!CAUTION]\n> Careful.\n",
    );
    insta::assert_snapshot!(site.output("blog/content/index.html"));
    site.edit("config.toml", "emoji = true\n", "");
    let html = site.output("blog/content/index.html");
    assert!(html.contains("Ship it :rocket: :+1:"), "{html}");
}

/// A shortcode's body may call shortcodes, inline and with bodies of their own: the inner
/// ones are rendered first and the outer template gets their HTML in `body`.
#[test]
fn nested_shortcodes() {
    let site = TestSite::fixture("markdown");
    site.write(
        "site/templates/shortcodes/box.html",
        "<div class=\"box\">{{ body | markdown }}</div>",
    );
    site.write(
        "site/content/blog/nested.md",
        "+++\ntitle = \"Nested\"\n+++\n{% box() %}\nOuter, with {{ youtube(id=\"inner\") }} inline.\n\n{% quote(author=\"Ada\") %}\nInner *quote*: {{ tags(list=[\"x\"], n=1, ratio=2.5, flag=true) }}\n{% end %}\n\nEscaped: {{/* youtube(id=\"no\") */}}, and `{% box() %}` in code is text.\n{% end %}\n\nAfter.\n",
    );
    insta::assert_snapshot!(site.output("blog/nested/index.html"));
}

/// Errors in nested bodies point at their own line and column; nesting past the limit is an
/// error at the call that goes too deep.
#[test]
fn nested_shortcode_errors_and_the_depth_limit() {
    let site = TestSite::fixture("markdown");
    site.write("site/templates/shortcodes/box.html", "<div>{{ body }}</div>");
    let deep = sitegen::markdown::MAX_NESTING + 1;
    let page = format!(
        "+++\ntitle = \"N\"\n+++\n{{% box() %}}\nText {{{{ nope() }}}} and\n  {{% quote(author=1 %}}\n{{% end %}}\n\n{}x{}",
        "{% box() %}".repeat(deep),
        "{% end %}".repeat(deep)
    );
    site.write("site/content/blog/nested.md", page);
    insta::assert_snapshot!(site.errors());
}

/// The `link`, `codeblock` and per-language `codeblock-LANG` hooks.
#[test]
fn render_hooks_for_links_and_code_blocks() {
    let site = TestSite::fixture("markdown");
    site.write(
        "site/content/blog/hooked2.md",
        "+++\ntitle = \"h\"\n+++\nSee [the *other* page](@/blog/other.md \"T\") and [out](https://example.org/).\n\n```mermaid\ngraph LR; A-->B\n```\n\n```rust,linenos,title=\"main.rs\"\nfn main() {}\n```\n",
    );
    site.write(
        "site/templates/hooks/link.html",
        "<a href=\"{{ url }}\" data-was=\"{{ destination }}\" title=\"{{ title }}\">{{ html | safe }}</a>[{{ text }}]",
    );
    site.write(
        "site/templates/hooks/codeblock-mermaid.html",
        "<pre class=\"mermaid\">{{ code }}</pre>",
    );
    site.write(
        "site/templates/hooks/codeblock.html",
        "<figure data-lang=\"{{ lang }}\">{% if attrs.title %}<figcaption>{{ attrs.title }}</figcaption>{% endif %}{{ html | safe }}</figure>",
    );
    insta::assert_snapshot!(site.output("blog/hooked2/index.html"));
}
