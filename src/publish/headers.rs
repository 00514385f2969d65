//! Which files a target publishes and with which headers: the include/exclude globs and the
//! per-glob header rules of a `[[deploy.targets]]`, on top of sensible defaults. Pure.
//!
//! Defaults: fingerprinted files `public, max-age=31536000, immutable`; HTML, XML and JSON
//! `public, max-age=0, must-revalidate` (they name the fingerprinted files, so they must be
//! fresh); everything else `public, max-age=3600`. Content types come from the extension,
//! `text/*` (and JavaScript, JSON, XML) with `charset=utf-8`. Globs match the path relative to
//! the output folder, and `*` also matches `/` (`*.html` is every HTML file).

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::Headers;
use crate::config::DeployRule;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const REVALIDATE: &str = "public, max-age=0, must-revalidate";
pub const SHORT: &str = "public, max-age=3600";

/// A `website_redirect` value that means "the target of this alias page".
pub const FROM_ALIAS: &str = "alias";

fn glob_set(globs: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|e| format!("`{g}` is not a valid glob: {}", e.kind()))?);
    }
    b.build().map_err(|e| e.to_string())
}

/// The include/exclude globs of a target.
#[derive(Debug, Clone)]
pub struct PathFilter {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl PathFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<PathFilter, String> {
        Ok(PathFilter {
            include: if include.is_empty() {
                None
            } else {
                Some(glob_set(include)?)
            },
            exclude: glob_set(exclude)?,
        })
    }

    /// Everything.
    pub fn all() -> PathFilter {
        PathFilter::new(&[], &[]).expect("empty glob sets build")
    }

    /// Whether the target manages `path`: uploads it when it is local, deletes it when not.
    pub fn allows(&self, path: &str) -> bool {
        !super::is_own_key(path)
            && self.include.as_ref().is_none_or(|g| g.is_match(path))
            && !self.exclude.is_match(path)
    }
}

/// The header rules of a target, in order (later rules win, field by field).
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    rules: Vec<(globset::GlobMatcher, DeployRule)>,
}

impl HeaderRules {
    pub fn new(rules: &[DeployRule]) -> Result<HeaderRules, String> {
        let rules = rules
            .iter()
            .map(|r| {
                Glob::new(&r.glob)
                    .map(|g| (g.compile_matcher(), r.clone()))
                    .map_err(|e| format!("`{}` is not a valid glob: {}", r.glob, e.kind()))
            })
            .collect::<Result<_, _>>()?;
        Ok(HeaderRules { rules })
    }

    /// Whether some rule asks for a redirect taken from alias pages: the caller then has to
    /// read those pages (see [`alias_target`]).
    pub fn wants_alias(&self, path: &str) -> bool {
        self.rules
            .iter()
            .rev()
            .find(|(g, r)| r.website_redirect.is_some() && g.is_match(path))
            .is_some_and(|(_, r)| r.website_redirect.as_deref() == Some(FROM_ALIAS))
    }

    /// The headers of `path`. `alias` is the redirect target read from the file when
    /// [`HeaderRules::wants_alias`] said so.
    pub fn headers(&self, path: &str, immutable: bool, alias: Option<String>) -> Headers {
        let mut cache_control = None;
        let mut content_type = None;
        let mut content_encoding = None;
        let mut website_redirect = None;
        for (g, r) in &self.rules {
            if !g.is_match(path) {
                continue;
            }
            if let Some(v) = &r.cache_control {
                cache_control = Some(v.clone());
            }
            if let Some(v) = &r.content_type {
                content_type = Some(v.clone());
            }
            if let Some(v) = &r.content_encoding {
                content_encoding = Some(v.clone());
            }
            if let Some(v) = &r.website_redirect {
                website_redirect = Some(v.clone());
            }
        }
        // A precompressed `app.js.br` is served as JavaScript.
        let typed_path = match &content_encoding {
            Some(_) => [".gz", ".br", ".zst"]
                .iter()
                .find_map(|ext| path.strip_suffix(ext))
                .unwrap_or(path),
            None => path,
        };
        let content_type = content_type.unwrap_or_else(|| content_type_of(typed_path));
        let cache_control = cache_control.unwrap_or_else(|| {
            if immutable {
                IMMUTABLE.into()
            } else if is_document(&content_type) {
                REVALIDATE.into()
            } else {
                SHORT.into()
            }
        });
        let website_redirect = match website_redirect.as_deref() {
            Some(FROM_ALIAS) => alias,
            _ => website_redirect,
        };
        Headers {
            content_type,
            cache_control,
            content_encoding,
            website_redirect,
        }
    }
}

