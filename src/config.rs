//! `config.toml`: the site's settings. Parsing is pure (text in, [`Config`] out) and strict:
//! an unknown key is an error with its line and column, because a typo that is silently
//! ignored costs users more than a refusal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{line_col, Diagnostic};
use crate::paths::Slugify;

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
    /// The default language: its content is at the site's root (`lang` attribute, feeds).
    #[serde(default = "default_language")]
    pub language: String,
    /// The other languages (`[languages.fr]`), each under its own URL prefix (`/fr/`). A
    /// table for the default language itself may give its translations and `dir`.
    #[serde(default)]
    pub languages: BTreeMap<String, LanguageConfig>,
    /// UI strings of the default language for `trans()` (`[translations]`, as in Zola).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, String>,
    /// The theme under `themes/`; `default` is also embedded in the binary.
    #[serde(default = "default_theme")]
    pub theme: String,
    /// Folder holding `content/`, `static/`, `data/`, `templates/` and `originals/`, relative
    /// to the root.
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
    /// How file and folder names, taxonomy terms and headings become URL segments and
    /// anchors (`[slugify]`, with Zola's keys and strategies).
    #[serde(default)]
    pub slugify: SlugifyConfig,
    /// Where fingerprinted assets are served from when not from `base_url`, e.g. a CDN host
    /// or a CloudFront path: `https://cdn.example.com/static`.
    #[serde(default)]
    pub assets_base_url: Option<String>,
    #[serde(default)]
    pub assets: AssetsConfig,
    /// Minify every HTML page (and the CSS/JS inside it).
    #[serde(default)]
    pub minify_html: bool,
    /// Read files that symbolic links point to outside the site folder (and the theme's).
    /// Off, such a link is an error: a site built from an untrusted checkout cannot publish
    /// the machine's files (`static/leak.txt -> /etc/passwd`).
    #[serde(default)]
    pub follow_symlinks_outside: bool,
    /// The image pipeline (`[images]`): quality per format, Markdown images, cache, limits.
    #[serde(default)]
    pub images: ImagesConfig,
    /// `sitegen check --external` (`[link_checker]`): what to skip, how long results are kept.
    #[serde(default)]
    pub link_checker: LinkCheckerConfig,
    /// Where processed images are cached, resolved against the site root by the CLI from
    /// `images.cache_dir`; `None` keeps the cache in memory only (tests, `check`).
    #[serde(skip)]
    pub image_cache: Option<std::path::PathBuf>,
    /// The file this config was read from, as messages show it (`config.toml`, or what
    /// `--config` named).
    #[serde(skip)]
    pub file: String,
    /// Set by `sitegen serve`, never by config.toml: integrity attributes are left empty so
    /// a stylesheet can be swapped in place while editing.
    #[serde(skip)]
    pub serve_mode: bool,
    /// Anything the templates want: `{{ config.extra.author }}`.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Where `sitegen publish` ships the output (`[[deploy.targets]]`).
    #[serde(default, skip_serializing_if = "DeployConfig::is_empty")]
    pub deploy: DeployConfig,
    /// The built-in search index (`[search]`), off by default.
    #[serde(default)]
    pub search: SearchConfig,
}

/// `[search]`: whether the build writes a search index, of what, and how it ranks.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// Write `search/LANG.json` and its fragments, and show the theme's search box.
    #[serde(default)]
    pub enabled: bool,
    /// Content folders whose pages are indexed (`["docs", "blog"]`); empty means all.
    #[serde(default)]
    pub sections: Vec<String>,
    /// How much a match in each field counts; 0 leaves the field out of the index.
    #[serde(default)]
    pub fields: SearchFields,
    /// Words of page text kept for each result's excerpt.
    #[serde(default = "default_excerpt_length")]
    pub excerpt_length: usize,
    /// Extra index formats for themes written for Zola: `elasticlunr_json`,
    /// `elasticlunr_javascript`.
    #[serde(default)]
    pub zola_compat: Vec<String>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            enabled: false,
            sections: Vec::new(),
            fields: SearchFields::default(),
            excerpt_length: default_excerpt_length(),
            zola_compat: Vec::new(),
        }
    }
}

/// `[search.fields]`: the weight of a match in each field of a page.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SearchFields {
    pub title: u32,
    pub description: u32,
    pub headings: u32,
    pub body: u32,
}

impl Default for SearchFields {
    fn default() -> Self {
        SearchFields {
            title: 10,
            description: 4,
            headings: 3,
            body: 1,
        }
    }
}

/// The formats `[search] zola_compat` may name.
pub const ZOLA_SEARCH_FORMATS: &[&str] = &["elasticlunr_json", "elasticlunr_javascript"];

fn default_excerpt_length() -> usize {
    30
}

/// `[deploy]`: the publish targets of the site.
/// `[slugify]`: `on` (transliterate, lowercase, `-`), `safe` (as written, less what cannot be
/// in a file name) or `off` (as written), per kind of name.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SlugifyConfig {
    /// File names (and `slug` in front matter) in page URLs.
    pub paths: Slugify,
    /// Keep a file name's `2024-01-31-` prefix in its slug (it gives the page's date either way).
    pub paths_keep_dates: bool,
    /// Folder names under `content/` in URLs. sitegen's default is `on`; Zola keeps folder
    /// names as written (`off`), which `sitegen import zola` sets.
    pub dirs: Slugify,
    /// Taxonomy names and terms in URLs.
    pub taxonomies: Slugify,
    /// Heading ids made from the heading's text.
    pub anchors: Slugify,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    #[serde(default)]
    pub targets: Vec<DeployTarget>,
}

