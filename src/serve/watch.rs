//! File watching with notify: the site's folders, the theme and config.toml, with events
//! gathered into batches (editors save in several steps: temp file, rename, chmod).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// Quiet time that ends a batch, and the longest a batch may wait.
const SETTLE: Duration = Duration::from_millis(15);
const MAX_WAIT: Duration = Duration::from_millis(200);

/// Watches `paths` (files or folders; missing ones are skipped) and returns batches of
/// changed paths. The watcher stops when the returned value is dropped.
pub fn watch(paths: &[PathBuf]) -> notify::Result<(RecommendedWatcher, mpsc::Receiver<Vec<PathBuf>>)> {
    let (raw_tx, raw_rx) = mpsc::channel::<Vec<PathBuf>>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if !matches!(ev.kind, notify::EventKind::Access(_)) {
                let _ = raw_tx.send(ev.paths);
            }
        }
    })?;
    for p in paths {
        if p.exists() {
            let mode = if p.is_dir() {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            watcher.watch(p, mode)?;
        }
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || batch(raw_rx, tx));
    Ok((watcher, rx))
}

fn batch(raw: mpsc::Receiver<Vec<PathBuf>>, out: mpsc::Sender<Vec<PathBuf>>) {
    while let Ok(first) = raw.recv() {
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
