//! SiteModel → BuildPlan: renders every page, section, taxonomy page, feed, sitemap, alias and
//! static file into a map of output path → bytes. Pure (no file I/O); rendering runs in
//! parallel with rayon. The plan is complete before anything touches `public/`, which is what
//! lets a failed build leave the old output alone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use tera::{Context, Map, Value};

use crate::assets::{self, AssetSet};
use crate::config::Config;
use crate::content::{Page, Section, SiteModel};
use crate::error::{Diagnostic, Errors};
use crate::markdown::{self, Highlighter, Rendered};
use crate::source::{SourceFile, SourceTree};
use crate::templates::{SiteData, SiteValues, TemplateShortcodes, Templates};

/// Name of the generated stylesheet for highlighted code.
pub const SYNTAX_CSS: &str = "syntax-theme.css";

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Include pages and sections marked `draft = true`.
    pub drafts: bool,
    /// Only the assets and `manifest.json`: the static tier of an app whose HTML comes
    /// from its own servers.
    pub assets_only: bool,
    /// Look for broken internal links in the output (warnings; `check` turns them into errors).
    pub check_links: bool,
    /// Show a progress bar when many images are processed (on a terminal only).
    pub progress: bool,
    /// When set and not zero, the build stops early (`serve` counts the edits waiting to be
    /// built here): it returns an error, see [`BuildOptions::cancelled`], and a builder keeps
    /// what it had, so the next build (and preview) starts from the last complete one.
    pub cancel: Option<Arc<std::sync::atomic::AtomicUsize>>,
}

impl BuildOptions {
    /// Whether a build with these options was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst) > 0)
    }

    /// What `sitegen build` does by default.
    pub fn new() -> Self {
        BuildOptions {
            check_links: true,
            ..Default::default()
        }
    }
}

/// One file of the output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputFile {
    pub bytes: Arc<[u8]>,
    pub sha256: [u8; 32],
    /// What produced it (a content file, a template, a static file), for messages.
    pub source: Arc<str>,
    /// Fingerprinted: the name changes whenever the bytes do, so it can be cached forever.
    pub immutable: bool,
}

impl OutputFile {
    pub fn new(bytes: impl Into<Arc<[u8]>>, source: impl Into<Arc<str>>) -> Self {
        let bytes = bytes.into();
        OutputFile {
            sha256: Sha256::digest(&bytes).into(),
            bytes,
            source: source.into(),
            immutable: false,
        }
    }
}

/// The whole output of a build: relative path (`blog/a/index.html`) → file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildPlan {
    pub files: BTreeMap<String, OutputFile>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildStats {
    pub pages: usize,
    pub sections: usize,
    pub static_files: usize,
    pub outputs: usize,
    /// Outputs rendered by this build (the others were reused from the previous build).
    pub rendered: usize,
    /// Processed images taken from the cache (memory or disk).
    pub images_cached: usize,
    /// Image sources decoded by this build (each at most once).
    pub images_decoded: usize,
    /// Processed images encoded by this build.
    pub images_encoded: usize,
    /// Time spent per phase, in order (`sitegen build -v` prints them).
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

#[derive(Debug, Clone)]
pub struct BuildResult {
    pub plan: BuildPlan,
    /// Problems that do not stop a build (broken plain links); `sitegen check` fails on them.
    pub warnings: Vec<Diagnostic>,
    pub stats: BuildStats,
    /// Outputs this build rendered (the rest were reused), sorted.
    pub rendered: Vec<String>,
    /// Cache keys of every processed image this build uses (`sitegen cache prune` keeps
    /// these).
    pub image_keys: Vec<String>,
}

/// `/blog/a/` → `blog/a/index.html`; `/feed.json` → `feed.json`.
pub fn output_path(url_path: &str) -> String {
    let p = url_path.trim_start_matches('/');
    if p.is_empty() {
        "index.html".to_string()
    } else if p.ends_with('/') {
        format!("{p}index.html")
    } else {
        p.to_string()
    }
}

/// Renders the site. Every error found is returned, sorted by file and position.
pub fn build(tree: Arc<SourceTree>, config: Arc<Config>, opts: &BuildOptions) -> Result<BuildResult, Errors> {
    Builder::default().build(tree, config, opts)
}

/// Something a template function read while rendering one output.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dep {
    Page(String),
    Section(String),
    Taxonomy(String),
    Data(String),
    Url(String),
}

#[derive(Clone)]
struct CachedMarkdown {
    sha256: [u8; 32],
    uses_templates: bool,
    links_key: u64,
    templates_key: u64,
    result: Arc<(Rendered, Vec<Diagnostic>)>,
}

#[derive(Clone)]
struct CachedOutput {
    key: u64,
    deps: Vec<(Dep, u64)>,
    file: OutputFile,
    /// Images the template asked for (`resize_image`, `image_set`).
    images: Vec<crate::images::Job>,
}

/// A build that remembers the last one: Markdown renders, template values and outputs whose
/// inputs did not change are reused, so a rebuild after one edit renders only what that edit
/// can affect. `sitegen build` uses a fresh one; `serve` and `build --watch` keep one.
///
/// Reuse is decided by keys, never by guessing: a Markdown render is reused when the file's
/// sha256, the URLs it links to and (for files with shortcodes) the templates are the same;
/// a page's value when its inputs are the same; an output when its template, its context
/// values (compared by identity, since unchanged values are reused) and everything its
/// template functions read are the same.
#[derive(Default)]
pub struct Builder {
    config: Option<Arc<Config>>,
    markdown: HashMap<String, CachedMarkdown>,
    values: HashMap<String, (u64, Value)>,
    outputs: HashMap<String, CachedOutput>,
    front_matter: crate::content::FrontMatterCache,
    /// Processed images, kept in memory across builds (and on disk when configured).
    images: Option<Arc<crate::images::cache::Store>>,
    /// Markdown renders a preview replaced, kept alive until the next build (see `preview`).
    retired: Vec<CachedMarkdown>,
    /// The asset set, by a hash of every input it can read (all files but Markdown).
    assets: Option<(u64, Arc<AssetSet>, Vec<Diagnostic>)>,
    /// The generated highlighting stylesheet (it depends on the config alone).
    syntax_css: Option<Option<String>>,
    /// The sitemap's entries, by a hash of what they show; kept alive so the next build can
    /// compare it by identity.
    sitemap: Option<(u64, Value)>,
    /// The last build, when it succeeded: what [`Builder::preview`] renders with.
    last: Option<LastBuild>,
}

/// What the last successful build used, kept for [`Builder::preview`].
struct LastBuild {
    model: SiteModel,
    /// With the build's [`SiteData`] (URLs, assets, values).
    templates: Templates,
    /// The heading ids of the pages and sections that some page links to with an anchor
    /// (`@/a.md#x`), by path under `content/`.
    anchor_targets: HashMap<String, Vec<String>>,
}

/// A hash for cache keys (stable within one process, which is all a cache needs).
pub fn hash_of(parts: impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(parts)
}

/// The identity of a shared value: its address (shared values are reused when unchanged and
/// kept alive by the cache, so an equal address means the same value).
pub fn value_ptr(v: &Value) -> Option<usize> {
    v.as_map()
        .map(|m| m as *const _ as usize)
        .or_else(|| v.as_array().map(|a| a.as_ptr() as usize))
}

