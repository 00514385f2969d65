//! SiteModel → BuildPlan: renders every page, section, taxonomy page, feed, sitemap, alias and
//! static file into a map of output path → bytes. Pure (no file I/O); rendering runs in
//! parallel with rayon. The plan is complete before anything touches `public/`, which is what
//! lets a failed build leave the old output alone.
//!
//! A build runs in named phases, each a method of [`Builder`] below: assets → content model
//! → templates → Markdown (`markdown.rs`) → template values (`values.rs`) → render jobs
//! (`jobs.rs`) → render (reusing unchanged outputs) → assemble the plan → link check
//! (`links.rs`). Processed images are only listed by then; [`Builder::make_images`] makes
//! them afterwards (`sitegen check` never does). `preview.rs` renders an edited page ahead
//! of the rebuild for `serve`.

mod jobs;
mod links;
mod listed;
mod markdown;
mod originals;
mod preview;
mod values;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use tera::Value;

use crate::assets::{self, AssetSet};
use crate::config::Config;
use crate::content::SiteModel;
use crate::error::{Diagnostic, Errors};
use crate::highlight::Highlighter;
use crate::images::Job;
use crate::keys::{hash_of, value_id, Dep};
use crate::markdown::Rendered;
use crate::source::SourceTree;
use crate::templates::{SiteData, Templates};
use jobs::{render_jobs, render_output};
pub use links::{check_links, LinkReport, LinkScanner, LinkSite, PageScan};
use markdown::Renders;
use values::build_values;

/// Name of the generated stylesheet for highlighted code.
pub const SYNTAX_CSS: &str = "syntax-theme.css";

/// How to build. The default is what `sitegen build` does (links checked).
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Include pages and sections marked `draft = true`.
    pub drafts: bool,
    /// Include pages whose `publish_date` is after `now`.
    pub future: bool,
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
    /// What `now()` returns in templates, and the time `publish_date` and `expiry_date` are
    /// compared with. The CLI passes the clock's time; `None` is the Unix epoch, so a build
    /// without a clock stays reproducible (tests, the library).
    pub now: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Where each output goes as soon as it is final (`sitegen build`: the temporary output
    /// folder; `check`: nowhere). With a sink the plan keeps paths and hashes, not bytes
    /// ([`OutputFile::streamed`]), so memory does not grow with the site's output (`serve`:
    /// its store of served files); without one (`--watch`, the library) every output's bytes
    /// stay in the plan.
    pub sink: Option<Arc<dyn OutputSink>>,
    /// How many bytes of compressed page HTML a build whose listings show no page's content
    /// holds in memory; the rest waits in unnamed temporary files (in `TMPDIR`): in a
    /// one-shot build for its page's job, in a kept builder (`serve`) for as long as it
    /// keeps the render. Default 256 MiB (some 45,000 pages of long prose).
    pub html_in_memory: usize,
}

/// Takes each output of a streaming build as soon as its bytes are final. Called from the
/// render workers in parallel, once per output path; an error fails the build (whose
/// outputs the sink then discards: see `output::Staging`).
pub trait OutputSink: Send + Sync + std::fmt::Debug {
    fn put(&self, path: &str, file: &OutputFile) -> Result<(), Diagnostic>;

    /// Whether the sink keeps what it was given for the builder's next build (`serve`'s
    /// store keeps every body until a finished build no longer names it): a builder then
    /// reuses outputs it streamed, whose bytes the sink still has. Otherwise a streaming
    /// builder reuses none.
    fn keeps(&self) -> bool {
        false
    }
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            drafts: false,
            future: false,
            assets_only: false,
            check_links: true,
            progress: false,
            cancel: None,
            now: None,
            sink: None,
            html_in_memory: 256 << 20,
        }
    }
}

impl BuildOptions {
    /// `SITEGEN_HTML_IN_MEMORY`, a knob for small machines and for tests: bytes of
    /// compressed HTML held in memory (by a build, pages waiting for their job; by `serve`,
    /// the files it shows) before the rest waits in temporary files. Default 256 MiB.
    pub fn html_in_memory_from_env() -> usize {
        std::env::var("SITEGEN_HTML_IN_MEMORY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(BuildOptions::default().html_in_memory)
    }

    /// Whether a build with these options was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst) > 0)
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
    /// Its bytes went to the build's [`OutputSink`] and are no longer held: `bytes` is empty
    /// and `size` tells how many there were.
    pub streamed: bool,
    /// The length of its bytes (also once streamed).
    pub size: u64,
}

impl OutputFile {
    pub fn new(bytes: impl Into<Arc<[u8]>>, source: impl Into<Arc<str>>) -> Self {
        let bytes = bytes.into();
        OutputFile {
            sha256: Sha256::digest(&bytes).into(),
            size: bytes.len() as u64,
            bytes,
            source: source.into(),
            immutable: false,
            streamed: false,
        }
    }

