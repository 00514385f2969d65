//! `sitegen serve` and `sitegen build --watch`: a [`Session`] keeps the source snapshot and an
//! incremental [`Builder`] in memory; each batch of file changes refreshes only the changed
//! files of the snapshot, rebuilds (re-rendering only what the change can affect) and diffs the
//! new plan against the last one. `serve` shows the plan over HTTP and tells browsers what
//! changed; `--watch` writes the changed files to disk.
//!
//! In `serve`, an edited page is shown first: [`Builder::preview`] renders its own output,
//! which is published and reloaded before the rebuild renders the pages that list it
//! (section pagers, term pages, feeds). The preview is what the rebuild renders for that
//! output, so the rebuild's diff (against the plan with the preview in it) does not reload it
//! a second time.

pub mod changes;
pub mod server;
pub mod store;
pub mod watch;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::build::{BuildError, BuildOptions, BuildPlan, Builder, OutputSink};
use crate::config::Config;
use crate::error::{Diagnostic, Errors};
use crate::site::{load_site, SiteArgs};
use crate::source::{SourceFile, SourceTree};

/// `println!` that ignores a closed stdout (`sitegen serve | head -1`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub use changes::Message;

/// A site kept in memory between rebuilds.
pub struct Session {
    root: PathBuf,
    config_file: PathBuf,
    args: SiteArgs,
    /// Adjusts the config after every (re)load: `serve` sets its own base URL and turns off
    /// fingerprinting so a stylesheet keeps its URL and can be swapped in place.
    adjust: Box<dyn Fn(&mut Config) + Send>,
    config: Arc<Config>,
    tree: Arc<SourceTree>,
    builder: Builder,
    assets_only: bool,
    /// Not zero when newer edits wait: a rebuild then stops early (see [`Outcome::Cancelled`]).
    cancel: Option<Arc<AtomicUsize>>,
    /// Logical paths changed since the last build that finished (what a preview compares
    /// with the last successful build).
    pending: BTreeSet<String>,
    /// Where outputs go as they are rendered (`serve`'s store); without one the plan holds
    /// every output's bytes.
    sink: Option<Arc<dyn OutputSink>>,
    /// The last plan that built, with the previews published since.
    pub plan: BuildPlan,
}

/// The result of one rebuild.
pub enum Outcome {
    Built {
        /// Output paths that changed (besides those published by the preview).
        changed: Vec<String>,
        rendered: usize,
        elapsed: Duration,
        /// Output paths published ahead of the rebuild, and when they were.
        previewed: Vec<String>,
        preview_elapsed: Option<Duration>,
    },
    Failed(Errors),
    /// Newer edits came during the rebuild, which stopped: the next `apply` rebuilds them all
    /// (and must run, even for a batch with nothing in it).
    Cancelled,
}

/// Called with the plan and the output paths a preview changed in it, before the rebuild.
pub type OnPreview<'a> = &'a mut dyn FnMut(&BuildPlan, &[String]);

impl Session {
    /// Loads and builds the site. A site that does not build yet still gives a session (with
    /// an empty plan), so `serve` can show the errors and recover when they are fixed. With
    /// a `sink`, every build streams its outputs there (see [`BuildOptions::sink`]).
    pub fn start(
        root: &Path,
        config_file: &Path,
        args: SiteArgs,
        (assets_only, sink): (bool, Option<Arc<dyn OutputSink>>),
        adjust: Box<dyn Fn(&mut Config) + Send>,
    ) -> Result<(Session, Outcome), Errors> {
        let (config, tree) = load_adjusted(root, config_file, &args, &*adjust)?;
        let mut s = Session {
            root: root.to_path_buf(),
            config_file: config_file.to_path_buf(),
            args,
            adjust,
            config,
            tree,
            builder: Builder::default(),
            assets_only,
            cancel: None,
            pending: BTreeSet::new(),
            sink,
            plan: BuildPlan::default(),
        };
        let outcome = s.rebuild(Instant::now(), Vec::new(), None);
        Ok((s, outcome))
    }

