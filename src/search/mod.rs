//! The built-in search index (`[search]`): pure, from each page's rendered Markdown to the
//! files the JavaScript client (`search.js` here, served as `js/search.js`) reads.
//!
//! The index is sharded so that a query downloads a bounded number of small files whatever
//! the site's size. Per language there is one small entry file, `search/LANG.json` (not
//! fingerprinted: it names the others), and fingerprinted fragments `search/LANG/HASH.json`
//! whose name is the hash of their bytes, so `publish` caches them forever:
//!
//! - **term fragments**: the sorted keys of the index (stems, the word forms that stem to
//!   something else, and filter keys such as `s:docs` or `t:tags:rust`) cut into runs.
//!   A run ends where a key's hash says so (content-defined boundaries, 1 key in
//!   [`CHUNK_EVERY`] on average) or at [`CHUNK_MAX_BYTES`], so an edit that adds or drops a
//!   word changes the run holding it and no other: the other fragments keep their bytes and
//!   names. The entry file lists each fragment's first key; the client fetches the one whose
//!   range holds a query word (and, for the word being typed, the runs its prefix spans).
//! - **page fragments**: the title, URL and excerpt text of [`META_SIZE`] pages each, in
//!   URL order, fetched only for the results shown.
//!
//! Postings are packed into strings: per page, the gap from the previous page number and
//! the score, each in [`push_number`]'s base-32 digits.
//!
//! A posting's score depends only on its own page's counts (weighted by field), never on
//! the page's length or on other pages, so one edit touches only the postings of the words
//! whose counts it changed. The client weights terms by their document frequency.

pub mod text;
pub mod tokenize;
pub mod zola;

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use rayon::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::content::SiteModel;
use crate::markdown::Heading;
use tokenize::Tokenizer;

/// The JavaScript client, added to the assets as [`CLIENT_PATH`] when `[search]` is on
/// (a theme links it with `asset(path="js/search.js")`; a site's own file of that name wins).
pub const CLIENT_JS: &str = include_str!("search.js");
pub const CLIENT_PATH: &str = "js/search.js";

/// On average one key in this many starts a new term fragment.
pub const CHUNK_EVERY: u64 = 64;
/// A term fragment ends before it grows past this many bytes of JSON.
pub const CHUNK_MAX_BYTES: usize = 48 * 1024;
/// Pages per page fragment.
pub const META_SIZE: usize = 8;
/// The entry file's format version (the client refuses others).
pub const FORMAT_VERSION: u32 = 1;

/// One file of the index: its output path, its bytes, and whether its name is its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub fingerprinted: bool,
    /// The sha256 of `bytes` (a fragment's name is made from it, so it is computed once).
    pub sha256: [u8; 32],
}

impl SearchFile {
    pub fn new(path: String, bytes: Vec<u8>) -> SearchFile {
        SearchFile {
            sha256: Sha256::digest(&bytes).into(),
            path,
            bytes,
            fingerprinted: false,
        }
    }
}

/// What the index takes from one page or section.
pub struct Document<'a> {
    /// Its URL path below the base URL (`/docs/search/`).
    pub path: &'a str,
    pub lang: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    /// The rendered Markdown.
    pub html: &'a str,
    /// The template value `html` is the text of, when it has one: the cache then knows an
    /// unchanged render by its identity (a reused render is the same allocation) instead of
    /// hashing its text, and keeps it alive so the identity stays unique.
    pub html_value: Option<&'a tera::Value>,
    pub toc: &'a [Heading],
    /// Its section, for the section filter: the folder under `content/` (`docs`) and title.
    pub section: (&'a str, &'a str),
    /// Its taxonomy terms: (taxonomy, term).
    pub terms: Vec<(&'a str, &'a str)>,
}