    /// Hands its bytes to `sink` and drops them, keeping path, hash and size.
    pub fn stream_to(&mut self, path: &str, sink: &dyn OutputSink) -> Result<(), Diagnostic> {
        if !self.streamed {
            sink.put(path, self)?;
            self.bytes = Arc::from(Vec::new());
            self.streamed = true;
        }
        Ok(())
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
    /// Processed images taken from the remote image cache.
    pub images_downloaded: usize,
    /// What the remote image cache (`[images] remote_cache`) did: lookups, hits, downloads,
    /// entries rejected by verification, uploads.
    pub images_remote: crate::images::remote::RemoteStats,
    /// Pages whose compressed HTML waited in the temporary file
    /// ([`BuildOptions::html_in_memory`]).
    pub pages_spilled: usize,
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
    /// The processed images the plan names, still to be made: [`Builder::build`] makes them
    /// ([`Builder::make_images`]); [`Builder::plan`] (`sitegen check`) leaves them listed.
    pub images: Vec<crate::images::Job>,
    /// Every external URL of the output with where it appears (when links were checked),
    /// for `sitegen check --external`.
    pub external_links: std::collections::BTreeMap<String, Vec<LinkSite>>,
}

/// Why a build produced no plan.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildError {
    /// The site has errors (every one found, sorted).
    Failed(Errors),
    /// [`BuildOptions::cancel`] asked it to stop: a newer edit is waiting. Not the site's
    /// fault, so no diagnostic.
    Cancelled,
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Failed(e) => e.fmt(f),
            BuildError::Cancelled => f.write_str("the build was cancelled"),
        }
    }
}

impl std::error::Error for BuildError {}

impl From<Errors> for BuildError {
    fn from(e: Errors) -> Self {
        BuildError::Failed(e)
    }
}

impl From<BuildError> for Errors {
    /// For callers that never cancel (`sitegen build`, `check`): a cancellation can only
    /// come from a cancel token they did not pass, but it is still said in words.
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::Failed(e) => e,
            BuildError::Cancelled => Errors::from(Diagnostic::new("sitegen build", "the build was cancelled")),
        }
    }
}

/// Renders the site and makes its images. Every error found is returned, sorted by file and
/// position.
pub fn build(tree: Arc<SourceTree>, config: Arc<Config>, opts: &BuildOptions) -> Result<BuildResult, Errors> {
    let mut builder = Builder::one_shot();
    let result = builder.build(tree, config, opts);
    drop_aside(builder);
    Ok(result?)
}

/// Renders the site without making its images (what `sitegen check` does: it never encodes
/// an image nor touches the image cache).
pub fn plan(tree: Arc<SourceTree>, config: Arc<Config>, opts: &BuildOptions) -> Result<BuildResult, Errors> {
    let mut builder = Builder::one_shot();
    let result = builder.plan(tree, config, opts);
    drop_aside(builder);
    Ok(result?)
}

/// Frees a one-shot build's [`Builder`] on a thread of its own: dropping the model, the
/// Markdown renders, the template values and the search index's pages of a big site takes
/// one core ~10 ms per 1,000 pages, which the caller (writing the output, exiting) need not
/// wait for.
fn drop_aside(builder: Builder) {
    // Without a thread to be had, the closure (and the builder) is dropped here.
    let _ = std::thread::Builder::new()
        .name("drop-builder".into())
        .spawn(move || drop(builder));
}

/// One content file's Markdown render, with what decides whether the next build may reuse it.
#[derive(Clone)]
struct CachedMarkdown {
    sha256: [u8; 32],
    /// Resized images the render's `srcset`s and shortcodes point to (made after rendering).
    image_jobs: Arc<[crate::images::Job]>,
    links_key: u64,
    templates_key: u64,
    /// Its HTML and summary, as the template values that show them.
    html: markdown::Html,
    result: Arc<(Rendered, Vec<Diagnostic>)>,
}

/// One rendered output, with what decides whether the next build may reuse it.
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
    /// The highlighter: syntect's grammars and the line memo, kept between builds.
    highlighter: Option<Arc<Highlighter>>,
    /// The generated highlighting stylesheet (it depends on the config alone).
    syntax_css: Option<Option<String>>,
    /// The sitemap's entries, by a hash of what they show; kept alive so the next build can
    /// compare it by identity.
    sitemap: Option<(u64, Value)>,
    /// The last build, when it succeeded: what [`Builder::preview`] renders with.
    last: Option<LastBuild>,
    /// The search index's tokenized pages, by content.
    search: crate::search::SearchCache,
    /// The published copies of content files, metadata removed, by source.
    originals: originals::Originals,
    /// A builder with no next build: it keeps nothing that serves only the next one.
    one_shot: bool,
    /// Where a kept builder holds compressed page HTML (see `markdown::Html`), made by its
    /// first build that packs.
    html_spill: std::sync::OnceLock<Arc<markdown::Spill>>,
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

