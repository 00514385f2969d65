//! Every kind of bad input gets an error that names the file, with line:column where there is
//! one; a build reports all of them at once.

use crate::harness::TestSite;

fn site() -> TestSite {
    TestSite::fixture("markdown")
}

#[test]
fn broken_toml_front_matter() {
    let s = site();
    s.write("site/content/blog/bad.md", "+++\ntitle = \"Bad\"\ndate = \n+++\nbody\n");
    insta::assert_snapshot!(s.errors());
}

#[test]
fn broken_yaml_front_matter() {
    let s = site();
    s.write("site/content/blog/bad.md", "---\ntitle: Bad\ntags: [a, b\n---\nbody\n");
    insta::assert_snapshot!(s.errors());
}

#[test]
fn unclosed_front_matter() {
    let s = site();
    s.write("site/content/blog/bad.md", "+++\ntitle = \"Bad\"\nbody\n");
    insta::assert_snapshot!(s.errors());
}

#[test]
fn unknown_front_matter_key() {
    let s = site();
    s.write(
        "site/content/blog/bad.md",
        "+++\ntitle = \"Bad\"\n  titel = \"typo\"\n+++\n",
    );
    insta::assert_snapshot!(s.errors());
}

#[test]
fn missing_template() {
    let s = site();
    s.write(
        "site/content/blog/bad.md",
        "+++\ntitle = \"Bad\"\ntemplate = \"nope.html\"\n+++\n",
    );
    insta::assert_snapshot!(s.errors());
}

#[test]
fn tera_syntax_errors_in_two_templates_are_both_reported() {
    let s = site();
    s.write("site/templates/page.html", "{{ page.content }\n");
    s.write(
        "site/templates/section.html",
        "{% if section.title %}\n{{ section.title }}\n",
    );
    insta::assert_snapshot!(s.errors());
}

#[test]
fn unknown_filter_in_template() {
    let s = site();
    s.write("site/templates/page.html", "ok\n{{ page.title | shout }}\n");
    insta::assert_snapshot!(s.errors());
}

#[test]
fn template_render_error_names_template_line_and_column() {
    let s = site();
    s.write(
        "site/templates/page.html",
        "<h1>{{ page.title }}</h1>\n<p>{{ page.no_such_field }}</p>\n",
    );
    let e = s.errors();
    assert!(e.starts_with("error: site/templates/page.html:2:"), "{e}");
    assert!(e.contains("no_such_field"), "{e}");
}

#[test]
fn extends_missing_parent() {
    let s = site();
    s.write("site/templates/page.html", "{% extends \"nope.html\" %}\n");
    insta::assert_snapshot!(s.errors());
}

#[test]
fn link_to_missing_page_and_missing_anchor() {
    let s = site();
    s.write(
        "site/content/blog/bad.md",
        "+++\ntitle = \"Bad\"\n+++\n\nSee [this](@/blog/nope.md) and\n[that](@/blog/other.md#no-such-heading).\n",
    );
    insta::assert_snapshot!(s.errors());
}

#[test]
fn two_pages_with_the_same_output_path() {
    let s = site();
    s.write("site/content/a.md", "+++\npath = \"/same/\"\n+++\n");
    s.write("site/content/b.md", "+++\npath = \"same\"\n+++\n");
    insta::assert_snapshot!(s.errors());
}

#[test]
fn non_utf8_content_and_template() {
    let s = site();
    s.write(
        "site/content/blog/latin1.md",
        b"+++\ntitle = \"caf\xe9\"\n+++\n".as_slice(),
    );
    s.write("site/templates/broken.html", b"ok\n\xff\xfe".as_slice());
    insta::assert_snapshot!(s.errors());
}

#[test]
fn unknown_shortcode_and_unclosed_body() {
    let s = site();
    s.write(
        "site/content/blog/bad.md",
        "+++\ntitle = \"Bad\"\n+++\nA {{ nope(x=1) }} here.\n\n{% quote(author=\"A\") %}\nno end\n",
    );
    insta::assert_snapshot!(s.errors());
}

