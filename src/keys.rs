//! Cache keys and value identity, shared by the builder (which decides what to reuse) and
//! the template functions (which record what each output read). A leaf: it imports nothing
//! from the crate, so both stages can use it without depending on each other.
//!
//! Reuse is keyed on identity for the big shared values: a page's, section's or taxonomy's
//! template value is built once and shared by reference count; when its inputs do not change
//! the next build reuses the same allocation, so "same address" means "same value" as long
//! as the cache that compares keeps the old value alive (invariant 10 in ARCHITECTURE.md).

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

use tera::Value;

/// Something a template function read while rendering one output.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dep {
    Page(String),
    Section(String),
    Taxonomy(String),
    Data(String),
    Url(String),
}

/// A hash for cache keys (stable within one process, which is all a cache needs).
pub fn hash_of(parts: impl Hash) -> u64 {
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(parts)
}

/// The identity of a shared value: its allocation's address (shared values are reused when
/// unchanged and kept alive by the cache, so an equal address means the same value).
pub fn value_id(v: &Value) -> Option<usize> {
    v.as_map()
        .map(|m| m as *const _ as usize)
        .or_else(|| v.as_array().map(|a| a.as_ptr() as usize))
}

/// A hash of a context value: values in `shared` (pages, sections, terms) by identity,
/// anything else by content.
pub fn value_key(v: &Value, shared: &HashSet<usize>) -> u64 {
    if let Some(p) = value_id(v) {
        if shared.contains(&p) {
            return hash_of(("shared", p));
        }
    }
    if let Some(m) = v.as_map() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write_usize(m.len());
        for (k, child) in m.iter() {
            k.hash(&mut h);
            h.write_u64(value_key(child, shared));
        }
        return h.finish();
    }
    if let Some(a) = v.as_array() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write_usize(a.len());
        for child in a {
            h.write_u64(value_key(child, shared));
        }
        return h.finish();
    }
    if let Some(s) = v.as_str() {
        return hash_of(("s", s, v.is_safe()));
    }
    if v.is_none() || v.is_undefined() {
        return hash_of(("none", v.is_undefined()));
    }
    if let Some(b) = v.as_bool() {
        return hash_of(("b", b));
    }
    if let (true, Some(n)) = (v.is_i64() || v.is_u64(), v.as_i128()) {
        return hash_of(("n", v.kind(), n));
    }
    hash_of(("v", format!("{v:?}")))
}
