//! Loading a site from disk: `config.toml` (with the command line's overrides) and the
//! [`SourceTree`] snapshot. The glue every command that builds shares (`build`, `check`,
//! `serve`, `build --watch`, `cache prune`, `publish --build`), so it lives below both the
//! CLI and the dev server instead of inside either.

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::error::{Diagnostic, Errors};
use crate::source::SourceTree;

/// What the command line may change about the site before it is built.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SiteArgs {
    /// Include pages and sections marked `draft = true`.
    #[arg(long)]
    pub drafts: bool,
    /// Include pages whose `publish_date` is still to come.
    #[arg(long)]
    pub future: bool,
    /// Use this base URL instead of config.toml's `base_url`.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Build for this `[[deploy.targets]]` entry: its `base_url` and `extra` replace the site's.
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
}

/// Reads the config file and the sources, applying command-line overrides.
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

/// Reads and parses the config file (`config_file`, relative to `root`).
pub fn read_config(root: &Path, config_file: &Path) -> Result<Config, Errors> {
    let config_path = root.join(config_file);
    let shown = config_file.display().to_string();
    let text = std::fs::read(&config_path)
        .map_err(|e| Diagnostic::new(&shown, format!("cannot read `{}`: {e}", config_path.display())))?;
    let text = String::from_utf8(text).map_err(|_| Diagnostic::new(&shown, "file is not valid UTF-8"))?;
    let mut config = Config::parse(&shown, &text).map_err(Errors::sorted)?;
    config.image_cache = Some(root.join(&config.images.cache_dir));
    Ok(config)
}