/// The errors and timings of one build run, and its cancel check.
struct Run<'a> {
    opts: &'a BuildOptions,
    errors: Vec<Diagnostic>,
    timings: Vec<(&'static str, Duration)>,
    last: Instant,
}

impl<'a> Run<'a> {
    fn new(opts: &'a BuildOptions) -> Self {
        Run {
            opts,
            errors: Vec::new(),
            timings: Vec::new(),
            last: Instant::now(),
        }
    }

    /// Ends the phase `name`: notes its time, and stops the build if it was cancelled.
    fn phase(&mut self, name: &'static str) -> Result<(), BuildError> {
        self.timings.push((name, self.last.elapsed()));
        self.last = Instant::now();
        if self.opts.cancelled() {
            return Err(BuildError::Cancelled);
        }
        Ok(())
    }

    /// The build so far as a failure, when it has errors.
    fn check(&mut self) -> Result<(), BuildError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(BuildError::Failed(Errors::sorted(std::mem::take(&mut self.errors))))
        }
    }
}

/// One output of the render phase: its path, the output with its reuse keys, whether this
/// build rendered it (`false`: reused from the last build), and, when it was streamed, its
/// URLs for the link check.
type Rendering = (String, CachedOutput, bool, Option<PageScan>);

/// The keys every output's reuse depends on besides its own context.
struct OutputKeys {
    templates: u64,
    assets: u64,
    /// Identities of the shared values (pages, sections, terms, the sitemap's entries).
    shared: HashSet<usize>,
}

impl Builder {
    /// A builder for one build (`sitegen build` and `check`): the search index keys and
    /// keeps no pages for a next build.
    pub fn one_shot() -> Builder {
        Builder {
            one_shot: true,
            ..Builder::default()
        }
    }

    /// Builds `tree`, reusing what the previous build of this builder can lend, and makes
    /// the processed images the plan names.
    pub fn build(
        &mut self,
        tree: Arc<SourceTree>,
        config: Arc<Config>,
        opts: &BuildOptions,
    ) -> Result<BuildResult, BuildError> {
        let mut tree = tree;
        let mut result = self.plan_in(&mut tree, config.clone(), opts)?;
        let made = self
            .make_images(&mut result, &tree, &config, opts.progress)
            .and_then(|()| match &opts.sink {
                Some(sink) => stream_all(&mut result.plan, &**sink).map_err(Errors::from),
                None => Ok(()),
            });
        if let Err(e) = made {
            // A preview renders with the last build's templates and values; after a failed
            // build those are no longer the site's.
            self.last = None;
            return Err(BuildError::Failed(e));
        }
        Ok(result)
    }

    /// Renders every output of `tree` into a plan, listing the processed images it names in
    /// [`BuildResult::images`] without making them.
    pub fn plan(
        &mut self,
        tree: Arc<SourceTree>,
        config: Arc<Config>,
        opts: &BuildOptions,
    ) -> Result<BuildResult, BuildError> {
        let mut tree = tree;
        self.plan_in(&mut tree, config, opts)
    }

    /// [`Builder::plan`]; a one-shot builder may replace `tree` with the snapshot it kept
    /// (without the Markdown texts it no longer needs).
    fn plan_in(
        &mut self,
        tree: &mut Arc<SourceTree>,
        config: Arc<Config>,
        opts: &BuildOptions,
    ) -> Result<BuildResult, BuildError> {
        if self.config.as_deref() != Some(&*config) {
            *self = Builder {
                one_shot: self.one_shot,
                ..Builder::default()
            };
            self.config = Some(config.clone());
        }
        let r = self.plan_phases(tree, config, opts);
        // A cancelled build leaves the last one in place for previews; a failed one does not.
        if matches!(r, Err(BuildError::Failed(_))) {
            self.last = None;
        }
        r
    }

