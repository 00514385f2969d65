//! The content model: pages, sections and taxonomies read from the source snapshot's
//! `content/` files. [`SiteModel::load`] is pure: it parses front matter, decides every URL,
//! attaches pages to sections, sorts them and groups taxonomy terms. Markdown is rendered
//! later (in `build`), once every URL is known, so `@/` links can be resolved.

pub mod front_matter;
pub mod languages;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rayon::prelude::*;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};

use crate::config::{Config, Language, TaxonomyConfig};
use crate::error::{line_col, Diagnostic};
use crate::paths::{slugify_path, Slugify};
use crate::source::SourceTree;
pub use front_matter::{PageFrontMatter, SectionFrontMatter, SortBy};

/// What each content file gives on its own, kept between incremental builds so a rebuild
/// parses, slugifies and dates only the files that changed.
#[derive(Debug, Default)]
pub struct FrontMatterCache {
    /// The config the entries were made with (taxonomy names decide some errors).
    config_key: u64,
    /// Path under `content/` → (sha256, what the file gives).
    #[allow(clippy::type_complexity)] // a private cache entry, named once
    pages: HashMap<String, ([u8; 32], Result<Arc<PageEntry>, Diagnostic>)>,
    #[allow(clippy::type_complexity)] // a private cache entry, named once
    sections: HashMap<String, ([u8; 32], Result<(SectionFrontMatter, usize), Diagnostic>)>,
}

/// A page file's own part of its [`Page`]: everything that depends on its path and text
/// alone.
#[derive(Debug)]
struct PageEntry {
    fm: Arc<PageFrontMatter>,
    /// The language (from the file name) and the path of the file it translates.
    lang: String,
    canonical: String,
    body_offset: usize,
    slug: String,
    /// The folder whose section lists the page (`blog` for `blog/a.md` and `blog/a/index.md`).
    listing_dir: String,
    path: String,
    date: Option<DateTime<FixedOffset>>,
    updated: Option<DateTime<FixedOffset>>,
    /// `publish_date` and `expiry_date`: when the page is shown (see [`Visibility`]).
    publish: Option<DateTime<FixedOffset>>,
    expiry: Option<DateTime<FixedOffset>>,
    /// Problems that do not stop the page from being built (bad dates, unknown taxonomies).
    errors: Vec<Diagnostic>,
    /// Per taxonomy of the front matter: (term name, term slug).
    terms: Vec<(String, Vec<(String, String)>)>,
}

/// A Markdown page.
#[derive(Debug, Clone)]
pub struct Page {
    /// Path under `content/`: `blog/post.md`, `blog/bundle/index.md`, `blog/post.fr.md`.
    pub relative_path: String,
    /// Where the file is, for messages (`site/content/blog/post.md`).
    pub origin: String,
    /// The language code (`en`; `fr` for `post.fr.md`).
    pub lang: String,
    /// The default language's path of this content (`blog/post.md` for `blog/post.fr.md`):
    /// the pages with the same one are translations of each other.
    pub canonical: String,
    /// The pages with the same `canonical` (this one included), in language order.
    pub translations: Vec<usize>,
    pub text: Arc<str>,
    /// sha256 of the file, for caches.
    pub sha256: [u8; 32],
    pub body_offset: usize,
    /// Shared with the loader's cache: an unchanged file's front matter is not copied.
    pub fm: Arc<PageFrontMatter>,
    pub slug: String,
    /// URL path below the base URL: `/blog/post/`.
    pub path: String,
    pub date: Option<DateTime<FixedOffset>>,
    pub updated: Option<DateTime<FixedOffset>>,
    /// Index into [`SiteModel::sections`] of the section the page is listed in.
    pub section: usize,
    /// Bundle files (`content/blog/bundle/photo.jpg`) as paths under `content/`.
    pub assets: Vec<String>,
}

impl Page {
    pub fn body(&self) -> &str {
        &self.text[self.body_offset..]
    }
    pub fn title(&self) -> &str {
        self.fm.title.as_deref().unwrap_or("")
    }
}

/// A section: a folder with an `_index.md` (the root section always exists).
#[derive(Debug, Clone)]
pub struct Section {
    /// `_index.md`, `blog/_index.md`, `blog/_index.fr.md`.
    pub relative_path: String,
    pub origin: String,
    pub lang: String,
    /// `blog/_index.md` for `blog/_index.fr.md`.
    pub canonical: String,
    /// The sections with the same `canonical` (this one included), in language order.
    pub translations: Vec<usize>,
    pub text: Arc<str>,
    /// sha256 of the file, for caches.
    pub sha256: [u8; 32],
    pub body_offset: usize,
    pub fm: SectionFrontMatter,
    /// `/`, `/blog/`.
    pub path: String,
    /// The folder under `content/` (`""`, `blog`).
    pub dir: String,
    pub parent: Option<usize>,
    /// Indices into [`SiteModel::pages`], sorted by the section's `sort_by`.
    pub pages: Vec<usize>,
    /// Indices into [`SiteModel::sections`], by weight then path.
    pub subsections: Vec<usize>,
    pub assets: Vec<String>,
}

impl Section {
    pub fn body(&self) -> &str {
        &self.text[self.body_offset..]
    }
}

