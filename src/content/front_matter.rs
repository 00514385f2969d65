//! Front matter: TOML between `+++` lines or YAML between `---` lines, at the very top of a
//! Markdown file. Parsing is pure; errors carry the file's own line and column, also for
//! unknown keys (a typo such as `titel` is an error, not silently ignored).

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::{line_col, Diagnostic};

/// Front matter of a page (`blog/post.md`, `blog/post/index.md`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PageFrontMatter {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `2024-05-01`, `2024-05-01T10:00:00Z`, a TOML date or datetime.
    pub date: Option<String>,
    pub updated: Option<String>,
    /// The page is left out of builds before this time (unless `--future`), as a draft is.
    pub publish_date: Option<String>,
    /// The page is left out of builds from this time on.
    pub expiry_date: Option<String>,
    #[serde(default)]
    pub draft: bool,
    /// Replaces the last URL segment (default: the file or folder name).
    pub slug: Option<String>,
    /// Replaces the whole URL path (`/about/`).
    pub path: Option<String>,
    pub weight: Option<i64>,
    /// A template other than the section's `page_template` or `page.html`.
    pub template: Option<String>,
    /// Old URLs that redirect here.
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub taxonomies: IndexMap<String, Vec<String>>,
    /// Leave this page out of `sitemap.xml`.
    #[serde(default = "yes")]
    pub in_sitemap: bool,
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The keys of [`PageFrontMatter`], in its order: what the imports keep as they are and the
/// order they write them in.
pub const PAGE_KEYS: &[&str] = &[
    "title",
    "description",
    "date",
    "updated",
    "publish_date",
    "expiry_date",
    "draft",
    "slug",
    "path",
    "weight",
    "template",
    "aliases",
    "taxonomies",
    "in_sitemap",
    "extra",
];

/// The keys of [`SectionFrontMatter`], in its order.
pub const SECTION_KEYS: &[&str] = &[
    "title",
    "description",
    "sort_by",
    "paginate_by",
    "paginate_path",
    "template",
    "page_template",
    "weight",
    "draft",
    "render",
    "generate_feeds",
    "aliases",
    "in_sitemap",
    "redirect_to",
    "anchor_links",
    "transparent",
    "extra",
];

/// How a section orders its pages.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// Newest first; pages without a date last.
    #[default]
    Date,
    /// Lightest first.
    Weight,
    Title,
    /// File path order.
    None,
}

