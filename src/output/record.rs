//! The output record: what the last write of an output folder put there, file by file (its
//! sha256, and the size, mtime, ctime, device and inode the file had right after the write),
//! kept beside the folder (`.public.sitegen-record` for `public/`), never inside it, so it is
//! never published. The build knows every output's sha256 already; with the record, `publish`
//! (and the next build's check for unchanged files) need not read a file to know its bytes.
//!
//! An entry vouches for a file only while the file's metadata is still exactly what was
//! recorded: any write, truncation, replacement (`sed -i`, an editor's save, another build
//! tool) or `touch` changes the ctime, and most change the mtime or inode too, so such a file
//! is hashed again. A file changed later but in the same tick of the file system's clock as
//! its recorded ctime would keep it (Git's "racily clean" index entries), so the writer
//! reads that clock before stamping and stamps again, once the clock has moved past them,
//! the files whose ctime is not older than that reading: every change after the write then
//! gets a later ctime than the one recorded. (Like the swap, this assumes that nothing else
//! writes into the output folder while sitegen writes it.) A missing, truncated or otherwise
//! corrupt record is no record at all (a checksum covers the whole file), so bad input costs
//! hashing time, never a wrong "unchanged".
//!
//! The format is one line per file, sorted by path, tab-separated (compact at a million
//! files, and read without a JSON parser):
//!
//! ```text
//! sitegen-output-record 1
//! SHA256-HEX  SIZE  MTIME-NS  CTIME-NS  DEVICE  INODE  PATH
//! end  ENTRIES  SHA256-HEX-OF-EVERY-BYTE-BEFORE-THIS-LINE
//! ```
//!
//! On systems without inodes and ctimes (not Unix), nothing is ever vouched for.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::Diagnostic;

const MAGIC: &str = "sitegen-output-record 1";

/// Where the record of the output folder `out` lives: beside it, as a hidden file.
pub fn path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "public".into());
    out.with_file_name(format!(".{name}.sitegen-record"))
}

/// The metadata an entry is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    /// Nanoseconds since the Unix epoch.
    pub mtime: i128,
    pub ctime: i128,
    pub device: u64,
    pub inode: u64,
}

