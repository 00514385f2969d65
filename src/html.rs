//! A small HTML attribute scanner: finds `name=value` pairs inside tags only (never in text,
//! comments or escaped code), quoted or not. Used to rewrite asset URLs and to check links.

use std::ops::Range;

/// One attribute of a tag: its lower-case name, the byte range of its value and the byte
/// range of its tag's name (the same range for every attribute of one tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    pub value: Range<usize>,
    pub tag: Range<usize>,
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
        let tag = html[tag_range.clone()].to_ascii_lowercase();
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
            let name = html[ns..p].to_ascii_lowercase();
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
        if tag == "script" || tag == "style" {
            let close = format!("</{tag}");
            i = html[i..]
                .to_ascii_lowercase()
                .find(&close)
                .map(|e| i + e)
                .unwrap_or(b.len());
        }
    }
    out
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(html: &str) -> Vec<(String, &str)> {
        attributes(html).into_iter().map(|a| (a.name, &html[a.value])).collect()
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