impl DeployConfig {
    fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// One `[[deploy.targets]]`: a bucket and key prefix, the CloudFront distributions in front of
/// it, which files go there with which headers, and the safety limits of a publish.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeployTarget {
    /// What `--target NAME` selects, e.g. `staging` or `production`.
    pub name: String,
    pub bucket: String,
    /// Key prefix every object of this target lives under: empty (the whole bucket) or a
    /// folder ending in `/`, e.g. `static/`.
    #[serde(default)]
    pub prefix: String,
    /// AWS region of the bucket; the standard chain (`AWS_REGION`, profile) when missing.
    #[serde(default)]
    pub region: Option<String>,
    /// An S3-compatible endpoint URL instead of AWS's (e.g. `http://127.0.0.1:9000`).
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub cloudfront_distribution_ids: Vec<String>,
    /// The URL path under which the distributions serve `prefix` (e.g. `/static/` for a
    /// `/static/*` behaviour); defaults to `/` + `prefix`.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Globs (relative to the output folder) of the files to publish; empty means all.
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs of files neither uploaded nor deleted.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Above this many deletes, a publish deletes nothing.
    #[serde(default = "default_max_deletes")]
    pub max_deletes: usize,
    /// Uploads in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// More invalidation paths than this are collapsed into wildcards.
    #[serde(default = "default_max_invalidation_paths")]
    pub max_invalidation_paths: usize,
    /// Keep fingerprinted files that a new build no longer has for this long (`7d`, `12h`,
    /// `30m`, `0`), so pages cached before the publish keep working.
    #[serde(default)]
    pub keep_superseded: Option<String>,
    /// Files at least this large (in MiB) are uploaded in parts.
    #[serde(default = "default_multipart_threshold_mib")]
    pub multipart_threshold_mib: u64,
    /// Take the publish lock (`PREFIX.sitegen-lock.json`, created with S3 conditional writes)
    /// so two publishes to this target never interleave. Off only for servers without
    /// conditional writes, and then nothing keeps two publishes apart.
    #[serde(default = "yes")]
    pub lock: bool,
    /// How long the lock lasts unless its holder renews it (it does, while it runs): after a
    /// killed run, the next one waits at most this long.
    #[serde(default = "default_lock_lease")]
    pub lock_lease: String,
    /// How long a publish waits for another one's lock before it gives up (`0`: at once).
    #[serde(default = "default_lock_wait")]
    pub lock_wait: String,
    /// Headers by glob; later rules win.
    #[serde(default)]
    pub rules: Vec<DeployRule>,
    /// Replaces the site's `base_url` in `sitegen build --target NAME`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Merged over the site's `[extra]` in `sitegen build --target NAME`.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A `[[deploy.targets.rules]]` entry: headers for the files matching `glob`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeployRule {
    pub glob: String,
    #[serde(default)]
    pub cache_control: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    /// `gzip` or `br` for files that are stored precompressed.
    #[serde(default)]
    pub content_encoding: Option<String>,
    /// An S3 website redirect: a URL or path, or `alias` to take it from the `http-equiv`
    /// refresh of an alias page.
    #[serde(default)]
    pub website_redirect: Option<String>,
}

/// One `[languages.CODE]` table: what differs for the content in that language.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LanguageConfig {
    /// The language's name as its readers write it (`Français`), for language switchers;
    /// known for common codes.
    #[serde(default)]
    pub name: Option<String>,
    /// The site's title in this language (`config.title` in its pages); the site's otherwise.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The URL prefix of this language's content (`fr` → `/fr/…`); the code when not given.
    #[serde(default)]
    pub path: Option<String>,
    /// Feeds of this language's pages (`/fr/atom.xml`); the site's `generate_feeds` when not given.
    #[serde(default)]
    pub generate_feeds: Option<bool>,
    /// The taxonomies of this language's pages; the site's when not given.
    #[serde(default)]
    pub taxonomies: Option<Vec<TaxonomyConfig>>,
    /// `ltr` or `rtl`; from the language code when not given (Arabic, Hebrew, Persian, Urdu… are `rtl`).
    #[serde(default)]
    pub dir: Option<TextDir>,
    /// Merged over the site's `[extra]` for this language's pages.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// UI strings for `trans()` (`[languages.fr.translations]`); they win over `i18n/fr.toml`.
    #[serde(default)]
    pub translations: BTreeMap<String, String>,
    /// `false` leaves this language's pages out of the search index (and its pages without
    /// a search box); the site's `[search] enabled` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<bool>,
}

/// The writing direction of a language.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TextDir {
    Ltr,
    Rtl,
}

/// A language of the site, with its settings resolved (see [`Config::site_languages`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Language {
    pub code: String,
    /// Its own name for itself (`Français`), or the code when sitegen does not know it.
    pub name: String,
    /// The URL prefix: `""` for the default language, `/fr` for the others.
    pub prefix: String,
    pub title: String,
    pub description: String,
    pub generate_feeds: bool,
    pub taxonomies: Vec<TaxonomyConfig>,
    pub rtl: bool,
    pub is_default: bool,
}

/// Primary language subtags written right to left.
const RTL_LANGUAGES: &[&str] = &[
    "ar", "arc", "ckb", "dv", "fa", "ha", "he", "iw", "khw", "ks", "ku", "ps", "sd", "syr", "ug", "ur", "yi",
];

/// What common languages call themselves, for language switchers.
const NATIVE_NAMES: &[(&str, &str)] = &[
    ("ar", "العربية"),
    ("bg", "Български"),
    ("ca", "Català"),
    ("cs", "Čeština"),
    ("da", "Dansk"),
    ("de", "Deutsch"),
    ("el", "Ελληνικά"),
    ("en", "English"),
    ("eo", "Esperanto"),
    ("es", "Español"),
    ("et", "Eesti"),
    ("fa", "فارسی"),
    ("fi", "Suomi"),
    ("fr", "Français"),
    ("he", "עברית"),
    ("hi", "हिन्दी"),
    ("hu", "Magyar"),
    ("id", "Bahasa Indonesia"),
    ("it", "Italiano"),
    ("ja", "日本語"),
    ("ko", "한국어"),
    ("lt", "Lietuvių"),
    ("lv", "Latviešu"),
    ("nb", "Norsk bokmål"),
    ("nl", "Nederlands"),
    ("no", "Norsk"),
    ("pl", "Polski"),
    ("pt", "Português"),
    ("ro", "Română"),
    ("ru", "Русский"),
    ("sk", "Slovenčina"),
    ("sl", "Slovenščina"),
    ("sr", "Српски"),
    ("sv", "Svenska"),
    ("th", "ไทย"),
    ("tr", "Türkçe"),
    ("uk", "Українська"),
    ("ur", "اردو"),
    ("vi", "Tiếng Việt"),
    ("zh", "中文"),
];

