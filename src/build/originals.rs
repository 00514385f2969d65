//! The files of `content/` that are published as they are (the photos of a page bundle,
//! files beside the Markdown), with the metadata of JPEG, PNG and WebP files removed
//! ([`crate::image_metadata::strip`]) unless `images.strip_metadata = false`. Files of
//! `static/` get the same in the asset pipeline, before they are fingerprinted.
//!
//! Stripping is one pass over the bytes (no decoding), done while planning as for `static/`,
//! whose fingerprints are of the published bytes; so `sitegen check` sees the same bytes as
//! `build`. The copies are kept by the builder by the source's sha256, so `serve` and
//! `build --watch` make each once, not on every rebuild. They are not written to the image
//! cache on disk, which planning never touches (invariant 1).

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::OutputFile;
use crate::config::Config;
use crate::content::SiteModel;
use crate::error::Diagnostic;
use crate::image_metadata;
use crate::source::SourceTree;

/// A published copy: its bytes and their sha256 (the source's own when there was nothing to
/// remove).
type Published = (Arc<[u8]>, [u8; 32]);

/// Stripped copies by the sha256 of their source.
#[derive(Default)]
pub(super) struct Originals {
    by_source: HashMap<[u8; 32], Published>,
}

impl Originals {
    /// Every published file of `content/` as `(output path, file)`: bundles' files of pages
    /// and sections, then loose files. The copies this build did not use are forgotten.
    pub(super) fn files(
        &mut self,
        model: &SiteModel,
        tree: &SourceTree,
        config: &Config,
        errors: &mut Vec<Diagnostic>,
    ) -> Vec<(String, OutputFile)> {
        let bundles = model.pages.iter().map(|p| (&p.path, &p.assets));
        let bundle_files = bundles
            .chain(model.sections.iter().map(|s| (&s.path, &s.assets)))
            .flat_map(|(path, files)| {
                files
                    .iter()
                    .map(move |a| (a.as_str(), crate::paths::bundle_asset_output(path, a)))
            });
        let loose = model
            .loose_files
            .iter()
            .map(|f| (f.relative_path.as_str(), f.relative_path.clone()));
        let files: Vec<(String, &crate::source::SourceFile)> = bundle_files
            .chain(loose)
            .filter_map(|(rel, out)| tree.get(&format!("content/{rel}")).map(|f| (out, f)))
            .collect();
        if !config.images.strip_metadata {
            self.by_source.clear();
            return files
                .into_iter()
                .map(|(out, f)| (out, as_published(f, f.bytes.clone(), f.sha256)))
                .collect();
        }
        // Strip what the last build did not, in parallel, each content once.
        let mut todo: Vec<&crate::source::SourceFile> = files
            .iter()
            .filter(|(out, f)| image_metadata::is_strippable_name(out) && !self.by_source.contains_key(&f.sha256))
            .map(|(_, f)| *f)
            .collect();
        todo.sort_by_key(|f| f.sha256);
        todo.dedup_by_key(|f| f.sha256);
        let made: Vec<_> = todo
            .into_par_iter()
            .map(|f| {
                let r = match image_metadata::strip(&f.bytes) {
                    Ok(Some(b)) => {
                        let sha: [u8; 32] = Sha256::digest(&b).into();
                        Ok((Arc::<[u8]>::from(b), sha))
                    }
                    Ok(None) => Ok((f.bytes.clone(), f.sha256)),
                    Err(e) => Err(Diagnostic::new(&f.origin, image_metadata::refused(&e))),
                };
                (f.sha256, r)
            })
            .collect();
        let mut available = std::mem::take(&mut self.by_source);
        for (sha, r) in made {
            match r {
                Ok(copy) => {
                    available.insert(sha, copy);
                }
                Err(d) => errors.push(d),
            }
        }
        let mut out = Vec::with_capacity(files.len());
        for (path, f) in files {
            if !image_metadata::is_strippable_name(&path) {
                out.push((path, as_published(f, f.bytes.clone(), f.sha256)));
            } else if let Some((bytes, sha)) = available.get(&f.sha256) {
                self.by_source.insert(f.sha256, (bytes.clone(), *sha));
                out.push((path, as_published(f, bytes.clone(), *sha)));
            }
        }
        out
    }
}

fn as_published(f: &crate::source::SourceFile, bytes: Arc<[u8]>, sha256: [u8; 32]) -> OutputFile {
    OutputFile {
        size: bytes.len() as u64,
        bytes,
        sha256,
        source: f.origin.as_str().into(),
        immutable: false,
        streamed: false,
    }
}
