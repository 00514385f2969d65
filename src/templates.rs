//! The Tera environment: the theme's and the site's templates, plus the functions and
//! filters sitegen adds (`get_url`, `get_page`, `get_section`, `get_taxonomy`,
//! `get_taxonomy_url`, `load_data`; `date`, `markdown`, `slugify`, `urlencode`,
//! `json_encode`, `striptags`). Functions get the site through [`SiteData`], passed in at
//! construction: no globals. Page values are built once and shared (Tera values are
//! reference-counted), so no page's context holds a copy of the site.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use tera::{Context, Kwargs, State, Tera, Value};

use crate::assets::AssetSet;
use crate::config::Config;
use crate::content::parse_date;
use crate::error::Diagnostic;
use crate::highlight::Highlighter;
use crate::keys::{hash_of, value_id, Dep};
use crate::markdown::Shortcodes;
use crate::source::{SourceTree, DEFAULT_THEME};

/// Templates every site has, taken from the default theme when the theme lacks them.
pub const BUILTIN_TEMPLATES: &[&str] = &[
    "atom.xml",
    "rss.xml",
    "feed.json",
    "sitemap.xml",
    "robots.txt",
    "alias.html",
];

/// Values of pages, sections and taxonomies, filled in once Markdown is rendered.
#[derive(Default)]
pub struct SiteValues {
    /// By path under `content/`.
    pub pages: HashMap<String, Value>,
    pub sections: HashMap<String, Value>,
    /// By taxonomy name.
    pub taxonomies: HashMap<String, Value>,
}

/// What template functions may read.
pub struct SiteData {
    pub config: Arc<Config>,
    /// `blog/post.md` → permalink, for pages and sections.
    pub urls: HashMap<String, String>,
    /// Output paths of non-page outputs that are not assets (feeds, sitemap, content files).
    pub static_paths: HashSet<String>,
    /// Everything from `static/`, fingerprinted.
    pub assets: Arc<AssetSet>,
    /// Bundle files by their path under `content/` (`blog/post/photo.jpg`, what `page.assets`
    /// holds) → their output path, so `get_url(path=asset)` finds them.
    pub bundle_assets: HashMap<String, String>,
    /// Files under `data/` (and the whole tree for `load_data` of content files).
    pub tree: Arc<SourceTree>,
    pub values: OnceLock<SiteValues>,
    pub highlighter: Arc<Highlighter>,
    /// Image requests (`resize_image`, `image_set`, Markdown images).
    pub images: Arc<crate::images::Images>,
    /// `load_data` results by (logical path, format read as).
    data_cache: Mutex<HashMap<(String, String), Value>>,
    /// What template functions read, per output (`current_path`): incremental builds re-render
    /// an output when any of it changed.
    deps: Mutex<HashMap<String, Vec<Dep>>>,
    /// The build's time, for `now()` (a value passed in: templates read no clock).
    now: chrono::DateTime<chrono::FixedOffset>,
    /// UI strings for `trans()`.
    pub translations: crate::content::languages::Translations,
}

impl SiteData {
    pub fn new(
        config: Arc<Config>,
        urls: HashMap<String, String>,
        static_paths: HashSet<String>,
        assets: Arc<AssetSet>,
        tree: Arc<SourceTree>,
        highlighter: Arc<Highlighter>,
        images: Arc<crate::images::Images>,
    ) -> Self {
        SiteData {
            config,
            urls,
            static_paths,
            assets,
            tree,
            values: OnceLock::new(),
            bundle_assets: HashMap::new(),
            highlighter,
            images,
            data_cache: Mutex::new(HashMap::new()),
            deps: Mutex::new(HashMap::new()),
            now: chrono::DateTime::default(),
            translations: Default::default(),
        }
    }

    /// The same, with `trans()` looking up `translations`.
    pub fn with_translations(mut self, translations: crate::content::languages::Translations) -> Self {
        self.translations = translations;
        self
    }

