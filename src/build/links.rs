//! The link check: every URL in the output's HTML (`href`, `src`, `srcset`), relative ones
//! resolved against their page's URL (or the page's `<base href>`), checked against the files
//! the plan has; and every external URL gathered, with where it appears, for
//! `sitegen check --external`. A URL that comes from Markdown is reported at its line and
//! column in the Markdown file; one from a template at the output file.

use std::collections::{BTreeMap, HashMap, HashSet};

use rayon::prelude::*;

use std::sync::Arc;

use super::BuildPlan;
use crate::config::Config;
use crate::error::Diagnostic;
use crate::markdown::{has_scheme, LinkRef};

/// Where a URL appears: a Markdown file with line and column, or an output file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkSite {
    pub file: String,
    /// Line and column, where the URL comes from Markdown.
    pub position: Option<(usize, usize)>,
}

impl LinkSite {
    /// A message about the URL at this site.
    pub fn diagnostic(&self, message: impl Into<String>) -> Diagnostic {
        match self.position {
            Some((line, column)) => Diagnostic::at(&self.file, line, column, message),
            None => Diagnostic::new(&self.file, message),
        }
    }
}

/// What the link check found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkReport {
    /// Links into the site that lead to no output file.
    pub broken: Vec<Diagnostic>,
    /// Every external (`http`/`https`) URL, without its fragment → where it appears (sorted).
    pub external: BTreeMap<String, Vec<LinkSite>>,
}

/// How a page's URLs are read: what decides whether a URL is this site's.
pub struct LinkScanner<'a> {
    config: &'a Config,
    base_path: &'a str,
    assets_base: Option<&'a str>,
}

/// The URLs of one HTML output that the check looks at: found when the output is made (a
/// streaming build keeps these, not the HTML) and checked once the plan is complete.
#[derive(Debug, Clone, Default)]
pub struct PageScan {
    /// The output path (`blog/a/index.html`) and what made it.
    path: String,
    source: Arc<str>,
    /// Each URL once, as written (character references decoded), with what it means.
    urls: Vec<(String, Found)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Found {
    /// A path in the site, to look for in the plan.
    Internal(String),
    Above,
    /// The URL without its fragment.
    External(String),
}

/// The site-wide facts every page's links are checked against.
struct Site<'a> {
    plan: &'a BuildPlan,
    /// Outputs the plan will have that it does not hold yet (processed images).
    planned: &'a HashSet<&'a str>,
    output_dir: &'a str,
    /// The Markdown links of each content file, by origin.
    markdown: &'a HashMap<&'a str, &'a [LinkRef]>,
}

/// What the check finds on one page: its broken links, and its external URLs with where
/// each appears.
type PageLinks = (Vec<Diagnostic>, Vec<(String, LinkSite)>);

/// What a URL of a page means.
#[derive(Debug, PartialEq)]
enum Target {
    /// A path in the site (without the base path), with its query and fragment.
    Internal(String),
    /// An `http`/`https` URL elsewhere.
    External(String),
    /// A relative URL that climbs above the site's root.
    Above,
    /// The same page, another scheme (`mailto:`), or nothing to check.
    Skip,
}

/// Checks the links of every HTML output of `plan` and gathers its external URLs: those
/// whose bytes the plan holds are read here, the streamed ones come as `scanned` (made by
/// [`LinkScanner::scan`] when they were rendered). `planned` holds outputs the plan will have
/// that it does not hold yet (processed images); `markdown` the Markdown links of each
/// content file, so a broken URL from Markdown is reported at its line. Plain links are the
/// author's business, so the broken ones are warnings for `build` and errors for `check`.
pub fn check_links(
    plan: &BuildPlan,
    planned: &HashSet<&str>,
    config: &Config,
    markdown: &HashMap<&str, &[LinkRef]>,
    scanned: &[&PageScan],
) -> LinkReport {
    let scanner = LinkScanner::new(config);
    let site = Site {
        plan,
        planned,
        output_dir: &config.output_dir,
        markdown,
    };
    let held: Vec<PageScan> = plan
        .files
        .par_iter()
        .filter(|(p, f)| p.ends_with(".html") && !f.streamed)
        .map(|(path, file)| scanner.scan(path, &String::from_utf8_lossy(&file.bytes), &file.source))
        .collect();
    let pages: Vec<PageLinks> = held
        .par_iter()
        .chain(scanned.par_iter().copied())
        .map(|scan| site.check(scan))
        .collect();
    let mut report = LinkReport::default();
    for (broken, external) in pages {
        report.broken.extend(broken);
        for (url, at) in external {
            report.external.entry(url).or_default().push(at);
        }
    }
    report.broken.sort();
    report.broken.dedup();
    for sites in report.external.values_mut() {
        sites.sort();
        sites.dedup();
    }
    report
}

