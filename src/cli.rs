//! The command line: clap definitions and the thin glue from a parsed command to the core
//! (read config and sources, build a plan, write it, serve it, publish it, or report on it).
//! Each command is an edge that calls into the same core.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::build::{self, BuildOptions, BuildResult};
use crate::config::{Config, DeployTarget};
use crate::error::{Diagnostic, Errors};
use crate::publish::plan::{self, PublishPlan};
use crate::publish::{self, apply, cloudfront::Invalidator, headers, local, s3::S3Store};
pub use crate::site::SiteArgs;
use crate::site::{load_site, read_config};

#[derive(Debug, Parser)]
#[command(
    name = "sitegen",
    version,
    about = "Static sites and assets from Markdown and Tera templates, published to S3 + CloudFront"
)]
pub struct Cli {
    /// The site's root folder (holding config.toml).
    #[arg(long, global = true, default_value = ".", env = "SITEGEN_ROOT")]
    pub root: PathBuf,
    /// The config file, relative to the root.
    #[arg(long, global = true, default_value = "config.toml")]
    pub config: PathBuf,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what happens.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the site into the output folder (`public/`), replacing it only on success.
    Build(BuildArgs),
    /// Build without writing anything; report every error and broken internal link (and,
    /// with `--external`, every dead external link).
    Check(CheckArgs),
    /// Build into memory, serve on 127.0.0.1, rebuild what changes and reload the browser.
    Serve(ServeArgs),
    /// Upload the output folder to a deploy target (S3) in safe order and invalidate what
    /// changed in its CloudFront distributions.
    Publish(PublishArgs),
    /// Look after the processed-image cache (`images.cache_dir`, `.sitegen/cache`).
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Turn a site made for another generator into a sitegen site with the same URLs (and
    /// an IMPORT.md listing every change and everything left to do).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Create a new site in DIR (which must be empty or missing).
    Init {
        dir: PathBuf,
        /// Write into a folder that already has files.
        #[arg(long)]
        force: bool,
    },
    /// Create a content file from an archetype (`sitegen new blog/my-post.md`).
    ///
    /// `sitegen new blog/my-post.md` writes `content/blog/my-post.md` from
    /// `archetypes/blog.md`, else `archetypes/default.md` (of the site, then of the theme),
    /// else a draft with a title from the file name and the time now. It never overwrites a file.
    New {
        /// The file under `content/`: `blog/my-post.md`, `blog/my-post/index.md`.
        path: String,
    },
    /// Print a completion script for a shell.
    ///
    /// For example `sitegen completions bash > /etc/bash_completion.d/sitegen`, or
    /// `sitegen completions zsh > "${fpath[1]}/_sitegen"`.
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
    /// Print sitegen's man page (roff), or a command's.
    ///
    /// For example `sitegen man > /usr/local/share/man/man1/sitegen.1` and
    /// `sitegen man build > /usr/local/share/man/man1/sitegen-build.1`.
    Man {
        /// The command whose page to print (`build` for sitegen-build(1)); none: sitegen(1).
        command: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a Zola site (0.17 to 0.22): SRC holds its config.toml; DEST gets the sitegen site.
    Zola {
        src: PathBuf,
        dest: PathBuf,
        /// Write into a DEST that already has files.
        #[arg(long)]
        force: bool,
    },
    /// Import a Hugo site: SRC holds its hugo.toml (or config.toml, hugo.yaml, config/_default/,
    /// …); DEST gets the sitegen site, with Hugo's URLs.
    Hugo {
        src: PathBuf,
        dest: PathBuf,
        /// Write into a DEST that already has files.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove every cached image the site does not use now (the site, drafts and pages still
    /// to be published included, is planned in memory to find out; no image is made).
    Prune,
    /// Show where the cache is, how many entries it has and their size.
    Info,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    /// Write here instead of config.toml's `output_dir` (relative to the current folder).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Write only the assets from `static/` and `manifest.json` (for apps that render
    /// their own HTML and read the manifest).
    #[arg(long)]
    pub assets_only: bool,
    /// Keep running: rebuild what changed whenever a source file changes, and write the
    /// changed files (each replaced atomically).
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    /// Also request every external URL of the output once (HEAD, then GET where HEAD is not
    /// allowed), as `[link_checker]` says; alive results are kept in `.sitegen/links.json`.
    #[arg(long)]
    pub external: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    /// The port; if it is taken, the next free one is used. 0 picks any free port.
    #[arg(short, long, default_value_t = 1111)]
    pub port: u16,
    /// The address to listen on. The default keeps the server private to this machine.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Open the site in the default browser.
    #[arg(long)]
    pub open: bool,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The `[[deploy.targets]]` entry to publish to (needed when there are several).
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// Print the plan (uploads by phase, invalidations, deletes, requests) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before deleting objects (the question is only asked on a terminal).
    #[arg(short, long)]
    pub yes: bool,
    /// Upload every file, also the unchanged ones.
    #[arg(long)]
    pub force: bool,
    /// Allow up to N deletes in this run instead of the target's `max_deletes`.
    #[arg(long, value_name = "N")]
    pub max_deletes: Option<usize>,
    /// Wait until CloudFront has completed the invalidations (deletes happen after that).
    #[arg(long)]
    pub wait: bool,
    /// Wait up to this long (`10m`, `90s`) for another publish's lock on the target instead
    /// of the target's `lock_wait` (by default, fail at once).
    #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
    pub lock_wait: Option<u64>,
    /// Build the site for the target first (as `sitegen build --target NAME`).
    #[arg(long)]
    pub build: bool,
    /// With `--build`: include drafts.
    #[arg(long, requires = "build")]
    pub drafts: bool,
    /// With `--build`: build only the assets and `manifest.json` (for app servers).
    #[arg(long, requires = "build")]
    pub assets_only: bool,
}

fn parse_wait(text: &str) -> Result<u64, String> {
    crate::config::parse_duration(text).ok_or_else(|| format!("`{text}` is not a duration such as `10m`, `90s` or `0`"))
}

/// What the CLI prints, kept apart from what it computes.
struct Printer {
    quiet: bool,
    verbose: bool,
}

impl Printer {
    // `writeln!` rather than `println!`: a closed pipe (`sitegen build | head -1`) is not a
    // reason to panic.
    fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            let _ = writeln!(std::io::stdout(), "{}", msg.as_ref());
        }
    }
    fn detail(&self, msg: impl AsRef<str>) {
        if self.verbose {
            let _ = writeln!(std::io::stdout(), "{}", msg.as_ref());
        }
    }
    fn warnings(&self, w: &[Diagnostic]) {
        if !self.quiet {
            for d in w {
                eprintln!("warning: {d}");
            }
        }
    }
}

/// Runs a parsed command; the exit code is 0 on success, 1 when the site has errors.
pub fn run(cli: Cli) -> i32 {
    let printer = Printer {
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let result = match &cli.command {
        Command::Build(args) => cmd_build(&cli, args, &printer),
        Command::Check(args) => cmd_check(&cli, args, &printer),
        Command::Serve(args) => crate::serve::serve(
            &cli.root,
            &cli.config,
            args.site.clone(),
            crate::serve::ServeOptions {
                bind: args.bind,
                port: args.port,
                open: args.open,
            },
            cli.quiet,
        ),
        Command::Publish(args) => cmd_publish(&cli, args, &printer),
        Command::Cache(c) => cmd_cache(&cli, c, &printer),
        Command::Import(ImportCommand::Zola { src, dest, force }) => {
            cmd_import(crate::import::zola(src, dest, *force), src, dest, &printer)
        }
        Command::Import(ImportCommand::Hugo { src, dest, force }) => {
            cmd_import(crate::import::hugo(src, dest, *force), src, dest, &printer)
        }
        Command::New { path } => cmd_new(&cli, path, &printer),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "sitegen", &mut script);
            print_bytes(&script);
            Ok(())
        }
        Command::Man { command } => man_page(command.as_deref()).map(|page| print_bytes(&page)),
        Command::Init { dir, force } => crate::init::init(dir, *force).map_err(Errors::from).map(|files| {
            printer.info(format!("Created a new site in `{}` ({} files).", dir.display(), files));
            printer.info(format!("Next: cd {} && sitegen build", dir.display()));
        }),
    };
    match result {
        Ok(()) => 0,
        Err(errors) => {
            eprintln!("{errors}");
            1
        }
    }
}

