//! Writes a [`BuildPlan`] to disk. The new site is assembled in a temporary folder beside the
//! output folder and swapped in with two renames, so a reader (or a sync tool) never sees half
//! a site, and a failure leaves the old output as it was. Files whose bytes did not change are
//! hard-linked from the old output instead of rewritten, so they keep their mtime and inode.
//! After each write, [`record`] notes every file's sha256 and metadata beside the folder.

pub mod record;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::build::{BuildPlan, OutputFile, OutputSink};
use crate::error::Diagnostic;
use record::OutputRecord;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Files whose bytes are new or changed.
    pub written: usize,
    /// Files kept from the previous output as they were.
    pub unchanged: usize,
    /// Files of the previous output that the new one does not have.
    pub removed: usize,
}

fn sibling(out: &Path, tag: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "public".into());
    out.with_file_name(format!(".{name}.sitegen-{tag}-{}", std::process::id()))
}

fn io_diag(p: &Path, what: &str, e: io::Error) -> Diagnostic {
    Diagnostic::new(p.display().to_string(), format!("cannot {what}: {e}"))
}

/// Whether the old output's file at `rel` has `new`'s bytes: known without reading it when
/// the old output's record vouches for it.
fn same_bytes(old: &Path, rel: &str, new: &OutputFile, record: &OutputRecord) -> bool {
    match fs::metadata(old) {
        Ok(m) if m.is_file() && m.len() == new.bytes.len() as u64 => match record.vouches(rel, &m) {
            Some(sha256) => sha256 == new.sha256,
            None => fs::read(old).map(|b| *b == *new.bytes).unwrap_or(false),
        },
        _ => false,
    }
}

/// Writes `plan` as the new content of `out`.
pub fn write_to_disk(plan: &BuildPlan, out: &Path) -> Result<WriteStats, Diagnostic> {
    Staging::new(out)?.finish(plan)
}

/// The new output, assembled in a temporary folder beside `out`: a streaming build
/// ([`crate::build::BuildOptions::sink`]) puts each file here as soon as it is rendered, and
/// [`Staging::finish`] swaps the folder in. Dropped unfinished (the build failed), the
/// temporary folder is removed and `out` stays as it was.
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    tmp: PathBuf,
    /// The old output's record, for [`same_bytes`].
    record: OutputRecord,
    written: AtomicUsize,
    unchanged: AtomicUsize,
    finished: AtomicBool,
}

impl Staging {
    /// A fresh temporary folder for `out` (a stale one from a killed run is removed first).
    pub fn new(out: &Path) -> Result<Staging, Diagnostic> {
        let tmp = sibling(out, "tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| io_diag(&tmp, "remove a stale temporary folder", e))?;
        }
        fs::create_dir_all(&tmp).map_err(|e| io_diag(&tmp, "create the temporary output folder", e))?;
        Ok(Staging {
            out: out.to_path_buf(),
            tmp,
            record: OutputRecord::read(out),
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
            finished: AtomicBool::new(false),
        })
    }

    /// Puts one file in the new output: hard-linked from the old output when its bytes are
    /// the same (so it keeps its mtime and inode), else written.
    fn put_file(&self, rel: &str, file: &OutputFile) -> Result<(), Diagnostic> {
        let target = self.tmp.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io_diag(parent, "create folder", e))?;
        }
        let old = self.out.join(rel);
        if same_bytes(&old, rel, file, &self.record) && fs::hard_link(&old, &target).is_ok() {
            self.unchanged.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        fs::write(&target, &file.bytes).map_err(|e| io_diag(&target, "write", e))?;
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Writes the files of `plan` not streamed yet, then swaps the new output in for the old.
    pub fn finish(&self, plan: &BuildPlan) -> Result<WriteStats, Diagnostic> {
        plan.files
            .par_iter()
            .filter(|(_, f)| !f.streamed)
            .try_for_each(|(rel, file)| self.put_file(rel, file))?;
        let (out, tmp) = (&self.out, &self.tmp);
        let mut stats = WriteStats {
            written: self.written.load(Ordering::Relaxed),
            unchanged: self.unchanged.load(Ordering::Relaxed),
            removed: 0,
        };
        if out.exists() {
            let old = sibling(out, "old");
            if old.exists() {
                let _ = fs::remove_dir_all(&old);
            }
            fs::rename(out, &old).map_err(|e| io_diag(out, "move the old output aside", e))?;
            if let Err(e) = fs::rename(tmp, out) {
                let _ = fs::rename(&old, out);
                return Err(io_diag(out, "move the new output in place", e));
            }
            self.finished.store(true, Ordering::SeqCst);
            stats.removed = remove_old(&old, "", plan).map_err(|e| io_diag(&old, "remove the old output", e))?;
        } else {
            if let Some(parent) = out.parent() {
                if !parent.as_os_str().is_empty() {
                    fs::create_dir_all(parent).map_err(|e| io_diag(parent, "create folder", e))?;
                }
            }
            fs::rename(tmp, out).map_err(|e| io_diag(out, "move the new output in place", e))?;
            self.finished.store(true, Ordering::SeqCst);
        }
        // After the old output is gone: unlinking it changed the ctime of every file kept.
        record::write(
            out,
            plan.files.iter().map(|(rel, f)| (rel.as_str(), f.sha256)),
            OutputRecord::default(),
        )?;
        Ok(stats)
    }
}