impl<'a> LinkScanner<'a> {
    pub fn new(config: &'a Config) -> Self {
        LinkScanner {
            config,
            base_path: config.base_path(),
            assets_base: config
                .assets_base_url
                .as_deref()
                .map(|b| b.trim_end_matches('/'))
                .filter(|b| !b.is_empty()),
        }
    }

    /// The URLs of one HTML output (`path`, made from `source`) that the check looks at.
    pub fn scan(&self, path: &str, text: &str, source: &Arc<str>) -> PageScan {
        let attrs = crate::html::attributes(text);
        let page_url = crate::paths::url_path(path);
        // Relative URLs resolve against the first `<base href>`, else the page; `None` when
        // the base is another site (they are not this site's to check).
        let mut dir = Some(parent_url(&page_url).to_string());
        if let Some(a) = attrs.iter().find(|a| a.name == "href" && a.in_tag(text, "base")) {
            match self.target(&unescape(&text[a.value.clone()]), dir.as_deref()) {
                Target::Internal(p) => dir = Some(parent_url(&p).to_string()),
                Target::External(_) => dir = None,
                Target::Above | Target::Skip => {}
            }
        }
        let mut urls = Vec::new();
        // Each URL once per page: `Sites::of` names every place it has in the Markdown.
        let mut seen = HashSet::new();
        for (i, a) in attrs.iter().enumerate() {
            let written: Vec<&str> = match &*a.name {
                "href" if a.in_tag(text, "base") || hints_an_origin(text, &attrs, i) => continue,
                "href" | "src" => vec![text[a.value.clone()].trim()],
                "srcset" => srcset_urls(&text[a.value.clone()]),
                _ => continue,
            };
            for written in written {
                let url = unescape(written);
                if !seen.insert(url.clone()) {
                    continue;
                }
                let found = match self.target(&url, dir.as_deref()) {
                    Target::Internal(local) => Found::Internal(local),
                    Target::Above => Found::Above,
                    Target::External(u) => Found::External(u),
                    Target::Skip => continue,
                };
                urls.push((url, found));
            }
        }
        PageScan {
            path: path.to_string(),
            source: source.clone(),
            urls,
        }
    }

    /// What `url` on a page whose relative URLs resolve against `dir` (`/blog/a/`; `None`:
    /// against another site) means.
    fn target(&self, url: &str, dir: Option<&str>) -> Target {
        if let Some(rest) = url.strip_prefix("//") {
            return Target::External(without_fragment(&format!("https://{rest}")));
        }
        if has_scheme(url) {
            // Assets may live under their own base URL, which maps to the output root.
            let own = |base: &str| {
                url.strip_prefix(base)
                    .filter(|r| r.is_empty() || r.starts_with(['/', '?', '#']))
            };
            if let Some(rest) = self.assets_base.and_then(own) {
                return Target::Internal(format!("/{}", rest.trim_start_matches('/')));
            }
            if self.config.base_url.starts_with("http") {
                if let Some(rest) = own(self.config.base_url.trim_end_matches('/')) {
                    return Target::Internal(format!("/{}", rest.trim_start_matches('/')));
                }
            }
            let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
            return if scheme == "http" || scheme == "https" {
                Target::External(without_fragment(url))
            } else {
                Target::Skip
            };
        }
        if url.starts_with('/') {
            return match url.strip_prefix(self.base_path) {
                Some(rest) if rest.is_empty() || rest.starts_with(['/', '?', '#']) => {
                    Target::Internal(format!("/{}", rest.trim_start_matches('/')))
                }
                // Outside the site's base path: another site on the same host.
                _ => Target::Skip,
            };
        }
        let end = url.find(['?', '#']).unwrap_or(url.len());
        let (path, rest) = url.split_at(end);
        let Some(dir) = dir.filter(|_| !path.is_empty()) else {
            return Target::Skip;
        };
        let Some(joined) = crate::paths::normalize(&format!("{dir}{path}")) else {
            return Target::Above;
        };
        let last = path.rsplit('/').next().unwrap_or("");
        let slash = if !joined.is_empty() && (path.ends_with('/') || last == "." || last == "..") {
            "/"
        } else {
            ""
        };
        Target::Internal(format!("/{joined}{slash}{rest}"))
    }
}