/// What language `code` calls itself (`fr` → `Français`), by its primary subtag.
pub fn native_name(code: &str) -> Option<&'static str> {
    let primary = code.split(['-', '_']).next().unwrap_or(code).to_ascii_lowercase();
    NATIVE_NAMES.iter().find(|(c, _)| *c == primary).map(|(_, n)| *n)
}

/// Whether a language code (`ar`, `fa-IR`, `he`) is written right to left.
pub fn is_rtl(code: &str) -> bool {
    let primary = code.split(['-', '_']).next().unwrap_or(code).to_ascii_lowercase();
    RTL_LANGUAGES.contains(&primary.as_str())
}

/// Whether `code` has the shape of a language tag: `fr`, `zh-Hans`, `pt-BR`, `es-419`.
pub fn is_language_tag(code: &str) -> bool {
    let mut parts = code.split('-');
    let first = parts.next().unwrap_or("");
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
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
    /// A theme name (bat's themes); its CSS is written to `/syntax-theme.css`.
    #[serde(default = "default_highlight_theme")]
    pub highlight_theme: String,
    /// A second theme for readers whose system is in dark mode: `/syntax-theme.css` has it
    /// under `@media (prefers-color-scheme: dark)`.
    #[serde(default)]
    pub highlight_theme_dark: Option<String>,
    /// `classes` (spans with `hl-*` classes, coloured by `/syntax-theme.css`) or `inline`
    /// (the light theme's colours in `style` attributes, for feeds and e-mail).
    #[serde(default)]
    pub highlight_style: HighlightStyle,
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
    /// GitHub's alerts (`> [!NOTE]`) become `<blockquote class="markdown-alert-note">`.
    #[serde(default = "yes")]
    pub github_alerts: bool,
    /// Relative links to Markdown files (`other.md#x`) go to that page's URL, and a missing
    /// file is an error. Off, they stay as written (Zola's rule; the Zola import sets it).
    #[serde(default = "yes")]
    pub markdown_file_links: bool,
    /// How shortcode calls are found: `sitegen` (not in code; code shows calls as written)
    /// or `zola` (everywhere, code included, and `{{/* … */}}` is an escape only around a
    /// well-formed call), which `sitegen import zola` sets.
    #[serde(default)]
    pub shortcode_rules: ShortcodeRules,
    /// TeX math to MathML at build time: `$…$` inline, `$$…$$` display and fenced ` ```math `
    /// blocks. Off by default, so a `$` in prose (`$5 or $10`) stays text unless asked.
    #[serde(default)]
    pub math: bool,
    /// GitHub's emoji aliases (`:smile:` → 😄) in text, not in code.
    #[serde(default)]
    pub emoji: bool,
}

/// See [`MarkdownConfig::highlight_style`].
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HighlightStyle {
    #[default]
    Classes,
    Inline,
}

/// See [`MarkdownConfig::shortcode_rules`].
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ShortcodeRules {
    #[default]
    Sitegen,
    Zola,
}

impl Default for MarkdownConfig {
    fn default() -> Self {
        MarkdownConfig {
            highlight_code: true,
            highlight_theme: default_highlight_theme(),
            highlight_theme_dark: None,
            highlight_style: HighlightStyle::Classes,
            smart_punctuation: true,
            anchor_links: default_anchor_links(),
            external_links_target_blank: false,
            external_links_no_follow: false,
            words_per_minute: default_wpm(),
            github_alerts: true,
            markdown_file_links: true,
            shortcode_rules: ShortcodeRules::Sitegen,
            math: false,
            emoji: false,
        }
    }
}

/// `[link_checker]`: how `sitegen check --external` checks the external URLs of the output.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LinkCheckerConfig {
    /// Globs of URLs never requested (`https://example.com/*`, `*://localhost*`).
    pub skip: Vec<String>,
    /// How long a result is kept in `.sitegen/links.json` (`1d`, `12h`; `0` checks every URL
    /// every time).
    pub cache_for: String,
    /// How long one request may take (`10s`).
    pub timeout: String,
    /// Requests at once, in total.
    pub concurrency: usize,
    /// Requests at once to one host.
    pub per_host: usize,
    /// Redirects followed before a URL counts as dead.
    pub max_redirects: usize,
}

impl Default for LinkCheckerConfig {
    fn default() -> Self {
        LinkCheckerConfig {
            skip: Vec::new(),
            cache_for: "1d".into(),
            timeout: "10s".into(),
            concurrency: 16,
            per_host: 2,
            max_redirects: 10,
        }
    }
}

impl MarkdownConfig {
    /// The highlighting themes: light, then dark when there is one.
    pub fn highlight_themes(&self) -> Vec<&str> {
        std::iter::once(self.highlight_theme.as_str())
            .chain(self.highlight_theme_dark.as_deref())
            .collect()
    }
}

/// The image pipeline's settings (`[images]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImagesConfig {
    /// Quality (1 to 100) of JPEG outputs when a call gives none.
    #[serde(default = "default_jpeg_quality")]
    pub jpeg_quality: u8,
    /// Quality (1 to 100) of lossy WebP outputs.
    #[serde(default = "default_webp_quality")]
    pub webp_quality: u8,
    /// Quality (1 to 100) of AVIF outputs.
    #[serde(default = "default_avif_quality")]
    pub avif_quality: u8,
    /// AVIF encoder speed, 1 (slowest, smallest) to 10 (fastest).
    #[serde(default = "default_avif_speed")]
    pub avif_speed: u8,
    /// Widths of the `srcset` given to Markdown images of local files (widths at or above
    /// the image's own are left out; the original is always a candidate). `[]` turns the
    /// `srcset` off; `width`/`height` are still added.
    #[serde(default = "default_markdown_widths")]
    pub markdown_widths: Vec<u32>,
    /// The `sizes` attribute of Markdown images that get a `srcset`.
    #[serde(default = "default_markdown_sizes")]
    pub markdown_sizes: String,
    /// `loading="lazy"` and `decoding="async"` on Markdown images.
    #[serde(default = "yes")]
    pub markdown_lazy: bool,
    /// Images are decoded only when width x height is at most this (a header that claims
    /// 50,000 x 50,000 pixels is refused before any memory is taken). About 4 bytes of memory
    /// per pixel are needed while an image is processed.
    #[serde(default = "default_max_pixels")]
    pub max_pixels: u64,
    /// The processed-image cache, relative to the site root.
    #[serde(default = "default_image_cache_dir")]
    pub cache_dir: String,
    /// After a build, least recently used cache entries not used by that build are removed
    /// until the cache is at most this many megabytes.
    #[serde(default = "default_cache_max_mb")]
    pub cache_max_mb: u64,
    /// Publish the JPEG, PNG and WebP files of `static/` and `content/` without their EXIF,
    /// XMP, IPTC and text chunks (GPS position, camera serial, software), copied losslessly
    /// with the ICC profile and the orientation kept; `false` publishes them byte for byte.
    #[serde(default = "yes")]
    pub strip_metadata: bool,
    /// A cache shared by several machines on S3 (or any S3-compatible server), looked up
    /// after the local one; none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_cache: Option<RemoteCacheConfig>,
}

