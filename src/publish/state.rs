//! The state object (`PREFIX.sitegen-state.json`): what sitegen uploaded under a prefix,
//! object by object: sha256, size, the ETag the upload returned, the headers it set, and
//! whether it is fingerprinted. Pure: (de)serialisation only; [`super::s3`] reads and writes it.
//!
//! A record is trusted only while the listed object still has the recorded size and ETag, so
//! an object replaced behind sitegen's back (or a lost state object) costs a re-upload, never a
//! wrong "unchanged".

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Headers;

pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishState {
    pub version: u32,
    /// URL paths whose invalidation is still owed: their objects changed, but the publish
    /// stopped before CloudFront was told. The next publish invalidates them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_invalidation: Vec<String>,
    /// Keys a publish set out to change (upload or delete) and did not confirm: written
    /// before the first change, cleared key by key by the state the run ends with. Their
    /// records are not trusted (a run that died, or a server whose LIST has no ETags, may
    /// have left other bytes there), so the next publish writes them again.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub changing: BTreeSet<String>,
    /// Key relative to the prefix → what was uploaded there.
    pub objects: BTreeMap<String, Record>,
}

impl Default for PublishState {
    fn default() -> Self {
        PublishState {
            version: VERSION,
            pending_invalidation: Vec::new(),
            changing: BTreeSet::new(),
            objects: BTreeMap::new(),
        }
    }
}

// No `deny_unknown_fields` here: serde does not support it together with `flatten`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub sha256: String,
    pub size: u64,
    pub etag: String,
    #[serde(flatten)]
    pub headers: Headers,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immutable: bool,
    /// When (Unix seconds) a fingerprinted object stopped being part of the site; it is kept
    /// for the target's `keep_superseded` period after that, then deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_at: Option<i64>,
}

impl PublishState {
    pub fn parse(bytes: &[u8]) -> Result<PublishState, String> {
        let s: PublishState = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if s.version != VERSION {
            return Err(format!(
                "unknown state version {} (this sitegen writes {VERSION})",
                s.version
            ));
        }
        Ok(s)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("the state serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut s = PublishState::default();
        s.objects.insert(
            "a.html".into(),
            Record {
                sha256: "ab".into(),
                size: 3,
                etag: "\"e\"".into(),
                headers: Headers {
                    content_type: "text/html".into(),
                    cache_control: "no-cache".into(),
                    content_encoding: None,
                    website_redirect: Some("/b/".into()),
                },
                immutable: false,
                superseded_at: None,
            },
        );
        let bytes = s.to_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"version":1,"objects":{"a.html":{"sha256":"ab","size":3,"etag":"\"e\"","content_type":"text/html","cache_control":"no-cache","website_redirect":"/b/"}}}"#
        );
        assert_eq!(PublishState::parse(&bytes).unwrap(), s);
        assert!(PublishState::parse(br#"{"version":2,"objects":{}}"#).is_err());
    }
}
