//! A small HTML attribute scanner: finds `name=value` pairs inside tags only (never in text,
//! comments or escaped code), quoted or not. Used to rewrite asset URLs and to check links.

use std::borrow::Cow;
use std::ops::Range;

/// One attribute of a tag: its lower-case name, the byte range of its value and the byte
/// range of its tag's name (the same range for every attribute of one tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Borrowed from [`COMMON`] for the usual names (no allocation per attribute).
    pub name: Cow<'static, str>,
    pub value: Range<usize>,
    pub tag: Range<usize>,
}

/// Attribute names common enough to be shared rather than copied per attribute.
const COMMON: &[&str] = &[
    "href",
    "src",
    "srcset",
    "class",
    "id",
    "rel",
    "type",
    "alt",
    "title",
    "lang",
    "content",
    "name",
    "property",
    "style",
    "width",
    "height",
    "loading",
    "decoding",
    "integrity",
    "crossorigin",
    "role",
    "hreflang",
    "media",
    "sizes",
    "charset",
    "aria-label",
    "aria-hidden",
    "hidden",
    "datetime",
    "dir",
    "target",
    "value",
    "placeholder",
    "for",
    "data-index",
    "poster",
    "action",
    "colspan",
    "align",
];

/// `raw`, lower-cased: one of [`COMMON`] when it is one, else a new string.
fn attr_name(raw: &str) -> Cow<'static, str> {
    match COMMON.iter().find(|c| c.eq_ignore_ascii_case(raw)) {
        Some(c) => Cow::Borrowed(c),
        None => Cow::Owned(raw.to_ascii_lowercase()),
    }
}

/// Where the closing tag of `name` (`</name`, any case) starts in `html`, searching from
/// `from`; without a copy of the rest of the document.
pub fn find_closing_tag(html: &str, from: usize, name: &str) -> Option<usize> {
    let b = html.as_bytes();
    let mut i = from;
    while let Some(off) = memchr::memmem::find(&b[i..], b"</") {
        let at = i + off;
        let rest = &b[at + 2..];
        if rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name.as_bytes()) {
            return Some(at);
        }
        i = at + 2;
    }
    None
}

impl Attr {
    /// Whether the attribute belongs to a tag named `name` (lower case).
    pub fn in_tag(&self, html: &str, name: &str) -> bool {
        html[self.tag.clone()].eq_ignore_ascii_case(name)
    }
}

/// Every attribute with a value in `html`, in document order. The contents of `<script>` and
/// `<style>` elements and of comments are skipped.
pub fn attributes(html: &str) -> Vec<Attr> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr(b'<', &b[i..]) {
        let lt = i + off;
        if html[lt..].starts_with("<!--") {
            i = html[lt..].find("-->").map(|e| lt + e + 3).unwrap_or(b.len());
            continue;
        }
        if lt + 1 >= b.len() || !b[lt + 1].is_ascii_alphabetic() {
            i = lt + 1;
            continue;
        }
        // Tag name.
        let mut p = lt + 1;
        while p < b.len() && !b[p].is_ascii_whitespace() && b[p] != b'>' && b[p] != b'/' {
            p += 1;
        }
        let tag_range = lt + 1..p;
        let tag = &html[tag_range.clone()];
        // Attributes until `>`.
        loop {
            while p < b.len() && (b[p].is_ascii_whitespace() || b[p] == b'/') {
                p += 1;
            }
            if p >= b.len() || b[p] == b'>' {
                break;
            }
            let ns = p;
            while p < b.len() && !b[p].is_ascii_whitespace() && b[p] != b'=' && b[p] != b'>' && b[p] != b'/' {
                p += 1;
            }
            let name = attr_name(&html[ns..p]);
            while p < b.len() && b[p].is_ascii_whitespace() {
                p += 1;
            }
            if p < b.len() && b[p] == b'=' {
                p += 1;
                while p < b.len() && b[p].is_ascii_whitespace() {
                    p += 1;
                }
                if p < b.len() && (b[p] == b'"' || b[p] == b'\'') {
                    let q = b[p];
                    let vs = p + 1;
                    let ve = memchr(q, &b[vs..]).map(|e| vs + e).unwrap_or(b.len());
                    out.push(Attr {
                        name,
                        value: vs..ve,
                        tag: tag_range.clone(),
                    });
                    p = (ve + 1).min(b.len());
                } else {
                    let vs = p;
                    while p < b.len() && !b[p].is_ascii_whitespace() && b[p] != b'>' {
                        p += 1;
                    }
                    out.push(Attr {
                        name,
                        value: vs..p,
                        tag: tag_range.clone(),
                    });
                }
            } else if ns == p {
                p += 1;
            }
        }
        i = (p + 1).min(b.len());
        if tag.eq_ignore_ascii_case("script") || tag.eq_ignore_ascii_case("style") {
            i = find_closing_tag(html, i, tag).unwrap_or(b.len());
        }
    }
    out
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(html: &str) -> Vec<(String, &str)> {
        attributes(html)
            .into_iter()
            .map(|a| (a.name.into_owned(), &html[a.value]))
            .collect()
    }

    #[test]
    fn closing_tags_are_found_in_any_case_without_a_copy() {
        let html = "<script>a < b; </p> </SCRIPT > tail";
        assert_eq!(find_closing_tag(html, 8, "script"), Some(20));
        assert_eq!(find_closing_tag(html, 8, "style"), None);
        assert_eq!(find_closing_tag("</scrip", 0, "script"), None);
    }

    #[test]
    fn attribute_names_are_lower_case_shared_or_not() {
        let html = r#"<A HREF="/x" Data-Foo=1 ARIA-LABEL='l'>"#;
        let attrs = attributes(html);
        let names: Vec<&str> = attrs.iter().map(|a| &*a.name).collect();
        assert_eq!(names, ["href", "data-foo", "aria-label"]);
        assert!(matches!(attrs[0].name, Cow::Borrowed(_)));
        assert!(matches!(attrs[1].name, Cow::Owned(_)));
    }

    #[test]
    fn attributes_in_tags_only() {
        let html = r#"<a href="/a/" class=x>t</a> text href="/not/" <code>&lt;img src="/no.png"&gt;</code>
<!-- <img src="/comment.png"> --><IMG SRC='/b.png' alt><script>let s = "<a href='/js/'>";</script><link href=/c.css>"#;
        assert_eq!(
            pairs(html),
            vec![
                ("href".into(), "/a/"),
                ("class".into(), "x"),
                ("src".into(), "/b.png"),
                ("href".into(), "/c.css"),
            ]
        );
    }
}
