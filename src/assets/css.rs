//! Stylesheets: SCSS compilation with grass (reading imports from the source snapshot, not the
//! disk), and finding the references (`url(...)`, `@import`) that the pipeline rewrites.

use std::io;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::error::{line_col, Diagnostic};
use crate::source::{SourceFile, SourceTree};

/// A reference inside a stylesheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    /// As written, without quotes: `../fonts/a.woff2?#iefix`.
    pub url: String,
    /// Byte range of `url` in the compiled CSS.
    pub range: Range<usize>,
}

impl Ref {
    /// The `?query` / `#fragment` part, kept when the reference is rewritten.
    pub fn suffix(&self) -> &str {
        self.url.find(['?', '#']).map(|i| &self.url[i..]).unwrap_or("")
    }
}

/// A stylesheet ready for reference rewriting.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub css: String,
    pub refs: Vec<Ref>,
    /// The source files it was made of (main file first, then partials): (origin, text).
    sources: Vec<(String, String)>,
}

impl Sheet {
    /// Line and column of a reference in the source file that contains it.
    pub fn position_of(&self, url: &str) -> (Option<usize>, Option<usize>) {
        for (_, text) in &self.sources {
            if let Some(o) = text.find(url) {
                let (l, c) = line_col(text, o);
                return (Some(l), Some(c));
            }
        }
        (None, None)
    }

    /// The source file that contains a reference (for SCSS it may be a partial).
    pub fn origin_of(&self, url: &str) -> String {
        self.sources
            .iter()
            .find(|(_, t)| t.contains(url))
            .or(self.sources.first())
            .map(|(o, _)| o.clone())
            .unwrap_or_default()
    }
}

/// grass reads imports through this: logical paths in the snapshot (`static/css/_base.scss`).
#[derive(Debug)]
struct TreeFs<'a> {
    tree: &'a SourceTree,
    read: Mutex<Vec<String>>,
}

fn logical(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts.join("/")
}

impl grass::Fs for TreeFs<'_> {
    fn is_dir(&self, path: &Path) -> bool {
        let p = format!("{}/", logical(path));
        let found = self.tree.under(&p).next().is_some();
        found
    }
    fn is_file(&self, path: &Path) -> bool {
        self.tree.get(&logical(path)).is_some()
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let l = logical(path);
        match self.tree.get(&l) {
            Some(f) => {
                self.read.lock().expect("fs lock").push(l);
                Ok(f.bytes.to_vec())
            }
            None => Err(io::Error::new(io::ErrorKind::NotFound, format!("no file `{l}`"))),
        }
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(PathBuf::from(logical(path)))
    }
}

/// Reads (and for SCSS compiles) a stylesheet and finds its references.
pub fn load(
    tree: &SourceTree,
    scss: bool,
    logical_path: &str,
    _plain: &str,
    file: &SourceFile,
) -> Result<Sheet, Diagnostic> {
    let text = std::str::from_utf8(&file.bytes).map_err(|e| {
        let (l, c) = line_col(
            &String::from_utf8_lossy(&file.bytes[..e.valid_up_to()]),
            e.valid_up_to(),
        );
        Diagnostic::at(&file.origin, l, c, "file is not valid UTF-8")
    })?;
    let mut sources = vec![(file.origin.clone(), text.to_string())];
    let css = if scss {
        let fs = TreeFs {
            tree,
            read: Mutex::new(Vec::new()),
        };
        let opts = grass::Options::default()
            .fs(&fs)
            .load_path("static")
            .style(grass::OutputStyle::Expanded);
        let path = format!("static/{logical_path}");
        let out = match tree.get(&path) {
            Some(_) => grass::from_path(&path, &opts),
            // A generated stylesheet has no file in the tree.
            None => grass::from_string(text.to_string(), &opts),
        };
        let out = out.map_err(|e| sass_diagnostic(tree, &file.origin, *e))?;
        for l in fs.read.into_inner().expect("fs lock") {
            if l != path {
                if let Some(f) = tree.get(&l) {
                    sources.push((f.origin.clone(), String::from_utf8_lossy(&f.bytes).into_owned()));
                }
            }
        }
        out
    } else {
        text.to_string()
    };
    let refs = find_refs(&css);
    Ok(Sheet { css, refs, sources })
}

/// A grass error with the file (main or partial), line and column it points at.
fn sass_diagnostic(tree: &SourceTree, origin: &str, e: grass::Error) -> Diagnostic {
    match e.kind() {
        grass::ErrorKind::ParseError { message, loc, .. } => {
            let name = logical(Path::new(loc.file.name()));
            let file = tree
                .get(&name)
                .map(|f| f.origin.clone())
                .unwrap_or_else(|| origin.to_string());
            Diagnostic::at(
                file,
                loc.begin.line + 1,
                loc.begin.column + 1,
                format!("Sass: {message}"),
            )
        }
        grass::ErrorKind::FromUtf8Error(m) => Diagnostic::new(origin, format!("Sass: {m}")),
        grass::ErrorKind::IoError(io) => Diagnostic::new(origin, format!("Sass: {io}")),
        _ => Diagnostic::new(origin, "Sass: unknown error"),
    }
}

