//! The external link check's results by URL, in `.sitegen/links.json`, so a check a day
//! later asks again only about what it has not seen recently. Like the image cache it is
//! neither input nor output: whether an entry is there changes only how many requests a
//! check makes. Only alive results are kept, so a dead link (perhaps a server down for a
//! moment) is asked about again on every check.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Outcome;

/// One URL's last alive result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix time (seconds) of the check.
    pub checked: u64,
    pub outcome: Outcome,
}

/// The cache: URL → its last alive result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkCache {
    pub entries: BTreeMap<String, Entry>,
}

impl LinkCache {
    /// Reads the cache at `path`; a missing or unreadable file is an empty cache (it is a
    /// cache: the check then asks again).
    pub fn read(path: &Path) -> LinkCache {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the cache to `path` (under a temporary name, then renamed).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path)
    }

    /// The result for `url` if it was checked less than `max_age` seconds before `now`.
    pub fn fresh(&self, url: &str, now: u64, max_age: u64) -> Option<&Outcome> {
        self.entries
            .get(url)
            .filter(|e| now.saturating_sub(e.checked) < max_age)
            .map(|e| &e.outcome)
    }

    /// Keeps an alive result (others are dropped, so they are asked about next time).
    pub fn record(&mut self, url: &str, outcome: &Outcome, now: u64) {
        if matches!(outcome, Outcome::Alive(_)) {
            self.entries.insert(
                url.to_string(),
                Entry {
                    checked: now,
                    outcome: outcome.clone(),
                },
            );
        } else {
            self.entries.remove(url);
        }
    }

    /// Drops the entries older than `max_age` seconds, so the file does not grow forever.
    pub fn expire(&mut self, now: u64, max_age: u64) {
        self.entries.retain(|_, e| now.saturating_sub(e.checked) < max_age);
    }
}
