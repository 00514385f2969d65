//! Links: relative URLs of the output resolved against their page and checked (reported at
//! their Markdown line), links between Markdown files resolved like `@/` links, and
//! `sitegen check --external` against a local HTTP server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// `sitegen build` streams its pages and settles each page's links to known outputs as it is
/// rendered: the broken ones are still reported at their Markdown line, the rest are not.
#[test]
fn rust_book_build_reports_the_same_broken_links_while_streaming() {
    let s = TestSite::fixture("rust-book");
    let out = s.cmd(&["build"]).assert().get_output().stderr.clone();
    let out = String::from_utf8(out).unwrap();
    let check = s.cmd(&["check"]).assert().failure().get_output().stderr.clone();
    let check = String::from_utf8(check).unwrap();
    let broken = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.contains("broken relative link"))
            .map(|l| {
                l.trim_start_matches("warning: ")
                    .trim_start_matches("error: ")
                    .to_string()
            })
            .collect()
    };
    assert!(
        broken(&out).iter().any(|l| l.starts_with(
            "site/content/appendix-01-keywords.md:58:25: broken relative link `../reference/items/unions.html`"
        )),
        "{out}"
    );
    assert_eq!(broken(&out), broken(&check), "build:\n{out}\ncheck:\n{check}");
    assert!(
        !out.contains("appendix-02-operators"),
        "a link to a page that is there: {out}"
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

/// A local HTTP server for the external check: 200, 404, redirect chains, a loop, a HEAD
/// it refuses, an answer that never comes, a reset. Counts the requests per path.
struct Server {
    port: u16,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let h = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let h = h.clone();
                std::thread::spawn(move || answer(stream, &h));
            }
        });
        Server { port, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self) -> Vec<String> {
        let mut v = self.hits.lock().unwrap().clone();
        v.sort();
        v
    }
}

fn answer(mut stream: TcpStream, hits: &Mutex<Vec<String>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut parts = head.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    hits.lock().unwrap().push(format!("{method} {path}"));
    let reply = |status: &str, extra: &str| {
        format!("HTTP/1.1 {status}\r\n{extra}content-length: 0\r\nconnection: close\r\n\r\n")
    };
    let response = match path.as_str() {
        "/ok" => reply("200 OK", ""),
        "/gone" => reply("404 Not Found", ""),
        "/no-head" if method == "HEAD" => reply("405 Method Not Allowed", ""),
        "/no-head" => reply("200 OK", ""),
        "/loop" => reply("301 Moved Permanently", "location: /loop\r\n"),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            reply("200 OK", "")
        }
        "/reset" => {
            // Linger 0: closing sends a reset instead of a FIN.
            let _ = socket_reset(&stream);
            return;
        }
        p if p.starts_with("/moved/") => {
            let n: u32 = p["/moved/".len()..].parse().unwrap_or(0);
            if n == 0 {
                reply("200 OK", "")
            } else {
                reply("301 Moved Permanently", &format!("location: /moved/{}\r\n", n - 1))
            }
        }
        _ => reply("500 Internal Server Error", ""),
    };
    let _ = stream.write_all(response.as_bytes());
}

fn socket_reset(stream: &TcpStream) -> std::io::Result<()> {
    let s = socket2::SockRef::from(stream);
    s.set_linger(Some(Duration::ZERO))
}

#[test]
fn check_external_reports_dead_links_where_they_are() {
    let server = Server::start();
    let s = TestSite::fixture("markdown");
    let u = |p: &str| server.url(p);
    s.write(
        "site/content/external.md",
        format!(
            "+++\ntitle = \"External\"\n+++\n[ok]({}) [gone]({})\n[no head]({}) [three redirects]({})\n\
             [loop]({}) [slow]({})\n[reset]({}) [skipped]({}) [ok again]({}#anchor)\n",
            u("/ok"),
            u("/gone"),
            u("/no-head"),
            u("/moved/3"),
            u("/loop"),
            u("/slow"),
            u("/reset"),
            u("/skipped/x"),
            u("/ok"),
        ),
    );
    // The fixture's own external links (`https://`) are skipped: nothing reaches the internet.
    let config = s.read("config.toml");
    s.write(
        "config.toml",
        format!(
            "{config}\n[link_checker]\nskip = [\"http://127.0.0.1:*/skipped/*\", \"https://*\"]\ntimeout = \"1s\"\nmax_redirects = 5\n"
        ),
    );
    let run = || {
        let out = s.cmd(&["check", "--external"]).assert().failure().get_output().clone();
        let text = format!(
            "{}{}",
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap()
        );
        text.replace(&server.port.to_string(), "PORT")
    };
    let first = run();
    insta::assert_snapshot!(first);
    let hits = server.hits();
    assert_eq!(hits.iter().filter(|h| *h == "HEAD /ok").count(), 1, "{hits:?}");
    assert!(!hits.iter().any(|h| h.contains("skipped")), "{hits:?}");
    assert!(hits.contains(&"GET /no-head".to_string()), "{hits:?}");
    assert_eq!(
        hits.iter().filter(|h| h.starts_with("HEAD /moved/")).count(),
        4,
        "{hits:?}"
    );
    // The second check takes the alive ones from `.sitegen/links.json`.
    server.hits.lock().unwrap().clear();
    let second = run();
    assert!(second.contains("from the cache"), "{second}");
    let hits = server.hits();
    assert!(
        !hits.iter().any(|h| h.ends_with(" /ok") || h.contains("/moved/")),
        "{hits:?}"
    );
    assert!(hits.contains(&"HEAD /gone".to_string()), "{hits:?}");
}