impl Stamp {
    /// The stamp of a regular file's metadata; `None` for anything else, and on systems
    /// without inodes and ctimes.
    pub fn of(meta: &Metadata) -> Option<Stamp> {
        if !meta.is_file() {
            return None;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            Some(Stamp {
                size: meta.len(),
                mtime: ns(meta.mtime(), meta.mtime_nsec()),
                ctime: ns(meta.ctime(), meta.ctime_nsec()),
                device: meta.dev(),
                inode: meta.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

/// One file of the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub sha256: [u8; 32],
    pub stamp: Stamp,
}

/// The record of one output folder: output-relative path (`/`-separated) → entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputRecord {
    entries: BTreeMap<String, Entry>,
}

impl OutputRecord {
    /// The record of `out`; empty when there is none, or when it cannot be read or is corrupt.
    pub fn read(out: &Path) -> OutputRecord {
        fs::read(path(out))
            .ok()
            .and_then(|bytes| OutputRecord::parse(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, rel: &str) -> Option<&Entry> {
        self.entries.get(rel)
    }

    pub fn insert(&mut self, rel: String, entry: Entry) {
        self.entries.insert(rel, entry);
    }

    /// Keeps the entries whose path `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.entries.retain(|rel, _| keep(rel));
    }

    /// The sha256 of the file at `rel`, when its entry vouches for `meta`, the file's metadata
    /// as it is now (size, mtime, ctime, device and inode all as recorded).
    pub fn vouches(&self, rel: &str, meta: &Metadata) -> Option<[u8; 32]> {
        let entry = self.entries.get(rel)?;
        (Stamp::of(meta)? == entry.stamp).then_some(entry.sha256)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = String::with_capacity(64 + self.entries.len() * 128);
        text.push_str(MAGIC);
        text.push('\n');
        for (rel, e) in &self.entries {
            let s = &e.stamp;
            let _ = writeln!(
                text,
                "{}\t{}\t{}\t{}\t{}\t{}\t{rel}",
                hex::encode(e.sha256),
                s.size,
                s.mtime,
                s.ctime,
                s.device,
                s.inode
            );
        }
        let sum = hex::encode(Sha256::digest(text.as_bytes()));
        let _ = writeln!(text, "end\t{}\t{sum}", self.entries.len());
        text.into_bytes()
    }

    /// Parses a record; any flaw (version, checksum, a malformed line, paths out of order)
    /// rejects it as a whole.
    pub fn parse(bytes: &[u8]) -> Result<OutputRecord, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
        let body = text.strip_suffix('\n').ok_or("no final newline")?;
        let (head, end) = match body.rfind('\n') {
            Some(i) => (&text[..=i], &body[i + 1..]),
            None => return Err("no end line".into()),
        };
        let mut end = end.split('\t');
        let (Some("end"), Some(count), Some(sum), None) = (end.next(), end.next(), end.next(), end.next()) else {
            return Err("no end line".into());
        };
        if hex::encode(Sha256::digest(head.as_bytes())) != sum {
            return Err("checksum mismatch".into());
        }
        // Split on `\n` only: `lines` would also take a `\r` that ends a path.
        let mut lines = head.strip_suffix('\n').unwrap_or(head).split('\n');
        if lines.next() != Some(MAGIC) {
            return Err("not a version 1 output record".into());
        }
        let mut entries = BTreeMap::new();
        let mut last: Option<&str> = None;
        for line in lines {
            let bad = || format!("malformed line `{line}`");
            let mut f = line.splitn(7, '\t');
            let mut field = || f.next().ok_or_else(bad);
            let mut sha256 = [0u8; 32];
            hex::decode_to_slice(field()?, &mut sha256).map_err(|_| bad())?;
            let number = |s: &str| s.parse::<u64>().map_err(|_| bad());
            let time = |s: &str| s.parse::<i128>().map_err(|_| bad());
            let stamp = Stamp {
                size: number(field()?)?,
                mtime: time(field()?)?,
                ctime: time(field()?)?,
                device: number(field()?)?,
                inode: number(field()?)?,
            };
            let rel = field()?;
            if rel.is_empty() || last.is_some_and(|l| l >= rel) {
                return Err(bad());
            }
            last = Some(rel);
            entries.insert(rel.to_string(), Entry { sha256, stamp });
        }
        if count.parse::<usize>().ok() != Some(entries.len()) {
            return Err("entry count mismatch".into());
        }
        Ok(OutputRecord { entries })
    }
}

/// The file system's clock, read from a file's ctime after writing to it (the clock file
/// timestamps come from, which is coarser than the system's).
struct FsClock {
    file: File,
}

impl FsClock {
    fn now(&mut self) -> io::Result<i128> {
        self.file.write_all(b"t")?;
        self.file.flush()?;
        Ok(Stamp::of(&self.file.metadata()?).map_or(i128::MAX, |s| s.ctime))
    }

    /// Waits until the clock reads later than `t` (at most about 3 s), and returns the reading.
    fn after(&mut self, t: i128) -> io::Result<i128> {
        let start = Instant::now();
        loop {
            let now = self.now()?;
            if now > t || start.elapsed() > Duration::from_secs(3) {
                return Ok(now);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Records `written` (output-relative paths under `out` and the sha256 of the bytes just
/// written or linked there) as they are on disk now, with the entries of `kept` as they
/// were, and replaces the record of `out` with the result, atomically. Files whose ctime is
/// not older than the moment this began are stamped again once the clock has moved past
/// them, and left out if they changed meanwhile.
pub fn write<'a>(
    out: &Path,
    written: impl IntoIterator<Item = (&'a str, [u8; 32])>,
    kept: OutputRecord,
) -> Result<(), Diagnostic> {
    let target = path(out);
    let tmp = target.with_file_name(format!(
        "{}-tmp-{}",
        target.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = record_into(out, &tmp, written.into_iter().collect(), kept)
        .and_then(|()| fs::rename(&tmp, &target))
        .map_err(|e| {
            Diagnostic::new(
                target.display().to_string(),
                format!("cannot write the output record: {e}"),
            )
        });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn record_into(out: &Path, tmp: &Path, written: Vec<(&str, [u8; 32])>, mut record: OutputRecord) -> io::Result<()> {
    let mut clock = FsClock {
        file: File::create(tmp)?,
    };
    let begun = clock.now()?;
    let stamp = |rel: &str| fs::symlink_metadata(out.join(rel)).ok().as_ref().and_then(Stamp::of);
    let mut stamped: Vec<(&str, [u8; 32], Option<Stamp>)> = crate::fsio::io_pool().install(|| {
        written
            .into_par_iter()
            .filter(|(rel, _)| !rel.is_empty() && !rel.contains('\n'))
            .map(|(rel, sha256)| (rel, sha256, stamp(rel)))
            .collect()
    });
    let racy = |s: &Option<Stamp>| s.is_some_and(|s| s.ctime >= begun);
    if let Some(latest) = stamped
        .iter()
        .filter(|(_, _, s)| racy(s))
        .filter_map(|(_, _, s)| *s)
        .map(|s| s.ctime)
        .max()
    {
        let moved_on = clock.after(latest)?;
        for (rel, _, s) in stamped.iter_mut().filter(|(_, _, s)| racy(s)) {
            // Unchanged since the first look, and older than the clock now: a later change
            // gets a later ctime.
            let again = stamp(rel);
            *s = again.filter(|a| Some(*a) == *s && a.ctime < moved_on);
        }
    }
    for (rel, sha256, s) in stamped {
        match s {
            Some(stamp) => record.insert(rel.to_string(), Entry { sha256, stamp }),
            None => {
                record.entries.remove(rel);
            }
        }
    }
    let mut file = clock.file;
    file.set_len(0)?;
    use std::io::Seek;
    file.seek(io::SeekFrom::Start(0))?;
    file.write_all(&record.to_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    fn sample() -> OutputRecord {
        let mut r = OutputRecord::default();
        for (i, rel) in ["a b/\tc.html", "index.html", "z/é\r"].iter().enumerate() {
            let stamp = Stamp {
                size: i as u64,
                mtime: -1_000_000_001 + i as i128,
                ctime: 1_700_000_000_123_456_789,
                device: 2049,
                inode: 1000 + i as u64,
            };
            r.insert(
                rel.to_string(),
                Entry {
                    sha256: sha(rel.as_bytes()),
                    stamp,
                },
            );
        }
        r
    }

    #[test]
    fn a_record_reads_back_and_any_changed_byte_rejects_it_whole() {
        let r = sample();
        let bytes = r.to_bytes();
        assert_eq!(OutputRecord::parse(&bytes).unwrap(), r);
        assert!(String::from_utf8_lossy(&bytes).starts_with("sitegen-output-record 1\n"));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(
                OutputRecord::parse(&bad).is_err(),
                "byte {i} changed and still accepted"
            );
        }
        for cut in 0..bytes.len() {
            assert!(
                OutputRecord::parse(&bytes[..cut]).is_err(),
                "cut at {cut} and still accepted"
            );
        }
        assert!(OutputRecord::parse(b"").is_err());
        assert_eq!(
            OutputRecord::parse(&OutputRecord::default().to_bytes()).unwrap(),
            OutputRecord::default()
        );
    }

    #[test]
    fn an_entry_vouches_only_for_the_file_as_it_was_written() {
        use std::io::{Seek, SeekFrom};
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        fs::create_dir_all(out.join("sub")).unwrap();
        let files = [
            ("a.html", &b"aaaa"[..]),
            ("b.html", b"bbbb"),
            ("sub/c.css", b"cc"),
            ("d.html", b"dd"),
        ];
        for (rel, bytes) in files {
            fs::write(out.join(rel), bytes).unwrap();
        }
        // Recorded right after the writes: the clock has to move on for them first.
        write(
            &out,
            files.iter().map(|(rel, b)| (*rel, sha(b))),
            OutputRecord::default(),
        )
        .unwrap();
        assert_eq!(path(&out), dir.path().join(".public.sitegen-record"));
        let record = OutputRecord::read(&out);
        assert_eq!(record.len(), 4);
        let vouched = |rel: &str| record.vouches(rel, &fs::symlink_metadata(out.join(rel)).unwrap());
        for (rel, bytes) in files {
            assert_eq!(vouched(rel), Some(sha(bytes)), "{rel}");
        }

        // Rewritten in place right away, same size, the mtime put back: the ctime shows it.
        let a = out.join("a.html");
        let mtime = fs::metadata(&a).unwrap().modified().unwrap();
        let mut f = fs::OpenOptions::new().write(true).open(&a).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(b"AAAA").unwrap();
        f.set_modified(mtime).unwrap();
        drop(f);
        assert_eq!(fs::metadata(&a).unwrap().modified().unwrap(), mtime);
        assert_eq!(vouched("a.html"), None);
        // Replaced (a new inode), or touched.
        fs::write(out.join("b.tmp"), b"BBBB").unwrap();
        fs::rename(out.join("b.tmp"), out.join("b.html")).unwrap();
        assert_eq!(vouched("b.html"), None);
        fs::File::options()
            .write(true)
            .open(out.join("sub/c.css"))
            .unwrap()
            .set_modified(std::time::SystemTime::now())
            .unwrap();
        assert_eq!(vouched("sub/c.css"), None);
        assert_eq!(vouched("d.html"), Some(sha(b"dd")));
        assert_eq!(record.vouches("missing.html", &fs::metadata(&a).unwrap()), None);

        // An update keeps what it is told to keep and stamps what was written.
        fs::write(out.join("b.html"), b"bbbb").unwrap();
        let mut kept = record.clone();
        kept.retain(|rel| rel != "sub/c.css");
        write(&out, [("b.html", sha(b"bbbb"))], kept).unwrap();
        let record = OutputRecord::read(&out);
        assert_eq!(record.len(), 3);
        let vouched = |rel: &str| record.vouches(rel, &fs::symlink_metadata(out.join(rel)).unwrap());
        assert_eq!(vouched("b.html"), Some(sha(b"bbbb")));
        assert_eq!(vouched("d.html"), Some(sha(b"dd")));
        assert_eq!(vouched("a.html"), None);
        assert!(record.get("sub/c.css").is_none());

        // A corrupt record is no record.
        let p = path(&out);
        let mut bytes = fs::read(&p).unwrap();
        bytes[30] ^= 0x01;
        fs::write(&p, bytes).unwrap();
        assert!(OutputRecord::read(&out).is_empty());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    }
}
