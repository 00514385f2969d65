//! What `serve` shows, held compactly: every output's bytes once, by sha256, LZ4-compressed
//! where that makes them smaller, in memory up to a budget and past it in temporary files
//! ([`crate::spill`]). The store is the build's [`OutputSink`]: each output goes here as soon
//! as it is rendered, and the plans (and the builder's cache) keep paths and hashes only, so
//! the memory `serve` needs for its outputs no longer grows with the site.
//!
//! The served map names bodies by hash and counts its references to each ([`Store::retain`],
//! [`Store::release`]). A body nobody names may still be named by the builder's cache (an
//! output rendered by a build that failed or stopped, reused by the next one), so bodies
//! are only dropped by [`Store::sweep`], after a build that finished and was published: then
//! the builder's outputs are the plan's, and the plan is what is served.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::build::{OutputFile, OutputSink};
use crate::error::Diagnostic;
use crate::spill::{Held, Spill};

/// The size of each temporary file past the memory budget.
const SEGMENT_SIZE: u64 = 64 << 20;

/// See the module's documentation.
#[derive(Debug)]
pub struct Store {
    spill: Spill,
    bodies: Mutex<Bodies>,
}

#[derive(Debug, Default)]
struct Bodies {
    by_hash: HashMap<[u8; 32], Body>,
    /// Bodies that may be named by no path: put since the last sweep, or released to zero.
    candidates: Vec<[u8; 32]>,
}

#[derive(Debug)]
struct Body {
    held: Held,
    /// LZ4-compressed, with the length in front.
    packed: bool,
    /// Paths of the served map that name it.
    refs: u32,
}

/// What the store holds, for `-v` and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    pub bodies: usize,
    pub in_memory: usize,
    pub in_files: usize,
    pub files: usize,
}

impl Store {
    /// A store holding up to `budget` bytes (compressed) in memory.
    pub fn new(budget: usize) -> Store {
        Store {
            spill: Spill::new(budget, SEGMENT_SIZE),
            bodies: Mutex::new(Bodies::default()),
        }
    }

    fn bodies(&self) -> std::sync::MutexGuard<'_, Bodies> {
        self.bodies.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds `bytes` under `sha256` unless it is there already.
    pub fn insert(&self, sha256: [u8; 32], bytes: &[u8]) {
        if self.bodies().by_hash.contains_key(&sha256) {
            return;
        }
        // Compressed and placed outside the lock: render workers put in parallel.
        let packed = lz4_flex::compress_prepend_size(bytes);
        let (held, packed) = if packed.len() < bytes.len() - bytes.len() / 8 {
            (self.spill.hold(packed), true)
        } else {
            (self.spill.hold(bytes.to_vec()), false)
        };
        let mut b = self.bodies();
        if b.by_hash.contains_key(&sha256) {
            // Another worker put the same bytes meanwhile.
            drop(b);
            self.spill.free(&held);
            return;
        }
        b.by_hash.insert(sha256, Body { held, packed, refs: 0 });
        b.candidates.push(sha256);
    }

    /// Holds `file`'s bytes, when it still has them (not streamed here before); whether the
    /// store has its body.
    pub fn insert_file(&self, file: &OutputFile) -> bool {
        if !file.streamed {
            self.insert(file.sha256, &file.bytes);
        }
        self.bodies().by_hash.contains_key(&file.sha256)
    }

    /// One more path names the body.
    pub fn retain(&self, sha256: &[u8; 32]) {
        if let Some(b) = self.bodies().by_hash.get_mut(sha256) {
            b.refs += 1;
        }
    }

    /// One path fewer names the body (kept until the next [`Store::sweep`]).
    pub fn release(&self, sha256: &[u8; 32]) {
        let mut bodies = self.bodies();
        if let Some(b) = bodies.by_hash.get_mut(sha256) {
            b.refs = b.refs.saturating_sub(1);
            if b.refs == 0 {
                bodies.candidates.push(*sha256);
            }
        }
    }