impl OutputSink for Staging {
    fn put(&self, path: &str, file: &OutputFile) -> Result<(), Diagnostic> {
        self.put_file(path, file)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.finished.load(Ordering::SeqCst) {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// The sink of `sitegen check`: outputs are read (for the link check) and dropped.
#[derive(Debug, Default)]
pub struct Discard;

impl OutputSink for Discard {
    fn put(&self, _: &str, _: &OutputFile) -> Result<(), Diagnostic> {
        Ok(())
    }
}

/// Removes the old output `dir` (its files at `rel` below the output) after the swap, folders
/// in parallel (a page per folder makes unlinking the bulk of a rebuild's writing), and counts
/// its files that `plan` does not have: one walk instead of a count, a look at every planned
/// path and a sequential removal.
fn remove_old(dir: &Path, rel: &str, plan: &BuildPlan) -> io::Result<usize> {
    let entries = fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
    let removed = entries
        .par_iter()
        .map(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let child = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type()?.is_dir() {
                remove_old(&e.path(), &child, plan)
            } else {
                fs::remove_file(e.path())?;
                Ok(usize::from(!plan.files.contains_key(&child)))
            }
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    fs::remove_dir(dir)?;
    Ok(removed)
}

/// The files of `new` that differ from `old`, in the order to write them: assets first, then
/// pages (which link to the assets), then `manifest.json` (which an app reads to find the
/// assets), so nothing names a file before it is there.
pub fn write_order<'a>(old: &BuildPlan, new: &'a BuildPlan) -> Vec<&'a str> {
    let rank = |p: &str| {
        if p == crate::assets::MANIFEST {
            2
        } else if p.ends_with(".html") {
            1
        } else {
            0
        }
    };
    let mut v: Vec<&str> = new
        .files
        .iter()
        .filter(|(rel, file)| old.files.get(*rel).is_none_or(|o| o.sha256 != file.sha256))
        .map(|(rel, _)| rel.as_str())
        .collect();
    v.sort_by_key(|p| (rank(p), *p));
    v
}

/// Brings `out` from `old` to `new` file by file, in [`write_order`]: changed files are
/// written to a temporary name and renamed over the old one (so a reader, e.g. an app reading
/// `manifest.json`, never sees half a file), then removed files are deleted. For
/// `build --watch`, after a first [`write_to_disk`].
pub fn write_changes(old: &BuildPlan, new: &BuildPlan, out: &Path) -> Result<WriteStats, Diagnostic> {
    let order = write_order(old, new);
    let mut stats = WriteStats {
        unchanged: new.files.len() - order.len(),
        ..WriteStats::default()
    };
    for &rel in &order {
        let file = &new.files[rel];
        let target = out.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io_diag(parent, "create folder", e))?;
        }
        let tmp = target.with_file_name(format!(
            ".{}.sitegen-tmp",
            target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        fs::write(&tmp, &file.bytes).map_err(|e| io_diag(&tmp, "write", e))?;
        fs::rename(&tmp, &target).map_err(|e| io_diag(&target, "replace", e))?;
        stats.written += 1;
    }
    for rel in old.files.keys().filter(|k| !new.files.contains_key(*k)) {
        let p = out.join(rel);
        match fs::remove_file(&p) {
            Ok(()) => stats.removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_diag(&p, "remove", e)),
        }
    }
    let mut kept = OutputRecord::read(out);
    kept.retain(|rel| new.files.contains_key(rel));
    record::write(out, order.iter().map(|rel| (*rel, new.files[*rel].sha256)), kept)?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_written_after_every_asset() {
        // Regression: files were written in path order, so `manifest.json` could name an
        // asset (`site.css` after it in order) that was not written yet.
        let plan = |files: &[(&str, &str)]| {
            let mut p = BuildPlan::default();
            for (k, v) in files {
                p.files
                    .insert(k.to_string(), OutputFile::new(v.as_bytes().to_vec(), "t"));
            }
            p
        };
        let old = plan(&[("index.html", "a"), ("same.css", "s")]);
        let new = plan(&[
            ("index.html", "b"),
            ("manifest.json", "m"),
            ("same.css", "s"),
            ("site.css", "c"),
            ("a.js", "j"),
            ("z/page.html", "p"),
        ]);
        assert_eq!(
            write_order(&old, &new),
            vec!["a.js", "site.css", "index.html", "z/page.html", "manifest.json"]
        );
    }
}
