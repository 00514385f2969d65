//! Names and paths, spelled once: slugs, URL paths, output paths, logical source paths and
//! their encodings. Every stage that turns one into another calls these, so a page's URL,
//! the file it is written to, the path `serve` answers it under and the path CloudFront
//! invalidates can never disagree. A leaf: it imports nothing from the crate.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// URL-safe slug (Unicode transliterated, lowercase, `-` separated).
pub fn slugify(s: &str) -> String {
    slug::slugify(s)
}

/// How much a name is changed on its way into a URL (Zola's `[slugify]` strategies, and
/// Hugo's rules for sites imported from Hugo).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slugify {
    /// [`slugify`]: transliterated, lowercase, `-` separated (the default).
    #[default]
    On,
    /// Kept as written, less what cannot be in a file name (`<>:"/\|?*`, trailing dots and
    /// spaces).
    Safe,
    /// Kept exactly as written.
    Off,
    /// Hugo's rules: [`hugo_path`] for names in URLs, [`hugo_anchor`] for heading ids.
    Hugo,
}

/// A file or folder name as a URL segment under `strategy` (Zola's `slugify_paths`).
pub fn slugify_path(s: &str, strategy: Slugify) -> String {
    match strategy {
        Slugify::On => slugify(s),
        Slugify::Safe => {
            let mut out = s.trim_end_matches([' ', '.']).to_string();
            out.retain(|c| !r#"<>:"/\|?*"#.contains(c));
            out
        }
        Slugify::Off => s.to_string(),
        Slugify::Hugo => hugo_path(s),
    }
}

/// A heading's text as an anchor id under `strategy` (Zola's `slugify_anchors`): `safe` and
/// `off` only replace ASCII white space with `_`.
pub fn slugify_anchor(s: &str, strategy: Slugify) -> String {
    match strategy {
        Slugify::On => slugify(s),
        Slugify::Safe | Slugify::Off => s.replace(|c: char| c.is_ascii_whitespace(), "_"),
        Slugify::Hugo => hugo_anchor(s),
    }
}

/// A name as Hugo puts it in a URL by default (its `Sanitize`, then lowercased): letters,
/// digits and marks of any script, and `. / \ _ # + ~ - @`, are kept, as is `%` before two hex
/// digits; a run of white space between kept characters becomes one `-`; everything else is
/// dropped. `My Post.Name` → `my-post.name`, `C++` → `c++`, `Node.js` → `node.js`.
pub fn hugo_path(s: &str) -> String {
    hugo_sanitize(s).to_lowercase()
}

/// Hugo's `Sanitize` (without the lowercasing of [`hugo_path`]).
pub fn hugo_sanitize(s: &str) -> String {
    let b = s.as_bytes();
    let allowed = |i: usize, c: char| {
        c.is_alphanumeric()
            || ".\\/_#+~-@".contains(c)
            || is_mark(c)
            || (c == '%' && i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
    };
    let mut out = String::with_capacity(s.len());
    let (mut hyphen_owed, mut was_hyphen) = (false, false);
    for (i, c) in s.char_indices() {
        if c != ' ' && allowed(i, c) {
            was_hyphen = c == '-';
            if hyphen_owed && !was_hyphen {
                out.push('-');
            }
            hyphen_owed = false;
            out.push(c);
        } else if !out.is_empty() && !was_hyphen && c.is_whitespace() {
            hyphen_owed = true;
        }
    }
    out
}

/// Combining marks (Unicode category M), which Hugo keeps in paths: the common blocks.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A | 0x064B..=0x065F
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E
        | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0x3099..=0x309A | 0xFE20..=0xFE2F)
}

