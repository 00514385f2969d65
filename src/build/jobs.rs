//! Render jobs: one per output (page, section and pager page, taxonomy and term page, feed,
//! sitemap, alias, robots.txt, 404), each a template and the variables of its context, made
//! one kind of output at a time; and rendering one job.

use std::collections::HashSet;

use tera::{Context, Map, Value};

use super::values::{v_opt_date, Values};
use super::OutputFile;
use crate::assets;
use crate::config::Config;
use crate::content::{Page, Section, SiteModel};
use crate::error::Diagnostic;
use crate::keys::{hash_of, value_key, Dep};
use crate::paths::output_path;
use crate::templates::Templates;

/// One output to render: a template and the variables of its context. The context itself is
/// made only when the output is rendered, not for the outputs that are reused.
pub(super) struct RenderJob {
    pub output: String,
    template: String,
    /// `current_path`: the URL path below the base URL.
    path: String,
    /// `lang`: the language of what the output shows.
    lang: String,
    /// The context variables besides `current_path`, `current_url` and `lang` (which follow
    /// from `path` and the config).
    vars: Vec<(&'static str, Value)>,
    source: String,
    /// The page whose own job this is: its `page` value gets the fields the shared value
    /// left out ([`super::values::own_page_value`]) when it is rendered.
    own_page: Option<usize>,
}

/// Makes page `i`'s own value from its shared value, for the job that renders the page.
pub(super) type OwnPage<'a> = &'a (dyn Fn(usize, &Value) -> Result<Value, Diagnostic> + Sync);

impl RenderJob {
    pub fn new(output: String, template: impl Into<String>, path: &str, source: impl Into<String>) -> RenderJob {
        RenderJob {
            output,
            template: template.into(),
            path: path.to_string(),
            lang: String::new(),
            vars: Vec::new(),
            source: source.into(),
            own_page: None,
        }
    }

    /// The same, in language `lang` (the default language otherwise).
    pub fn in_lang(mut self, lang: &str) -> RenderJob {
        self.lang = lang.to_string();
        self
    }

    pub fn with(mut self, name: &'static str, value: Value) -> RenderJob {
        self.vars.push((name, value));
        self
    }

    /// What decides the output besides what template functions read: shared values by
    /// identity, the rest by content.
    pub fn key(&self, templates_key: u64, assets_key: u64, shared: &HashSet<usize>) -> u64 {
        let vars: Vec<(&str, u64)> = self.vars.iter().map(|(k, v)| (*k, value_key(v, shared))).collect();
        hash_of((
            &self.template,
            &self.output,
            &self.path,
            &self.lang,
            templates_key,
            assets_key,
            vars,
        ))
    }

    /// The job of page `i`'s own output.
    pub fn own_page(mut self, i: usize) -> RenderJob {
        self.own_page = Some(i);
        self
    }