/// Finds `url(...)` and `@import "..."` references, skipping comments.
pub fn find_refs(css: &str) -> Vec<Ref> {
    let b = css.as_bytes();
    let mut refs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i = css[i + 2..].find("*/").map(|e| i + 2 + e + 2).unwrap_or(b.len());
            continue;
        }
        if (b[i] == b'"' || b[i] == b'\'') && !preceded_by_import(css, i) {
            // Skip strings that are not @import targets.
            let q = b[i];
            let mut j = i + 1;
            while j < b.len() && b[j] != q {
                if b[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        // Bytes, not `str` slices: `i + 4` may fall inside a multi-byte character (`↳`).
        if b.len() - i >= 4 && b[i..i + 4].eq_ignore_ascii_case(b"url(") {
            let mut s = i + 4;
            while s < b.len() && b[s].is_ascii_whitespace() {
                s += 1;
            }
            let (start, end) = if s < b.len() && (b[s] == b'"' || b[s] == b'\'') {
                let q = b[s];
                let e = css[s + 1..].find(q as char).map(|e| s + 1 + e).unwrap_or(b.len());
                (s + 1, e)
            } else {
                let e = css[s..].find(')').map(|e| s + e).unwrap_or(b.len());
                let mut end = e;
                while end > s && b[end - 1].is_ascii_whitespace() {
                    end -= 1;
                }
                (s, end)
            };
            refs.push(Ref {
                url: css[start..end].to_string(),
                range: start..end,
            });
            i = end + 1;
            continue;
        }
        if b[i] == b'"' || b[i] == b'\'' {
            let q = b[i];
            let e = css[i + 1..].find(q as char).map(|e| i + 1 + e).unwrap_or(b.len());
            refs.push(Ref {
                url: css[i + 1..e].to_string(),
                range: i + 1..e,
            });
            i = e + 1;
            continue;
        }
        i += 1;
    }
    refs
}

/// Is the string starting at `i` the target of an `@import`?
fn preceded_by_import(css: &str, i: usize) -> bool {
    let t = css[..i].trim_end().as_bytes();
    t.len() >= 7 && t[t.len() - 7..].eq_ignore_ascii_case(b"@import")
}

/// The output path a reference points at, or `None` for external and data URLs.
pub fn resolve(from_plain: &str, url: &str, base_path: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let lower = path.to_ascii_lowercase();
    if path.is_empty()
        || lower.starts_with("data:")
        || lower.starts_with("http:")
        || lower.starts_with("https:")
        || path.starts_with("//")
        || lower.contains(':')
    {
        return None;
    }
    let joined = if let Some(abs) = path.strip_prefix('/') {
        let abs = format!("/{abs}");
        abs.strip_prefix(base_path)
            .unwrap_or(&abs)
            .trim_start_matches('/')
            .to_string()
    } else {
        let dir = from_plain.rfind('/').map(|i| &from_plain[..i]).unwrap_or("");
        if dir.is_empty() {
            path.to_string()
        } else {
            format!("{dir}/{path}")
        }
    };
    crate::paths::normalize(&joined)
}

/// `../fonts/a.woff2?x` with `a.123.woff2` → `../fonts/a.123.woff2?x`.
pub fn replace_file_name(url: &str, new_name: &str) -> String {
    let (path, suffix) = match url.find(['?', '#']) {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    match path.rfind('/') {
        Some(i) => format!("{}/{new_name}{suffix}", &path[..i]),
        None => format!("{new_name}{suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a multi-byte character just before a position `url(` is looked for at
    /// (apollo's `↳` in a `content:` string) panicked on a `str` slice.
    #[test]
    fn multi_byte_characters_are_not_split() {
        for css in [
            "a::before{content:\"↳\"}b{background:url(x.png)}",
            "↳url",
            "é↳",
            ".a{x:↳}url(y.png)",
        ] {
            let urls: Vec<String> = find_refs(css).into_iter().map(|r| r.url).collect();
            let want: Vec<&str> = ["x.png", "y.png"].into_iter().filter(|u| css.contains(*u)).collect();
            assert_eq!(urls, want, "{css}");
        }
    }

    #[test]
    fn finds_urls_and_imports_but_not_comments_or_strings() {
        let css = r#"@import "a.css"; @import url(b.css);
/* url(commented.png) */
.x { background: url( "img/x.png" ); content: "url(not-a-ref)"; }
@font-face { src: url('../f.woff2?#iefix') format("woff2"), url(data:font/woff2;base64,AA); }"#;
        let urls: Vec<String> = find_refs(css).into_iter().map(|r| r.url).collect();
        assert_eq!(
            urls,
            vec![
                "a.css",
                "b.css",
                "img/x.png",
                "../f.woff2?#iefix",
                "data:font/woff2;base64,AA"
            ]
        );
        for r in find_refs(css) {
            assert_eq!(&css[r.range.clone()], r.url);
        }
    }

    #[test]
    fn resolves_relative_absolute_and_external() {
        assert_eq!(
            resolve("css/site.css", "../fonts/a.woff2?x", "").as_deref(),
            Some("fonts/a.woff2")
        );
        assert_eq!(
            resolve("css/site.css", "/img/a.png", "/docs").as_deref(),
            Some("img/a.png")
        );
        assert_eq!(
            resolve("css/site.css", "/docs/img/a.png", "/docs").as_deref(),
            Some("img/a.png")
        );
        assert_eq!(resolve("css/site.css", "https://x/a.png", ""), None);
        assert_eq!(resolve("css/site.css", "data:image/png;base64,AA", ""), None);
        assert_eq!(resolve("site.css", "../../escape.png", ""), None);
        assert_eq!(
            replace_file_name("../fonts/a.woff2?#x", "a.1.woff2"),
            "../fonts/a.1.woff2?#x"
        );
    }
}