    fn plan_phases(
        &mut self,
        tree: &mut Arc<SourceTree>,
        config: Arc<Config>,
        opts: &BuildOptions,
    ) -> Result<BuildResult, BuildError> {
        let mut run = Run::new(opts);
        let assets = self.assets(tree, &config, &mut run.errors);
        if opts.assets_only {
            run.check()?;
            return Ok(assets_only(&assets));
        }
        run.phase("assets")?;
        let visibility = crate::content::Visibility {
            drafts: opts.drafts,
            future: opts.future,
            now: opts.now.unwrap_or_default(),
        };
        let (mut model, errs) = SiteModel::load_cached(tree, &config, visibility, &mut self.front_matter);
        run.errors.extend(errs);
        // A one-shot build frees each page's text after its Markdown phase: from here on the
        // pages hold the only copy (the caller handed over its snapshot).
        let free_texts = self.one_shot && drop_markdown_texts(tree);
        let tree = &*tree;
        let (translations, errs) = crate::content::languages::Translations::load(tree, &config);
        run.errors.extend(errs);
        let site = self.site_data(tree, &config, &model, &assets, opts, translations);
        run.phase("load content")?;
        let (templates, templates_key) = load_templates(tree, site.clone(), &mut run)?;
        run.phase("load templates")?;
        let listed = listed::listed_reads(tree, &config.feed_filenames);
        let (renders, pages_spilled) = self.markdown_phase(
            &mut model,
            (&templates, templates_key),
            &listed,
            free_texts,
            opts,
            &mut run.errors,
        );
        run.phase("markdown")?;
        // Shared page values leave out what no template reads of a listed page.
        let every_summary = (0..model.pages.len()).all(|i| !renders.page_html(i).summary.is_none());
        let omit = listed.omit(every_summary);
        let (values, site_values, new_values) = build_values(&model, &renders, &config, &self.values, omit);
        let mut keys = OutputKeys {
            templates: templates_key,
            assets: assets_key(&assets, &config),
            shared: new_values.values().filter_map(|(_, v)| value_id(v)).collect(),
        };
        let _ = site.values.set(site_values);
        run.phase("template values")?;
        let (jobs, sitemap) = render_jobs(
            &model,
            &config,
            &templates,
            &values,
            self.sitemap.as_ref(),
            &mut run.errors,
        );
        keys.shared.extend(sitemap.as_ref().and_then(|(_, v)| value_id(v)));
        let known = known_outputs(&jobs, &assets, &renders, opts);
        let (rendered, scans, search) =
            self.render_and_index(jobs, (&model, &renders), &templates, (&keys, &known), omit, opts)?;
        drop(known);
        run.phase("render templates and search index")?;
        let content = self.originals.files(&model, tree, &config, &mut run.errors);
        let mut assembled = assemble(rendered, &renders, &assets, content, search, &config, &mut run.errors);
        // Keep what this build made for the next one, even when it failed: the caches hold
        // only values that are correct for their keys.
        self.markdown = renders.cache();
        self.values = new_values;
        // A streamed output's bytes are gone: a builder that streams reuses no outputs,
        // unless its sink keeps them.
        self.outputs = if opts.sink.as_ref().is_none_or(|s| s.keeps()) {
            assembled.outputs
        } else {
            HashMap::new()
        };
        self.retired.clear();
        self.sitemap = sitemap;
        run.check()?;
        run.phase("assemble the plan")?;
        let planned: HashSet<&str> = assembled.images.iter().map(|j| j.output.as_str()).collect();
        let links = if opts.check_links {
            let scans: Vec<&PageScan> = scans.iter().collect();
            check_links(&assembled.plan, &planned, &config, &renders.links(), &scans)
        } else {
            LinkReport::default()
        };
        run.phase("check links")?;
        let stats = BuildStats {
            timings: run.timings,
            pages: model.pages.len(),
            sections: model.sections.len(),
            static_files: assets.assets.len(),
            outputs: assembled.plan.files.len() + planned.len(),
            rendered: assembled.rendered.len(),
            pages_spilled,
            ..BuildStats::default()
        };
        if let Some(sink) = &opts.sink {
            stream_all(&mut assembled.plan, &**sink).map_err(|e| BuildError::Failed(e.into()))?;
        }
        // A one-shot builder renders no previews (and keeps no heading ids for them).
        if !self.one_shot {
            self.last = Some(LastBuild {
                anchor_targets: renders.anchor_targets(&model),
                model,
                templates,
            });
        }
        Ok(BuildResult {
            plan: assembled.plan,
            warnings: links.broken,
            stats,
            rendered: assembled.rendered,
            images: assembled.images,
            external_links: links.external,
        })
    }

    /// The Markdown phase of `plan_phases`. Which heavy fields templates read of listed
    /// pages (`listed`): a one-shot build with none reading content (and no search index,
    /// which reads every page's HTML at once) holds the pages' HTML compressed until their
    /// own jobs; past its memory budget in a temporary file, that of every page no listing
    /// reads the content of (then the page's own job is its only reader). A kept builder
    /// (`serve`) does the same for as long as it keeps the render, in one spill for all its
    /// builds. With `free_texts` the pages keep only their front matter (positions of
    /// errors in it): each body goes as soon as it is rendered; its render holds what the
    /// templates show. The renders'
    /// errors and broken anchor links go to `errors`; with the renders, how many pages'
    /// HTML this phase put in a temporary file.
    fn markdown_phase(
        &self,
        model: &mut SiteModel,
        (templates, templates_key): (&Templates, u64),
        listed: &listed::ListedReads,
        free_texts: bool,
        opts: &BuildOptions,
        errors: &mut Vec<Diagnostic>,
    ) -> (Renders, usize) {
        let search = templates.site.config.search.enabled;
        let spill = (listed.content != listed::Reads::Always && !search).then(|| {
            if self.one_shot {
                markdown::Spill::new(opts.html_in_memory)
            } else {
                self.html_spill
                    .get_or_init(|| markdown::Spill::kept(opts.html_in_memory))
                    .clone()
            }
        });
        let only_with_summary = listed.content == listed::Reads::WithoutSummary;
        let texts = free_texts.then(|| {
            model
                .pages
                .par_iter_mut()
                .map(|p| {
                    let front_matter = Arc::from(&p.text[..p.body_offset]);
                    std::mem::replace(&mut p.text, front_matter)
                })
                .collect()
        });
        let spilled_before = spill.as_ref().map_or(0, |s| s.spilled());
        let pack = spill.as_ref().map(|s| (s, only_with_summary));
        let mut renders = self.render_markdown(model, templates, templates_key, pack, texts);
        let spilled = spill.as_ref().map_or(0, |s| s.spilled()) - spilled_before;
        renders.report(model, errors);
        // After the report, which reads the anchor links and heading ids.
        if self.one_shot {
            renders.forget_for_next_build();
        }
        (renders, spilled)
    }