/// `[images] remote_cache`: a bucket and prefix on S3 or any S3-compatible server that
/// shares processed images between machines (a team, a CI fleet), looked up after the local
/// cache and filled with put-if-absent. Credentials come from the standard AWS chain.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemoteCacheConfig {
    pub bucket: String,
    /// Key prefix of the entries: empty (the whole bucket) or a folder ending in `/`, e.g. `img/`.
    #[serde(default)]
    pub prefix: String,
    /// AWS region of the bucket; the standard chain (`AWS_REGION`, profile) when missing.
    #[serde(default)]
    pub region: Option<String>,
    /// An S3-compatible endpoint URL instead of AWS's (e.g. `http://127.0.0.1:9000`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Look entries up but never upload (runners with read-only credentials).
    #[serde(default)]
    pub read_only: bool,
    /// Requests in flight at once.
    #[serde(default = "default_remote_concurrency")]
    pub concurrency: usize,
}

fn default_remote_concurrency() -> usize {
    16
}

impl Default for ImagesConfig {
    fn default() -> Self {
        ImagesConfig {
            jpeg_quality: default_jpeg_quality(),
            webp_quality: default_webp_quality(),
            avif_quality: default_avif_quality(),
            avif_speed: default_avif_speed(),
            markdown_widths: default_markdown_widths(),
            markdown_sizes: default_markdown_sizes(),
            markdown_lazy: true,
            max_pixels: default_max_pixels(),
            cache_dir: default_image_cache_dir(),
            cache_max_mb: default_cache_max_mb(),
            strip_metadata: true,
            remote_cache: None,
        }
    }
}

