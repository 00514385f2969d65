//! Hugo's config → sitegen's `config.toml`, key by key, and the [`Site`]: what the content
//! conversion needs to know of the config (languages, taxonomies, permalinks, date keys,
//! where content lives). Hugo's keys are case-insensitive, so they are matched that way and
//! written as they were.

use serde_json::{Map, Value};

use super::{as_text, get_ci, get_path, json_map_to_toml, key_line, parse_data, put_table, text_list, truthy, Format};
use crate::error::Errors;
use crate::import::Note;

/// One file of a Hugo config: the root `hugo.toml` (or `config.toml`, `hugo.yaml`, …) or a
/// file of `config/_default/`, whose keys land under `prefix` (`params.toml` → `params`,
/// `menus.en.toml` → `languages.en.menus`).
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// As IMPORT.md shows it (relative to SRC).
    pub file: String,
    pub text: String,
    pub format: Format,
    pub prefix: Vec<String>,
}

impl ConfigFile {
    /// Where the keys of a `config/_default/` file land, by its name.
    pub fn prefix_for(name: &str) -> Vec<String> {
        let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name).to_lowercase();
        match stem.split_once('.') {
            _ if stem == "hugo" || stem == "config" => vec![],
            Some((key, lang)) => vec!["languages".into(), lang.into(), key.into()],
            None => vec![stem],
        }
    }
}

/// A folder mounted into one of Hugo's component folders (content, static, assets, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The folder in the Hugo site (relative to SRC).
    pub source: String,
    /// Where it lands under the component folder (`""`: at its root).
    pub target: String,
    /// Content of this language only (a language's `contentDir`, a mount's `lang`).
    pub lang: Option<String>,
}

/// What the content conversion needs to know of the Hugo config.
#[derive(Debug, Clone)]
pub struct Site {
    /// The default content language (lowercase).
    pub language: String,
    /// The other languages, lowercase.
    pub languages: Vec<String>,
    /// Taxonomies by their front matter key (Hugo's plural name), lowercase.
    pub taxonomies: Vec<String>,
    /// Page permalink patterns by top-level section (`/` for the root section's pages).
    pub permalinks: Vec<(String, String)>,
    /// Site params, for the `param` shortcode.
    pub params: Map<String, Value>,
    pub ugly_urls: bool,
    /// Front matter keys giving each date, in Hugo's order of preference (lowercase).
    pub date_keys: Vec<String>,
    pub lastmod_keys: Vec<String>,
    pub publish_keys: Vec<String>,
    pub expiry_keys: Vec<String>,
    /// `:filename` is a date source: a file name's date prefix is the date, not part of the URL.
    pub date_from_filename: bool,
    /// Hugo writes no alias pages (`disableAliases`).
    pub disable_aliases: bool,
    /// `privacy.youtube.privacyEnhanced`: videos from youtube-nocookie.com.
    pub youtube_nocookie: bool,
    /// Embeds turned off by `privacy.NAME.disable` (they render nothing in Hugo).
    pub disabled_embeds: Vec<String>,
    pub content: Vec<Mount>,
    pub static_dirs: Vec<Mount>,
    pub assets_dirs: Vec<Mount>,
    pub data_dirs: Vec<Mount>,
    pub i18n_dirs: Vec<Mount>,
    pub layout_dirs: Vec<Mount>,
    pub archetype_dirs: Vec<Mount>,
    pub themes: Vec<String>,
    pub themes_dir: String,
    /// Shortcode templates of the site and its themes (`layouts/_shortcodes/NAME.html`), by
    /// name: filled in by the edge, which lists the layouts.
    pub custom_shortcodes: Vec<(String, String)>,
    /// The time of the import (given by the edge), to say which pages Hugo would not
    /// publish now (expired, or dated later); none: not said.
    pub now: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// The config files merged, each key's value from the file read last (the root file last).
struct Merged<'a> {
    files: Vec<(&'a ConfigFile, Map<String, Value>)>,
    value: Map<String, Value>,
}

impl Merged<'_> {
    /// The file and line where a key (a path) is set.
    fn at(&self, path: &[&str]) -> (String, Option<usize>) {
        for (f, v) in self.files.iter().rev() {
            let n = f.prefix.len().min(path.len());
            if !f.prefix[..n].iter().zip(path).all(|(a, b)| a.eq_ignore_ascii_case(b)) {
                continue;
            }
            let rest = &path[n..];
            if rest.is_empty() {
                return (f.file.clone(), None);
            }
            if get_path(v, &rest.join(".")).is_some() {
                return (f.file.clone(), key_line(&f.text, f.format, rest));
            }
        }
        let first = self.files.last().map(|(f, _)| f.file.clone()).unwrap_or_default();
        (first, None)
    }
}