#[derive(Debug, Clone)]
pub struct Term {
    pub name: String,
    pub slug: String,
    /// `/tags/rust/`.
    pub path: String,
    /// Newest first.
    pub pages: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Taxonomy {
    pub config: TaxonomyConfig,
    /// Each language has its own taxonomies (`/fr/tags/`).
    pub lang: String,
    /// What `get_taxonomy` and dependencies name it by: `tags`, `tags@fr` (see [`taxonomy_key`]).
    pub key: String,
    /// `/tags/`.
    pub path: String,
    /// By name.
    pub terms: Vec<Term>,
}

/// Files under `content/` that are not Markdown and belong to no page or section bundle;
/// they are copied to the same relative path in the output.
#[derive(Debug, Clone)]
pub struct LooseFile {
    pub relative_path: String,
}

/// Everything the site is made of, with URLs decided.
#[derive(Debug, Clone, Default)]
pub struct SiteModel {
    pub pages: Vec<Page>,
    pub sections: Vec<Section>,
    pub taxonomies: Vec<Taxonomy>,
    pub loose_files: Vec<LooseFile>,
    /// The site's languages, the default first.
    pub languages: Vec<Language>,
    /// `blog/post.md` → page index; `blog/_index.md` → section index.
    pub page_by_path: HashMap<String, usize>,
    pub section_by_path: HashMap<String, usize>,
}

/// The name a taxonomy goes by in lookups: its name in the default language, `name@lang`
/// in the others.
pub fn taxonomy_key(name: &str, lang: &str, is_default: bool) -> String {
    if is_default {
        name.to_string()
    } else {
        format!("{name}@{lang}")
    }
}

/// Which pages a build shows. Drafts are left out unless `drafts`; a page whose
/// `publish_date` is after `now` is left out unless `future`, and one whose `expiry_date` is
/// at or before `now` is always left out. `now` is a value (the CLI passes the clock's time;
/// the default is the Unix epoch), so the model stays a pure function of its inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Visibility {
    pub drafts: bool,
    pub future: bool,
    pub now: DateTime<FixedOffset>,
}

impl Visibility {
    /// Drafts as asked, at the Unix epoch, no pages to come.
    pub fn drafts(drafts: bool) -> Self {
        Visibility {
            drafts,
            ..Visibility::default()
        }
    }

    /// Whether a page with this draft flag, `publish_date` and `expiry_date` is built.
    pub fn shows(
        &self,
        draft: bool,
        publish: Option<DateTime<FixedOffset>>,
        expiry: Option<DateTime<FixedOffset>>,
    ) -> bool {
        (self.drafts || !draft)
            && (self.future || publish.is_none_or(|p| p <= self.now))
            && expiry.is_none_or(|e| e > self.now)
    }
}

/// Parses the dates sitegen accepts in front matter and file names.
pub fn parse_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d);
    }
    let utc = FixedOffset::east_opt(0)?;
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return d.and_local_timezone(utc).single();
        }
    }
    if let Ok(d) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z") {
        return Some(d);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|d| d.and_local_timezone(utc).single())
}

/// `2024-01-02-hello` → (Some(date), "hello").
fn split_date_prefix(stem: &str) -> (Option<&str>, &str) {
    if stem.len() > 11
        && stem.is_char_boundary(10)
        && (stem.as_bytes()[10] == b'-' || stem.as_bytes()[10] == b'_')
        && NaiveDate::parse_from_str(&stem[..10], "%Y-%m-%d").is_ok()
    {
        (Some(&stem[..10]), &stem[11..])
    } else {
        (None, stem)
    }
}

/// A folder under `content/` as URL segments (`blog/2024` → `blog/2024`), each under `rule`.
fn dir_path(dir: &str, rule: Slugify) -> String {
    dir.split('/')
        .map(|seg| slugify_path(seg, rule))
        .collect::<Vec<_>>()
        .join("/")
}

fn parent_dir(rel: &str) -> &str {
    rel.rfind('/').map(|i| &rel[..i]).unwrap_or("")
}

fn diag_at_key(origin: &str, text: &str, fm_offset: usize, fm: &str, key: &str, msg: String) -> Diagnostic {
    match front_matter::find_key(fm, key) {
        Some(o) => {
            let (l, c) = line_col(text, fm_offset + o);
            Diagnostic::at(origin, l, c, msg)
        }
        None => Diagnostic::new(origin, msg),
    }
}

