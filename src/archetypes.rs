//! `sitegen new PATH`: a new content file from an archetype, the template of a new page
//! (Hugo's idea). For `content/blog/my-post.md` the archetype is `archetypes/blog.md` (the
//! first folder of the path), else `archetypes/default.md`, of the site (under its
//! `source_dir`) and then of the theme on disk, else the built-in one. An archetype is a
//! Markdown file with placeholders: `{{ title }}` (from the file name), `{{ date }}` (the
//! time given, which the CLI reads from the clock), `{{ slug }}` and `{{ section }}`.
//! Filling it in ([`fill`]) is pure; [`new_page`] is the edge that reads and writes.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::Diagnostic;

/// The built-in archetype of a page: a draft with a title and a date.
pub const DEFAULT_PAGE: &str = "+++\ntitle = \"{{ title }}\"\ndate = {{ date }}\ndraft = true\n+++\n";

/// The built-in archetype of a section (`_index.md`).
pub const DEFAULT_SECTION: &str = "+++\ntitle = \"{{ title }}\"\n+++\n";

/// What the placeholders of an archetype stand for.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    /// `My post` for `my-post.md`, `2024-05-01-my-post.md` and `my-post/index.md`.
    pub title: String,
    /// `2026-01-31T10:00:00+01:00`: a TOML datetime, and a YAML one.
    pub date: String,
    /// The file or bundle name without a date prefix: `my-post`.
    pub slug: String,
    /// The first folder under `content/` (`blog`), or empty.
    pub section: String,
}

impl Fields {
    /// The fields of the content file at `rel` (under `content/`), created at `date`.
    pub fn of(rel: &str, date: &str) -> Fields {
        let mut parts: Vec<&str> = rel.split('/').collect();
        let file = parts.pop().unwrap_or("");
        let stem = file.strip_suffix(".md").unwrap_or(file);
        let name = if stem == "index" || stem == "_index" {
            parts.last().copied().unwrap_or("")
        } else {
            stem
        };
        let undated = match (name.get(..10), name.get(10..11)) {
            (Some(d), Some("-" | "_"))
                if name.len() > 11 && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok() =>
            {
                &name[11..]
            }
            _ => name,
        };
        let words = undated.replace(['-', '_'], " ");
        let mut title = String::with_capacity(words.len());
        let mut chars = words.trim().chars();
        if let Some(c) = chars.next() {
            title.extend(c.to_uppercase());
            title.extend(chars);
        }
        Fields {
            title,
            date: date.to_string(),
            slug: undated.to_string(),
            section: if rel.contains('/') {
                parts.first().copied().unwrap_or("").to_string()
            } else {
                String::new()
            },
        }
    }
}