    fn context(&self, config: &Config, templates: &Templates, own: Option<OwnPage<'_>>) -> Result<Context, Diagnostic> {
        let mut c = Context::new();
        c.insert("current_path", &self.path);
        c.insert("current_url", &config.permalink(&self.path));
        let lang = if self.lang.is_empty() {
            &config.language
        } else {
            &self.lang
        };
        c.insert("lang", lang);
        c.insert("lang_dir", if config.is_rtl_language(lang) { "rtl" } else { "ltr" });
        // A multilingual site's `config` is its language's: title, description, extra and
        // the other languages.
        if let Some(v) = templates.config_for(lang) {
            c.insert_value("config", v.clone());
        }
        for (k, v) in &self.vars {
            match (self.own_page, own) {
                (Some(i), Some(own)) if *k == "page" => c.insert_value(*k, own(i, v)?),
                _ => c.insert_value(*k, v.clone()),
            }
        }
        Ok(c)
    }
}

/// Renders one job: the template, then asset URL rewriting and minification for HTML. Returns
/// the file and what its template functions read.
pub(super) fn render_output(
    job: &RenderJob,
    templates: &Templates,
    config: &Config,
    own: Option<OwnPage<'_>>,
) -> Result<RenderedOutput, Diagnostic> {
    let site = &templates.site;
    let mut html = templates.render(&job.template, &job.context(config, templates, own)?)?;
    let deps: Vec<(Dep, u64)> = site
        .take_deps(&job.path)
        .into_iter()
        .map(|d| {
            let id = site.dep_ident(&d);
            (d, id)
        })
        .collect();
    let images = site.images.take(&job.path);
    if job.output.ends_with(".html") {
        if let Some(h) = site.assets.rewrite_html(&html, config) {
            html = h;
        }
    }
    let bytes = if job.output.ends_with(".html") && config.minify_html {
        assets::minify_html(html.as_bytes())
    } else {
        html.into_bytes()
    };
    Ok((OutputFile::new(bytes, job.source.as_str()), deps, images))
}

/// An output's file, what its template functions read, and the images it asked for.
pub(super) type RenderedOutput = (OutputFile, Vec<(Dep, u64)>, Vec<crate::images::Job>);

/// The template of a page, and the front matter key that chose it (`None`: the section's
/// `page_template` or the default).
pub(super) fn page_template(p: &Page, s: &Section) -> (String, Option<&'static str>) {
    match (&p.fm.template, &s.fm.page_template) {
        (Some(t), _) => (t.clone(), Some("template")),
        (None, Some(t)) => (t.clone(), None),
        (None, None) => ("page.html".to_string(), None),
    }
}

/// Pagination: the pager pages of `pages` under `base_path` (`/blog/`).
fn paginate(
    config: &Config,
    base_path: &str,
    paginate_path: &str,
    pages: &[Value],
    per: usize,
) -> Vec<(String, Value)> {
    if per == 0 {
        return vec![];
    }
    let chunks: Vec<&[Value]> = if pages.is_empty() {
        vec![&pages[..0]]
    } else {
        pages.chunks(per).collect()
    };
    let n = chunks.len();
    let url = |k: usize| -> String {
        if k == 1 {
            base_path.to_string()
        } else {
            format!("{base_path}{paginate_path}/{k}/")
        }
    };
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let k = i + 1;
            let mut m = Map::new();
            m.insert("paginate_by".into(), Value::from(per));
            m.insert("current_index".into(), Value::from(k));
            m.insert("number_pagers".into(), Value::from(n));
            m.insert("total_pages".into(), Value::from(pages.len()));
            m.insert("first".into(), Value::from(config.permalink(&url(1))));
            m.insert("last".into(), Value::from(config.permalink(&url(n))));
            m.insert(
                "previous".into(),
                if k > 1 {
                    Value::from(config.permalink(&url(k - 1)))
                } else {
                    Value::none()
                },
            );
            m.insert(
                "next".into(),
                if k < n {
                    Value::from(config.permalink(&url(k + 1)))
                } else {
                    Value::none()
                },
            );
            m.insert("pages".into(), Value::from(chunk.to_vec()));
            m.insert(
                "base_url".into(),
                Value::from(config.permalink(&format!("{base_path}{paginate_path}/"))),
            );
            (url(k), Value::from(m))
        })
        .collect()
}

/// Every output's render job. Also returns the sitemap's entries with their key, which the
/// builder keeps so that the next build can reuse them when they are the same.
pub(super) fn render_jobs(
    model: &SiteModel,
    config: &Config,
    templates: &Templates,
    values: &Values,
    old_sitemap: Option<&(u64, Value)>,
    errors: &mut Vec<Diagnostic>,
) -> (Vec<RenderJob>, Option<(u64, Value)>) {
    let mut jobs = Jobs {
        model,
        config,
        templates,
        values,
        jobs: Vec::new(),
        errors,
    };
    jobs.pages();
    jobs.sections();
    jobs.taxonomies();
    jobs.site_feeds();
    let sitemap = config.generate_sitemap.then(|| jobs.sitemap(old_sitemap));
    jobs.fixed();
    (jobs.jobs, sitemap)
}

/// The render jobs of one build, made one kind of output at a time.
struct Jobs<'a, 'e> {
    model: &'a SiteModel,
    config: &'a Config,
    templates: &'a Templates,
    values: &'a Values,
    jobs: Vec<RenderJob>,
    errors: &'e mut Vec<Diagnostic>,
}

impl Jobs<'_, '_> {
    /// Whether template `name` exists; if not, an error at the front matter `key` of `text`
    /// that chose it (or at `origin` as a whole).
    fn need(&mut self, name: &str, origin: &str, key: Option<&str>, text: &str) -> bool {
        if self.templates.has(name) {
            return true;
        }
        let msg = format!("template `{name}` not found in `templates/` of the site or theme");
        let d = key
            .and_then(|k| crate::content::front_matter::find_key(text, k).map(|o| crate::error::line_col(text, o)))
            .map(|(l, c)| Diagnostic::at(origin, l, c, msg.clone()))
            .unwrap_or_else(|| Diagnostic::new(origin, msg));
        self.errors.push(d);
        false
    }

