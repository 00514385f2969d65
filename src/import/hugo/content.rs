//! Hugo's content tree → sitegen's, planned as a whole before anything is written: where each
//! file goes (language mounts and `.en.md` suffixes folded into sitegen's `name.CODE.md`
//! convention, Markdown inside leaf bundles kept as resources), which sections Hugo makes
//! without an `_index.md`, each page's URL by Hugo's rules (written as `path` where sitegen's
//! own rules would give another one), and each file's front matter in sitegen's keys.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::shortcodes::{convert_body, Body, RefTarget};
use super::{as_text, get_ci, json_map_to_toml, key_line, parse_data, put_table, text_list, truthy, Format, Site};
use crate::content::front_matter::{self, PAGE_KEYS, SECTION_KEYS};
use crate::error::{line_col, Diagnostic, Errors};
use crate::import::Note;
use crate::paths::hugo_path;

/// One file of a Hugo content folder, as the edge read it.
#[derive(Debug, Clone)]
pub struct ContentFile {
    /// As IMPORT.md shows it (relative to SRC): `content/post/a.md`.
    pub shown: String,
    /// Its path in Hugo's content tree (a mount's target, then the path under the mount).
    pub rel: String,
    /// The language of the mount it comes from, if the mount has one.
    pub lang: Option<String>,
    pub bytes: Vec<u8>,
}

/// A file to write under DEST's `content/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub rel: String,
    pub bytes: Vec<u8>,
}

const MARKDOWN: &[&str] = &["md", "markdown", "mdown", "mkd", "mkdn"];
const OTHER_FORMATS: &[&str] = &["html", "htm", "adoc", "asciidoc", "ad", "org", "rst", "pdc", "pandoc"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `_index.md`: a section (or the home page).
    Section,
    /// `index.md`: a leaf bundle.
    Bundle,
    /// Any other Markdown file.
    Page,
    /// A Markdown file inside a leaf bundle: a resource of the bundle, not a page.
    BundledMarkdown,
}

/// A Markdown file with its front matter read.
struct Doc<'a> {
    file: &'a ContentFile,
    text: String,
    kind: Kind,
    lang: String,
    /// Its folder in the content tree (`post/b` for `post/b/index.md`, `post` for `post/a.md`).
    dir: String,
    /// The file name without language and extension (`a`, `index`, `_index`).
    base: String,
    /// Where it goes under DEST's `content/`.
    dest: String,
    format: Option<Format>,
    fm: Map<String, Value>,
    fm_text: (usize, usize),
    body_offset: usize,
    /// Its URL in the Hugo site (filled in once every file is read).
    url: String,
}

impl Doc<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        get_ci(&self.fm, key).map(|(_, v)| v)
    }

    fn line(&self, key: &str) -> Option<usize> {
        let (a, b) = self.fm_text;
        let format = self.format?;
        key_line(&self.text[a..b], format, &[key]).map(|l| l + line_col(&self.text, a).0 - 1)
    }

    /// Folders of the content tree from its top (`["post"]` for `post/a.md` and
    /// `post/b/index.md`, `["post", "c"]` for `post/c/_index.md`), for URLs.
    fn url_dirs(&self) -> Vec<&str> {
        let d = if self.kind == Kind::Bundle {
            parent(&self.dir)
        } else {
            &self.dir
        };
        d.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// The page's own name: the file's, or the bundle folder's.
    fn name(&self) -> &str {
        match self.kind {
            Kind::Bundle => self.dir.rsplit('/').next().unwrap_or(""),
            _ => &self.base,
        }
    }

    /// Its last URL segment as Hugo makes it: the `slug`, or the name (less a leading date
    /// when the date comes from the file name).
    fn slug(&self, site: &Site) -> String {
        if let Some(s) = self.get("slug").and_then(as_text) {
            return hugo_path(&s);
        }
        let name = self.name();
        let undated = match name.get(..10).zip(name.get(10..11)) {
            Some((d, sep))
                if site.date_from_filename
                    && (sep == "-" || sep == "_")
                    && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok() =>
            {
                &name[11..]
            }
            _ => name,
        };
        hugo_path(undated)
    }

    fn headless(&self) -> bool {
        self.kind == Kind::Bundle && truthy(self.get("headless"))
    }
}

/// A file's front matter: its format (none without one), its byte range, where the body starts.
type Split = (Option<Format>, (usize, usize), usize);

/// Splits off a Hugo front matter: TOML (`+++`), YAML (`---`) or JSON (an object at the very
/// top).
fn split_front_matter(file: &str, text: &str) -> Result<Split, Diagnostic> {
    let lead = text.len() - text.trim_start().len();
    if text[lead..].starts_with('{') {
        let mut it = serde_json::Deserializer::from_str(&text[lead..]).into_iter::<Value>();
        return match it.next() {
            Some(Ok(_)) => {
                let end = lead + it.byte_offset();
                let body = end + text[end..].find('\n').map(|i| i + 1).unwrap_or(text.len() - end);
                Ok((Some(Format::Json), (lead, end), body))
            }
            Some(Err(e)) => {
                let start = line_col(text, lead).0;
                Err(Diagnostic::at(
                    file,
                    start + e.line() - 1,
                    e.column(),
                    format!("not valid JSON front matter: {e}"),
                ))
            }
            None => Ok((None, (0, 0), 0)),
        };
    }
    let s = front_matter::split(file, text)?;
    let format = match s.format {
        front_matter::Format::Toml => Some(Format::Toml),
        front_matter::Format::Yaml => Some(Format::Yaml),
        front_matter::Format::None => None,
    };
    let end = s.front_matter_offset + s.front_matter.len();
    Ok((format, (s.front_matter_offset, end), s.body_offset))
}

/// The file name's parts: (base, language suffix, extension): `a.fr.md` → (`a`, `fr`, `md`).
fn name_parts<'a>(name: &'a str, languages: &[String]) -> (&'a str, Option<&'a str>, &'a str) {
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    match stem.rsplit_once('.') {
        Some((base, lang)) if languages.iter().any(|l| l.eq_ignore_ascii_case(lang)) => (base, Some(lang), ext),
        _ => (stem, None, ext),
    }
}

fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// Plans the whole content tree: every file to write under DEST's `content/`, and the notes.
/// A front matter that does not parse is an error (all of them are reported together).
pub fn plan_content(site: &Site, base_url: &str, files: &[ContentFile]) -> Result<(Vec<Planned>, Vec<Note>), Errors> {
    let Tree {
        mut docs,
        others,
        mut notes,
    } = read_tree(site, files)?;
    let mut planned = Vec::new();
    implicit_sections(site, &docs, &mut planned, &mut notes);
    let sections = section_dirs(&docs);
    for d in &mut docs {
        d.url = hugo_url(site, d, &sections, &mut notes);
    }
    let refs = RefIndex::new(&docs);
    let weighted = weighted_sections(&docs);
    let cascades = cascades(&docs);
    for d in &docs {
        let hidden = cascaded_draft(d, &cascades);
        let (fm, mut n) = convert_front_matter(site, d, weighted.contains(&d.dir), hidden);
        notes.append(&mut n);
        let resolve = |target: &str| refs.resolve(d, target, base_url);
        let body = Body {
            file: &d.file.shown,
            text: &d.text,
            offset: d.body_offset,
            page_params: &d.fm,
            site,
            resolve: &resolve,
        };
        let (text, mut n) = convert_body(&body);
        notes.append(&mut n);
        let out = if fm.is_empty() {
            text
        } else {
            format!("+++\n{fm}+++\n{text}")
        };
        planned.push(Planned {
            rel: d.dest.clone(),
            bytes: out.into_bytes(),
        });
    }
    copy_others(&others, &mut planned, &mut notes);
    Ok((planned, notes))
}

/// The content tree as read: the Markdown files with their front matter, the other files,
/// and notes on what is left out or renamed.
struct Tree<'a> {
    docs: Vec<Doc<'a>>,
    others: Vec<&'a ContentFile>,
    notes: Vec<Note>,
}

/// Sorts the files into Markdown (front matter parsed, place in the tree decided) and the
/// rest. Every front matter that does not parse is an error.
fn read_tree<'a>(site: &Site, files: &'a [ContentFile]) -> Result<Tree<'a>, Errors> {
    let mut all_langs = vec![site.language.clone()];
    all_langs.extend(site.languages.iter().cloned());
    let bundles: BTreeSet<String> = files
        .iter()
        .filter(|f| {
            let name = f.rel.rsplit('/').next().unwrap_or("");
            let (base, _, ext) = name_parts(name, &all_langs);
            base == "index" && MARKDOWN.contains(&ext.to_lowercase().as_str())
        })
        .map(|f| parent(&f.rel).to_string())
        .collect();
    let in_bundle = |rel: &str| {
        bundles
            .iter()
            .any(|b| rel.starts_with(&format!("{b}/")) || (b.is_empty() && !rel.is_empty()))
    };
    let mut tree = Tree {
        docs: Vec::new(),
        others: Vec::new(),
        notes: Vec::new(),
    };
    let mut errors = Vec::new();
    for f in files {
        let name = f.rel.rsplit('/').next().unwrap_or("");
        let (base, suffix, ext) = name_parts(name, &all_langs);
        let ext_l = ext.to_lowercase();
        if name == "_content.gotmpl" {
            tree.notes.push(Note::unsupported(
                &f.shown,
                None,
                "a content adapter (Go template): the pages it makes are not imported",
            ));
        } else if !MARKDOWN.contains(&ext_l.as_str()) {
            if OTHER_FORMATS.contains(&ext_l.as_str()) && !in_bundle(&f.rel) {
                tree.notes.push(Note::unsupported(
                    &f.shown,
                    None,
                    format!("`.{ext}` content is not converted (sitegen renders Markdown); the file is left out"),
                ));
            } else {
                tree.others.push(f);
            }
        } else {
            let kind = match base {
                "_index" => Kind::Section,
                "index" => Kind::Bundle,
                _ if in_bundle(&f.rel) => Kind::BundledMarkdown,
                _ => Kind::Page,
            };
            match read_doc(site, f, kind, base, suffix, &ext_l) {
                Ok((doc, note)) => {
                    tree.notes.extend(note);
                    tree.docs.push(doc);
                }
                Err(e) => errors.push(e),
            }
        }
    }
    if !errors.is_empty() {
        return Err(Errors::sorted(errors));
    }
    Ok(tree)
}

/// One Markdown file: its front matter parsed, its language and place in DEST decided (and
/// a note when the place is not its own path).
fn read_doc<'a>(
    site: &Site,
    f: &'a ContentFile,
    kind: Kind,
    base: &str,
    suffix: Option<&str>,
    ext: &str,
) -> Result<(Doc<'a>, Option<Note>), Diagnostic> {
    let lang = suffix
        .map(str::to_lowercase)
        .or(f.lang.clone())
        .unwrap_or_else(|| site.language.clone());
    let dir = parent(&f.rel).to_string();
    let text = super::utf8(&f.shown, &f.bytes)?;
    let (format, fm_text, body_offset) = split_front_matter(&f.shown, &text)?;
    let fm = match format {
        None => Map::new(),
        Some(fmt) => match parse_data(
            &f.shown,
            &text,
            fm_text.0,
            &text[fm_text.0..fm_text.1],
            fmt,
            "front matter",
        )? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    };
    let lang_suffix = if lang == site.language {
        String::new()
    } else {
        format!(".{lang}")
    };
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let dest = format!("{prefix}{base}{lang_suffix}.md");
    let moved = suffix.is_some_and(|s| s.eq_ignore_ascii_case(&site.language))
        || ext != "md"
        || (f.lang.is_some() && suffix.is_none() && lang != site.language);
    let note = moved.then(|| {
        Note::change(
            &f.shown,
            None,
            format!("→ `content/{dest}` (sitegen: the default language without a suffix, others as `NAME.CODE.md`)"),
        )
    });
    let doc = Doc {
        file: f,
        text,
        kind,
        lang,
        dir,
        base: base.to_string(),
        dest,
        format,
        fm,
        fm_text,
        body_offset,
        url: String::new(),
    };
    Ok((doc, note))
}

/// Files that are not Markdown, at the same path (the files of language mounts meet in one
/// tree; the first one read wins a clash).
fn copy_others(others: &[&ContentFile], planned: &mut Vec<Planned>, notes: &mut Vec<Note>) {
    let mut seen: HashMap<String, usize> = planned.iter().enumerate().map(|(i, p)| (p.rel.clone(), i)).collect();
    for f in others {
        match seen.get(&f.rel) {
            Some(&i) if planned[i].bytes == f.bytes => {}
            Some(_) => notes.push(Note::unsupported(
                &f.shown,
                None,
                format!("not copied: another language's `{}` is already there", f.rel),
            )),
            None => {
                seen.insert(f.rel.clone(), planned.len());
                planned.push(Planned {
                    rel: f.rel.clone(),
                    bytes: f.bytes.clone(),
                });
            }
        }
    }
}