#[test]
fn bad_shortcode_arguments() {
    let s = site();
    s.write(
        "site/content/blog/bad.md",
        "+++\ntitle = \"Bad\"\n+++\n{{ youtube(id=) }}\n",
    );
    insta::assert_snapshot!(s.errors());
}

#[test]
fn unknown_config_key() {
    let s = site();
    s.write(
        "config.toml",
        "base_url = \"https://example.com\"\n\n[markdown]\nhighlight = true\n",
    );
    insta::assert_snapshot!(s.errors());
}

#[test]
fn link_checker_settings_are_checked_at_their_key() {
    let s = site();
    s.write(
        "config.toml",
        "base_url = \"https://example.com\"\n\n[link_checker]\nskip = [\"https://a.example/[\"]\ncache_for = \"soon\"\nper_host = 0\n",
    );
    insta::assert_snapshot!(s.errors());
}

#[test]
fn all_errors_of_a_build_are_reported_together() {
    let s = site();
    s.write("site/content/blog/a.md", "+++\ntitel = \"A\"\n+++\n");
    s.write("site/content/blog/b.md", "+++\ntitle = \"B\"\n+++\n[x](@/missing.md)\n");
    s.write("site/content/blog/c.md", "+++\ndate = \"soon\"\n+++\n");
    let e = s.errors();
    insta::assert_snapshot!(e);
    assert_eq!(e.lines().filter(|l| l.starts_with("error: ")).count(), 3);
}

/// A symbolic link that leads out of the site is an error naming the link and its target
/// (in a build and in what `serve` reads after a change), unless the config allows it;
/// links inside the site are fine.
#[cfg(unix)]
#[test]
fn symlinks_out_of_the_site_are_refused() {
    use std::os::unix::fs::symlink;
    let site = TestSite::starter();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "root:x:0:0").unwrap();
    std::fs::create_dir(outside.path().join("dir")).unwrap();
    std::fs::write(outside.path().join("dir/a.md"), "+++\ntitle = \"A\"\n+++\n").unwrap();
    // Inside: fine.
    site.write("site/static/real.txt", "ok");
    symlink(site.path("site/static/real.txt"), site.path("site/static/alias.txt")).unwrap();
    site.cmd(&["build", "-q"]).assert().success();
    assert_eq!(site.read("public/alias.txt"), "ok");
    let before = crate::harness::snapshot_dir(&site.path("public"));

    symlink(outside.path().join("secret.txt"), site.path("site/static/leak.txt")).unwrap();
    let errs = site.errors();
    assert!(
        errs.contains("site/static/leak.txt: is a symbolic link to `")
            && errs.contains("secret.txt`, outside the site folder"),
        "{errs}"
    );
    site.cmd(&["build", "-q"]).assert().failure();
    assert_eq!(
        crate::harness::snapshot_dir(&site.path("public")),
        before,
        "the output is kept"
    );
    // What `serve` and `build --watch` read after a change follows the same rule.
    let text = std::fs::read_to_string(site.path("config.toml")).unwrap();
    let config = sitegen::config::Config::parse("config.toml", &text).unwrap();
    let changed = [site.path("site/static/leak.txt")];
    let e = sitegen::source::SourceTree::read_changed(site.root(), &config, &changed).unwrap_err();
    assert!(e[0].to_string().contains("outside the site folder"), "{:?}", e);
    std::fs::remove_file(site.path("site/static/leak.txt")).unwrap();

    // A folder linked from outside, the same.
    symlink(outside.path().join("dir"), site.path("site/content/linked")).unwrap();
    assert!(site.errors().contains("site/content/linked: is a symbolic link to"));
    // Allowed on purpose.
    site.edit("config.toml", "base_url", "follow_symlinks_outside = true\nbase_url");
    site.cmd(&["build", "-q"]).assert().success();
    assert!(site.path("public/linked/a/index.html").exists());
}
