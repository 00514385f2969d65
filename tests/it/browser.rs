//! End-to-end tests of `sitegen serve` in a real headless Chromium, driven over the DevTools
//! protocol: edits show up in an open page without any action, CSS is swapped without a
//! reload, and a broken template shows an overlay until it is fixed.
//!
//! They need Debian's `chromium` (`.ci/run` installs it). Without it they are ignored, and
//! `cargo test` lists them as such: run `cargo test --test it browser -- --ignored`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Serve, TestSite};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless Chromium with one page, stopped on drop.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    socket: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Browser {
    fn open(url: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut port = None;
        let mut lines = stderr.lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.split("DevTools listening on ws://127.0.0.1:").nth(1) {
                port = rest.split('/').next().map(String::from);
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let port = port.expect("chromium prints its DevTools port");
        // Open a new page target on the URL.
        let body = http(&port, &format!("PUT /json/new?{url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        let json: serde_json::Value = serde_json::from_str(&body).expect("json/new answers JSON");
        let ws = json["webSocketDebuggerUrl"]
            .as_str()
            .expect("a page target")
            .to_string();
        let (socket, _) = tungstenite::connect(ws).expect("connect to the page");
        Browser {
            child,
            _profile: profile,
            socket,
            next_id: 1,
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    fn eval(&mut self, expr: &str) -> serde_json::Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = serde_json::json!({"id": id, "method": "Runtime.evaluate", "params": {"expression": expr, "returnByValue": true, "awaitPromise": true}});
        self.socket
            .send(tungstenite::Message::Text(msg.to_string().into()))
            .unwrap();
        loop {
            let m = self.socket.read().expect("devtools answers");
            if let tungstenite::Message::Text(t) = m {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["id"] == id {
                    return v["result"]["result"]["value"].clone();
                }
            }
        }
    }

    /// Waits until `expr` is true in the page (10 s at most).
    fn wait_for(&mut self, expr: &str, what: &str) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.eval(expr) == serde_json::Value::Bool(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let body = self.eval("document.documentElement.outerHTML");
        let bg = self.eval("getComputedStyle(document.body).backgroundColor + ' / ' + Array.from(document.styleSheets).map(s => s.href + ':' + (s.cssRules ? Array.from(s.cssRules).slice(0, 3).map(r => r.cssText).join(' ') : 'x')).join(', ')");
        panic!("timed out waiting for {what} ({expr}); styles: {bg}; the page is:\n{body}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP request to Chromium's DevTools server; reads the body by its Content-Length
/// (the server keeps the connection open).
fn http(port: &str, request: &str) -> String {
    let mut s = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).expect("devtools http answers");
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(h) = text.find("\r\n\r\n") {
            let len = text[..h].lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            });
            if let Some(len) = len {
                if buf.len() >= h + 4 + len {
                    return String::from_utf8_lossy(&buf[h + 4..h + 4 + len]).into_owned();
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

fn page_loaded(b: &mut Browser, url_path: &str) {
    b.wait_for(
        &format!("location.pathname === '{url_path}' && document.readyState === 'complete'"),
        "the page to load",
    );
    // The live-reload socket is open once the script ran; give it a moment to connect.
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
#[ignore = "needs Chromium (Debian package `chromium`): run .ci/run, or cargo test --test it browser -- --ignored"]
fn an_edited_page_shows_its_new_text_without_any_action() {
    let site = TestSite::starter();
    let server = Serve::start(site.root());
    let mut b = Browser::open(&format!("{}/blog/first-post/", server.url));
    page_loaded(&mut b, "/blog/first-post/");
    assert_eq!(
        b.eval("document.querySelector('h1.title').textContent"),
        "My first post"
    );
    let text = site
        .read("site/content/blog/first-post.md")
        .replace("Posts live in", "Freshly edited: posts live in");
    site.write("site/content/blog/first-post.md", text);
    b.wait_for("document.body.innerText.includes('Freshly edited')", "the edited text");
}

#[test]
#[ignore = "needs Chromium (Debian package `chromium`): run .ci/run, or cargo test --test it browser -- --ignored"]
fn a_css_edit_is_swapped_in_without_a_reload() {
    let site = TestSite::starter();
    let server = Serve::start(site.root());
    let mut b = Browser::open(&format!("{}/", server.url));
    page_loaded(&mut b, "/");
    b.eval("window.__sitegenMarker = 42");
    // Override the theme's colour partial: the theme's stylesheet is compiled again.
    site.write(
        "site/static/css/_variables.scss",
        ":root { --bg: #123456; --fg: #fefefe; }\n",
    );
    b.wait_for(
        "getComputedStyle(document.body).backgroundColor === 'rgb(18, 52, 86)'",
        "the new background colour",
    );
    assert_eq!(b.eval("window.__sitegenMarker"), 42, "the page was reloaded");
}

#[test]
#[ignore = "needs Chromium (Debian package `chromium`): run .ci/run, or cargo test --test it browser -- --ignored"]
fn a_broken_template_shows_an_overlay_until_it_is_fixed() {
    let site = TestSite::starter();
    let server = Serve::start(site.root());
    let mut b = Browser::open(&format!("{}/blog/first-post/", server.url));
    page_loaded(&mut b, "/blog/first-post/");
    site.write(
        "site/templates/page.html",
        "{% extends \"base.html\" %}\n{% block content %}<h1>{{ page.title }</h1>{% endblock content %}\n",
    );
    b.wait_for(
        "!!document.getElementById('sitegen-error-overlay')",
        "the error overlay",
    );
    let overlay = b.eval("document.getElementById('sitegen-error-overlay').textContent");
    let overlay = overlay.as_str().unwrap();
    assert!(overlay.contains("site/templates/page.html:2:"), "{overlay}");
    // Fix it (a working override): the overlay goes and the page shows the new template.
    site.write("site/templates/page.html", "{% extends \"base.html\" %}\n{% block content %}<h1 class=\"fixed\">{{ page.title }}</h1>{% endblock content %}\n");
    b.wait_for(
        "!document.getElementById('sitegen-error-overlay') && !!document.querySelector('h1.fixed')",
        "the fixed page",
    );
}

#[test]
#[ignore = "needs Chromium (Debian package `chromium`): run .ci/run, or cargo test --test it browser -- --ignored"]
fn the_language_switcher_leads_to_each_translation_and_edits_show_there() {
    let site = TestSite::fixture("multilingual");
    let server = Serve::start(site.root());
    let mut b = Browser::open(&format!("{}/blog/first/", server.url));
    page_loaded(&mut b, "/blog/first/");
    assert_eq!(b.eval("document.documentElement.lang"), "en");
    let switcher = "Array.from(document.querySelectorAll('nav.lang-switch a')).map(a => a.hreflang + '=' + new URL(a.href).pathname).join(' ')";
    assert_eq!(b.eval(switcher), "ar=/ar/blog/first/ ja=/ja/blog/first/");
    // Click 日本語.
    b.eval("document.querySelector('nav.lang-switch a[hreflang=ja]').click()");
    page_loaded(&mut b, "/ja/blog/first/");
    assert_eq!(b.eval("document.documentElement.lang"), "ja");
    assert_eq!(b.eval("document.querySelector('h1.title').textContent"), "夜明け");
    assert_eq!(
        b.eval("document.querySelector('nav.lang-switch [aria-current]').textContent"),
        "日本語"
    );
    // Then العربية: written right to left.
    b.eval("document.querySelector('nav.lang-switch a[hreflang=ar]').click()");
    page_loaded(&mut b, "/ar/blog/first/");
    assert_eq!(b.eval("document.documentElement.dir"), "rtl");
    assert_eq!(b.eval("getComputedStyle(document.body).direction"), "rtl");
    // An edit of the Arabic file shows in the open page.
    site.edit("site/content/blog/first.ar.md", "بدأنا عند الفجر.", "بدأنا قبل الفجر.");
    b.wait_for(
        "document.body.innerText.includes('بدأنا قبل الفجر')",
        "the edited translation",
    );
    // And back to English from the switcher.
    b.eval("document.querySelector('nav.lang-switch a[hreflang=en]').click()");
    page_loaded(&mut b, "/blog/first/");
    assert_eq!(b.eval("document.documentElement.lang"), "en");
}

/// Types `q` into the page's search box, as a user would (one `input` event).
fn type_query(b: &mut Browser, q: &str) {
    b.eval(&format!(
        "(() => {{ const i = document.querySelector('.search input'); i.focus(); i.value = {}; i.dispatchEvent(new Event('input')); }})()",
        serde_json::to_string(q).unwrap()
    ));
}

/// The result links shown, as URL paths.
const RESULTS: &str =
    "Array.from(document.querySelectorAll('.search-results li[role=option] a')).map(a => new URL(a.href).pathname)";

fn results(b: &mut Browser) -> Vec<String> {
    serde_json::from_value(b.eval(RESULTS)).unwrap()
}

/// Waits until the shown results satisfy `cond` (a JavaScript expression over `r`, the
/// list of URL paths).
fn wait_results(b: &mut Browser, cond: &str, what: &str) {
    b.wait_for(&format!("(r => {cond})({RESULTS})"), what);
}

/// A copy of the fixture site `name` with `[search]` on.
fn fixture_with_search(name: &str) -> TestSite {
    let site = TestSite::fixture(name);
    let config = site.read("config.toml");
    site.write("config.toml", format!("{config}\n[search]\nenabled = true\n"));
    site
}

/// A copy of the repository's own docs site (config.toml, site/, themes/).
fn docs_site() -> TestSite {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("config.toml"), dir.path().join("config.toml")).unwrap();
    for d in ["site", "themes"] {
        crate::harness::copy_dir(&root.join(d), &dir.path().join(d));
    }
    TestSite { dir }
}

#[test]
#[ignore = "needs Chromium (Debian package `chromium`): run .ci/run, or cargo test --test it browser -- --ignored"]
fn the_docs_search_box_finds_pages_as_you_type_and_the_keyboard_opens_them() {
    let site = docs_site();
    let server = Serve::start(site.root());
    let mut b = Browser::open(&format!("{}/docs/cli/", server.url));
    page_loaded(&mut b, "/docs/cli/");
    type_query(&mut b, "amplif");
    wait_results(
        &mut b,
        "r[0] === '/docs/amplify/'",
        "the Amplify page first, from a prefix",
    );
    // The match is highlighted in the title.
    assert_eq!(
        b.eval("document.querySelector('.search-results li mark').textContent.toLowerCase()"),
        "amplify"
    );
    type_query(&mut b, "multilingual sites");
    wait_results(
        &mut b,
        "r[0] === '/docs/multilingual/'",
        "the multilingual page for two words",
    );
    // Down, down, up selects the first result; Enter opens it; Escape closes the list.
    let key = |b: &mut Browser, k: &str| {
        b.eval(&format!(
            "document.querySelector('.search input').dispatchEvent(new KeyboardEvent('keydown', {{key: '{k}', bubbles: true}}))"
        ));
    };
    key(&mut b, "ArrowDown");
    key(&mut b, "ArrowDown");
    key(&mut b, "ArrowUp");
    assert_eq!(
        b.eval("document.querySelector('.search-results li[aria-selected=true] a').pathname"),
        "/docs/multilingual/"
    );
    key(&mut b, "Escape");
    assert_eq!(b.eval("document.querySelector('.search-results').hidden"), true);
    type_query(&mut b, "multilingual");
    wait_results(&mut b, "r[0] === '/docs/multilingual/'", "the results again");
    key(&mut b, "Enter");
    page_loaded(&mut b, "/docs/multilingual/");
}

#[test]
#[ignore = "needs Chromium (Debian package `chromium`): run .ci/run, or cargo test --test it browser -- --ignored"]
fn a_theme_box_with_its_own_result_list_keeps_it_and_gets_no_filters_it_did_not_ask_for() {
    // The default theme's layout with a box written out by the theme itself: its own list
    // (with its own id) and no filter labels.
    let site = fixture_with_search("blog");
    let base = include_str!("../../themes/default/templates/base.html");
    let start = base
        .find("    <div class=\"search\"")
        .expect("the default theme's search box");
    let end = start + base[start..].find("</div>").expect("the box's end") + "</div>".len();
    let own = r#"<div class="search" data-index="{{ search_url }}">
      <input type="search" placeholder="Find">
      <ul class="search-results theme-list" id="theme-results" hidden></ul>
      <script src="{{ asset(path='js/search.js') }}" defer></script>
    </div>"#;
    site.write(
        "site/templates/base.html",
        format!("{}{own}{}", &base[..start], &base[end..]),
    );
    let server = Serve::start(site.root());
    let mut b = Browser::open(&format!("{}/posts/post-1/", server.url));
    page_loaded(&mut b, "/posts/post-1/");
    type_query(&mut b, "body");
    wait_results(&mut b, "r.includes('/posts/post-2/')", "results in the theme's list");
    assert_eq!(b.eval("document.querySelectorAll('.search-results').length"), 1);
    assert_eq!(
        b.eval("document.querySelectorAll('.theme-list li[role=option]').length > 0"),
        true
    );
    assert_eq!(b.eval("document.querySelectorAll('.search select').length"), 0);
    assert_eq!(
        b.eval("document.querySelector('.search input').getAttribute('aria-controls')"),
        "theme-results"
    );
    assert_eq!(
        b.eval("document.querySelector('.search input').getAttribute('role')"),
        "combobox"
    );
}

#[test]
#[ignore = "needs Chromium (Debian package `chromium`): run .ci/run, or cargo test --test it browser -- --ignored"]
fn a_japanese_query_finds_the_japanese_page_and_an_edit_reaches_the_index() {
    let site = fixture_with_search("multilingual");
    let server = Serve::start(site.root());
    let mut b = Browser::open(&format!("{}/ja/", server.url));
    page_loaded(&mut b, "/ja/");
    type_query(&mut b, "夜明け");
    wait_results(&mut b, "r.includes('/ja/blog/first/')", "the Japanese page");
    // In `serve`, an edit reaches the index like any other output.
    b.eval("fetch('/search/ja.json').then(r => r.text()).then(t => { window.__old = t; return true; })");
    site.edit(
        "site/content/blog/first.ja.md",
        "夜明けに出発しました。",
        "夜明けに出発しました。新幹線で。",
    );
    b.wait_for(
        "fetch('/search/ja.json', {cache: 'no-store'}).then(r => r.text()).then(t => t !== window.__old)",
        "a new index",
    );
    b.eval("location.reload()");
    page_loaded(&mut b, "/ja/");
    type_query(&mut b, "新幹線");
    wait_results(
        &mut b,
        "r.length === 1 && r[0] === '/ja/blog/first/'",
        "the edited page by its new word",
    );
}

#[test]
#[ignore = "needs Chromium (Debian package `chromium`): run .ci/run, or cargo test --test it browser -- --ignored"]
fn on_ten_thousand_pages_a_word_finds_its_pages_and_filters_narrow_them() {
    let (site, words) = crate::search::generated_site(10_000, 10);
    let server = Serve::start(site.root());
    let mut b = Browser::open(&format!("{}/s3/p7773/", server.url));
    page_loaded(&mut b, "/s3/p7773/");
    // A page's unique word, typed in full: that page only. While it is being typed it is
    // also a prefix of page 9142's (`word` spells 9142 as 4242's letters and one more pair).
    let uniq = format!("uniq{}", crate::search::word(4242));
    type_query(&mut b, &uniq);
    wait_results(
        &mut b,
        "r.length === 2 && r.includes('/s2/p4242/') && r.includes('/s2/p9142/')",
        "the two pages with the prefix",
    );
    type_query(&mut b, &format!("{uniq} "));
    wait_results(
        &mut b,
        "r.length === 1 && r[0] === '/s2/p4242/'",
        "the one page with the word",
    );
    // A common word: ten results, each a page that has it.
    let common = crate::search::word(40);
    type_query(&mut b, &format!("{common} "));
    wait_results(&mut b, "r.length === 10", "ten results");
    for u in results(&mut b) {
        let key = u.trim_start_matches('/');
        assert!(words[key].contains(&common), "{u} has no `{common}`");
    }
    // The section filter: every result in section 5.
    b.wait_for(
        "document.querySelector('select.search-section').options.length === 11",
        "the sections",
    );
    b.eval("(() => { const s = document.querySelector('select.search-section'); s.value = 's:s5'; s.dispatchEvent(new Event('change')); })()");
    wait_results(
        &mut b,
        "r.length === 10 && r.every(u => u.startsWith('/s5/'))",
        "results of section 5 only",
    );
    // And the tag filter with it: pages whose number is a multiple of 3 (tag `alpha`).
    b.eval("(() => { const s = document.querySelector('select.search-term'); s.value = 't:tags:alpha'; s.dispatchEvent(new Event('change')); })()");
    wait_results(
        &mut b,
        "r.length === 10 && r.every(u => u.startsWith('/s5/') && Number(u.split('/p')[1].replace('/', '')) % 3 === 0)",
        "results of section 5 tagged alpha",
    );
}

#[test]
#[ignore = "needs Chromium (Debian package `chromium`): run .ci/run, or cargo test --test it browser -- --ignored"]
fn zolas_elasticlunr_index_loads_in_elasticlunr_and_finds_pages() {
    let site = TestSite::fixture("blog");
    let config = site.read("config.toml");
    site.write(
        "config.toml",
        format!(
            "{config}\n[search]\nenabled = true\nzola_compat = [\"elasticlunr_json\", \"elasticlunr_javascript\"]\n"
        ),
    );
    let server = Serve::start(site.root());
    let mut b = Browser::open(&format!("{}/", server.url));
    page_loaded(&mut b, "/");
    // What a Zola theme does: load elasticlunr.min.js and the index, search with `expand`.
    let found = b.eval(
        "new Promise(ok => { const s = document.createElement('script'); s.src = '/elasticlunr.min.js'; s.onload = ok; document.head.append(s); })
           .then(() => fetch('/search_index.en.json')).then(r => r.json())
           .then(j => elasticlunr.Index.load(j).search('bodies', {expand: true, fields: {title: {boost: 2}, body: {boost: 1}}})
           .map(r => new URL(r.ref).pathname).sort().join(' '))",
    );
    assert_eq!(found, "/posts/post-1/ /posts/post-2/ /posts/post-3/");
    let js =
        b.eval("fetch('/search_index.en.js').then(r => r.text()).then(t => t.startsWith('window.searchIndex = {'))");
    assert_eq!(js, true);
}