/// Parses one page file and decides what it gives on its own: slug, URL path, dates, term
/// slugs. A front matter error is the `Err`; other problems are in `errors`.
fn page_entry(
    rel: &str,
    origin: &str,
    text: &str,
    config: &Config,
    languages: &[Language],
) -> Result<PageEntry, Diagnostic> {
    let (canonical, lang) = languages::split_language(rel, config)
        .map_err(|code| Diagnostic::new(origin, languages::unknown_language_message(&code, config)))?;
    let language = languages.iter().find(|l| l.code == lang).unwrap_or(&languages[0]);
    let split = front_matter::split(origin, text)?;
    let fm: PageFrontMatter = front_matter::parse(origin, text, &split)?;
    let mut errors = Vec::new();
    let rel = &*canonical;
    let is_bundle = rel == "index.md" || rel.ends_with("/index.md");
    let dir = parent_dir(rel);
    let (listing_dir, stem) = if is_bundle {
        (parent_dir(dir), dir.rsplit('/').next().unwrap_or(""))
    } else {
        (dir, rel.rsplit('/').next().unwrap_or(rel).trim_end_matches(".md"))
    };
    let rules = &config.slugify;
    let (file_date, undated) = split_date_prefix(stem);
    let stem = if rules.paths_keep_dates { stem } else { undated };
    let slug = slugify_path(fm.slug.as_deref().unwrap_or(stem), rules.paths);
    let path = match &fm.path {
        Some(p) => crate::paths::normalize_url_path(p),
        None => {
            let base = if listing_dir.is_empty() {
                format!("{}/", language.prefix)
            } else {
                format!("{}/{}/", language.prefix, dir_path(listing_dir, rules.dirs))
            };
            if slug.is_empty() {
                base
            } else {
                format!("{base}{slug}/")
            }
        }
    };
    let bad_date = |key: &str, d: &str| {
        diag_at_key(
            origin,
            text,
            split.front_matter_offset,
            split.front_matter,
            key,
            format!("invalid date `{d}`: use `YYYY-MM-DD` or RFC 3339 (`2024-05-01T10:00:00Z`)"),
        )
    };
    let mut date = None;
    if let Some(d) = fm.date.as_deref().or(file_date) {
        date = parse_date(d);
        if date.is_none() {
            errors.push(bad_date("date", d));
        }
    }
    let mut dated = |key: &str, value: Option<&str>| {
        let d = value?;
        let parsed = parse_date(d);
        if parsed.is_none() {
            errors.push(bad_date(key, d));
        }
        parsed
    };
    let updated = dated("updated", fm.updated.as_deref());
    let publish = dated("publish_date", fm.publish_date.as_deref());
    let expiry = dated("expiry_date", fm.expiry_date.as_deref());
    for key in fm.taxonomies.keys() {
        if !language.taxonomies.iter().any(|t| &t.name == key) {
            let msg = if language.is_default {
                format!(
                    "taxonomy `{key}` is not declared in {} (`[[taxonomies]] name = \"{key}\"`)",
                    config.file
                )
            } else {
                format!(
                    "taxonomy `{key}` is not one of language `{lang}`'s in {} (`[languages.{lang}] taxonomies = [{{ name = \"{key}\" }}]`)",
                    config.file
                )
            };
            errors.push(diag_at_key(
                origin,
                text,
                split.front_matter_offset,
                split.front_matter,
                key,
                msg,
            ));
        }
    }
    let terms = fm
        .taxonomies
        .iter()
        .map(|(k, names)| {
            (
                k.clone(),
                names
                    .iter()
                    .map(|n| (n.clone(), slugify_path(n, rules.taxonomies)))
                    .collect(),
            )
        })
        .collect();
    Ok(PageEntry {
        body_offset: split.body_offset,
        fm: Arc::new(fm),
        canonical: canonical.to_string(),
        lang,
        slug,
        listing_dir: listing_dir.to_string(),
        path,
        date,
        updated,
        publish,
        expiry,
        errors,
        terms,
    })
}

impl SiteModel {
    /// Builds the model from the snapshot. Returns every problem found, not only the first.
    /// Drafts are left out unless `drafts`; pages are shown as at the Unix epoch (see
    /// [`Visibility`] and [`SiteModel::load_cached`] for a build's own time).
    pub fn load(tree: &SourceTree, config: &Config, drafts: bool) -> (SiteModel, Vec<Diagnostic>) {
        Self::load_cached(
            tree,
            config,
            Visibility::drafts(drafts),
            &mut FrontMatterCache::default(),
        )
    }