/// Hugo makes every top-level folder a section, `_index.md` or not; sitegen needs the file.
fn implicit_sections(site: &Site, docs: &[Doc<'_>], planned: &mut Vec<Planned>, notes: &mut Vec<Note>) {
    // Per language: Hugo makes the section in each language that has pages in it.
    let has_index: BTreeSet<(&str, &str)> = docs
        .iter()
        .filter(|d| d.kind == Kind::Section)
        .map(|d| (d.dir.as_str(), d.lang.as_str()))
        .collect();
    let mut made = BTreeSet::new();
    for d in docs {
        let top = d.dir.split('/').next().unwrap_or("");
        let leaf = d.kind == Kind::Bundle && d.dir == top;
        if top.is_empty()
            || leaf
            || has_index.contains(&(top, d.lang.as_str()))
            || d.kind == Kind::BundledMarkdown
            || !made.insert((top.to_string(), d.lang.clone()))
        {
            continue;
        }
        let suffix = if d.lang == site.language {
            String::new()
        } else {
            format!(".{}", d.lang)
        };
        let weighted = docs
            .iter()
            .any(|p| p.dir.split('/').next() == Some(top) && p.get("weight").and_then(Value::as_i64).unwrap_or(0) != 0);
        let mut t = toml::Table::new();
        let mut title: Vec<char> = top.chars().collect();
        if let Some(c) = title.first_mut() {
            *c = c.to_ascii_uppercase();
        }
        t.insert("title".into(), toml::Value::String(title.into_iter().collect()));
        if weighted {
            t.insert("sort_by".into(), toml::Value::String("weight".into()));
        }
        let shown = site.content.first().map(|m| m.source.as_str()).unwrap_or("content");
        notes.push(Note::change(
            &format!("{shown}/{top}/"),
            None,
            format!("`content/{top}/_index{suffix}.md` written: Hugo makes every top-level folder a section"),
        ));
        planned.push(Planned {
            rel: format!("{top}/_index{suffix}.md"),
            bytes: format!("+++\n{}+++\n", toml::to_string(&t).unwrap_or_default()).into_bytes(),
        });
    }
}

/// The folders Hugo makes sections of: those with an `_index.md`, and every top-level one
/// that is not a leaf bundle.
fn section_dirs(docs: &[Doc<'_>]) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = docs
        .iter()
        .filter(|d| d.kind == Kind::Section)
        .map(|d| d.dir.clone())
        .collect();
    for d in docs {
        let top = d.dir.split('/').next().unwrap_or("");
        let top_bundle = d.kind == Kind::Bundle && d.dir == top;
        if !top.is_empty() && !top_bundle {
            out.insert(top.to_string());
        }
    }
    out
}

/// Sections whose pages have weights: Hugo orders those pages by weight first.
fn weighted_sections(docs: &[Doc<'_>]) -> BTreeSet<String> {
    let sections: BTreeSet<&str> = docs
        .iter()
        .filter(|d| d.kind == Kind::Section)
        .map(|d| d.dir.as_str())
        .collect();
    let mut out = BTreeSet::new();
    for d in docs.iter().filter(|d| matches!(d.kind, Kind::Page | Kind::Bundle)) {
        if d.get("weight").and_then(Value::as_i64).unwrap_or(0) == 0 {
            continue;
        }
        let mut dir = if d.kind == Kind::Bundle {
            parent(&d.dir)
        } else {
            d.dir.as_str()
        };
        while !dir.is_empty() && !sections.contains(dir) && dir.contains('/') {
            dir = parent(dir);
        }
        out.insert(dir.to_string());
    }
    out
}

/// `build.render` of a front matter table (`_build` is its old name).
fn build_render(m: &Map<String, Value>) -> Option<String> {
    let build = get_ci(m, "build")
        .or_else(|| get_ci(m, "_build"))
        .and_then(|(_, b)| b.as_object())?;
    get_ci(build, "render")
        .and_then(|(_, r)| as_text(r))
        .map(|r| r.to_lowercase())
}

fn renders_never(r: Option<String>) -> bool {
    r.is_some_and(|r| r == "never" || r == "false")
}

/// Sections whose `cascade` says `build.render = "never"`: (folder, whether the section
/// renders itself anyway, its file). Hugo publishes nothing below them; the section itself
/// too unless its own `build.render` says otherwise (its glossary: a page listing terms that
/// have no pages).
fn cascades(docs: &[Doc<'_>]) -> Vec<(String, bool, String)> {
    docs.iter()
        .filter(|d| d.kind == Kind::Section)
        .filter(|d| {
            let targets: Vec<&Map<String, Value>> = match d.get("cascade") {
                Some(Value::Object(m)) => vec![m],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
                _ => vec![],
            };
            targets.iter().any(|m| renders_never(build_render(m)))
        })
        .map(|d| {
            let itself = build_render(&d.fm).is_some_and(|r| !renders_never(Some(r)));
            (d.dir.clone(), itself, d.file.shown.clone())
        })
        .collect()
}

/// Why a file is written as a draft because of a `cascade` (nothing: it is not).
fn cascaded_draft(d: &Doc<'_>, cascades: &[(String, bool, String)]) -> Option<String> {
    if build_render(&d.fm).is_some_and(|r| !renders_never(Some(r))) {
        return None;
    }
    for (dir, itself, shown) in cascades {
        if d.kind == Kind::Section && d.dir == *dir {
            if !itself {
                return Some(
                    "`cascade` with `build.render = \"never\"` → `draft = true`: nothing here is published, as in Hugo"
                        .into(),
                );
            }
            continue;
        }
        let below = dir.is_empty() || d.dir == *dir || d.dir.starts_with(&format!("{dir}/"));
        if below && *itself {
            return Some(format!(
                "`build.render = \"never\"` cascaded from `{shown}` → `draft = true`: Hugo does not publish it"
            ));
        }
    }
    None
}

/// The page's date by Hugo's rules (the first of the configured keys that is set).
fn hugo_date<'a>(site: &Site, d: &'a Doc<'_>) -> Option<(&'a str, String)> {
    site.date_keys
        .iter()
        .find_map(|k| get_ci(&d.fm, k).and_then(|(key, v)| as_text(v).map(|s| (key, s))))
}

/// The page's URL as Hugo writes it.
fn hugo_url(site: &Site, d: &Doc<'_>, sections: &BTreeSet<String>, notes: &mut Vec<Note>) -> String {
    let lang = if d.lang == site.language {
        String::new()
    } else {
        format!("/{}", d.lang)
    };
    if let Some(url) = d.get("url").and_then(as_text) {
        if d.kind != Kind::Section {
            let p = crate::paths::normalize_url_path(&url);
            return format!("{lang}{p}");
        }
    }
    let dirs: Vec<String> = d.url_dirs().iter().map(|s| hugo_path(s)).collect();
    if d.kind == Kind::Section {
        return format!("{lang}/{}", dirs.iter().map(|s| format!("{s}/")).collect::<String>());
    }
    let slug = d.slug(site);
    let top = d.dir.split('/').next().unwrap_or("");
    let key = if top.is_empty() || (d.kind == Kind::Bundle && !d.dir.contains('/')) {
        "/"
    } else {
        top
    };
    if let Some((_, pattern)) = site
        .permalinks
        .iter()
        .find(|(s, _)| s == key || (s == "/" && key == "/"))
    {
        // `:sections` are the sections the page is in: folders with an `_index.md`, and the
        // top-level one; other folders are not.
        let mut chain = Vec::new();
        let mut prefix = String::new();
        for seg in d.url_dirs() {
            prefix = if prefix.is_empty() {
                seg.to_string()
            } else {
                format!("{prefix}/{seg}")
            };
            if sections.contains(&prefix) {
                chain.push(hugo_path(seg));
            }
        }
        match expand_permalink(site, d, pattern, &chain) {
            Ok(p) => return format!("{lang}{p}"),
            Err(token) => notes.push(Note::unsupported(
                &d.file.shown,
                None,
                format!("permalink token `{token}` is not known; the page keeps its folder URL"),
            )),
        }
    }
    let base: String = dirs.iter().map(|s| format!("/{s}")).collect();
    if site.ugly_urls {
        return format!("{lang}{base}/{slug}.html");
    }
    format!("{lang}{base}/{slug}/")
}

/// A permalink pattern with the page's values: `/:year/:month/:slug/`. `Err`: an unknown token.
fn expand_permalink(site: &Site, d: &Doc<'_>, pattern: &str, sections: &[String]) -> Result<String, String> {
    let date = hugo_date(site, d)
        .and_then(|(_, s)| parse_any_date(&s))
        .unwrap_or_default();
    let title = hugo_path(&d.get("title").and_then(as_text).unwrap_or_default());
    let slug = d.get("slug").and_then(as_text).map(|s| hugo_path(&s));
    let filename = hugo_path(d.name());
    let re = regex::Regex::new(r":([a-zA-Z]+)(\[[^\]]*\])?").expect("a valid pattern");
    let mut out = String::new();
    let mut last = 0;
    for c in re.captures_iter(pattern) {
        let m = c.get(0).expect("a match");
        out.push_str(&pattern[last..m.start()]);
        last = m.end();
        let token = &c[1];
        let value = match token {
            "year" => date.format("%Y").to_string(),
            "month" => date.format("%m").to_string(),
            "monthname" => date.format("%B").to_string().to_lowercase(),
            "day" => date.format("%d").to_string(),
            "weekday" => date.format("%w").to_string(),
            "weekdayname" => date.format("%A").to_string().to_lowercase(),
            "yearday" => date.format("%j").to_string(),
            "section" => sections.first().cloned().unwrap_or_default(),
            "sections" => slice_sections(sections, c.get(2).map(|m| m.as_str())),
            "title" => title.clone(),
            "slug" => slug.clone().unwrap_or_else(|| title.clone()),
            "filename" | "contentbasename" => filename.clone(),
            "slugorfilename" | "slugorcontentbasename" => slug.clone().unwrap_or_else(|| filename.clone()),
            other => return Err(format!(":{other}")),
        };
        out.push_str(&value);
    }
    out.push_str(&pattern[last..]);
    let mut p = crate::paths::normalize_url_path(&out.replace("//", "/"));
    if site.ugly_urls && p.ends_with('/') && p.len() > 1 {
        p = format!("{}.html", p.trim_end_matches('/'));
    }
    Ok(p)
}

/// `:sections`, `:sections[1:]`, `:sections[:last]`, `:sections[last]`.
fn slice_sections(dirs: &[String], range: Option<&str>) -> String {
    let Some(r) = range.map(|r| r.trim_matches(['[', ']'])) else {
        return dirs.join("/");
    };
    let n = dirs.len();
    let idx = |s: &str, dflt: usize| match s {
        "" => dflt,
        "last" => n.saturating_sub(1),
        x => x.parse().unwrap_or(dflt).min(n),
    };
    match r.split_once(':') {
        Some((a, b)) => {
            let (a, b) = (idx(a, 0), if b == "last" { n.saturating_sub(1) } else { idx(b, n) });
            dirs.get(a..b.max(a)).map(|s| s.join("/")).unwrap_or_default()
        }
        None => dirs.get(idx(r, 0)).cloned().unwrap_or_default(),
    }
}

/// Dates as Hugo accepts them, as a date-time (UTC when no offset is given).
fn parse_any_date(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    if let Some(d) = crate::content::parse_date(s) {
        return Some(d);
    }
    let s = s.trim();
    for f in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S %z",
    ] {
        if let Ok(d) = chrono::DateTime::parse_from_str(s, f) {
            return Some(d);
        }
    }
    let utc = chrono::FixedOffset::east_opt(0)?;
    for f in ["%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%d.%m.%Y"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, f) {
            return d.and_hms_opt(0, 0, 0)?.and_local_timezone(utc).single();
        }
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S %Z")
        .ok()
        .and_then(|d| d.and_local_timezone(utc).single())
}

/// A date for sitegen's front matter: as written when sitegen reads it, else RFC 3339.
fn sitegen_date(s: &str) -> Option<toml::Value> {
    let text = if crate::content::parse_date(s).is_some() {
        s.trim().to_string()
    } else {
        parse_any_date(s)?.to_rfc3339()
    };
    Some(match text.parse::<toml::value::Datetime>() {
        Ok(d) => toml::Value::Datetime(d),
        Err(_) => toml::Value::String(text),
    })
}

/// Resolves `ref`/`relref` targets the way Hugo finds pages: relative to the page, then from
/// the content root, then by file name when only one page has it.
struct RefIndex {
    /// Lookup key (lowercase, no extension) → (language, DEST path, Hugo URL).
    by_path: HashMap<String, Vec<(String, String, String)>>,
    by_name: HashMap<String, Vec<(String, String, String)>>,
}

impl RefIndex {
    fn new(docs: &[Doc<'_>]) -> RefIndex {
        let mut by_path: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
        let mut by_name: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
        for d in docs.iter().filter(|d| d.kind != Kind::BundledMarkdown) {
            let entry = (d.lang.clone(), d.dest.clone(), d.url.clone());
            let file = format!(
                "{}{}",
                if d.dir.is_empty() {
                    String::new()
                } else {
                    format!("{}/", d.dir)
                },
                d.base
            )
            .to_lowercase();
            let mut keys = vec![file];
            if d.kind != Kind::Page {
                keys.push(d.dir.to_lowercase());
            }
            for k in keys {
                by_path.entry(k).or_default().push(entry.clone());
            }
            by_name.entry(d.name().to_lowercase()).or_default().push(entry.clone());
        }
        RefIndex { by_path, by_name }
    }

    fn resolve(&self, from: &Doc<'_>, target: &str, base_url: &str) -> Option<RefTarget> {
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, format!("#{a}")),
            None => (target, String::new()),
        };
        if path.is_empty() {
            return Some(RefTarget {
                at: format!("@/{}{anchor}", from.dest),
                url: format!("{}{anchor}", from.url),
                permalink: format!("{}{}{anchor}", base_url.trim_end_matches('/'), from.url),
            });
        }
        let clean = |p: &str| {
            let p = p.trim_end_matches('/').to_lowercase();
            let p = MARKDOWN
                .iter()
                .find_map(|e| p.strip_suffix(&format!(".{e}")))
                .map(String::from)
                .unwrap_or(p);
            crate::paths::normalize(&p)
        };
        let mut candidates = Vec::new();
        if !path.starts_with('/') {
            candidates.extend(clean(&format!("{}/{path}", from.dir)));
        }
        candidates.extend(clean(path.trim_start_matches('/')));
        let pick = |list: &Vec<(String, String, String)>| {
            list.iter().find(|(l, _, _)| *l == from.lang).or(list.first()).cloned()
        };
        let found = candidates
            .iter()
            .find_map(|c| self.by_path.get(c).and_then(pick))
            .or_else(|| {
                let name = clean(path)?.rsplit('/').next()?.to_string();
                self.by_name
                    .get(&name)
                    .filter(|v| v.iter().filter(|(l, _, _)| *l == from.lang).count() == 1)
                    .and_then(pick)
            })?;
        let (_, dest, url) = found;
        Some(RefTarget {
            at: format!("@/{dest}{anchor}"),
            url: format!("{url}{anchor}"),
            permalink: format!("{}{url}{anchor}", base_url.trim_end_matches('/')),
        })
    }
}

/// The sitegen front matter of one file (TOML text without fences; empty when there is
/// nothing to write) and its notes.
fn convert_front_matter(site: &Site, d: &Doc<'_>, weighted: bool, hidden: Option<String>) -> (String, Vec<Note>) {
    let mut fm = FrontMatter {
        site,
        d,
        out: toml::Table::new(),
        taxonomies: toml::Table::new(),
        extra: toml::Table::new(),
        notes: Vec::new(),
    };
    fm.convert(weighted);
    if let Some(why) = hidden {
        fm.out.insert("draft".into(), toml::Value::Boolean(true));
        fm.note("cascade", true, why);
    }
    let FrontMatter {
        mut out,
        taxonomies,
        extra,
        notes,
        ..
    } = fm;
    put_table(&mut out, "taxonomies", taxonomies);
    put_table(&mut out, "extra", extra);
    if out.is_empty() {
        return (String::new(), notes);
    }
    // sitegen's order of keys; taxonomies and extra (put in above) stay last.
    let order = if d.kind == Kind::Section {
        SECTION_KEYS
    } else {
        PAGE_KEYS
    };
    let rank = |k: &str| order.iter().position(|o| *o == k).unwrap_or(order.len());
    let mut entries: Vec<(String, toml::Value)> = out.into_iter().collect();
    entries.sort_by_key(|(k, _)| rank(k));
    let out: toml::Table = entries.into_iter().collect();
    (toml::to_string(&out).unwrap_or_default(), notes)
}

struct FrontMatter<'a> {
    site: &'a Site,
    d: &'a Doc<'a>,
    out: toml::Table,
    taxonomies: toml::Table,
    extra: toml::Table,
    notes: Vec<Note>,
}