/// The documents of `model` that the index holds: the pages (and sections with text) of the
/// languages with search on, under `[search] sections` when given.
pub fn documents<'a>(
    model: &'a SiteModel,
    config: &Config,
    page_render: impl Fn(usize) -> (&'a tera::Value, &'a [Heading]),
    section_render: impl Fn(usize) -> (&'a tera::Value, &'a [Heading]),
) -> Vec<Document<'a>> {
    let wanted = |rel: &str| {
        config.search.sections.is_empty()
            || config.search.sections.iter().any(|d| {
                let d = d.trim_matches('/');
                rel.strip_prefix(d).is_some_and(|r| r.starts_with('/'))
            })
    };
    let section_of = |i: usize| {
        let s = &model.sections[i];
        (s.dir.as_str(), s.fm.title.as_deref().unwrap_or(""))
    };
    let mut docs = Vec::new();
    for (i, p) in model.pages.iter().enumerate() {
        if !config.search_enabled(&p.lang) || !wanted(&p.relative_path) {
            continue;
        }
        let (html_value, toc) = page_render(i);
        let terms =
            p.fm.taxonomies
                .iter()
                .flat_map(|(t, names)| names.iter().map(move |n| (t.as_str(), n.as_str())))
                .collect();
        docs.push(Document {
            path: &p.path,
            lang: &p.lang,
            title: p.title(),
            description: p.fm.description.as_deref().unwrap_or(""),
            html: html_value.as_str().unwrap_or(""),
            html_value: Some(html_value),
            toc,
            section: section_of(p.section),
            terms,
        });
    }
    for (i, s) in model.sections.iter().enumerate() {
        if !s.fm.render || s.fm.redirect_to.is_some() || !config.search_enabled(&s.lang) {
            continue;
        }
        if !wanted(&s.relative_path) || s.body().trim().is_empty() {
            continue;
        }
        let (html_value, toc) = section_render(i);
        docs.push(Document {
            path: &s.path,
            lang: &s.lang,
            title: s.fm.title.as_deref().unwrap_or(""),
            description: s.fm.description.as_deref().unwrap_or(""),
            html: html_value.as_str().unwrap_or(""),
            html_value: Some(html_value),
            toc,
            section: section_of(i),
            terms: Vec::new(),
        });
    }
    docs
}

/// One document, tokenized: what it gives the index.
pub struct Indexed {
    path: String,
    title: String,
    /// Text for excerpts (the first words of the description and body).
    text: String,
    /// Term → score (terms shared with the worker's stem memo, not copied per page).
    scores: Vec<(Arc<str>, u32)>,
    /// Word form → term, where they differ.
    forms: Vec<(Arc<str>, Arc<str>)>,
    section: (String, String),
    /// Filter keys (`s:docs`, `t:tags:rust`).
    filters: Vec<String>,
}

/// One worker's memory of the words it has seen, so a page's words are counted in arrays
/// (by id) rather than in a map per page, and each form is stemmed once per worker.
#[derive(Default)]
struct Worker {
    /// Word form → its id: forms of up to 16 bytes by [`short_key`] (no string is hashed or
    /// compared), longer ones by their text.
    short_ids: HashMap<(u64, u64, u32), u32>,
    form_ids: HashMap<String, u32>,
    /// By form id: the form and its term's id.
    forms: Vec<(Arc<str>, u32)>,
    /// Term → its id.
    term_ids: HashMap<Arc<str>, u32>,
    /// By term id.
    terms: Vec<Arc<str>>,
    /// Per page, by form id and by term id: counts per field, and the ids counted.
    form_counts: Vec<[u32; 4]>,
    form_seen: Vec<u32>,
    term_counts: Vec<[u32; 4]>,
    term_seen: Vec<u32>,
}

impl Worker {
    /// The id of `form` (lowercased), made on its first sight along with its term's.
    fn form_id(&mut self, form: &str, cjk: bool, tok: &Tokenizer) -> u32 {
        if let Some(key) = short_key(form.as_bytes()) {
            if let Some(&id) = self.short_ids.get(&key) {
                return id;
            }
            let id = self.new_form(form, cjk, tok);
            self.short_ids.insert(key, id);
            return id;
        }
        if let Some(&id) = self.form_ids.get(form) {
            return id;
        }
        let id = self.new_form(form, cjk, tok);
        self.form_ids.insert(form.to_string(), id);
        id
    }

