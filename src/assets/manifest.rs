//! `manifest.json`: the one schema of the asset manifest, written by the build (for app
//! servers and `publish`) and read by `publish` (which caches exactly the files it lists
//! forever).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The asset pipeline's `manifest.json` at the root of the output: logical name → hashed file.
pub const MANIFEST: &str = "manifest.json";

/// The manifest: every fingerprinted asset by its logical path (`css/site.scss`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub assets: BTreeMap<String, ManifestEntry>,
}

/// One fingerprinted asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Where it is served from (`assets_base_url` or the site's base URL, then `path`).
    pub url: String,
    /// Its path in the output (`css/site.1a2b3c4d.css`).
    pub path: String,
    /// The SRI hash (`sha384-…`), empty in `serve`.
    pub integrity: String,
    pub size: usize,
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl Manifest {
    /// The schema's version; a manifest of another version is refused when read.
    pub const VERSION: u32 = 1;

    /// Pretty JSON with a final newline, as written to the output.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("manifest serialises");
        s.push('\n');
        s
    }

    /// Reads a manifest written by [`Manifest::to_json`].
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if m.version != Manifest::VERSION {
            return Err(format!(
                "manifest version {} is not {} (written by another sitegen version; build again)",
                m.version,
                Manifest::VERSION
            ));
        }
        Ok(m)
    }
}
