//! `config.toml`: the site's settings. Parsing is pure (text in, [`Config`] out) and strict:
//! an unknown key is an error with its line and column, because a typo that is silently
//! ignored costs users more than a refusal.

use serde::{Deserialize, Serialize};

use crate::error::{line_col, Diagnostic};

/// The whole of `config.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The URL the site is served from, e.g. `https://example.com` or `https://example.com/docs`.
    pub base_url: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The language of the site's content (`lang` attribute, feeds).
    #[serde(default = "default_language")]
    pub language: String,
    /// The theme under `themes/`; `default` is also embedded in the binary.
    #[serde(default = "default_theme")]
    pub theme: String,
    /// Folder holding `content/`, `static/`, `data/` and `templates/`, relative to the root.
    #[serde(default = "default_source_dir")]
    pub source_dir: String,
    /// Where `sitegen build` writes the site, relative to the root.
    #[serde(default = "default_output_dir")]
    pub output_dir: String,
    /// Write Atom/RSS feeds of all pages (file names in `feed_filenames`).
    #[serde(default = "yes")]
    pub generate_feeds: bool,
    #[serde(default = "default_feed_filenames")]
    pub feed_filenames: Vec<String>,
    /// How many entries a feed holds (newest first); 0 means all.
    #[serde(default = "default_feed_limit")]
    pub feed_limit: usize,
    #[serde(default = "yes")]
    pub generate_sitemap: bool,
    #[serde(default = "yes")]
    pub generate_robots_txt: bool,
    #[serde(default)]
    pub taxonomies: Vec<TaxonomyConfig>,
    #[serde(default)]
    pub markdown: MarkdownConfig,
    /// Where fingerprinted assets are served from when not from `base_url`, e.g. a CDN host
    /// or a CloudFront path: `https://cdn.example.com/static`.
    #[serde(default)]
    pub assets_base_url: Option<String>,
    #[serde(default)]
    pub assets: AssetsConfig,
    /// Minify every HTML page (and the CSS/JS inside it).
    #[serde(default)]
    pub minify_html: bool,
    /// Set by `sitegen serve`, never by config.toml: integrity attributes are left empty so
    /// a stylesheet can be swapped in place while editing.
    #[serde(skip)]
    pub serve_mode: bool,
    /// Anything the templates want: `{{ config.extra.author }}`.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyConfig {
    /// The front matter key and URL segment, e.g. `tags` → `/tags/rust/`.
    pub name: String,
    /// Pages listed per page of a term page (`/tags/rust/`); 0 means one page.
    #[serde(default)]
    pub paginate_by: usize,
    /// Write `atom.xml` / `rss.xml` for each term.
    #[serde(default)]
    pub feed: bool,
}

/// Where heading anchor links go.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AnchorLinks {
    None,
    Left,
    Right,
    /// The whole heading text is the link.
    Heading,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MarkdownConfig {
    /// Highlight fenced code blocks that name a language.
    #[serde(default = "yes")]
    pub highlight_code: bool,
    /// A syntect theme name; its CSS is written to `/syntax-theme.css`.
    #[serde(default = "default_highlight_theme")]
    pub highlight_theme: String,
    /// Curly quotes, en/em dashes and ellipses.
    #[serde(default = "yes")]
    pub smart_punctuation: bool,
    #[serde(default = "default_anchor_links")]
    pub anchor_links: AnchorLinks,
    /// Add `target="_blank" rel="noopener"` to links that leave the site.
    #[serde(default)]
    pub external_links_target_blank: bool,
    /// Add `rel="nofollow"` to links that leave the site.
    #[serde(default)]
    pub external_links_no_follow: bool,
    /// Words per minute for `reading_time`.
    #[serde(default = "default_wpm")]
    pub words_per_minute: usize,
}

impl Default for MarkdownConfig {
    fn default() -> Self {
        MarkdownConfig {
            highlight_code: true,
            highlight_theme: default_highlight_theme(),
            smart_punctuation: true,
            anchor_links: default_anchor_links(),
            external_links_target_blank: false,
            external_links_no_follow: false,
            words_per_minute: default_wpm(),
        }
    }
}

/// The asset pipeline's settings (`[assets]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AssetsConfig {
    /// Give assets content-hashed names (`site.3f2a1b4c5d.css`).
    #[serde(default = "yes")]
    pub fingerprint: bool,
    /// Extensions (of the output file) that are fingerprinted.
    #[serde(default = "default_fingerprint_extensions")]
    pub fingerprint_extensions: Vec<String>,
    /// Globs (paths under `static/`) kept under their own name, e.g. files that other sites
    /// link to by a fixed URL.
    #[serde(default = "default_fingerprint_exclude")]
    pub fingerprint_exclude: Vec<String>,
    /// Hex characters of the hash in file names (8 to 64).
    #[serde(default = "default_hash_length")]
    pub hash_length: usize,
    #[serde(default = "yes")]
    pub minify_css: bool,
    #[serde(default)]
    pub minify_js: bool,
}

impl Default for AssetsConfig {
    fn default() -> Self {
        AssetsConfig {
            fingerprint: true,
            fingerprint_extensions: default_fingerprint_extensions(),
            fingerprint_exclude: default_fingerprint_exclude(),
            hash_length: default_hash_length(),
            minify_css: true,
            minify_js: false,
        }
    }
}

