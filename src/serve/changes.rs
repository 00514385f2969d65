//! The pure half of `serve` and `build --watch`: which file events matter, what changed
//! between two build plans, and what to tell the browser.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::build::BuildPlan;
use crate::error::Errors;
use crate::source::is_ignored_name;

/// Should a change at `path` trigger a rebuild? Output folders, VCS folders, the site root's
/// build folders (`target`, `node_modules`: inside `content/` those names are a site's own
/// folders) and editor temp files do not.
pub fn relevant(root: &Path, ignored_dirs: &[PathBuf], path: &Path) -> bool {
    if ignored_dirs.iter().any(|d| path.starts_with(d)) {
        return false;
    }
    let Ok(rel) = path.strip_prefix(root) else { return false };
    for (i, c) in rel.components().enumerate() {
        let name = c.as_os_str().to_string_lossy();
        if matches!(name.as_ref(), ".git" | ".sitegen") || name.contains(".sitegen-") {
            return false;
        }
        if i == 0 && matches!(name.as_ref(), "target" | "node_modules") {
            return false;
        }
    }
    match path.file_name() {
        Some(n) => !is_ignored_name(&n.to_string_lossy()) && !n.to_string_lossy().starts_with(".#"),
        None => true,
    }
}

/// Output paths that differ between two plans (added, changed or removed), sorted.
pub fn diff(old: &BuildPlan, new: &BuildPlan) -> Vec<String> {
    let mut v: Vec<String> = new
        .files
        .iter()
        .filter(|(p, f)| old.files.get(*p).map(|o| o.sha256 != f.sha256).unwrap_or(true))
        .map(|(p, _)| p.clone())
        .chain(old.files.keys().filter(|p| !new.files.contains_key(*p)).cloned())
        .collect();
    v.sort();
    v
}

/// One error for the in-page overlay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverlayError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// What the live-reload socket sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Message {
    /// These pages changed: a browser showing one of them reloads.
    Reload { paths: Vec<String> },
    /// Only stylesheets changed: swap them without reloading.
    Css { paths: Vec<String> },
    /// The last build failed: show the errors over the page.
    Error { errors: Vec<OverlayError> },
    /// The site builds again: hide the overlay.
    Ok,
}

impl Message {
    pub fn from_errors(e: &Errors) -> Message {
        Message::Error {
            errors: e
                .0
                .iter()
                .map(|d| OverlayError {
                    file: d.file.clone(),
                    line: d.line,
                    column: d.column,
                    message: d.message.clone(),
                })
                .collect(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("messages serialise")
    }
}

/// The message for a successful rebuild that changed `changed` outputs.
pub fn reload_message(changed: &[String]) -> Option<Message> {
    if changed.is_empty() {
        return None;
    }
    if changed.iter().all(|p| p.ends_with(".css")) {
        return Some(Message::Css {
            paths: changed.iter().map(|p| crate::paths::url_path(p)).collect(),
        });
    }
    // A page changes when its HTML does; any other change (an image, a script) may show on
    // any page, so every page reloads.
    let pages: Vec<String> = changed
        .iter()
        .filter(|p| p.ends_with(".html"))
        .map(|p| crate::paths::url_path(p))
        .collect();
    let only_pages_and_css = changed
        .iter()
        .all(|p| p.ends_with(".html") || p.ends_with(".css") || p.ends_with(".xml") || p == "manifest.json");
    Some(Message::Reload {
        paths: if only_pages_and_css {
            pages
        } else {
            vec!["*".to_string()]
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::OutputFile;

    fn plan(files: &[(&str, &str)]) -> BuildPlan {
        let mut p = BuildPlan::default();
        for (k, v) in files {
            p.files
                .insert(k.to_string(), OutputFile::new(v.as_bytes().to_vec(), "test"));
        }
        p
    }

    #[test]
    fn events_that_do_not_matter() {
        let root = Path::new("/site");
        let ignored = [root.join("public")];
        assert!(relevant(root, &ignored, Path::new("/site/site/content/a.md")));
        assert!(relevant(root, &ignored, Path::new("/site/config.toml")));
        assert!(!relevant(root, &ignored, Path::new("/site/public/index.html")));
        assert!(!relevant(root, &ignored, Path::new("/site/site/content/.a.md.swp")));
        assert!(!relevant(root, &ignored, Path::new("/site/site/content/a.md~")));
        assert!(!relevant(root, &ignored, Path::new("/site/site/content/.#a.md")));
        assert!(!relevant(root, &ignored, Path::new("/site/.git/index")));
        assert!(!relevant(root, &ignored, Path::new("/site/.public.sitegen-tmp-12/a")));
        assert!(!relevant(root, &ignored, Path::new("/site/.public.sitegen-record")));
        assert!(!relevant(root, &ignored, Path::new("/elsewhere/a.md")));
        assert!(!relevant(root, &ignored, Path::new("/site/target/release/x")));
        assert!(!relevant(root, &ignored, Path::new("/site/node_modules/x/index.js")));
    }

    #[test]
    fn build_folder_names_count_inside_the_site() {
        // Regression: a content folder called `target` or `node_modules` was never rebuilt.
        let root = Path::new("/site");
        let ignored = [root.join("public")];
        assert!(relevant(
            root,
            &ignored,
            Path::new("/site/site/content/target/index.md")
        ));
        assert!(relevant(
            root,
            &ignored,
            Path::new("/site/site/content/docs/node_modules.md")
        ));
        assert!(relevant(
            root,
            &ignored,
            Path::new("/site/site/static/node_modules/x.js")
        ));
    }

    #[test]
    fn plan_diffs_and_messages() {
        let old = plan(&[
            ("index.html", "a"),
            ("blog/x/index.html", "b"),
            ("css/site.css", "c"),
            ("gone.html", "g"),
        ]);
        let new = plan(&[
            ("index.html", "a"),
            ("blog/x/index.html", "B"),
            ("css/site.css", "C"),
            ("new.png", "n"),
        ]);
        let d = diff(&old, &new);
        assert_eq!(d, vec!["blog/x/index.html", "css/site.css", "gone.html", "new.png"]);
        assert_eq!(
            reload_message(&d),
            Some(Message::Reload {
                paths: vec!["*".into()]
            })
        );
        assert_eq!(
            reload_message(&["blog/x/index.html".into(), "sitemap.xml".into()]),
            Some(Message::Reload {
                paths: vec!["/blog/x/".into()]
            })
        );
        assert_eq!(
            reload_message(&["css/site.css".into()]),
            Some(Message::Css {
                paths: vec!["/css/site.css".into()]
            })
        );
        assert_eq!(reload_message(&[]), None);
        assert_eq!(Message::Ok.to_json(), r#"{"type":"ok"}"#);
    }
}