    /// The asset set, processed again only when a file it can read changed (Sass can import
    /// any file but Markdown).
    fn assets(&mut self, tree: &SourceTree, config: &Config, errors: &mut Vec<Diagnostic>) -> Arc<AssetSet> {
        let syntax_css = self
            .syntax_css
            .get_or_insert_with(|| {
                config
                    .markdown
                    .highlight_code
                    .then(|| {
                        Highlighter::stylesheet(
                            &config.markdown.highlight_theme,
                            config.markdown.highlight_theme_dark.as_deref(),
                        )
                    })
                    .flatten()
            })
            .clone();
        let input = hash_of(
            tree.files
                .iter()
                .filter(|(k, _)| !k.ends_with(".md"))
                .map(|(k, f)| (k, f.sha256))
                .collect::<Vec<_>>(),
        );
        if let Some((key, assets, errs)) = &self.assets {
            if *key == input {
                errors.extend(errs.iter().cloned());
                return assets.clone();
            }
        }
        let generated = syntax_css
            .map(|css| {
                (
                    SYNTAX_CSS.to_string(),
                    css.into_bytes(),
                    format!("markdown.highlight_theme in {}", config.file),
                )
            })
            .into_iter()
            .chain(config.search.enabled.then(|| {
                (
                    crate::search::CLIENT_PATH.to_string(),
                    crate::search::CLIENT_JS.as_bytes().to_vec(),
                    format!("[search] in {}", config.file),
                )
            }))
            .collect();
        let (assets, errs) = assets::process(tree, generated, config);
        let assets = Arc::new(assets);
        errors.extend(errs.iter().cloned());
        self.assets = Some((input, assets.clone(), errs));
        assets
    }

    /// What template functions may read: permalinks, the outputs that are not pages, assets,
    /// the snapshot, the highlighter and this build's image requests.
    fn site_data(
        &mut self,
        tree: &Arc<SourceTree>,
        config: &Arc<Config>,
        model: &SiteModel,
        assets: &Arc<AssetSet>,
        opts: &BuildOptions,
        translations: crate::content::languages::Translations,
    ) -> Arc<SiteData> {
        let mut urls = HashMap::new();
        let pages = model
            .pages
            .iter()
            .map(|p| (&p.relative_path, &p.canonical, &p.lang, &p.path));
        let sections = model
            .sections
            .iter()
            .map(|s| (&s.relative_path, &s.canonical, &s.lang, &s.path));
        for (rel, canonical, lang, path) in pages.chain(sections) {
            let url = config.permalink(path);
            // `post.en.md` in an English site is also `@/post.md`.
            if rel != canonical && *lang == config.language {
                urls.entry(canonical.clone()).or_insert_with(|| url.clone());
            }
            urls.insert(rel.clone(), url);
        }
        let mut static_paths: HashSet<String> = model.loose_files.iter().map(|f| f.relative_path.clone()).collect();
        let mut bundle_assets = HashMap::new();
        let bundles = model.pages.iter().map(|p| (&p.path, &p.lang, &p.assets));
        let section_files = model.sections.iter().map(|s| (&s.path, &s.lang, &s.assets));
        for (path, lang, files) in bundles.chain(section_files) {
            for a in files {
                let out = crate::paths::bundle_asset_output(path, a);
                static_paths.insert(out.clone());
                // A bundle file of several languages' pages: `get_url` gives the default's copy.
                if *lang == config.language {
                    bundle_assets.insert(a.clone(), out);
                } else {
                    bundle_assets.entry(a.clone()).or_insert(out);
                }
            }
        }
        for l in model.languages.iter().filter(|l| l.generate_feeds) {
            let dir = l.prefix.trim_start_matches('/');
            for f in &config.feed_filenames {
                static_paths.insert(if dir.is_empty() {
                    f.clone()
                } else {
                    format!("{dir}/{f}")
                });
            }
        }
        static_paths.insert("sitemap.xml".into());
        static_paths.insert("robots.txt".into());
        // The search index's plain files, for `get_url` (Zola themes link `elasticlunr.min.js`
        // and `search_index.LANG.js`).
        if config.search.enabled {
            if !config.search.zola_compat.is_empty() {
                static_paths.insert("elasticlunr.min.js".into());
            }
            for l in model.languages.iter().filter(|l| config.search_enabled(&l.code)) {
                static_paths.insert(format!("search/{}.json", l.code));
                for f in &config.search.zola_compat {
                    let ext = if f == "elasticlunr_javascript" { "js" } else { "json" };
                    static_paths.insert(format!("search_index.{}.{ext}", l.code));
                }
            }
        }
        // Its grammars load once per builder (on first use), not once per rebuild.
        let highlighter = self
            .highlighter
            .get_or_insert_with(|| Arc::new(Highlighter::new(&config.markdown.highlight_themes())))
            .clone();
        let store = self
            .images
            .get_or_insert_with(|| Arc::new(crate::images::cache::Store::new(config.image_cache.as_deref())))
            .clone();
        let image_requests = Arc::new(crate::images::Images::new(config.clone(), tree.clone(), store));
        Arc::new(
            SiteData::new(
                config.clone(),
                urls,
                static_paths,
                assets.clone(),
                tree.clone(),
                highlighter,
                image_requests,
            )
            .with_bundle_assets(bundle_assets)
            .with_translations(translations)
            .at(opts.now.unwrap_or_default()),
        )
    }

