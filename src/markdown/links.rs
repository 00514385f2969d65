//! Links in Markdown: `@/page.md#anchor` links and links between Markdown files written the
//! way GitHub, MkDocs, Docusaurus and mdBook users write them (`other.md`,
//! `../about/index.md#team`), both resolved to the target page's permalink in the linking
//! file's language; and the position of every link and image, so the link check can name the
//! Markdown line a broken URL of the output comes from.

use std::ops::Range;

use super::{AnchorRef, Renderer};

/// A link or image URL as the Markdown's HTML has it (after `@/` and `.md` links are
/// resolved and assets fingerprinted), with the position of the link in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRef {
    pub url: String,
    pub line: usize,
    pub column: usize,
    /// For a relative `name.html` link (mdBook's way to link a chapter) beside a page
    /// `name.md`: the `.md` link that reaches it (`name.md#anchor`), for the message.
    pub markdown_file: Option<String>,
}

/// `other.md?q#anchor` → (`other.md`, `?q`, `anchor`) when `dest` is a relative link to a
/// Markdown file: no scheme, not absolute, not `@/`, and its path ends in `.md`.
fn markdown_file(dest: &str) -> Option<(&str, &str, Option<&str>)> {
    if dest.starts_with('/') || dest.starts_with('#') || dest.starts_with("@/") || has_scheme(dest) {
        return None;
    }
    let (rest, anchor) = match dest.split_once('#') {
        Some((r, a)) => (r, Some(a)),
        None => (dest, None),
    };
    let (path, query) = match rest.find('?') {
        Some(q) => (&rest[..q], &rest[q..]),
        None => (rest, ""),
    };
    path.ends_with(".md").then_some((path, query, anchor))
}

/// `mailto:`, `https:`, `C:`…: a URL scheme (RFC 3986: a letter, then letters, digits, `+-.`).
pub fn has_scheme(url: &str) -> bool {
    match url.split_once(':') {
        Some((scheme, _)) => {
            let mut c = scheme.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

impl<'a> Renderer<'a> {
    /// A relative link to a Markdown file under `content/` → the permalink of the page or
    /// section it is (in this file's language), with its query and anchor (the anchor checked
    /// like a `@/` link's). `None` leaves the link as written: not a `.md` link, a file
    /// outside `content/`, or one that is there but not built (a draft); a file that does not
    /// exist is an error.
    pub(super) fn markdown_file_link(&mut self, dest: &str, range: &Range<usize>) -> Option<String> {
        // Zola leaves such links as written (`sitegen import zola` turns this off).
        if !self.input.env.config.markdown_file_links {
            return None;
        }
        let (path, query, anchor) = markdown_file(dest)?;
        let joined = crate::paths::normalize(&format!(
            "{}{}",
            self.input.page_dir,
            crate::paths::percent_decode(path)
        ))?;
        let file = joined.strip_prefix("content/")?.to_string();
        // The render depends on whether the file is there and on its URL (`links_key`).
        self.rendered.links_to.push(file.clone());
        let Some((found, url)) = (self.input.env.resolve)(&file, self.input.lang) else {
            if !(self.input.env.source_exists)(&joined) {
                self.error(
                    range,
                    format!("link to `{dest}`, but there is no page or section `{joined}`"),
                );
            }
            return None;
        };
        Some(self.with_anchor(found, url + query, anchor, dest, range))
    }

    /// `@/file#anchor` (given as `file#anchor`) → the file's permalink with the anchor, the
    /// anchor recorded to be checked; `None` (and an error) when there is no such file.
    pub(super) fn internal_link(&mut self, target: &str, range: &Range<usize>) -> Option<String> {
        let (file, anchor) = match target.split_once('#') {
            Some((f, a)) => (f, Some(a)),
            None => (target, None),
        };
        self.rendered.links_to.push(file.to_string());
        let Some((found, url)) = (self.input.env.resolve)(file, self.input.lang) else {
            self.error(
                range,
                format!("link to `@/{file}`, but there is no page or section `content/{file}`"),
            );
            return None;
        };
        Some(self.with_anchor(found, url, anchor, &format!("@/{target}"), range))
    }

    /// `url#anchor`, the anchor recorded to be checked against the headings of `found`.
    fn with_anchor(
        &mut self,
        found: String,
        url: String,
        anchor: Option<&str>,
        written: &str,
        range: &Range<usize>,
    ) -> String {
        let Some(a) = anchor else { return url };
        let (line, column) = self.pos(range);
        self.rendered.anchor_refs.push(AnchorRef {
            target: found,
            anchor: a.to_string(),
            link: written.to_string(),
            line,
            column,
        });
        format!("{url}#{a}")
    }

    /// Records where a link or image URL of the output comes from.
    pub(super) fn record_link(&mut self, range: &Range<usize>, url: &str) {
        let (line, column) = self.pos(range);
        let markdown_file = self.markdown_file_for_html(url);
        self.rendered.links.push(LinkRef {
            url: url.to_string(),
            line,
            column,
            markdown_file,
        });
    }

    /// `ch03-02.html#x` → `ch03-02.md#x` when that is a page beside this file (the link a
    /// book written for mdBook means).
    fn markdown_file_for_html(&mut self, url: &str) -> Option<String> {
        let end = url.find(['?', '#']).unwrap_or(url.len());
        let stem = url[..end].strip_suffix(".html")?;
        if stem.is_empty() || url.starts_with('/') || has_scheme(url) {
            return None;
        }
        let md = format!("{stem}.md{}", &url[end..]);
        let joined = crate::paths::normalize(&format!(
            "{}{}.md",
            self.input.page_dir,
            crate::paths::percent_decode(stem)
        ))?;
        let file = joined.strip_prefix("content/")?.to_string();
        // Whether the hint is given depends on the file (`links_key`).
        self.rendered.links_to.push(file.clone());
        (self.input.env.resolve)(&file, self.input.lang).map(|_| md)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_links_are_markdown_files() {
        assert_eq!(markdown_file("Get-Item.md"), Some(("Get-Item.md", "", None)));
        assert_eq!(
            markdown_file("../about/index.md?view=7#x"),
            Some(("../about/index.md", "?view=7", Some("x")))
        );
        assert_eq!(markdown_file("/static/notes.md"), None);
        assert_eq!(markdown_file("@/blog/a.md"), None);
        assert_eq!(markdown_file("https://github.com/a/b/README.md"), None);
        assert_eq!(markdown_file("ch03-02-data-types.html#the-tuple-type"), None);
        assert_eq!(markdown_file("#readme.md"), None);
        assert!(has_scheme("mailto:a@b.c"));
        assert!(!has_scheme("a.md"));
        assert!(!has_scheme("dir/a:b.md"));
    }
}