/// A hash of a context value: shared values (pages, sections, terms) by identity, anything
/// else by content.
fn ident(v: &Value, shared: &HashSet<usize>) -> u64 {
    use std::hash::Hasher;
    if let Some(p) = value_ptr(v) {
        if shared.contains(&p) {
            return hash_of(("shared", p));
        }
    }
    if let Some(m) = v.as_map() {
        use std::hash::Hash;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write_usize(m.len());
        for (k, child) in m.iter() {
            k.hash(&mut h);
            h.write_u64(ident(child, shared));
        }
        return h.finish();
    }
    if let Some(a) = v.as_array() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write_usize(a.len());
        for child in a {
            h.write_u64(ident(child, shared));
        }
        return h.finish();
    }
    if let Some(s) = v.as_str() {
        return hash_of(("s", s, v.is_safe()));
    }
    if v.is_none() || v.is_undefined() {
        return hash_of(("none", v.is_undefined()));
    }
    if let Some(b) = v.as_bool() {
        return hash_of(("b", b));
    }
    if let (true, Some(n)) = (v.is_i64() || v.is_u64(), v.as_i128()) {
        return hash_of(("n", v.kind(), n));
    }
    hash_of(("v", format!("{v:?}")))
}

impl Builder {
    /// Builds `tree`, reusing what the previous build of this builder can lend.
    pub fn build(
        &mut self,
        tree: Arc<SourceTree>,
        config: Arc<Config>,
        opts: &BuildOptions,
    ) -> Result<BuildResult, Errors> {
        if self.config.as_deref() != Some(&*config) {
            *self = Builder::default();
            self.config = Some(config.clone());
        }
        let r = self.build_inner(tree, config, opts);
        // A preview renders with the last build's templates and values; after a failed build
        // those are no longer the site's. (A cancelled build leaves the last one in place.)
        if r.is_err() && !opts.cancelled() {
            self.last = None;
        }
        r
    }