    fn new_form(&mut self, form: &str, cjk: bool, tok: &Tokenizer) -> u32 {
        let form_arc: Arc<str> = Arc::from(form);
        let term: Arc<str> = if cjk { form_arc.clone() } else { tok.stem(form).into() };
        let term_id = match self.term_ids.get(&term) {
            Some(&t) => t,
            None => {
                let t = self.terms.len() as u32;
                self.terms.push(term.clone());
                self.term_ids.insert(term, t);
                self.term_counts.push([0; 4]);
                t
            }
        };
        let id = self.forms.len() as u32;
        self.forms.push((form_arc, term_id));
        self.form_counts.push([0; 4]);
        id
    }
}

/// The bytes of a string of at most 16 bytes as numbers, with its length: loads that overlap
/// in the middle cover every byte, and with the length they say which string it is.
#[inline]
fn short_key(b: &[u8]) -> Option<(u64, u64, u32)> {
    let n = b.len();
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let half = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes")));
    match n {
        0 => Some((0, 0, 0)),
        1..=3 => Some((
            u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
            0,
            n as u32,
        )),
        4..=7 => Some((half(0) | half(n - 4) << 32, 0, n as u32)),
        8..=16 => Some((word(0), word(n - 8), n as u32)),
        _ => None,
    }
}

fn index_document(doc: &Document<'_>, tok: &Tokenizer, config: &Config, w: &mut Worker) -> Indexed {
    let weights = &config.search.fields;
    let body = text::spaced_text(doc.html);
    let mut headings = Vec::new();
    collect_headings(doc.toc, &mut headings);
    let headings = text::visible_text(&headings.join(" "));
    let fields = [
        (doc.title, weights.title),
        (doc.description, weights.description),
        (headings.as_str(), weights.headings),
        (body.as_str(), weights.body),
    ];
    // Counts by word form first, so each distinct form is stemmed once.
    for (f, (text, weight)) in fields.iter().enumerate() {
        if *weight == 0 {
            continue;
        }
        tokenize::for_each_word(text, |form, cjk| {
            let id = w.form_id(form, cjk, tok) as usize;
            let c = &mut w.form_counts[id];
            if *c == [0; 4] {
                w.form_seen.push(id as u32);
            }
            c[f] += 1;
        });
    }
    // Then by term: the forms that stem to the same term add up.
    let mut forms = Vec::new();
    for id in std::mem::take(&mut w.form_seen) {
        let c = std::mem::take(&mut w.form_counts[id as usize]);
        let (form, term_id) = &w.forms[id as usize];
        let term = &w.terms[*term_id as usize];
        if **form != **term {
            forms.push((form.clone(), term.clone()));
        }
        let t = &mut w.term_counts[*term_id as usize];
        if *t == [0; 4] {
            w.term_seen.push(*term_id);
        }
        for (x, y) in t.iter_mut().zip(c) {
            *x += y;
        }
    }
    let counts: Vec<(Arc<str>, [u32; 4])> = std::mem::take(&mut w.term_seen)
        .into_iter()
        .map(|t| {
            (
                w.terms[t as usize].clone(),
                std::mem::take(&mut w.term_counts[t as usize]),
            )
        })
        .collect();
    let scores = counts
        .into_iter()
        .map(|(term, c)| {
            let s: f64 = c
                .iter()
                .zip(fields.iter())
                .filter(|(n, _)| **n > 0)
                .map(|(n, (_, w))| f64::from(*w) * log_count(*n))
                .sum();
            (term, (s * 4.0).round().clamp(1.0, 65535.0) as u32)
        })
        .collect();
    let mut filters = vec![format!("s:{}", doc.section.0)];
    filters.extend(doc.terms.iter().map(|(t, n)| format!("t:{t}:{}", n.to_lowercase())));
    filters.sort();
    filters.dedup();
    let excerpt_words = config.search.excerpt_length * 4;
    // The excerpt: the description's first words, then the body's.
    let mut excerpt = String::new();
    let taken = text::push_first_words(&mut excerpt, doc.description, excerpt_words);
    if taken < excerpt_words {
        if !excerpt.is_empty() {
            excerpt.push(' ');
        }
        text::push_first_words(&mut excerpt, &body, excerpt_words - taken);
    }
    // Only the excerpt's whitespace is collapsed (the body's is read by the tokenizer).
    let excerpt = text::collapse(&excerpt);
    Indexed {
        path: doc.path.trim_start_matches('/').to_string(),
        title: doc.title.to_string(),
        text: excerpt,
        scores,
        forms,
        section: (doc.section.0.to_string(), doc.section.1.to_string()),
        filters,
    }
}