    /// The permalink of the page or section `file` (a path under `content/`) in language
    /// `lang`: its translation when it has one, else itself. Also returns the file found.
    pub fn url_in<'a>(&'a self, file: &'a str, lang: &str) -> Option<(std::borrow::Cow<'a, str>, &'a String)> {
        if lang != self.config.language {
            let local = crate::content::languages::localized_path(file, lang);
            if let Some(u) = self.urls.get(&local) {
                return Some((local.into(), u));
            }
        }
        self.urls.get(file).map(|u| (file.into(), u))
    }

    /// The language of the output being rendered (`lang` in the context).
    fn lang_of(&self, kw: &Kwargs, state: &State) -> tera::TeraResult<String> {
        Ok(match kw.get::<&str>("lang")? {
            Some(l) => l.to_string(),
            None => state
                .get::<String>("lang")
                .ok()
                .flatten()
                .unwrap_or_else(|| self.config.language.clone()),
        })
    }

    /// The language whose taxonomy `kind` a call means: its `lang` argument, else the
    /// output's language when that has the taxonomy, else the default language. `None`
    /// when that language has no such taxonomy.
    fn taxonomy_language(
        &self,
        kind: &str,
        kw: &Kwargs,
        state: &State,
    ) -> tera::TeraResult<Option<crate::config::Language>> {
        let has = |l: &crate::config::Language| l.taxonomies.iter().any(|t| t.name == kind);
        let languages = self.config.site_languages();
        if let Some(code) = kw.get::<&str>("lang")? {
            return Ok(languages.into_iter().find(|l| l.code == code).filter(has));
        }
        let current = self.lang_of(kw, state)?;
        let found = languages
            .iter()
            .find(|l| l.code == current && has(l))
            .or_else(|| languages.iter().find(|l| l.is_default && has(l)));
        Ok(found.cloned())
    }

    /// `path` (a file under `content/`) in `lang`: its translation's path if the site has it.
    fn localized<'a>(&self, path: &'a str, lang: &str, exists: impl Fn(&str) -> bool) -> std::borrow::Cow<'a, str> {
        if lang != self.config.language {
            let local = crate::content::languages::localized_path(path, lang);
            if exists(&local) {
                return local.into();
            }
        }
        path.into()
    }

    /// The same, with `get_url` knowing these bundle files (content path → output path).
    pub fn with_bundle_assets(mut self, bundle_assets: HashMap<String, String>) -> Self {
        self.bundle_assets = bundle_assets;
        self
    }

    /// The same, with `now()` returning `now`.
    pub fn at(mut self, now: chrono::DateTime<chrono::FixedOffset>) -> Self {
        self.now = now;
        self
    }

    /// Notes that the output being rendered (`current_path` in `state`) read `dep`.
    fn record(&self, state: &State, dep: Dep) {
        if let Ok(Some(path)) = state.get::<String>("current_path") {
            self.deps.lock().expect("deps lock").entry(path).or_default().push(dep);
        }
    }

    /// What the output at `current_path` read while it was rendered.
    pub fn take_deps(&self, current_path: &str) -> Vec<Dep> {
        let mut v = self
            .deps
            .lock()
            .expect("deps lock")
            .remove(current_path)
            .unwrap_or_default();
        v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        v.dedup();
        v
    }

    /// The identity of what `dep` reads in this build (see `build::Builder`).
    pub fn dep_ident(&self, dep: &Dep) -> u64 {
        let values = self.values.get();
        let ptr = |m: Option<&HashMap<String, Value>>, k: &str| m.and_then(|m| m.get(k)).and_then(value_id);
        match dep {
            Dep::Page(p) => hash_of(("page", ptr(values.map(|v| &v.pages), p))),
            Dep::Section(p) => hash_of(("section", ptr(values.map(|v| &v.sections), p))),
            Dep::Taxonomy(p) => hash_of(("taxonomy", ptr(values.map(|v| &v.taxonomies), p))),
            Dep::Data(p) => hash_of(("data", self.tree.get(p).map(|f| f.sha256))),
            Dep::Url(p) => hash_of(("url", self.urls.get(p))),
        }
    }

    fn values(&self, what: &str) -> tera::TeraResult<&SiteValues> {
        self.values.get().ok_or_else(|| {
            tera::Error::message(format!(
                "`{what}` cannot be used in shortcodes: pages are not rendered yet"
            ))
        })
    }
}

/// An array argument of `image_set` whose items `item` converts, `None` when not given.
fn array_arg<T>(
    kw: &Kwargs,
    name: &str,
    what: &str,
    item: impl Fn(&Value) -> Option<T>,
) -> tera::TeraResult<Option<Vec<T>>> {
    let bad = || tera::Error::message(format!("image_set: `{name}` must be an array of {what}"));
    match kw.get::<Value>(name)? {
        Some(v) => v
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|x| item(x).ok_or_else(bad))
            .collect::<Result<Vec<T>, _>>()
            .map(Some),
        None => Ok(None),
    }
}

/// The output being rendered (`current_path` of the context).
fn current_path(state: &State) -> String {
    state.get::<String>("current_path").ok().flatten().unwrap_or_default()
}

/// The logical folder images named by a relative path are looked up in first: the page's
/// (or section's) folder under `content/`.
fn page_dir(state: &State) -> Option<String> {
    if let Ok(Some(d)) = state.get::<String>("page_dir") {
        return Some(d);
    }
    for key in ["page", "section"] {
        if let Ok(Some(v)) = state.get::<Value>(key) {
            if let Some(rel) = v.get_from_path("relative_path").and_then(|r| r.as_str()) {
                return Some(crate::paths::content_dir(rel));
            }
        }
    }
    None
}

/// The loaded templates, and where each came from (for messages).
pub struct Templates {
    pub tera: Tera,
    origins: HashMap<String, String>,
    pub site: Arc<SiteData>,
    /// A multilingual site's `config` per language (see [`language_config`]).
    config_by_lang: HashMap<String, Value>,
}

impl Templates {
    /// Loads every `templates/**` file of the snapshot. All syntax errors are returned.
    pub fn load(tree: &SourceTree, site: Arc<SiteData>) -> Result<Templates, Vec<Diagnostic>> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html", ".htm", ".xml"]);
        tera.global_context()
            .insert("config", &config_value(&site.config, &site.config.language));
        register(&mut tera, &site);