/// A heading's id as Hugo makes it (Goldmark's `github` style, Hugo's default): letters and
/// digits of any script lowercased, `_` kept, each space or `-` a `-`, everything else
/// dropped. `Hello, World!` → `hello-world`, `A  b` → `a--b`.
pub fn hugo_anchor(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == ' ' || c == '-' {
            out.push('-');
        } else if c == '_' || c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Normalises a user-given URL path: leading `/`, trailing `/` unless it names a file.
pub fn normalize_url_path(p: &str) -> String {
    let mut out = String::from("/");
    out.push_str(p.trim().trim_start_matches('/'));
    let last = out.rsplit('/').next().unwrap_or("");
    if !out.ends_with('/') && !last.contains('.') {
        out.push('/');
    }
    out
}

/// A URL path → the output file that serves it: `/blog/a/` → `blog/a/index.html`,
/// `/feed.xml` → `feed.xml`, `/` → `index.html`.
pub fn output_path(url_path: &str) -> String {
    let p = url_path.trim_start_matches('/');
    if p.is_empty() {
        "index.html".to_string()
    } else if p.ends_with('/') {
        format!("{p}index.html")
    } else {
        p.to_string()
    }
}

/// An output file → the URL path it is served under: `blog/a/index.html` → `/blog/a/`,
/// `404.html` → `/404.html`. The inverse of [`output_path`].
pub fn url_path(output: &str) -> String {
    match output.strip_suffix("index.html") {
        Some(dir) if dir.is_empty() || dir.ends_with('/') => format!("/{dir}"),
        _ => format!("/{output}"),
    }
}

/// The folder (with a trailing `/`, or empty at the root) of a `/`-separated path:
/// `blog/a/index.html` → `blog/a/`, `index.html` → ``.
pub fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| &path[..d.len() + 1]).unwrap_or("")
}

/// The last segment of a `/`-separated path: `blog/post/photo.jpg` → `photo.jpg`.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Where a bundle's asset is written: next to the page's or section's `index.html`, under
/// its URL path (`/blog/post/` + `blog/post/photo.jpg` → `blog/post/photo.jpg`).
pub fn bundle_asset_output(url_path: &str, asset: &str) -> String {
    format!("{}{}", parent_dir(&output_path(url_path)), file_name(asset))
}

/// The logical folder of a content file, for relative lookups next to it:
/// `blog/post/index.md` → `content/blog/post/`, `about.md` → `content/`.
pub fn content_dir(relative_path: &str) -> String {
    format!("content/{}", parent_dir(relative_path))
}

/// `a/b/../c` → `a/c` (empty and `.` segments dropped); `None` when it climbs above the root.
pub fn normalize(p: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Decodes `%XX` escapes in a URL path (invalid escapes are kept as they are; the result is
/// lossy UTF-8).
pub fn percent_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// What the `urlencode` filter leaves alone: RFC 3986's unreserved characters and `/`.
const URLENCODE_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// What a path in a CloudFront invalidation may hold as it is: RFC 3986's `pchar` and `/`.
const URL_PATH_KEEP: &AsciiSet = &URLENCODE_KEEP
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Percent-encodes everything but letters, digits, `-_.~` and `/` (the `urlencode` filter).
pub fn urlencode(s: &str) -> String {
    utf8_percent_encode(s, URLENCODE_KEEP).to_string()
}

/// Percent-encodes a URL path for an HTTP API (CloudFront invalidation paths): keeps the
/// characters a path segment may hold as they are.
pub fn encode_url_path(s: &str) -> String {
    utf8_percent_encode(s, URL_PATH_KEEP).to_string()
}

/// The content type of a path from its extension; text types (and JavaScript, JSON, XML
/// but not SVG images) get `charset=utf-8`. `serve` and `publish` both send this.
pub fn content_type(path: &str) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let essence = mime.essence_str();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            essence,
            "application/javascript" | "application/json" | "application/xml"
        )
        || essence.ends_with("+xml") && essence != "image/svg+xml"
        || essence.ends_with("+json");
    if textual {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_string()
    }
}