    /// Renders the jobs and, alongside (the search index needs only the Markdown renders, so
    /// it fills the cores where rendering leaves them idle), makes the search index; the
    /// streamed outputs' URLs are taken out for the link check.
    #[allow(clippy::type_complexity)] // (outputs, their scans, the index), used once
    fn render_and_index(
        &mut self,
        jobs: Vec<jobs::RenderJob>,
        (model, renders): (&SiteModel, &Renders),
        templates: &Templates,
        (keys, known): (&OutputKeys, &HashSet<String>),
        omit: listed::Omit,
        opts: &BuildOptions,
    ) -> Result<
        (
            Vec<Result<Rendering, Diagnostic>>,
            Vec<PageScan>,
            Vec<crate::search::SearchFile>,
        ),
        BuildError,
    > {
        let config = &*templates.site.config;
        let mut search_cache = if self.one_shot {
            crate::search::SearchCache::none()
        } else {
            std::mem::take(&mut self.search)
        };
        let (rendered, search) = rayon::join(
            || {
                // A one-shot build frees each page's compressed HTML in its own job.
                let own = |i: usize, v: &tera::Value| {
                    values::own_page_value(v, (renders.page(i), renders.page_html(i)), omit, self.one_shot).map_err(
                        |e| {
                            Diagnostic::new(
                                model.pages[i].origin.as_str(),
                                format!("cannot read the page's rendered HTML back from the temporary file: {e}"),
                            )
                        },
                    )
                };
                self.render(jobs, templates, config, (keys, known), &own, opts)
            },
            || search_index(model, renders, config, &mut search_cache),
        );
        self.search = search_cache;
        let mut rendered = rendered?;
        let scans = rendered
            .iter_mut()
            .filter_map(|r| r.as_mut().ok().and_then(|r| r.3.take()))
            .collect();
        Ok((rendered, scans, search))
    }

    /// Renders the jobs in parallel, reusing the last build's output where its key and
    /// everything its template read are the same. `(output, cached, rendered now)`.
    fn render(
        &self,
        jobs: Vec<jobs::RenderJob>,
        templates: &Templates,
        config: &Config,
        (keys, known): (&OutputKeys, &HashSet<String>),
        own: jobs::OwnPage<'_>,
        opts: &BuildOptions,
    ) -> Result<Vec<Result<Rendering, Diagnostic>>, BuildError> {
        let site = &templates.site;
        let scanner = LinkScanner::new(config);
        // A streaming build hands each output to the sink as soon as it is rendered (its
        // links read first, for the check), so only the outputs in flight are in memory.
        let stream = |path: &str, c: &mut CachedOutput| -> Result<Option<PageScan>, Diagnostic> {
            let Some(sink) = &opts.sink else { return Ok(None) };
            let scan = (opts.check_links && path.ends_with(".html")).then(|| {
                let mut scan = scanner.scan(path, &String::from_utf8_lossy(&c.file.bytes), &c.file.source);
                scan.keep_unresolved(|p| known.contains(p));
                scan
            });
            c.file.stream_to(path, &**sink)?;
            // A builder that reuses no outputs needs no record of their reads.
            if !sink.keeps() {
                c.deps = Vec::new();
            }
            Ok(scan)
        };
        let rendered: Vec<Option<Result<Rendering, Diagnostic>>> = jobs
            .into_par_iter()
            .map(|job| {
                if opts.cancelled() {
                    return None;
                }
                let key = job.key(keys.templates, keys.assets, &keys.shared);
                if let Some(c) = self.outputs.get(&job.output) {
                    if c.key == key && c.deps.iter().all(|(d, id)| site.dep_ident(d) == *id) {
                        let mut c = c.clone();
                        return Some(stream(&job.output, &mut c).map(|scan| (job.output, c, false, scan)));
                    }
                }
                Some(
                    render_output(&job, templates, config, Some(own)).and_then(|(file, deps, images)| {
                        let mut cached = CachedOutput {
                            key,
                            deps,
                            file,
                            images,
                        };
                        let scan = stream(&job.output, &mut cached)?;
                        Ok((job.output, cached, true, scan))
                    }),
                )
            })
            .collect();
        rendered.into_iter().map(|r| r.ok_or(BuildError::Cancelled)).collect()
    }