    /// Lets rebuilds stop early while `pending` is not zero.
    pub fn cancel_when(&mut self, pending: Arc<AtomicUsize>) {
        self.cancel = Some(pending);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What to watch.
    pub fn watched_paths(&self) -> Vec<PathBuf> {
        watch::watched_paths(
            &self.root,
            &self.config_file,
            &self.config.source_dir,
            &self.config.theme,
        )
    }

    /// Folders whose changes never matter (the output).
    pub fn ignored_dirs(&self, extra: &[PathBuf]) -> Vec<PathBuf> {
        let mut v = vec![self.root.join(&self.config.output_dir)];
        v.extend(extra.iter().cloned());
        v
    }

    /// Rebuilds after `changed` paths (on disk) changed. With `on_preview`, the outputs of
    /// edited pages that can be rendered ahead of the rebuild are, and `on_preview` gets them
    /// first.
    pub fn apply(&mut self, changed: &[PathBuf], on_preview: Option<OnPreview<'_>>) -> Outcome {
        let start = Instant::now();
        let config_path = self.root.join(&self.config_file);
        if changed.iter().any(|p| p == &config_path) {
            // A new config starts the builder over: nothing to preview from.
            self.pending.clear();
            return match load_adjusted(&self.root, &self.config_file, &self.args, &*self.adjust) {
                Ok((config, tree)) => {
                    self.config = config;
                    self.tree = tree;
                    self.rebuild(start, Vec::new(), None)
                }
                Err(e) => Outcome::Failed(e),
            };
        }
        // Read the changed files first, preview from them, and only then copy the snapshot.
        let (logical, files) = match SourceTree::read_changed(&self.root, &self.config, changed) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(Errors::sorted(e)),
        };
        self.pending.extend(logical.iter().cloned());
        let mut previewed = Vec::new();
        let mut preview_elapsed = None;
        if let Some(publish) = on_preview {
            let read = start.elapsed();
            let now: Vec<(&str, Option<&SourceFile>)> = self
                .pending
                .iter()
                .map(|l| {
                    let file = if logical.contains(l) {
                        files.get(l)
                    } else {
                        self.tree.get(l)
                    };
                    (l.as_str(), file)
                })
                .collect();
            let outputs = self.builder.preview_changes(&now);
            if std::env::var_os("SITEGEN_TIMINGS").is_some() {
                eprintln!(
                    "preview timings: read {} ms, preview {} ms",
                    read.as_millis(),
                    (start.elapsed() - read).as_millis()
                );
            }
            for (path, file) in outputs {
                if self.plan.files.get(&path).map(|f| f.sha256) != Some(file.sha256) {
                    previewed.push(path.clone());
                    self.plan.files.insert(path, file);
                }
            }
            if !previewed.is_empty() {
                // Timed before `publish`, which may wait for the browser's fetch.
                preview_elapsed = Some(start.elapsed());
                publish(&self.plan, &previewed);
            }
        }
        self.tree = Arc::new(self.tree.with_changes(&logical, &files));
        self.rebuild(start, previewed, preview_elapsed)
    }

    fn rebuild(&mut self, start: Instant, previewed: Vec<String>, preview_elapsed: Option<Duration>) -> Outcome {
        let opts = BuildOptions {
            drafts: self.args.drafts,
            future: self.args.future,
            assets_only: self.assets_only,
            check_links: false,
            progress: false,
            cancel: self.cancel.clone(),
            now: Some(chrono::Local::now().fixed_offset()),
            sink: self.sink.clone(),
            html_in_memory: BuildOptions::html_in_memory_from_env(),
        };
        match self.builder.build(self.tree.clone(), self.config.clone(), &opts) {
            Ok(r) => {
                self.pending.clear();
                if std::env::var_os("SITEGEN_TIMINGS").is_some() {
                    let t: Vec<String> = r
                        .stats
                        .timings
                        .iter()
                        .map(|(n, d)| format!("{n} {} ms", d.as_millis()))
                        .collect();
                    eprintln!("timings: {}", t.join(", "));
                }
                let changed = changes::diff(&self.plan, &r.plan);
                self.plan = r.plan;
                Outcome::Built {
                    changed,
                    rendered: r.stats.rendered,
                    elapsed: start.elapsed(),
                    previewed,
                    preview_elapsed,
                }
            }
            Err(BuildError::Cancelled) => Outcome::Cancelled,
            Err(BuildError::Failed(e)) => {
                self.pending.clear();
                Outcome::Failed(e)
            }
        }
    }
}

fn load_adjusted(
    root: &Path,
    config_file: &Path,
    args: &SiteArgs,
    adjust: &dyn Fn(&mut Config),
) -> Result<(Arc<Config>, Arc<SourceTree>), Errors> {
    let (config, tree) = load_site(root, config_file, args)?;
    let mut c = (*config).clone();
    adjust(&mut c);
    Ok((Arc::new(c), tree))
}

