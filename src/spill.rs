//! Bytes held in memory while a budget lasts and in unnamed temporary files past it: a
//! one-shot build's page HTML waiting for its page's job, the files `serve` shows. The
//! caller compresses what it hands over (or not) and keeps the [`Held`] handle; the spill
//! only places bytes and gives them back. A leaf: it imports nothing from the crate.
//!
//! Files are segments of a bounded size (in `TMPDIR`; unnamed, so the system removes them
//! when the process ends, also when it is killed). A segment no handle points into any more
//! is closed, which gives its space back, so a long `serve` session that replaces its files
//! many times does not grow its temporary files without end. A file that cannot be made or
//! written keeps the bytes in memory: the spill only ever costs time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Where some bytes are held.
#[derive(Debug, Clone)]
pub enum Held {
    Memory(Arc<[u8]>),
    /// `len` bytes at `at` in segment `segment`.
    File {
        segment: u32,
        at: u64,
        len: usize,
    },
}

impl Held {
    /// How many bytes are held.
    pub fn len(&self) -> usize {
        match self {
            Held::Memory(b) => b.len(),
            Held::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes are in a temporary file.
    pub fn in_file(&self) -> bool {
        matches!(self, Held::File { .. })
    }
}

/// See the module's documentation.
#[derive(Debug)]
pub struct Spill {
    budget: usize,
    segment_size: u64,
    in_memory: AtomicUsize,
    /// Handles made into a file so far.
    spilled: AtomicUsize,
    files: Mutex<Segments>,
}

#[derive(Debug, Default)]
struct Segments {
    /// The open segments by number, with their end and the bytes still held in them.
    open: HashMap<u32, Segment>,
    /// The segment new bytes go to.
    current: Option<u32>,
    next: u32,
    /// No file could be made: everything stays in memory from then on.
    failed: bool,
}

#[derive(Debug)]
struct Segment {
    file: Arc<std::fs::File>,
    end: u64,
    live: u64,
}

impl Spill {
    /// Holds up to `budget` bytes in memory; past it, in segments of `segment_size` bytes
    /// (`u64::MAX`: one file).
    pub fn new(budget: usize, segment_size: u64) -> Spill {
        Spill {
            budget,
            segment_size,
            in_memory: AtomicUsize::new(0),
            spilled: AtomicUsize::new(0),
            files: Mutex::new(Segments::default()),
        }
    }

    /// How many handles went to a file so far.
    pub fn spilled(&self) -> usize {
        self.spilled.load(Ordering::Relaxed)
    }

    /// The bytes held in memory now.
    pub fn in_memory(&self) -> usize {
        self.in_memory.load(Ordering::Relaxed)
    }

    /// How many segment files are open, and the bytes they hold that some handle still
    /// points to.
    pub fn files(&self) -> (usize, u64) {
        let s = self.files.lock().unwrap_or_else(|e| e.into_inner());
        (s.open.len(), s.open.values().map(|g| g.live).sum())
    }

    /// Holds `bytes`: in memory while the budget lasts, otherwise in a file.
    pub fn hold(&self, bytes: Vec<u8>) -> Held {
        let len = bytes.len();
        if self.in_memory.fetch_add(len, Ordering::Relaxed) + len <= self.budget {
            return Held::Memory(bytes.into());
        }
        self.in_memory.fetch_sub(len, Ordering::Relaxed);
        match self.write(&bytes) {
            Some(held) => {
                self.spilled.fetch_add(1, Ordering::Relaxed);
                held
            }
            None => {
                self.in_memory.fetch_add(len, Ordering::Relaxed);
                Held::Memory(bytes.into())
            }
        }
    }

    /// Places `bytes` at the end of the current segment (a new one when it is full); `None`
    /// when no file can take them.
    fn write(&self, bytes: &[u8]) -> Option<Held> {
        let len = bytes.len() as u64;
        let (segment, file, at) = {
            let mut s = self.files.lock().unwrap_or_else(|e| e.into_inner());
            if s.failed {
                return None;
            }
            let full = |s: &Segments| {
                s.current
                    .and_then(|c| s.open.get(&c))
                    .is_none_or(|g| g.end > 0 && g.end.saturating_add(len) > self.segment_size)
            };
            if full(&s) {
                let Ok(file) = tempfile::tempfile() else {
                    s.failed = true;
                    return None;
                };
                let n = s.next;
                s.next += 1;
                s.open.insert(
                    n,
                    Segment {
                        file: Arc::new(file),
                        end: 0,
                        live: 0,
                    },
                );
                let old = s.current.replace(n);
                // A full segment nothing points into any more goes at once.
                if let Some(old) = old {
                    if s.open.get(&old).is_some_and(|g| g.live == 0) {
                        s.open.remove(&old);
                    }
                }
            }
            let n = s.current.expect("a current segment");
            let g = s.open.get_mut(&n).expect("the current segment is open");
            let at = g.end;
            g.end += len;
            g.live += len;
            (n, g.file.clone(), at)
        };
        // Written outside the lock: each writer has its own range.
        if write_at(&file, bytes, at).is_ok() {
            return Some(Held::File {
                segment,
                at,
                len: bytes.len(),
            });
        }
        self.free(&Held::File {
            segment,
            at,
            len: bytes.len(),
        });
        None
    }

    /// The bytes of `held`.
    pub fn read(&self, held: &Held) -> std::io::Result<Vec<u8>> {
        match held {
            Held::Memory(b) => Ok(b.to_vec()),
            Held::File { segment, at, len } => {
                let file = {
                    let s = self.files.lock().unwrap_or_else(|e| e.into_inner());
                    s.open.get(segment).map(|g| g.file.clone())
                };
                let file = file.ok_or_else(|| std::io::Error::other("the spill segment was closed"))?;
                read_at(&file, *at, *len)
            }
        }
    }

    /// `held` is no longer needed: its memory leaves the budget's count, or its range of a
    /// segment is dead (a segment with nothing live in it, not the current one, is closed).
    /// Each handle is freed at most once.
    pub fn free(&self, held: &Held) {
        match held {
            Held::Memory(b) => {
                self.in_memory.fetch_sub(b.len(), Ordering::Relaxed);
            }
            Held::File { segment, len, .. } => {
                let mut s = self.files.lock().unwrap_or_else(|e| e.into_inner());
                let current = s.current;
                if let Some(g) = s.open.get_mut(segment) {
                    g.live = g.live.saturating_sub(*len as u64);
                    if g.live == 0 {
                        if current == Some(*segment) {
                            // Nothing lives in it: start it over rather than grow it.
                            g.end = 0;
                        } else {
                            s.open.remove(segment);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(unix)]
fn write_at(file: &std::fs::File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, at)
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    std::os::unix::fs::FileExt::read_exact_at(file, &mut buf, at)?;
    Ok(buf)
}

// Elsewhere nothing is spilled: the bytes stay in memory.
#[cfg(not(unix))]
fn write_at(_: &std::fs::File, _: &[u8], _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(not(unix))]
fn read_at(_: &std::fs::File, _: u64, _: usize) -> std::io::Result<Vec<u8>> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_while_the_budget_lasts_then_files() {
        let s = Spill::new(10, u64::MAX);
        let a = s.hold(b"0123456".to_vec());
        let b = s.hold(b"abcdef".to_vec());
        assert!(!a.in_file());
        assert!(b.in_file(), "{b:?}");
        assert_eq!(s.read(&a).unwrap(), b"0123456");
        assert_eq!(s.read(&b).unwrap(), b"abcdef");
        assert_eq!((s.spilled(), s.in_memory()), (1, 7));
        s.free(&a);
        assert_eq!(s.in_memory(), 0);
        // Freed memory makes room again.
        assert!(!s.hold(b"xyz".to_vec()).in_file());
    }

    #[test]
    fn segments_close_when_nothing_in_them_lives() {
        let s = Spill::new(0, 8);
        let held: Vec<Held> = (0..6u8).map(|i| s.hold(vec![i; 5])).collect();
        // 5 bytes each, segments of 8: one per handle.
        assert_eq!(s.files(), (6, 30));
        for (i, h) in held.iter().enumerate() {
            assert_eq!(s.read(h).unwrap(), vec![i as u8; 5]);
        }
        for h in &held[..5] {
            s.free(h);
        }
        // The current segment stays open; the others are closed.
        assert_eq!(s.files(), (1, 5));
        assert_eq!(s.read(&held[5]).unwrap(), vec![5; 5]);
        assert!(s.read(&held[0]).is_err());
        s.free(&held[5]);
        assert_eq!(s.files(), (1, 0));
        // An empty current segment starts over.
        let again = s.hold(vec![9; 4]);
        assert!(matches!(again, Held::File { at: 0, .. }), "{again:?}");
        assert_eq!(s.files(), (1, 4));
    }

    #[test]
    fn a_larger_piece_than_a_segment_gets_a_segment_of_its_own() {
        let s = Spill::new(0, 4);
        let big = s.hold(vec![7; 10]);
        let small = s.hold(vec![1; 2]);
        assert_eq!(s.read(&big).unwrap(), vec![7; 10]);
        assert_eq!(s.read(&small).unwrap(), vec![1; 2]);
        assert_eq!(s.files().0, 2);
    }
}