/// `1 + ln(n)`, the weight of a word seen `n` times in a field: from a table for the counts
/// most words have (a page has hundreds of distinct words, each scored per field).
fn log_count(n: u32) -> f64 {
    static TABLE: std::sync::LazyLock<[f64; 256]> =
        std::sync::LazyLock::new(|| std::array::from_fn(|i| 1.0 + (i as f64).ln()));
    match TABLE.get(n as usize) {
        Some(w) => *w,
        None => 1.0 + f64::from(n).ln(),
    }
}

fn collect_headings(toc: &[Heading], out: &mut Vec<String>) {
    for h in toc {
        out.push(h.title.clone());
        collect_headings(&h.children, out);
    }
}

/// What one build tokenized, by page, for the next build: a page whose text, title,
/// description, headings, section, terms and URL are the same is not tokenized again.
#[derive(Default)]
pub struct SearchCache {
    docs: std::collections::HashMap<(String, String), Cached>,
    /// Set for a one-shot build (no next build to lend pages to): pages are then neither
    /// keyed nor kept.
    off: bool,
}

impl SearchCache {
    /// No cache: for a build that has no next one.
    pub fn none() -> SearchCache {
        SearchCache {
            off: true,
            ..SearchCache::default()
        }
    }
}

/// One page's entry of the cache: its key, what it gave, and (when the key holds the
/// identity of its HTML's value) that value, kept alive so no other can have its address.
struct Cached {
    key: u64,
    indexed: Arc<Indexed>,
    _html: Option<tera::Value>,
}

/// Texts at most this long are keyed by their bytes: a short string lives inside its value
/// (no shared allocation), so its address says nothing.
const SHORT_HTML: usize = 64;

/// What decides a document's [`Indexed`] (with the config, which a builder is reset by).
fn doc_key(d: &Document<'_>) -> u64 {
    let mut headings = Vec::new();
    collect_headings(d.toc, &mut headings);
    let small = (d.path, d.title, d.description, headings, d.section, &d.terms);
    match d.html_value {
        Some(_) if d.html.len() > SHORT_HTML => crate::keys::hash_of((small, d.html.as_ptr() as usize, d.html.len())),
        _ => crate::keys::hash_of((small, d.html)),
    }
}