        let mut origins = HashMap::new();
        let mut sources: Vec<(String, String)> = Vec::new();
        let mut errors = Vec::new();
        for (logical, file) in tree.under("templates/") {
            let name = logical["templates/".len()..].to_string();
            match std::str::from_utf8(&file.bytes) {
                Ok(s) => {
                    origins.insert(name.clone(), file.origin.clone());
                    sources.push((name, s.to_string()));
                }
                Err(e) => {
                    let (l, c) = crate::error::line_col(
                        &String::from_utf8_lossy(&file.bytes[..e.valid_up_to()]),
                        e.valid_up_to(),
                    );
                    errors.push(Diagnostic::at(&file.origin, l, c, "file is not valid UTF-8"));
                }
            }
        }
        for name in BUILTIN_TEMPLATES {
            if !origins.contains_key(*name) {
                if let Some(f) = DEFAULT_THEME.get_file(format!("templates/{name}")) {
                    origins.insert(name.to_string(), format!("<embedded>/themes/default/templates/{name}"));
                    sources.push((name.to_string(), String::from_utf8_lossy(f.contents()).into_owned()));
                }
            }
        }
        // Tera stops at the first syntax error; drop the broken template and try again, so
        // one run reports every broken template. Templates that extend a dropped one are
        // dropped silently: their parent's error is the one to fix.
        let mut dropped: Vec<String> = Vec::new();
        loop {
            match tera.add_raw_templates(sources.iter().map(|(n, s)| (n.as_str(), s.as_str()))) {
                Ok(()) => break,
                Err(e) => {
                    let bad = match e.kind() {
                        tera::ErrorKind::SyntaxError(r) => {
                            errors.extend(tera_diagnostics(&e, &origins, "templates"));
                            r.filename().to_string()
                        }
                        tera::ErrorKind::MissingParent { current, parent } if dropped.contains(parent) => {
                            current.clone()
                        }
                        _ => {
                            errors.extend(tera_diagnostics(&e, &origins, "templates"));
                            break;
                        }
                    };
                    if !sources.iter().any(|(n, _)| *n == bad) {
                        break;
                    }
                    sources.retain(|(n, _)| *n != bad);
                    dropped.push(bad);
                }
            }
        }
        if errors.is_empty() {
            let config_by_lang = if site.config.is_multilingual() {
                site.config
                    .site_languages()
                    .iter()
                    .map(|l| (l.code.clone(), language_config(&site.config, &l.code)))
                    .collect()
            } else {
                HashMap::new()
            };
            Ok(Templates {
                tera,
                origins,
                site,
                config_by_lang,
            })
        } else {
            Err(errors)
        }
    }

    /// The `config` the templates of an output in `lang` see, when it is not the site's.
    pub fn config_for(&self, lang: &str) -> Option<&Value> {
        self.config_by_lang.get(lang)
    }

    pub fn has(&self, name: &str) -> bool {
        self.tera.contains_template(name)
    }

    /// Whether Markdown renders use templates besides shortcodes: render hooks
    /// (`hooks/*.html`) or Zola's `anchor-link.html`.
    pub fn has_markdown_templates(&self) -> bool {
        self.has(ANCHOR_LINK_TEMPLATE) || self.origins.keys().any(|n| n.starts_with("hooks/"))
    }

    pub fn origin(&self, name: &str) -> String {
        self.origins
            .get(name)
            .cloned()
            .unwrap_or_else(|| format!("templates/{name}"))
    }

    /// Renders `name`; a failure names the template file, line and column.
    pub fn render(&self, name: &str, ctx: &Context) -> Result<String, Diagnostic> {
        self.tera.render(name, ctx).map_err(|e| {
            tera_diagnostics(&e, &self.origins, &self.origin(name))
                .into_iter()
                .next()
                .unwrap_or_else(|| Diagnostic::new(self.origin(name), e.to_string()))
        })
    }
}

/// The config as templates see it: its keys, plus Zola's `build_search_index` (whether the
/// language `lang` has a search index), which Zola themes test to show their search box.
fn config_value(config: &Config, lang: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(config).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("build_search_index".into(), config.search_enabled(lang).into());
    }
    v
}

/// What `config` is in the templates of a multilingual site's pages in `lang`, as Zola makes
/// it: the language's `title`, `description` and feeds, `[extra]` with the language's merged
/// over it, `default_language`, and `languages`: the *other* languages, by code.
fn language_config(config: &Config, lang: &str) -> Value {
    let mut v = config_value(config, lang);
    let languages = config.site_languages();
    if let (Some(m), Some(l)) = (v.as_object_mut(), languages.iter().find(|l| l.code == lang)) {
        m.insert("title".into(), l.title.clone().into());
        m.insert("description".into(), l.description.clone().into());
        m.insert("generate_feeds".into(), l.generate_feeds.into());
        m.insert("default_language".into(), config.language.clone().into());
        m.insert("language_name".into(), l.name.clone().into());
        if let Some(extra) = config.languages.get(lang).map(|c| &c.extra) {
            if let Some(e) = m.get_mut("extra").and_then(|e| e.as_object_mut()) {
                for (k, x) in extra {
                    e.insert(k.clone(), x.clone());
                }
            }
        }
        let others: serde_json::Map<String, serde_json::Value> = languages
            .iter()
            .filter(|o| o.code != lang)
            .map(|o| {
                let mut t = serde_json::Map::new();
                t.insert("code".into(), o.code.clone().into());
                t.insert("name".into(), o.name.clone().into());
                t.insert("title".into(), o.title.clone().into());
                t.insert("description".into(), o.description.clone().into());
                t.insert("path".into(), format!("{}/", o.prefix).into());
                t.insert("rtl".into(), o.rtl.into());
                t.insert("generate_feeds".into(), o.generate_feeds.into());
                (o.code.clone(), serde_json::Value::Object(t))
            })
            .collect();
        m.insert("languages".into(), serde_json::Value::Object(others));
    }
    Value::from_serializable(&v)
}

/// Converts a Tera error into diagnostics with the template's file and position.
pub fn tera_diagnostics(e: &tera::Error, origins: &HashMap<String, String>, fallback: &str) -> Vec<Diagnostic> {
    let origin = |n: &str| origins.get(n).cloned().unwrap_or_else(|| n.to_string());
    let message_of = |r: &tera::ReportError| {
        let mut m = r.message().to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            m.push_str(": ");
            m.push_str(&s.to_string());
            src = s.source();
        }
        m
    };
    match e.kind() {
        tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r) => {
            let s = r.span();
            vec![Diagnostic::at(
                origin(r.filename()),
                s.start_line,
                s.start_col + 1,
                message_of(r),
            )]
        }
        tera::ErrorKind::MissingParent { current, parent } => {
            vec![Diagnostic::new(
                origin(current),
                format!("extends `{parent}`, which is not a template of the site or theme"),
            )]
        }
        tera::ErrorKind::TemplateNotFound(name) => {
            vec![Diagnostic::new(fallback, format!("template `{name}` not found"))]
        }
        _ => {
            // Reports joined by Tera: "error: MSG\n --> name:line:col\n ...".
            let text = e.to_string();
            let mut out = Vec::new();
            let mut msg: Option<String> = None;
            for line in text.lines() {
                if let Some(m) = line.strip_prefix("error: ") {
                    msg = Some(m.to_string());
                } else if let (Some(loc), Some(m)) = (line.trim_start().strip_prefix("--> "), msg.as_ref()) {
                    let mut parts = loc.rsplitn(3, ':');
                    let col = parts.next().and_then(|c| c.parse().ok());
                    let line_no = parts.next().and_then(|c| c.parse().ok());
                    let file = parts.next().unwrap_or(loc);
                    match (line_no, col) {
                        (Some(l), Some(c)) => out.push(Diagnostic::at(origin(file), l, c, m.clone())),
                        _ => out.push(Diagnostic::new(origin(file), m.clone())),
                    }
                    msg = None;
                }
            }
            if out.is_empty() {
                out.push(Diagnostic::new(fallback, text));
            }
            out
        }
    }
}