/// Loads and builds the site; `check` plans it only (no image is made, the cache is not
/// touched). Each output goes to `sink` as soon as it is made (the build keeps paths and
/// hashes only); `sink` is made once the config says where the output goes.
fn build_site(
    cli: &Cli,
    args: &SiteArgs,
    assets_only: bool,
    make_images: bool,
    sink: impl FnOnce(&Config) -> Result<Arc<dyn build::OutputSink>, Errors>,
) -> Result<(Arc<Config>, BuildResult), Errors> {
    let (config, tree) = load_site(&cli.root, &cli.config, args)?;
    let opts = BuildOptions {
        drafts: args.drafts,
        future: args.future,
        assets_only,
        check_links: true,
        progress: true,
        cancel: None,
        now: Some(chrono::Local::now().fixed_offset()),
        sink: Some(sink(&config)?),
        html_in_memory: BuildOptions::html_in_memory_from_env(),
    };
    let result = if make_images {
        build::build(tree, config.clone(), &opts)?
    } else {
        build::plan(tree, config.clone(), &opts)?
    };
    Ok((config, result))
}

fn cmd_build(cli: &Cli, args: &BuildArgs, p: &Printer) -> Result<(), Errors> {
    if args.watch {
        let out = match &args.output {
            Some(o) => o.clone(),
            None => {
                let (config, _) = load_site(&cli.root, &cli.config, &args.site)?;
                cli.root.join(&config.output_dir)
            }
        };
        return crate::serve::watch_build(
            &cli.root,
            &cli.config,
            args.site.clone(),
            args.assets_only,
            &out,
            p.quiet,
        );
    }
    let start = Instant::now();
    // The new output is written into a temporary folder as it is rendered and swapped in at
    // the end; a failed build drops it, leaving the output folder as it was.
    let staging: std::cell::OnceCell<Arc<crate::output::Staging>> = std::cell::OnceCell::new();
    let (config, result) = build_site(cli, &args.site, args.assets_only, true, |config| {
        let out = args.output.clone().unwrap_or_else(|| cli.root.join(&config.output_dir));
        let s = Arc::new(crate::output::Staging::new(&out)?);
        let _ = staging.set(s.clone());
        Ok(s as Arc<dyn build::OutputSink>)
    })
    .map_err(|e| {
        let n = e.0.len();
        let mut e = e;
        e.0.push(Diagnostic::new(
            "sitegen build",
            format!(
                "failed with {n} error{}; the output folder was left as it was",
                if n == 1 { "" } else { "s" }
            ),
        ));
        e
    })?;
    let rendered = start.elapsed();
    let out = match &args.output {
        Some(o) => o.clone(),
        None => cli.root.join(&config.output_dir),
    };
    let staging = staging.get().expect("the build made its staging folder");
    let stats = staging.finish(&result.plan)?;
    let shown = out.strip_prefix(".").unwrap_or(&out).display().to_string();
    p.warnings(&result.warnings);
    for (name, d) in &result.stats.timings {
        p.detail(format!("  {name:<18} {:>6} ms", d.as_millis()));
    }
    p.detail(format!(
        "rendered and written in {} ms (each output as it was made), swapped in in {} ms",
        rendered.as_millis(),
        (start.elapsed() - rendered).as_millis()
    ));
    let st = &result.stats;
    if st.pages_spilled > 0 {
        p.detail(format!(
            "{} pages' compressed HTML waited in a temporary file (past `SITEGEN_HTML_IN_MEMORY` bytes, default 256 MiB)",
            st.pages_spilled
        ));
    }
    let r = &st.images_remote;
    if let Some(rc) = config.images.remote_cache.as_ref().filter(|_| r.lookups > 0) {
        p.detail(format!(
            "remote image cache s3://{}/{}: {} looked up, {} found, {} downloaded, {} rejected, {} uploaded, {} already there",
            rc.bucket, rc.prefix, r.lookups, r.hits, r.downloaded, r.rejected, r.uploaded, r.already_there
        ));
    }
    let images = st.images_cached + st.images_encoded + st.images_downloaded;
    let images = if images == 0 {
        String::new()
    } else {
        let remote = if st.images_downloaded > 0 {
            format!(", {} from the remote cache", st.images_downloaded)
        } else {
            String::new()
        };
        format!(
            ", {images} processed images ({} made, {} from the cache{remote})",
            st.images_encoded, st.images_cached
        )
    };
    p.info(format!(
        "Built {} pages, {} sections, {} static files{images} into `{}` ({} written, {} unchanged, {} removed) in {} ms",
        result.stats.pages,
        result.stats.sections,
        result.stats.static_files,
        shown,
        stats.written,
        stats.unchanged,
        stats.removed,
        start.elapsed().as_millis()
    ));
    Ok(())
}