    /// Page values of the pages `idx` (a section's or a term's), optionally only the dated.
    fn pages_of(&self, idx: &[usize], dated_only: bool) -> Vec<Value> {
        idx.iter()
            .filter(|&&pi| !dated_only || self.model.pages[pi].date.is_some())
            .map(|&pi| self.values.pages[pi].clone())
            .collect()
    }

    /// Every page, and its aliases.
    fn pages(&mut self) {
        let model = self.model;
        for (i, p) in model.pages.iter().enumerate() {
            let s = &model.sections[p.section];
            let (tpl, key) = page_template(p, s);
            let origin = if key.is_none() && s.fm.page_template.is_some() {
                &s.origin
            } else {
                &p.origin
            };
            let text = if key.is_some() { &p.text } else { &s.text };
            if !self.need(
                &tpl,
                origin,
                key.or(s.fm.page_template.as_ref().map(|_| "page_template")),
                text,
            ) {
                continue;
            }
            let page = self.values.pages[i].clone();
            self.jobs.push(
                RenderJob::new(output_path(&p.path), tpl, &p.path, p.origin.as_str())
                    .in_lang(&p.lang)
                    .with("page", page)
                    .own_page(i),
            );
            for a in &p.fm.aliases {
                self.jobs
                    .push(alias_job(self.config, a, &p.path, &p.origin).in_lang(&p.lang));
            }
        }
    }

    /// Every section that renders: its page (or pager pages), aliases and feeds.
    fn sections(&mut self) {
        let (model, config) = (self.model, self.config);
        for (i, s) in model.sections.iter().enumerate() {
            for a in &s.fm.aliases {
                self.jobs
                    .push(alias_job(config, a, &s.path, &s.origin).in_lang(&s.lang));
            }
            if !s.fm.render {
                continue;
            }
            if let Some(to) = &s.fm.redirect_to {
                self.jobs
                    .push(redirect_job(config, &s.path, to, &s.origin).in_lang(&s.lang));
                continue;
            }
            let tpl = match &s.fm.template {
                Some(t) => t.clone(),
                None if s.dir.is_empty() && self.templates.has("index.html") => "index.html".into(),
                None => "section.html".into(),
            };
            if !self.need(&tpl, &s.origin, s.fm.template.as_ref().map(|_| "template"), &s.text) {
                continue;
            }
            let section = self.values.sections[i].clone();
            let pages = self.pages_of(&s.pages, false);
            let pagers = paginate(config, &s.path, &s.fm.paginate_path, &pages, s.fm.paginate_by);
            if pagers.is_empty() {
                self.jobs.push(
                    RenderJob::new(output_path(&s.path), tpl.clone(), &s.path, s.origin.as_str())
                        .in_lang(&s.lang)
                        .with("section", section.clone()),
                );
            }
            for (k, (path, pager)) in pagers.into_iter().enumerate() {
                self.jobs.push(
                    RenderJob::new(output_path(&path), tpl.clone(), &path, s.origin.as_str())
                        .in_lang(&s.lang)
                        .with("section", section.clone())
                        .with("paginator", pager),
                );
                if k == 0 {
                    let first = format!("{}{}/1/", s.path, s.fm.paginate_path);
                    self.jobs
                        .push(alias_job(config, &first, &s.path, &s.origin).in_lang(&s.lang));
                }
            }
            if s.fm.generate_feeds {
                let dated = self.pages_of(&s.pages, true);
                let start = self.jobs.len();
                feed_jobs(
                    config,
                    &s.path,
                    dated,
                    &s.origin,
                    Some(("section", section)),
                    &mut self.jobs,
                );
                self.set_lang(start, &s.lang);
            }
        }
    }

