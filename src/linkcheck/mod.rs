//! `sitegen check --external`: every external URL of the output checked once. Planned, then
//! applied, then reported, as `publish` is: [`plan`] is pure (the skip list, the cached
//! results still fresh at the time it is given, what is left to request); `http.rs` is the
//! network edge (concurrent requests, at most `per_host` at once to one host, HEAD then GET,
//! redirects followed up to a bound, a timeout per request); `cache.rs` keeps results under
//! `.sitegen/` by URL; [`report`] turns the dead ones into diagnostics at every place the
//! URL appears (the Markdown line, or the output file when a template wrote it).

pub mod cache;
pub mod http;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::build::LinkSite;
use crate::config::LinkCheckerConfig;
use crate::error::Diagnostic;

/// What one request (or chain of requests) found out about a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It answered with this success status (after redirects).
    Alive(u16),
    /// It answered with an error status, too many redirects, or not at all (why, for the
    /// message: `404 Not Found`, `timed out after 10s`, `connection reset`).
    Dead(String),
    /// It would not say (`429 Too Many Requests`): reported, not counted as dead, not cached.
    Unknown(String),
}

/// What a check will do: URLs to request, results taken from the cache, URLs skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckPlan {
    pub request: Vec<String>,
    pub cached: BTreeMap<String, Outcome>,
    pub skipped: Vec<String>,
}

/// Decides, for every external URL, whether to skip it (`link_checker.skip`), take its
/// result from `cache` (checked less than `cache_for` seconds before `now`), or request it.
pub fn plan(
    urls: &BTreeMap<String, Vec<LinkSite>>,
    config: &LinkCheckerConfig,
    cache: &cache::LinkCache,
    now: u64,
) -> CheckPlan {
    let mut skip = globset::GlobSetBuilder::new();
    for g in &config.skip {
        // `Config::parse` checked the globs.
        if let Ok(g) = globset::GlobBuilder::new(g).literal_separator(false).build() {
            skip.add(g);
        }
    }
    let skip = skip.build().unwrap_or_else(|_| globset::GlobSet::empty());
    let cache_for = crate::config::parse_duration(&config.cache_for).unwrap_or(0);
    let mut p = CheckPlan::default();
    for url in urls.keys() {
        if skip.is_match(url) {
            p.skipped.push(url.clone());
        } else if let Some(hit) = cache.fresh(url, now, cache_for) {
            p.cached.insert(url.clone(), hit.clone());
        } else {
            p.request.push(url.clone());
        }
    }
    p
}

/// Every dead URL at every place it appears (errors), and those that would not say
/// (warnings).
pub fn report(
    urls: &BTreeMap<String, Vec<LinkSite>>,
    results: &BTreeMap<String, Outcome>,
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut dead = Vec::new();
    let mut unknown = Vec::new();
    for (url, outcome) in results {
        let (list, message) = match outcome {
            Outcome::Alive(_) => continue,
            Outcome::Dead(why) => (&mut dead, format!("dead external link `{url}`: {why}")),
            Outcome::Unknown(why) => (&mut unknown, format!("external link `{url}` not checked: {why}")),
        };
        for site in urls.get(url).into_iter().flatten() {
            list.push(site.diagnostic(message.clone()));
        }
    }
    (dead, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites(urls: &[&str]) -> BTreeMap<String, Vec<LinkSite>> {
        urls.iter()
            .map(|u| {
                (
                    u.to_string(),
                    vec![LinkSite {
                        file: "site/content/a.md".into(),
                        position: Some((3, 5)),
                    }],
                )
            })
            .collect()
    }

    #[test]
    fn skipped_cached_and_requested() {
        let urls = sites(&[
            "https://example.com/a",
            "https://example.org/fresh",
            "https://example.org/stale",
        ]);
        let config = LinkCheckerConfig {
            skip: vec!["https://example.com/*".into()],
            cache_for: "1h".into(),
            ..Default::default()
        };
        let mut cache = cache::LinkCache::default();
        cache.record("https://example.org/fresh", &Outcome::Alive(200), 10_000);
        cache.record("https://example.org/stale", &Outcome::Alive(200), 10_000 - 3_601);
        let p = plan(&urls, &config, &cache, 10_000);
        assert_eq!(p.skipped, vec!["https://example.com/a"]);
        assert_eq!(p.cached.keys().collect::<Vec<_>>(), vec!["https://example.org/fresh"]);
        assert_eq!(p.request, vec!["https://example.org/stale"]);
    }

    #[test]
    fn dead_links_reported_where_they_are() {
        let urls = sites(&["https://example.org/gone", "https://example.org/ok"]);
        let results = BTreeMap::from([
            (
                "https://example.org/gone".to_string(),
                Outcome::Dead("404 Not Found".into()),
            ),
            ("https://example.org/ok".to_string(), Outcome::Alive(200)),
        ]);
        let (dead, unknown) = report(&urls, &results);
        assert!(unknown.is_empty());
        assert_eq!(
            dead.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            vec!["site/content/a.md:3:5: dead external link `https://example.org/gone`: 404 Not Found"]
        );
    }
}