/// File events name absolute paths; so must everything they are compared with.
fn absolute(p: &Path) -> Result<PathBuf, Errors> {
    std::path::absolute(p).map_err(|e| {
        Errors::from(Diagnostic::new(
            p.display().to_string(),
            format!("cannot resolve the path: {e}"),
        ))
    })
}

/// One line about a rebuild, for the terminal.
pub fn describe(changed_files: &[PathBuf], root: &Path, outcome: &Outcome) -> String {
    let files: Vec<String> = changed_files.iter().map(|p| crate::source::display(root, p)).collect();
    let what = match files.len() {
        0 => "start".to_string(),
        1..=3 => files.join(", "),
        n => format!("{}, … ({n} files)", files[..3].join(", ")),
    };
    match outcome {
        Outcome::Built {
            changed,
            rendered,
            elapsed,
            previewed,
            preview_elapsed,
        } => {
            let outs = match changed.len() {
                0 if previewed.is_empty() => "no output changed".to_string(),
                0 => "no other output changed".to_string(),
                1..=3 => format!("changed {}", changed.join(", ")),
                n => format!("changed {}, … ({n} outputs)", changed[..3].join(", ")),
            };
            let shown = match preview_elapsed {
                Some(t) if !previewed.is_empty() => {
                    format!(" ({} shown after {} ms)", previewed.join(", "), t.as_millis())
                }
                _ => String::new(),
            };
            format!(
                "{what}: rendered {rendered}, {outs} in {} ms{shown}",
                elapsed.as_millis()
            )
        }
        Outcome::Failed(e) => format!(
            "{what}: build failed ({} error{})",
            e.0.len(),
            if e.0.len() == 1 { "" } else { "s" }
        ),
        Outcome::Cancelled => format!("{what}: rebuild left for newer changes"),
    }
}

/// How long, at most, a rebuild waits after a preview for a browser to fetch the page.
const PREVIEW_FETCH_WAIT: Duration = Duration::from_millis(30);

/// Serve options from the command line.
pub struct ServeOptions {
    pub bind: std::net::IpAddr,
    pub port: u16,
    pub open: bool,
}