impl FrontMatter<'_> {
    fn note(&mut self, key: &str, change: bool, message: String) {
        let line = self.d.line(key);
        let file = &self.d.file.shown;
        self.notes.push(if change {
            Note::change(file, line, message)
        } else {
            Note::unsupported(file, line, message)
        });
    }

    fn keep(&mut self, key: &str, v: &Value, why: &str) {
        let mut dropped = Vec::new();
        if let Some(t) = super::json_to_toml(v, key, &mut dropped) {
            self.extra.insert(key.to_string(), t);
        }
        self.note(key, false, format!("front matter `{key}` moved to `[extra]`: {why}"));
    }

    fn convert(&mut self, weighted: bool) {
        let d = self.d;
        let section = d.kind == Kind::Section;
        self.dates();
        let date_keys: Vec<String> = [&self.site.date_keys, &self.site.lastmod_keys]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for (key, v) in &d.fm {
            let lower = key.to_lowercase();
            let text = as_text(v);
            match lower.as_str() {
                "title" | "description" => {
                    self.out
                        .insert(lower.clone(), toml::Value::String(text.unwrap_or_default()));
                }
                "summary" if !d.fm.keys().any(|k| k.eq_ignore_ascii_case("description")) => {
                    self.out
                        .insert("description".into(), toml::Value::String(text.unwrap_or_default()));
                    self.note(
                        key,
                        true,
                        format!("`{key}` → `description` (the default theme lists pages with it)"),
                    );
                }
                "draft" => {
                    if truthy(Some(v)) {
                        self.out.insert("draft".into(), toml::Value::Boolean(true));
                    }
                }
                "weight" => match v.as_i64() {
                    Some(0) | None => {}
                    Some(w) => {
                        self.out.insert("weight".into(), toml::Value::Integer(w));
                    }
                },
                "slug" if !section => {
                    self.out
                        .insert("slug".into(), toml::Value::String(text.unwrap_or_default()));
                }
                "url" if !section => {}
                "aliases" => self.aliases(key, v),
                "headless" if d.kind == Kind::Bundle => {}
                "build" | "_build" => self.build(key, v),
                "params" => {
                    let mut dropped = Vec::new();
                    let t = json_map_to_toml(v.as_object().unwrap_or(&Map::new()), "params", &mut dropped);
                    self.extra.extend(t);
                }
                "sitemap" if truthy(v.as_object().and_then(|m| get_ci(m, "disable")).map(|(_, v)| v)) => {
                    self.out.insert("in_sitemap".into(), toml::Value::Boolean(false));
                }
                k if self.site.taxonomies.iter().any(|t| t == k) => self.terms(key, v, section),
                k if self
                    .site
                    .publish_keys
                    .iter()
                    .chain(&self.site.expiry_keys)
                    .any(|x| x == k)
                    && !["date", "lastmod", "modified"].contains(&k) =>
                {
                    self.keep(
                        key,
                        v,
                        "sitegen does not hold pages back until a date, nor take them down after one (yet)",
                    );
                    if let Some(d) = text.as_deref().and_then(sitegen_date) {
                        self.extra.insert(key.clone(), d);
                    }
                    self.held_back(key, text.as_deref(), self.site.expiry_keys.iter().any(|x| x == k));
                }
                k if date_keys.iter().any(|x| x == k) => {}
                "layout" | "type" => self.keep(
                    key,
                    v,
                    "Go templates are not converted; choose a sitegen template with `template = \"NAME.html\"`",
                ),
                "cascade" => self.keep(key, v, "front matter is not cascaded to descendants"),
                "outputs" => self.keep(key, v, "sitegen writes HTML pages only"),
                "menu" | "menus" => self.keep(key, v, "the default theme has no menus"),
                "resources" => self.keep(key, v, "bundle resources keep their file names and have no metadata"),
                "translationkey" => self.keep(key, v, "translations are found by file name (`NAME.CODE.md`)"),
                "url" | "slug" => self.keep(key, v, "a section's URL is its folder"),
                _ => self.keep(key, v, "kept under `extra`"),
            }
        }
        self.url();
        if section && weighted {
            self.out.insert("sort_by".into(), toml::Value::String("weight".into()));
            self.notes.push(Note::change(
                &d.file.shown,
                None,
                "`sort_by = \"weight\"`: its pages have weights, which Hugo orders by first",
            ));
        }
        if d.headless() {
            self.out.insert("draft".into(), toml::Value::Boolean(true));
            self.note(
                "headless",
                true,
                "headless bundle → `draft = true`: not published, as in Hugo".into(),
            );
        }
        if d.kind == Kind::BundledMarkdown {
            self.out.insert("draft".into(), toml::Value::Boolean(true));
            self.notes.push(Note::change(
                &d.file.shown,
                None,
                "a Markdown file inside a leaf bundle is a resource in Hugo, not a page: `draft = true`",
            ));
        }
    }

    /// A page Hugo does not publish at the time of the import: expired, or to be published
    /// later (sitegen publishes it).
    fn held_back(&mut self, key: &str, date: Option<&str>, expiry: bool) {
        let (Some(now), Some(date)) = (self.site.now, date.and_then(parse_any_date)) else {
            return;
        };
        let day = date.format("%Y-%m-%d");
        if expiry && date <= now {
            self.note(
                key,
                false,
                format!(
                    "expired on {day}: Hugo no longer publishes this page, sitegen does (`draft = true` leaves it out)"
                ),
            );
        } else if !expiry && date > now {
            self.note(key, false, format!("to be published on {day}: Hugo does not publish this page before then, sitegen does (`draft = true` holds it back)"));
        }
    }

    /// `date`/`updated` from the keys Hugo reads them from.
    fn dates(&mut self) {
        let site = self.site;
        let d = self.d;
        let first = |keys: &[String]| {
            keys.iter()
                .find_map(|k| get_ci(&d.fm, k).and_then(|(key, v)| as_text(v).map(|s| (key.to_string(), s))))
        };
        let date = first(&site.date_keys);
        let updated = first(&site.lastmod_keys);
        for (slot, found) in [("date", &date), ("updated", &updated)] {
            let Some((key, s)) = found else { continue };
            if slot == "updated" && date.as_ref().is_some_and(|(_, ds)| ds == s) {
                continue;
            }
            match sitegen_date(s) {
                Some(v) => {
                    self.out.insert(slot.into(), v);
                    if !key.eq_ignore_ascii_case(slot) {
                        self.note(key, true, format!("`{key}` → `{slot}`"));
                    }
                }
                None => self.keep(key, &Value::String(s.clone()), "not a date sitegen reads"),
            }
        }
        if d.kind == Kind::Section {
            if let Some(v) = self.out.remove("date") {
                self.extra.insert("date".into(), v);
            }
            if let Some(v) = self.out.remove("updated") {
                self.extra.insert("updated".into(), v);
            }
        }
    }

    fn terms(&mut self, key: &str, v: &Value, section: bool) {
        let terms: Vec<toml::Value> = text_list(v).into_iter().map(toml::Value::String).collect();
        if terms.is_empty() {
            return;
        }
        if section {
            self.keep(
                key,
                v,
                "a section has no taxonomy terms in sitegen (Hugo lists it on the term's page)",
            );
            return;
        }
        self.taxonomies.insert(key.to_lowercase(), toml::Value::Array(terms));
    }

    /// Aliases as absolute paths (Hugo resolves relative ones against the page's folder).
    fn aliases(&mut self, key: &str, v: &Value) {
        let list = text_list(v);
        let base = self.d.url.trim_end_matches('/');
        let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or("");
        let mut relative = false;
        let abs: Vec<toml::Value> = list
            .iter()
            .map(|a| {
                if a.starts_with('/') || a.contains("://") {
                    a.clone()
                } else {
                    relative = true;
                    format!("{base}/{a}")
                }
            })
            .map(toml::Value::String)
            .collect();
        if self.site.disable_aliases {
            self.extra.insert("aliases".into(), toml::Value::Array(abs));
            self.note(
                key,
                true,
                "`aliases` → `[extra] aliases`: the site sets `disableAliases`".into(),
            );
            return;
        }
        if relative {
            self.note(
                key,
                true,
                "relative aliases written from the root, as Hugo resolves them".into(),
            );
        }
        self.out.insert("aliases".into(), toml::Value::Array(abs));
    }

    /// `build` options: pages Hugo does not render are left out of the build (`draft`).
    fn build(&mut self, key: &str, v: &Value) {
        let Some(m) = v.as_object() else { return };
        for (k, x) in m {
            let val = as_text(x).unwrap_or_default().to_lowercase();
            match (k.to_lowercase().as_str(), val.as_str()) {
                ("render", "never" | "false" | "link") => {
                    let slot = if self.d.kind == Kind::Section {
                        "render"
                    } else {
                        "draft"
                    };
                    let on = slot == "draft";
                    self.out.insert(slot.into(), toml::Value::Boolean(on));
                    self.note(
                        key,
                        true,
                        format!("`{key}.{k} = \"{val}\"` → `{slot} = {on}`: Hugo writes no page for it"),
                    );
                }
                ("render" | "list" | "publishresources", "always" | "true") => {}
                _ => self.note(
                    key,
                    false,
                    format!("`{key}.{k} = \"{val}\"` is not converted: the page is listed and its files published"),
                ),
            }
        }
    }

    /// `path` where Hugo's URL is not the one sitegen's rules give (a `url`, a permalink,
    /// ugly URLs).
    fn url(&mut self) {
        let d = self.d;
        if matches!(d.kind, Kind::Section | Kind::BundledMarkdown) || d.headless() {
            return;
        }
        let lang = format!("/{}", d.lang);
        let path = if d.lang != self.site.language {
            d.url.strip_prefix(&lang).unwrap_or(&d.url)
        } else {
            &d.url
        };
        let dirs: String = d.url_dirs().iter().map(|s| format!("/{}", hugo_path(s))).collect();
        if path == format!("{dirs}/{}/", d.slug(self.site)) {
            return;
        }
        self.out.insert("path".into(), toml::Value::String(path.to_string()));
        let why = if d.get("url").is_some() {
            self.out.remove("slug");
            "`url` → `path`"
        } else if path.ends_with(".html") && !self.site.permalinks.iter().any(|(_, p)| p.contains(':')) {
            "`uglyURLs`: `path` with `.html`"
        } else {
            "its permalink → `path`"
        };
        self.note("url", true, format!("{why} (`{path}`)"));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn site(config: &str) -> Site {
        let f = super::super::ConfigFile {
            file: "hugo.toml".into(),
            text: config.into(),
            format: Format::Toml,
            prefix: vec![],
        };
        super::super::convert_config(&[f], &[]).unwrap().1
    }

    fn file(rel: &str, text: &str) -> ContentFile {
        ContentFile {
            shown: format!("content/{rel}"),
            rel: rel.into(),
            lang: None,
            bytes: text.as_bytes().to_vec(),
        }
    }

    fn plan(site: &Site, files: &[ContentFile]) -> (BTreeMap<String, String>, Vec<Note>) {
        let (p, notes) = plan_content(site, "https://example.org/", files).unwrap_or_else(|e| panic!("{e}"));
        (
            p.into_iter()
                .map(|p| (p.rel, String::from_utf8(p.bytes).unwrap()))
                .collect(),
            notes,
        )
    }

    #[test]
    fn front_matter_in_three_formats() {
        let s = site("baseURL = \"/\"\n[taxonomies]\ntag = \"tags\"\nseries = \"series\"\n");
        let toml = "+++\ntitle = \"T\"\ndate = \"2019-03-11\"\nlastmod = 2020-01-02T03:04:05Z\ntags = [\"a\", \"b\"]\nseries = \"S\"\nauthor = \"Me\"\naliases = [\"old\", \"/abs/\"]\nweight = 0\n+++\nBody\n";
        let yaml = "---\ntitle: Y\ndate: 2019-03-08\ndescription: D\nmath: true\ndraft: true\nexpiryDate: 2030-01-01\n---\nBody\n";
        let json = "{\n  \"title\": \"J\",\n  \"date\": \"2019-03-05\",\n  \"tags\": [\"emoji\"],\n  \"slug\": \"My Emoji\"\n}\nBody\n";
        let (out, notes) = plan(
            &s,
            &[
                file("post/t.md", toml),
                file("post/y.md", yaml),
                file("post/j.md", json),
            ],
        );
        assert_eq!(
            out["post/t.md"],
            "+++\ntitle = \"T\"\ndate = 2019-03-11\nupdated = 2020-01-02T03:04:05Z\naliases = [\"/post/old\", \"/abs/\"]\n\n[taxonomies]\ntags = [\"a\", \"b\"]\nseries = [\"S\"]\n\n[extra]\nauthor = \"Me\"\n+++\nBody\n"
        );
        assert_eq!(
            out["post/y.md"],
            "+++\ntitle = \"Y\"\ndescription = \"D\"\ndate = 2019-03-08\ndraft = true\n\n[extra]\nmath = true\nexpiryDate = 2030-01-01\n+++\nBody\n"
        );
        assert_eq!(
            out["post/j.md"],
            "+++\ntitle = \"J\"\ndate = 2019-03-05\nslug = \"My Emoji\"\n\n[taxonomies]\ntags = [\"emoji\"]\n+++\nBody\n"
        );
        // The implicit section Hugo makes of the top-level folder.
        assert_eq!(out["post/_index.md"], "+++\ntitle = \"Post\"\n+++\n");
        let lines: Vec<String> = notes
            .iter()
            .filter(|n| !n.change)
            .map(|n| format!("{}:{}", n.file, n.line.unwrap_or(0)))
            .collect();
        assert_eq!(
            lines,
            ["content/post/t.md:7", "content/post/y.md:5", "content/post/y.md:7"]
        );
    }

    /// Hugo leaves out expired pages and pages to be published later; the report says which
    /// (at the import's time), as sitegen publishes them.
    #[test]
    fn expired_and_future_pages_are_noted() {
        let mut s = site("baseURL = \"/\"\n");
        s.now = crate::content::parse_date("2025-01-01");
        let (out, notes) = plan(
            &s,
            &[
                file("old.md", "---\ntitle: Old\nexpiryDate: 2024-06-01\n---\n"),
                file("new.md", "---\ntitle: New\npublishDate: 2026-02-03T10:00:00Z\n---\n"),
                file("now.md", "---\ntitle: Now\nexpiryDate: 2030-01-01\n---\n"),
            ],
        );
        assert!(
            out["old.md"].contains("[extra]\nexpiryDate = 2024-06-01\n"),
            "{}",
            out["old.md"]
        );
        let held: Vec<String> = notes
            .iter()
            .filter(|n| n.message.contains("Hugo"))
            .map(|n| format!("{}:{} {}", n.file, n.line.unwrap_or(0), n.message))
            .collect();
        assert_eq!(
            held,
            [
                "content/old.md:3 expired on 2024-06-01: Hugo no longer publishes this page, sitegen does (`draft = true` leaves it out)",
                "content/new.md:3 to be published on 2026-02-03: Hugo does not publish this page before then, sitegen does (`draft = true` holds it back)"
            ]
        );
    }

    #[test]
    fn bad_front_matter_is_an_error_at_its_line() {
        let s = site("baseURL = \"/\"\n");
        let e = plan_content(
            &s,
            "/",
            &[
                file("a.md", "---\ntitle: [\n---\n"),
                file("b.md", "+++\ntitle = \n+++\n"),
            ],
        )
        .unwrap_err();
        let at: Vec<String> = e.0.iter().map(|d| format!("{}:{}", d.file, d.line.unwrap())).collect();
        assert_eq!(at, ["content/a.md:3", "content/b.md:2"]);
    }

    #[test]
    fn permalinks_urls_and_ugly_urls_become_paths() {
        let s = site("baseURL = \"/\"\n[permalinks]\nposts = \"/:year/:month/:slug/\"\n[permalinks.page]\ndocs = \"/:sections[1:]/:filename/\"\n");
        let (out, _) = plan(
            &s,
            &[
                file("posts/a.md", "+++\ntitle = \"Hello World\"\ndate = 2024-02-03\n+++\n"),
                file(
                    "posts/b.md",
                    "+++\ntitle = \"B\"\nslug = \"Bee\"\ndate = 2023-12-01\n+++\n",
                ),
                file("posts/c.md", "+++\ntitle = \"C\"\nurl = \"/Custom/C\"\n+++\n"),
                file("docs/x/y/Z_z.md", "+++\ntitle = \"Z\"\n+++\n"),
                file("docs/s/_index.md", "+++\ntitle = \"S\"\n+++\n"),
                file("docs/s/t.md", "+++\ntitle = \"T\"\n+++\n"),
                file("about.md", "+++\ntitle = \"About\"\n+++\n"),
            ],
        );
        for (file, path) in [
            ("posts/a.md", "/2024/02/hello-world/"),
            ("posts/b.md", "/2023/12/bee/"),
            ("posts/c.md", "/Custom/C/"),
            // `x/` and `y/` have no `_index.md`: not sections, so not in `:sections` (as Hugo).
            ("docs/x/y/Z_z.md", "/z_z/"),
            ("docs/s/t.md", "/s/t/"),
        ] {
            assert!(
                out[file].contains(&format!("path = \"{path}\"\n")),
                "{file}: {}",
                out[file]
            );
        }
        assert!(!out["about.md"].contains("path"), "{}", out["about.md"]);
        let s = site("baseURL = \"/\"\nuglyURLs = true\n");
        let (out, _) = plan(&s, &[file("posts/My Post.md", "+++\ntitle = \"A\"\n+++\n")]);
        assert!(
            out["posts/My Post.md"].contains("path = \"/posts/my-post.html\"\n"),
            "{}",
            out["posts/My Post.md"]
        );
    }

    #[test]
    fn bundles_languages_and_headless_content() {
        let s = site("baseURL = \"/\"\ndefaultContentLanguage = \"en\"\n[languages.en]\nweight = 1\n[languages.fr]\nweight = 2\ncontentDir = \"content/fr\"\n");
        let mut fr = file("post/a.md", "+++\ntitle = \"Bonjour\"\n+++\n");
        fr.lang = Some("fr".into());
        fr.shown = "content/fr/post/a.md".into();
        let (out, notes) = plan(
            &s,
            &[
                file("post/a.en.md", "+++\ntitle = \"Hello\"\n+++\n"),
                fr,
                file("post/b/index.md", "+++\ntitle = \"B\"\n+++\n"),
                file("post/b/photo.jpg", "JPEG"),
                file("home/index.md", "---\nheadless: true\n---\n"),
                file("home/work.md", "---\ntitle: Work\n---\nText\n"),
                file("_common/_index.md", "---\ncascade:\n  build:\n    render: never\n---\n"),
                file("_common/snippet.md", "Snippet\n"),
                file(
                    "glossary/_index.md",
                    "---\nbuild:\n  render: always\ncascade:\n  build:\n    render: never\n---\n",
                ),
                file("glossary/term.md", "---\ntitle: Term\n---\n"),
            ],
        );
        let names: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "_common/_index.md",
                "_common/snippet.md",
                "glossary/_index.md",
                "glossary/term.md",
                "home/index.md",
                "home/work.md",
                // Hugo makes `post` a section in French too (it has a French page).
                "post/_index.fr.md",
                "post/_index.md",
                "post/a.fr.md",
                "post/a.md",
                "post/b/index.md",
                "post/b/photo.jpg"
            ]
        );
        // The glossary renders itself (its own `build`), not what its `cascade` hides.
        assert!(
            !out["glossary/_index.md"].contains("draft"),
            "{}",
            out["glossary/_index.md"]
        );
        assert!(
            out["glossary/term.md"].contains("draft = true"),
            "{}",
            out["glossary/term.md"]
        );
        assert!(out["home/index.md"].contains("draft = true"));
        assert!(out["home/work.md"].contains("draft = true"));
        assert!(
            out["_common/_index.md"].starts_with("+++\ndraft = true\n"),
            "{}",
            out["_common/_index.md"]
        );
        assert!(notes
            .iter()
            .any(|n| n.file == "content/post/a.en.md" && n.message.starts_with("→ `content/post/a.md`")));
    }
}