/// A site's heading anchor link, when it has one (Zola's name): gets `id`, `level`, `lang`.
pub const ANCHOR_LINK_TEMPLATE: &str = "anchor-link.html";

/// Shortcodes are templates under `templates/shortcodes/`.
pub struct TemplateShortcodes<'a> {
    pub templates: &'a Templates,
    /// What a render's shortcodes see as `page` or `section`, by render key.
    pub contexts: &'a HashMap<String, (&'static str, Value)>,
}

impl Shortcodes for TemplateShortcodes<'_> {
    fn exists(&self, name: &str) -> bool {
        self.templates.has(&format!("shortcodes/{name}.html"))
    }

    fn render(
        &self,
        name: &str,
        args: &serde_json::Map<String, serde_json::Value>,
        body: Option<&str>,
        page_dir: &str,
        key: &str,
    ) -> Result<String, String> {
        let mut ctx = Context::new();
        for (k, v) in args {
            ctx.insert(k.clone(), v);
        }
        if let Some(b) = body {
            ctx.insert("body", b);
        }
        // The Markdown render's key: the images this call asks for are recorded with the
        // render's own, which the builder takes once the page is rendered. What the call
        // read is not an output's dependency (the render's cache key covers the templates).
        ctx.insert("current_path", key);
        ctx.insert("page_dir", page_dir);
        if let Some((name, value)) = self.contexts.get(key) {
            ctx.insert_value(*name, value.clone());
        }
        let html = self.templates.render(&format!("shortcodes/{name}.html"), &ctx);
        let _ = self.templates.site.take_deps(key);
        html.map_err(|d| d.to_string())
    }

    fn has_hook(&self, name: &str) -> bool {
        self.templates.has(&format!("hooks/{name}.html"))
    }

    fn hook(
        &self,
        name: &str,
        vars: &serde_json::Map<String, serde_json::Value>,
        key: &str,
    ) -> Option<Result<String, String>> {
        let template = format!("hooks/{name}.html");
        if !self.templates.has(&template) {
            return None;
        }
        let mut ctx = Context::new();
        for (k, v) in vars {
            ctx.insert(k.clone(), v);
        }
        // Images a hook asks for are recorded with the render's own (as for shortcodes).
        ctx.insert("current_path", key);
        let html = self.templates.render(&template, &ctx);
        let _ = self.templates.site.take_deps(key);
        Some(html.map_err(|d| d.to_string()))
    }

    fn anchor_link(&self, id: &str, level: u32, lang: &str) -> Option<Result<String, String>> {
        if !self.templates.has(ANCHOR_LINK_TEMPLATE) {
            return None;
        }
        let mut ctx = Context::new();
        ctx.insert("id", id);
        ctx.insert("level", &level);
        ctx.insert("lang", lang);
        Some(
            self.templates
                .render(ANCHOR_LINK_TEMPLATE, &ctx)
                .map(|h| h.trim().to_string())
                .map_err(|d| d.to_string()),
        )
    }
}

fn err(msg: impl ToString) -> tera::Error {
    tera::Error::message(msg)
}

/// Registers every function and filter sitegen adds to Tera, one group at a time.
fn register(tera: &mut Tera, site: &Arc<SiteData>) {
    register_url_functions(tera, site);
    register_language_functions(tera, site);
    register_search_functions(tera, site);
    register_asset_functions(tera, site);
    register_image_functions(tera, site);
    register_content_functions(tera, site);
    register_data_functions(tera, site);
    register_filters(tera, site);
    register_zola_compat(tera, site);
}