    /// Every taxonomy's list page, and each term's page (or pager pages) and feeds.
    fn taxonomies(&mut self) {
        let (model, config) = (self.model, self.config);
        let config_file = config.file.clone();
        for (ti, t) in model.taxonomies.iter().enumerate() {
            let tv = &self.values.taxonomies[ti];
            let start = self.jobs.len();
            let items = tv.get_from_path("items").cloned().unwrap_or_else(Value::none);
            // A taxonomy's own templates (`tags/list.html`, as in Zola), else the general ones.
            let own = |kind: &str, general: &str| {
                let name = format!("{}/{kind}.html", t.config.name);
                if self.templates.has(&name) {
                    name
                } else {
                    general.to_string()
                }
            };
            let (list_tpl, single_tpl) = (own("list", "taxonomy_list.html"), own("single", "taxonomy_single.html"));
            if self.need(&list_tpl, &config_file, None, "") {
                let source = format!("taxonomy `{}`", t.config.name);
                self.jobs.push(
                    RenderJob::new(output_path(&t.path), list_tpl.clone(), &t.path, source)
                        .with("taxonomy", tv.clone())
                        .with("terms", items.clone()),
                );
            }
            if !self.need(&single_tpl, &config_file, None, "") {
                continue;
            }
            let term_values = items.as_array().map(|a| a.to_vec()).unwrap_or_default();
            for (term, tvalue) in t.terms.iter().zip(term_values) {
                let pages = self.pages_of(&term.pages, false);
                let pagers = paginate(config, &term.path, "page", &pages, t.config.paginate_by);
                let source = format!("taxonomy `{}` term `{}`", t.config.name, term.name);
                let job = |path: &str| {
                    RenderJob::new(output_path(path), single_tpl.clone(), path, source.clone())
                        .with("taxonomy", tv.clone())
                        .with("term", tvalue.clone())
                };
                if pagers.is_empty() {
                    self.jobs.push(job(&term.path));
                }
                for (path, pager) in pagers {
                    self.jobs.push(job(&path).with("paginator", pager));
                }
                if t.config.feed {
                    let dated = self.pages_of(&term.pages, true);
                    feed_jobs(
                        config,
                        &term.path,
                        dated,
                        &source,
                        Some(("term", tvalue.clone())),
                        &mut self.jobs,
                    );
                }
            }
            self.set_lang(start, &t.lang);
        }
    }

    /// Puts the jobs from `start` on in language `lang`.
    fn set_lang(&mut self, start: usize, lang: &str) {
        for j in &mut self.jobs[start..] {
            j.lang = lang.to_string();
        }
    }

    /// The site's own feeds, one set per language (`/atom.xml`, `/fr/atom.xml`): every dated
    /// page of the language, newest first.
    fn site_feeds(&mut self) {
        for l in &self.model.languages {
            if !l.generate_feeds {
                continue;
            }
            let by_date = self.model.pages_by_date(&l.code);
            let pages = self.pages_of(&by_date, true);
            let start = self.jobs.len();
            let base = format!("{}/", l.prefix);
            feed_jobs(self.config, &base, pages, &self.config.file, None, &mut self.jobs);
            self.set_lang(start, &l.code);
        }
    }