    /// Drops the bodies no path names. Only after a build that finished and was published
    /// (see the module's documentation).
    pub fn sweep(&self) {
        let mut bodies = self.bodies();
        let candidates = std::mem::take(&mut bodies.candidates);
        for sha in candidates {
            if bodies.by_hash.get(&sha).is_some_and(|b| b.refs == 0) {
                let b = bodies.by_hash.remove(&sha).expect("just seen");
                self.spill.free(&b.held);
            }
        }
    }

    /// The bytes of the body `sha256` names; `None` when there is none.
    pub fn read(&self, sha256: &[u8; 32]) -> Option<std::io::Result<Vec<u8>>> {
        let (held, packed) = {
            let bodies = self.bodies();
            let b = bodies.by_hash.get(sha256)?;
            (b.held.clone(), b.packed)
        };
        Some(self.spill.read(&held).and_then(|bytes| {
            if packed {
                lz4_flex::decompress_size_prepended(&bytes)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
            } else {
                Ok(bytes)
            }
        }))
    }

    pub fn stats(&self) -> StoreStats {
        let bodies = self.bodies();
        let (files, _) = self.spill.files();
        StoreStats {
            bodies: bodies.by_hash.len(),
            in_memory: self.spill.in_memory(),
            in_files: bodies.by_hash.values().filter(|b| b.held.in_file()).count(),
            files,
        }
    }
}

impl OutputSink for Store {
    fn put(&self, _path: &str, file: &OutputFile) -> Result<(), Diagnostic> {
        self.insert(file.sha256, &file.bytes);
        Ok(())
    }

    fn keeps(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> [u8; 32] {
        OutputFile::new(b.to_vec(), "t").sha256
    }

    #[test]
    fn bodies_read_back_packed_or_not_in_memory_or_in_files() {
        let text = "<p>the same words again and again</p>".repeat(200).into_bytes();
        let noise: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for budget in [usize::MAX, 0] {
            let s = Store::new(budget);
            s.insert(sha(&text), &text);
            s.insert(sha(&noise), &noise);
            assert_eq!(s.read(&sha(&text)).unwrap().unwrap(), text);
            assert_eq!(s.read(&sha(&noise)).unwrap().unwrap(), noise);
            let st = s.stats();
            assert_eq!(st.bodies, 2);
            if budget == 0 {
                assert_eq!((st.in_memory, st.in_files, st.files), (0, 2, 1));
            } else {
                // The text is held compressed; the noise as it is.
                assert!(st.in_memory < text.len() / 4 + noise.len(), "{st:?}");
            }
        }
    }

    #[test]
    fn a_body_goes_at_the_sweep_after_no_path_names_it() {
        let s = Store::new(0);
        let (a, b) = (b"a".repeat(100), b"b".repeat(100));
        s.insert(sha(&a), &a);
        s.insert(sha(&b), &b);
        s.retain(&sha(&a));
        // Put by a build but named by no path yet: kept until a sweep.
        assert!(s.read(&sha(&b)).is_some());
        s.sweep();
        assert!(s.read(&sha(&b)).is_none());
        assert_eq!(s.read(&sha(&a)).unwrap().unwrap(), a);
        // Released: still there until the sweep, so a reused output can name it again.
        s.release(&sha(&a));
        assert!(s.read(&sha(&a)).is_some());
        s.retain(&sha(&a));
        s.sweep();
        assert!(s.read(&sha(&a)).is_some());
        s.release(&sha(&a));
        s.sweep();
        assert!(s.read(&sha(&a)).is_none());
        assert_eq!(
            s.stats(),
            StoreStats {
                files: 1,
                ..StoreStats::default()
            }
        );
    }

    #[test]
    fn the_same_bytes_are_held_once() {
        let s = Store::new(usize::MAX);
        let a = b"<html>same</html>".repeat(50);
        s.insert(sha(&a), &a);
        let used = s.stats().in_memory;
        s.insert(sha(&a), &a);
        assert_eq!(s.stats().in_memory, used);
        assert_eq!(s.stats().bodies, 1);
    }
}