/// The content type of a path from its extension (the same as `serve` sends).
pub fn content_type_of(path: &str) -> String {
    crate::paths::content_type(path)
}

/// HTML, XML and JSON: files that name other files and must not be cached stale.
fn is_document(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence == "text/html"
        || essence == "application/xhtml+xml"
        || essence.ends_with("/xml")
        || essence.ends_with("+xml") && essence != "image/svg+xml"
        || essence.ends_with("/json")
        || essence.ends_with("+json")
}

/// The target URL of an alias page (the `url=` of its `<meta http-equiv="refresh">`).
pub fn alias_target(html: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(html).ok()?;
    let lower = text.to_ascii_lowercase();
    let at = lower.find("http-equiv=\"refresh\"")?;
    let tag_start = lower[..at].rfind('<')?;
    let tag_end = at + lower[at..].find('>')?;
    let tag = &text[tag_start..tag_end];
    let content = tag.find("content=\"")? + "content=\"".len();
    let value = &tag[content..content + tag[content..].find('"')?];
    let url = value.split_once(';')?.1.trim();
    let url = url.strip_prefix("url=").or_else(|| url.strip_prefix("URL="))?.trim();
    (!url.is_empty()).then(|| url.replace("&amp;", "&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(glob: &str) -> DeployRule {
        DeployRule {
            glob: glob.into(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults() {
        let r = HeaderRules::default();
        let h = r.headers("index.html", false, None);
        assert_eq!(h.content_type, "text/html; charset=utf-8");
        assert_eq!(h.cache_control, REVALIDATE);
        let h = r.headers("css/site.0123456789.css", true, None);
        assert_eq!(h.content_type, "text/css; charset=utf-8");
        assert_eq!(h.cache_control, IMMUTABLE);
        assert_eq!(r.headers("img/a.png", false, None).cache_control, SHORT);
        assert_eq!(r.headers("img/a.png", false, None).content_type, "image/png");
        assert_eq!(r.headers("img/a.svg", false, None).content_type, "image/svg+xml");
        assert_eq!(r.headers("atom.xml", false, None).cache_control, REVALIDATE);
        assert_eq!(r.headers("manifest.json", false, None).cache_control, REVALIDATE);
        assert_eq!(
            r.headers("manifest.json", false, None).content_type,
            "application/json; charset=utf-8"
        );
        assert_eq!(
            r.headers("x.unknownext", false, None).content_type,
            "application/octet-stream"
        );
    }

    #[test]
    fn later_rules_win_field_by_field() {
        let mut a = rule("*.js.br");
        a.content_encoding = Some("br".into());
        a.cache_control = Some("no-cache".into());
        let mut b = rule("js/*");
        b.cache_control = Some("public, max-age=60".into());
        let r = HeaderRules::new(&[a, b]).unwrap();
        let h = r.headers("js/app.js.br", false, None);
        assert_eq!(h.content_encoding.as_deref(), Some("br"));
        assert!(
            h.content_type.ends_with("javascript; charset=utf-8"),
            "{}",
            h.content_type
        );
        assert_eq!(h.cache_control, "public, max-age=60");
    }

    #[test]
    fn redirects_from_alias_pages_and_literal() {
        let mut a = rule("old/**");
        a.website_redirect = Some("alias".into());
        let mut b = rule("gone.html");
        b.website_redirect = Some("/new/".into());
        let r = HeaderRules::new(&[a, b]).unwrap();
        assert!(r.wants_alias("old/x/index.html"));
        assert!(!r.wants_alias("gone.html"));
        let h = r.headers("old/x/index.html", false, Some("https://e.com/x/".into()));
        assert_eq!(h.website_redirect.as_deref(), Some("https://e.com/x/"));
        assert_eq!(
            r.headers("gone.html", false, None).website_redirect.as_deref(),
            Some("/new/")
        );
        let page = br#"<head><meta http-equiv="refresh" content="0; url=https://e.com/a/?x=1&amp;y=2"></head>"#;
        assert_eq!(alias_target(page).as_deref(), Some("https://e.com/a/?x=1&y=2"));
        assert_eq!(alias_target(b"<p>no</p>"), None);
    }

    #[test]
    fn filter() {
        let f = PathFilter::new(&["*.html".into(), "css/**".into()], &["drafts/**".into()]).unwrap();
        assert!(f.allows("a/b/index.html"));
        assert!(f.allows("css/x.css"));
        assert!(!f.allows("img/a.png"));
        assert!(!f.allows("drafts/a.html"));
        assert!(!PathFilter::all().allows(crate::publish::STATE_KEY));
        assert!(!PathFilter::all().allows(crate::publish::LOCK_KEY));
    }
}
