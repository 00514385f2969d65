//! The processed-image cache: content-addressed (the key hashes the source bytes, the
//! operation and the encoder settings), in memory for the life of a [`Store`] (so `serve`
//! reads nothing twice) and on disk under `<cache_dir>/images/ab/abcdef....ext`.
//!
//! Entries are written to a temporary name and renamed, so a crash never leaves half a
//! file under a key. A hit sets the entry's mtime, which makes mtime a last-used time:
//! [`enforce_limit`] removes the least recently used entries the build did not use, and
//! `sitegen cache prune` ([`prune`]) removes every entry the current site does not use.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::{Format, SourceInfo};

/// Image bytes by key, and header probes by source sha256.
pub struct Store {
    dir: Option<PathBuf>,
    memory: Mutex<HashMap<String, Arc<[u8]>>>,
    probes: Mutex<HashMap<[u8; 32], Result<SourceInfo, String>>>,
    used: Mutex<HashSet<String>>,
}

impl Store {
    /// `cache_dir` is the configured cache folder (`.sitegen/cache`); images go in its
    /// `images/` folder. `None`: memory only.
    pub fn new(cache_dir: Option<&Path>) -> Store {
        Store {
            dir: cache_dir.map(|d| d.join("images")),
            memory: Mutex::new(HashMap::new()),
            probes: Mutex::new(HashMap::new()),
            used: Mutex::new(HashSet::new()),
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The header of a source, read once per content.
    pub fn probe(&self, bytes: &[u8], sha256: [u8; 32], max_pixels: u64) -> Result<SourceInfo, String> {
        if let Some(r) = self.probes.lock().expect("probe lock").get(&sha256) {
            return r.clone();
        }
        let r = super::probe(bytes, max_pixels);
        self.probes.lock().expect("probe lock").insert(sha256, r.clone());
        r
    }

    fn path(&self, key: &str, format: Format) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(&key[..2]).join(format!("{key}.{}", format.extension())))
    }

    /// Whether the bytes of `key` are in memory.
    pub fn has(&self, key: &str) -> bool {
        self.memory.lock().expect("memory lock").contains_key(key)
    }

    /// The bytes of `key`, from memory or disk.
    pub fn get(&self, key: &str, format: Format) -> Option<Arc<[u8]>> {
        self.used.lock().expect("used lock").insert(key.to_string());
        if let Some(b) = self.memory.lock().expect("memory lock").get(key) {
            return Some(b.clone());
        }
        let path = self.path(key, format)?;
        let bytes: Arc<[u8]> = std::fs::read(&path).ok()?.into();
        if bytes.is_empty() {
            return None;
        }
        touch(&path);
        self.memory
            .lock()
            .expect("memory lock")
            .insert(key.to_string(), bytes.clone());
        Some(bytes)
    }

    /// Stores the bytes of `key` (on disk atomically; a failure to write the disk cache
    /// only costs speed next time, so it is not an error).
    pub fn put(&self, key: &str, format: Format, bytes: Arc<[u8]>) {
        self.used.lock().expect("used lock").insert(key.to_string());
        if let Some(path) = self.path(key, format) {
            let _ = write_atomic(&path, &bytes);
        }
        self.memory.lock().expect("memory lock").insert(key.to_string(), bytes);
    }

    /// Keys read or written since the last call (one build's worth).
    pub fn take_used(&self) -> HashSet<String> {
        std::mem::take(&mut *self.used.lock().expect("used lock"))
    }
}

fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().expect("cache entries live in a folder");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{:?}-{}",
        std::process::id(),
        std::thread::current().id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// One file in the cache.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub key: String,
    pub size: u64,
    pub used: SystemTime,
}

/// Every entry under `images_dir` (left-over temporary files included, with an empty key).
pub fn entries(images_dir: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(images_dir)
        .min_depth(2)
        .max_depth(2)
        .into_iter()
        .flatten()
    {
        if !e.file_type().is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_string();
        let key = if name.starts_with(".tmp-") {
            String::new()
        } else {
            name.split('.').next().unwrap_or("").to_string()
        };
        let md = e.metadata().ok();
        out.push(Entry {
            path: e.path().to_path_buf(),
            key,
            size: md.as_ref().map(|m| m.len()).unwrap_or(0),
            used: md.and_then(|m| m.modified().ok()).unwrap_or(SystemTime::UNIX_EPOCH),
        });
    }
    out
}

/// Removes every entry whose key is not in `keep`. Returns (files, bytes) removed.
pub fn prune(images_dir: &Path, keep: &HashSet<String>) -> io::Result<(usize, u64)> {
    let mut removed = (0, 0);
    for e in entries(images_dir) {
        if !keep.contains(&e.key) {
            std::fs::remove_file(&e.path)?;
            removed.0 += 1;
            removed.1 += e.size;
        }
    }
    remove_empty_dirs(images_dir);
    Ok(removed)
}

/// Removes the least recently used entries not in `used` until the cache holds at most
/// `max_bytes`. Returns (files, bytes) removed.
pub fn enforce_limit(images_dir: &Path, used: &HashSet<String>, max_bytes: u64) -> io::Result<(usize, u64)> {
    let mut all = entries(images_dir);
    let mut total: u64 = all.iter().map(|e| e.size).sum();
    let mut removed = (0, 0);
    if total <= max_bytes {
        return Ok(removed);
    }
    all.sort_by_key(|e| e.used);
    for e in all {
        if total <= max_bytes {
            break;
        }
        if used.contains(&e.key) {
            continue;
        }
        std::fs::remove_file(&e.path)?;
        total -= e.size;
        removed.0 += 1;
        removed.1 += e.size;
    }
    remove_empty_dirs(images_dir);
    Ok(removed)
}

fn remove_empty_dirs(images_dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(images_dir) {
        for d in rd.flatten() {
            let _ = std::fs::remove_dir(d.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_round_trip_and_limits() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Store::new(Some(tmp.path()));
        let k1 = "a".repeat(64);
        let k2 = "b".repeat(64);
        s.put(&k1, Format::Jpeg, Arc::from(vec![1u8; 1000]));
        s.put(&k2, Format::Png, Arc::from(vec![2u8; 1000]));
        let fresh = Store::new(Some(tmp.path()));
        assert_eq!(fresh.get(&k1, Format::Jpeg).unwrap().len(), 1000);
        assert!(
            Store::new(Some(tmp.path())).get(&k1, Format::Png).is_none(),
            "the format is part of the file name"
        );
        let dir = tmp.path().join("images");
        assert_eq!(entries(&dir).len(), 2);
        // Over the limit: the unused entry goes, the used one stays.
        let used: HashSet<String> = [k1.clone()].into();
        assert_eq!(enforce_limit(&dir, &used, 1500).unwrap(), (1, 1000));
        assert_eq!(entries(&dir).len(), 1);
        assert_eq!(prune(&dir, &HashSet::new()).unwrap(), (1, 1000));
        assert!(entries(&dir).is_empty());
    }
}