    /// The sitemap, with its entries and their key (reused from `old` when the key is the
    /// same, so the sitemap compares by identity and is not rendered again).
    fn sitemap(&mut self, old: Option<&(u64, Value)>) -> (u64, Value) {
        let (model, config) = (self.model, self.config);
        // What the entries show, in a cheap form: a rebuild that changes none of it reuses
        // the entries (and the sitemap, by identity) instead of making 10,000 maps again.
        // Versions in other languages: (language, path) of each, this one included, when
        // there are several (they become `hreflang` links).
        let page_versions = |p: &'_ Page| -> Vec<(&str, &str)> {
            if p.translations.len() < 2 {
                return vec![];
            }
            p.translations
                .iter()
                .map(|&j| &model.pages[j])
                .filter(|t| t.fm.in_sitemap)
                .map(|t| (t.lang.as_str(), t.path.as_str()))
                .collect()
        };
        let section_versions = |s: &'_ Section| -> Vec<(&str, &str)> {
            if s.translations.len() < 2 {
                return vec![];
            }
            s.translations
                .iter()
                .map(|&j| &model.sections[j])
                .filter(|t| t.fm.render && t.fm.in_sitemap)
                .map(|t| (t.lang.as_str(), t.path.as_str()))
                .collect()
        };
        let listed = || {
            let pages = model
                .pages
                .iter()
                .filter(|p| p.fm.in_sitemap)
                .map(move |p| (p.path.as_str(), p.updated.or(p.date), page_versions(p)));
            let sections = model
                .sections
                .iter()
                .filter(|s| s.fm.render && s.fm.in_sitemap)
                .map(move |s| (s.path.as_str(), None, section_versions(s)));
            let terms = model.taxonomies.iter().flat_map(|t| {
                std::iter::once((t.path.as_str(), None, vec![]))
                    .chain(t.terms.iter().map(|term| (term.path.as_str(), None, vec![])))
            });
            pages.chain(sections).chain(terms)
        };
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for e in listed() {
                e.hash(&mut h);
            }
            h.finish()
        };
        let value = match old {
            Some((k, v)) if *k == key => v.clone(),
            _ => {
                let default = &config.language;
                let mut entries: Vec<(&str, Value)> = listed()
                    .map(|(path, updated, versions)| {
                        let mut m = Map::new();
                        m.insert("permalink".into(), Value::from(config.permalink(path)));
                        m.insert("updated".into(), v_opt_date(updated));
                        let alternates: Vec<Value> = versions
                            .iter()
                            .map(|(lang, p)| {
                                let mut a = Map::new();
                                a.insert("lang".into(), Value::from(*lang));
                                a.insert("permalink".into(), Value::from(config.permalink(p)));
                                Value::from(a)
                            })
                            .collect();
                        let x_default = versions
                            .iter()
                            .find(|(l, _)| *l == default.as_str())
                            .map(|(_, p)| Value::from(config.permalink(p)))
                            .unwrap_or_else(Value::none);
                        m.insert("translations".into(), Value::from(alternates));
                        m.insert("x_default".into(), x_default);
                        (path, Value::from(m))
                    })
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::from(entries.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
            }
        };
        let job = RenderJob::new(
            "sitemap.xml".into(),
            "sitemap.xml",
            "/sitemap.xml",
            "sitemap.xml template",
        );
        self.jobs.push(
            job.with("entries", value.clone())
                .with("multilingual", Value::from(config.is_multilingual())),
        );
        (key, value)
    }

    /// `robots.txt` and `404.html`.
    fn fixed(&mut self) {
        if self.config.generate_robots_txt {
            let job = RenderJob::new("robots.txt".into(), "robots.txt", "/robots.txt", "robots.txt template");
            self.jobs.push(job);
        }
        if self.templates.has("404.html") {
            let origin = self.templates.origin("404.html");
            // One per language: `/404.html`, `/fr/404.html`.
            for l in &self.model.languages {
                let path = format!("{}/404.html", l.prefix);
                self.jobs
                    .push(RenderJob::new(path[1..].to_string(), "404.html", &path, origin.clone()).in_lang(&l.code));
            }
        }
    }
}

fn feed_jobs(
    config: &Config,
    base: &str,
    mut pages: Vec<Value>,
    source: &str,
    extra: Option<(&'static str, Value)>,
    jobs: &mut Vec<RenderJob>,
) {
    if config.feed_limit > 0 {
        pages.truncate(config.feed_limit);
    }
    let last_updated = pages
        .iter()
        .filter_map(|p| {
            let updated = p.get_from_path("updated").and_then(|v| v.as_str().map(String::from));
            updated.or_else(|| p.get_from_path("date").and_then(|v| v.as_str().map(String::from)))
        })
        .max();
    let pages = Value::from(pages);
    for name in &config.feed_filenames {
        let path = format!("{base}{name}");
        let mut job = RenderJob::new(output_path(&path), name.as_str(), &path, source)
            .with("feed_url", Value::from(config.permalink(&path)))
            .with("feed_base_url", Value::from(config.permalink(base)))
            .with("pages", pages.clone())
            .with(
                "last_updated",
                last_updated.clone().map(Value::from).unwrap_or_else(Value::none),
            );
        if let Some((k, v)) = &extra {
            job = job.with(k, v.clone());
        }
        jobs.push(job);
    }
}

/// A section's `redirect_to`: its page is the redirect page (`alias.html`) to `to`, a path
/// under `base_url` or a full URL.
fn redirect_job(config: &Config, path: &str, to: &str, source: &str) -> RenderJob {
    let url = if to.starts_with("http://") || to.starts_with("https://") {
        to.to_string()
    } else {
        config.permalink(&format!("/{}", to.trim_start_matches('/')))
    };
    RenderJob::new(
        output_path(path),
        "alias.html",
        path,
        format!("{source} (redirect_to `{to}`)"),
    )
    .with("url", Value::from(url))
}

fn alias_job(config: &Config, alias: &str, target: &str, source: &str) -> RenderJob {
    let path = crate::paths::normalize_url_path(alias);
    RenderJob::new(
        output_path(&path),
        "alias.html",
        &path,
        format!("{source} (alias `{alias}`)"),
    )
    .with("url", Value::from(config.permalink(target)))
}