    /// [`SiteModel::load`], reusing the parsed front matter of files whose sha256 is in `cache`
    /// (incremental rebuilds parse only the files that changed).
    pub fn load_cached(
        tree: &SourceTree,
        config: &Config,
        visibility: Visibility,
        cache: &mut FrontMatterCache,
    ) -> (SiteModel, Vec<Diagnostic>) {
        let config_key = {
            use std::hash::{BuildHasher, BuildHasherDefault};
            BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(
                config
                    .site_languages()
                    .iter()
                    .map(|l| {
                        (
                            &l.code,
                            &l.prefix,
                            l.taxonomies.iter().map(|t| &t.name).collect::<Vec<_>>(),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        };
        if cache.config_key != config_key {
            *cache = FrontMatterCache::default();
        }
        let mut load = Loader {
            config,
            drafts: visibility.drafts,
            visibility,
            cache,
            next_cache: FrontMatterCache {
                config_key,
                ..FrontMatterCache::default()
            },
            errors: Vec::new(),
            model: SiteModel {
                languages: config.site_languages(),
                ..SiteModel::default()
            },
            hidden_dirs: Vec::new(),
            dir_to_section: HashMap::new(),
        };
        // Pass 1: sections, so pages can find theirs.
        let (md_files, other_files) = load.read_files(tree);
        let sections = load.read_sections(&md_files);
        load.hide_draft_dirs(&md_files, &sections);
        load.link_sections(sections);
        // Pass 2: pages.
        let page_terms = load.read_pages(&md_files);
        load.attach_files(&md_files, other_files);
        load.sort_sections();
        load.link_translations();
        load.build_taxonomies(&page_terms);
        let Loader {
            model,
            errors,
            next_cache,
            ..
        } = load;
        *cache = next_cache;
        (model, errors)
    }

    /// Pages of the whole site in language `lang`, newest first (feeds).
    pub fn pages_by_date(&self, lang: &str) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.pages.len()).filter(|&i| self.pages[i].lang == lang).collect();
        sort_pages(&self.pages, &mut v, SortBy::Date);
        v
    }

    /// The position of language `lang` in the site's languages (0: the default).
    pub fn language_index(&self, lang: &str) -> usize {
        self.languages.iter().position(|l| l.code == lang).unwrap_or(0)
    }

    /// The language `lang` of the site (the default one when it has no such language).
    pub fn language(&self, lang: &str) -> &Language {
        &self.languages[self.language_index(lang)]
    }
}

/// A Markdown file under `content/`, its text checked as UTF-8.
struct MdFile {
    /// Path under `content/`.
    rel: String,
    /// The path of the file it translates (`rel` itself for the default language).
    canonical: String,
    /// Its language; `None` when the file name has a code the config does not list (an
    /// error already reported).
    lang: Option<String>,
    origin: String,
    text: Arc<str>,
    sha: [u8; 32],
}

fn is_section_file(rel: &str) -> bool {
    rel == "_index.md" || rel.ends_with("/_index.md")
}

/// What the phases of [`SiteModel::load_cached`] share: the model being built, the problems
/// found so far, and the front matter cache (last load's entries in, this load's out).
struct Loader<'a> {
    config: &'a Config,
    drafts: bool,
    /// Which pages are shown (drafts, `publish_date`, `expiry_date`).
    visibility: Visibility,
    cache: &'a FrontMatterCache,
    next_cache: FrontMatterCache,
    errors: Vec<Diagnostic>,
    model: SiteModel,
    /// (language, folder) of draft sections (when drafts are left out): everything of that
    /// language below them is hidden.
    hidden_dirs: Vec<(String, String)>,
    /// (language, a section's folder under `content/`) → its index in the model.
    dir_to_section: HashMap<(String, String), usize>,
}

impl Loader<'_> {
    /// Splits `content/` into Markdown files (their text checked as UTF-8) and other files.
    fn read_files(&mut self, tree: &SourceTree) -> (Vec<MdFile>, Vec<String>) {
        let mut md_files = Vec::new();
        let mut other_files = Vec::new();
        for (logical, file) in tree.under("content/") {
            let rel = &logical["content/".len()..];
            if rel.ends_with(".md") {
                // Snapshots check UTF-8 once, when a file is read; a file made otherwise (a
                // test's) is checked here.
                let text = match &file.text {
                    Some(t) => Ok(t.clone()),
                    None => std::str::from_utf8(&file.bytes).map(Arc::<str>::from),
                };
                let (canonical, lang) = match languages::split_language(rel, self.config) {
                    Ok((c, l)) => (c.into_owned(), Some(l)),
                    Err(code) => {
                        self.errors.push(Diagnostic::new(
                            &file.origin,
                            languages::unknown_language_message(&code, self.config),
                        ));
                        (rel.to_string(), None)
                    }
                };
                match text {
                    Ok(t) => md_files.push(MdFile {
                        rel: rel.to_string(),
                        canonical,
                        lang,
                        origin: file.origin.clone(),
                        text: t,
                        sha: file.sha256,
                    }),
                    Err(e) => {
                        let (l, c) = line_col(
                            &String::from_utf8_lossy(&file.bytes[..e.valid_up_to()]),
                            e.valid_up_to(),
                        );
                        self.errors
                            .push(Diagnostic::at(&file.origin, l, c, "file is not valid UTF-8"));
                    }
                }
            } else {
                other_files.push(rel.to_string());
            }
        }
        (md_files, other_files)
    }

    /// Parses the `_index.md` files (through the cache), leaving out drafts, and adds the root
    /// section if the site has none: folder → section.
    fn read_sections(&mut self, md_files: &[MdFile]) -> BTreeMap<(String, usize), Section> {
        let mut sections: BTreeMap<(String, usize), Section> = BTreeMap::new();
        for file in md_files.iter().filter(|f| is_section_file(&f.canonical)) {
            let MdFile {
                rel, origin, text, sha, ..
            } = file;
            let Some(lang) = file.lang.clone() else { continue };
            let parsed = match self.cache.sections.get(rel.as_str()).filter(|(s, _)| s == sha) {
                Some((_, p)) => p.clone(),
                None => front_matter::split(origin, text).and_then(|s| {
                    let fm: SectionFrontMatter = front_matter::parse(origin, text, &s)?;
                    Ok((fm, s.body_offset))
                }),
            };
            self.next_cache.sections.insert(rel.clone(), (*sha, parsed.clone()));
            let (fm, body_offset) = match parsed {
                Ok(v) => v,
                Err(e) => {
                    self.errors.push(e);
                    continue;
                }
            };
            if fm.draft && !self.drafts {
                continue;
            }
            let li = self.model.language_index(&lang);
            let prefix = &self.model.languages[li].prefix;
            let dir = parent_dir(&file.canonical).to_string();
            let path = if dir.is_empty() {
                format!("{prefix}/")
            } else {
                format!("{prefix}/{}/", dir_path(&dir, self.config.slugify.dirs))
            };
            sections.insert(
                (dir.clone(), li),
                Section {
                    relative_path: rel.clone(),
                    origin: origin.clone(),
                    lang,
                    canonical: file.canonical.clone(),
                    translations: vec![],
                    text: text.clone(),
                    sha256: *sha,
                    body_offset,
                    fm,
                    path,
                    dir,
                    parent: None,
                    pages: vec![],
                    subsections: vec![],
                    assets: vec![],
                },
            );
        }
        // Every language has a root section, written or not.
        for (li, l) in self.model.languages.iter().enumerate() {
            let rel = if l.is_default {
                "_index.md".to_string()
            } else {
                languages::localized_path("_index.md", &l.code)
            };
            sections.entry((String::new(), li)).or_insert_with(|| Section {
                origin: format!("{}/content/{rel}", self.config.source_dir),
                relative_path: rel,
                lang: l.code.clone(),
                canonical: "_index.md".into(),
                translations: vec![],
                text: Arc::from(""),
                sha256: [0; 32],
                body_offset: 0,
                fm: SectionFrontMatter::default(),
                path: format!("{}/", l.prefix),
                dir: String::new(),
                parent: None,
                pages: vec![],
                subsections: vec![],
                assets: vec![],
            });
        }
        sections
    }