/// Tera 1 filters that Tera 2 dropped and Zola themes use: `slice(start, end)` (negative
/// indices count from the end), `concat(with)`, `filter(attribute, value)`, `map(attribute)`
/// `linebreaksbr`, and `int` with Tera 1's rules.
fn register_tera1_filters(tera: &mut Tera) {
    tera.register_filter(
        "slice",
        |v: &[Value], kw: Kwargs, _: &State| -> tera::TeraResult<Value> {
            let n = v.len() as i64;
            let at = |i: i64| if i < 0 { (n + i).max(0) } else { i.min(n) } as usize;
            let start = at(kw.get::<i64>("start")?.unwrap_or(0));
            let end = at(kw.get::<i64>("end")?.unwrap_or(n));
            Ok(Value::from(if start < end {
                v[start..end].to_vec()
            } else {
                Vec::new()
            }))
        },
    );
    tera.register_filter(
        "concat",
        |v: &[Value], kw: Kwargs, _: &State| -> tera::TeraResult<Value> {
            let mut out = v.to_vec();
            match kw.must_get::<Value>("with")? {
                w if w.as_array().is_some() => out.extend(w.as_array().unwrap_or_default().iter().cloned()),
                w => out.push(w),
            }
            Ok(Value::from(out))
        },
    );
    tera.register_filter(
        "filter",
        |v: &[Value], kw: Kwargs, _: &State| -> tera::TeraResult<Value> {
            let attr = kw.must_get::<&str>("attribute")?;
            let want = kw.get::<Value>("value")?;
            let keep = |x: &&Value| match (x.get_from_path(attr), &want) {
                (Some(a), Some(w)) => *a == *w,
                (Some(a), None) => !a.is_none() && !a.is_undefined(),
                (None, _) => false,
            };
            Ok(Value::from(v.iter().filter(keep).cloned().collect::<Vec<_>>()))
        },
    );
    tera.register_filter("map", |v: &[Value], kw: Kwargs, _: &State| -> tera::TeraResult<Value> {
        let attr = kw.must_get::<&str>("attribute")?;
        Ok(Value::from(
            v.iter()
                .filter_map(|x| x.get_from_path(attr).cloned())
                .collect::<Vec<_>>(),
        ))
    });
    // Tera 1's `int`: floats are truncated (`(w / 2) | int`), strings parsed (with `base`),
    // `default` when that fails. Tera 2's refuses non-integral floats.
    tera.register_filter("int", |v: &Value, kw: Kwargs, _: &State| -> tera::TeraResult<Value> {
        let default = kw.get::<i64>("default")?;
        let base = kw.get::<u32>("base")?.unwrap_or(10);
        let n = if let Some(f) = v.as_f64().filter(|_| v.is_number()) {
            Some(f.trunc() as i64)
        } else if let Some(s) = v.as_str() {
            let t = s.trim();
            let digits = match base {
                16 => t.trim_start_matches("0x"),
                8 => t.trim_start_matches("0o"),
                2 => t.trim_start_matches("0b"),
                _ => t,
            };
            i64::from_str_radix(digits, base).ok()
        } else {
            v.as_bool().map(i64::from)
        };
        n.or(default)
            .map(Value::from)
            .ok_or_else(|| err(format!("int: `{v}` is not a number (give `default=` for a fallback)")))
    });
    tera.register_filter("linebreaksbr", |s: &str, _: Kwargs, _: &State| {
        Value::safe_string(&s.replace("\r\n", "<br>").replace('\n', "<br>"))
    });
}

/// What Zola's templates use that Tera 2 lacks: `now(timestamp=false, utc=false)` (the
/// build's time as RFC 3339, or seconds since the epoch) and the `matching` test (a regex).
fn register_zola_compat(tera: &mut Tera, site: &Arc<SiteData>) {
    let s = site.clone();
    tera.register_function("now", move |kw: Kwargs, _: &State| -> tera::TeraResult<Value> {
        let now = s.now;
        if kw.get::<bool>("timestamp")?.unwrap_or(false) {
            return Ok(Value::from(now.timestamp()));
        }
        let t = if kw.get::<bool>("utc")?.unwrap_or(false) {
            now.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        } else {
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        Ok(Value::from(t))
    });
    register_tera1_filters(tera);
    tera.register_test("matching", |v: &str, kw: Kwargs, _: &State| -> tera::TeraResult<bool> {
        let pat = kw.must_get::<&str>("pat")?;
        let re = regex::Regex::new(pat).map_err(|e| err(format!("matching: `{pat}` is not a valid regex: {e}")))?;
        Ok(re.is_match(v))
    });
}

/// URL functions: `get_url` (pages and sections by `@/` path, assets, static files, plain
/// paths) and `get_taxonomy_url` (a term's page).
fn register_url_functions(tera: &mut Tera, site: &Arc<SiteData>) {
    let s = site.clone();
    tera.register_function("get_url", move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
        let path: String = kw.must_get::<&str>("path")?.to_string();
        let trailing = kw.get::<bool>("trailing_slash")?;
        let lang = s.lang_of(&kw, state)?;
        let url = if let Some(rel) = path.strip_prefix("@/") {
            let (file, anchor) = rel.split_once('#').map(|(f, a)| (f, Some(a))).unwrap_or((rel, None));
            let (_, u) = s
                .url_in(file, &lang)
                .ok_or_else(|| err(format!("get_url: there is no page or section `content/{file}`")))?;
            // Both the file and its translation: adding or removing the translation changes
            // which URL this is.
            s.record(state, Dep::Url(file.to_string()));
            if lang != s.config.language {
                s.record(state, Dep::Url(crate::content::languages::localized_path(file, &lang)));
            }
            match anchor {
                Some(a) => format!("{u}#{a}"),
                None => u.clone(),
            }
        } else {
            let clean = path.trim_start_matches('/');
            if let Some(a) = s.assets.get(clean) {
                return Ok(Value::from(s.assets.url(a)));
            }
            if let Some(out) = s.bundle_assets.get(clean) {
                return Ok(Value::from(s.config.permalink(&format!("/{out}"))));
            }
            let looks_like_file = clean.rsplit('/').next().is_some_and(|l| l.contains('.'));
            if looks_like_file && !s.static_paths.contains(clean) {
                return Err(err(format!(
                    "get_url: no static file `{clean}` (looked in `static/` of the site and theme)"
                )));
            }
            // A plain path in another language is under that language's prefix (Zola's rule).
            let prefix = match kw.get::<&str>("lang")? {
                Some(l) if l != s.config.language => s.config.site_language(l).map(|l| l.prefix).unwrap_or_default(),
                _ => String::new(),
            };
            let mut u = s.config.permalink(&format!("{prefix}/{clean}"));
            if trailing == Some(true) && !u.ends_with('/') {
                u.push('/');
            }
            u
        };
        Ok(Value::from(url))
    });

    let s = site.clone();
    tera.register_function(
        "get_taxonomy_url",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let kind = kw.must_get::<&str>("kind")?;
            let name = kw.must_get::<&str>("name")?;
            let l = s
                .taxonomy_language(kind, &kw, state)?
                .ok_or_else(|| err(format!("get_taxonomy_url: no taxonomy `{kind}` in {}", s.config.file)))?;
            Ok(Value::from(s.config.permalink(&format!(
                "{}/{}/{}/",
                l.prefix,
                crate::paths::slugify_path(kind, s.config.slugify.taxonomies),
                crate::paths::slugify_path(name, s.config.slugify.taxonomies)
            ))))
        },
    );
}