/// The index files of `docs`, one set per language with search on (sorted by path).
pub fn index(docs: &[Document<'_>], config: &Config) -> Vec<SearchFile> {
    index_cached(docs, config, &mut SearchCache::none())
}

/// [`index`], taking unchanged pages from `cache` and leaving this build's in it.
pub fn index_cached(docs: &[Document<'_>], config: &Config, cache: &mut SearchCache) -> Vec<SearchFile> {
    let mut files = Vec::new();
    let mut next = std::collections::HashMap::new();
    for lang in config.site_languages() {
        if !config.search_enabled(&lang.code) {
            continue;
        }
        let mut mine: Vec<&Document<'_>> = docs.iter().filter(|d| d.lang == lang.code).collect();
        mine.sort_by(|a, b| a.path.cmp(b.path));
        mine.dedup_by(|a, b| a.path == b.path);
        let tok = Tokenizer::new(&lang.code);
        let indexed: Vec<(u64, Arc<Indexed>)> = mine
            .par_iter()
            .map_init(Worker::default, |worker, d| {
                if cache.off {
                    return (0, Arc::new(index_document(d, &tok, config, worker)));
                }
                let key = doc_key(d);
                match cache.docs.get(&(lang.code.clone(), d.path.to_string())) {
                    Some(c) if c.key == key => (key, c.indexed.clone()),
                    _ => (key, Arc::new(index_document(d, &tok, config, worker))),
                }
            })
            .collect();
        for (d, (key, i)) in mine.iter().zip(&indexed).filter(|_| !cache.off) {
            let entry = Cached {
                key: *key,
                indexed: i.clone(),
                _html: d.html_value.cloned(),
            };
            next.insert((lang.code.clone(), d.path.to_string()), entry);
        }
        let indexed: Vec<&Indexed> = indexed.iter().map(|(_, i)| &**i).collect();
        files.extend(language_files(&lang.code, &indexed, config));
    }
    cache.docs = next;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// A key of the index: the postings of a term (doc id, score), the term a word form
/// stems to, or both.
#[derive(Default)]
struct Key<'a> {
    postings: Vec<(usize, u32)>,
    stem: Option<&'a str>,
}

/// The keys of `docs` (whose ids start at `first`), each with its postings in id order.
fn collect_keys<'a>(docs: &[&'a Indexed], first: usize) -> HashMap<&'a str, Key<'a>> {
    let mut keys: HashMap<&str, Key> = HashMap::default();
    for (id, d) in docs.iter().enumerate() {
        let id = first + id;
        for (term, score) in &d.scores {
            keys.entry(term).or_default().postings.push((id, *score));
        }
        for f in &d.filters {
            keys.entry(f).or_default().postings.push((id, 0));
        }
        for (form, term) in &d.forms {
            keys.entry(form).or_default().stem = Some(&**term);
        }
    }
    keys
}

/// All keys of `docs`, sorted: collected in parallel over runs of pages, merged in page
/// order (so postings stay sorted by id), then sorted in parallel.
fn sorted_keys<'a>(docs: &[&'a Indexed]) -> Vec<(&'a str, Key<'a>)> {
    let per = docs.len().div_ceil(rayon::current_num_threads().max(1) * 4).max(256);
    let parts: Vec<HashMap<&str, Key>> = docs
        .par_chunks(per)
        .enumerate()
        .map(|(i, chunk)| collect_keys(chunk, i * per))
        .collect();
    let mut parts = parts.into_iter();
    let mut all = parts.next().unwrap_or_default();
    for part in parts {
        for (k, v) in part {
            let e = all.entry(k).or_default();
            e.postings.extend(v.postings);
            if v.stem.is_some() {
                e.stem = v.stem;
            }
        }
    }
    let mut keys: Vec<(&str, Key)> = all.into_iter().collect();
    keys.par_sort_unstable_by(|a, b| a.0.cmp(b.0));
    keys
}

/// One fragment file of `lang`'s index: its name is the hash of its bytes.
fn fragment(lang: &str, value: &Value, hash_len: usize) -> (String, SearchFile) {
    let bytes = serde_json::to_vec(value).expect("JSON of strings and numbers");
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    let hash = crate::paths::hex(&sha256)[..hash_len].to_string();
    let file = SearchFile {
        path: format!("search/{lang}/{hash}.json"),
        bytes,
        fingerprinted: true,
        sha256,
    };
    (hash, file)
}