impl Site<'_> {
    /// The broken links and the external URLs of one scanned output.
    fn check(&self, scan: &PageScan) -> PageLinks {
        let page_url = crate::paths::url_path(&scan.path);
        let sites = Sites {
            origin: &scan.source,
            markdown: self.markdown.get(&*scan.source).copied().unwrap_or_default(),
            by_url: std::cell::OnceCell::new(),
            output: format!("{}/{}", self.output_dir, scan.path),
        };
        let mut broken = Vec::new();
        let mut external = Vec::new();
        for (url, found) in &scan.urls {
            match found {
                Found::Internal(local) => {
                    if let Some(target) = self.missing(local) {
                        let message = if url.starts_with('/') || has_scheme(url) {
                            format!("broken internal link `{url}`: nothing is built at `{target}`")
                        } else {
                            format!(
                                "broken relative link `{url}` (on `{page_url}`): nothing is built at `{target}`{}",
                                sites.hint(url)
                            )
                        };
                        broken.extend(sites.of(url).into_iter().map(|s| s.diagnostic(message.clone())));
                    }
                }
                Found::Above => {
                    let message =
                        format!("broken relative link `{url}` (on `{page_url}`): it climbs above the site's root");
                    broken.extend(sites.of(url).into_iter().map(|s| s.diagnostic(message.clone())));
                }
                Found::External(u) => external.extend(sites.of(url).into_iter().map(|s| (u.clone(), s))),
            }
        }
        (broken, external)
    }

    /// The output file a site path (`/blog/a/?q#x`) would be served from, when the plan has
    /// nothing there.
    fn missing(&self, local: &str) -> Option<String> {
        let files = &self.plan.files;
        missing_from(local, |p| files.contains_key(p) || self.planned.contains(p))
    }
}

/// The output file a site path (`/blog/a/?q#x`) would be served from, when `exists` says
/// nothing is built there.
fn missing_from(local: &str, exists: impl Fn(&str) -> bool) -> Option<String> {
    let local = local.split(['#', '?']).next().unwrap_or("");
    let local = if local.is_empty() { "/" } else { local };
    let target = crate::paths::output_path(&crate::paths::percent_decode(local));
    let found = exists(&target) || exists(&format!("{}/index.html", target.trim_end_matches('/')));
    (!found).then_some(target)
}

impl PageScan {
    /// Forgets the links into the site that lead to an output `exists` knows of, keeping
    /// the rest for [`check_links`]: a streaming build checks each page's links as it is
    /// rendered against the outputs known before rendering (pages, assets), so it holds
    /// only the URLs still in question instead of every URL of every page.
    pub fn keep_unresolved(&mut self, exists: impl Fn(&str) -> bool) {
        self.urls.retain(|(_, found)| match found {
            Found::Internal(local) => missing_from(local, &exists).is_some(),
            Found::Above | Found::External(_) => true,
        });
        self.urls.shrink_to_fit();
    }
}

/// Where the URLs of one output come from: its content file's Markdown, else the output.
struct Sites<'a> {
    origin: &'a str,
    markdown: &'a [LinkRef],
    /// The Markdown's links by percent-decoded URL, made when first needed.
    by_url: std::cell::OnceCell<HashMap<String, Vec<&'a LinkRef>>>,
    output: String,
}

impl Sites<'_> {
    /// Every Markdown position that has `url`, or the output file when none does (the URL
    /// comes from a template). URLs compare percent-decoded: the HTML writer encodes what
    /// the Markdown may have written as it is.
    fn of(&self, url: &str) -> Vec<LinkSite> {
        self.refs(url)
            .map(|refs| {
                refs.iter()
                    .map(|l| LinkSite {
                        file: self.origin.to_string(),
                        position: Some((l.line, l.column)),
                    })
                    .collect()
            })
            .unwrap_or_else(|| {
                vec![LinkSite {
                    file: self.output.clone(),
                    position: None,
                }]
            })
    }

    /// The Markdown links that have `url`, if any.
    fn refs(&self, url: &str) -> Option<&Vec<&LinkRef>> {
        let by_url = self.by_url.get_or_init(|| {
            let mut m: HashMap<String, Vec<&LinkRef>> = HashMap::new();
            for l in self.markdown {
                m.entry(crate::paths::percent_decode(&l.url)).or_default().push(l);
            }
            m
        });
        by_url.get(&crate::paths::percent_decode(url))
    }

    /// `: link to the page as `name.md#x``, when `url` is an mdBook-style `name.html` link
    /// from Markdown beside a page `name.md`.
    fn hint(&self, url: &str) -> String {
        match self
            .refs(url)
            .and_then(|r| r.iter().find_map(|l| l.markdown_file.as_deref()))
        {
            Some(md) => format!("; `{md}` would link to the page"),
            None => String::new(),
        }
    }
}