/// `trans(key, lang)`: a UI string in the output's language (or `lang`), falling back to
/// the default language, then to English (a theme's own strings); a key that no language
/// has is an error.
fn register_language_functions(tera: &mut Tera, site: &Arc<SiteData>) {
    let s = site.clone();
    tera.register_function("trans", move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
        let key = kw.must_get::<&str>("key")?;
        let lang = s.lang_of(&kw, state)?;
        match s.translations.lookup(key, &lang) {
            crate::content::languages::Lookup::Found(t) => Ok(Value::from(t)),
            crate::content::languages::Lookup::Missing => Err(err(format!(
                "trans: no language has the key `{key}`; add it to `[translations]` (the default language) or `[languages.{lang}.translations]` in {}, or to `i18n/{lang}.toml`",
                s.config.file
            ))),
        }
    });
}

/// `search_index(lang)`: the URL of the search index's entry file of the output's language
/// (or `lang`), or `""` when `[search]` is off for it: what a theme's search box reads.
fn register_search_functions(tera: &mut Tera, site: &Arc<SiteData>) {
    let s = site.clone();
    tera.register_function(
        "search_index",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let lang = s.lang_of(&kw, state)?;
            if !s.config.search_enabled(&lang) {
                return Ok(Value::from(""));
            }
            Ok(Value::from(s.config.permalink(&format!("/search/{lang}.json"))))
        },
    );
}

/// Asset functions: `asset` (the fingerprinted URL), `asset_integrity` (the SRI hash) and
/// `asset_info` (everything known about an asset of `static/`).
fn register_asset_functions(tera: &mut Tera, site: &Arc<SiteData>) {
    let s = site.clone();
    tera.register_function("asset", move |kw: Kwargs, _: &State| -> tera::TeraResult<Value> {
        let a = find_asset(&s, kw.must_get::<&str>("path")?)?;
        Ok(Value::from(s.assets.url(a)))
    });
    let s = site.clone();
    tera.register_function(
        "asset_integrity",
        move |kw: Kwargs, _: &State| -> tera::TeraResult<Value> {
            let a = find_asset(&s, kw.must_get::<&str>("path")?)?;
            // `serve` swaps stylesheets in place, which a pinned hash would block.
            Ok(Value::from(if s.config.serve_mode { "" } else { a.integrity.as_str() }))
        },
    );
    let s = site.clone();
    tera.register_function("asset_info", move |kw: Kwargs, _: &State| -> tera::TeraResult<Value> {
        let a = find_asset(&s, kw.must_get::<&str>("path")?)?;
        let mut m = tera::Map::new();
        m.insert("url".into(), Value::from(s.assets.url(a)));
        m.insert("path".into(), Value::from(a.path.as_str()));
        m.insert(
            "integrity".into(),
            Value::from(if s.config.serve_mode { "" } else { a.integrity.as_str() }),
        );
        m.insert("size".into(), Value::from(a.bytes.len()));
        m.insert("content_type".into(), Value::from(a.content_type.as_str()));
        m.insert("fingerprinted".into(), Value::from(a.fingerprinted));
        m.insert("width".into(), a.width.map(Value::from).unwrap_or_else(Value::none));
        m.insert("height".into(), a.height.map(Value::from).unwrap_or_else(Value::none));
        Ok(Value::from(m))
    });
}

/// Image functions: `resize_image`, `image_set` and `get_image_metadata`, which ask
/// [`crate::images::Images`] and record the source image as the output's dependency.
fn register_image_functions(tera: &mut Tera, site: &Arc<SiteData>) {
    let s = site.clone();
    tera.register_function(
        "resize_image",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let path = kw.must_get::<&str>("path")?;
            let width = kw.get::<u32>("width")?;
            let height = kw.get::<u32>("height")?;
            let default_op = match (width, height) {
                (Some(_), None) => "fit_width",
                (None, Some(_)) => "fit_height",
                _ => "fill",
            };
            let op = kw.get::<&str>("op")?.unwrap_or(default_op);
            let format = kw.get::<&str>("format")?.unwrap_or("auto");
            let anchor = kw.get::<&str>("anchor")?.unwrap_or("center");
            let quality = kw.get::<u8>("quality")?;
            let current = current_path(state);
            let r = s
                .images
                .resize(
                    &current,
                    path,
                    page_dir(state).as_deref(),
                    op,
                    width,
                    height,
                    anchor,
                    format,
                    quality,
                )
                .map_err(|e| tera::Error::message(format!("resize_image: {e}")))?;
            s.record(state, Dep::Data(r.source.clone()));
            Ok(Value::from_serializable(&r))
        },
    );
    let s = site.clone();
    tera.register_function(
        "image_set",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let path = kw.must_get::<&str>("path")?;
            let widths = array_arg(&kw, "widths", "numbers", |w| {
                w.as_i128().and_then(|n| u32::try_from(n).ok())
            })?
            .unwrap_or_else(|| s.config.images.markdown_widths.clone());
            let formats = array_arg(&kw, "formats", "strings", |f| f.as_str().map(String::from))?.unwrap_or_default();
            let quality = kw.get::<u8>("quality")?;
            let current = current_path(state);
            let r = s
                .images
                .image_set(&current, path, page_dir(state).as_deref(), &widths, &formats, quality)
                .map_err(|e| tera::Error::message(format!("image_set: {e}")))?;
            s.record(state, Dep::Data(r.source.clone()));
            Ok(Value::from_serializable(&r))
        },
    );
    let s = site.clone();
    tera.register_function(
        "get_image_metadata",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let path = kw.must_get::<&str>("path")?;
            let (logical, info) = s
                .images
                .metadata(path, page_dir(state).as_deref())
                .map_err(|e| tera::Error::message(format!("get_image_metadata: {e}")))?;
            s.record(state, Dep::Data(logical));
            let mut m = tera::Map::new();
            m.insert("width".into(), Value::from(info.width));
            m.insert("height".into(), Value::from(info.height));
            m.insert("has_alpha".into(), Value::from(info.has_alpha));
            Ok(Value::from(m))
        },
    );
}