    /// Makes the processed images `result` lists (from the cache where it has them), adds
    /// them to its plan and trims the cache to its size limit. The edge of the image stage:
    /// the only part of a build that decodes, encodes or touches the cache on disk.
    pub fn make_images(
        &mut self,
        result: &mut BuildResult,
        tree: &SourceTree,
        config: &Config,
        progress: bool,
    ) -> Result<(), Errors> {
        let jobs = std::mem::take(&mut result.images);
        if jobs.is_empty() {
            return Ok(());
        }
        let start = Instant::now();
        let store = self
            .images
            .get_or_insert_with(|| Arc::new(crate::images::cache::Store::new(config.image_cache.as_deref())))
            .clone();
        let progress = progress && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let ran = crate::images::run(jobs, tree, config, &store, progress);
        let (made, st, mut errors) = (ran.made, ran.stats, ran.errors);
        result.warnings.extend(ran.warnings);
        for (path, bytes) in made {
            let mut f = OutputFile::new(bytes, "the image pipeline");
            f.immutable = true;
            if let Some(prev) = result.plan.files.get(&path) {
                errors.push(Diagnostic::new(
                    f.source.to_string(),
                    format!("writes `{path}`, which `{}` writes too", prev.source),
                ));
            } else {
                result.plan.files.insert(path, f);
            }
        }
        let used = store.take_used();
        if st.encoded + st.downloaded > 0 {
            if let Some(dir) = store.dir() {
                let _ = crate::images::cache::enforce_limit(dir, &used, config.images.cache_max_mb << 20);
            }
        }
        let stats = &mut result.stats;
        stats.images_cached = st.cached;
        stats.images_decoded = st.decoded;
        stats.images_encoded = st.encoded;
        stats.images_downloaded = st.downloaded;
        stats.images_remote = st.remote;
        stats.outputs = result.plan.files.len();
        stats.timings.push(("images", start.elapsed()));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Errors::sorted(errors))
        }
    }
}

/// What pages can show of the assets: their URLs, sizes and (except in `serve`, where
/// integrity is left out) their hashes.
/// Replaces `tree` with a snapshot without its Markdown texts, when it can (not when a
/// template may `load_data` a content file); whether it did.
fn drop_markdown_texts(tree: &mut Arc<SourceTree>) -> bool {
    match tree.without_markdown_texts() {
        Some(t) => {
            *tree = Arc::new(t);
            true
        }
        None => false,
    }
}

/// The templates of `tree` with the key of everything they read (translation files are
/// read by templates, `trans`, so they count); a failure to load them ends the build.
fn load_templates(tree: &SourceTree, site: Arc<SiteData>, run: &mut Run<'_>) -> Result<(Templates, u64), BuildError> {
    let templates = match Templates::load(tree, site) {
        Ok(t) => t,
        Err(e) => {
            run.errors.extend(e);
            run.check()?;
            unreachable!("templates failed to load without an error")
        }
    };
    let key = hash_of(
        tree.under("templates/")
            .chain(tree.under("i18n/"))
            .chain(tree.under(crate::source::THEME_I18N))
            .map(|(k, f)| (k, f.sha256))
            .collect::<Vec<_>>(),
    );
    Ok((templates, key))
}

/// What the plan will surely hold, for checking a streamed page's links at once (empty
/// when nothing is streamed or links are not checked).
fn known_outputs(
    jobs: &[jobs::RenderJob],
    assets: &AssetSet,
    renders: &Renders,
    opts: &BuildOptions,
) -> HashSet<String> {
    if opts.sink.is_none() || !opts.check_links {
        return HashSet::new();
    }
    jobs.iter()
        .map(|j| j.output.clone())
        .chain(assets.assets.values().map(|a| a.path.clone()))
        .chain(renders.image_jobs().map(|j| j.output.clone()))
        .collect()
}

fn assets_key(assets: &AssetSet, config: &Config) -> u64 {
    hash_of(
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
    )
}

/// The result of `build --assets-only`: the assets and `manifest.json`.
fn assets_only(assets: &AssetSet) -> BuildResult {
    let mut plan = BuildPlan::default();
    add_assets(&mut plan, assets, Vec::new());
    let stats = BuildStats {
        static_files: assets.assets.len(),
        outputs: plan.files.len(),
        ..BuildStats::default()
    };
    BuildResult {
        plan,
        warnings: vec![],
        stats,
        rendered: vec![],
        images: vec![],
        external_links: Default::default(),
    }
}