fn merge_into(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        let existing = into.keys().find(|x| x.eq_ignore_ascii_case(&k)).cloned();
        match (existing.and_then(|e| into.get_mut(&e)), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge_into(a, b),
            (Some(slot), v) => *slot = v,
            (None, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Hugo keys sitegen has no equivalent for, with what that means for the imported site.
const NOT_CONVERTED: &[(&str, &str)] = &[
    (
        "theme",
        "themes are Go templates: the site uses sitegen's default theme (every layout left behind is listed below)",
    ),
    (
        "paginate",
        "sitegen paginates per section: set `paginate_by` in a section's front matter",
    ),
    (
        "pagination",
        "sitegen paginates per section: set `paginate_by` in a section's front matter",
    ),
    (
        "paginatepath",
        "pager pages are at `page/N/`, or a section's `paginate_path`",
    ),
    (
        "summarylength",
        "no automatic summaries: the text above `<!-- more -->` is the summary",
    ),
    (
        "outputs",
        "sitegen writes HTML pages, `rss.xml`, `sitemap.xml` and `robots.txt`; other output formats are not made",
    ),
    ("outputformats", "other output formats are not made"),
    ("mediatypes", "media types come from file extensions"),
    ("enableemoji", "emoji codes (`:smile:`) are not replaced"),
    ("enablegitinfo", "no Git dates: `updated` comes from front matter"),
    ("canonifyurls", "links are kept as written"),
    ("relativeurls", "links are kept as written"),
    ("builddrafts", "use `sitegen build --drafts`"),
    ("buildfuture", "pages dated in the future are built"),
    ("buildexpired", "expired pages are built"),
    ("timezone", "dates without an offset are UTC"),
    (
        "enableinlineshortcodes",
        "inline shortcodes are Go templates; they are not converted",
    ),
    (
        "googleanalytics",
        "analytics are a template's business; the default theme has none",
    ),
    (
        "disqusshortname",
        "comments are a template's business; the default theme has none",
    ),
    ("related", "no related-content index"),
    ("cascade", "front matter is not cascaded to descendants"),
    (
        "defaultcontentlanguageinsubdir",
        "the default language is served at the root",
    ),
    (
        "disablepathtolower",
        "URLs are lowercased (Hugo's default rule): a name with capitals gets another URL; give its page a `path`",
    ),
    (
        "removepathaccents",
        "accents are kept in URLs (Hugo's default rule): a name with accents gets another URL; give its page a `path`",
    ),
    ("sitemap", "`sitemap.xml` has no change frequency or priority"),
    ("mainsections", "a template's setting; kept nowhere"),
    ("pluralizelisttitles", "list titles are the section's title"),
    ("capitalizelisttitles", "list titles are the section's title"),
    ("titlecasestyle", "titles are kept as written"),
    ("hascjklanguage", "word counts split on white space"),
    (
        "ignorefiles",
        "every file under content/ is read; move ignored files out of content/",
    ),
    ("ignoreerrors", "not a sitegen setting"),
    ("ignorelogs", "not a sitegen setting"),
    ("timeout", "not a sitegen setting"),
    (
        "build",
        "Hugo's build options (stats, cache busters) have no sitegen equivalent",
    ),
    ("caches", "sitegen's image cache is `[images] cache_dir`"),
    (
        "imaging",
        "image quality and filters are `[images]` in sitegen; see the image docs",
    ),
    ("security", "not a sitegen setting"),
    ("server", "headers and redirects of `hugo server` are not converted"),
    ("deployment", "use `[[deploy.targets]]` (sitegen publish)"),
    ("segments", "not a sitegen setting"),
    ("newcontenteditor", "not a sitegen setting"),
    ("footnotereturnlinkcontents", "footnotes use sitegen's back links"),
    ("refLinksErrorLevel", "a broken `@/` link is an error"),
    ("reflinksnotfoundurl", "a broken `@/` link is an error"),
    ("sectionpagesmenu", "no menus in the default theme"),
    ("enablemissingtranslationplaceholders", "not a sitegen setting"),
    (
        "cleandestinationdir",
        "sitegen replaces the output folder on every build",
    ),
    ("pygmentsuseclasses", "highlighting always uses CSS classes"),
    ("pygmentscodefences", "fenced code blocks are highlighted"),
    ("pygmentsstyle", "see `[markdown] highlight_theme`"),
    ("notimes", "not a sitegen setting"),
    ("watch", "not a sitegen setting"),
    ("environment", "not a sitegen setting"),
    ("params.mainsections", "a template's setting"),
];

/// Converts a Hugo config (its files in the order Hugo reads them, the root file last).
/// Returns sitegen's config text, the [`Site`] and the notes.
pub fn convert_config(files: &[ConfigFile], sitegen_themes: &[String]) -> Result<(String, Site, Vec<Note>), Errors> {
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match parse_data(&f.file, &f.text, 0, &f.text, f.format, "Hugo config") {
            Ok(Value::Object(m)) => parsed.push((f, m)),
            Ok(_) => errors.push(crate::error::Diagnostic::at(
                &f.file,
                1,
                1,
                "a Hugo config must be a table of keys",
            )),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Errors::sorted(errors));
    }
    let mut value = Map::new();
    for (f, m) in &parsed {
        let mut nested = m.clone();
        for k in f.prefix.iter().rev() {
            let mut wrap = Map::new();
            wrap.insert(k.clone(), Value::Object(nested));
            nested = wrap;
        }
        merge_into(&mut value, nested);
    }
    let merged = Merged { files: parsed, value };
    let mut c = Converter {
        m: &merged,
        out: toml::Table::new(),
        extra: toml::Table::new(),
        notes: Vec::new(),
        site: Site::defaults(),
        taxonomies_off: false,
    };
    c.run(sitegen_themes);
    let Converter {
        mut out,
        extra,
        notes,
        site,
        ..
    } = c;
    put_table(&mut out, "extra", extra);
    let text = format!(
        "# Imported from Hugo by `sitegen import hugo`; see IMPORT.md.\n{}",
        toml::to_string(&out).map_err(|e| Errors::from(crate::error::Diagnostic::new("config.toml", e.to_string())))?
    );
    Ok((text, site, notes))
}

impl Site {
    fn defaults() -> Site {
        let keys = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        let mount = |dir: &str| {
            vec![Mount {
                source: dir.into(),
                target: String::new(),
                lang: None,
            }]
        };
        Site {
            language: "en".into(),
            languages: vec![],
            taxonomies: keys(&["tags", "categories"]),
            permalinks: vec![],
            params: Map::new(),
            ugly_urls: false,
            date_keys: keys(&["date", "publishdate", "pubdate", "published", "lastmod", "modified"]),
            lastmod_keys: keys(&["lastmod", "modified", "date", "publishdate", "pubdate", "published"]),
            publish_keys: keys(&["publishdate", "pubdate", "published", "date"]),
            expiry_keys: keys(&["expirydate", "unpublishdate"]),
            date_from_filename: false,
            disable_aliases: false,
            youtube_nocookie: false,
            disabled_embeds: vec![],
            content: mount("content"),
            static_dirs: mount("static"),
            assets_dirs: mount("assets"),
            data_dirs: mount("data"),
            i18n_dirs: mount("i18n"),
            layout_dirs: mount("layouts"),
            archetype_dirs: mount("archetypes"),
            themes: vec![],
            themes_dir: "themes".into(),
            custom_shortcodes: vec![],
            now: None,
        }
    }
}

struct Converter<'a> {
    m: &'a Merged<'a>,
    out: toml::Table,
    extra: toml::Table,
    notes: Vec<Note>,
    site: Site,
    /// `disableKinds` has taxonomies or terms.
    taxonomies_off: bool,
}

/// The table at `key` of `t`, made when missing.
fn table_at<'a>(t: &'a mut toml::Table, key: &str) -> &'a mut toml::Table {
    let v = t
        .entry(key.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !v.is_table() {
        *v = toml::Value::Table(toml::Table::new());
    }
    v.as_table_mut().expect("a table")
}

