//! sitegen turns a folder of Markdown, Tera templates and static files into a static site.
//!
//! The pipeline is a chain of plain values: `config.toml` → [`config::Config`];
//! the files on disk → [`source::SourceTree`] (the only place that reads input);
//! the tree → [`content::SiteModel`] (pages, sections, taxonomies, URLs);
//! the model → [`build::BuildPlan`] (every output file's bytes, rendered in parallel);
//! the plan → `public/` via [`output::write_to_disk`] (atomic swap, unchanged files kept).
//! Everything between reading and writing is pure, so `check`, tests and (later) the dev
//! server and the publisher all work from the same plan.
//!
//! ```no_run
//! use std::{path::Path, sync::Arc};
//! let root = Path::new("my-site");
//! let config = sitegen::config::Config::parse("config.toml", &std::fs::read_to_string(root.join("config.toml"))?).unwrap();
//! let tree = sitegen::source::SourceTree::read(root, &config).unwrap();
//! let result = sitegen::build::build(Arc::new(tree), Arc::new(config), &Default::default())?;
//! sitegen::output::write_to_disk(&result.plan, &root.join("public"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The stages, bottom to top. A module may use the ones above it in this list and never
// the ones below (`tests/it/layering.rs` checks it against `LAYERS` there; ARCHITECTURE.md
// draws it). Blank lines keep rustfmt from sorting the list.

// Leaves: diagnostics, names and paths, cache keys, the HTML attribute scanner, image
// metadata stripping, S3 client settings and SDK errors in words, the file-system I/O pool,
// bytes spilled to temporary files past a memory budget.
pub mod aws;
pub mod error;
pub mod fsio;
pub mod html;
pub mod image_metadata;
pub mod keys;
pub mod paths;
pub mod spill;

// Syntax highlighting (below config, which checks theme names).
pub mod highlight;

pub mod config;

// Input: the only reader of source files.
pub mod source;

// Pure core: content model, assets, Markdown, image requests, templates, the build plan.
pub mod content;

pub mod assets;

pub mod markdown;

pub mod images;

pub mod templates;

pub mod search;

pub mod build;

// Edges: output writing, site loading, the external link check, the dev server, publishing,
// the CLI.
pub mod output;

pub mod site;

pub mod linkcheck;
pub mod publish;
pub mod serve;

pub mod archetypes;
pub mod import;
pub mod init;

pub mod cli;