/// The plan of a build before its images are made.
struct Assembled {
    plan: BuildPlan,
    /// Every rendered output with its reuse keys, for the next build.
    outputs: HashMap<String, CachedOutput>,
    /// Outputs rendered (not reused) by this build, sorted.
    rendered: Vec<String>,
    /// Processed images the outputs and Markdown renders named.
    images: Vec<Job>,
}

/// The search index's files (none when `[search]` is off), from the pages' Markdown renders.
fn search_index(
    model: &SiteModel,
    renders: &Renders,
    config: &Config,
    cache: &mut crate::search::SearchCache,
) -> Vec<crate::search::SearchFile> {
    if !config.search.enabled {
        return Vec::new();
    }
    let docs = crate::search::documents(
        model,
        config,
        |i| {
            (
                renders.page_html(i).content_value().expect("not packed with search on"),
                renders.page(i).toc.as_slice(),
            )
        },
        |i| {
            (
                renders
                    .section_html(i)
                    .content_value()
                    .expect("sections are not packed"),
                renders.section(i).toc.as_slice(),
            )
        },
    );
    let mut files = crate::search::index_cached(&docs, config, cache);
    files.extend(crate::search::zola::files(&docs, config));
    files
}

/// The plan: rendered outputs, assets, the search index and the files of `content/`
/// (bundles' and loose ones, as [`originals::Originals::files`] publishes them); two sources
/// of one output path are an error.
#[allow(clippy::too_many_arguments)] // each is one input of the plan, named at the call
fn assemble(
    rendered: Vec<Result<Rendering, Diagnostic>>,
    renders: &Renders,
    assets: &AssetSet,
    content: Vec<(String, OutputFile)>,
    search: Vec<crate::search::SearchFile>,
    config: &Config,
    errors: &mut Vec<Diagnostic>,
) -> Assembled {
    let mut plan = BuildPlan::default();
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
    let mut images: Vec<Job> = renders.image_jobs().cloned().collect();
    let mut outputs = HashMap::new();
    let mut fresh = Vec::new();
    for r in rendered {
        match r {
            Ok((p, c, rendered_now, _)) => {
                if rendered_now {
                    fresh.push(p.clone());
                }
                images.extend(c.images.iter().cloned());
                add(p.clone(), c.file.clone(), errors);
                outputs.insert(p, c);
            }
            Err(d) => errors.push(d),
        }
    }
    // Assets: the site's over the theme's was already decided by the snapshot layers.
    let mut asset_plan = BuildPlan::default();
    let mut listed = Vec::new();
    let search_source: Arc<str> = format!("the search index ([search] in {})", config.file).into();
    for f in search {
        let file = OutputFile {
            size: f.bytes.len() as u64,
            bytes: f.bytes.into(),
            sha256: f.sha256,
            source: search_source.clone(),
            immutable: f.fingerprinted,
            streamed: false,
        };
        if f.fingerprinted {
            // No integrity: the fragments are fetched by the search client, never linked
            // from HTML, and hashing every one again would cost the build for nothing.
            let entry = assets::ManifestEntry {
                url: config.permalink(&format!("/{}", f.path)),
                path: f.path.clone(),
                integrity: String::new(),
                size: file.bytes.len(),
                content_type: "application/json".into(),
                width: None,
                height: None,
            };
            listed.push((f.path.clone(), entry));
        }
        asset_plan.files.insert(f.path, file);
    }
    add_assets(&mut asset_plan, assets, listed);
    for (path, f) in asset_plan.files {
        add(path, f, errors);
    }
    for (out, file) in content {
        add(out, file, errors);
    }
    fresh.sort();
    images.sort_by(|a, b| a.output.cmp(&b.output));
    images.dedup();
    Assembled {
        plan,
        outputs,
        rendered: fresh,
        images,
    }
}

/// Hands every output of `plan` still held to `sink` (in parallel), keeping paths and hashes.
fn stream_all(plan: &mut BuildPlan, sink: &dyn OutputSink) -> Result<(), Diagnostic> {
    plan.files
        .par_iter_mut()
        .filter(|(_, f)| !f.streamed)
        .try_for_each(|(path, f)| f.stream_to(path, sink))
}

/// Every asset, plus `manifest.json` (which also lists `more`: other stages' fingerprinted
/// files).
fn add_assets(plan: &mut BuildPlan, assets: &AssetSet, more: Vec<(String, assets::ManifestEntry)>) {
    for a in assets.assets.values() {
        plan.files.insert(
            a.path.clone(),
            OutputFile {
                sha256: Sha256::digest(&a.bytes).into(),
                size: a.bytes.len() as u64,
                bytes: a.bytes.clone(),
                source: a.origin.as_str().into(),
                immutable: a.fingerprinted,
                streamed: false,
            },
        );
    }
    plan.files.insert(
        assets::MANIFEST.to_string(),
        OutputFile::new(assets.manifest_with(more).into_bytes(), "the asset pipeline"),
    );
}
