//! `serve`'s preview: an edited page's output rendered with the last build's model,
//! templates and values, ahead of the rebuild that renders what lists it. Made only when it
//! is exactly what the rebuild will render (invariant 11 in ARCHITECTURE.md).

use std::collections::HashSet;
use std::sync::Arc;

use super::jobs::{page_template, render_output, RenderJob};
use super::listed::Omit;
use super::markdown::{links_key, render_one, with_env, Html};
use super::values::page_value;
use super::{Builder, CachedMarkdown, LastBuild, OutputFile};
use crate::content::{Page, SiteModel};
use crate::keys::Dep;
use crate::markdown::{AnchorRef, Rendered};
use crate::source::{SourceFile, SourceTree};

/// An edited page of the last build: its index in the model, its file and text now.
type Edit<'a> = (usize, &'a SourceFile, Arc<str>);

/// What the edits change: the pages, their sections and their taxonomies. An output whose
/// template read any of these cannot be previewed.
struct Scope<'a> {
    pages: HashSet<&'a str>,
    sections: HashSet<&'a str>,
    /// By [`crate::content::taxonomy_key`] (`tags`, `tags@fr`).
    taxonomies: HashSet<String>,
}

impl<'a> Scope<'a> {
    fn of(model: &'a SiteModel, edited: &[Edit<'_>]) -> Self {
        let pages = edited.iter().map(|(i, _, _)| &model.pages[*i]);
        Scope {
            pages: pages.clone().map(|p| p.relative_path.as_str()).collect(),
            sections: pages
                .clone()
                .map(|p| model.sections[p.section].relative_path.as_str())
                .collect(),
            taxonomies: pages
                .flat_map(|p| {
                    let is_default = model.language(&p.lang).is_default;
                    p.fm.taxonomies
                        .keys()
                        .map(move |k| crate::content::taxonomy_key(k, &p.lang, is_default))
                })
                .collect(),
        }
    }

    fn reads_the_edit(&self, dep: &Dep, changed: &[(&str, Option<&SourceFile>)]) -> bool {
        match dep {
            Dep::Page(p) => self.pages.contains(p.as_str()),
            Dep::Section(s) => self.sections.contains(s.as_str()),
            Dep::Taxonomy(t) => self.taxonomies.contains(t.as_str()),
            Dep::Data(d) => changed.iter().any(|(l, _)| *l == d.as_str()),
            Dep::Url(_) => false,
        }
    }
}

impl Builder {
    /// Renders ahead of the rebuild the outputs of edited pages that can be: `serve` shows
    /// them and reloads their browsers at once, then runs [`Builder::build`] for the pages that
    /// list them. What changed is found by comparing `tree` with the last build's snapshot,
    /// so it includes the edits of rebuilds that were cancelled or not run yet.
    ///
    /// A preview is exactly what the rebuild will render for that output, or nothing: it is
    /// made only when every changed file is an existing page whose edit leaves the rest of the
    /// site's model as it was (same URL, date, order, taxonomies, template, aliases; the title
    /// only where the section does not sort by it), whose Markdown has no shortcodes and no
    /// new errors, and whose template read nothing the edit changes (its section, its
    /// taxonomies, a changed file). Otherwise it returns no outputs.
    pub fn preview(&mut self, tree: &SourceTree) -> Vec<(String, OutputFile)> {
        let Some(old) = self.last.as_ref().map(|l| l.templates.site.tree.clone()) else {
            return Vec::new();
        };
        let changed: Vec<(&str, Option<&SourceFile>)> =
            tree.changed_since(&old).into_iter().map(|l| (l, tree.get(l))).collect();
        self.preview_changes(&changed)
    }

    /// [`Builder::preview`], given what changed since the last build: logical paths (files or
    /// folders) and their files now (`None`: gone), with no walk over the snapshot.
    pub fn preview_changes(&mut self, changed: &[(&str, Option<&SourceFile>)]) -> Vec<(String, OutputFile)> {
        let Some((outputs, renders)) = self.preview_outputs(changed) else {
            return Vec::new();
        };
        // The rebuild reuses these renders: they are keyed by content like any other.
        // The renders they replace stay alive until the next build has compared against
        // them: template values are keyed by the address of their render, and a freed
        // address can be handed to a new render.
        for (origin, c) in renders {
            if let Some(old) = self.markdown.insert(origin, c) {
                self.retired.push(old);
            }
        }
        outputs
    }

    /// Every edited page's output and Markdown render, or `None` when one of them cannot be
    /// previewed.
    #[allow(clippy::type_complexity)] // (outputs, renders by origin), used once just above
    fn preview_outputs(
        &self,
        changed: &[(&str, Option<&SourceFile>)],
    ) -> Option<(Vec<(String, OutputFile)>, Vec<(String, CachedMarkdown)>)> {
        let last = self.last.as_ref()?;
        let model = &last.model;
        let edited = edited_pages(model, changed)?;
        let scope = Scope::of(model, &edited);
        let mut outputs = Vec::new();
        let mut renders = Vec::new();
        for (i, file, text) in edited {
            let page = edited_page(model, i, file, text)?;
            let (mut r, jobs) = self.preview_markdown(last, &page, &scope)?;
            let html = Html::take(&mut r, None);
            let (output, out_file) = preview_output(last, &page, i, (&r, &html), &scope, changed)?;
            let site = &last.templates.site;
            outputs.push((output, out_file));
            renders.push((
                page.origin.clone(),
                CachedMarkdown {
                    sha256: page.sha256,
                    image_jobs: jobs,
                    links_key: links_key(&r, site, &page.lang),
                    templates_key: 0,
                    html,
                    result: Arc::new((r, Vec::new())),
                },
            ));
        }
        Some((outputs, renders))
    }

