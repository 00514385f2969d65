//! Zola's search index formats, for themes written for Zola (`[search] zola_compat`):
//! `elasticlunr_json` writes `search_index.LANG.json` and `elasticlunr_javascript` writes
//! `search_index.LANG.js` (`window.searchIndex = …;`), each an elasticlunr.js 0.9.5 index
//! of every page's title and text with the page's permalink as its ref, and both write
//! `elasticlunr.min.js` (elasticlunr 0.9.5, MIT, as Zola ships it) at the site's root.
//!
//! Tokens follow elasticlunr's pipeline (split on whitespace and hyphens, lowercased,
//! non-word characters trimmed from the ends) and English is stemmed with Snowball's English
//! stemmer where elasticlunr.js runs Porter's: the two agree on most words, not all. Other
//! languages are not stemmed (Zola's themes load lunr-languages for them). Unlike sitegen's
//! own index, this is one file that every visitor downloads whole.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{text, Document, SearchFile};
use crate::config::Config;

/// elasticlunr 0.9.5's minified build, written for the Zola formats.
pub const ELASTICLUNR_JS: &str = include_str!("elasticlunr.min.js");

/// The Zola-format files of `docs` (none unless `[search] zola_compat` names a format).
pub fn files(docs: &[Document<'_>], config: &Config) -> Vec<SearchFile> {
    let formats = &config.search.zola_compat;
    if formats.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for lang in config.site_languages() {
        if !config.search_enabled(&lang.code) {
            continue;
        }
        let mut mine: Vec<&Document<'_>> = docs.iter().filter(|d| d.lang == lang.code).collect();
        mine.sort_by(|a, b| a.path.cmp(b.path));
        mine.dedup_by(|a, b| a.path == b.path);
        let index = serde_json::to_string(&elasticlunr(&mine, &lang.code, config)).expect("JSON");
        for f in formats {
            let (name, bytes) = match f.as_str() {
                "elasticlunr_javascript" => (
                    format!("search_index.{}.js", lang.code),
                    format!("window.searchIndex = {index};\n"),
                ),
                _ => (format!("search_index.{}.json", lang.code), index.clone()),
            };
            out.push(SearchFile::new(name, bytes.into_bytes()));
        }
    }
    out.push(SearchFile::new(
        "elasticlunr.min.js".into(),
        ELASTICLUNR_JS.as_bytes().to_vec(),
    ));
    out
}

/// elasticlunr's tokens of `text`.
fn tokens(text: &str, stem: Option<&rust_stemmers::Stemmer>) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-')
        .map(|t| t.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|t| !t.is_empty())
        .map(|t| match stem {
            Some(s) => s.stem(t).into_owned(),
            None => t.to_string(),
        })
        .collect()
}

/// A trie node of elasticlunr's inverted index.
#[derive(Default)]
struct Node {
    docs: BTreeMap<String, f64>,
    children: BTreeMap<char, Node>,
}

impl Node {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        let docs: Map<String, Value> = self
            .docs
            .iter()
            .map(|(r, tf)| (r.clone(), json!({ "tf": tf })))
            .collect();
        m.insert("docs".into(), Value::Object(docs));
        m.insert("df".into(), Value::from(self.docs.len()));
        for (c, n) in &self.children {
            m.insert(c.to_string(), n.to_json());
        }
        Value::Object(m)
    }
}

fn elasticlunr(docs: &[&Document<'_>], lang: &str, config: &Config) -> Value {
    let stemmer = lang
        .split(['-', '_'])
        .next()
        .filter(|p| p.eq_ignore_ascii_case("en"))
        .map(|_| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English));
    let fields = ["title", "body"];
    let mut roots: [Node; 2] = Default::default();
    let mut store = Map::new();
    let mut info = Map::new();
    for d in docs {
        let r = config.permalink(d.path);
        let body = text::visible_text(d.html);
        let mut lengths = Map::new();
        for (f, text) in [d.title, body.as_str()].iter().enumerate() {
            let toks = tokens(text, stemmer.as_ref());
            lengths.insert(fields[f].into(), Value::from(toks.len()));
            let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
            for t in &toks {
                *counts.entry(t).or_default() += 1;
            }
            for (t, n) in counts {
                let mut node = &mut roots[f];
                for c in t.chars() {
                    node = node.children.entry(c).or_default();
                }
                node.docs.insert(r.clone(), f64::from(n).sqrt());
            }
        }
        store.insert(r.clone(), json!({"id": r, "title": d.title, "body": body}));
        info.insert(r, Value::Object(lengths));
    }
    let mut index = Map::new();
    for (f, root) in fields.iter().zip(&roots) {
        index.insert((*f).into(), json!({ "root": root.to_json() }));
    }
    json!({
        "version": "0.9.5",
        "fields": fields,
        "ref": "id",
        "documentStore": {"docs": store, "docInfo": info, "length": docs.len(), "save": true},
        "index": index,
        "pipeline": ["trimmer", "stopWordFilter", "stemmer"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_elasticlunrs_pipeline() {
        let en = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
        assert_eq!(
            tokens("Static-site (generators), \"fast\"!", Some(&en)),
            ["static", "site", "generat", "fast"]
        );
        assert_eq!(tokens("Les sites", None), ["les", "sites"]);
    }
}