fn default_jpeg_quality() -> u8 {
    75
}
fn default_webp_quality() -> u8 {
    75
}
fn default_avif_quality() -> u8 {
    60
}
fn default_avif_speed() -> u8 {
    8
}
fn default_markdown_widths() -> Vec<u32> {
    vec![480, 960, 1600]
}
fn default_markdown_sizes() -> String {
    "(min-width: 50rem) 50rem, 100vw".to_string()
}
fn default_max_pixels() -> u64 {
    100_000_000
}
fn default_image_cache_dir() -> String {
    ".sitegen/cache".to_string()
}
fn default_cache_max_mb() -> u64 {
    2048
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
fn default_max_deletes() -> usize {
    250
}
fn default_concurrency() -> usize {
    16
}
fn default_lock_lease() -> String {
    "5m".into()
}
fn default_lock_wait() -> String {
    "0".into()
}
fn default_max_invalidation_paths() -> usize {
    15
}
fn default_multipart_threshold_mib() -> u64 {
    64
}

pub const FEED_FORMATS: &[&str] = &["atom.xml", "rss.xml", "feed.json"];

impl Config {
    /// Parses `config.toml` text; `file` only names the file in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, Vec<Diagnostic>> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| vec![toml_diagnostic(file, text, &e)])?;
        cfg.file = file.to_string();
        cfg.base_url = cfg.base_url.trim_end_matches('/').to_string();
        let keys = Keys::new(file, text);
        let mut errs = Vec::new();
        if !(cfg.base_url.starts_with("http://")
            || cfg.base_url.starts_with("https://")
            || cfg.base_url.starts_with('/')
            || cfg.base_url.is_empty())
        {
            errs.push(keys.at(
                &["base_url"],
                format!(
                    "`base_url` must start with `http://`, `https://` or `/`, got `{}`",
                    cfg.base_url
                ),
            ));
        }
        for f in &cfg.feed_filenames {
            if !FEED_FORMATS.contains(&f.as_str()) {
                errs.push(keys.at(
                    &["feed_filenames"],
                    format!("`feed_filenames` may hold `atom.xml`, `rss.xml` and `feed.json`, got `{f}`"),
                ));
            }
        }
        errs.extend(validate_taxonomies(&keys, &[], &cfg.taxonomies));
        errs.extend(validate_languages(&keys, &cfg));
        errs.extend(validate_link_checker(&keys, &cfg.link_checker));
        let themes = [
            ("highlight_theme", Some(&cfg.markdown.highlight_theme)),
            ("highlight_theme_dark", cfg.markdown.highlight_theme_dark.as_ref()),
        ];
        for (key, name) in themes {
            let Some(name) = name else { continue };
            if crate::highlight::Highlighter::theme_css(name).is_none() {
                errs.push(keys.at(
                    &["markdown", key],
                    format!(
                        "unknown `markdown.{key}` `{name}`; known themes: {}",
                        crate::highlight::Highlighter::theme_names().join(", ")
                    ),
                ));
            }
        }
        if !(8..=64).contains(&cfg.assets.hash_length) {
            errs.push(keys.at(
                &["assets", "hash_length"],
                format!(
                    "`assets.hash_length` must be between 8 and 64, got {}",
                    cfg.assets.hash_length
                ),
            ));
        }
        if let Some(b) = &cfg.assets_base_url {
            if !(b.starts_with("http://") || b.starts_with("https://") || b.starts_with('/')) {
                errs.push(keys.at(
                    &["assets_base_url"],
                    format!("`assets_base_url` must start with `http://`, `https://` or `/`, got `{b}`"),
                ));
            }
        }
        errs.extend(validate_targets(&keys, &cfg.deploy.targets));
        if let Some(r) = &cfg.images.remote_cache {
            errs.extend(validate_remote_cache(&keys, r));
        }
        errs.extend(validate_search(&keys, &cfg));
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

    /// The deploy target called `name`, or the only one when `name` is `None`.
    pub fn target(&self, name: Option<&str>) -> Result<&DeployTarget, String> {
        let names = || {
            self.deploy
                .targets
                .iter()
                .map(|t| format!("`{}`", t.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(n) => self.deploy.targets.iter().find(|t| t.name == n).ok_or_else(|| {
                if self.deploy.targets.is_empty() {
                    format!("no deploy target `{n}`: the config has no `[[deploy.targets]]`")
                } else {
                    format!("no deploy target `{n}`; the config has {}", names())
                }
            }),
            None => match self.deploy.targets.as_slice() {
                [only] => Ok(only),
                [] => Err("the config has no `[[deploy.targets]]`; see the publishing docs".into()),
                _ => Err(format!(
                    "the config has several deploy targets ({}); choose one with `--target NAME`",
                    names()
                )),
            },
        }
    }

    /// Applies a target's `base_url` and `extra` (merged over the site's) for
    /// `sitegen build --target NAME`.
    pub fn apply_target(&mut self, name: &str) -> Result<(), String> {
        let t = self.target(Some(name))?.clone();
        if let Some(b) = &t.base_url {
            self.base_url = b.trim_end_matches('/').to_string();
        }
        for (k, v) in t.extra {
            self.extra.insert(k, v);
        }
        Ok(())
    }

    /// Whether the site has languages besides the default one.
    pub fn is_multilingual(&self) -> bool {
        self.languages.keys().any(|c| *c != self.language)
    }

    /// Every language of the site, the default first, then the others by code.
    pub fn site_languages(&self) -> Vec<Language> {
        let resolve = |code: &str, l: Option<&LanguageConfig>, is_default: bool| {
            let l = l.cloned().unwrap_or_default();
            Language {
                code: code.to_string(),
                name: l
                    .name
                    .clone()
                    .or_else(|| native_name(code).map(String::from))
                    .unwrap_or_else(|| code.to_string()),
                prefix: if is_default {
                    String::new()
                } else {
                    format!("/{}", l.path.as_deref().unwrap_or(code).trim_matches('/'))
                },
                title: l.title.unwrap_or_else(|| self.title.clone()),
                description: l.description.unwrap_or_else(|| self.description.clone()),
                generate_feeds: l.generate_feeds.unwrap_or(self.generate_feeds),
                taxonomies: l.taxonomies.unwrap_or_else(|| self.taxonomies.clone()),
                rtl: match l.dir {
                    Some(d) => d == TextDir::Rtl,
                    None => is_rtl(code),
                },
                is_default,
            }
        };
        let mut v = vec![resolve(&self.language, self.languages.get(&self.language), true)];
        v.extend(
            self.languages
                .iter()
                .filter(|(c, _)| **c != self.language)
                .map(|(c, l)| resolve(c, Some(l), false)),
        );
        v
    }

    /// Whether the site's language `code` is written right to left (its `dir`, else its code).
    pub fn is_rtl_language(&self, code: &str) -> bool {
        match self.languages.get(code).and_then(|l| l.dir) {
            Some(d) => d == TextDir::Rtl,
            None => is_rtl(code),
        }
    }

    /// Whether the build writes a search index of language `code`'s pages.
    pub fn search_enabled(&self, code: &str) -> bool {
        self.search.enabled && self.languages.get(code).and_then(|l| l.search) != Some(false)
    }

    /// The language `code` of the site, if it has it.
    pub fn site_language(&self, code: &str) -> Option<Language> {
        self.site_languages().into_iter().find(|l| l.code == code)
    }

    /// The absolute URL of a site path (`/blog/` → `https://example.com/blog/`).
    pub fn permalink(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// Parses a duration such as `7d`, `12h`, `30m`, `45s`, `1h 30m` or `0` into seconds
/// (humantime's units: `s`, `m`, `h`, `d`, `w` and their long names).
pub fn parse_duration(text: &str) -> Option<u64> {
    match text.trim() {
        "0" => Some(0),
        t => humantime::parse_duration(t).ok().map(|d| d.as_secs()),
    }
}

/// Why a key prefix is unsafe, if it is: a publish lists and deletes everything that starts
/// with the prefix, so `static` would also reach `static-old/` and `statics.txt`.
pub fn prefix_problem(prefix: &str) -> Option<String> {
    if prefix.is_empty() {
        return None;
    }
    if !prefix.ends_with('/') {
        return Some(format!(
            "`prefix` `{prefix}` must end with `/` (`{prefix}/`): otherwise it also matches keys such as `{prefix}-old/…`, which a publish would delete"
        ));
    }
    if prefix.starts_with('/') {
        return Some(format!(
            "`prefix` `{prefix}` must not start with `/` (S3 keys have no leading slash)"
        ));
    }
    let body = &prefix[..prefix.len() - 1];
    if body.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Some(format!(
            "`prefix` `{prefix}` has an empty, `.` or `..` segment; write it as plain folder names ending in `/`"
        ));
    }
    None
}

fn validate_taxonomies(keys: &Keys<'_>, under: &[&str], taxonomies: &[TaxonomyConfig]) -> Vec<Diagnostic> {
    let mut errs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, t) in taxonomies.iter().enumerate() {
        let i = i.to_string();
        let path: Vec<&str> = under.iter().copied().chain(["taxonomies", &i, "name"]).collect();
        let at = |msg: String| keys.at(&path, msg);
        if t.name.is_empty() || t.name.contains('/') {
            errs.push(at(format!(
                "taxonomy name `{}` must be a non-empty URL segment",
                t.name
            )));
        }
        if !seen.insert(&t.name) {
            errs.push(at(format!("taxonomy `{}` is declared twice", t.name)));
        }
    }
    errs
}

fn validate_languages(keys: &Keys<'_>, cfg: &Config) -> Vec<Diagnostic> {
    let mut errs = Vec::new();
    if !is_language_tag(&cfg.language) {
        errs.push(keys.at(
            &["language"],
            format!(
                "`language` `{}` is not a language code such as `en`, `pt-BR` or `zh-Hans`",
                cfg.language
            ),
        ));
    }
    let mut prefixes = BTreeMap::new();
    for (code, l) in &cfg.languages {
        let at = |key: &str, msg: String| keys.at(&["languages", code, key], msg);
        if !is_language_tag(code) {
            errs.push(keys.at(
                &["languages", code],
                format!("`[languages.{code}]`: `{code}` is not a language code such as `fr`, `pt-BR` or `zh-Hans`"),
            ));
            continue;
        }
        if *code == cfg.language {
            if l.path.as_deref().is_some_and(|p| !p.trim_matches('/').is_empty()) {
                errs.push(at(
                    "path",
                    format!("`languages.{code}.path`: the default language is at the root of the site"),
                ));
            }
            continue;
        }
        let prefix = l.path.clone().unwrap_or_else(|| code.clone());
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() || prefix.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
            errs.push(at(
                "path",
                format!("`languages.{code}.path` must be a URL path such as `{code}`, got `{prefix}`"),
            ));
        } else if let Some(other) = prefixes.insert(prefix.to_string(), code) {
            errs.push(at(
                "path",
                format!("`languages.{code}` and `languages.{other}` both use the URL prefix `/{prefix}/`"),
            ));
        }
        if let Some(t) = &l.taxonomies {
            errs.extend(validate_taxonomies(keys, &["languages", code], t));
        }
    }
    errs
}

fn validate_link_checker(keys: &Keys<'_>, c: &LinkCheckerConfig) -> Vec<Diagnostic> {
    let mut errs = Vec::new();
    for (key, d) in [("cache_for", &c.cache_for), ("timeout", &c.timeout)] {
        if parse_duration(d).is_none() {
            errs.push(keys.at(
                &["link_checker", key],
                format!("`link_checker.{key}` `{d}` is not a duration such as `1d`, `12h`, `10s` or `0`"),
            ));
        }
    }
    for (key, n) in [("concurrency", c.concurrency), ("per_host", c.per_host)] {
        if n == 0 {
            errs.push(keys.at(
                &["link_checker", key],
                format!("`link_checker.{key}` must be at least 1"),
            ));
        }
    }
    for g in &c.skip {
        if let Err(e) = globset::Glob::new(g) {
            errs.push(keys.at(
                &["link_checker", "skip"],
                format!("`link_checker.skip` `{g}` is not a valid glob: {}", e.kind()),
            ));
        }
    }
    errs
}

fn validate_search(keys: &Keys<'_>, cfg: &Config) -> Vec<Diagnostic> {
    let mut errs = Vec::new();
    let s = &cfg.search;
    for (i, dir) in s.sections.iter().enumerate() {
        let d = dir.trim_matches('/');
        if d.is_empty() || d.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
            errs.push(keys.at(
                &["search", "sections", &i.to_string()],
                format!("`search.sections`: `{dir}` is not a folder under `content/` such as `docs` or `blog/2024`"),
            ));
        }
    }
    if !(1..=200).contains(&s.excerpt_length) {
        errs.push(keys.at(
            &["search", "excerpt_length"],
            format!(
                "`search.excerpt_length` must be between 1 and 200 words, got {}",
                s.excerpt_length
            ),
        ));
    }
    let f = &s.fields;
    for (name, w) in [
        ("title", f.title),
        ("description", f.description),
        ("headings", f.headings),
        ("body", f.body),
    ] {
        if w > 100 {
            errs.push(keys.at(
                &["search", "fields", name],
                format!("`search.fields.{name}` must be a weight from 0 to 100, got {w}"),
            ));
        }
    }
    if f.title + f.description + f.headings + f.body == 0 {
        errs.push(keys.at(
            &["search", "fields"],
            "`search.fields`: every weight is 0, so nothing would be indexed",
        ));
    }
    for (i, fmt) in s.zola_compat.iter().enumerate() {
        if !ZOLA_SEARCH_FORMATS.contains(&fmt.as_str()) {
            errs.push(keys.at(
                &["search", "zola_compat", &i.to_string()],
                format!(
                        "`search.zola_compat` may hold {}, got `{fmt}`",
                        ZOLA_SEARCH_FORMATS
                            .iter()
                            .map(|f| format!("`{f}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
            ));
        }
    }
    for (code, l) in &cfg.languages {
        if l.search == Some(true) && !s.enabled {
            errs.push(keys.at(
                &["languages", code, "search"],
                format!("`languages.{code}.search = true` needs `[search] enabled = true`"),
            ));
        }
    }
    errs
}

/// `[images] remote_cache`, each problem at its key.
fn validate_remote_cache(keys: &Keys<'_>, r: &RemoteCacheConfig) -> Vec<Diagnostic> {
    let mut errs = Vec::new();
    let mut err = |key: &str, msg: String| {
        errs.push(keys.at(
            &["images", "remote_cache", key],
            format!("`images.remote_cache`: {msg}"),
        ));
    };
    if r.bucket.is_empty() || r.bucket.contains('/') {
        err("bucket", format!("`bucket` must be a bucket name, got `{}`", r.bucket));
    }
    let p = &r.prefix;
    let bad_segment = |body: &str| body.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if !p.is_empty() && (!p.ends_with('/') || p.starts_with('/') || bad_segment(&p[..p.len() - 1])) {
        err(
            "prefix",
            format!("`prefix` `{p}` must be empty or folder names ending in `/`, e.g. `img/`"),
        );
    }
    if let Some(e) = &r.endpoint {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            err(
                "endpoint",
                format!("`endpoint` must be an `http://` or `https://` URL, got `{e}`"),
            );
        }
    }
    if r.region.as_deref().is_some_and(|x| x.trim().is_empty()) {
        err(
            "region",
            "`region` must not be empty (leave it out to take the AWS chain's)".into(),
        );
    }
    if r.concurrency == 0 {
        err("concurrency", "`concurrency` must be at least 1".into());
    }
    errs
}

fn validate_targets(keys: &Keys<'_>, targets: &[DeployTarget]) -> Vec<Diagnostic> {
    let mut errs = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, t) in targets.iter().enumerate() {
        let i = i.to_string();
        // At the key the message names first (`bucket`, `prefix`, …), else at the target.
        let mut err = |msg: String| {
            let key = msg
                .split('`')
                .nth(1)
                .unwrap_or("name")
                .split('.')
                .next()
                .unwrap_or("name");
            let d = keys.at(
                &["deploy", "targets", &i, key],
                format!("deploy target `{}`: {msg}", t.name),
            );
            errs.push(d)
        };
        if t.name.is_empty() {
            err("`name` must not be empty".into());
        }
        if !names.insert(t.name.as_str()) {
            err("declared twice".into());
        }
        if t.bucket.is_empty() || t.bucket.contains('/') {
            err(format!("`bucket` must be a bucket name, got `{}`", t.bucket));
        }
        if let Some(p) = prefix_problem(&t.prefix) {
            err(p);
        }
        if let Some(p) = &t.path_prefix {
            if !p.starts_with('/') || !p.ends_with('/') {
                err(format!(
                    "`path_prefix` `{p}` must start and end with `/`, e.g. `/static/`"
                ));
            }
        }
        if let Some(e) = &t.endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                err(format!("`endpoint` must be an `http://` or `https://` URL, got `{e}`"));
            }
        }
        if let Some(b) = &t.base_url {
            if !(b.starts_with("http://") || b.starts_with("https://") || b.starts_with('/')) {
                err(format!(
                    "`base_url` must start with `http://`, `https://` or `/`, got `{b}`"
                ));
            }
        }
        if t.concurrency == 0 {
            err("`concurrency` must be at least 1".into());
        }
        if t.max_invalidation_paths == 0 {
            err("`max_invalidation_paths` must be at least 1".into());
        }
        if t.multipart_threshold_mib < 5 {
            err("`multipart_threshold_mib` must be at least 5 (S3's smallest part)".into());
        }
        if let Some(k) = &t.keep_superseded {
            if parse_duration(k).is_none() {
                err(format!(
                    "`keep_superseded` `{k}` is not a duration such as `7d`, `12h`, `30m` or `0`"
                ));
            }
        }
        match parse_duration(&t.lock_lease) {
            None => err(format!(
                "`lock_lease` `{}` is not a duration such as `5m` or `90s`",
                t.lock_lease
            )),
            Some(0) => err("`lock_lease` must be at least 1s".into()),
            Some(_) => {}
        }
        if parse_duration(&t.lock_wait).is_none() {
            err(format!(
                "`lock_wait` `{}` is not a duration such as `10m`, `30s` or `0`",
                t.lock_wait
            ));
        }
        let globs = t
            .include
            .iter()
            .map(|g| ("include", g))
            .chain(t.exclude.iter().map(|g| ("exclude", g)))
            .chain(t.rules.iter().map(|r| ("rules.glob", &r.glob)));
        for (key, g) in globs {
            if let Err(e) = globset::Glob::new(g) {
                err(format!("`{key}` `{g}` is not a valid glob: {}", e.kind()));
            }
        }
        for r in &t.rules {
            if r.cache_control.is_none()
                && r.content_type.is_none()
                && r.content_encoding.is_none()
                && r.website_redirect.is_none()
            {
                err(format!("rule `{}` sets no header", r.glob));
            }
        }
    }
    errs
}