/// Content lookups: `get_page`, `get_section` and `get_taxonomy`, read from the values of
/// [`SiteValues`] (so not usable before pages are rendered).
fn register_content_functions(tera: &mut Tera, site: &Arc<SiteData>) {
    let s = site.clone();
    tera.register_function(
        "get_page",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let path = kw.must_get::<&str>("path")?;
            let path = path.trim_start_matches("@/");
            let values = s.values("get_page")?;
            let lang = match kw.get::<&str>("lang")? {
                Some(l) => l.to_string(),
                None => s.config.language.clone(),
            };
            if lang != s.config.language {
                s.record(state, Dep::Page(crate::content::languages::localized_path(path, &lang)));
            }
            s.record(state, Dep::Page(path.to_string()));
            let path = s.localized(path, &lang, |p| values.pages.contains_key(p));
            values
                .pages
                .get(&*path)
                .cloned()
                .ok_or_else(|| err(format!("get_page: there is no page `content/{path}`")))
        },
    );

    let s = site.clone();
    tera.register_function(
        "get_section",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let path = kw.must_get::<&str>("path")?;
            let path = path.trim_start_matches("@/");
            let values = s.values("get_section")?;
            let lang = match kw.get::<&str>("lang")? {
                Some(l) => l.to_string(),
                None => s.config.language.clone(),
            };
            if lang != s.config.language {
                s.record(
                    state,
                    Dep::Section(crate::content::languages::localized_path(path, &lang)),
                );
            }
            s.record(state, Dep::Section(path.to_string()));
            let path = s.localized(path, &lang, |p| values.sections.contains_key(p));
            values
                .sections
                .get(&*path)
                .cloned()
                .ok_or_else(|| err(format!("get_section: there is no section `content/{path}`")))
        },
    );

    let s = site.clone();
    tera.register_function(
        "get_taxonomy",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let kind = kw.must_get::<&str>("kind")?;
            let missing = || err(format!("get_taxonomy: no taxonomy `{kind}` in {}", s.config.file));
            let l = s.taxonomy_language(kind, &kw, state)?.ok_or_else(missing)?;
            let key = crate::content::taxonomy_key(kind, &l.code, l.is_default);
            s.record(state, Dep::Taxonomy(key.clone()));
            s.values("get_taxonomy")?
                .taxonomies
                .get(&key)
                .cloned()
                .ok_or_else(missing)
        },
    );

    let s = site.clone();
    tera.register_function(
        "get_taxonomy_term",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let kind = kw.must_get::<&str>("kind")?;
            let term = kw.must_get::<&str>("term")?;
            let missing = || err(format!("get_taxonomy_term: no taxonomy `{kind}` in {}", s.config.file));
            let l = s.taxonomy_language(kind, &kw, state)?.ok_or_else(missing)?;
            let key = crate::content::taxonomy_key(kind, &l.code, l.is_default);
            s.record(state, Dep::Taxonomy(key.clone()));
            let tax = s
                .values("get_taxonomy_term")?
                .taxonomies
                .get(&key)
                .ok_or_else(missing)?;
            let slug = crate::paths::slugify_path(term, s.config.slugify.taxonomies);
            let found = tax
                .get_from_path("items")
                .and_then(|items| items.as_array().map(|a| a.to_vec()))
                .unwrap_or_default()
                .into_iter()
                .find(|t| {
                    t.get_from_path("name").and_then(|n| n.as_str()) == Some(term)
                        || t.get_from_path("slug").and_then(|n| n.as_str()) == Some(slug.as_str())
                });
            match found {
                Some(t) => Ok(t),
                None if kw.get::<bool>("required")? == Some(false) => Ok(Value::none()),
                None => Err(err(format!(
                    "get_taxonomy_term: taxonomy `{kind}` has no term `{term}`"
                ))),
            }
        },
    );
}

/// Data files: `load_data` (JSON, TOML, YAML, CSV or text under `data/`, `content/` or
/// `static/`).
fn register_data_functions(tera: &mut Tera, site: &Arc<SiteData>) {
    let s = site.clone();
    tera.register_function(
        "load_data",
        move |kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let path = kw.must_get::<&str>("path")?.trim_start_matches('/');
            let logical = if path.starts_with("data/") || path.starts_with("content/") || path.starts_with("static/") {
                path.to_string()
            } else {
                format!("data/{path}")
            };
            s.record(state, Dep::Data(logical));
            let format = kw.get::<&str>("format")?;
            let required = kw.get::<bool>("required")?.unwrap_or(true);
            load_data(&s, path, format, required)
        },
    );
}