/// The roff man page of sitegen, or of one of its commands (`sitegen-build`).
fn man_page(command: Option<&str>) -> Result<Vec<u8>, Errors> {
    let mut cli = Cli::command();
    // Built, so a command's page has its display name (`sitegen-build`) and the global options.
    cli.build();
    let cmd = match command {
        None => cli,
        Some(name) => cli
            .get_subcommands()
            .find(|c| c.get_name() == name)
            .cloned()
            .ok_or_else(|| Diagnostic::new("sitegen man", format!("there is no command `{name}`")))?,
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .source(format!("sitegen {}", env!("CARGO_PKG_VERSION")))
        .render(&mut page)
        .map_err(|e| Diagnostic::new("sitegen man", format!("cannot render the man page: {e}")))?;
    Ok(page)
}

/// Writes generated text to stdout; a closed pipe (`sitegen man | head`) is not an error.
fn print_bytes(bytes: &[u8]) {
    let _ = std::io::stdout().write_all(bytes);
}

/// `sitegen new PATH`: the archetype filled in with the clock's time (the CLI is the edge
/// that may read it).
fn cmd_new(cli: &Cli, path: &str, p: &Printer) -> Result<(), Errors> {
    let config = read_config(&cli.root, &cli.config)?;
    let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    let (file, archetype) = crate::archetypes::new_page(&cli.root, &config, path, &now)?;
    let shown = |f: &Path| f.strip_prefix(&cli.root).unwrap_or(f).display().to_string();
    let from = match archetype {
        Some(a) => format!("`{}`", shown(&a)),
        None => "the built-in archetype".to_string(),
    };
    p.info(format!("Created `{}` from {from}.", shown(&file)));
    Ok(())
}

fn cmd_check(cli: &Cli, args: &CheckArgs, p: &Printer) -> Result<(), Errors> {
    let start = Instant::now();
    let (config, result) = build_site(cli, &args.site, false, false, |_| Ok(Arc::new(crate::output::Discard)))?;
    let mut errors = result.warnings;
    let external = if args.external {
        let (dead, summary) = check_external(cli, &config, &result.external_links, p);
        errors.extend(dead);
        format!("; {summary}")
    } else {
        String::new()
    };
    if !errors.is_empty() {
        if let Some(summary) = external.strip_prefix("; ") {
            p.info(format!("Checked {summary}"));
        }
        return Err(Errors::sorted(errors));
    }
    p.info(format!(
        "Checked {} pages, {} sections, {} output files: no errors, no broken internal links{external} ({} ms)",
        result.stats.pages,
        result.stats.sections,
        result.stats.outputs,
        start.elapsed().as_millis()
    ));
    Ok(())
}

/// `check --external`: plans from the cache, requests the rest, keeps the alive results;
/// returns the dead links (errors) and a summary line. URLs that would not say are warnings.
fn check_external(
    cli: &Cli,
    config: &Config,
    urls: &std::collections::BTreeMap<String, Vec<build::LinkSite>>,
    p: &Printer,
) -> (Vec<Diagnostic>, String) {
    use crate::linkcheck::{self, cache::LinkCache};
    let cache_path = cli.root.join(".sitegen/links.json");
    let mut cache = LinkCache::read(&cache_path);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let lc = &config.link_checker;
    let plan = linkcheck::plan(urls, lc, &cache, now);
    p.detail(format!(
        "external links: {} to request, {} from the cache, {} skipped",
        plan.request.len(),
        plan.cached.len(),
        plan.skipped.len()
    ));
    let fetched = linkcheck::http::check(&plan.request, lc);
    let cache_for = crate::config::parse_duration(&lc.cache_for).unwrap_or(0);
    for (url, outcome) in &fetched {
        cache.record(url, outcome, now);
    }
    cache.expire(now, cache_for);
    if cache_for > 0 {
        if let Err(e) = cache.write(&cache_path) {
            p.warnings(&[Diagnostic::new(
                cache_path.display().to_string(),
                format!("cannot write the link cache: {e}"),
            )]);
        }
    }
    let mut results = plan.cached.clone();
    results.extend(fetched);
    let (dead, unknown) = linkcheck::report(urls, &results);
    p.warnings(&Errors::sorted(unknown).0);
    let summary = format!(
        "{} external URLs: {} requested, {} from the cache, {} skipped, {} dead",
        urls.len(),
        plan.request.len(),
        plan.cached.len(),
        plan.skipped.len(),
        results
            .values()
            .filter(|o| matches!(o, linkcheck::Outcome::Dead(_)))
            .count()
    );
    (dead, summary)
}

fn cmd_import(
    report: Result<crate::import::Report, Errors>,
    src: &std::path::Path,
    dest: &std::path::Path,
    p: &Printer,
) -> Result<(), Errors> {
    let report = report?;
    let errors = report.build_errors.len();
    p.info(format!(
        "Imported `{}` into `{}`: {} files, {} changes, {} things not converted; see {}",
        src.display(),
        dest.display(),
        report.files,
        report.changes().count(),
        report.unsupported().count(),
        dest.join("IMPORT.md").display()
    ));
    if errors == 0 {
        p.info(format!(
            "The imported site builds: cd {} && sitegen build",
            dest.display()
        ));
    } else {
        p.info(format!(
            "The imported site does not build yet: {errors} error{}, listed at the end of IMPORT.md",
            if errors == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

fn cmd_cache(cli: &Cli, c: &CacheCommand, p: &Printer) -> Result<(), Errors> {
    let config = read_config(&cli.root, &cli.config)?;
    let dir = config
        .image_cache
        .clone()
        .unwrap_or_else(|| cli.root.join(&config.images.cache_dir))
        .join("images");
    let mb = |b: u64| b as f64 / 1_048_576.0;
    match c {
        CacheCommand::Info => {
            let e = crate::images::cache::entries(&dir);
            let size: u64 = e.iter().map(|e| e.size).sum();
            p.info(format!(
                "{}: {} processed images, {:.1} MB (limit images.cache_max_mb = {})",
                dir.display(),
                e.len(),
                mb(size),
                config.images.cache_max_mb
            ));
        }
        CacheCommand::Prune => {
            let site = SiteArgs {
                drafts: true,
                future: true,
                base_url: None,
                target: None,
            };
            let (config, tree) = load_site(&cli.root, &cli.config, &site)?;
            let opts = BuildOptions {
                drafts: true,
                future: true,
                check_links: false,
                ..BuildOptions::default()
            };
            // The plan names every image the site uses; none needs making to know its key.
            let result = build::plan(tree, config, &opts)?;
            let keep: std::collections::HashSet<String> = result.images.iter().map(|j| j.key.clone()).collect();
            let (n, bytes) = crate::images::cache::prune(&dir, &keep)
                .map_err(|e| Diagnostic::new(dir.display().to_string(), format!("cannot prune the cache: {e}")))?;
            p.info(format!(
                "Pruned {}: removed {n} unused processed images ({:.1} MB), kept {}.",
                dir.display(),
                mb(bytes),
                crate::images::cache::entries(&dir).len()
            ));
        }
    }
    Ok(())
}

fn cmd_publish(cli: &Cli, args: &PublishArgs, p: &Printer) -> Result<(), Errors> {
    use std::io::IsTerminal;

    let start = Instant::now();
    let (config, target) = publish_target(cli, args, p)?;
    let out = cli.root.join(&config.output_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Diagnostic::new("sitegen publish", format!("cannot start the async runtime: {e}")))?;
    // Planned without the lock: a publish with nothing to do takes none (and costs only the
    // LIST and the state GET). One that changes the bucket locks it, and the state write's
    // compare-and-swap tells it whether another publish changed the bucket meanwhile.
    let (local, (plan, store, cdn, lock_listed)) = read_and_plan(cli, args, &target, &out, p, &runtime)?;

    if args.dry_run {
        let _ = write!(std::io::stdout(), "{}", plan.table());
        p.info("Dry run: nothing was changed.");
        return Ok(());
    }
    let settings = publish::lock_settings(&target, args.lock_wait);
    let mut look_again = false;
    if plan.is_noop() && plan.held_deletes.is_empty() {
        // Nothing to do, unless a lock says that a publish is running (or died).
        use publish::lock::Found;
        let found = if lock_listed && target.lock {
            Some(runtime.block_on(publish::lock::clear_expired(&store))?)
        } else {
            None
        };
        match found {
            Some(Found::Held(_)) if !settings.wait.is_zero() => look_again = true,
            found => {
                nothing_to_do(&plan, &target, start, p);
                match found {
                    Some(Found::Removed(r)) => p.info(format!(
                        "Removed the expired publish lock of {}.",
                        r.describe(chrono::Utc::now())
                    )),
                    Some(Found::Held(r)) => p.info(format!(
                        "Note: another publish is running ({}); wait for it with `--lock-wait`.",
                        r.describe(chrono::Utc::now())
                    )),
                    _ => {}
                }
                return Ok(());
            }
        }
    }
    if !look_again {
        p.detail(plan.table().trim_end());
        confirm_deletes(&plan, &target, args)?;
    }
    let lease = if target.lock {
        let say = |line: &str| p.info(line);
        Some(runtime.block_on(publish::lock::acquire(store.clone(), &settings, &say))?)
    } else {
        None
    };
    let opts = apply::ApplyOptions {
        concurrency: target.concurrency,
        wait: args.wait,
        wait_timeout: std::time::Duration::from_secs(30 * 60),
        progress: !cli.quiet && std::io::stderr().is_terminal(),
    };
    let run = Locked {
        args,
        target: &target,
        local: &local,
        out: &out,
        store: &store,
        cdn: cdn.as_ref(),
        opts: &opts,
        lease: lease.as_ref(),
        p,
        start,
    };
    let result = runtime.block_on(run.apply(plan, look_again));
    if let Some(lease) = lease {
        if let Err(d) = runtime.block_on(lease.release()) {
            p.warnings(&[d]);
        }
    }
    result
}

/// Says so when `plan` changes nothing (and holds back no deletes).
fn nothing_to_do(plan: &PublishPlan, target: &DeployTarget, start: Instant, p: &Printer) -> bool {
    let nothing = plan.is_noop() && plan.held_deletes.is_empty();
    if nothing {
        p.info(format!(
            "Nothing to publish to `{}`: {} files unchanged ({} requests, {} ms)",
            target.name,
            plan.unchanged,
            plan.requests.index,
            start.elapsed().as_millis()
        ));
    }
    nothing
}

/// A publish that holds the target's lock (or runs without one, `lock = false`).
struct Locked<'a> {
    args: &'a PublishArgs,
    target: &'a DeployTarget,
    local: &'a LocalSide,
    out: &'a Path,
    store: &'a Arc<S3Store>,
    cdn: Option<&'a Invalidator>,
    opts: &'a apply::ApplyOptions,
    lease: Option<&'a publish::lock::Lease>,
    p: &'a Printer,
    start: Instant,
}

impl Locked<'_> {
    /// Applies `plan` (or a new one, with `look_again`: the lock was held when it was made);
    /// planned again (at most 3 times) when the state object turns out to have changed since
    /// it was read. Stops at Ctrl-C or SIGTERM, so that the caller releases the lock.
    async fn apply(&self, mut plan: PublishPlan, look_again: bool) -> Result<(), Errors> {
        let event = |line: &str| self.p.detail(format!("  {line}"));
        let mut replans = 0;
        let mut fresh = !look_again;
        loop {
            if !fresh {
                let (index, warning) = publish::read_remote(self.store, &self.local.partitions).await?;
                self.p.warnings(&warning.into_iter().collect::<Vec<_>>());
                plan = plan::plan(&self.local.files, &index, &self.local.filter, &self.local.settings);
                if nothing_to_do(&plan, self.target, self.start, self.p) {
                    return Ok(());
                }
                self.p.detail(plan.table().trim_end());
                confirm_deletes(&plan, self.target, self.args)?;
            }
            fresh = false;
            let report = tokio::select! {
                r = apply::apply(&plan, self.store.clone(), self.cdn, self.out, self.opts, self.lease, &event) => r,
                signal = interrupted() => {
                    return Err(Diagnostic::new(
                        "sitegen publish",
                        format!("stopped by {signal}; what this run was changing is recorded, so `sitegen publish` again finishes it"),
                    )
                    .into())
                }
            };
            if !report.stale {
                let errors = publish_errors(&plan, &report, self.target);
                self.p.info(publish_summary(&plan, &report, self.target, self.start));
                return if errors.is_empty() { Ok(()) } else { Err(Errors(errors)) };
            }
            replans += 1;
            if replans > 3 {
                return Err(Diagnostic::new(
                    format!("deploy target `{}`", self.target.name),
                    "the state object kept changing under this publish (is a publish with `lock = false` running?); nothing was changed",
                )
                .into());
            }
            self.p
                .info("The bucket changed since it was read (another publish finished meanwhile): planning again.");
        }
    }
}

/// Resolves at Ctrl-C or SIGTERM, naming it.
async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "Ctrl-C",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

/// The config and the deploy target `publish` ships, after building the site for it if
/// `--build` asks.
fn publish_target(cli: &Cli, args: &PublishArgs, p: &Printer) -> Result<(Config, DeployTarget), Errors> {
    let config = read_config(&cli.root, &cli.config)?;
    let shown = cli.config.display().to_string();
    let target = config
        .target(args.target.as_deref())
        .map_err(|e| Diagnostic::new(&shown, e))?
        .clone();
    if args.build {
        let site = SiteArgs {
            drafts: args.drafts,
            future: false,
            base_url: None,
            target: Some(target.name.clone()),
        };
        let build = BuildArgs {
            site,
            output: None,
            assets_only: args.assets_only,
            watch: false,
        };
        cmd_build(cli, &build, p)?;
    }
    Ok((config, target))
}

/// The local side of a publish: the output folder's files as the target filters them, and
/// the plan settings.
struct LocalSide {
    filter: headers::PathFilter,
    files: Vec<publish::LocalFile>,
    settings: plan::PlanSettings,
    /// How the bucket is listed: cut at the local keys, which it normally holds.
    partitions: Vec<publish::listing::Partition>,
}

/// Reads the output folder `out` (with the target's include/exclude globs and header rules)
/// and the bucket, both at once: the bucket's LIST needs only the output's file names, so it
/// goes out while the files are read (and hashed where the output record does not vouch for
/// them). Then plans.
fn read_and_plan(
    cli: &Cli,
    args: &PublishArgs,
    target: &DeployTarget,
    out: &Path,
    p: &Printer,
    runtime: &tokio::runtime::Runtime,
) -> Result<(LocalSide, Remote), Errors> {
    let shown = cli.config.display().to_string();
    let in_target = |e: String| Diagnostic::new(&shown, format!("deploy target `{}`: {e}", target.name));
    let filter = headers::PathFilter::new(&target.include, &target.exclude).map_err(in_target)?;
    let rules = headers::HeaderRules::new(&target.rules).map_err(in_target)?;
    let paths = local::list(out, &filter)?;
    // Keys per LIST partition; `SITEGEN_LIST_PARTITION` (0: one sequential listing) lets the
    // tests cut small sites into many partitions.
    let per = std::env::var("SITEGEN_LIST_PARTITION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(publish::listing::PER_PARTITION);
    let keys: Vec<String> = paths.iter().map(|path| format!("{}{path}", target.prefix)).collect();
    let partitions = publish::listing::partitions(&keys, per);
    drop(keys);
    let (scanned, remote) = std::thread::scope(|s| {
        let reading = s.spawn(|| {
            let start = Instant::now();
            (local::read(out, paths, &rules), start.elapsed())
        });
        let remote = runtime.block_on(read_remote_side(target, &partitions, p));
        (
            reading.join().expect("reading the output folder does not panic"),
            remote,
        )
    });
    let (local::LocalScan { files, hashed }, took) = (scanned.0?, scanned.1);
    p.detail(format!(
        "Read {} files of `{}` in {} ms: {hashed} hashed, {} known from the build's record",
        files.len(),
        out.strip_prefix(".").unwrap_or(out).display(),
        took.as_millis(),
        files.len() - hashed,
    ));
    let n = partitions.len();
    p.detail(format!(
        "Listed the bucket in {n} part{} at once",
        if n == 1 { "" } else { "s" }
    ));
    let (store, index, cdn) = remote?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let local = LocalSide {
        settings: publish::settings(target, args.force, args.max_deletes, now),
        filter,
        files,
        partitions,
    };
    let plan = plan::plan(&local.files, &index, &local.filter, &local.settings);
    Ok((local, (plan, Arc::new(store), cdn, index.lock_listed)))
}

/// The plan, the clients that apply it, and whether the LIST showed a lock.
type Remote = (PublishPlan, Arc<S3Store>, Option<Invalidator>, bool);

/// Reads the bucket in `partitions` (warning about an unreadable state object); with the
/// clients that apply a plan.
async fn read_remote_side(
    target: &DeployTarget,
    partitions: &[publish::listing::Partition],
    p: &Printer,
) -> Result<(S3Store, plan::RemoteIndex, Option<Invalidator>), Diagnostic> {
    let sdk = publish::sdk_config(target).await;
    let mut store = S3Store::connect(target, &sdk).await?;
    store.verbose = p.verbose;
    let (index, warning) = publish::read_remote(&store, partitions).await?;
    p.warnings(&warning.into_iter().collect::<Vec<_>>());
    let cdn = (!target.cloudfront_distribution_ids.is_empty()).then(|| {
        let mut i = Invalidator::new(&sdk);
        i.verbose = p.verbose;
        i
    });
    Ok((store, index, cdn))
}

/// On a terminal, asks before deleting (unless `--yes`); any answer but yes cancels the run.
fn confirm_deletes(plan: &PublishPlan, target: &DeployTarget, args: &PublishArgs) -> Result<(), Errors> {
    use std::io::IsTerminal;

    if !plan.deletes.is_empty() && !args.yes && std::io::stdin().is_terminal() {
        eprint!(
            "Delete {} objects from s3://{}/{} after uploading? [y/N] ",
            plan.deletes.len(),
            target.bucket,
            target.prefix
        );
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Diagnostic::new("sitegen publish", "cancelled; nothing was changed").into());
        }
    }
    Ok(())
}

/// The run's failures, followed by what they mean for the bucket, and the held deletes.
fn publish_errors(plan: &PublishPlan, report: &apply::Report, target: &DeployTarget) -> Vec<Diagnostic> {
    let mut errors = report.failures.clone();
    if let Some(phase) = report.stopped_in {
        errors.push(Diagnostic::new(
            format!("deploy target `{}`", target.name),
            format!(
                "{} of {} uploads failed in phase `{}` ({} done, {} not started); later phases, the invalidation and the deletes were skipped, so no page names a file that is missing. Run `sitegen publish` again to finish",
                report.failed_uploads,
                plan.uploads.len(),
                phase.name(),
                report.outcome.uploaded.len(),
                plan.uploads.len() - report.outcome.uploaded.len() - report.failed_uploads,
            ),
        ));
    } else if report.lock_lost {
        // Its message says what happened and what to do.
    } else if !errors.is_empty() && report.outcome.uploaded.len() < plan.uploads.len() {
        errors.push(Diagnostic::new(
            format!("deploy target `{}`", target.name),
            "nothing was changed; run `sitegen publish` again",
        ));
    } else if !errors.is_empty() {
        errors.push(Diagnostic::new(
            format!("deploy target `{}`", target.name),
            "every file was uploaded, but the steps above failed; run `sitegen publish` again to finish",
        ));
    }
    if !plan.held_deletes.is_empty() {
        errors.push(Diagnostic::new(
            format!("deploy target `{}`", target.name),
            format!(
                "{} objects would be deleted, more than `max_deletes` ({}): nothing was deleted. Check the output folder and the prefix; to allow it, run again with `--max-deletes {}`",
                plan.held_deletes.len(),
                plan.settings.max_deletes,
                plan.held_deletes.len()
            ),
        ));
    }
    errors
}

/// `Published to `NAME` (s3://...): N uploaded (...), ...; N requests in S s`.
fn publish_summary(plan: &PublishPlan, report: &apply::Report, target: &DeployTarget, start: Instant) -> String {
    let requests = plan.requests.index + report.requests;
    let dists = report.invalidations.len();
    format!(
        "Published to `{}` (s3://{}/{}): {} uploaded ({}), {} deleted, {} kept, {} unchanged, {} invalidation paths in {} distribution{}; {} requests in {:.1} s",
        target.name,
        target.bucket,
        target.prefix,
        report.outcome.uploaded.len(),
        plan::human_bytes(report.uploaded_bytes),
        report.outcome.deleted.len(),
        plan.kept.len(),
        plan.unchanged,
        if dists > 0 { plan.invalidation.len() } else { 0 },
        dists,
        if dists == 1 { "" } else { "s" },
        requests,
        start.elapsed().as_secs_f64()
    )
}
