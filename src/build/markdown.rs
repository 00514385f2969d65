//! The Markdown phase: every page's and section's Markdown rendered in parallel, reusing the
//! last build's render when the file, the URLs it links to, the images it shows and (for
//! files with shortcodes) the templates are the same; then `@/page.md#anchor` links checked
//! against the headings of the pages they name.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use tera::Value;

use super::{Builder, CachedMarkdown};
use crate::config::{AnchorLinks, Config};
use crate::content::SiteModel;
use crate::error::Diagnostic;
use crate::images::{Images, Job};
use crate::keys::{hash_of, value_key};
use crate::markdown::{self, Rendered};
use crate::spill::Held;
use crate::templates::{SiteData, TemplateShortcodes, Templates};

/// The renders of one build, in the model's order.
pub(super) struct Renders {
    pages: Vec<CachedMarkdown>,
    sections: Vec<CachedMarkdown>,
    /// The content file of each render, in the same order (pages, then sections).
    origins: Vec<String>,
}

/// A render's HTML and summary as template values, made once when it is rendered: the
/// page's value shares them and the search index reads them, so each page's HTML is held
/// once (the render's own strings are emptied). A build whose listings read no page's
/// content holds a page's HTML LZ4-compressed instead (`packed`: in memory while the budget
/// lasts, then in a temporary file, see [`Spill`]): a one-shot build until the page's own
/// job takes it ([`Html::take_content`]), which frees it; a builder kept for the next build
/// (`serve`) as long as it keeps the render, unpacking it for each render of the page.
#[derive(Clone)]
pub(super) struct Html {
    content: Value,
    packed: Option<Arc<Packed>>,
    pub summary: Value,
}

/// A page's HTML, LZ4-compressed (with its length in front), until it is taken (`None`).
/// Freed from the spill when dropped untaken.
struct Packed {
    held: std::sync::Mutex<Option<Held>>,
    /// Counted in the spill's budget (see [`Spill::hold`]).
    counted: bool,
    spill: Arc<Spill>,
}

impl Drop for Packed {
    fn drop(&mut self) {
        let held = self.held.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let (Some(h), true) = (held, self.counted) {
            self.spill.spill.free(&h);
        }
    }
}

/// Where compressed page HTML is kept: in memory up to its budget, the rest in unnamed
/// temporary files ([`crate::spill`]). A one-shot build makes one per build, whose budget
/// counts every page held, also those taken (one file, read in the order it was written).
/// A builder kept between builds (`serve`) keeps one whose renders free what they held
/// when the builder drops them (files of 64 MiB, each closed once nothing in it lives).
pub(super) struct Spill {
    spill: crate::spill::Spill,
    kept: bool,
}

impl Spill {
    pub fn new(budget: usize) -> Arc<Spill> {
        Arc::new(Spill {
            spill: crate::spill::Spill::new(budget, u64::MAX),
            kept: false,
        })
    }

    /// The spill of a builder kept between builds.
    pub fn kept(budget: usize) -> Arc<Spill> {
        Arc::new(Spill {
            spill: crate::spill::Spill::new(budget, 64 << 20),
            kept: true,
        })
    }

    /// How many pages' HTML went to a file so far.
    pub fn spilled(&self) -> usize {
        self.spill.spilled()
    }

    fn unpack(&self, held: Option<&Held>) -> std::io::Result<Value> {
        let held = held.expect("a page's HTML is taken by its own job only, once");
        let bytes = self.spill.read(held)?;
        let html = lz4_flex::decompress_size_prepended(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let html = String::from_utf8(html).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(Value::safe_string(&html))
    }
}

impl Html {
    /// Moves `r`'s HTML and summary into values; with `pack`, the HTML compressed and held
    /// where that spill puts it. With `only_with_summary` (listings read the content of
    /// pages without a summary, as feeds do), a page without one is not spilled: a one-shot
    /// build keeps it compressed in memory (outside the budget) until its own job, a kept
    /// builder does not compress it (its page value shows the content).
    pub fn take(r: &mut Rendered, pack: Option<(&Arc<Spill>, bool)>) -> Html {
        let plain = |(spill, only_with_summary): &(&Arc<Spill>, bool)| {
            !(spill.kept && *only_with_summary && r.summary.is_none())
        };
        let pack = pack.filter(plain);
        let html = Html {
            content: if pack.is_some() {
                Value::none()
            } else {
                Value::safe_string(&r.html)
            },
            packed: pack.map(|(spill, only_with_summary)| {
                let bytes = lz4_flex::compress_prepend_size(r.html.as_bytes());
                let counted = !(only_with_summary && r.summary.is_none());
                let held = if counted {
                    spill.spill.hold(bytes)
                } else {
                    Held::Memory(bytes.into())
                };
                Arc::new(Packed {
                    held: std::sync::Mutex::new(Some(held)),
                    counted,
                    spill: spill.clone(),
                })
            }),
            summary: r.summary.as_deref().map(Value::safe_string).unwrap_or_else(Value::none),
        };
        r.html = String::new();
        r.summary = None;
        html
    }