/// A file-system path in the one spelling the site's logical paths, messages and imports
/// use: `/` between its parts on every system.
pub fn slash(p: &std::path::Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// Lowercase hex of bytes (sha256 digests in cache keys, state records and file names).
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_url_paths_are_inverse() {
        for (url, out) in [
            ("/", "index.html"),
            ("/blog/a/", "blog/a/index.html"),
            ("/feed.xml", "feed.xml"),
            ("/404.html", "404.html"),
        ] {
            assert_eq!(output_path(url), out);
            assert_eq!(url_path(out), url);
        }
        assert_eq!(url_path("blog/xindex.html"), "/blog/xindex.html");
    }

    #[test]
    fn folders_and_bundle_assets() {
        assert_eq!(parent_dir("blog/a/index.html"), "blog/a/");
        assert_eq!(parent_dir("index.html"), "");
        assert_eq!(content_dir("blog/post/index.md"), "content/blog/post/");
        assert_eq!(content_dir("about.md"), "content/");
        assert_eq!(
            bundle_asset_output("/blog/post/", "blog/post/photo.jpg"),
            "blog/post/photo.jpg"
        );
        assert_eq!(bundle_asset_output("/", "a.png"), "a.png");
        assert_eq!(bundle_asset_output("/feed.xml", "x/a.png"), "a.png");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/caf%C3%A9/%41"), "/café/A");
        assert_eq!(percent_decode("/100%/%zz/%4"), "/100%/%zz/%4");
    }

    #[test]
    fn encodings_keep_what_their_rules_allow() {
        assert_eq!(urlencode("a b/c?d=é~"), "a%20b/c%3Fd%3D%C3%A9~");
        assert_eq!(encode_url_path("/a b/c(1)@x=é"), "/a%20b/c(1)@x=%C3%A9");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(content_type("a.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("a.svg"), "image/svg+xml");
        assert_eq!(
            content_type("a.webmanifest"),
            "application/manifest+json; charset=utf-8"
        );
        assert_eq!(content_type("a.png"), "image/png");
    }

    /// The cases of Zola's own tests (components/utils/src/slugs.rs), so imported sites keep
    /// their URLs.
    #[test]
    fn slugify_strategies_match_zolas() {
        for (input, on, safe, off) in [
            ("input", "input", "input", "input"),
            ("test ", "test", "test", "test "),
            ("tes t", "tes-t", "tes t", "tes t"),
            ("dot. ", "dot", "dot", "dot. "),
            ("日本", "ri-ben", "日本", "日本"),
            ("héhé", "hehe", "héhé", "héhé"),
            ("test (hey)", "test-hey", "test (hey)", "test (hey)"),
            ("7.4", "7-4", "7.4", "7.4"),
            ("a<b>:c?", "a-b-c", "abc", "a<b>:c?"),
        ] {
            assert_eq!(slugify_path(input, Slugify::On), on, "{input}");
            assert_eq!(slugify_path(input, Slugify::Safe), safe, "{input}");
            assert_eq!(slugify_path(input, Slugify::Off), off, "{input}");
        }
        for (input, on, safe) in [
            ("input", "input", "input"),
            ("test ", "test", "test_"),
            ("tes t", "tes-t", "tes_t"),
            ("dot. ", "dot", "dot._"),
        ] {
            assert_eq!(slugify_anchor(input, Slugify::On), on);
            assert_eq!(slugify_anchor(input, Slugify::Safe), safe);
            assert_eq!(slugify_anchor(input, Slugify::Off), safe);
        }
    }

    /// What Hugo 0.168 writes for these names (checked with `hugo` on a scratch site).
    #[test]
    fn hugo_rules_match_hugos() {
        for (input, url) in [
            ("My_Post.Name", "my_post.name"),
            ("sub dir", "sub-dir"),
            ("My Slug_X", "my-slug_x"),
            ("C++", "c++"),
            ("Node.js", "node.js"),
            ("Go Lang", "go-lang"),
            ("café", "café"),
            ("x/y", "x/y"),
            ("Ünïcode Tag", "ünïcode-tag"),
            ("#hash", "#hash"),
            ("100%", "100"),
            ("a%2Fb", "a%2fb"),
            ("a&b", "ab"),
            ("it's", "its"),
            ("a@b~c#d+e", "a@b~c#d+e"),
            ("a - b", "a-b"),
            ("  lead", "lead"),
            ("2024-01-02-dated", "2024-01-02-dated"),
        ] {
            assert_eq!(slugify_path(input, Slugify::Hugo), url, "{input}");
        }
        for (input, id) in [
            ("Hello, World!", "hello-world"),
            ("A  b", "a--b"),
            ("snake_case and-dash", "snake_case-and-dash"),
            ("Über 7.4", "über-74"),
        ] {
            assert_eq!(slugify_anchor(input, Slugify::Hugo), id, "{input}");
        }
    }

    #[test]
    fn normalising() {
        assert_eq!(normalize("content/a/../b/./c.jpg").as_deref(), Some("content/b/c.jpg"));
        assert_eq!(normalize("../x"), None);
        assert_eq!(normalize_url_path("old"), "/old/");
        assert_eq!(normalize_url_path("/x/file.html"), "/x/file.html");
    }
}