/// The archetype with its placeholders filled in (`{{ title }}`, spaces inside the braces
/// optional). The title is escaped for a double-quoted TOML or YAML string; anything else in
/// braces (a shortcode call) is left as it is.
pub fn fill(archetype: &str, fields: &Fields) -> String {
    let title = fields.title.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::with_capacity(archetype.len() + 64);
    let mut rest = archetype;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let value = after.find("}}").and_then(|j| {
            let v = match after[..j].trim() {
                "title" => title.as_str(),
                "date" => fields.date.as_str(),
                "slug" => fields.slug.as_str(),
                "section" => fields.section.as_str(),
                _ => return None,
            };
            Some((v, j + 2))
        });
        match value {
            Some((v, len)) => {
                out.push_str(v);
                rest = &after[len..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where `sitegen new` looks for the archetype of `rel`, in order: the site's, then the
/// theme's (by its section, then `default.md`; `_index.md` for sections).
pub fn candidates(root: &Path, config: &Config, rel: &str) -> Vec<PathBuf> {
    let is_section = rel == "_index.md" || rel.ends_with("/_index.md");
    let names: Vec<String> = if is_section {
        vec!["_index.md".into()]
    } else {
        match rel.split_once('/') {
            Some((section, _)) => vec![format!("{section}.md"), "default.md".into()],
            None => vec!["default.md".into()],
        }
    };
    let dirs = [
        root.join(&config.source_dir).join("archetypes"),
        root.join("themes").join(&config.theme).join("archetypes"),
    ];
    dirs.iter().flat_map(|d| names.iter().map(move |n| d.join(n))).collect()
}

/// Creates `content/REL` of the site at `root` from its archetype, at `date`. Refuses a
/// path that exists, is absolute, leaves `content/` or is not a `.md` file. Returns the
/// file written and the archetype used (`None`: the built-in one).
pub fn new_page(
    root: &Path,
    config: &Config,
    path: &str,
    date: &str,
) -> Result<(PathBuf, Option<PathBuf>), Diagnostic> {
    let rel = path.trim_start_matches("./");
    let rel = rel.strip_prefix("content/").unwrap_or(rel);
    let bad = |msg: &str| Diagnostic::new(path, msg.to_string());
    if rel.starts_with('/') || rel.contains('\\') || rel.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(bad(
            "must be a path under `content/`, such as `blog/my-post.md`, with no `..`",
        ));
    }
    if !rel.ends_with(".md") {
        return Err(bad(
            "must name a Markdown file: `blog/my-post.md`, or `blog/my-post/index.md` for a bundle",
        ));
    }
    let target = root.join(&config.source_dir).join("content").join(rel);
    let shown = target.strip_prefix(root).unwrap_or(&target).display().to_string();
    if target.exists() {
        return Err(Diagnostic::new(&shown, "already exists; not overwriting it"));
    }
    let found = candidates(root, config, rel).into_iter().find(|p| p.is_file());
    let archetype = match &found {
        Some(p) => std::fs::read_to_string(p).map_err(|e| {
            Diagnostic::new(
                p.strip_prefix(root).unwrap_or(p).display().to_string(),
                format!("cannot read: {e}"),
            )
        })?,
        None if rel == "_index.md" || rel.ends_with("/_index.md") => DEFAULT_SECTION.to_string(),
        None => DEFAULT_PAGE.to_string(),
    };
    let text = fill(&archetype, &Fields::of(rel, date));
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Diagnostic::new(parent.display().to_string(), format!("cannot create folder: {e}")))?;
    }
    // `create_new`: a file made since the check above is not overwritten either.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|e| Diagnostic::new(&shown, format!("cannot create: {e}")))?;
    std::io::Write::write_all(&mut f, text.as_bytes())
        .map_err(|e| Diagnostic::new(&shown, format!("cannot write: {e}")))?;
    Ok((target, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_from_the_file_name() {
        let f = Fields::of("blog/2024-05-01-my-first_post.md", "D");
        assert_eq!(
            (f.title.as_str(), f.slug.as_str(), f.section.as_str()),
            ("My first post", "my-first_post", "blog")
        );
        let f = Fields::of("docs/guide/install/index.md", "D");
        assert_eq!((f.title.as_str(), f.section.as_str()), ("Install", "docs"));
        let f = Fields::of("about.md", "D");
        assert_eq!((f.title.as_str(), f.section.as_str()), ("About", ""));
        assert_eq!(Fields::of("blog/_index.md", "D").title, "Blog");
    }

    #[test]
    fn placeholders_are_filled_and_other_braces_kept() {
        let f = Fields {
            title: "Say \"hi\"".into(),
            date: "2026-01-31T10:00:00+01:00".into(),
            slug: "hi".into(),
            section: "blog".into(),
        };
        assert_eq!(
            fill(DEFAULT_PAGE, &f),
            "+++\ntitle = \"Say \\\"hi\\\"\"\ndate = 2026-01-31T10:00:00+01:00\ndraft = true\n+++\n"
        );
        assert_eq!(
            fill(
                "{{slug}} in {{ section }}: {{ youtube(id=\"x\") }} {{ unknown }} {{",
                &f
            ),
            "hi in blog: {{ youtube(id=\"x\") }} {{ unknown }} {{"
        );
    }
}