    fn build_inner(
        &mut self,
        tree: Arc<SourceTree>,
        config: Arc<Config>,
        opts: &BuildOptions,
    ) -> Result<BuildResult, Errors> {
        let mut errors: Vec<Diagnostic> = Vec::new();
        let mut timings: Vec<(&'static str, std::time::Duration)> = Vec::new();
        let mut last = std::time::Instant::now();
        let mut phase = |t: &mut Vec<(&'static str, std::time::Duration)>, name: &'static str| {
            t.push((name, last.elapsed()));
            last = std::time::Instant::now();
        };
        // Assets first: pages link to their fingerprinted names. They are processed again only
        // when a file they can read changed: Sass can import any file but Markdown.
        let syntax_css = self
            .syntax_css
            .get_or_insert_with(|| {
                config
                    .markdown
                    .highlight_code
                    .then(|| Highlighter::theme_css(&config.markdown.highlight_theme))
                    .flatten()
            })
            .clone();
        let assets_input = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for (k, f) in tree.files.iter().filter(|(k, _)| !k.ends_with(".md")) {
                (k, f.sha256).hash(&mut h);
            }
            h.finish()
        };
        let assets = match &self.assets {
            Some((key, assets, errs)) if *key == assets_input => {
                errors.extend(errs.iter().cloned());
                assets.clone()
            }
            _ => {
                let generated = syntax_css
                    .map(|css| {
                        (
                            SYNTAX_CSS.to_string(),
                            css.into_bytes(),
                            "markdown.highlight_theme in config.toml".to_string(),
                        )
                    })
                    .into_iter()
                    .collect();
                let (assets, errs) = assets::process(&tree, generated, &config);
                let assets = Arc::new(assets);
                errors.extend(errs.iter().cloned());
                self.assets = Some((assets_input, assets.clone(), errs));
                assets
            }
        };
        if opts.assets_only {
            if !errors.is_empty() {
                return Err(Errors::sorted(errors));
            }
            let mut plan = BuildPlan::default();
            add_assets(&mut plan, &assets);
            let stats = BuildStats {
                static_files: assets.assets.len(),
                outputs: plan.files.len(),
                ..BuildStats::default()
            };
            return Ok(BuildResult {
                plan,
                warnings: vec![],
                stats,
                rendered: vec![],
                image_keys: vec![],
            });
        }
        // What pages can show of the assets: their URLs, sizes and (except in `serve`, where
        // integrity is left out) their hashes.
        let assets_key = hash_of(
            assets
                .assets
                .values()
                .map(|a| {
                    (
                        &a.path,
                        if config.serve_mode { "" } else { a.integrity.as_str() },
                        a.width,
                        a.height,
                        a.bytes.len(),
                    )
                })
                .collect::<Vec<_>>(),
        );

        phase(&mut timings, "assets");
        let (model, errs) = SiteModel::load_cached(&tree, &config, opts.drafts, &mut self.front_matter);
        errors.extend(errs);

        let mut urls = HashMap::new();
        for p in &model.pages {
            urls.insert(p.relative_path.clone(), config.permalink(&p.path));
        }
        for s in &model.sections {
            urls.insert(s.relative_path.clone(), config.permalink(&s.path));
        }
        let mut static_paths: HashSet<String> = HashSet::new();
        for f in &model.loose_files {
            static_paths.insert(f.relative_path.clone());
        }
        for p in &model.pages {
            for a in &p.assets {
                static_paths.insert(format!(
                    "{}{}",
                    p.path.trim_start_matches('/'),
                    a.rsplit('/').next().unwrap_or(a)
                ));
            }
        }
        for s in &model.sections {
            for a in &s.assets {
                static_paths.insert(format!(
                    "{}{}",
                    s.path.trim_start_matches('/'),
                    a.rsplit('/').next().unwrap_or(a)
                ));
            }
        }
        if config.generate_feeds {
            static_paths.extend(config.feed_filenames.iter().cloned());
        }
        static_paths.insert("sitemap.xml".into());
        static_paths.insert("robots.txt".into());
        let highlighter = Arc::new(Highlighter::new());
        let store = self
            .images
            .get_or_insert_with(|| Arc::new(crate::images::cache::Store::new(config.image_cache.as_deref())))
            .clone();
        let image_requests = Arc::new(crate::images::Images::new(config.clone(), tree.clone(), store.clone()));
        let site = Arc::new(SiteData::new(
            config.clone(),
            urls,
            static_paths,
            assets.clone(),
            tree.clone(),
            highlighter.clone(),
            image_requests.clone(),
        ));
        let stop = || Err(Errors::from(Diagnostic::new("sitegen", "the build was cancelled")));
        if opts.cancelled() {
            return stop();
        }
        phase(&mut timings, "load content");
        let templates = match Templates::load(&tree, site.clone()) {
            Ok(t) => t,
            Err(e) => {
                errors.extend(e);
                return Err(Errors::sorted(errors));
            }
        };
        let templates_key = hash_of(tree.under("templates/").map(|(k, f)| (k, f.sha256)).collect::<Vec<_>>());

        // Markdown, in parallel, reusing renders whose inputs did not change.
        let shortcodes = TemplateShortcodes { templates: &templates };
        let resolve = |p: &str| site.urls.get(p).cloned();
        let resolve_asset = |u: &str| assets.fingerprinted_url(u, &config);
        let links_key = |r: &Rendered| hash_of(r.links_to.iter().map(|l| site.urls.get(l)).collect::<Vec<_>>());
        let images_unchanged = |r: &Rendered| {
            r.image_sources
                .iter()
                .all(|(p, sha)| tree.get(p).map(|f| f.sha256) == Some(*sha))
        };
        let render_md =
            |origin: &str, relative: &str, text: &str, body_offset: usize, sha: [u8; 32]| -> CachedMarkdown {
                if let Some(c) = self.markdown.get(origin) {
                    let tkey = if c.uses_templates { templates_key } else { 0 };
                    if c.sha256 == sha
                        && c.templates_key == tkey
                        && sha != [0; 32]
                        && c.links_key == links_key(&c.result.0)
                        && images_unchanged(&c.result.0)
                    {
                        return c.clone();
                    }
                }
                let page_dir = format!(
                    "content/{}",
                    relative
                        .rsplit_once('/')
                        .map(|(d, _)| format!("{d}/"))
                        .unwrap_or_default()
                );
                let uses_templates = text.contains("{{") || text.contains("{%");
                let tkey = if uses_templates { templates_key } else { 0 };
                let result = markdown::render_all(&markdown::Input {
                    origin,
                    text,
                    body_offset,
                    config: &config.markdown,
                    base_url: &config.base_url,
                    highlighter: &highlighter,
                    resolve: &resolve,
                    resolve_asset: &resolve_asset,
                    shortcodes: &shortcodes,
                    images: Some(&image_requests),
                    page_dir: &page_dir,
                });
                CachedMarkdown {
                    sha256: sha,
                    uses_templates,
                    links_key: links_key(&result.0),
                    templates_key: tkey,
                    result: Arc::new(result),
                }
            };
        phase(&mut timings, "load templates");
        let page_md: Vec<CachedMarkdown> = model
            .pages
            .par_iter()
            .map(|p| render_md(&p.origin, &p.relative_path, &p.text, p.body_offset, p.sha256))
            .collect();
        let section_md: Vec<CachedMarkdown> = model
            .sections
            .par_iter()
            .map(|s| render_md(&s.origin, &s.relative_path, &s.text, s.body_offset, s.sha256))
            .collect();
        let mut new_markdown = HashMap::with_capacity(page_md.len() + section_md.len());
        for (p, c) in model.pages.iter().zip(&page_md) {
            errors.extend(c.result.1.iter().cloned());
            new_markdown.insert(p.origin.clone(), c.clone());
        }
        for (s, c) in model.sections.iter().zip(&section_md) {
            errors.extend(c.result.1.iter().cloned());
            new_markdown.insert(s.origin.clone(), c.clone());
        }
        let page_r: Vec<&Rendered> = page_md.iter().map(|c| &c.result.0).collect();
        let section_r: Vec<&Rendered> = section_md.iter().map(|c| &c.result.0).collect();
        check_anchors(&model, &page_r, &section_r, &mut errors);

        // Template values, built once, shared by reference count, reused when unchanged.
        let md_ids: (Vec<usize>, Vec<usize>) = (
            page_md.iter().map(|c| Arc::as_ptr(&c.result) as usize).collect(),
            section_md.iter().map(|c| Arc::as_ptr(&c.result) as usize).collect(),
        );
        if opts.cancelled() {
            return stop();
        }
        phase(&mut timings, "markdown");
        let (values, new_values) = build_values(&model, &page_r, &section_r, &config, &md_ids, &self.values);
        let page_values: Vec<Value> = model
            .pages
            .iter()
            .map(|p| values.pages[&p.relative_path].clone())
            .collect();
        let section_values: Vec<Value> = model
            .sections
            .iter()
            .map(|s| values.sections[&s.relative_path].clone())
            .collect();
        let taxonomy_values = values.taxonomies.clone();
        let shared: HashSet<usize> = new_values.values().filter_map(|(_, v)| value_ptr(v)).collect();
        let _ = site.values.set(values);

        if opts.cancelled() {
            return stop();
        }
        phase(&mut timings, "template values");
        let (jobs, sitemap) = render_jobs(
            &model,
            &config,
            &templates,
            &page_values,
            &section_values,
            &taxonomy_values,
            self.sitemap.as_ref(),
            &mut errors,
        );
        let mut shared = shared;
        if let Some(p) = sitemap.as_ref().and_then(|(_, v)| value_ptr(v)) {
            shared.insert(p);
        }
        let rendered: Vec<Result<(String, CachedOutput, bool), Diagnostic>> = jobs
            .into_par_iter()
            .map(|job| {
                if opts.cancelled() {
                    return Err(Diagnostic::new("sitegen", "the build was cancelled"));
                }
                let key = job.key(templates_key, assets_key, &shared);
                if let Some(c) = self.outputs.get(&job.output) {
                    if c.key == key && c.deps.iter().all(|(d, id)| site.dep_ident(d) == *id) {
                        return Ok((job.output, c.clone(), false));
                    }
                }
                let (file, deps, images) = render_output(&job, &templates, &config)?;
                Ok((
                    job.output,
                    CachedOutput {
                        key,
                        deps,
                        file,
                        images,
                    },
                    true,
                ))
            })
            .collect();

        if opts.cancelled() {
            return stop();
        }
        phase(&mut timings, "render templates");
        let mut plan = BuildPlan::default();
        let mut new_outputs = HashMap::new();
        let mut rendered_paths = Vec::new();
        let mut add = |path: String, file: OutputFile, errors: &mut Vec<Diagnostic>| {
            if let Some(prev) = plan.files.get(&path) {
                errors.push(Diagnostic::new(
                    file.source.to_string(),
                    format!("writes `{path}`, which `{}` writes too", prev.source),
                ));
            } else {
                plan.files.insert(path, file);
            }
        };
        let mut image_jobs: Vec<crate::images::Job> = Vec::new();
        for c in page_md.iter().chain(&section_md) {
            image_jobs.extend(c.result.0.image_jobs.iter().cloned());
        }
        for r in rendered {
            match r {
                Ok((p, c, fresh)) => {
                    if fresh {
                        rendered_paths.push(p.clone());
                    }
                    image_jobs.extend(c.images.iter().cloned());
                    add(p.clone(), c.file.clone(), &mut errors);
                    new_outputs.insert(p, c);
                }
                Err(d) => errors.push(d),
            }
        }
        // Assets: the site's over the theme's was already decided by the snapshot layers.
        let static_files = assets.assets.len();
        let mut asset_plan = BuildPlan::default();
        add_assets(&mut asset_plan, &assets);
        for (path, f) in asset_plan.files {
            add(path, f, &mut errors);
        }
        let copy_content = |rel: &str,
                            out: String,
                            errors: &mut Vec<Diagnostic>,
                            add: &mut dyn FnMut(String, OutputFile, &mut Vec<Diagnostic>)| {
            if let Some(f) = tree.get(&format!("content/{rel}")) {
                let file = OutputFile {
                    bytes: f.bytes.clone(),
                    sha256: f.sha256,
                    source: f.origin.as_str().into(),
                    immutable: false,
                };
                add(out, file, errors);
            }
        };
        for p in &model.pages {
            let dir = output_path(&p.path);
            let dir = dir.rsplit_once('/').map(|(d, _)| format!("{d}/")).unwrap_or_default();
            for a in &p.assets {
                let name = a.rsplit('/').next().unwrap_or(a);
                copy_content(a, format!("{dir}{name}"), &mut errors, &mut add);
            }
        }
        for s in &model.sections {
            let dir = s.path.trim_start_matches('/');
            for a in &s.assets {
                let name = a.rsplit('/').next().unwrap_or(a);
                copy_content(a, format!("{dir}{name}"), &mut errors, &mut add);
            }
        }
        for f in &model.loose_files {
            copy_content(&f.relative_path, f.relative_path.clone(), &mut errors, &mut add);
        }

        // Images: only when everything else worked (a broken template would only make the
        // user wait for images of a build that fails anyway).
        let mut image_stats = crate::images::RunStats::default();
        let mut image_keys: Vec<String> = Vec::new();
        if errors.is_empty() && !image_jobs.is_empty() {
            let progress = opts.progress && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let (made, st, errs) = crate::images::run(image_jobs, &tree, &config, &store, progress);
            image_stats = st;
            errors.extend(errs);
            for (path, bytes) in made {
                let mut f = OutputFile::new(bytes, "the image pipeline");
                f.immutable = true;
                add(path, f, &mut errors);
            }
            let used = store.take_used();
            image_keys = used.iter().cloned().collect();
            image_keys.sort();
            if st.encoded > 0 {
                if let Some(dir) = store.dir() {
                    let _ = crate::images::cache::enforce_limit(dir, &used, config.images.cache_max_mb << 20);
                }
            }
        }
        phase(&mut timings, "images");

        // Keep what this build made for the next one, even when it failed: the caches hold
        // only values that are correct for their keys.
        self.markdown = new_markdown;
        self.values = new_values;
        self.outputs = new_outputs;
        self.retired.clear();
        self.sitemap = sitemap;
        if !errors.is_empty() {
            return Err(Errors::sorted(errors));
        }
        phase(&mut timings, "assemble the plan");
        let warnings = if opts.check_links {
            check_links(&plan, &config, &config.output_dir)
        } else {
            Vec::new()
        };
        phase(&mut timings, "check links");
        let stats = BuildStats {
            timings,
            pages: model.pages.len(),
            sections: model.sections.len(),
            static_files,
            outputs: plan.files.len(),
            rendered: rendered_paths.len(),
            images_cached: image_stats.cached,
            images_decoded: image_stats.decoded,
            images_encoded: image_stats.encoded,
        };
        rendered_paths.sort();
        let anchor_targets = page_r
            .iter()
            .chain(section_r.iter())
            .flat_map(|r| r.anchor_refs.iter())
            .filter_map(|a| {
                let ids = match (model.page_by_path.get(&a.target), model.section_by_path.get(&a.target)) {
                    (Some(&i), _) => &page_r[i].heading_ids,
                    (None, Some(&i)) => &section_r[i].heading_ids,
                    (None, None) => return None,
                };
                Some((a.target.clone(), ids.clone()))
            })
            .collect();
        drop((page_r, section_r));
        self.last = Some(LastBuild {
            model,
            templates,
            anchor_targets,
        });
        Ok(BuildResult {
            plan,
            warnings,
            stats,
            rendered: rendered_paths,
            image_keys,
        })
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
        let Some(last) = &self.last else {
            return Vec::new();
        };
        let model = &last.model;
        let templates = &last.templates;
        let site = &templates.site;
        let config = &*site.config;
        // Every changed file must be a page of the last build; collect the edited ones.
        let mut edited: Vec<(usize, &SourceFile, Arc<str>)> = Vec::new();
        for &(l, file) in changed {
            let Some(rel) = l.strip_prefix("content/").filter(|r| r.ends_with(".md")) else {
                return Vec::new();
            };
            let (Some(&i), Some(file)) = (model.page_by_path.get(rel), file) else {
                return Vec::new();
            };
            let Some(text) = file.text.clone() else {
                return Vec::new();
            };
            if file.sha256 != model.pages[i].sha256 {
                edited.push((i, file, text));
            }
        }
        let changed_rels: HashSet<&str> = edited
            .iter()
            .map(|(i, _, _)| model.pages[*i].relative_path.as_str())
            .collect();
        let changed_sections: HashSet<&str> = edited
            .iter()
            .map(|(i, _, _)| model.sections[model.pages[*i].section].relative_path.as_str())
            .collect();
        let changed_taxonomies: HashSet<&str> = edited
            .iter()
            .flat_map(|(i, _, _)| model.pages[*i].fm.taxonomies.keys().map(String::as_str))
            .collect();
        let shortcodes = TemplateShortcodes { templates };
        let resolve = |p: &str| site.urls.get(p).cloned();
        let resolve_asset = |u: &str| site.assets.fingerprinted_url(u, config);
        let mut outputs = Vec::new();
        let mut renders = Vec::new();
        for (i, file, text) in edited {
            let old = &model.pages[i];
            let section = &model.sections[old.section];
            if text.contains("{{") || text.contains("{%") {
                return Vec::new();
            }
            let Ok(split) = crate::content::front_matter::split(&old.origin, &text) else {
                return Vec::new();
            };
            let Ok(fm) =
                crate::content::front_matter::parse::<crate::content::PageFrontMatter>(&old.origin, &text, &split)
            else {
                return Vec::new();
            };
            // Only what shows on the page itself may differ.
            let mut same = fm.clone();
            same.description.clone_from(&old.fm.description);
            same.extra.clone_from(&old.fm.extra);
            same.updated.clone_from(&old.fm.updated);
            if section.fm.sort_by != crate::content::SortBy::Title {
                same.title.clone_from(&old.fm.title);
            }
            if same != *old.fm {
                return Vec::new();
            }
            let updated = match fm.updated.as_deref() {
                Some(d) => match crate::content::parse_date(d) {
                    Some(d) => Some(d),
                    None => return Vec::new(),
                },
                None => None,
            };
            let page = Page {
                text: text.clone(),
                sha256: file.sha256,
                body_offset: split.body_offset,
                fm: Arc::new(fm),
                updated,
                ..old.clone()
            };
            let page_dir = format!(
                "content/{}",
                page.relative_path
                    .rsplit_once('/')
                    .map(|(d, _)| format!("{d}/"))
                    .unwrap_or_default()
            );
            let (r, errs) = markdown::render_all(&markdown::Input {
                origin: &page.origin,
                text: &text,
                body_offset: page.body_offset,
                config: &config.markdown,
                base_url: &config.base_url,
                highlighter: &site.highlighter,
                resolve: &resolve,
                resolve_asset: &resolve_asset,
                shortcodes: &shortcodes,
                images: Some(&site.images),
                page_dir: &page_dir,
            });
            // Images not made yet would be missing until the rebuild: leave it to the rebuild.
            if !errs.is_empty() || !r.image_jobs.iter().all(|j| site.images.is_made(j)) {
                return Vec::new();
            }
            // Links with anchors, to it and from it, must stay as they were checked.
            if last
                .anchor_targets
                .get(&page.relative_path)
                .is_some_and(|ids| *ids != r.heading_ids)
            {
                return Vec::new();
            }
            let anchor_ok = |a: &crate::markdown::AnchorRef| {
                if a.target == page.relative_path {
                    return r.heading_ids.contains(&a.anchor);
                }
                if changed_rels.contains(a.target.as_str()) {
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
            if !r.anchor_refs.iter().all(anchor_ok) {
                return Vec::new();
            }
            let pos = section.pages.iter().position(|&j| j == i);
            let neighbours = match pos {
                Some(k) => (
                    k.checked_sub(1).map(|k| section.pages[k]),
                    section.pages.get(k + 1).copied(),
                ),
                None => (None, None),
            };
            let value = page_value(model, &page, &r, config, neighbours);
            let (tpl, _) = page_template(&page, section);
            if !templates.has(&tpl) {
                return Vec::new();
            }
            let job =
                RenderJob::new(output_path(&page.path), tpl, &page.path, page.origin.as_str()).with("page", value);
            let Ok((file, deps, images)) = render_output(&job, templates, config) else {
                return Vec::new();
            };
            if !images.iter().all(|j| site.images.is_made(j)) {
                return Vec::new();
            }
            let reads_the_edit = deps.iter().any(|(d, _)| match d {
                Dep::Page(p) => changed_rels.contains(p.as_str()),
                Dep::Section(s) => changed_sections.contains(s.as_str()),
                Dep::Taxonomy(t) => changed_taxonomies.contains(t.as_str()),
                Dep::Data(d) => changed.iter().any(|(l, _)| *l == d.as_str()),
                Dep::Url(_) => false,
            });
            if reads_the_edit {
                return Vec::new();
            }
            outputs.push((job.output, file));
            let links_key = hash_of(r.links_to.iter().map(|l| site.urls.get(l)).collect::<Vec<_>>());
            renders.push((
                page.origin.clone(),
                CachedMarkdown {
                    sha256: page.sha256,
                    uses_templates: false,
                    links_key,
                    templates_key: 0,
                    result: Arc::new((r, errs)),
                },
            ));
        }
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
}

/// Every asset, plus `manifest.json`.
fn add_assets(plan: &mut BuildPlan, assets: &AssetSet) {
    for a in assets.assets.values() {
        plan.files.insert(
            a.path.clone(),
            OutputFile {
                bytes: a.bytes.clone(),
                sha256: Sha256::digest(&a.bytes).into(),
                source: a.origin.as_str().into(),
                immutable: a.fingerprinted,
            },
        );
    }
    plan.files.insert(
        assets::MANIFEST.to_string(),
        OutputFile::new(assets.manifest().into_bytes(), "the asset pipeline"),
    );
}

fn check_anchors(model: &SiteModel, page_r: &[&Rendered], section_r: &[&Rendered], errors: &mut Vec<Diagnostic>) {
    let ids_of = |rel: &str| -> Option<&Vec<String>> {
        if let Some(&i) = model.page_by_path.get(rel) {
            Some(&page_r[i].heading_ids)
        } else {
            model.section_by_path.get(rel).map(|&i| &section_r[i].heading_ids)
        }
    };
    let origins = model
        .pages
        .iter()
        .map(|p| &p.origin)
        .zip(page_r.iter())
        .chain(model.sections.iter().map(|s| &s.origin).zip(section_r.iter()));
    for (origin, r) in origins {
        for a in &r.anchor_refs {
            if let Some(ids) = ids_of(&a.target) {
                if !ids.contains(&a.anchor) {
                    errors.push(Diagnostic::at(
                        origin.as_str(),
                        a.line,
                        a.column,
                        format!(
                            "link to `@/{}#{}`, but that page has no heading with id `{}`",
                            a.target, a.anchor, a.anchor
                        ),
                    ));
                }
            }
        }
    }
}

fn v_str(s: &str) -> Value {
    Value::from(s)
}

fn v_opt_date(d: Option<chrono::DateTime<chrono::FixedOffset>>) -> Value {
    match d {
        Some(d) => Value::from(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => Value::none(),
    }
}

fn json(v: &serde_json::Map<String, serde_json::Value>) -> Value {
    Value::from_serializable(v)
}

fn reading_time(words: usize, wpm: usize) -> usize {
    words.div_ceil(wpm.max(1))
}

fn stub(p: &Page, config: &Config) -> Value {
    let mut m = Map::new();
    m.insert("title".into(), v_str(p.title()));
    m.insert("path".into(), v_str(&p.path));
    m.insert("permalink".into(), Value::from(config.permalink(&p.path)));
    m.insert("relative_path".into(), v_str(&p.relative_path));
    Value::from(m)
}

fn ancestors(model: &SiteModel, mut section: Option<usize>) -> Vec<Value> {
    let mut v = Vec::new();
    while let Some(i) = section {
        v.push(v_str(&model.sections[i].relative_path));
        section = model.sections[i].parent;
    }
    v.reverse();
    v
}

type ValueCache = HashMap<String, (u64, Value)>;

/// Builds (or reuses from `old`) the template values of every page, section, term and
/// taxonomy. Returns them and the cache for the next build.
fn build_values(
    model: &SiteModel,
    page_r: &[&Rendered],
    section_r: &[&Rendered],
    config: &Config,
    md_ids: &(Vec<usize>, Vec<usize>),
    old: &ValueCache,
) -> (SiteValues, ValueCache) {
    let reuse = |name: String, key: u64, make: &dyn Fn() -> Value| -> (String, (u64, Value)) {
        match old.get(&name) {
            Some((k, v)) if *k == key => (name, (key, v.clone())),
            _ => (name, (key, make())),
        }
    };
    // previous/next in each section's order.
    let mut neighbours: Vec<(Option<usize>, Option<usize>)> = vec![(None, None); model.pages.len()];
    for s in &model.sections {
        for (k, &pi) in s.pages.iter().enumerate() {
            let prev = if k > 0 { Some(s.pages[k - 1]) } else { None };
            neighbours[pi] = (prev, s.pages.get(k + 1).copied());
        }
    }
    let stub_key = |j: Option<usize>| {
        j.map(|j| {
            let p = &model.pages[j];
            (p.title(), p.path.as_str(), p.relative_path.as_str())
        })
    };
    let page_entries: Vec<(String, (u64, Value))> = model
        .pages
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let s = &model.sections[p.section];
            let key = hash_of((
                md_ids.0[i],
                &p.path,
                &p.slug,
                &s.relative_path,
                format!("{:?}", s.fm.sort_by),
                stub_key(neighbours[i].0),
                stub_key(neighbours[i].1),
                &p.assets,
                p.section,
            ));
            reuse(format!("page:{}", p.relative_path), key, &|| {
                page_value(model, p, page_r[i], config, neighbours[i])
            })
        })
        .collect();
    let page_values: Vec<Value> = page_entries.iter().map(|(_, (_, v))| v.clone()).collect();
    let mut cache: ValueCache = page_entries.into_iter().collect();

    let ptrs = |idx: &[usize]| idx.iter().map(|&i| value_ptr(&page_values[i])).collect::<Vec<_>>();
    let mut section_values = Vec::with_capacity(model.sections.len());
    for (i, sec) in model.sections.iter().enumerate() {
        let key = hash_of((
            md_ids.1[i],
            &sec.path,
            ptrs(&sec.pages),
            sec.subsections
                .iter()
                .map(|&j| &model.sections[j].relative_path)
                .collect::<Vec<_>>(),
            sec.parent.map(|j| &model.sections[j].relative_path),
            &sec.assets,
        ));
        let (name, entry) = reuse(format!("section:{}", sec.relative_path), key, &|| {
            section_value(model, sec, section_r[i], &page_values, config)
        });
        section_values.push(entry.1.clone());
        cache.insert(name, entry);
    }

    let mut taxonomies = HashMap::new();
    for t in &model.taxonomies {
        let mut items = Vec::with_capacity(t.terms.len());
        for term in &t.terms {
            let key = hash_of((&term.name, &term.slug, &term.path, ptrs(&term.pages)));
            let (name, entry) = reuse(format!("term:{}/{}", t.config.name, term.slug), key, &|| {
                term_value(term, &page_values, config)
            });
            items.push(entry.1.clone());
            cache.insert(name, entry);
        }
        let key = hash_of((
            &t.config.name,
            &t.path,
            t.config.paginate_by,
            t.config.feed,
            items.iter().map(value_ptr).collect::<Vec<_>>(),
        ));
        let make = || {
            let mut m = Map::new();
            m.insert("name".into(), v_str(&t.config.name));
            m.insert("path".into(), v_str(&t.path));
            m.insert("permalink".into(), Value::from(config.permalink(&t.path)));
            m.insert("paginate_by".into(), Value::from(t.config.paginate_by));
            m.insert("feed".into(), Value::from(t.config.feed));
            m.insert("items".into(), Value::from(items.clone()));
            Value::from(m)
        };
        let (name, entry) = reuse(format!("taxonomy:{}", t.config.name), key, &make);
        taxonomies.insert(t.config.name.clone(), entry.1.clone());
        cache.insert(name, entry);
    }
    let values = SiteValues {
        pages: model
            .pages
            .iter()
            .zip(page_values)
            .map(|(p, v)| (p.relative_path.clone(), v))
            .collect(),
        sections: model
            .sections
            .iter()
            .zip(section_values)
            .map(|(s, v)| (s.relative_path.clone(), v))
            .collect(),
        taxonomies,
    };
    (values, cache)
}

/// The template value of page `p` (the model's page `i`, or its edited version in a preview),
/// whose Markdown rendered to `r`.
fn page_value(
    model: &SiteModel,
    p: &Page,
    r: &Rendered,
    config: &Config,
    (prev, next): (Option<usize>, Option<usize>),
) -> Value {
    let s = &model.sections[p.section];
    let mut m = Map::new();
    m.insert("title".into(), v_str(p.title()));
    m.insert(
        "description".into(),
        p.fm.description.as_deref().map(v_str).unwrap_or_else(Value::none),
    );
    m.insert("date".into(), v_opt_date(p.date));
    m.insert("updated".into(), v_opt_date(p.updated.or(p.date)));
    m.insert("slug".into(), v_str(&p.slug));
    m.insert("path".into(), v_str(&p.path));
    m.insert("permalink".into(), Value::from(config.permalink(&p.path)));
    m.insert("relative_path".into(), v_str(&p.relative_path));
    m.insert("content".into(), Value::safe_string(&r.html));
    m.insert(
        "summary".into(),
        r.summary.as_deref().map(Value::safe_string).unwrap_or_else(Value::none),
    );
    m.insert("toc".into(), Value::from_serializable(&r.toc));
    m.insert("word_count".into(), Value::from(r.word_count));
    m.insert(
        "reading_time".into(),
        Value::from(reading_time(r.word_count, config.markdown.words_per_minute)),
    );
    m.insert("draft".into(), Value::from(p.fm.draft));
    m.insert(
        "weight".into(),
        p.fm.weight.map(Value::from).unwrap_or_else(Value::none),
    );
    let mut tax = Map::new();
    for (k, names) in &p.fm.taxonomies {
        tax.insert(
            k.clone().into(),
            Value::from(names.iter().map(|n| v_str(n)).collect::<Vec<_>>()),
        );
    }
    m.insert("taxonomies".into(), Value::from(tax));
    m.insert("extra".into(), json(&p.fm.extra));
    m.insert(
        "components".into(),
        Value::from(
            p.path
                .split('/')
                .filter(|c| !c.is_empty())
                .map(v_str)
                .collect::<Vec<_>>(),
        ),
    );
    let dir = p.path.clone();
    m.insert(
        "assets".into(),
        Value::from(
            p.assets
                .iter()
                .map(|a| Value::from(config.permalink(&format!("{dir}{}", a.rsplit('/').next().unwrap_or(a)))))
                .collect::<Vec<_>>(),
        ),
    );
    m.insert("ancestors".into(), Value::from(ancestors(model, Some(p.section))));
    m.insert("section".into(), v_str(&s.relative_path));
    let pv = prev.map(|j| stub(&model.pages[j], config)).unwrap_or_else(Value::none);
    let nv = next.map(|j| stub(&model.pages[j], config)).unwrap_or_else(Value::none);
    // Zola's names: `lower` is the older (date) or lighter (weight) neighbour.
    let (lower, higher) = match s.fm.sort_by {
        crate::content::SortBy::Date => (nv.clone(), pv.clone()),
        _ => (pv.clone(), nv.clone()),
    };
    m.insert("previous".into(), pv);
    m.insert("next".into(), nv);
    m.insert("lower".into(), lower);
    m.insert("higher".into(), higher);
    m.insert(
        "aliases".into(),
        Value::from(p.fm.aliases.iter().map(|a| v_str(a)).collect::<Vec<_>>()),
    );
    m.insert("in_sitemap".into(), Value::from(p.fm.in_sitemap));
    Value::from(m)
}

fn section_value(model: &SiteModel, s: &Section, r: &Rendered, page_values: &[Value], config: &Config) -> Value {
    let mut m = Map::new();
    m.insert("title".into(), v_str(s.fm.title.as_deref().unwrap_or("")));
    m.insert(
        "description".into(),
        s.fm.description.as_deref().map(v_str).unwrap_or_else(Value::none),
    );
    m.insert("path".into(), v_str(&s.path));
    m.insert("permalink".into(), Value::from(config.permalink(&s.path)));
    m.insert("relative_path".into(), v_str(&s.relative_path));
    m.insert("content".into(), Value::safe_string(&r.html));
    m.insert("toc".into(), Value::from_serializable(&r.toc));
    m.insert("word_count".into(), Value::from(r.word_count));
    m.insert(
        "reading_time".into(),
        Value::from(reading_time(r.word_count, config.markdown.words_per_minute)),
    );
    m.insert(
        "pages".into(),
        Value::from(s.pages.iter().map(|&i| page_values[i].clone()).collect::<Vec<_>>()),
    );
    m.insert(
        "subsections".into(),
        Value::from(
            s.subsections
                .iter()
                .map(|&i| v_str(&model.sections[i].relative_path))
                .collect::<Vec<_>>(),
        ),
    );
    m.insert("extra".into(), json(&s.fm.extra));
    m.insert(
        "weight".into(),
        s.fm.weight.map(Value::from).unwrap_or_else(Value::none),
    );
    m.insert(
        "components".into(),
        Value::from(
            s.path
                .split('/')
                .filter(|c| !c.is_empty())
                .map(v_str)
                .collect::<Vec<_>>(),
        ),
    );
    m.insert("ancestors".into(), Value::from(ancestors(model, s.parent)));
    let dir = s.path.clone();
    m.insert(
        "assets".into(),
        Value::from(
            s.assets
                .iter()
                .map(|a| Value::from(config.permalink(&format!("{dir}{}", a.rsplit('/').next().unwrap_or(a)))))
                .collect::<Vec<_>>(),
        ),
    );
    Value::from(m)
}

fn term_value(term: &crate::content::Term, page_values: &[Value], config: &Config) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), v_str(&term.name));
    m.insert("slug".into(), v_str(&term.slug));
    m.insert("path".into(), v_str(&term.path));
    m.insert("permalink".into(), Value::from(config.permalink(&term.path)));
    m.insert("page_count".into(), Value::from(term.pages.len()));
    m.insert(
        "pages".into(),
        Value::from(term.pages.iter().map(|&i| page_values[i].clone()).collect::<Vec<_>>()),
    );
    Value::from(m)
}