fn default_fingerprint_extensions() -> Vec<String> {
    [
        "css", "js", "mjs", "woff", "woff2", "ttf", "otf", "eot", "png", "jpg", "jpeg", "gif", "webp", "avif", "svg",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}
fn default_fingerprint_exclude() -> Vec<String> {
    ["favicon.*", "apple-touch-icon*", "**/.well-known/**", ".well-known/**"]
        .into_iter()
        .map(String::from)
        .collect()
}
fn default_hash_length() -> usize {
    10
}

fn yes() -> bool {
    true
}
fn default_language() -> String {
    "en".into()
}
fn default_theme() -> String {
    "default".into()
}
fn default_source_dir() -> String {
    "site".into()
}
fn default_output_dir() -> String {
    "public".into()
}
fn default_feed_filenames() -> Vec<String> {
    vec!["atom.xml".into(), "rss.xml".into()]
}
fn default_feed_limit() -> usize {
    20
}
fn default_highlight_theme() -> String {
    "InspiredGitHub".into()
}
fn default_anchor_links() -> AnchorLinks {
    AnchorLinks::Left
}
fn default_wpm() -> usize {
    200
}

pub const FEED_FORMATS: &[&str] = &["atom.xml", "rss.xml"];

impl Config {
    /// Parses `config.toml` text; `file` only names the file in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, Vec<Diagnostic>> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| vec![toml_diagnostic(file, text, &e)])?;
        cfg.base_url = cfg.base_url.trim_end_matches('/').to_string();
        let mut errs = Vec::new();
        if !(cfg.base_url.starts_with("http://")
            || cfg.base_url.starts_with("https://")
            || cfg.base_url.starts_with('/')
            || cfg.base_url.is_empty())
        {
            errs.push(Diagnostic::new(
                file,
                format!(
                    "`base_url` must start with `http://`, `https://` or `/`, got `{}`",
                    cfg.base_url
                ),
            ));
        }
        for f in &cfg.feed_filenames {
            if !FEED_FORMATS.contains(&f.as_str()) {
                errs.push(Diagnostic::new(
                    file,
                    format!("`feed_filenames` may hold `atom.xml` and `rss.xml`, got `{f}`"),
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &cfg.taxonomies {
            if t.name.is_empty() || t.name.contains('/') {
                errs.push(Diagnostic::new(
                    file,
                    format!("taxonomy name `{}` must be a non-empty URL segment", t.name),
                ));
            }
            if !seen.insert(&t.name) {
                errs.push(Diagnostic::new(
                    file,
                    format!("taxonomy `{}` is declared twice", t.name),
                ));
            }
        }
        if crate::markdown::Highlighter::theme_css(&cfg.markdown.highlight_theme).is_none() {
            errs.push(Diagnostic::new(
                file,
                format!(
                    "unknown `markdown.highlight_theme` `{}`; known themes: {}",
                    cfg.markdown.highlight_theme,
                    crate::markdown::Highlighter::theme_names().join(", ")
                ),
            ));
        }
        if !(8..=64).contains(&cfg.assets.hash_length) {
            errs.push(Diagnostic::new(
                file,
                format!(
                    "`assets.hash_length` must be between 8 and 64, got {}",
                    cfg.assets.hash_length
                ),
            ));
        }
        if let Some(b) = &cfg.assets_base_url {
            if !(b.starts_with("http://") || b.starts_with("https://") || b.starts_with('/')) {
                errs.push(Diagnostic::new(
                    file,
                    format!("`assets_base_url` must start with `http://`, `https://` or `/`, got `{b}`"),
                ));
            }
        }
        if errs.is_empty() {
            Ok(cfg)
        } else {
            Err(errs)
        }
    }

    /// The path part of `base_url` (`/docs` for `https://example.com/docs`), without a
    /// trailing slash; empty for a site at the root of its host.
    pub fn base_path(&self) -> &str {
        let rest = self
            .base_url
            .strip_prefix("https://")
            .or_else(|| self.base_url.strip_prefix("http://"));
        match rest {
            Some(r) => r.find('/').map(|i| &r[i..]).unwrap_or(""),
            None => self.base_url.as_str(),
        }
    }

    /// The absolute URL of a site path (`/blog/` → `https://example.com/blog/`).
    pub fn permalink(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// Turns a TOML error into a diagnostic with the line and column of its span.
pub fn toml_diagnostic(file: &str, text: &str, e: &toml::de::Error) -> Diagnostic {
    let msg = e.message().trim().lines().map(str::trim).collect::<Vec<_>>().join("; ");
    match e.span() {
        Some(span) => {
            let (l, c) = line_col(text, span.start);
            Diagnostic::at(file, l, c, msg)
        }
        None => Diagnostic::new(file, msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_path_of_subfolder_site() {
        let c = Config::parse("config.toml", "base_url = \"https://example.com/docs/\"").unwrap();
        assert_eq!(c.base_url, "https://example.com/docs");
        assert_eq!(c.base_path(), "/docs");
        let c = Config::parse("config.toml", "base_url = \"https://example.com\"").unwrap();
        assert_eq!(c.base_path(), "");
    }

    #[test]
    fn unknown_key_has_position() {
        let err = Config::parse("config.toml", "base_url = \"/\"\ntitel = \"x\"\n").unwrap_err();
        assert_eq!(err[0].line, Some(2));
        assert!(err[0].message.contains("unknown field `titel`"), "{}", err[0].message);
    }
}