    /// Sections of draft folders hide everything below them (unless drafts are built).
    fn hide_draft_dirs(&mut self, md_files: &[MdFile], sections: &BTreeMap<(String, usize), Section>) {
        if self.drafts {
            return;
        }
        let written: std::collections::HashSet<&str> = sections.values().map(|s| s.relative_path.as_str()).collect();
        self.hidden_dirs = md_files
            .iter()
            .filter(|f| is_section_file(&f.canonical) && f.lang.is_some() && !written.contains(f.rel.as_str()))
            .map(|f| (f.lang.clone().unwrap_or_default(), parent_dir(&f.canonical).to_string()))
            .collect();
    }

    /// Whether a file (by its canonical path) of language `lang` is below a draft section.
    fn in_hidden(&self, canonical: &str, lang: &str) -> bool {
        self.hidden_dirs
            .iter()
            .any(|(l, d)| l == lang && !d.is_empty() && (canonical.starts_with(&format!("{d}/"))))
    }

    /// The section of `dir` in `lang`, or of its nearest parent folder that has one (every
    /// language has a root section).
    fn nearest_section(&self, mut dir: &str, lang: &str) -> usize {
        loop {
            if let Some(&i) = self.dir_to_section.get(&(lang.to_string(), dir.to_string())) {
                return i;
            }
            if dir.is_empty() {
                return self.dir_to_section[&(self.config.language.clone(), String::new())];
            }
            dir = parent_dir(dir);
        }
    }