/// The JSON of one term fragment: `t` (packed postings by key) and `f` (word form → stem).
fn term_fragment(keys: &[(&str, Key<'_>)]) -> Value {
    let mut t = serde_json::Map::new();
    let mut f = serde_json::Map::new();
    for (k, entry) in keys {
        if !entry.postings.is_empty() {
            let mut packed = String::with_capacity(entry.postings.len() * 2);
            let mut last = 0;
            for (id, score) in &entry.postings {
                push_number(&mut packed, id - last);
                push_number(&mut packed, *score as usize);
                last = *id;
            }
            t.insert(k.to_string(), Value::from(packed));
        }
        if let Some(s) = entry.stem {
            f.insert(k.to_string(), Value::from(s));
        }
    }
    json!({"t": t, "f": f})
}

/// Where term fragments end: after a key whose hash says so, or before the fragment grows
/// past [`CHUNK_MAX_BYTES`]. Returns the start of each run.
fn chunk_starts(keys: &[(&str, Key<'_>)]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut cur_bytes = 0;
    for (i, (k, entry)) in keys.iter().enumerate() {
        let entry_bytes = k.len() * 2 + entry.postings.len() * 3 + entry.stem.map_or(0, |s| s.len() + k.len());
        let boundary = fnv1a(k.as_bytes()).is_multiple_of(CHUNK_EVERY) || cur_bytes + entry_bytes > CHUNK_MAX_BYTES;
        if cur_bytes == 0 || boundary {
            starts.push(i);
            cur_bytes = 0;
        }
        cur_bytes += entry_bytes;
    }
    starts
}

fn language_files(lang: &str, docs: &[&Indexed], config: &Config) -> Vec<SearchFile> {
    let keys = sorted_keys(docs);
    let hash_len = config.assets.hash_length;
    // Term fragments, serialised and hashed in parallel.
    let starts = chunk_starts(&keys);
    let runs: Vec<(usize, usize)> = starts
        .iter()
        .zip(starts.iter().skip(1).chain(std::iter::once(&keys.len())))
        .map(|(a, b)| (*a, *b))
        .collect();
    let terms: Vec<(Value, SearchFile)> = runs
        .par_iter()
        .map(|&(a, b)| {
            let (hash, file) = fragment(lang, &term_fragment(&keys[a..b]), hash_len);
            (json!([keys[a].0, hash]), file)
        })
        .collect();
    let mut files = Vec::with_capacity(terms.len() + docs.len() / META_SIZE + 2);
    let mut chunks = Vec::with_capacity(terms.len());
    for (c, f) in terms {
        chunks.push(c);
        files.push(f);
    }
    // The first fragment starts at the smallest key.
    if let Some(c) = chunks.first_mut() {
        c[0] = Value::from("");
    }
    // Page fragments.
    let pages: Vec<(String, SearchFile)> = docs
        .par_chunks(META_SIZE)
        .map(|group| {
            let pages: Vec<Value> = group
                .iter()
                .map(|d| json!({"u": d.path, "t": d.title, "x": d.text, "s": d.section.1}))
                .collect();
            fragment(lang, &Value::from(pages), hash_len)
        })
        .collect();
    let mut meta = Vec::with_capacity(pages.len());
    for (hash, f) in pages {
        meta.push(Value::from(hash));
        files.push(f);
    }
    // Filters the client can offer: sections and taxonomy terms, with their page counts.
    let mut sections: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    let mut terms: BTreeMap<&str, usize> = BTreeMap::new();
    for d in docs {
        sections.entry(&d.section.0).or_insert((&d.section.1, 0)).1 += 1;
        for f in d.filters.iter().filter(|f| f.starts_with("t:")) {
            *terms.entry(f).or_default() += 1;
        }
    }
    let sections: Vec<Value> = sections
        .iter()
        .map(|(dir, (title, n))| json!([dir, title, n]))
        .collect();
    let terms: Vec<Value> = terms.iter().map(|(k, n)| json!([&k[2..], n])).collect();
    let entry = json!({
        "version": FORMAT_VERSION,
        "lang": lang,
        "stemmer": Tokenizer::stemmer_name(lang),
        "docs": docs.len(),
        "excerpt_length": config.search.excerpt_length,
        "dir": format!("{lang}/"),
        "chunks": chunks,
        "meta_size": META_SIZE,
        "meta": meta,
        "sections": sections,
        "terms": terms,
    });
    let mut bytes = serde_json::to_vec(&entry).expect("JSON of strings and numbers");
    bytes.push(b'\n');
    files.push(SearchFile::new(format!("search/{lang}.json"), bytes));
    files
}

/// The digits of packed postings: 64 characters that JSON strings need no escape for.
const DIGITS: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// Appends `n` in base 32, most significant digit first, every digit but the last marked
/// by +32: numbers below 32 (most gaps between page numbers, most scores) take one character.
pub fn push_number(out: &mut String, n: usize) {
    let mut digits = [0u8; 16];
    let mut len = 0;
    let mut n = n;
    loop {
        digits[len] = (n % 32) as u8;
        len += 1;
        n /= 32;
        if n == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        let d = digits[i] + if i > 0 { 32 } else { 0 };
        out.push(DIGITS[d as usize] as char);
    }
}

/// The numbers [`push_number`] wrote into `packed`.
pub fn read_numbers(packed: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut acc = 0;
    for c in packed.bytes() {
        let d = DIGITS.iter().position(|&x| x == c).unwrap_or(0);
        acc = acc * 32 + (d & 31);
        if d < 32 {
            out.push(acc);
            acc = 0;
        }
    }
    out
}

/// FNV-1a, 64 bits: the content-defined boundaries of term fragments (stable across
/// builds, platforms and Rust versions, unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_tell_every_string_of_up_to_16_bytes_apart() {
        // Every string over a 3-letter alphabet up to length 9, and longer ones that share
        // their first and last 8 bytes with others.
        let mut seen = std::collections::HashMap::new();
        let mut words = vec![String::new()];
        for len in 1..=9 {
            let prev: Vec<String> = words.iter().filter(|w| w.len() == len - 1).cloned().collect();
            for w in prev {
                for c in ['a', 'b', 'c'] {
                    words.push(format!("{w}{c}"));
                }
            }
        }
        words.extend(["abcdefghbcdefghi", "abcdefghi", "abcdefgh_bcdefghi", "abcdefgXbcdefghi"].map(String::from));
        for w in &words {
            if let Some(k) = short_key(w.as_bytes()) {
                if let Some(other) = seen.insert(k, w.clone()) {
                    panic!("{w:?} and {other:?} have the same key");
                }
            } else {
                assert!(w.len() > 16);
            }
        }
        assert!(seen.len() > 29_000);
    }

    #[test]
    fn the_body_is_read_with_its_whitespace_and_the_excerpt_collapsed() {
        let config = Config::parse(
            "config.toml",
            "base_url = \"https://example.com\"\n[search]\nenabled = true\n",
        )
        .expect("a valid config");
        let html = "<h2>Setup  guide</h2>\n\n<p>Install\n   the <em>tool</em>,\tthen\n\nrun it.</p><ul><li>one</li><li>two</li></ul>";
        let doc = Document {
            path: "/docs/setup/",
            lang: "en",
            title: "Setup",
            description: "How  to\nstart.",
            html,
            html_value: None,
            toc: &[],
            section: ("docs", "Docs"),
            terms: Vec::new(),
        };
        let indexed = index_document(&doc, &Tokenizer::new("en"), &config, &mut Worker::default());
        assert_eq!(
            indexed.text,
            "How to start. Setup guide Install the tool, then run it. one two"
        );
        let terms: Vec<&str> = indexed.scores.iter().map(|(t, _)| &**t).collect();
        for t in [
            "setup", "guid", "instal", "tool", "then", "run", "it", "one", "two", "how", "start",
        ] {
            assert!(terms.contains(&t), "{t} in {terms:?}");
        }
    }

    #[test]
    fn packed_numbers_read_back() {
        let ns = [0, 1, 31, 32, 33, 1023, 1024, 65535, 1 << 40];
        let mut s = String::new();
        for n in ns {
            push_number(&mut s, n);
        }
        assert_eq!(&s[..3], "01V");
        assert_eq!(read_numbers(&s), ns);
    }
}