/// Finds where a key is written in the config file, so a validation error points at its
/// line and column (toml_edit keeps the spans that serde's view of the file drops).
pub struct Keys<'a> {
    file: &'a str,
    text: &'a str,
    doc: Option<toml_edit::ImDocument<&'a str>>,
}

impl<'a> Keys<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        Keys {
            file,
            text,
            doc: toml_edit::ImDocument::parse(text).ok(),
        }
    }

    /// A diagnostic at the key `path` (`["markdown", "highlight_theme"]`; a number picks an
    /// entry of an array of tables: `["deploy", "targets", "0", "bucket"]`), or at the
    /// deepest part of it that is written, or at the file when none is.
    pub fn at(&self, path: &[&str], msg: impl Into<String>) -> Diagnostic {
        match self.position(path) {
            Some(offset) => {
                let (l, c) = line_col(self.text, offset);
                Diagnostic::at(self.file, l, c, msg)
            }
            None => Diagnostic::new(self.file, msg),
        }
    }

    fn position(&self, path: &[&str]) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut table: &dyn toml_edit::TableLike = doc.as_table();
        let mut found = None;
        let mut i = 0;
        while i < path.len() {
            let (key, item) = match table.get_key_value(path[i]) {
                Some(kv) => kv,
                None => return found,
            };
            found = key.span().map(|r| r.start).or(found);
            i += 1;
            if let Some(tables) = item.as_array_of_tables() {
                let Some(t) = path
                    .get(i)
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| tables.get(n))
                else {
                    return found;
                };
                found = t.span().map(|r| r.start).or(found);
                table = t;
                i += 1;
            } else if let Some(t) = item.as_table_like() {
                table = t;
            } else {
                return found;
            }
        }
        found
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

    const TARGETS: &str = r#"base_url = "https://example.com"