/// Runs `sitegen serve` until interrupted.
pub fn serve(root: &Path, config_file: &Path, args: SiteArgs, opts: ServeOptions, quiet: bool) -> Result<(), Errors> {
    let root = &absolute(root)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Diagnostic::new("sitegen serve", format!("cannot start the server runtime: {e}")))?;
    rt.block_on(async move {
        let (listener, shifted) = server::bind(opts.bind, opts.port).await.map_err(|e| {
            Diagnostic::new(
                "sitegen serve",
                format!("cannot listen on {}:{}: {e}", opts.bind, opts.port),
            )
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Diagnostic::new("sitegen serve", e.to_string()))?;
        let (base, note) = server::link_base(addr);
        if let Some(p) = shifted {
            eprintln!("Port {p} is taken; using {} instead.", addr.port());
        }
        if let Some(note) = note {
            eprintln!("{note}");
        }
        let base_for_config = base.clone();
        let adjust: Box<dyn Fn(&mut Config) + Send> = Box::new(move |c: &mut Config| {
            c.base_url = base_for_config.clone();
            c.assets_base_url = None;
            c.assets.fingerprint = false;
            c.assets.minify_css = false;
            c.assets.minify_js = false;
            c.minify_html = false;
            c.serve_mode = true;
        });
        let store = Arc::new(store::Store::new(BuildOptions::html_in_memory_from_env()));
        let sink: Arc<dyn OutputSink> = store.clone();
        let (mut session, first) = Session::start(root, config_file, args, (false, Some(sink)), adjust)?;
        let shared = server::Shared::new(&session.plan, store);
        match &first {
            Outcome::Failed(e) => {
                eprintln!("{e}");
                *shared.error.write().expect("error lock") = Some(Message::from_errors(e).to_json());
            }
            Outcome::Built { .. } | Outcome::Cancelled => {}
        }
        if !quiet {
            say!(
                "Serving {} at {base}/ ({})",
                root.display(),
                describe(&[], root, &first)
            );
            say!("Watching for changes; press Ctrl+C to stop.");
        }
        if opts.open {
            let _ = opener::open_browser(format!("{base}/"));
        }
        let ignored = session.ignored_dirs(&[]);
        let root_buf = root.to_path_buf();
        let (_watcher, batches) = {
            let root = root_buf.clone();
            watch::watch(&session.watched_paths(), move |p| changes::relevant(&root, &ignored, p))
                .map_err(|e| Diagnostic::new("sitegen serve", format!("cannot watch the site's files: {e}")))?
        };
        session.cancel_when(batches.pending());
        let shared_w = shared.clone();
        std::thread::spawn(move || {
            let mut owed = false;
            for batch in batches {
                if batch.is_empty() && !owed {
                    continue;
                }
                let mut show_preview = |plan: &BuildPlan, paths: &[String]| {
                    let since = shared_w.served();
                    shared_w.publish(plan, paths);
                    if let Some(msg) = changes::reload_message(paths) {
                        let _ = shared_w.tx.send(msg.to_json());
                    }
                    // Let a browser showing the page fetch it before the rebuild takes both
                    // cores (a short wait when none does).
                    shared_w.wait_served(since, PREVIEW_FETCH_WAIT);
                };
                let outcome = session.apply(&batch, Some(&mut show_preview));
                owed = matches!(outcome, Outcome::Cancelled);
                match &outcome {
                    Outcome::Built { changed, .. } => {
                        let had_error = shared_w.error.write().expect("error lock").take().is_some();
                        shared_w.publish(&session.plan, changed);
                        // The builder's outputs are now the plan's, all shown: what no
                        // path shows can go.
                        shared_w.store.sweep();
                        if let Some(msg) = changes::reload_message(changed) {
                            let _ = shared_w.tx.send(msg.to_json());
                        } else if had_error {
                            let _ = shared_w.tx.send(Message::Ok.to_json());
                        }
                    }
                    Outcome::Failed(e) => {
                        let json = Message::from_errors(e).to_json();
                        *shared_w.error.write().expect("error lock") = Some(json.clone());
                        let _ = shared_w.tx.send(json);
                        eprintln!("{e}");
                    }
                    Outcome::Cancelled => {}
                }
                if !quiet {
                    say!("{}", describe(&batch, &root_buf, &outcome));
                }
            }
        });
        let app = server::router(shared);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Diagnostic::new("sitegen serve", format!("server error: {e}")))?;
        Ok(())
    })
}

/// Runs `sitegen build --watch`: rebuild on change and write the changed files to `out`.
pub fn watch_build(
    root: &Path,
    config_file: &Path,
    args: SiteArgs,
    assets_only: bool,
    out: &Path,
    quiet: bool,
) -> Result<(), Errors> {
    let root = &absolute(root)?;
    let out = &absolute(out)?;
    let (mut session, first) = Session::start(root, config_file, args, (assets_only, None), Box::new(|_| {}))?;
    // What the output folder holds, once this session has written it. The first write
    // replaces the whole folder, atomically, so nothing of an older build stays in it, also
    // when the site did not build at first; later writes change only what changed.
    let mut written: Option<BuildPlan> = None;
    let report = |session: &Session, batch: &[PathBuf], outcome: &Outcome, written: &mut Option<BuildPlan>| {
        match outcome {
            Outcome::Built { .. } => {
                let result = match written.as_ref() {
                    Some(old) => crate::output::write_changes(old, &session.plan, out),
                    None => crate::output::write_to_disk(&session.plan, out),
                };
                match result {
                    Ok(_) => *written = Some(session.plan.clone()),
                    Err(d) => eprintln!("error: {d}"),
                }
            }
            Outcome::Failed(e) => eprintln!("{e}"),
            Outcome::Cancelled => {}
        }
        if !quiet {
            say!("{}", describe(batch, root, outcome));
        }
    };
    report(&session, &[], &first, &mut written);
    let ignored = session.ignored_dirs(&[out.to_path_buf()]);
    let (_watcher, batches) = {
        let root = root.to_path_buf();
        watch::watch(&session.watched_paths(), move |p| changes::relevant(&root, &ignored, p))
            .map_err(|e| Diagnostic::new("sitegen build --watch", format!("cannot watch the site's files: {e}")))?
    };
    if !quiet {
        say!("Watching for changes; press Ctrl+C to stop.");
    }
    for batch in batches {
        if batch.is_empty() {
            continue;
        }
        let outcome = session.apply(&batch, None);
        report(&session, &batch, &outcome, &mut written);
    }
    Ok(())
}