fn s(v: impl Into<String>) -> toml::Value {
    toml::Value::String(v.into())
}

impl Converter<'_> {
    fn note(&mut self, path: &[&str], change: bool, message: String) {
        let (file, line) = self.m.at(path);
        self.notes.push(Note {
            file,
            line,
            message,
            change,
        });
    }

    fn get(&self, path: &str) -> Option<&Value> {
        get_path(&self.m.value, path)
    }

    fn run(&mut self, themes: &[String]) {
        self.out.insert("source_dir".into(), s("."));
        let keys: Vec<(String, Value)> = self.m.value.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        self.site.language = self
            .get("defaultcontentlanguage")
            .and_then(as_text)
            .unwrap_or_else(|| "en".into())
            .to_lowercase();
        // Keys that others depend on (a permalink of a taxonomy, a disabled kind), first.
        if let Some(Value::Object(t)) = self.get("taxonomies") {
            self.site.taxonomies = t.values().filter_map(as_text).map(|p| p.to_lowercase()).collect();
        }
        for (key, v) in &keys {
            self.key(key, v, themes);
        }
        if self.taxonomies_off {
            self.site.taxonomies.clear();
        }
        self.content_mounts();
        self.defaults(themes);
    }

    /// One top-level key.
    fn key(&mut self, key: &str, v: &Value, themes: &[String]) {
        let lower = key.to_lowercase();
        let text = as_text(v);
        match lower.as_str() {
            "baseurl" => {
                self.out.insert("base_url".into(), s(text.unwrap_or_default()));
            }
            "title" => {
                self.out.insert("title".into(), s(text.unwrap_or_default()));
            }
            "languagecode" | "defaultcontentlanguage" | "languages" => {} // in `language`
            "taxonomies" => self.taxonomies(key, v),
            "params" => self.params(key, v),
            "permalinks" => self.permalinks(key, v),
            "publishdir" => {
                self.out.insert("output_dir".into(), s(text.unwrap_or_default()));
                self.note(&[key], true, format!("`{key}` → `output_dir`"));
            }
            "enablerobotstxt" => {
                self.out
                    .insert("generate_robots_txt".into(), toml::Value::Boolean(truthy(Some(v))));
            }
            "disablekinds" => self.disable_kinds(key, v),
            "uglyurls" => {
                self.site.ugly_urls = truthy(Some(v));
                if self.site.ugly_urls {
                    self.note(&[key], true, "`uglyURLs`: each page gets `path = \"….html\"` in its front matter; sections keep their folder URL".into());
                }
            }
            "disablealiases" => {
                self.site.disable_aliases = truthy(Some(v));
                if self.site.disable_aliases {
                    self.note(&[key], true, "`disableAliases`: Hugo writes no alias pages, so each page's `aliases` are kept under `[extra]` instead".into());
                }
            }
            "frontmatter" => self.front_matter_dates(key, v),
            "privacy" => self.privacy(key, v),
            "markup" => self.markup(key, v, themes),
            "menu" | "menus" => {
                self.put_extra(key, "menus", v);
                self.note(
                    &[key],
                    true,
                    format!("`{key}` → `[extra] menus` (the default theme has no menus)"),
                );
            }
            "copyright" | "author" => {
                self.put_extra(key, &lower, v);
                self.note(&[key], true, format!("`{key}` → `[extra] {lower}`"));
            }
            "rsslimit" => self.feed_limit(&[key], v),
            "services" => self.services(key, v),
            "contentdir" | "staticdir" | "assetsdir" | "datadir" | "i18ndir" | "layoutdir" | "archetypedir" => {
                self.dir_key(&lower, v)
            }
            "themesdir" => self.site.themes_dir = text.unwrap_or_default(),
            "disablepathtolower" | "removepathaccents" if !truthy(Some(v)) => {
                self.note(
                    &[key],
                    true,
                    format!("`{key} = false`: Hugo's default, which `[slugify]` `\"hugo\"` follows"),
                );
            }
            "module" => self.module(key, v),
            "minify" => {
                let on = truthy(get_path(v.as_object().unwrap_or(&Map::new()), "minifyoutput"));
                self.out.insert("minify_html".into(), toml::Value::Boolean(on));
                self.note(
                    &[key],
                    true,
                    format!("`{key}.minifyOutput` → `minify_html = {on}`; its other options are not converted"),
                );
            }
            _ => {
                if lower == "theme" {
                    self.site.themes = text_list(v);
                }
                let why = NOT_CONVERTED
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&lower))
                    .map(|(_, w)| w.to_string())
                    .unwrap_or_else(|| "not a Hugo key sitegen converts".into());
                self.note(&[key], false, format!("`{key}`: {why}"));
            }
        }
    }

    fn put_extra(&mut self, at: &str, name: &str, v: &Value) {
        let mut dropped = Vec::new();
        if let Some(t) = super::json_to_toml(v, name, &mut dropped) {
            self.extra.insert(name.into(), t);
        }
        self.dropped(at, dropped);
    }

    fn dropped(&mut self, at: &str, dropped: Vec<String>) {
        if !dropped.is_empty() {
            self.note(
                &[at],
                false,
                format!("empty values left out (TOML has no `null`): `{}`", dropped.join("`, `")),
            );
        }
    }

    fn params(&mut self, key: &str, v: &Value) {
        let Some(m) = v.as_object() else { return };
        self.site.params = m.clone();
        if let Some(d) = get_ci(m, "description").and_then(|(_, d)| as_text(d)) {
            self.out.insert("description".into(), s(d));
        }
        let mut dropped = Vec::new();
        let t = json_map_to_toml(m, "params", &mut dropped);
        for (k, x) in t {
            self.extra.insert(k, x);
        }
        self.dropped(key, dropped);
        self.note(
            &[key],
            true,
            format!("`{key}` → `[extra]` (`config.extra.NAME` in templates); `description` also → `description`"),
        );
    }

    fn taxonomies(&mut self, key: &str, v: &Value) {
        let Some(m) = v.as_object() else { return };
        self.site.taxonomies = m.values().filter_map(as_text).map(|p| p.to_lowercase()).collect();
        if m.keys()
            .zip(m.values())
            .any(|(k, p)| as_text(p).is_some_and(|p| !p.eq_ignore_ascii_case(k)))
        {
            self.note(
                &[key],
                true,
                format!("`{key}`: each taxonomy by its plural name (`tag = \"tags\"` → `tags`), the front matter key and URL segment in both"),
            );
        }
    }

    fn disable_kinds(&mut self, key: &str, v: &Value) {
        let kinds: Vec<String> = text_list(v).iter().map(|k| k.to_lowercase()).collect();
        for k in &kinds {
            match k.as_str() {
                "taxonomy" | "term" | "taxonomyterm" => self.taxonomies_off = true,
                "sitemap" => {
                    self.out.insert("generate_sitemap".into(), toml::Value::Boolean(false));
                }
                "rss" => {
                    self.out.insert("generate_feeds".into(), toml::Value::Boolean(false));
                }
                "robotstxt" => {
                    self.out
                        .insert("generate_robots_txt".into(), toml::Value::Boolean(false));
                }
                other => self.note(&[key], false, format!("`{key}`: `{other}` pages are still written")),
            }
        }
        if kinds
            .iter()
            .any(|k| ["taxonomy", "term", "taxonomyterm"].contains(&k.as_str()))
        {
            self.note(
                &[key],
                true,
                format!("`{key}`: no taxonomies (sitegen writes a taxonomy's list and term pages together)"),
            );
        }
    }

    fn permalinks(&mut self, key: &str, v: &Value) {
        let Some(m) = v.as_object() else { return };
        for (k, pattern) in m {
            let kind = k.to_lowercase();
            match (kind.as_str(), pattern) {
                ("page", Value::Object(by)) => {
                    for (section, p) in by {
                        if let Some(p) = as_text(p) {
                            self.site.permalinks.push((section.to_lowercase(), p));
                        }
                    }
                    self.note(
                        &[key, k],
                        true,
                        format!("`{key}.{k}`: each page's URL is written as `path` in its front matter"),
                    );
                }
                ("section" | "term" | "taxonomy", _) => self.note(
                    &[key, k],
                    false,
                    format!(
                        "`{key}.{k}`: sections and taxonomies keep their folder URLs (`/SECTION/`, `/TAXONOMY/TERM/`)"
                    ),
                ),
                (_, p) => {
                    let Some(p) = as_text(p) else { continue };
                    if self.site.taxonomies.contains(&kind) {
                        self.note(
                            &[key, k],
                            false,
                            format!("`{key}.{k}`: taxonomy terms keep their URLs (`/{kind}/TERM/`)"),
                        );
                    } else {
                        self.site.permalinks.push((kind, p));
                        self.note(
                            &[key, k],
                            true,
                            format!("`{key}.{k}`: each page's URL is written as `path` in its front matter"),
                        );
                    }
                }
            }
        }
    }

    fn front_matter_dates(&mut self, key: &str, v: &Value) {
        let Some(m) = v.as_object() else { return };
        for (k, list) in m {
            let names: Vec<String> = text_list(list).iter().map(|x| x.to_lowercase()).collect();
            let (slot, defaults): (&mut Vec<String>, Vec<String>) = match k.to_lowercase().as_str() {
                "date" => (&mut self.site.date_keys, Site::defaults().date_keys),
                "lastmod" => (&mut self.site.lastmod_keys, Site::defaults().lastmod_keys),
                "publishdate" => (&mut self.site.publish_keys, Site::defaults().publish_keys),
                "expirydate" => (&mut self.site.expiry_keys, Site::defaults().expiry_keys),
                _ => {
                    self.note(&[key, k], false, format!("`{key}.{k}` is not converted"));
                    continue;
                }
            };
            *slot = names
                .iter()
                .flat_map(|n| {
                    if n == ":default" {
                        defaults.clone()
                    } else {
                        vec![n.clone()]
                    }
                })
                .filter(|n| !n.starts_with(':'))
                .collect();
            let lost: Vec<&String> = names
                .iter()
                .filter(|n| n.starts_with(':') && *n != ":default" && *n != ":filename")
                .collect();
            if !lost.is_empty() {
                let list = lost.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                self.note(
                    &[key, k],
                    false,
                    format!("`{key}.{k}`: {list} not used (dates come from front matter)"),
                );
            }
            if k.eq_ignore_ascii_case("date") && names.iter().any(|n| n == ":filename") {
                self.site.date_from_filename = true;
                self.note(
                    &[key, k],
                    true,
                    format!("`{key}.{k}` has `:filename`: a file name's date prefix gives the date and is not part of the URL (`[slugify] paths_keep_dates = false`)"),
                );
            }
        }
    }

    fn privacy(&mut self, key: &str, v: &Value) {
        let Some(m) = v.as_object() else { return };
        for (service, opts) in m {
            let Some(o) = opts.as_object() else { continue };
            let name = service.to_lowercase();
            if truthy(get_ci(o, "disable").or_else(|| get_ci(o, "disabled")).map(|(_, v)| v)) {
                self.site.disabled_embeds.push(name.clone());
            }
            if name == "youtube" && truthy(get_ci(o, "privacyenhanced").map(|(_, v)| v)) {
                self.site.youtube_nocookie = true;
            }
        }
        self.note(&[key], true, format!("`{key}`: applied where the built-in shortcodes are converted (disabled embeds removed, YouTube's privacy-enhanced host)"));
    }

    fn services(&mut self, key: &str, v: &Value) {
        let Some(m) = v.as_object() else { return };
        for (k, x) in m {
            if k.eq_ignore_ascii_case("rss") {
                if let Some((lk, limit)) = x.as_object().and_then(|o| get_ci(o, "limit")) {
                    self.feed_limit(&[key, k, lk], limit);
                }
            } else {
                self.note(
                    &[key, k],
                    false,
                    format!("`{key}.{k}`: third-party services are a template's business; the default theme uses none"),
                );
            }
        }
    }

    fn feed_limit(&mut self, path: &[&str], v: &Value) {
        let n = v.as_i64().unwrap_or(-1);
        self.out.insert("feed_limit".into(), toml::Value::Integer(n.max(0)));
        self.note(
            path,
            true,
            format!("`{}` → `feed_limit = {}`", path.join("."), n.max(0)),
        );
    }

    fn markup(&mut self, key: &str, v: &Value, themes: &[String]) {
        let Some(m) = v.as_object() else { return };
        for (k, x) in m {
            let Some(o) = x.as_object() else { continue };
            match k.to_lowercase().as_str() {
                "goldmark" => {
                    for (g, y) in o {
                        let Some(yo) = y.as_object() else { continue };
                        for (leaf, z) in yo {
                            let path = [key, k.as_str(), g.as_str(), leaf.as_str()];
                            match (g.to_lowercase().as_str(), leaf.to_lowercase().as_str()) {
                                ("renderer", "unsafe") => {
                                    if truthy(Some(z)) {
                                        continue;
                                    }
                                    self.note(
                                        &path,
                                        false,
                                        "Hugo leaves raw HTML out of pages unless `unsafe = true`; sitegen keeps it"
                                            .into(),
                                    );
                                }
                                ("extensions", "typographer") => {
                                    let off = z.as_bool() == Some(false)
                                        || z.as_object()
                                            .is_some_and(|t| truthy(get_ci(t, "disable").map(|(_, v)| v)));
                                    table_at(&mut self.out, "markdown")
                                        .insert("smart_punctuation".into(), toml::Value::Boolean(!off));
                                }
                                ("parser", "autoheadingid") if z.as_bool() == Some(false) => {
                                    self.note(&path, false, "heading ids are always made".into())
                                }
                                ("parser", "autoheadingidtype") if as_text(z).as_deref() != Some("github") => {
                                    table_at(&mut self.out, "slugify").insert("anchors".into(), s("on"));
                                    self.note(
                                        &path,
                                        false,
                                        format!(
                                            "heading ids `{}` → sitegen's `on` (transliterated ASCII)",
                                            as_text(z).unwrap_or_default()
                                        ),
                                    );
                                }
                                _ => self.note(
                                    &path,
                                    false,
                                    format!("`{}` has no sitegen equivalent; the default is used", path.join(".")),
                                ),
                            }
                        }
                    }
                }
                "highlight" => {
                    for (h, y) in o {
                        let path = [key, k.as_str(), h.as_str()];
                        match h.to_lowercase().as_str() {
                            "style" => {
                                let name = as_text(y).unwrap_or_default();
                                match crate::import::syntect_theme(&name, themes) {
                                    Some(t) => {
                                        table_at(&mut self.out, "markdown").insert("highlight_theme".into(), s(t.as_str()));
                                    }
                                    None => self.note(&path, false, format!("highlighting style `{name}` is not one of sitegen's ({}); the default is used", themes.join(", "))),
                                }
                            }
                            "codefences" => {
                                table_at(&mut self.out, "markdown")
                                    .insert("highlight_code".into(), toml::Value::Boolean(truthy(Some(y))));
                            }
                            "noclasses" => self.note(
                                &path,
                                false,
                                "highlighting uses CSS classes (`/syntax-theme.css`)".into(),
                            ),
                            _ => self.note(&path, false, format!("`{}` has no sitegen equivalent", path.join("."))),
                        }
                    }
                }
                _ => self.note(
                    &[key, k],
                    false,
                    format!("`{key}.{k}` has no sitegen equivalent; the default is used"),
                ),
            }
        }
    }

    fn dir_key(&mut self, lower: &str, v: &Value) {
        let dirs: Vec<Mount> = text_list(v)
            .into_iter()
            .map(|d| Mount {
                source: d,
                target: String::new(),
                lang: None,
            })
            .collect();
        *self.dirs_of(&lower[..lower.len() - 3]).expect("a component") = dirs;
    }

    fn dirs_of(&mut self, component: &str) -> Option<&mut Vec<Mount>> {
        Some(match component {
            "content" => &mut self.site.content,
            "static" => &mut self.site.static_dirs,
            "assets" => &mut self.site.assets_dirs,
            "data" => &mut self.site.data_dirs,
            "i18n" => &mut self.site.i18n_dirs,
            "layout" | "layouts" => &mut self.site.layout_dirs,
            "archetype" | "archetypes" => &mut self.site.archetype_dirs,
            _ => return None,
        })
    }

    /// `[module]`: `[[module.mounts]]` replace the default folder of each component they
    /// target; imports (Hugo modules) are not fetched.
    fn module(&mut self, key: &str, v: &Value) {
        let Some(m) = v.as_object() else { return };
        let mut replaced: Vec<String> = Vec::new();
        for (k, x) in m {
            match k.to_lowercase().as_str() {
                "mounts" => {
                    for mount in x.as_array().into_iter().flatten().filter_map(Value::as_object) {
                        let source = get_ci(mount, "source")
                            .and_then(|(_, v)| as_text(v))
                            .unwrap_or_default();
                        let target = get_ci(mount, "target")
                            .and_then(|(_, v)| as_text(v))
                            .unwrap_or_default();
                        let (component, sub) = target.split_once('/').unwrap_or((&target, ""));
                        let lang = get_ci(mount, "lang")
                            .and_then(|(_, v)| as_text(v))
                            .or_else(|| {
                                get_path(mount, "sites.matrix.languages")
                                    .and_then(|l| l.as_array()?.first().and_then(as_text))
                            })
                            .map(|l| l.to_lowercase());
                        let component = component.to_string();
                        let sub = sub.to_string();
                        let Some(dirs) = self.dirs_of(&component) else {
                            self.note(
                                &[key, k],
                                false,
                                format!("mount `{source}` → `{target}`: not a folder sitegen reads"),
                            );
                            continue;
                        };
                        if !replaced.contains(&component) {
                            dirs.clear();
                            replaced.push(component.clone());
                        }
                        dirs.push(Mount {
                            source,
                            target: sub,
                            lang,
                        });
                    }
                    self.note(
                        &[key, k],
                        true,
                        format!("`{key}.{k}`: each mounted folder is copied to where it is mounted"),
                    );
                }
                "imports" => self.note(
                    &[key, k],
                    false,
                    format!("`{key}.{k}`: Hugo modules are not fetched; copy what they provide into the site"),
                ),
                _ => self.note(&[key, k], false, format!("`{key}.{k}` is not a sitegen setting")),
            }
        }
    }

    /// Languages: the default one's settings are the site's; the others become
    /// `[languages.CODE]`, and their `contentDir`s content mounts.
    fn content_mounts(&mut self) {
        let Some((lkey, Value::Object(langs))) =
            get_ci(&self.m.value, "languages").map(|(k, v)| (k.to_string(), v.clone()))
        else {
            return self.language_code(None);
        };
        let mut order: Vec<(i64, String, Map<String, Value>)> = langs
            .iter()
            .filter_map(|(code, v)| {
                Some((
                    get_ci(v.as_object()?, "weight")
                        .and_then(|(_, w)| w.as_i64())
                        .unwrap_or(0),
                    code.clone(),
                    v.as_object()?.clone(),
                ))
            })
            .collect();
        order.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut tables = toml::Table::new();
        let default_code = self.site.language.clone();
        let mut default_opts = None;
        for (_, code, opts) in order {
            let lower = code.to_lowercase();
            if truthy(get_ci(&opts, "disabled").map(|(_, v)| v)) {
                self.note(
                    &[&lkey, &code],
                    false,
                    format!("language `{code}` is disabled: its content is not imported"),
                );
                continue;
            }
            if let Some(dir) = get_ci(&opts, "contentdir").and_then(|(_, v)| as_text(v)) {
                if self.site.content.len() == 1
                    && self.site.content[0].lang.is_none()
                    && self.site.content[0].source == "content"
                {
                    self.site.content.clear();
                }
                self.site.content.push(Mount {
                    source: dir,
                    target: String::new(),
                    lang: Some(lower.clone()),
                });
            }
            if lower == default_code {
                self.default_language(&lkey, &code, &opts);
                default_opts = Some(opts);
            } else {
                self.site.languages.push(lower.clone());
                let t = self.other_language(&lkey, &code, &opts);
                tables.insert(lower, toml::Value::Table(t));
            }
        }
        self.language_code(default_opts.as_ref());
        if !tables.is_empty() {
            self.out.insert("languages".into(), toml::Value::Table(tables));
            self.note(
                &[&lkey],
                true,
                format!("`{lkey}`: the other languages → `[languages.CODE]`; their content sits next to the default language's as `NAME.CODE.md`"),
            );
        }
    }

    fn language_code(&mut self, lang: Option<&Map<String, Value>>) {
        let tag = lang
            .and_then(|o| {
                get_ci(o, "languagecode")
                    .or_else(|| get_ci(o, "locale"))
                    .and_then(|(_, v)| as_text(v))
            })
            .or_else(|| self.get("languagecode").and_then(as_text));
        // Alone, the language is the `lang` of the pages (`en-US`); with others, the code
        // that names the default language's files.
        let language = match tag {
            Some(t) if self.site.languages.is_empty() => t,
            _ => self.site.language.clone(),
        };
        self.out.insert("language".into(), s(language));
    }

    fn default_language(&mut self, lkey: &str, code: &str, opts: &Map<String, Value>) {
        for (k, v) in opts {
            let path = [lkey, code, k.as_str()];
            match k.to_lowercase().as_str() {
                "title" => {
                    self.out.insert("title".into(), s(as_text(v).unwrap_or_default()));
                }
                "params" => {
                    let mut dropped = Vec::new();
                    for (pk, pv) in json_map_to_toml(v.as_object().unwrap_or(&Map::new()), "params", &mut dropped) {
                        if pk.eq_ignore_ascii_case("description") {
                            self.out.insert("description".into(), pv.clone());
                        }
                        self.extra.insert(pk, pv);
                    }
                    self.note(&path, true, format!("`{}` → `[extra]`", path.join(".")));
                }
                "taxonomies" => self.taxonomies(lkey, v),
                "languagecode" | "locale" | "contentdir" | "weight" => {}
                "menu" | "menus" => {
                    self.put_extra(lkey, "menus", v);
                    self.note(&path, true, format!("`{}` → `[extra] menus`", path.join(".")));
                }
                _ => self.note(&path, false, format!("`{}` is not converted", path.join("."))),
            }
        }
    }

    fn other_language(&mut self, lkey: &str, code: &str, opts: &Map<String, Value>) -> toml::Table {
        let mut t = toml::Table::new();
        for (k, v) in opts {
            let path = [lkey, code, k.as_str()];
            match k.to_lowercase().as_str() {
                "title" => {
                    t.insert("title".into(), s(as_text(v).unwrap_or_default()));
                }
                "taxonomies" => {
                    let names: Vec<toml::Value> = v
                        .as_object()
                        .into_iter()
                        .flat_map(|m| m.values())
                        .filter_map(as_text)
                        .map(|n| {
                            let mut tax = toml::Table::new();
                            tax.insert("name".into(), s(n.to_lowercase()));
                            toml::Value::Table(tax)
                        })
                        .collect();
                    t.insert("taxonomies".into(), toml::Value::Array(names));
                }
                "params" => {
                    let params = v.as_object().cloned().unwrap_or_default();
                    if let Some(d) = get_ci(&params, "description").and_then(|(_, d)| as_text(d)) {
                        t.insert("description".into(), s(d));
                    }
                    let rest: Vec<&String> = params
                        .keys()
                        .filter(|p| !p.eq_ignore_ascii_case("description"))
                        .collect();
                    if !rest.is_empty() {
                        let list = rest.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
                        self.note(
                            &path,
                            false,
                            format!(
                                "`{}`: {list} not converted (a language has no params of its own)",
                                path.join(".")
                            ),
                        );
                    }
                }
                "contentdir" | "weight" => {}
                _ => self.note(&path, false, format!("`{}` is not converted", path.join("."))),
            }
        }
        t
    }

    /// Hugo's behaviour where a key is absent, written out where sitegen's default differs.
    fn defaults(&mut self, themes: &[String]) {
        let set = |t: &mut toml::Table, k: &str, v: toml::Value| {
            t.entry(k.to_string()).or_insert(v);
        };
        let out = &mut self.out;
        set(out, "generate_robots_txt", toml::Value::Boolean(false));
        set(out, "generate_feeds", toml::Value::Boolean(true));
        set(out, "feed_filenames", toml::Value::Array(vec![s("rss.xml")]));
        set(out, "feed_limit", toml::Value::Integer(0));
        let taxonomies: Vec<toml::Value> = self
            .site
            .taxonomies
            .iter()
            .map(|n| {
                let mut t = toml::Table::new();
                t.insert("name".into(), s(n.as_str()));
                toml::Value::Table(t)
            })
            .collect();
        out.insert("taxonomies".into(), toml::Value::Array(taxonomies));
        let md = table_at(out, "markdown");
        set(md, "highlight_code", toml::Value::Boolean(true));
        set(md, "smart_punctuation", toml::Value::Boolean(true));
        set(md, "anchor_links", s("none"));
        if !md.contains_key("highlight_theme")
            && !self.notes.iter().any(|n| n.message.starts_with("highlighting style"))
        {
            self.notes.push(Note::unsupported(
                &self.m.at(&[]).0,
                None,
                format!(
                    "Hugo's default highlighting style `monokai` is not one of sitegen's ({}); the default is used",
                    themes.join(", ")
                ),
            ));
        }
        let slug = table_at(&mut self.out, "slugify");
        for k in ["paths", "dirs", "taxonomies", "anchors"] {
            set(slug, k, s("hugo"));
        }
        slug.insert(
            "paths_keep_dates".into(),
            toml::Value::Boolean(!self.site.date_from_filename),
        );
        let mut assets = toml::Table::new();
        assets.insert("fingerprint".into(), toml::Value::Boolean(false));
        self.out.insert("assets".into(), toml::Value::Table(assets));
        self.notes.push(Note::change(
            &self.m.at(&[]).0,
            None,
            "Hugo's defaults written out where sitegen's differ: no `robots.txt` unless `enableRobotsTXT`, the feed as `rss.xml` (Hugo's `index.xml`) with no limit, no taxonomy or section feeds, no heading anchor links, Hugo's URL rules (`[slugify]` `\"hugo\"`: lowercased, spaces → `-`, date prefixes of file names kept), static files not fingerprinted (`[assets] fingerprint = false`)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> ConfigFile {
        ConfigFile {
            file: name.into(),
            text: text.into(),
            format: Format::of(name).unwrap(),
            prefix: vec![],
        }
    }

    fn themes() -> Vec<String> {
        crate::highlight::Highlighter::theme_names()
    }

    fn unsupported(notes: &[Note]) -> Vec<String> {
        notes
            .iter()
            .filter(|n| !n.change)
            .map(|n| format!("{}:{} {}", n.file, n.line.unwrap_or(0), n.message))
            .collect()
    }

    #[test]
    fn toml_config_maps_key_by_key() {
        let hugo = "baseURL = \"https://example.org/\"\ntitle = \"Hugo Themes\"\nauthor = \"Steve\"\npaginate = 3\nlanguageCode = \"en-us\"\nenableRobotsTXT = true\nsummaryLength = 20\n[taxonomies]\ncategory = \"categories\"\ntag = \"tags\"\nseries = \"series\"\n[params]\ndescription = \"A site\"\nShowToc = true\n[params.social]\nx = \"me\"\n[markup.highlight]\nstyle = \"solarized-dark\"\n[markup.goldmark.renderer]\nunsafe = true\n";
        let (out, site, notes) = convert_config(&[file("hugo.toml", hugo)], &themes()).unwrap();
        let c = crate::config::Config::parse("config.toml", &out).unwrap_or_else(|e| panic!("{e:?}\n{out}"));
        assert_eq!(c.base_url, "https://example.org");
        assert_eq!(c.title, "Hugo Themes");
        assert_eq!(c.description, "A site");
        assert_eq!(c.language, "en-us");
        assert!(c.generate_robots_txt);
        assert_eq!(c.feed_filenames, ["rss.xml"]);
        let tax: Vec<&str> = c.taxonomies.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(tax, ["categories", "tags", "series"]);
        assert_eq!(site.taxonomies, ["categories", "tags", "series"]);
        assert_eq!(c.extra["ShowToc"], true);
        assert_eq!(c.extra["social"]["x"], "me");
        assert_eq!(c.extra["author"], "Steve");
        assert_eq!(c.markdown.highlight_theme, "Solarized (dark)");
        assert_eq!(c.slugify.paths, crate::paths::Slugify::Hugo);
        assert!(c.slugify.paths_keep_dates);
        assert!(!c.assets.fingerprint);
        assert_eq!(
            unsupported(&notes),
            [
                "hugo.toml:4 `paginate`: sitegen paginates per section: set `paginate_by` in a section's front matter",
                "hugo.toml:7 `summaryLength`: no automatic summaries: the text above `<!-- more -->` is the summary",
            ]
        );
    }

    #[test]
    fn yaml_and_json_configs_and_defaults() {
        let yaml = "baseURL: /\ntitle: PaperMod\ntheme: [hugo-PaperMod]\nminify:\n  minifyOutput: true\nparams:\n  comments:\n";
        let (out, site, notes) = convert_config(&[file("config.yml", yaml)], &themes()).unwrap();
        let c = crate::config::Config::parse("config.toml", &out).unwrap_or_else(|e| panic!("{e:?}\n{out}"));
        assert!(c.minify_html);
        assert!(!c.generate_robots_txt);
        let tax: Vec<&str> = c.taxonomies.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(tax, ["tags", "categories"], "Hugo's default taxonomies");
        assert_eq!(site.themes, ["hugo-PaperMod"]);
        let u = unsupported(&notes);
        assert!(
            u[0].starts_with("config.yml:3 `theme`: themes are Go templates"),
            "{u:#?}"
        );
        assert!(
            u.iter()
                .any(|n| n.starts_with("config.yml:6 empty values left out (TOML has no `null`): `params.comments`")),
            "{u:#?}"
        );
        let json = "{\n  \"baseURL\": \"https://x.org/\",\n  \"taxonomies\": {},\n  \"uglyURLs\": true\n}\n";
        let (out, site, _) = convert_config(&[file("hugo.json", json)], &themes()).unwrap();
        let c = crate::config::Config::parse("config.toml", &out).unwrap_or_else(|e| panic!("{e:?}\n{out}"));
        assert!(c.taxonomies.is_empty());
        assert!(site.ugly_urls);
    }

    #[test]
    fn config_dir_files_land_under_their_name() {
        assert_eq!(ConfigFile::prefix_for("params.toml"), ["params"]);
        assert_eq!(ConfigFile::prefix_for("hugo.yaml"), Vec::<String>::new());
        assert_eq!(ConfigFile::prefix_for("menus.en.toml"), ["languages", "en", "menus"]);
        let mut params = file("config/_default/params.toml", "description = \"D\"\nlogo = \"x.png\"\n");
        params.prefix = ConfigFile::prefix_for("params.toml");
        let root = file("config/_default/hugo.toml", "baseURL = \"/\"\nfoo = 1\n");
        let (out, _, notes) = convert_config(&[params, root], &themes()).unwrap();
        let c = crate::config::Config::parse("config.toml", &out).unwrap_or_else(|e| panic!("{e:?}\n{out}"));
        assert_eq!(c.description, "D");
        assert_eq!(c.extra["logo"], "x.png");
        assert_eq!(
            unsupported(&notes)[0],
            "config/_default/hugo.toml:2 `foo`: not a Hugo key sitegen converts"
        );
    }

    #[test]
    fn bad_config_is_an_error_at_its_line() {
        let e = convert_config(&[file("hugo.toml", "title = \"x\"\nbaseURL = \n")], &themes()).unwrap_err();
        assert_eq!(e.0[0].to_string().split(": ").next().unwrap(), "hugo.toml:2:11");
    }

    #[test]
    fn permalinks_and_front_matter_dates() {
        let hugo = "baseURL = \"/\"\n[permalinks]\nposts = \"/:year/:month/:slug/\"\ntags = \"/tag/:slug/\"\n[permalinks.section]\nposts = \"/articles/\"\n[frontmatter]\ndate = [\":filename\", \":default\"]\nlastmod = [\":git\", \"lastmod\"]\n";
        let (out, site, notes) = convert_config(&[file("hugo.toml", hugo)], &themes()).unwrap();
        assert_eq!(
            site.permalinks,
            [("posts".to_string(), "/:year/:month/:slug/".to_string())]
        );
        assert!(site.date_from_filename);
        assert_eq!(site.date_keys[0], "date");
        assert_eq!(site.lastmod_keys, ["lastmod"]);
        assert!(out.contains("paths_keep_dates = false"), "{out}");
        let u = unsupported(&notes);
        assert!(
            u.iter().any(|n| n.starts_with("hugo.toml:4 `permalinks.tags`")),
            "{u:#?}"
        );
        assert!(
            u.iter().any(|n| n.starts_with("hugo.toml:5 `permalinks.section`")),
            "{u:#?}"
        );
        assert!(
            u.iter()
                .any(|n| n.starts_with("hugo.toml:9 `frontmatter.lastmod`: `:git` not used")),
            "{u:#?}"
        );
    }

    /// PaperMod's exampleSite config, as it is multilingual: the languages in sitegen's
    /// `[languages]` form, which main does not read yet (so this checks the text).
    #[test]
    fn multilingual_config_becomes_languages_tables() {
        let yaml = "baseURL: https://example.org/\ntitle: PaperMod\ndefaultContentLanguage: en\nlanguages:\n  en:\n    languageName: English\n    weight: 1\n    taxonomies:\n      category: categories\n      tag: tags\n  fr:\n    languageName: French\n    weight: 2\n    title: PaperModL2\n    contentDir: content/french\n    taxonomies:\n      tag: FRtags\n    params:\n      description: Un thème\n      languageAltTitle: French\n  fa:\n    weight: 3\n    title: PaperMod RTL\n";
        let (out, site, notes) = convert_config(&[file("config.yml", yaml)], &themes()).unwrap();
        assert_eq!(site.language, "en");
        assert_eq!(site.languages, ["fr", "fa"]);
        assert_eq!(site.taxonomies, ["categories", "tags"]);
        assert_eq!(
            site.content,
            [Mount {
                source: "content/french".into(),
                target: String::new(),
                lang: Some("fr".into())
            }]
        );
        let langs = out.split("[languages.fr]").nth(1).expect("a [languages.fr] table");
        assert!(out.contains("language = \"en\"\n"), "{out}");
        assert!(
            langs.starts_with("\ntitle = \"PaperModL2\"\ndescription = \"Un thème\"\n\n[[languages.fr.taxonomies]]\nname = \"frtags\"\n\n[languages.fa]\ntitle = \"PaperMod RTL\"\n"),
            "{out}"
        );
        let u = unsupported(&notes);
        assert!(
            u.iter()
                .any(|n| n.contains("`languages.fr.params`: `languageAltTitle` not converted")),
            "{u:#?}"
        );
        assert!(
            u.iter()
                .any(|n| n.starts_with("config.yml:12 `languages.fr.languageName` is not converted")),
            "{u:#?}"
        );
    }
}
