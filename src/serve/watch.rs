//! File watching with notify: the site's folders, the theme and config.toml, with events
//! gathered into batches (editors save in several steps: temp file, rename, chmod).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// Quiet time that ends a batch, and the longest a batch may wait.
const SETTLE: Duration = Duration::from_millis(15);
const MAX_WAIT: Duration = Duration::from_millis(200);

/// Batches of changed paths, in order. [`Batches::pending`] counts the batches begun (a first
/// event came) and not yet taken, so a rebuild can stop early for newer changes.
pub struct Batches {
    rx: mpsc::Receiver<Vec<PathBuf>>,
    pending: Arc<AtomicUsize>,
}

impl Batches {
    /// Not zero while a batch is being gathered or waits to be taken.
    pub fn pending(&self) -> Arc<AtomicUsize> {
        self.pending.clone()
    }

    /// The next batch, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Vec<PathBuf>> {
        let b = self.rx.recv_timeout(timeout).ok()?;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        Some(b)
    }
}

impl Iterator for Batches {
    type Item = Vec<PathBuf>;
    fn next(&mut self) -> Option<Vec<PathBuf>> {
        let b = self.rx.recv().ok()?;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        Some(b)
    }
}

/// Watches `paths` (folders, recursively, or files; missing folders are skipped) and returns
/// batches of the changed paths that `relevant` keeps. The watcher stops when the returned
/// value is dropped.
///
/// A file is watched through its folder: a watch on the file itself follows its inode, which
/// an editor's atomic save (write a temporary file, rename it over the old one) replaces, so
/// the second save would go unseen. Events of the folder's other entries are dropped.
pub fn watch(
    paths: &[PathBuf],
    relevant: impl Fn(&Path) -> bool + Send + 'static,
) -> notify::Result<(RecommendedWatcher, Batches)> {
    let (raw_tx, raw_rx) = mpsc::channel::<Vec<PathBuf>>();
    let dirs: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    let files: Vec<PathBuf> = paths.iter().filter(|p| !p.is_dir()).cloned().collect();
    let wanted = {
        let (dirs, files) = (dirs.clone(), files.clone());
        move |p: &PathBuf| (dirs.iter().any(|d| p.starts_with(d)) || files.contains(p)) && relevant(p)
    };
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if !matches!(ev.kind, notify::EventKind::Access(_)) {
                let paths: Vec<PathBuf> = ev.paths.into_iter().filter(|p| wanted(p)).collect();
                if !paths.is_empty() {
                    let _ = raw_tx.send(paths);
                }
            }
        }
    })?;
    for d in &dirs {
        watcher.watch(d, RecursiveMode::Recursive)?;
    }
    let mut parents: Vec<&Path> = files.iter().filter_map(|f| f.parent()).filter(|p| p.is_dir()).collect();
    parents.sort();
    parents.dedup();
    for p in parents {
        // A folder also watched recursively reports its entries twice; the batch dedups.
        watcher.watch(p, RecursiveMode::NonRecursive)?;
    }
    let (tx, rx) = mpsc::channel();
    let pending = Arc::new(AtomicUsize::new(0));
    let counter = pending.clone();
    std::thread::spawn(move || batch(raw_rx, tx, counter));
    Ok((watcher, Batches { rx, pending }))
}

fn batch(raw: mpsc::Receiver<Vec<PathBuf>>, out: mpsc::Sender<Vec<PathBuf>>, pending: Arc<AtomicUsize>) {
    while let Ok(first) = raw.recv() {
        pending.fetch_add(1, Ordering::SeqCst);
        let mut paths = first;
        let start = Instant::now();
        loop {
            let left = MAX_WAIT.saturating_sub(start.elapsed());
            match raw.recv_timeout(SETTLE.min(left)) {
                Ok(more) => paths.extend(more),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            if left.is_zero() {
                break;
            }
        }
        paths.sort();
        paths.dedup();
        if out.send(paths).is_err() {
            return;
        }
    }
}

/// What to watch for a site rooted at `root`.
pub fn watched_paths(root: &Path, config_file: &Path, source_dir: &str, theme: &str) -> Vec<PathBuf> {
    vec![
        root.join(config_file),
        root.join(source_dir),
        root.join("themes").join(theme),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits for a batch naming `path`.
    fn saw(rx: &Batches, path: &Path) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Some(batch) if batch.iter().any(|p| p == path) => return true,
                Some(_) => {}
                None => return false,
            }
        }
        false
    }

    #[test]
    fn a_config_saved_by_rename_stays_watched() {
        // Regression: config.toml was watched by inode, so after one atomic save (write a
        // temporary file, rename it over config.toml) later saves went unseen.
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let config = root.join("config.toml");
        std::fs::write(&config, "title = \"a\"\n").unwrap();
        let (_w, rx) = watch(std::slice::from_ref(&config), |_| true).unwrap();
        for (i, title) in ["b", "c", "d"].iter().enumerate() {
            let tmp = root.join(format!(".config.toml.{i}"));
            std::fs::write(&tmp, format!("title = \"{title}\"\n")).unwrap();
            std::fs::rename(&tmp, &config).unwrap();
            assert!(saw(&rx, &config), "save {} of config.toml was not seen", i + 1);
        }
        // Other files next to it are not reported.
        std::fs::write(root.join("README.md"), "x").unwrap();
        std::fs::write(&config, "title = \"e\"\n").unwrap();
        let batch = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(batch, vec![config.clone()]);
    }
}
