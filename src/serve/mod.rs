//! `sitegen serve` and `sitegen build --watch`: a [`Session`] keeps the source snapshot and an
//! incremental [`Builder`] in memory; each batch of file changes refreshes only the changed
//! files of the snapshot, rebuilds (re-rendering only what the change can affect) and diffs the
//! new plan against the last one. `serve` shows the plan over HTTP and tells browsers what
//! changed; `--watch` writes the changed files to disk.

pub mod changes;
pub mod server;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::build::{BuildOptions, BuildPlan, Builder};
use crate::cli::{load_site, SiteArgs};
use crate::config::Config;
use crate::error::{Diagnostic, Errors};
use crate::source::SourceTree;

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
    /// The last plan that built.
    pub plan: BuildPlan,
}

/// The result of one rebuild.
pub enum Outcome {
    Built {
        /// Output paths that changed.
        changed: Vec<String>,
        rendered: usize,
        elapsed: Duration,
    },
    Failed(Errors),
}

impl Session {
    /// Loads and builds the site. A site that does not build yet still gives a session (with
    /// an empty plan), so `serve` can show the errors and recover when they are fixed.
    pub fn start(
        root: &Path,
        config_file: &Path,
        args: SiteArgs,
        assets_only: bool,
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
            plan: BuildPlan::default(),
        };
        let outcome = s.rebuild(Instant::now());
        Ok((s, outcome))
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

    /// Rebuilds after `changed` paths (on disk) changed.
    pub fn apply(&mut self, changed: &[PathBuf]) -> Outcome {
        let start = Instant::now();
        let config_path = self.root.join(&self.config_file);
        let config_changed = changed.iter().any(|p| p == &config_path);
        let reloaded = if config_changed {
            load_adjusted(&self.root, &self.config_file, &self.args, &*self.adjust)
        } else {
            self.tree
                .refresh(&self.root, &self.config, changed)
                .map(|t| (self.config.clone(), Arc::new(t)))
                .map_err(Errors::sorted)
        };
        match reloaded {
            Ok((config, tree)) => {
                self.config = config;
                self.tree = tree;
                self.rebuild(start)
            }
            Err(e) => Outcome::Failed(e),
        }
    }

    fn rebuild(&mut self, start: Instant) -> Outcome {
        let opts = BuildOptions {
            drafts: self.args.drafts,
            assets_only: self.assets_only,
            check_links: false,
            progress: false,
        };
        match self.builder.build(self.tree.clone(), self.config.clone(), &opts) {
            Ok(r) => {
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
                }
            }
            Err(e) => Outcome::Failed(e),
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
        } => {
            let outs = match changed.len() {
                0 => "no output changed".to_string(),
                1..=3 => format!("changed {}", changed.join(", ")),
                n => format!("changed {}, … ({n} outputs)", changed[..3].join(", ")),
            };
            format!("{what}: rendered {rendered}, {outs} in {} ms", elapsed.as_millis())
        }
        Outcome::Failed(e) => format!(
            "{what}: build failed ({} error{})",
            e.0.len(),
            if e.0.len() == 1 { "" } else { "s" }
        ),
    }
}

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
        let base = format!("http://{addr}");
        if let Some(p) = shifted {
            eprintln!("Port {p} is taken; using {} instead.", addr.port());
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
        let (mut session, first) = Session::start(root, config_file, args, false, adjust)?;
        let shared = server::Shared::new(session.plan.clone());
        match &first {
            Outcome::Failed(e) => {
                eprintln!("{e}");
                *shared.error.write().expect("error lock") = Some(Message::from_errors(e).to_json());
            }
            Outcome::Built { .. } => {}
        }
        if !quiet {
            println!(
                "Serving {} at {base}/ ({})",
                root.display(),
                describe(&[], root, &first)
            );
            println!("Watching for changes; press Ctrl+C to stop.");
        }
        if opts.open {
            let _ = std::process::Command::new("xdg-open").arg(format!("{base}/")).spawn();
        }
        let (_watcher, batches) = watch::watch(&session.watched_paths())
            .map_err(|e| Diagnostic::new("sitegen serve", format!("cannot watch the site's files: {e}")))?;
        let ignored = session.ignored_dirs(&[]);
        let root_buf = root.to_path_buf();
        let shared_w = shared.clone();
        std::thread::spawn(move || {
            for batch in batches {
                let batch: Vec<PathBuf> = batch
                    .into_iter()
                    .filter(|p| changes::relevant(&root_buf, &ignored, p))
                    .collect();
                if batch.is_empty() {
                    continue;
                }
                let outcome = session.apply(&batch);
                match &outcome {
                    Outcome::Built { changed, .. } => {
                        let had_error = shared_w.error.write().expect("error lock").take().is_some();
                        *shared_w.plan.write().expect("plan lock") = Arc::new(session.plan.clone());
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
                }
                if !quiet {
                    println!("{}", describe(&batch, &root_buf, &outcome));
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
    let (mut session, first) = Session::start(root, config_file, args, assets_only, Box::new(|_| {}))?;
    let mut written = BuildPlan::default();
    let report = |session: &Session, batch: &[PathBuf], outcome: &Outcome, written: &mut BuildPlan| {
        match outcome {
            Outcome::Built { .. } => match crate::output::write_changes(written, &session.plan, out) {
                Ok(_) => *written = session.plan.clone(),
                Err(d) => eprintln!("error: {d}"),
            },
            Outcome::Failed(e) => eprintln!("{e}"),
        }
        if !quiet {
            println!("{}", describe(batch, root, outcome));
        }
    };
    if matches!(first, Outcome::Built { .. }) {
        // The first write replaces the whole output folder, atomically.
        match crate::output::write_to_disk(&session.plan, out) {
            Ok(_) => written = session.plan.clone(),
            Err(d) => eprintln!("error: {d}"),
        }
        if !quiet {
            println!("{}", describe(&[], root, &first));
        }
    } else {
        report(&session, &[], &first, &mut written);
    }
    let (_watcher, batches) = watch::watch(&session.watched_paths())
        .map_err(|e| Diagnostic::new("sitegen build --watch", format!("cannot watch the site's files: {e}")))?;
    let ignored = session.ignored_dirs(&[out.to_path_buf()]);
    if !quiet {
        println!("Watching for changes; press Ctrl+C to stop.");
    }
    for batch in batches {
        let batch: Vec<PathBuf> = batch
            .into_iter()
            .filter(|p| changes::relevant(root, &ignored, p))
            .collect();
        if batch.is_empty() {
            continue;
        }
        let outcome = session.apply(&batch);
        report(&session, &batch, &outcome, &mut written);
    }
    Ok(())
}