/// Whether the attribute at `i` (an `href`) is on a `<link rel="preconnect">` or
/// `rel="dns-prefetch"`: an origin to connect to early, not a document to fetch.
fn hints_an_origin(text: &str, attrs: &[crate::html::Attr], i: usize) -> bool {
    let tag = &attrs[i].tag;
    // A tag's attributes are next to each other in `attrs`.
    let same_tag = |a: &&crate::html::Attr| a.tag == *tag;
    attrs[i].in_tag(text, "link")
        && attrs[..i]
            .iter()
            .rev()
            .take_while(same_tag)
            .chain(attrs[i..].iter().take_while(same_tag))
            .any(|a| {
                a.name == "rel" && {
                    let rel = text[a.value.clone()].to_ascii_lowercase();
                    rel.split_ascii_whitespace()
                        .any(|r| r == "preconnect" || r == "dns-prefetch")
                }
            })
}

/// The URLs of a `srcset` (`a.png 1x, b.png 2x`).
fn srcset_urls(srcset: &str) -> Vec<&str> {
    srcset
        .split(',')
        .filter_map(|c| c.split_ascii_whitespace().next())
        .collect()
}

/// The folder of a URL path: `/blog/a/` → `/blog/a/`, `/404.html` → `/`.
fn parent_url(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    }
}

fn without_fragment(url: &str) -> String {
    url.split('#').next().unwrap_or(url).to_string()
}

/// An attribute's value with its character references decoded (`&amp;` → `&`): the URL.
fn unescape(value: &str) -> String {
    if !value.contains('&') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_for<R>(base_url: &str, f: impl FnOnce(&LinkScanner<'_>) -> R) -> R {
        let config = Config::parse("config.toml", &format!("base_url = \"{base_url}\"")).unwrap();
        f(&LinkScanner::new(&config))
    }

    #[test]
    fn urls_resolve_against_the_page() {
        site_for("https://example.com/book", |s| {
            let t = |u: &str| s.target(u, Some("/ch03-01/"));
            assert_eq!(
                t("ch03-02.html#tuple"),
                Target::Internal("/ch03-01/ch03-02.html#tuple".into())
            );
            assert_eq!(t("../ch03-02/"), Target::Internal("/ch03-02/".into()));
            assert_eq!(t(".."), Target::Internal("/".into()));
            assert_eq!(t("./img/a.png?v=1"), Target::Internal("/ch03-01/img/a.png?v=1".into()));
            assert_eq!(t("../../x/"), Target::Above);
            assert_eq!(s.target("a/", None), Target::Skip);
            assert_eq!(t("#top"), Target::Skip);
            assert_eq!(t("?page=2"), Target::Skip);
            assert_eq!(t("mailto:a@example.com"), Target::Skip);
            assert_eq!(t("/book/ch04/"), Target::Internal("/ch04/".into()));
            assert_eq!(t("/other-site/"), Target::Skip);
            assert_eq!(t("https://example.com/book/a/"), Target::Internal("/a/".into()));
            assert_eq!(
                t("https://example.com/bookshelf/"),
                Target::External("https://example.com/bookshelf/".into())
            );
            assert_eq!(
                t("//cdn.example.org/x.js#a"),
                Target::External("https://cdn.example.org/x.js".into())
            );
        });
    }

    #[test]
    fn character_references_and_srcset() {
        assert_eq!(unescape("a?b=1&amp;c=2&#x27;&#39;&bogus;&"), "a?b=1&c=2''&bogus;&");
        assert_eq!(
            srcset_urls(" a.png 1x,b.png  2x , c.png"),
            vec!["a.png", "b.png", "c.png"]
        );
        assert_eq!(parent_url("/404.html"), "/");
    }

    #[test]
    fn a_scan_keeps_only_the_links_still_in_question() {
        site_for("https://example.com/", |s| {
            let html = concat!(
                r#"<a href="/b/">b</a><a href="/b/index.html#x">b again</a><a href="c.png">c</a>"#,
                r#"<a href="/gone/">gone</a><a href="/b/%20x">encoded</a><a href="../../up/">up</a>"#,
                r#"<a href="https://example.org/">out</a>"#
            );
            let mut scan = s.scan("a/index.html", html, &Arc::from("content/a.md"));
            let known = ["b/index.html", "a/c.png", "b/ x/index.html"];
            scan.keep_unresolved(|p| known.contains(&p));
            let left: Vec<&str> = scan.urls.iter().map(|(u, _)| u.as_str()).collect();
            assert_eq!(left, vec!["/gone/", "../../up/", "https://example.org/"]);
        });
    }
}