    /// What a page shows before rendering (its shortcodes' context).
    pub fn none() -> Html {
        Html {
            content: Value::safe_string(""),
            packed: None,
            summary: Value::none(),
        }
    }

    /// The HTML as a template value (unpacked anew when it is held compressed, which is
    /// in memory unless listings never read it: see `Builder::plan_phases`).
    pub fn content(&self) -> Value {
        match &self.packed {
            Some(p) => {
                let held = p.held.lock().unwrap_or_else(|e| e.into_inner());
                p.spill.unpack(held.as_ref()).expect("a page's HTML read back")
            }
            None => self.content.clone(),
        }
    }

    /// The HTML as a template value for the page's own job, the last reader of a one-shot
    /// build: compressed HTML is freed as it is unpacked. An error when it was spilled and
    /// cannot be read back.
    pub fn take_content(&self) -> std::io::Result<Value> {
        match &self.packed {
            Some(p) => {
                let held = p.held.lock().unwrap_or_else(|e| e.into_inner()).take();
                p.spill.unpack(held.as_ref())
            }
            None => Ok(self.content.clone()),
        }
    }

    /// The HTML as it is held, when it is not compressed (the search index reads it in
    /// place; a build with search on does not pack).
    pub fn content_value(&self) -> Option<&Value> {
        self.packed.is_none().then_some(&self.content)
    }
}

impl Renders {
    pub fn page(&self, i: usize) -> &Rendered {
        &self.pages[i].result.0
    }

    pub fn section(&self, i: usize) -> &Rendered {
        &self.sections[i].result.0
    }

    pub fn page_html(&self, i: usize) -> &Html {
        &self.pages[i].html
    }

    pub fn section_html(&self, i: usize) -> &Html {
        &self.sections[i].html
    }

    /// The identity of page `i`'s render (a reused render is the same allocation).
    pub fn page_id(&self, i: usize) -> usize {
        Arc::as_ptr(&self.pages[i].result) as usize
    }

    pub fn section_id(&self, i: usize) -> usize {
        Arc::as_ptr(&self.sections[i].result) as usize
    }

    fn all(&self) -> impl Iterator<Item = &CachedMarkdown> {
        self.pages.iter().chain(&self.sections)
    }

    /// The resized images every render asked for.
    pub fn image_jobs(&self) -> impl Iterator<Item = &Job> {
        self.all().flat_map(|c| c.image_jobs.iter())
    }

    /// Adds the renders' errors and those of `@/page.md#anchor` links to missing headings.
    pub fn report(&self, model: &SiteModel, errors: &mut Vec<Diagnostic>) {
        for c in self.all() {
            errors.extend(c.result.1.iter().cloned());
        }
        let ids_of = |rel: &str| -> Option<&Vec<String>> {
            if let Some(&i) = model.page_by_path.get(rel) {
                Some(&self.page(i).heading_ids)
            } else {
                model.section_by_path.get(rel).map(|&i| &self.section(i).heading_ids)
            }
        };
        for (origin, c) in self.origins.iter().zip(self.all()) {
            for a in &c.result.0.anchor_refs {
                if ids_of(&a.target).is_some_and(|ids| !ids.contains(&a.anchor)) {
                    errors.push(Diagnostic::at(
                        origin.as_str(),
                        a.line,
                        a.column,
                        format!(
                            "link to `{}`, but `content/{}` has no heading with id `{}`",
                            a.link, a.target, a.anchor
                        ),
                    ));
                }
            }
        }
    }

    /// Drops what only a next build or a preview reads of the renders (the files and images
    /// they depend on, their anchor links once reported, their heading ids): a one-shot
    /// build's renders keep their table of contents, word count and links (the link
    /// check's positions).
    pub fn forget_for_next_build(&mut self) {
        for c in self.pages.iter_mut().chain(self.sections.iter_mut()) {
            if let Some((r, _)) = Arc::get_mut(&mut c.result) {
                r.links_to = Vec::new();
                r.image_sources = Vec::new();
                r.anchor_refs = Vec::new();
                r.heading_ids = Vec::new();
            }
        }
    }