    /// The edited page's Markdown, when it renders without errors, with images already made,
    /// and with its anchor links (to it and from it) as they were checked.
    fn preview_markdown(
        &self,
        last: &LastBuild,
        page: &Page,
        scope: &Scope<'_>,
    ) -> Option<(Rendered, Arc<[crate::images::Job]>)> {
        let model = &last.model;
        let site = &last.templates.site;
        // An edit with shortcodes is not previewed, so no shortcode context is needed.
        let ((r, errs), jobs) = with_env(&last.templates, &Default::default(), |env| {
            render_one(
                env,
                &site.images,
                &page.origin,
                (
                    &page.relative_path,
                    &page.lang,
                    super::markdown::anchor_links(&model.sections[page.section], &site.config),
                ),
                &page.text,
                page.body_offset,
            )
        });
        // Images not made yet would be missing until the rebuild: leave it to the rebuild.
        if !errs.is_empty() || !jobs.iter().all(|j| site.images.is_made(j)) {
            return None;
        }
        if last
            .anchor_targets
            .get(&page.relative_path)
            .is_some_and(|ids| *ids != r.heading_ids)
        {
            return None;
        }
        let anchor_ok = |a: &AnchorRef| {
            if a.target == page.relative_path {
                return r.heading_ids.contains(&a.anchor);
            }
            if scope.pages.contains(a.target.as_str()) {
                return false;
            }
            let origin = match (model.page_by_path.get(&a.target), model.section_by_path.get(&a.target)) {
                (Some(&j), _) => &model.pages[j].origin,
                (None, Some(&j)) => &model.sections[j].origin,
                (None, None) => return true,
            };
            // An unchanged file's render is the last build's.
            self.markdown
                .get(origin)
                .is_some_and(|c| c.result.0.heading_ids.contains(&a.anchor))
        };
        r.anchor_refs.iter().all(anchor_ok).then_some((r, jobs))
    }
}

/// The edited pages, when every changed file is a page of the last build (and valid UTF-8).
fn edited_pages<'a>(model: &SiteModel, changed: &[(&str, Option<&'a SourceFile>)]) -> Option<Vec<Edit<'a>>> {
    let mut edited = Vec::new();
    for &(l, file) in changed {
        let rel = l.strip_prefix("content/").filter(|r| r.ends_with(".md"))?;
        let (&i, file) = (model.page_by_path.get(rel)?, file?);
        let text = file.text.clone()?;
        if file.sha256 != model.pages[i].sha256 {
            edited.push((i, file, text));
        }
    }
    Some(edited)
}

/// The page as edited, when the edit changes only what shows on the page itself (not its
/// URL, date, order, taxonomies, template or aliases) and it has no shortcodes.
fn edited_page(model: &SiteModel, i: usize, file: &SourceFile, text: Arc<str>) -> Option<Page> {
    let old = &model.pages[i];
    let section = &model.sections[old.section];
    if text.contains("{{") || text.contains("{%") {
        return None;
    }
    // The rebuild's clock may have passed the expiry since the last build.
    if old.fm.expiry_date.is_some() {
        return None;
    }
    let split = crate::content::front_matter::split(&old.origin, &text).ok()?;
    let fm = crate::content::front_matter::parse::<crate::content::PageFrontMatter>(&old.origin, &text, &split).ok()?;
    // Only what shows on the page itself may differ.
    let mut same = fm.clone();
    same.description.clone_from(&old.fm.description);
    same.extra.clone_from(&old.fm.extra);
    same.updated.clone_from(&old.fm.updated);
    // The title also shows in the translations' pages (their `translations`).
    if section.fm.sort_by != crate::content::SortBy::Title && old.translations.len() < 2 {
        same.title.clone_from(&old.fm.title);
    }
    if same != *old.fm {
        return None;
    }
    let updated = match fm.updated.as_deref() {
        Some(d) => Some(crate::content::parse_date(d)?),
        None => None,
    };
    Some(Page {
        text: text.clone(),
        sha256: file.sha256,
        body_offset: split.body_offset,
        fm: Arc::new(fm),
        updated,
        ..old.clone()
    })
}

/// The edited page's output, when its template exists, its images are made and it read
/// nothing the edits change.
fn preview_output(
    last: &LastBuild,
    page: &Page,
    i: usize,
    r: (&Rendered, &Html),
    scope: &Scope<'_>,
    changed: &[(&str, Option<&SourceFile>)],
) -> Option<(String, OutputFile)> {
    let model = &last.model;
    let templates = &last.templates;
    let config = &*templates.site.config;
    let section = &model.sections[page.section];
    // Among the pages of its own section (a transparent subsection's are listed there too).
    let own: Vec<usize> = section
        .pages
        .iter()
        .copied()
        .filter(|&j| model.pages[j].section == page.section)
        .collect();
    let neighbours = match own.iter().position(|&j| j == i) {
        Some(k) => (k.checked_sub(1).map(|k| own[k]), own.get(k + 1).copied()),
        None => (None, None),
    };
    let value = page_value(
        model,
        page,
        r,
        config,
        neighbours,
        &|j| super::values::stub(&model.pages[j], config),
        Omit::NONE,
    );
    let (tpl, _) = page_template(page, section);
    if !templates.has(&tpl) {
        return None;
    }
    let job = RenderJob::new(
        crate::paths::output_path(&page.path),
        tpl,
        &page.path,
        page.origin.as_str(),
    )
    .in_lang(&page.lang)
    .with("page", value);
    let (file, deps, images) = render_output(&job, templates, config, None).ok()?;
    if !images.iter().all(|j| templates.site.images.is_made(j)) {
        return None;
    }
    if deps.iter().any(|(d, _)| scope.reads_the_edit(d, changed)) {
        return None;
    }
    Some((job.output, file))
}
