//! The command line: clap definitions and the thin glue from a parsed command to the core
//! (read config and sources, build a plan, write it or report on it). `serve` and `publish`
//! will join `build`, `check` and `init` here; each is an edge that calls into the same plan.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::build::{self, BuildOptions, BuildResult};
use crate::config::Config;
use crate::error::{Diagnostic, Errors};
use crate::source::SourceTree;

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
    /// Build without writing anything; report every error and broken internal link.
    Check(SiteArgs),
    /// Create a new site in DIR (which must be empty or missing).
    Init {
        dir: PathBuf,
        /// Write into a folder that already has files.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct SiteArgs {
    /// Include pages and sections marked `draft = true`.
    #[arg(long)]
    pub drafts: bool,
    /// Use this base URL instead of config.toml's `base_url`.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Build for this `[[deploy.targets]]` entry: its `base_url` and `extra` replace the site's.
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
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
}

/// What the CLI prints, kept apart from what it computes.
struct Printer {
    quiet: bool,
    verbose: bool,
}

impl Printer {
    fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            println!("{}", msg.as_ref());
        }
    }
    fn detail(&self, msg: impl AsRef<str>) {
        if self.verbose {
            println!("{}", msg.as_ref());
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

/// Reads config.toml and the sources, applying command-line overrides.
pub fn load_site(root: &Path, config_file: &Path, args: &SiteArgs) -> Result<(Arc<Config>, Arc<SourceTree>), Errors> {
    let shown = config_file.display().to_string();
    let mut config = read_config(root, config_file)?;
    if let Some(t) = &args.target {
        config.apply_target(t).map_err(|e| Diagnostic::new(&shown, e))?;
    }
    if let Some(b) = &args.base_url {
        config.base_url = b.trim_end_matches('/').to_string();
    }
    let tree = SourceTree::read(root, &config).map_err(Errors::sorted)?;
    Ok((Arc::new(config), Arc::new(tree)))
}

/// Reads and parses config.toml.
pub fn read_config(root: &Path, config_file: &Path) -> Result<Config, Errors> {
    let config_path = root.join(config_file);
    let shown = config_file.display().to_string();
    let text = std::fs::read(&config_path)
        .map_err(|e| Diagnostic::new(&shown, format!("cannot read `{}`: {e}", config_path.display())))?;
    let text = String::from_utf8(text).map_err(|_| Diagnostic::new(&shown, "file is not valid UTF-8"))?;
    Config::parse(&shown, &text).map_err(Errors::sorted)
}

fn build_site(cli: &Cli, args: &SiteArgs, assets_only: bool) -> Result<(Arc<Config>, BuildResult), Errors> {
    let (config, tree) = load_site(&cli.root, &cli.config, args)?;
    let opts = BuildOptions {
        drafts: args.drafts,
        assets_only,
        check_links: true,
    };
    let result = build::build(tree, config.clone(), &opts)?;
    Ok((config, result))
}

fn cmd_build(cli: &Cli, args: &BuildArgs, p: &Printer) -> Result<(), Errors> {
    let start = Instant::now();
    let (config, result) = build_site(cli, &args.site, args.assets_only).map_err(|e| {
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
    let stats = crate::output::write_to_disk(&result.plan, &out)?;
    let shown = out.strip_prefix(".").unwrap_or(&out).display().to_string();
    p.warnings(&result.warnings);
    p.detail(format!(
        "rendered in {} ms, written in {} ms",
        rendered.as_millis(),
        (start.elapsed() - rendered).as_millis()
    ));
    p.info(format!(
        "Built {} pages, {} sections, {} static files into `{}` ({} written, {} unchanged, {} removed) in {} ms",
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

fn cmd_check(cli: &Cli, args: &SiteArgs, p: &Printer) -> Result<(), Errors> {
    let start = Instant::now();
    let (_, result) = build_site(cli, args, false)?;
    if !result.warnings.is_empty() {
        return Err(Errors::sorted(result.warnings));
    }
    p.info(format!(
        "Checked {} pages, {} sections, {} output files: no errors, no broken internal links ({} ms)",
        result.stats.pages,
        result.stats.sections,
        result.stats.outputs,
        start.elapsed().as_millis()
    ));
    Ok(())
}