/// One output to render: a template and the variables of its context. The context itself is
/// made only when the output is rendered, not for the outputs that are reused.
struct RenderJob {
    output: String,
    template: String,
    /// `current_path`: the URL path below the base URL.
    path: String,
    /// The context variables besides `current_path`, `current_url` and `lang` (which follow
    /// from `path` and the config).
    vars: Vec<(&'static str, Value)>,
    source: String,
}

impl RenderJob {
    fn new(output: String, template: impl Into<String>, path: &str, source: impl Into<String>) -> RenderJob {
        RenderJob {
            output,
            template: template.into(),
            path: path.to_string(),
            vars: Vec::new(),
            source: source.into(),
        }
    }

    fn with(mut self, name: &'static str, value: Value) -> RenderJob {
        self.vars.push((name, value));
        self
    }

    /// What decides the output besides what template functions read: shared values by
    /// identity, the rest by content.
    fn key(&self, templates_key: u64, assets_key: u64, shared: &HashSet<usize>) -> u64 {
        let vars: Vec<(&str, u64)> = self.vars.iter().map(|(k, v)| (*k, ident(v, shared))).collect();
        hash_of((
            &self.template,
            &self.output,
            &self.path,
            templates_key,
            assets_key,
            vars,
        ))
    }

    fn context(&self, config: &Config) -> Context {
        let mut c = Context::new();
        c.insert("current_path", &self.path);
        c.insert("current_url", &config.permalink(&self.path));
        c.insert("lang", &config.language);
        for (k, v) in &self.vars {
            c.insert_value(*k, v.clone());
        }
        c
    }
}

/// Renders one job: the template, then asset URL rewriting and minification for HTML. Returns
/// the file and what its template functions read.
fn render_output(job: &RenderJob, templates: &Templates, config: &Config) -> Result<RenderedOutput, Diagnostic> {
    let site = &templates.site;
    let mut html = templates.render(&job.template, &job.context(config))?;
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
type RenderedOutput = (OutputFile, Vec<(Dep, u64)>, Vec<crate::images::Job>);

/// The template of a page, and the front matter key that chose it (`None`: the section's
/// `page_template` or the default).
fn page_template(p: &Page, s: &Section) -> (String, Option<&'static str>) {
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
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
fn render_jobs(
    model: &SiteModel,
    config: &Config,
    templates: &Templates,
    page_values: &[Value],
    section_values: &[Value],
    taxonomy_values: &HashMap<String, Value>,
    old_sitemap: Option<&(u64, Value)>,
    errors: &mut Vec<Diagnostic>,
) -> (Vec<RenderJob>, Option<(u64, Value)>) {
    let mut jobs = Vec::new();
    let need = |name: &str, origin: &str, key: Option<&str>, text: &str, errors: &mut Vec<Diagnostic>| -> bool {
        if templates.has(name) {
            return true;
        }
        let msg = format!("template `{name}` not found in `templates/` of the site or theme");
        let d = key
            .and_then(|k| crate::content::front_matter::find_key(text, k).map(|o| crate::error::line_col(text, o)))
            .map(|(l, c)| Diagnostic::at(origin, l, c, msg.clone()))
            .unwrap_or_else(|| Diagnostic::new(origin, msg));
        errors.push(d);
        false
    };
    for (i, p) in model.pages.iter().enumerate() {
        let s = &model.sections[p.section];
        let (tpl, key) = page_template(p, s);
        let origin = if key.is_none() && s.fm.page_template.is_some() {
            &s.origin
        } else {
            &p.origin
        };
        let text = if key.is_some() { &p.text } else { &s.text };
        if !need(
            &tpl,
            origin,
            key.or(s.fm.page_template.as_ref().map(|_| "page_template")),
            text,
            errors,
        ) {
            continue;
        }
        jobs.push(
            RenderJob::new(output_path(&p.path), tpl, &p.path, p.origin.as_str()).with("page", page_values[i].clone()),
        );
        for a in &p.fm.aliases {
            jobs.push(alias_job(config, a, &p.path, &p.origin));
        }
    }
    for (i, s) in model.sections.iter().enumerate() {
        for a in &s.fm.aliases {
            jobs.push(alias_job(config, a, &s.path, &s.origin));
        }
        if !s.fm.render {
            continue;
        }
        let tpl = s.fm.template.clone().unwrap_or_else(|| {
            if s.dir.is_empty() {
                "index.html".into()
            } else {
                "section.html".into()
            }
        });
        let tpl = if s.dir.is_empty() && s.fm.template.is_none() && !templates.has("index.html") {
            "section.html".to_string()
        } else {
            tpl
        };
        if !need(
            &tpl,
            &s.origin,
            s.fm.template.as_ref().map(|_| "template"),
            &s.text,
            errors,
        ) {
            continue;
        }
        let pages: Vec<Value> = s.pages.iter().map(|&pi| page_values[pi].clone()).collect();
        let pagers = paginate(config, &s.path, &s.fm.paginate_path, &pages, s.fm.paginate_by);
        if pagers.is_empty() {
            jobs.push(
                RenderJob::new(output_path(&s.path), tpl.clone(), &s.path, s.origin.as_str())
                    .with("section", section_values[i].clone()),
            );
        } else {
            for (k, (path, pager)) in pagers.into_iter().enumerate() {
                jobs.push(
                    RenderJob::new(output_path(&path), tpl.clone(), &path, s.origin.as_str())
                        .with("section", section_values[i].clone())
                        .with("paginator", pager),
                );
                if k == 0 {
                    let first = format!("{}{}/1/", s.path, s.fm.paginate_path);
                    jobs.push(alias_job(config, &first, &s.path, &s.origin));
                }
            }
        }
        if s.fm.generate_feeds {
            let pages: Vec<Value> = s
                .pages
                .iter()
                .filter(|&&pi| model.pages[pi].date.is_some())
                .map(|&pi| page_values[pi].clone())
                .collect();
            feed_jobs(
                config,
                &s.path,
                pages,
                &s.origin,
                Some(("section", section_values[i].clone())),
                &mut jobs,
            );
        }
    }

    // Taxonomies.
    for t in &model.taxonomies {
        let tv = &taxonomy_values[&t.config.name];
        let items = tv.get_from_path("items").cloned().unwrap_or_else(Value::none);
        if need("taxonomy_list.html", "config.toml", None, "", errors) {
            jobs.push(
                RenderJob::new(
                    output_path(&t.path),
                    "taxonomy_list.html",
                    &t.path,
                    format!("taxonomy `{}`", t.config.name),
                )
                .with("taxonomy", tv.clone())
                .with("terms", items.clone()),
            );
        }
        if !need("taxonomy_single.html", "config.toml", None, "", errors) {
            continue;
        }
        let term_values = items.as_array().map(|a| a.to_vec()).unwrap_or_default();
        for (term, tvalue) in t.terms.iter().zip(term_values) {
            let pages: Vec<Value> = term.pages.iter().map(|&pi| page_values[pi].clone()).collect();
            let pagers = paginate(config, &term.path, "page", &pages, t.config.paginate_by);
            let source = format!("taxonomy `{}` term `{}`", t.config.name, term.name);
            if pagers.is_empty() {
                jobs.push(
                    RenderJob::new(
                        output_path(&term.path),
                        "taxonomy_single.html",
                        &term.path,
                        source.clone(),
                    )
                    .with("taxonomy", tv.clone())
                    .with("term", tvalue.clone()),
                );
            } else {
                for (path, pager) in pagers {
                    jobs.push(
                        RenderJob::new(output_path(&path), "taxonomy_single.html", &path, source.clone())
                            .with("taxonomy", tv.clone())
                            .with("term", tvalue.clone())
                            .with("paginator", pager),
                    );
                }
            }
            if t.config.feed {
                let dated: Vec<Value> = term
                    .pages
                    .iter()
                    .filter(|&&pi| model.pages[pi].date.is_some())
                    .map(|&pi| page_values[pi].clone())
                    .collect();
                feed_jobs(
                    config,
                    &term.path,
                    dated,
                    &source,
                    Some(("term", tvalue.clone())),
                    &mut jobs,
                );
            }
        }
    }

    // Site feeds, sitemap, robots.txt, 404.
    if config.generate_feeds {
        let pages: Vec<Value> = model
            .pages_by_date()
            .into_iter()
            .filter(|&pi| model.pages[pi].date.is_some())
            .map(|pi| page_values[pi].clone())
            .collect();
        feed_jobs(config, "/", pages, "config.toml", None, &mut jobs);
    }
    let mut sitemap = None;
    if config.generate_sitemap {
        // What the entries show, in a cheap form: a rebuild that changes none of it reuses
        // the entries (and the sitemap, by identity) instead of making 10,000 maps again.
        let listed = || {
            let pages = model
                .pages
                .iter()
                .filter(|p| p.fm.in_sitemap)
                .map(|p| (p.path.as_str(), p.updated.or(p.date)));
            let sections = model
                .sections
                .iter()
                .filter(|s| s.fm.render && s.fm.in_sitemap)
                .map(|s| (s.path.as_str(), None));
            let terms = model.taxonomies.iter().flat_map(|t| {
                std::iter::once((t.path.as_str(), None)).chain(t.terms.iter().map(|term| (term.path.as_str(), None)))
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
        let value = match old_sitemap {
            Some((k, v)) if *k == key => v.clone(),
            _ => {
                let mut entries: Vec<(&str, Value)> = listed()
                    .map(|(path, updated)| {
                        let mut m = Map::new();
                        m.insert("permalink".into(), Value::from(config.permalink(path)));
                        m.insert("updated".into(), v_opt_date(updated));
                        (path, Value::from(m))
                    })
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::from(entries.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
            }
        };
        jobs.push(
            RenderJob::new(
                "sitemap.xml".into(),
                "sitemap.xml",
                "/sitemap.xml",
                "sitemap.xml template",
            )
            .with("entries", value.clone()),
        );
        sitemap = Some((key, value));
    }
    if config.generate_robots_txt {
        jobs.push(RenderJob::new(
            "robots.txt".into(),
            "robots.txt",
            "/robots.txt",
            "robots.txt template",
        ));
    }
    if templates.has("404.html") {
        jobs.push(RenderJob::new(
            "404.html".into(),
            "404.html",
            "/404.html",
            templates.origin("404.html"),
        ));
    }
    (jobs, sitemap)
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
        .filter_map(|p| p.get_from_path("updated").and_then(|v| v.as_str()).map(String::from))
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

fn alias_job(config: &Config, alias: &str, target: &str, source: &str) -> RenderJob {
    let path = crate::content::normalize_path(alias);
    RenderJob::new(
        output_path(&path),
        "alias.html",
        &path,
        format!("{source} (alias `{alias}`)"),
    )
    .with("url", Value::from(config.permalink(target)))
}

/// Links inside the generated HTML (`href`/`src`) that point into the site but at no
/// output file. Plain links are the author's business, so these are warnings for `build`
/// and errors for `check`.
pub fn check_links(plan: &BuildPlan, config: &Config, output_dir: &str) -> Vec<Diagnostic> {
    let base_path = config.base_path();
    let assets_base = config
        .assets_base_url
        .as_deref()
        .map(|b| b.trim_end_matches('/'))
        .filter(|b| !b.is_empty());
    plan.files
        .par_iter()
        .filter(|(p, _)| p.ends_with(".html"))
        .flat_map_iter(|(path, file)| {
            let text = String::from_utf8_lossy(&file.bytes);
            let mut out = Vec::new();
            for attr in crate::html::attributes(&text) {
                if attr.name != "href" && attr.name != "src" {
                    continue;
                }
                let url = &text[attr.value.clone()];
                // Assets may live under their own base URL, which maps to the output root.
                let local = if let Some(rest) = assets_base
                    .and_then(|b| url.strip_prefix(b))
                    .filter(|r| r.starts_with('/'))
                {
                    Some(rest.to_string())
                } else if let Some(rest) = url
                    .strip_prefix(config.base_url.as_str())
                    .filter(|_| config.base_url.starts_with("http"))
                {
                    Some(rest.to_string())
                } else if url.starts_with('/') && !url.starts_with("//") {
                    url.strip_prefix(base_path).map(String::from)
                } else {
                    None
                };
                let Some(local) = local else { continue };
                let local = local.split(['#', '?']).next().unwrap_or("");
                let local = if local.is_empty() { "/" } else { local };
                let decoded = crate::html::percent_decode(local);
                let target = output_path(&decoded);
                let exists = plan.files.contains_key(&target)
                    || plan
                        .files
                        .contains_key(&format!("{}/index.html", target.trim_end_matches('/')));
                if !exists {
                    out.push(Diagnostic::new(
                        format!("{output_dir}/{path}"),
                        format!("broken internal link `{url}`: nothing is built at `{target}`"),
                    ));
                }
            }
            out
        })
        .collect()
}