/// Front matter of a section (`_index.md`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SectionFrontMatter {
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub sort_by: SortBy,
    /// Pages per page of the section listing; 0 means one page.
    #[serde(default)]
    pub paginate_by: usize,
    #[serde(default = "default_paginate_path")]
    pub paginate_path: String,
    /// Default `section.html`.
    pub template: Option<String>,
    /// Template for the pages of this section; default `page.html`.
    pub page_template: Option<String>,
    pub weight: Option<i64>,
    #[serde(default)]
    pub draft: bool,
    /// `false`: the section has no page of its own, but its pages are still built.
    #[serde(default = "yes")]
    pub render: bool,
    /// Write `atom.xml`/`rss.xml` for this section's pages.
    #[serde(default)]
    pub generate_feeds: bool,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default = "yes")]
    pub in_sitemap: bool,
    /// The section's own page is a redirect to this URL (a path under `base_url`, or a full
    /// URL) instead of a listing; its pages are still built (Zola's `redirect_to`).
    #[serde(default)]
    pub redirect_to: Option<String>,
    /// Heading anchor links of the section and its pages, over the site's
    /// `[markdown] anchor_links` (Zola's `insert_anchor_links`).
    #[serde(default)]
    pub anchor_links: Option<crate::config::AnchorLinks>,
    /// The section's pages are also listed by its parent section (and further up while the
    /// parent is transparent too), as in Zola.
    #[serde(default)]
    pub transparent: bool,
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for SectionFrontMatter {
    fn default() -> Self {
        SectionFrontMatter {
            title: None,
            description: None,
            sort_by: SortBy::Date,
            paginate_by: 0,
            paginate_path: default_paginate_path(),
            template: None,
            page_template: None,
            weight: None,
            draft: false,
            render: true,
            generate_feeds: false,
            aliases: Vec::new(),
            redirect_to: None,
            anchor_links: None,
            transparent: false,
            in_sitemap: true,
            extra: Default::default(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_paginate_path() -> String {
    "page".into()
}

/// A Markdown file split into its front matter and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Split<'a> {
    pub format: Format,
    /// The front matter text, without its fences.
    pub front_matter: &'a str,
    /// Byte offset of `front_matter` in the file.
    pub front_matter_offset: usize,
    pub body: &'a str,
    /// Byte offset of `body` in the file.
    pub body_offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
    None,
}

/// Splits `text` at its front matter fences. A file without front matter is all body.
pub fn split<'a>(file: &str, text: &'a str) -> Result<Split<'a>, Diagnostic> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    // Blank lines before the opening fence are allowed, as Zola allows them.
    let lead = text[bom..].len() - text[bom..].trim_start().len();
    let (bom, t) = if text[bom + lead..].starts_with("+++") || text[bom + lead..].starts_with("---") {
        (bom + lead, &text[bom + lead..])
    } else {
        (bom, &text[bom..])
    };
    let (fence, format) = if t.starts_with("+++") {
        ("+++", Format::Toml)
    } else if t.starts_with("---") {
        ("---", Format::Yaml)
    } else {
        return Ok(Split {
            format: Format::None,
            front_matter: "",
            front_matter_offset: 0,
            body: t,
            body_offset: bom,
        });
    };
    let first_nl = match t.find('\n') {
        Some(i) if t[fence.len()..i].trim().is_empty() => i + 1,
        _ => {
            let (l, c) = line_col(text, bom);
            return Err(Diagnostic::at(
                file,
                l,
                c,
                format!("front matter must start with a line holding only `{fence}`"),
            ));
        }
    };
    let mut pos = first_nl;
    loop {
        let end = t[pos..].find('\n').map(|i| pos + i + 1).unwrap_or(t.len());
        let line = &t[pos..end];
        if line.trim_end() == fence {
            return Ok(Split {
                format,
                front_matter: &t[first_nl..pos],
                front_matter_offset: bom + first_nl,
                body: &t[end..],
                body_offset: bom + end,
            });
        }
        if end == t.len() {
            let (l, c) = line_col(text, bom);
            return Err(Diagnostic::at(
                file,
                l,
                c,
                format!("front matter opened with `{fence}` is never closed"),
            ));
        }
        pos = end;
    }
}

/// Parses front matter into `T`, reporting positions in the whole file's coordinates.
pub fn parse<T: for<'de> Deserialize<'de> + Default>(
    file: &str,
    text: &str,
    split: &Split<'_>,
) -> Result<T, Diagnostic> {
    let value: serde_json::Value = match split.format {
        Format::None => return Ok(T::default()),
        Format::Toml => {
            let table: toml::Table = toml::from_str(split.front_matter).map_err(|e| {
                let offset = split.front_matter_offset + e.span().map(|s| s.start).unwrap_or(0);
                let (l, c) = line_col(text, offset);
                Diagnostic::at(
                    file,
                    l,
                    c,
                    format!(
                        "invalid TOML front matter: {}",
                        e.message().trim().lines().map(str::trim).collect::<Vec<_>>().join("; ")
                    ),
                )
            })?;
            toml_to_json(toml::Value::Table(table))
        }
        Format::Yaml => {
            if split.front_matter.trim().is_empty() {
                serde_json::Value::Object(Default::default())
            } else {
                let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(split.front_matter).map_err(|e| {
                    let (l, c) = match e.location() {
                        Some(loc) => line_col(text, split.front_matter_offset + loc.index()),
                        None => line_col(text, split.front_matter_offset),
                    };
                    let msg = e.to_string();
                    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                    Diagnostic::at(file, l, c, format!("invalid YAML front matter: {msg}"))
                })?;
                yaml_to_json(v)
            }
        }
    };
    if !value.is_object() {
        let (l, c) = line_col(text, split.front_matter_offset);
        return Err(Diagnostic::at(file, l, c, "front matter must be a table of keys"));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let msg = e
            .inner()
            .to_string()
            .replace("unknown field", "unknown front matter key");
        // Point at the offending key: the first segment of the path, or for an unknown key
        // the name the message quotes.
        let first = path.split(['.', '[']).next().unwrap_or("");
        let (key, msg) = if msg.starts_with("unknown front matter key") || first.is_empty() || path == "." {
            (msg.split('`').nth(1).unwrap_or("").to_string(), msg)
        } else {
            (first.to_string(), format!("`{path}`: {msg}"))
        };
        let offset = find_key(split.front_matter, &key)
            .map(|o| split.front_matter_offset + o)
            .unwrap_or(split.front_matter_offset);
        let (l, c) = line_col(text, offset);
        Diagnostic::at(file, l, c, msg)
    })
}

/// The byte offset of a top-level `key =` / `key:` line in front matter text.
pub fn find_key(fm: &str, key: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    let mut offset = 0;
    for line in fm.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix(key) {
            let rest = rest.trim_start();
            if rest.starts_with('=') || rest.starts_with(':') {
                return Some(offset + (line.len() - t.len()));
            }
        }
        offset += line.len();
    }
    None
}

/// TOML → JSON values; dates become their RFC 3339 text.
pub fn toml_to_json(v: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map(J::Number).unwrap_or(J::Null),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
    }
}