extra = { api = "https://api.example.com", author = "A" }

[[deploy.targets]]
name = "production"
bucket = "site"
cloudfront_distribution_ids = ["E1"]

[[deploy.targets]]
name = "staging"
bucket = "site-staging"
prefix = "v2/"
base_url = "https://staging.example.com/"
extra = { api = "https://api.staging.example.com" }

[[deploy.targets.rules]]
glob = "*.html"
cache_control = "no-store"
"#;

    #[test]
    fn deploy_targets_parse_with_defaults() {
        let c = Config::parse("config.toml", TARGETS).unwrap();
        let t = &c.deploy.targets[1];
        assert_eq!((t.name.as_str(), t.prefix.as_str()), ("staging", "v2/"));
        assert_eq!((t.max_deletes, t.concurrency, t.max_invalidation_paths), (250, 16, 15));
        assert_eq!(t.rules[0].cache_control.as_deref(), Some("no-store"));
        assert!(c.deploy.targets[0].rules.is_empty());
        assert_eq!(c.target(Some("production")).unwrap().bucket, "site");
        assert_eq!(
            c.target(None).unwrap_err(),
            "the config has several deploy targets (`production`, `staging`); choose one with `--target NAME`"
        );
        assert_eq!(
            c.target(Some("prod")).unwrap_err(),
            "no deploy target `prod`; the config has `production`, `staging`"
        );
    }

    #[test]
    fn a_target_build_takes_its_base_url_and_extra() {
        let mut c = Config::parse("config.toml", TARGETS).unwrap();
        c.apply_target("staging").unwrap();
        assert_eq!(c.base_url, "https://staging.example.com");
        assert_eq!(c.extra["api"], "https://api.staging.example.com");
        assert_eq!(c.extra["author"], "A");
    }

    #[test]
    fn validation_errors_point_at_the_key() {
        let text = "title = \"x\"\nbase_url = \"ftp://x\"\n\n[markdown]\nsmart_punctuation = true\nhighlight_theme = \"nope\"\n\n[[taxonomies]]\nname = \"tags\"\n[[taxonomies]]\nname = \"tags\"\n";
        let errs = Config::parse("site.toml", text).unwrap_err();
        let shown: Vec<String> = errs.iter().map(|d| d.to_string()).collect();
        assert_eq!(shown.len(), 3, "{shown:#?}");
        assert!(
            shown[0].starts_with("site.toml:2:1: `base_url` must start with"),
            "{}",
            shown[0]
        );
        assert!(
            shown[1].starts_with("site.toml:11:1: taxonomy `tags` is declared twice"),
            "{}",
            shown[1]
        );
        assert!(
            shown[2].starts_with("site.toml:6:1: unknown `markdown.highlight_theme` `nope`"),
            "{}",
            shown[2]
        );
        // The file it was read from is kept for later messages.
        assert_eq!(
            Config::parse("site.toml", "base_url = \"/\"").unwrap().file,
            "site.toml"
        );
    }

    #[test]
    fn unsafe_prefixes_and_bad_values_are_refused() {
        let text = "base_url = \"/\"\n[[deploy.targets]]\nname = \"t\"\nbucket = \"b\"\nprefix = \"static\"\nconcurrency = 0\nkeep_superseded = \"soon\"\ninclude = [\"a/[\"]\n";
        let diags = Config::parse("config.toml", text).unwrap_err();
        let errs: Vec<String> = diags.iter().map(|d| d.message.clone()).collect();
        assert_eq!(errs.len(), 4, "{errs:#?}");
        // Each at the line of its key.
        let lines: Vec<Option<usize>> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, [Some(5), Some(6), Some(7), Some(8)]);
        assert!(errs[0].starts_with("deploy target `t`: `prefix` `static` must end with `/` (`static/`)"));
        assert!(errs[1].contains("`concurrency` must be at least 1"));
        assert!(errs[2].contains("`keep_superseded` `soon` is not a duration"));
        assert!(errs[3].contains("`include` `a/[` is not a valid glob"));
        assert_eq!(prefix_problem(""), None);
        assert_eq!(prefix_problem("a/b/"), None);
        for bad in ["a", "/a/", "a//", "../a/", "a/./"] {
            assert!(prefix_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("12x"), None);
        assert_eq!(parse_duration("1h 30m"), Some(5_400));
        assert_eq!(parse_duration("2days"), Some(172_800));
    }

    #[test]
    fn unknown_key_has_position() {
        let err = Config::parse("config.toml", "base_url = \"/\"\ntitel = \"x\"\n").unwrap_err();
        assert_eq!(err[0].line, Some(2));
        assert!(err[0].message.contains("unknown field `titel`"), "{}", err[0].message);
    }

    #[test]
    fn remote_cache_is_checked_at_its_keys() {
        let none = Config::parse("config.toml", "base_url = \"/\"\n").unwrap();
        assert_eq!(none.images.remote_cache, None);
        let c = Config::parse(
            "config.toml",
            "base_url = \"/\"\n[images]\nremote_cache = { bucket = \"cache\", prefix = \"img/\", endpoint = \"http://127.0.0.1:9000\" }\n",
        )
        .unwrap();
        let r = c.images.remote_cache.unwrap();
        assert_eq!(
            (
                r.bucket.as_str(),
                r.prefix.as_str(),
                r.endpoint.as_deref(),
                r.region,
                r.read_only,
                r.concurrency
            ),
            ("cache", "img/", Some("http://127.0.0.1:9000"), None, false, 16)
        );
        let bad = Config::parse(
            "config.toml",
            "base_url = \"/\"\n[images.remote_cache]\nbucket = \"a/b\"\nprefix = \"img\"\nendpoint = \"localhost:9000\"\nconcurrency = 0\n",
        )
        .unwrap_err();
        let got: Vec<String> = bad.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            got,
            [
                "config.toml:3:1: `images.remote_cache`: `bucket` must be a bucket name, got `a/b`",
                "config.toml:4:1: `images.remote_cache`: `prefix` `img` must be empty or folder names ending in `/`, e.g. `img/`",
                "config.toml:5:1: `images.remote_cache`: `endpoint` must be an `http://` or `https://` URL, got `localhost:9000`",
                "config.toml:6:1: `images.remote_cache`: `concurrency` must be at least 1",
            ]
        );
        let inline = Config::parse(
            "config.toml",
            "base_url = \"/\"\n[images]\nremote_cache = { bucket = \"c\", prefix = \"/img/\" }\n",
        )
        .unwrap_err();
        assert_eq!((inline[0].line, inline[0].column), (Some(3), Some(32)), "{}", inline[0]);
        let typo = Config::parse(
            "config.toml",
            "base_url = \"/\"\n[images]\nremote_cache = { bucket = \"c\", perfix = \"x/\" }\n",
        )
        .unwrap_err();
        assert!(typo[0].message.contains("unknown field `perfix`"), "{}", typo[0]);
    }

    #[test]
    fn strip_metadata_is_on_by_default_and_checked_at_its_key() {
        let on = Config::parse("config.toml", "base_url = \"/\"\n").unwrap();
        assert!(on.images.strip_metadata);
        let off = Config::parse("config.toml", "base_url = \"/\"\n[images]\nstrip_metadata = false\n").unwrap();
        assert!(!off.images.strip_metadata);
        let wrong = Config::parse("config.toml", "base_url = \"/\"\n[images]\nstrip_metadata = \"no\"\n").unwrap_err();
        assert_eq!((wrong[0].line, wrong[0].column), (Some(3), Some(18)), "{}", wrong[0]);
        assert!(wrong[0].message.contains("expected a boolean"), "{}", wrong[0].message);
        let typo = Config::parse("config.toml", "base_url = \"/\"\n[images]\nstrip_metdata = false\n").unwrap_err();
        assert_eq!(typo[0].line, Some(3));
        assert!(
            typo[0].message.contains("unknown field `strip_metdata`"),
            "{}",
            typo[0].message
        );
    }
}