    /// Puts the sections in the model (by folder) and links each to its parent.
    fn link_sections(&mut self, sections: BTreeMap<(String, usize), Section>) {
        let model = &mut self.model;
        model.sections = sections.into_values().collect();
        for (i, s) in model.sections.iter().enumerate() {
            model.section_by_path.insert(s.relative_path.clone(), i);
        }
        self.dir_to_section = model
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.lang.clone(), s.dir.clone()), i))
            .collect();
        for i in 0..self.model.sections.len() {
            if self.model.sections[i].dir.is_empty() {
                continue;
            }
            let s = &self.model.sections[i];
            let p = self.nearest_section(parent_dir(&s.dir.clone()), &s.lang.clone());
            self.model.sections[i].parent = Some(p);
            self.model.sections[p].subsections.push(i);
        }
    }

    /// Reads the page files (through the cache), leaving out drafts and hidden folders, and
    /// lists each page in its section. Returns each page's entry, in page order.
    fn read_pages(&mut self, md_files: &[MdFile]) -> Vec<Arc<PageEntry>> {
        let mut page_terms: Vec<Arc<PageEntry>> = Vec::new();
        let files: Vec<&MdFile> = md_files
            .iter()
            .filter(|f| !is_section_file(&f.canonical))
            .filter(|f| f.lang.as_ref().is_some_and(|lang| !self.in_hidden(&f.canonical, lang)))
            .collect();
        // Each file's own part (front matter, slug, URL, dates), parsed in parallel: it
        // depends on the file alone.
        let (cache, config, languages) = (self.cache, self.config, &self.model.languages);
        let entries: Vec<Result<Arc<PageEntry>, Diagnostic>> = files
            .par_iter()
            .map(|f| match cache.pages.get(f.rel.as_str()).filter(|(s, _)| *s == f.sha) {
                Some((_, e)) => e.clone(),
                None => page_entry(&f.rel, &f.origin, &f.text, config, languages).map(Arc::new),
            })
            .collect();
        for (f, entry) in files.into_iter().zip(entries) {
            let MdFile {
                rel, origin, text, sha, ..
            } = f;
            self.next_cache.pages.insert(rel.clone(), (*sha, entry.clone()));
            let e = match entry {
                Ok(e) => e,
                Err(d) => {
                    self.errors.push(d);
                    continue;
                }
            };
            if !self.visibility.shows(e.fm.draft, e.publish, e.expiry) {
                continue;
            }
            self.errors.extend(e.errors.iter().cloned());
            let section = self.nearest_section(&e.listing_dir, &e.lang);
            self.model.pages.push(Page {
                relative_path: rel.clone(),
                origin: origin.clone(),
                lang: e.lang.clone(),
                canonical: e.canonical.clone(),
                translations: vec![],
                text: text.clone(),
                sha256: *sha,
                body_offset: e.body_offset,
                fm: e.fm.clone(),
                slug: e.slug.clone(),
                path: e.path.clone(),
                date: e.date,
                updated: e.updated,
                section,
                assets: vec![],
            });
            page_terms.push(e);
        }
        let model = &mut self.model;
        for (i, p) in model.pages.iter().enumerate() {
            model.page_by_path.insert(p.relative_path.clone(), i);
            // Listed by its section, and by each parent above a transparent one.
            let mut s = p.section;
            loop {
                model.sections[s].pages.push(i);
                match model.sections[s].parent {
                    Some(parent) if model.sections[s].fm.transparent => s = parent,
                    _ => break,
                }
            }
        }
        page_terms
    }

    /// Non-Markdown files: bundle assets, section assets, or loose files.
    fn attach_files(&mut self, md_files: &[MdFile], other_files: Vec<String>) {
        let bundle_dirs: Vec<String> = md_files
            .iter()
            .filter(|f| f.canonical == "index.md" || f.canonical.ends_with("/index.md"))
            .map(|f| parent_dir(&f.rel).to_string())
            .collect();
        // A bundle's files belong to each of its languages' pages (each has a copy beside it).
        let mut bundle_pages: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in self.model.pages.iter().enumerate() {
            if p.canonical == "index.md" || p.canonical.ends_with("/index.md") {
                bundle_pages
                    .entry(parent_dir(&p.relative_path).to_string())
                    .or_default()
                    .push(i);
            }
        }
        let mut dir_sections: HashMap<&str, Vec<usize>> = HashMap::new();
        for ((_, dir), &si) in &self.dir_to_section {
            dir_sections.entry(dir.as_str()).or_default().push(si);
        }
        for rel in other_files {
            let default = self.config.language.as_str();
            if self.in_hidden(&rel, default) {
                continue;
            }
            let dir = parent_dir(&rel);
            if let Some(pages) = bundle_pages.get(dir) {
                for &pi in pages {
                    self.model.pages[pi].assets.push(rel.clone());
                }
            } else if bundle_dirs.iter().any(|d| d == dir) {
                // A draft bundle's files are left out with it.
            } else if let Some(sections) = dir_sections.get(dir) {
                for &si in sections {
                    self.model.sections[si].assets.push(rel.clone());
                }
            } else {
                self.model.loose_files.push(LooseFile { relative_path: rel });
            }
        }
    }

    /// Links the versions of the same content in different languages to each other.
    fn link_translations(&mut self) {
        let model = &mut self.model;
        let order = |lang: &str| model.languages.iter().position(|l| l.code == lang).unwrap_or(0);
        let mut pages: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in model.pages.iter().enumerate() {
            pages.entry(p.canonical.as_str()).or_default().push(i);
        }
        let mut page_groups: Vec<Vec<usize>> = pages.into_values().collect();
        for g in &mut page_groups {
            g.sort_by_key(|&i| (order(&model.pages[i].lang), i));
        }
        let mut sections: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in model.sections.iter().enumerate() {
            sections.entry(s.canonical.as_str()).or_default().push(i);
        }
        let mut section_groups: Vec<Vec<usize>> = sections.into_values().collect();
        for g in &mut section_groups {
            g.sort_by_key(|&i| (order(&model.sections[i].lang), i));
        }
        for g in page_groups {
            for &i in &g {
                model.pages[i].translations = g.clone();
            }
        }
        for g in section_groups {
            for &i in &g {
                model.sections[i].translations = g.clone();
            }
        }
    }

    /// Sorts each section's pages by its `sort_by`, and its subsections by weight then path.
    fn sort_sections(&mut self) {
        let model = &mut self.model;
        for si in 0..model.sections.len() {
            let mut pages = std::mem::take(&mut model.sections[si].pages);
            sort_pages(&model.pages, &mut pages, model.sections[si].fm.sort_by);
            model.sections[si].pages = pages;
            let mut subs = std::mem::take(&mut model.sections[si].subsections);
            subs.sort_by(|&a, &b| {
                let (a, b) = (&model.sections[a], &model.sections[b]);
                a.fm.weight
                    .unwrap_or(i64::MAX)
                    .cmp(&b.fm.weight.unwrap_or(i64::MAX))
                    .then_with(|| a.path.cmp(&b.path))
            });
            model.sections[si].subsections = subs;
        }
    }

    /// Taxonomies, from the term slugs each file's entry already has (`page_terms`, in page
    /// order): terms by name, their pages newest first.
    fn build_taxonomies(&mut self, page_terms: &[Arc<PageEntry>]) {
        let model = &mut self.model;
        let languages = model.languages.clone();
        for (l, tc) in languages.iter().flat_map(|l| l.taxonomies.iter().map(move |t| (l, t))) {
            let mut terms: BTreeMap<&str, Term> = BTreeMap::new();
            let base = format!(
                "{}/{}/",
                l.prefix,
                slugify_path(&tc.name, self.config.slugify.taxonomies)
            );
            for (pi, e) in page_terms.iter().enumerate() {
                if e.lang != l.code {
                    continue;
                }
                let Some((_, names)) = e.terms.iter().find(|(k, _)| *k == tc.name) else {
                    continue;
                };
                for (name, slug) in names {
                    let t = terms.entry(slug.as_str()).or_insert_with(|| Term {
                        name: name.clone(),
                        path: format!("{base}{slug}/"),
                        slug: slug.clone(),
                        pages: vec![],
                    });
                    // Names with the same slug (`Blog`, `blog`) are one term, shown by the
                    // first name in byte order (as Zola does), whatever the page order.
                    if *name < t.name {
                        t.name = name.clone();
                    }
                    // Pages come in index order, so a page naming a term twice is the last.
                    if t.pages.last() != Some(&pi) {
                        t.pages.push(pi);
                    }
                }
            }
            let mut terms: Vec<Term> = terms.into_values().collect();
            for t in &mut terms {
                sort_pages(&model.pages, &mut t.pages, SortBy::Date);
            }
            // By slug (Zola's order).
            terms.sort_by(|a, b| a.slug.cmp(&b.slug).then_with(|| a.name.cmp(&b.name)));
            model.taxonomies.push(Taxonomy {
                config: tc.clone(),
                key: taxonomy_key(&tc.name, &l.code, l.is_default),
                lang: l.code.clone(),
                path: base,
                terms,
            });
        }
    }
}