    /// The heading ids of the pages and sections that some render links to with an anchor.
    pub fn anchor_targets(&self, model: &SiteModel) -> HashMap<String, Vec<String>> {
        self.all()
            .flat_map(|c| c.result.0.anchor_refs.iter())
            .filter_map(|a| {
                let ids = match (model.page_by_path.get(&a.target), model.section_by_path.get(&a.target)) {
                    (Some(&i), _) => &self.page(i).heading_ids,
                    (None, Some(&i)) => &self.section(i).heading_ids,
                    (None, None) => return None,
                };
                Some((a.target.clone(), ids.clone()))
            })
            .collect()
    }

    /// The links (and images) of each render's Markdown, by content file.
    pub fn links(&self) -> HashMap<&str, &[markdown::LinkRef]> {
        self.origins
            .iter()
            .zip(self.all())
            .map(|(o, c)| (o.as_str(), c.result.0.links.as_slice()))
            .collect()
    }

    /// The renders by content file, for the next build.
    pub fn cache(&self) -> HashMap<String, CachedMarkdown> {
        self.origins.iter().cloned().zip(self.all().cloned()).collect()
    }
}

/// What a Markdown render in this build links and shows through: permalinks, fingerprinted
/// assets, shortcodes (with `contexts`: what each render's shortcodes see as `page` or
/// `section`, by render key), images.
pub(super) fn with_env<R>(
    templates: &Templates,
    contexts: &HashMap<String, (&'static str, Value)>,
    f: impl FnOnce(&markdown::Env<'_>) -> R,
) -> R {
    let site: &SiteData = &templates.site;
    let config = &*site.config;
    let shortcodes = TemplateShortcodes { templates, contexts };
    let resolve = |p: &str, lang: &str| site.url_in(p, lang).map(|(f, u)| (f.into_owned(), u.clone()));
    let resolve_asset = |u: &str| site.assets.fingerprinted_url(u, config);
    let source_exists = |p: &str| site.tree.get(p).is_some();
    let env = markdown::Env {
        config: &config.markdown,
        base_url: &config.base_url,
        highlighter: &site.highlighter,
        resolve: &resolve,
        source_exists: &source_exists,
        resolve_asset: &resolve_asset,
        shortcodes: &shortcodes,
        images: Some(&*site.images),
        anchors: config.slugify.anchors,
    };
    f(&env)
}

/// A key of what a render's `@/` and `.md` links lead to (the URL, or whether the file is
/// there when it has none): a render is reused only while they stay.
pub(super) fn links_key(r: &Rendered, site: &SiteData, lang: &str) -> u64 {
    hash_of(
        r.links_to
            .iter()
            .map(|l| match site.url_in(l, lang) {
                Some(found) => (Some(found), false),
                None => (None, site.tree.get(&format!("content/{l}")).is_some()),
            })
            .collect::<Vec<_>>(),
    )
}

impl Builder {
    /// Renders every page's and section's Markdown, in parallel, reusing what can be.
    /// `pack`: hold the pages' HTML compressed, where that spill puts it, and whether only
    /// pages with a summary go there ([`Html::take`]).
    /// `texts`: the pages' texts, when the model's pages hold only their front matter (a
    /// one-shot build): each is dropped as soon as its page is rendered, so the sources and
    /// the renders are never all in memory together.
    pub(super) fn render_markdown(
        &self,
        model: &SiteModel,
        templates: &Templates,
        templates_key: u64,
        pack: Option<(&Arc<Spill>, bool)>,
        texts: Option<Vec<Arc<str>>>,
    ) -> Renders {
        let site = &templates.site;
        let tree = &site.tree;
        let images_unchanged = |r: &Rendered| {
            r.image_sources
                .iter()
                .all(|(p, sha)| tree.get(p).map(|f| f.sha256) == Some(*sha))
        };
        let text_of = |i: usize| -> &str { texts.as_ref().map_or(&model.pages[i].text, |t| &t[i]) };
        let contexts = shortcode_contexts(model, &site.config, &text_of);
        with_env(templates, &contexts, |env| {
            // Render hooks and anchor-link.html: every render depends on the templates.
            let custom_anchor = templates.has_markdown_templates();
            let render = |origin: &str,
                          relative: &str,
                          lang: &str,
                          anchors: AnchorLinks,
                          text: &str,
                          body_offset: usize,
                          sha: [u8; 32],
                          page: bool| {
                let uses_templates = text.contains("{{") || text.contains("{%") || custom_anchor;
                // With shortcodes, the render also depends on the templates and on what the
                // shortcodes see of the page (by content: its value is made anew each build).
                let tkey = if uses_templates {
                    let context = contexts.get(&markdown::render_key(origin));
                    hash_of((
                        templates_key,
                        context.map(|(_, v)| value_key(v, &Default::default())),
                        format!("{anchors:?}"),
                    ))
                } else {
                    hash_of(format!("{anchors:?}"))
                };
                if let Some(c) = self.markdown.get(origin) {
                    if c.sha256 == sha
                        && c.templates_key == tkey
                        && sha != [0; 32]
                        && c.links_key == links_key(&c.result.0, site, lang)
                        && images_unchanged(&c.result.0)
                    {
                        return c.clone();
                    }
                }
                let (mut result, image_jobs) =
                    render_one(env, &site.images, origin, (relative, lang, anchors), text, body_offset);
                CachedMarkdown {
                    sha256: sha,
                    image_jobs,
                    links_key: links_key(&result.0, site, lang),
                    templates_key: tkey,
                    html: Html::take(&mut result.0, pack.filter(|_| page)),
                    result: Arc::new(result),
                }
            };
            let texts: Vec<Option<Arc<str>>> = match texts {
                Some(t) => t.into_iter().map(Some).collect(),
                None => vec![None; model.pages.len()],
            };
            let pages = model
                .pages
                .par_iter()
                .zip(texts)
                .map(|(p, text)| {
                    let anchors = anchor_links(&model.sections[p.section], &site.config);
                    render(
                        &p.origin,
                        &p.relative_path,
                        &p.lang,
                        anchors,
                        text.as_deref().unwrap_or(&p.text),
                        p.body_offset,
                        p.sha256,
                        true,
                    )
                })
                .collect();
            let sections = model
                .sections
                .par_iter()
                .map(|s| {
                    let anchors = anchor_links(s, &site.config);
                    render(
                        &s.origin,
                        &s.relative_path,
                        &s.lang,
                        anchors,
                        &s.text,
                        s.body_offset,
                        s.sha256,
                        false,
                    )
                })
                .collect();
            let origins = model
                .pages
                .iter()
                .map(|p| p.origin.clone())
                .chain(model.sections.iter().map(|s| s.origin.clone()))
                .collect();
            Renders {
                pages,
                sections,
                origins,
            }
        })
    }
}

/// The heading anchor links of a section and its pages: the section's setting, else the site's.
pub(super) fn anchor_links(section: &crate::content::Section, config: &Config) -> AnchorLinks {
    section.fm.anchor_links.unwrap_or(config.markdown.anchor_links)
}

/// What the shortcodes of each page or section that has some see as `page` or `section`: its
/// value without what rendering makes (content, summary, table of contents), as in Zola.
fn shortcode_contexts<'t>(
    model: &SiteModel,
    config: &Config,
    text_of: &dyn Fn(usize) -> &'t str,
) -> HashMap<String, (&'static str, Value)> {
    let uses = |t: &str| t.contains("{{") || t.contains("{%");
    let none = Rendered::default();
    let no_html = Html::none();
    let pages = model
        .pages
        .iter()
        .enumerate()
        .filter(|&(i, _)| uses(text_of(i)))
        .map(|(_, p)| {
            let v = super::values::page_value(
                model,
                p,
                (&none, &no_html),
                config,
                (None, None),
                &|_| Value::none(),
                super::listed::Omit::NONE,
            );
            (markdown::render_key(&p.origin), ("page", v))
        });
    let sections = model.sections.iter().filter(|s| uses(&s.text)).map(|s| {
        let v = super::values::section_stub(model, s, config);
        (markdown::render_key(&s.origin), ("section", v))
    });
    pages.chain(sections).collect()
}

/// Renders one content file's Markdown; returns the render (with the sources of every image
/// it shows, its shortcodes' included) and the resized images it asked for.
pub(super) fn render_one(
    env: &markdown::Env<'_>,
    images: &Images,
    origin: &str,
    (relative_path, lang, anchor_links): (&str, &str, AnchorLinks),
    text: &str,
    body_offset: usize,
) -> ((Rendered, Vec<Diagnostic>), Arc<[Job]>) {
    let key = markdown::render_key(origin);
    let page_dir = crate::paths::content_dir(relative_path);
    let (mut r, errors) = markdown::render_all(&markdown::Input {
        env,
        origin,
        key: &key,
        text,
        body_offset,
        page_dir: &page_dir,
        lang,
        anchor_links,
    });
    let jobs = images.take(&key);
    r.image_sources
        .extend(jobs.iter().map(|j| (j.source.clone(), j.source_sha256)));
    r.image_sources.sort();
    r.image_sources.dedup();
    ((r, errors), jobs.into())
}
