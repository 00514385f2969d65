//! Reads the built output folder into [`LocalFile`]s: every file the target's include/exclude
//! globs let through, with its sha256, its size, its headers, and whether `manifest.json`
//! lists it as fingerprinted.
//!
//! The sha256 comes from the build's output record ([`crate::output::record`]) when the
//! record vouches for the file (its size, mtime, ctime, device and inode are still what the
//! build stamped); every other file is hashed, in parallel and streaming, so memory stays
//! flat. A file edited, touched or replaced since the build, or one the build did not write,
//! is therefore hashed, and a missing or corrupt record only means hashing everything.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::path::Path;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::headers::{alias_target, HeaderRules, PathFilter};
use super::LocalFile;
use crate::assets::{Manifest, MANIFEST};
use crate::error::Diagnostic;
use crate::output::record::OutputRecord;

/// The output folder as [`scan`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalScan {
    /// Sorted by path.
    pub files: Vec<LocalFile>,
    /// How many of them were hashed (the others' sha256 came from the output record).
    pub hashed: usize,
}

/// The output-relative paths `manifest.json` names as fingerprinted (none without a manifest).
pub fn fingerprinted(manifest: &[u8]) -> Result<BTreeSet<String>, String> {
    let m = Manifest::parse(manifest)?;
    Ok(m.assets
        .into_values()
        .map(|a| a.path.trim_start_matches('/').to_string())
        .collect())
}

fn io_diag(p: &Path, what: &str, e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(p.display().to_string(), format!("cannot {what}: {e}"))
}

/// Every publishable file under `dir`, sorted by path.
pub fn scan(dir: &Path, filter: &PathFilter, rules: &HeaderRules) -> Result<LocalScan, Diagnostic> {
    read(dir, list(dir, filter)?, rules)
}

/// The output-relative paths of the publishable files under `dir` (what the LIST partitions
/// are cut at: known before any file is read).
pub fn list(dir: &Path, filter: &PathFilter) -> Result<Vec<String>, Diagnostic> {
    if !dir.is_dir() {
        return Err(Diagnostic::new(
            dir.display().to_string(),
            "the output folder does not exist: run `sitegen build` first, or `sitegen publish --build`",
        ));
    }
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| io_diag(dir, "list the output folder", e))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).expect("walkdir stays under its root");
        let Some(rel) = rel.to_str() else {
            return Err(Diagnostic::new(
                entry.path().display().to_string(),
                "file name is not valid UTF-8 and cannot be an S3 key",
            ));
        };
        let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
        if filter.allows(&rel) {
            paths.push(rel);
        }
    }
    Ok(paths)
}

/// The files at `paths` (from [`list`]) under `dir`, with their sha256, size and headers.
pub fn read(dir: &Path, paths: Vec<String>, rules: &HeaderRules) -> Result<LocalScan, Diagnostic> {
    let manifest_path = dir.join(MANIFEST);
    let immutable = match std::fs::read(&manifest_path) {
        Ok(bytes) => fingerprinted(&bytes).map_err(|e| io_diag(&manifest_path, "read the asset manifest", e))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeSet::new(),
        Err(e) => return Err(io_diag(&manifest_path, "read", e)),
    };
    let record = OutputRecord::read(dir);
    let read: Vec<(LocalFile, bool)> = paths
        .into_par_iter()
        .map(|rel| {
            let p = dir.join(&rel);
            let meta = std::fs::symlink_metadata(&p).map_err(|e| io_diag(&p, "read", e))?;
            let (sha256, size, hashed) = match record.vouches(&rel, &meta) {
                Some(sha256) => (crate::paths::hex(&sha256), meta.len(), false),
                None => {
                    let (sha256, size) = hash_file(&p).map_err(|e| io_diag(&p, "read", e))?;
                    (sha256, size, true)
                }
            };
            let alias = if rules.wants_alias(&rel) {
                std::fs::read(&p).ok().and_then(|b| alias_target(&b))
            } else {
                None
            };
            // Processed images are named by the hash of their source and operation too.
            let immutable = immutable.contains(&rel) || rel.starts_with(&format!("{}/", crate::images::OUTPUT_DIR));
            let file = LocalFile {
                headers: rules.headers(&rel, immutable, alias),
                path: rel,
                sha256,
                size,
                immutable,
            };
            Ok((file, hashed))
        })
        .collect::<Result<_, Diagnostic>>()?;
    let hashed = read.iter().filter(|(_, h)| *h).count();
    Ok(LocalScan {
        files: read.into_iter().map(|(f, _)| f).collect(),
        hashed,
    })
}

/// Hex sha256 and length of a file, read in chunks.
pub fn hash_file(p: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(p)?;
    let mut h = Sha256::new();
    let n = io::copy(&mut f, &mut h)?;
    Ok((crate::paths::hex(&h.finalize()), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processed_images_and_manifest_assets_are_immutable_pages_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("processed_images")).unwrap();
        std::fs::create_dir_all(d.join("css")).unwrap();
        std::fs::write(d.join("processed_images/a.0123456789abcdef.jpg"), b"jpg").unwrap();
        std::fs::write(d.join("css/site.0123456789.css"), b"css").unwrap();
        std::fs::write(d.join("index.html"), b"<p>").unwrap();
        std::fs::write(
            d.join(MANIFEST),
            r#"{"version":1,"assets":{"css/site.scss":{"url":"/css/site.0123456789.css","path":"css/site.0123456789.css","integrity":"","size":3,"content_type":"text/css"}}}"#,
        )
        .unwrap();
        let files = scan(d, &PathFilter::all(), &HeaderRules::new(&[]).unwrap())
            .unwrap()
            .files;
        let imm = |p: &str| files.iter().find(|f| f.path == p).unwrap().immutable;
        assert!(imm("processed_images/a.0123456789abcdef.jpg"));
        assert!(imm("css/site.0123456789.css"));
        assert!(!imm("index.html"));
    }
}