/// Sorts page indices; ties (and pages missing the key) fall back to the path, so the order
/// is always the same for the same input.
pub fn sort_pages(pages: &[Page], idx: &mut [usize], by: SortBy) {
    match by {
        SortBy::Date => idx.sort_by(|&a, &b| {
            let (pa, pb) = (&pages[a], &pages[b]);
            match (pa.date, pb.date) {
                (Some(x), Some(y)) => y.cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then_with(|| pa.relative_path.cmp(&pb.relative_path))
        }),
        SortBy::Weight => idx.sort_by(|&a, &b| {
            let (pa, pb) = (&pages[a], &pages[b]);
            pa.fm
                .weight
                .unwrap_or(i64::MAX)
                .cmp(&pb.fm.weight.unwrap_or(i64::MAX))
                .then_with(|| pa.relative_path.cmp(&pb.relative_path))
        }),
        SortBy::Title => idx.sort_by(|&a, &b| {
            let (pa, pb) = (&pages[a], &pages[b]);
            pa.title()
                .to_lowercase()
                .cmp(&pb.title().to_lowercase())
                .then_with(|| pa.relative_path.cmp(&pb.relative_path))
        }),
        SortBy::None => idx.sort_by(|&a, &b| pages[a].relative_path.cmp(&pages[b].relative_path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn tree(files: &[(&str, &str)]) -> SourceTree {
        let mut t = SourceTree::default();
        for (p, c) in files {
            t.insert(
                format!("content/{p}"),
                SourceFile::new(format!("site/content/{p}"), c.as_bytes().to_vec()),
            );
        }
        t
    }

    fn cfg() -> Config {
        Config::parse(
            "config.toml",
            "base_url = \"https://example.com\"\n[[taxonomies]]\nname = \"tags\"\n",
        )
        .unwrap()
    }

    /// Zola's URL rules (what `sitegen import zola` sets): folder names as written, file
    /// names slugified, a taxonomy's terms as written with `safe`.
    #[test]
    fn slugify_rules_decide_urls() {
        let files = [
            ("7.4/_index.md", "+++\ntitle = \"7.4\"\n+++\n"),
            ("7.4/ThreadJob/_index.md", "+++\ntitle = \"ThreadJob\"\n+++\n"),
            (
                "7.4/ThreadJob/Start-ThreadJob.md",
                "+++\ntitle = \"Start-ThreadJob\"\n[taxonomies]\ntags = [\"Café Crème\"]\n+++\n",
            ),
            ("2024-05-01-news.md", "+++\ntitle = \"N\"\n+++\n"),
        ];
        let paths = |extra: &str| {
            let c = Config::parse(
                "config.toml",
                &format!("base_url = \"/\"\n[[taxonomies]]\nname = \"tags\"\n{extra}"),
            )
            .unwrap();
            let (m, errs) = SiteModel::load(&tree(&files), &c, false);
            assert!(errs.is_empty(), "{errs:?}");
            let mut v: Vec<String> = m
                .pages
                .iter()
                .map(|p| p.path.clone())
                .chain(m.sections.iter().map(|s| s.path.clone()))
                .collect();
            v.extend(m.taxonomies[0].terms.iter().map(|t| t.path.clone()));
            v.sort();
            v
        };
        assert_eq!(
            paths(""),
            [
                "/",
                "/7-4/",
                "/7-4/threadjob/",
                "/7-4/threadjob/start-threadjob/",
                "/news/",
                "/tags/cafe-creme/"
            ]
        );
        assert_eq!(
            paths("[slugify]\ndirs = \"off\"\ntaxonomies = \"safe\"\npaths_keep_dates = true\n"),
            [
                "/",
                "/2024-05-01-news/",
                "/7.4/",
                "/7.4/ThreadJob/",
                "/7.4/ThreadJob/start-threadjob/",
                "/tags/Café Crème/"
            ]
        );
        let err = Config::parse("config.toml", "base_url = \"/\"\n[slugify]\npaths = \"maybe\"\n").unwrap_err();
        assert!(err[0].to_string().contains("config.toml:3:"), "{}", err[0]);
    }

    #[test]
    fn urls_slugs_bundles_and_sections() {
        let t = tree(&[
            ("_index.md", ""),
            ("blog/_index.md", "+++\nsort_by = \"weight\"\n+++\n"),
            (
                "blog/2024-01-02-Hello World.md",
                "+++\ntitle = \"Hi\"\nweight = 2\n+++\n",
            ),
            ("blog/bundle/index.md", "+++\nweight = 1\n+++\n"),
            ("blog/bundle/photo.jpg", "x"),
            ("blog/nested/deep.md", ""),
            ("about.md", "+++\npath = \"/about-us\"\n+++\n"),
            ("robots-extra.txt", "x"),
        ]);
        let (m, errs) = SiteModel::load(&t, &cfg(), false);
        assert!(errs.is_empty(), "{errs:?}");
        let paths: Vec<_> = m
            .pages
            .iter()
            .map(|p| (p.relative_path.as_str(), p.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("about.md", "/about-us/"),
                ("blog/2024-01-02-Hello World.md", "/blog/hello-world/"),
                ("blog/bundle/index.md", "/blog/bundle/"),
                ("blog/nested/deep.md", "/blog/nested/deep/"),
            ]
        );
        let blog = &m.sections[m.section_by_path["blog/_index.md"]];
        let listed: Vec<_> = blog.pages.iter().map(|&i| m.pages[i].slug.as_str()).collect();
        assert_eq!(listed, vec!["bundle", "hello-world", "deep"]);
        assert_eq!(m.pages[2].assets, vec!["blog/bundle/photo.jpg"]);
        assert_eq!(m.pages[1].date.unwrap().to_rfc3339(), "2024-01-02T00:00:00+00:00");
        assert_eq!(
            m.sections[m.section_by_path["_index.md"]].assets,
            vec!["robots-extra.txt"]
        );
    }

    #[test]
    fn transparent_sections_list_their_pages_in_the_parent_too() {
        let t = tree(&[
            ("blog/_index.md", "+++\nsort_by = \"title\"\n+++\n"),
            ("blog/2024/_index.md", "+++\ntransparent = true\n+++\n"),
            ("blog/2024/old/_index.md", "+++\ntransparent = true\n+++\n"),
            ("blog/2024/b.md", "+++\ntitle = \"B\"\n+++\n"),
            ("blog/2024/old/c.md", "+++\ntitle = \"C\"\n+++\n"),
            ("blog/a.md", "+++\ntitle = \"A\"\n+++\n"),
            ("other/_index.md", ""),
            ("other/d.md", ""),
        ]);
        let (m, errs) = SiteModel::load(&t, &cfg(), false);
        assert!(errs.is_empty(), "{errs:?}");
        let listed = |s: &str| -> Vec<&str> {
            m.sections[m.section_by_path[s]]
                .pages
                .iter()
                .map(|&i| m.pages[i].relative_path.as_str())
                .collect()
        };
        // Sorted by the listing section's own `sort_by`.
        assert_eq!(
            listed("blog/_index.md"),
            ["blog/a.md", "blog/2024/b.md", "blog/2024/old/c.md"]
        );
        assert_eq!(listed("blog/2024/_index.md"), ["blog/2024/b.md", "blog/2024/old/c.md"]);
        assert_eq!(listed("_index.md"), Vec::<&str>::new(), "`blog` is not transparent");
        let c = &m.pages[m.page_by_path["blog/2024/old/c.md"]];
        assert_eq!(m.sections[c.section].relative_path, "blog/2024/old/_index.md");
    }

    #[test]
    fn drafts_are_left_out_unless_asked() {
        let t = tree(&[("a.md", "+++\ndraft = true\n+++\n"), ("b.md", "")]);
        assert_eq!(SiteModel::load(&t, &cfg(), false).0.pages.len(), 1);
        assert_eq!(SiteModel::load(&t, &cfg(), true).0.pages.len(), 2);
    }

    #[test]
    fn publish_and_expiry_dates_decide_what_is_built_at_a_time() {
        let t = tree(&[
            ("soon.md", "+++\npublish_date = 2024-06-01T12:00:00Z\n+++\n"),
            ("gone.md", "+++\nexpiry_date = \"2024-06-01\"\n+++\n"),
            (
                "both.md",
                "---\npublish_date: 2024-03-01\nexpiry_date: 2024-09-01\n---\n",
            ),
            ("always.md", ""),
        ]);
        let shown = |now: &str, future: bool| -> Vec<String> {
            let v = Visibility {
                drafts: false,
                future,
                now: parse_date(now).unwrap(),
            };
            let (m, errs) = SiteModel::load_cached(&t, &cfg(), v, &mut FrontMatterCache::default());
            assert!(errs.is_empty(), "{errs:?}");
            m.pages.iter().map(|p| p.relative_path.clone()).collect()
        };
        assert_eq!(shown("2024-01-01", false), ["always.md", "gone.md"]);
        assert_eq!(
            shown("2024-01-01", true),
            ["always.md", "both.md", "gone.md", "soon.md"]
        );
        assert_eq!(
            shown("2024-06-01T12:00:00Z", false),
            ["always.md", "both.md", "soon.md"]
        );
        assert_eq!(shown("2024-09-01", false), ["always.md", "soon.md"]);
        // Without a clock: the Unix epoch.
        assert_eq!(SiteModel::load(&t, &cfg(), false).0.pages.len(), 2);
    }

    #[test]
    fn bad_publish_and_expiry_dates_are_errors_at_their_keys() {
        let t = tree(&[(
            "a.md",
            "+++\ntitle = \"A\"\npublish_date = \"soon\"\nexpiry_date = \"2024-13-01\"\n+++\n",
        )]);
        let (m, errs) = SiteModel::load(&t, &cfg(), false);
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            vec![
                "site/content/a.md:3:1: invalid date `soon`: use `YYYY-MM-DD` or RFC 3339 (`2024-05-01T10:00:00Z`)",
                "site/content/a.md:4:1: invalid date `2024-13-01`: use `YYYY-MM-DD` or RFC 3339 (`2024-05-01T10:00:00Z`)",
            ]
        );
        assert_eq!(
            m.pages.len(),
            1,
            "a page with bad dates is still shown, with its errors"
        );
    }

    #[test]
    fn undeclared_taxonomy_and_bad_date_are_errors() {
        let t = tree(&[(
            "a.md",
            "+++\ndate = \"yesterday\"\n[taxonomies]\ncategories = [\"x\"]\n+++\n",
        )]);
        let (_, errs) = SiteModel::load(&t, &cfg(), false);
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            vec![
                "site/content/a.md:2:1: invalid date `yesterday`: use `YYYY-MM-DD` or RFC 3339 (`2024-05-01T10:00:00Z`)",
                "site/content/a.md:4:1: taxonomy `categories` is not declared in config.toml (`[[taxonomies]] name = \"categories\"`)",
            ]
        );
    }
}