/// YAML → JSON values; non-string keys become their text.
pub fn yaml_to_json(v: serde_yaml_ng::Value) -> serde_json::Value {
    use serde_json::Value as J;
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => J::Null,
        Y::Bool(b) => J::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(J::Number)
                    .unwrap_or(J::Null)
            }
        }
        Y::String(s) => J::String(s),
        Y::Sequence(s) => J::Array(s.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => J::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let k = match k {
                        Y::String(s) => s,
                        other => serde_yaml_ng::to_string(&other).unwrap_or_default().trim().to_string(),
                    };
                    (k, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_toml_and_yaml() {
        let t = "+++\ntitle = \"A\"\n+++\nbody\n";
        let s = split("a.md", t).unwrap();
        assert_eq!(s.format, Format::Toml);
        assert_eq!(s.front_matter, "title = \"A\"\n");
        assert_eq!(s.body, "body\n");
        let fm: PageFrontMatter = parse("a.md", t, &s).unwrap();
        assert_eq!(fm.title.as_deref(), Some("A"));

        let t = "---\ntitle: B\ndate: 2024-01-02\n---\nbody\n";
        let s = split("a.md", t).unwrap();
        let fm: PageFrontMatter = parse("a.md", t, &s).unwrap();
        assert_eq!(fm.title.as_deref(), Some("B"));
        assert_eq!(fm.date.as_deref(), Some("2024-01-02"));
    }

    /// Zola allows blank lines before the front matter; positions stay the file's.
    #[test]
    fn blank_lines_before_the_front_matter() {
        let t = "\n\n+++\ntitle = \"A\"\n+++\nbody\n";
        let s = split("a.md", t).unwrap();
        assert_eq!(s.front_matter, "title = \"A\"\n");
        assert_eq!(s.body, "body\n");
        assert_eq!(&t[s.front_matter_offset..s.front_matter_offset + 5], "title");
        let e = split("a.md", "\n+++\ntitle = 1\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(1)));
        assert_eq!(split("a.md", "\n\nplain *text*\n").unwrap().body, "\n\nplain *text*\n");
    }

    #[test]
    fn toml_dates_become_strings() {
        let t = "+++\ndate = 2024-01-02\nupdated = 2024-02-03T04:05:06Z\n+++\n";
        let s = split("a.md", t).unwrap();
        let fm: PageFrontMatter = parse("a.md", t, &s).unwrap();
        assert_eq!(fm.date.as_deref(), Some("2024-01-02"));
        assert_eq!(fm.updated.as_deref(), Some("2024-02-03T04:05:06Z"));
    }

    #[test]
    fn unknown_key_points_at_its_line() {
        let t = "+++\ntitle = \"A\"\ntitel = \"B\"\n+++\n";
        let s = split("a.md", t).unwrap();
        let e = parse::<PageFrontMatter>("a.md", t, &s).unwrap_err();
        assert_eq!((e.line, e.column), (Some(3), Some(1)));
        assert!(e.message.contains("unknown front matter key `titel`"), "{}", e.message);
    }

    #[test]
    fn wrong_value_points_at_its_key() {
        let t = "+++\ntitle = \"A\"\nweight = \"heavy\"\n+++\n";
        let s = split("a.md", t).unwrap();
        let e = parse::<PageFrontMatter>("a.md", t, &s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.md:3:1: `weight`: invalid type: string \"heavy\", expected i64"
        );
        let t = "+++\ntitle = \"A\"\nsort_by = \"newest\"\n+++\n";
        let s = split("a.md", t).unwrap();
        let e = parse::<SectionFrontMatter>("a.md", t, &s).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            e.message.starts_with("`sort_by`: unknown variant `newest`"),
            "{}",
            e.message
        );
    }

    /// The key lists are the structs' fields, in order: serde names them all when it refuses
    /// an unknown key.
    #[test]
    fn key_lists_are_the_fields() {
        fn fields<T: for<'de> Deserialize<'de> + Default + std::fmt::Debug>() -> Vec<String> {
            let t = "+++\nnot_a_key = 1\n+++\n";
            let s = split("a.md", t).unwrap();
            let e = parse::<T>("a.md", t, &s).unwrap_err();
            let list = e
                .message
                .split("expected one of ")
                .nth(1)
                .unwrap_or_else(|| panic!("{e}"));
            list.split(", ").map(|k| k.trim_matches('`').to_string()).collect()
        }
        assert_eq!(fields::<PageFrontMatter>(), PAGE_KEYS);
        assert_eq!(fields::<SectionFrontMatter>(), SECTION_KEYS);
    }

    #[test]
    fn unclosed_front_matter() {
        assert!(split("a.md", "+++\ntitle = 1\n").is_err());
    }
}
