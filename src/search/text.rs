//! A page's rendered HTML as the text a reader sees: tags dropped (with the contents of
//! `<script>`, `<style>` and `<template>`), block ends as spaces, entities decoded.

/// The visible text of an HTML fragment, with runs of whitespace collapsed to one space.
pub fn visible_text(html: &str) -> String {
    collapse(&spaced_text(html))
}

/// The visible text of an HTML fragment with its whitespace as it is (a block end is one
/// more space): what the tokenizer reads, which splits at any run of whitespace anyway, so
/// only the excerpt needs collapsing, not the whole body.
pub fn spaced_text(html: &str) -> String {
    let bytes = html.as_bytes();
    // Prose is most of its HTML: room for all of it (the string lives only while it is read).
    let mut out = String::with_capacity(html.len());
    let mut pos = 0;
    // memchr over the bytes: highlighted code has a tag every few characters.
    while let Some(lt) = memchr::memchr(b'<', &bytes[pos..]).map(|i| pos + i) {
        push_text(&mut out, &html[pos..lt]);
        let tag = &html[lt..];
        let Some(gt) = memchr::memchr(b'>', tag.as_bytes()) else {
            pos = bytes.len();
            break;
        };
        // The tag's name, lowercased into a small buffer (no allocation per tag: highlighted
        // code has thousands of spans).
        let inner = tag[1..gt].trim_start_matches('/');
        let len = inner.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let mut buf = [0u8; 16];
        let name = if len <= buf.len() {
            for (b, c) in buf.iter_mut().zip(inner.bytes()) {
                *b = c.to_ascii_lowercase();
            }
            std::str::from_utf8(&buf[..len]).unwrap_or("")
        } else {
            "-"
        };
        pos = lt + gt + 1;
        if tag.starts_with("<!--") {
            pos = tag.find("-->").map_or(bytes.len(), |e| lt + e + 3);
            continue;
        }
        if matches!(name, "script" | "style" | "template") && !tag.starts_with("</") {
            pos = match crate::html::find_closing_tag(html, pos, name) {
                Some(i) => html[i..].find('>').map_or(bytes.len(), |e| i + e + 1),
                None => bytes.len(),
            };
            continue;
        }
        if !matches!(
            name,
            "a" | "abbr"
                | "b"
                | "bdi"
                | "bdo"
                | "cite"
                | "code"
                | "data"
                | "del"
                | "dfn"
                | "em"
                | "i"
                | "ins"
                | "kbd"
                | "mark"
                | "q"
                | "s"
                | "samp"
                | "small"
                | "span"
                | "strong"
                | "sub"
                | "sup"
                | "time"
                | "u"
                | "var"
                | "wbr"
        ) {
            out.push(' ');
        }
    }
    push_text(&mut out, &html[pos..]);
    out
}

fn push_text(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..amp]);
        let ent = &rest[amp..];
        match ent
            .find(';')
            .filter(|&e| e <= 10)
            .and_then(|e| decode(&ent[1..e]).map(|c| (c, e)))
        {
            Some((c, e)) => {
                out.push(c);
                rest = &ent[e + 1..];
            }
            None => {
                out.push('&');
                rest = &ent[1..];
            }
        }
    }
    out.push_str(rest);
}

fn decode(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(h) => u32::from_str_radix(h, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(n);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        _ => return None,
    })
}

/// `text` with whitespace runs as one space, trimmed (what `split_whitespace` joined by
/// spaces gives, read byte by byte: ASCII needs no decoding).
pub fn collapse(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut in_space = true;
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (space, len) = if b.is_ascii() {
            (b.is_ascii_whitespace() || b == 0x0b, 1)
        } else {
            let c = text[i..].chars().next().expect("a char at a char boundary");
            (c.is_whitespace(), c.len_utf8())
        };
        if space && !in_space {
            out.push_str(&text[run..i]);
            in_space = true;
        } else if !space && in_space {
            if !out.is_empty() {
                out.push(' ');
            }
            run = i;
            in_space = false;
        }
        i += len;
    }
    if !in_space {
        out.push_str(&text[run..]);
    }
    out
}

/// The first `words` words of `text` (CJK characters count one each), for excerpts.
pub fn first_words(text: &str, words: usize) -> String {
    let mut out = String::new();
    push_first_words(&mut out, text, words);
    out
}

/// Appends the first `words` words of `text` to `out` ([`first_words`]); returns how many
/// words it took.
pub fn push_first_words(out: &mut String, text: &str, words: usize) -> usize {
    let bytes = text.as_bytes();
    let mut n = 0;
    let mut end = text.len();
    let mut in_word = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // ASCII (most text) needs no decoding and is never CJK.
        let (space, cjk, len) = if b.is_ascii() {
            (b.is_ascii_whitespace() || b == 0x0b, false, 1)
        } else {
            let c = text[i..].chars().next().expect("a char at a char boundary");
            (c.is_whitespace(), super::tokenize::is_cjk(c), c.len_utf8())
        };
        if space {
            in_word = false;
        } else if cjk || !in_word {
            if n == words {
                end = i;
                break;
            }
            n += 1;
            in_word = !cjk;
        }
        i += len;
    }
    out.push_str(text[..end].trim_end());
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_entities_are_decoded_scripts_are_dropped() {
        let html = "<h2 id=\"a\">Install &amp; run</h2><p>Use <code>sitegen&nbsp;build</code>.</p>\
                    <script>var x = 1 < 2;</script><!-- note --><ul><li>one</li><li>two&#x21;</li></ul>";
        assert_eq!(visible_text(html), "Install & run Use sitegen build. one two!");
    }

    #[test]
    fn collapse_is_split_whitespace_joined() {
        for t in [
            "",
            " ",
            "a",
            "  a  b\t\nc \u{0b}d\u{0c}e\r",
            "x\u{a0}y\u{3000}z\u{2028}",
            "日本 語  テキスト ",
            "\u{a0}lead and trail\u{85}",
        ] {
            assert_eq!(collapse(t), t.split_whitespace().collect::<Vec<_>>().join(" "), "{t:?}");
        }
    }

    #[test]
    fn first_words_counts_cjk_characters() {
        assert_eq!(first_words("one two  three four", 2), "one two");
        assert_eq!(first_words("日本語のテキスト", 3), "日本語");
        assert_eq!(first_words("short", 10), "short");
    }
}