/// Filters: `date`, `markdown`, `slugify`, `urlencode`, `striptags` and `json_encode`.
fn register_filters(tera: &mut Tera, site: &Arc<SiteData>) {
    tera.register_filter("date", |v: &Value, kw: Kwargs, _: &State| -> tera::TeraResult<String> {
        let format = kw.get::<&str>("format")?.unwrap_or("%Y-%m-%d");
        let d = if let Some(s) = v.as_str() {
            parse_date(s).ok_or_else(|| err(format!("date: `{s}` is not a date")))?
        } else if let Some(n) = v.as_i64() {
            chrono::DateTime::from_timestamp(n, 0)
                .ok_or_else(|| err("date: timestamp out of range"))?
                .fixed_offset()
        } else {
            return Err(err(format!("date: expected a date string, got {}", v.name())));
        };
        Ok(match format {
            "rfc3339" => d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "rfc2822" => d.to_rfc2822(),
            f => {
                use std::fmt::Write;
                let mut out = String::new();
                write!(out, "{}", d.format(f)).map_err(|_| err(format!("date: invalid format `{f}`")))?;
                out
            }
        })
    });

    let s = site.clone();
    tera.register_filter(
        "markdown",
        move |text: &str, kw: Kwargs, state: &State| -> tera::TeraResult<Value> {
            let inline = kw.get::<bool>("inline")?.unwrap_or(false);
            let lang = s.lang_of(&kw, state)?;
            let resolve = |p: &str, lang: &str| s.url_in(p, lang).map(|(f, u)| (f.into_owned(), u.clone()));
            let resolve_asset = |u: &str| s.assets.fingerprinted_url(u, &s.config);
            let source_exists = |p: &str| s.tree.get(p).is_some();
            let env = crate::markdown::Env {
                config: &s.config.markdown,
                base_url: &s.config.base_url,
                highlighter: &s.highlighter,
                resolve: &resolve,
                source_exists: &source_exists,
                resolve_asset: &resolve_asset,
                shortcodes: &crate::markdown::NoShortcodes,
                images: None,
                anchors: s.config.slugify.anchors,
            };
            let input = crate::markdown::Input {
                env: &env,
                origin: "<markdown filter>",
                key: "<markdown filter>",
                text,
                body_offset: 0,
                page_dir: "content/",
                lang: &lang,
                anchor_links: s.config.markdown.anchor_links,
            };
            let r = crate::markdown::render(&input)
                .map_err(|e| err(e.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; ")))?;
            let mut html = r.html;
            if inline {
                let t = html.trim_end();
                if let Some(inner) = t.strip_prefix("<p>").and_then(|x| x.strip_suffix("</p>")) {
                    if !inner.contains("<p>") {
                        html = inner.to_string();
                    }
                }
            }
            Ok(Value::safe_string(&html))
        },
    );

    tera.register_filter("slugify", |s: &str, _: Kwargs, _: &State| crate::paths::slugify(s));
    tera.register_filter("urlencode", |s: &str, _: Kwargs, _: &State| crate::paths::urlencode(s));
    tera.register_filter("striptags", |s: &str, _: Kwargs, _: &State| strip_tags(s));
    tera.register_filter(
        "json_encode",
        |v: &Value, kw: Kwargs, _: &State| -> tera::TeraResult<String> {
            let pretty = kw.get::<bool>("pretty")?.unwrap_or(false);
            let j = serde_json::to_value(v).map_err(err)?;
            if pretty {
                serde_json::to_string_pretty(&j).map_err(err)
            } else {
                serde_json::to_string(&j).map_err(err)
            }
        },
    );
}

fn find_asset<'a>(s: &'a SiteData, path: &str) -> tera::TeraResult<&'a crate::assets::Asset> {
    s.assets.get(path).ok_or_else(|| {
        err(format!(
            "no asset `{path}`: there is no file `static/{}` in the site or theme",
            path.trim_start_matches('/')
        ))
    })
}

fn load_data(s: &SiteData, path: &str, format: Option<&str>, required: bool) -> tera::TeraResult<Value> {
    let logical = if path.starts_with("data/") || path.starts_with("content/") || path.starts_with("static/") {
        path.to_string()
    } else {
        format!("data/{path}")
    };
    let ext = format
        .map(str::to_string)
        .unwrap_or_else(|| logical.rsplit('.').next().unwrap_or("").to_lowercase());
    // The result depends on the file and on the format it is read as.
    let key = (logical, ext);
    if let Some(v) = s.data_cache.lock().expect("data cache lock").get(&key) {
        return Ok(v.clone());
    }
    let (logical, ext) = (&key.0, &key.1);
    let Some(file) = s.tree.get(logical) else {
        if !required {
            return Ok(Value::none());
        }
        return Err(err(format!("load_data: no file `{logical}`")));
    };
    let text = std::str::from_utf8(&file.bytes)
        .map_err(|_| err(format!("load_data: `{}` is not valid UTF-8", file.origin)))?;
    let json: serde_json::Value = match ext.as_str() {
        "json" => serde_json::from_str(text)
            .map_err(|e| err(format!("load_data: {}:{}:{}: {e}", file.origin, e.line(), e.column())))?,
        "toml" => {
            let t: toml::Table = toml::from_str(text).map_err(|e| {
                err(format!(
                    "load_data: {}",
                    crate::config::toml_diagnostic(&file.origin, text, &e)
                ))
            })?;
            crate::content::front_matter::toml_to_json(toml::Value::Table(t))
        }
        "yaml" | "yml" => {
            let y: serde_yaml_ng::Value =
                serde_yaml_ng::from_str(text).map_err(|e| err(format!("load_data: {}: {e}", file.origin)))?;
            crate::content::front_matter::yaml_to_json(y)
        }
        "csv" => {
            let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
            let headers: Vec<String> = rdr
                .headers()
                .map_err(|e| err(format!("load_data: {}: {e}", file.origin)))?
                .iter()
                .map(String::from)
                .collect();
            let mut records = Vec::new();
            for r in rdr.records() {
                let r = r.map_err(|e| err(format!("load_data: {}: {e}", file.origin)))?;
                records.push(serde_json::Value::Array(
                    r.iter().map(|f| serde_json::Value::String(f.to_string())).collect(),
                ));
            }
            serde_json::json!({ "headers": headers, "records": records })
        }
        "txt" | "md" | "html" | "plain" => serde_json::Value::String(text.to_string()),
        other => {
            return Err(err(format!(
                "load_data: unknown format `{other}` for `{logical}` (json, toml, yaml, csv, txt)"
            )))
        }
    };
    let v = Value::from_serializable(&json);
    s.data_cache.lock().expect("data cache lock").insert(key, v.clone());
    Ok(v)
}

pub fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}
