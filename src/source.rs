//! The source snapshot: every input file the build reads, as bytes plus a sha256, keyed by a
//! logical path (`content/blog/a.md`, `templates/base.html`, `static/logo.svg`,
//! `data/team.toml`). This is the only module that reads input files; everything after it
//! works on the snapshot, so a build (and later a rebuild in `serve`) is a pure function of it.
//!
//! Layers, lowest first: the theme embedded in the binary (for `default`), the theme on disk
//! under `themes/NAME/`, then the site's own `templates/`, `static/`, `content/`, `data/`,
//! `originals/`. A file in a higher layer replaces the file with the same logical path below
//! it. `originals/` (the site's over the theme's) holds images that only the image functions
//! and Markdown images read: nothing publishes them as they are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use include_dir::{include_dir, Dir};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::Diagnostic;

/// The default theme, compiled into the binary so `sitegen init` sites build anywhere.
pub static DEFAULT_THEME: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/themes/default");

/// Where a theme's `i18n/` files are in the snapshot (the site's are under `i18n/`).
pub const THEME_I18N: &str = "theme/i18n/";

/// Images that are read (resized, measured) but never published as they are: the folder at
/// the site's root and the theme's, both under this logical prefix.
pub const ORIGINALS: &str = "originals/";

/// One input file, shared: a snapshot refreshed after an edit shares every unchanged file
/// with the one before (copying a snapshot copies pointers, not names or bytes).
#[derive(Debug, Clone)]
pub struct SourceFile(Arc<SourceFileData>);

impl std::ops::Deref for SourceFile {
    type Target = SourceFileData;
    fn deref(&self) -> &SourceFileData {
        &self.0
    }
}

/// What a [`SourceFile`] holds.
#[derive(Debug)]
pub struct SourceFileData {
    /// Where it came from, for messages: a path relative to the site root, or
    /// `<embedded>/themes/default/...` for the built-in theme.
    pub origin: String,
    pub bytes: Arc<[u8]>,
    /// The same allocation as `bytes`, as text, when the file is valid UTF-8: checked once
    /// when the file is read, so every later build shares the text instead of copying it.
    pub text: Option<Arc<str>>,
    pub sha256: [u8; 32],
}

impl SourceFile {
    pub fn new(origin: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        let bytes: Vec<u8> = bytes.into();
        let sha256 = Sha256::digest(&bytes).into();
        let (bytes, text) = match String::from_utf8(bytes) {
            Ok(s) => {
                let text: Arc<str> = Arc::from(s);
                (Arc::<[u8]>::from(text.clone()), Some(text))
            }
            Err(e) => (Arc::from(e.into_bytes()), None),
        };
        SourceFile(Arc::new(SourceFileData {
            origin: origin.into(),
            bytes,
            text,
            sha256,
        }))
    }
}

impl SourceFile {
    /// The same file without its bytes: origin and sha256 kept, so it still exists for
    /// template functions that ask and still keys what depends on it.
    pub fn emptied(&self) -> SourceFile {
        SourceFile(Arc::new(SourceFileData {
            origin: self.origin.clone(),
            bytes: Arc::from(Vec::new()),
            text: self.text.as_ref().map(|_| Arc::from("")),
            sha256: self.sha256,
        }))
    }
}

/// The snapshot. Keys are logical paths with `/` separators.
#[derive(Debug, Clone, Default)]
pub struct SourceTree {
    pub files: BTreeMap<Arc<str>, SourceFile>,
}

impl SourceTree {
    /// Adds or replaces one file (used by tests and by the layering below).
    pub fn insert(&mut self, logical: impl Into<Arc<str>>, file: SourceFile) {
        self.files.insert(logical.into(), file);
    }

    pub fn get(&self, logical: &str) -> Option<&SourceFile> {
        self.files.get(logical)
    }

    /// Files under a logical folder (`"content/"`), in path order.
    pub fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a SourceFile)> + 'a {
        use std::ops::Bound;
        self.files
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (&**k, v))
    }

    /// The snapshot without the text of the Markdown files under `content/` (each still
    /// listed, with its sha256): what a one-shot build keeps once the site model holds them,
    /// so a page's text is freed as soon as its Markdown is rendered. Only when no template
    /// calls `load_data` (the one template function that reads a content file's bytes).
    pub fn without_markdown_texts(&self) -> Option<SourceTree> {
        let reads_files = self
            .under("templates/")
            .any(|(_, f)| f.text.as_deref().is_some_and(|t| t.contains("load_data")));
        if reads_files {
            return None;
        }
        let mut files = self.files.clone();
        for (k, f) in files.iter_mut() {
            if k.starts_with("content/") && k.ends_with(".md") {
                *f = f.emptied();
            }
        }
        Some(SourceTree { files })
    }

    /// The folders on disk that make the snapshot, lowest layer first, with their logical
    /// prefix. (The embedded default theme is below all of them.)
    pub fn layers(root: &Path, config: &Config) -> Vec<(PathBuf, &'static str)> {
        let theme_dir = root.join("themes").join(&config.theme);
        let src = root.join(&config.source_dir);
        vec![
            (theme_dir.join("templates"), "templates/"),
            (theme_dir.join("static"), "static/"),
            // The theme's translations are merged with the site's key by key, so both stay.
            (theme_dir.join("i18n"), THEME_I18N),
            (theme_dir.join(ORIGINALS.trim_end_matches('/')), ORIGINALS),
            (src.join("templates"), "templates/"),
            (src.join("static"), "static/"),
            (src.join("i18n"), "i18n/"),
            (src.join("content"), "content/"),
            (src.join("data"), "data/"),
            (src.join(ORIGINALS.trim_end_matches('/')), ORIGINALS),
        ]
    }

    /// The logical paths (`content/blog/a.md`, or a folder: `content/blog`) of paths on disk,
    /// sorted; paths outside every layer and editor temp files give none.
    pub fn logical_paths(root: &Path, config: &Config, changed: &[PathBuf]) -> Vec<String> {
        let mut logical: Vec<String> = Vec::new();
        for p in changed {
            if p.file_name().is_some_and(|n| is_ignored_name(&n.to_string_lossy())) {
                continue;
            }
            for (dir, prefix) in &Self::layers(root, config) {
                if let Ok(rel) = p.strip_prefix(dir) {
                    let rel = crate::paths::slash(rel);
                    logical.push(format!("{prefix}{rel}").trim_end_matches('/').to_string());
                }
            }
        }
        logical.sort();
        logical.dedup();
        logical
    }

    /// The logical paths whose files differ between `old` and `self` (added, changed or
    /// removed), in order. One walk over both snapshots; an unchanged file is shared by a
    /// refreshed snapshot, so most comparisons are of two pointers.
    pub fn changed_since<'a>(&'a self, old: &'a SourceTree) -> Vec<&'a str> {
        use std::cmp::Ordering;
        let mut out = Vec::new();
        let (mut a, mut b) = (old.files.iter().peekable(), self.files.iter().peekable());
        loop {
            match (a.peek(), b.peek()) {
                (None, None) => return out,
                (Some((k, _)), None) => {
                    out.push(&**k);
                    a.next();
                }
                (None, Some((k, _))) => {
                    out.push(&**k);
                    b.next();
                }
                (Some((ka, fa)), Some((kb, fb))) => match ka.cmp(kb) {
                    Ordering::Less => {
                        out.push(&**ka);
                        a.next();
                    }
                    Ordering::Greater => {
                        out.push(&**kb);
                        b.next();
                    }
                    Ordering::Equal => {
                        if !Arc::ptr_eq(&fa.0, &fb.0) && fa.sha256 != fb.sha256 {
                            out.push(&**kb);
                        }
                        a.next();
                        b.next();
                    }
                },
            }
        }
    }

    /// A new snapshot where the files at or under `changed` (paths on disk: files or folders,
    /// created, modified or deleted) are read again; every other file is shared with `self`.
    /// A deleted site file lets the theme's file of the same logical path show through again.
    pub fn refresh(&self, root: &Path, config: &Config, changed: &[PathBuf]) -> Result<SourceTree, Vec<Diagnostic>> {
        let (logical, files) = Self::read_changed(root, config, changed)?;
        Ok(self.with_changes(&logical, &files))
    }

    /// Reads what is now at or under the changed paths (on disk), from every layer, and
    /// nothing else: their logical paths, and a snapshot holding just their files. With
    /// [`SourceTree::with_changes`], this is [`SourceTree::refresh`] in two steps, so `serve`
    /// can look at the changed files before it copies the snapshot.
    pub fn read_changed(
        root: &Path,
        config: &Config,
        changed: &[PathBuf],
    ) -> Result<(Vec<String>, SourceTree), Vec<Diagnostic>> {
        let layers = Self::layers(root, config);
        let logical = Self::logical_paths(root, config, changed);
        let mut tree = SourceTree::default();
        let mut errors = Vec::new();
        for l in &logical {
            let under = format!("{l}/");
            // The embedded theme has only templates, static files and translations.
            if config.theme == "default"
                && (l.starts_with("templates") || l.starts_with("static") || l.starts_with(THEME_I18N))
            {
                let mut embedded = SourceTree::default();
                add_embedded(&mut embedded, &DEFAULT_THEME);
                for (k, f) in embedded.files {
                    if &*k == l.as_str() || k.starts_with(&under) {
                        tree.files.insert(k, f);
                    }
                }
            }
            let bounds = Bounds::new(root, config);
            for (dir, prefix) in &layers {
                let Some(rel) = l
                    .strip_prefix(prefix)
                    .or_else(|| (l.as_str() == prefix.trim_end_matches('/')).then_some(""))
                else {
                    continue;
                };
                let p = dir.join(rel);
                if p.exists() {
                    if let Err(e) = bounds.check(root, &p) {
                        errors.push(e);
                        continue;
                    }
                }
                if p.is_file() {
                    match std::fs::read(&p) {
                        Ok(bytes) => {
                            tree.insert(l.as_str(), SourceFile::new(display(root, &p), bytes));
                        }
                        Err(e) => errors.push(Diagnostic::new(display(root, &p), format!("cannot read: {e}"))),
                    }
                } else if p.is_dir() {
                    match read_dir_files(root, &p, &format!("{}/", l), &bounds) {
                        Ok(files) => tree.files.extend(files),
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok((logical, tree))
        } else {
            Err(errors)
        }
    }

    /// A new snapshot where what is at or under each of the `logical` paths is replaced by
    /// what `files` (from [`SourceTree::read_changed`]) has there; every other file is shared.
    pub fn with_changes(&self, logical: &[String], files: &SourceTree) -> SourceTree {
        let mut tree = self.clone();
        for l in logical {
            let under = format!("{l}/");
            // The file, or everything under the folder, by range: not a walk over the snapshot.
            tree.files.remove(l.as_str());
            let gone: Vec<Arc<str>> = tree.under(&under).map(|(k, _)| Arc::from(k)).collect();
            for k in gone {
                tree.files.remove(&k);
            }
            if let Some((k, f)) = files.files.get_key_value(l.as_str()) {
                tree.files.insert(k.clone(), f.clone());
            }
            for (k, f) in files.under(&under) {
                tree.insert(k, f.clone());
            }
        }
        tree
    }

    /// Reads a site from disk: the layers described in the module doc.
    pub fn read(root: &Path, config: &Config) -> Result<SourceTree, Vec<Diagnostic>> {
        let mut tree = SourceTree::default();
        if config.theme == "default" {
            add_embedded(&mut tree, &DEFAULT_THEME);
        }
        let mut errors = Vec::new();
        let theme_dir = root.join("themes").join(&config.theme);
        if config.theme != "default" && !theme_dir.is_dir() {
            errors.push(Diagnostic::new(
                &config.file,
                format!(
                    "theme `{}` not found: no folder `themes/{}`",
                    config.theme, config.theme
                ),
            ));
        }
        let bounds = Bounds::new(root, config);
        for (dir, prefix) in Self::layers(root, config) {
            match read_dir_files(root, &dir, prefix, &bounds) {
                Ok(files) => tree.files.extend(files),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(tree)
        } else {
            Err(errors)
        }
    }
}

fn add_embedded(tree: &mut SourceTree, dir: &Dir<'static>) {
    for entry in dir.entries() {
        match entry {
            include_dir::DirEntry::Dir(d) => add_embedded(tree, d),
            include_dir::DirEntry::File(f) => {
                let rel = crate::paths::slash(f.path());
                let logical = match rel.strip_prefix("i18n/") {
                    Some(r) => format!("{THEME_I18N}{r}"),
                    None => rel.clone(),
                };
                tree.insert(
                    logical,
                    SourceFile::new(format!("<embedded>/themes/default/{rel}"), f.contents()),
                );
            }
        }
    }
}

/// Editor droppings that must never become content: `.#a.md`, `a.md~`, `.a.md.swp`, `4913`.
/// Other dotfiles are ignored too, except in `static/` where `.well-known/` and `.htaccess`
/// are real files of a site (`allow_dotfiles`); `.git` and `.DS_Store` never count.
pub fn is_ignored(name: &str, allow_dotfiles: bool) -> bool {
    if name == ".git" || name == ".DS_Store" || name == ".gitkeep" || name.starts_with(".#") {
        return true;
    }
    (name.starts_with('.') && !allow_dotfiles) || is_ignored_name(name)
}

/// Names that are never input, whatever the folder: editor temp files.
pub fn is_ignored_name(name: &str) -> bool {
    name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".swx") || name.ends_with(".tmp") || name == "4913"
}

/// Where symbolic links may point: inside the site folder or the theme's folder (which may
/// itself be a link, to a theme shared by several sites), unless `follow_symlinks_outside`.
struct Bounds {
    allowed: Vec<PathBuf>,
    follow_outside: bool,
}

impl Bounds {
    fn new(root: &Path, config: &Config) -> Bounds {
        let canon = |p: &Path| std::fs::canonicalize(p).ok();
        Bounds {
            allowed: [canon(root), canon(&root.join("themes").join(&config.theme))]
                .into_iter()
                .flatten()
                .collect(),
            follow_outside: config.follow_symlinks_outside,
        }
    }

    /// An error naming `path` and its target when `path` leads outside the allowed folders.
    fn check(&self, root: &Path, path: &Path) -> Result<(), Diagnostic> {
        if self.follow_outside {
            return Ok(());
        }
        let Ok(target) = std::fs::canonicalize(path) else {
            return Ok(()); // A dangling link: reading it reports the problem.
        };
        if self.allowed.iter().any(|a| target.starts_with(a)) {
            return Ok(());
        }
        Err(Diagnostic::new(
            display(root, path),
            format!(
                "is a symbolic link to `{}`, outside the site folder: sitegen does not read or publish files from outside it; set `follow_symlinks_outside = true` in the config to allow it",
                target.display()
            ),
        ))
    }
}

fn read_dir_files(
    root: &Path,
    dir: &Path,
    prefix: &str,
    bounds: &Bounds,
) -> Result<Vec<(Arc<str>, SourceFile)>, Diagnostic> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut paths = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || !is_ignored(&e.file_name().to_string_lossy(), prefix.starts_with("static/"))
        });
    for entry in walker {
        let entry = entry.map_err(|e| {
            let p = e.path().map(|p| display(root, p)).unwrap_or_else(|| display(root, dir));
            Diagnostic::new(p, format!("cannot read: {e}"))
        })?;
        // A link (to a file or a folder) is followed only within the site.
        if entry.path_is_symlink() {
            bounds.check(root, entry.path())?;
        }
        if entry.file_type().is_file() {
            paths.push(entry.into_path());
        }
    }
    crate::fsio::io_pool().install(|| {
        paths
            .into_par_iter()
            .map(|p| {
                let rel = crate::paths::slash(p.strip_prefix(dir).expect("walkdir yields children"));
                let bytes =
                    std::fs::read(&p).map_err(|e| Diagnostic::new(display(root, &p), format!("cannot read: {e}")))?;
                Ok((
                    Arc::from(format!("{prefix}{rel}")),
                    SourceFile::new(display(root, &p), bytes),
                ))
            })
            .collect()
    })
}

/// A path relative to the site root when it is inside it, for messages.
pub fn display(root: &Path, p: &Path) -> String {
    crate::paths::slash(p.strip_prefix(root).unwrap_or(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_reads_only_what_changed_and_shares_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let config = Config::parse("config.toml", "base_url = \"https://example.com\"\n").unwrap();
        let content = root.join(&config.source_dir).join("content");
        std::fs::create_dir_all(content.join("d")).unwrap();
        std::fs::write(content.join("a.md"), "a").unwrap();
        std::fs::write(content.join("keep.md"), "k").unwrap();
        std::fs::write(content.join("d/b.md"), "b").unwrap();
        std::fs::write(content.join("d/c.md"), "c").unwrap();
        let old = SourceTree::read(root, &config).unwrap();
        std::fs::write(content.join("a.md"), "a2").unwrap();
        std::fs::write(content.join("new.md"), "n").unwrap();
        std::fs::remove_dir_all(content.join("d")).unwrap();
        let changed = [content.join("a.md"), content.join("d"), content.join("new.md")];
        let new = old.refresh(root, &config, &changed).unwrap();
        assert_eq!(
            new.changed_since(&old),
            vec!["content/a.md", "content/d/b.md", "content/d/c.md", "content/new.md"]
        );
        assert_eq!(new.get("content/a.md").unwrap().text.as_deref(), Some("a2"));
        // An unchanged file is the same allocation in both snapshots.
        assert!(Arc::ptr_eq(
            &old.get("content/keep.md").unwrap().0,
            &new.get("content/keep.md").unwrap().0
        ));
        assert!(new.get("templates/page.html").is_some(), "the embedded theme stays");
    }
}

#[cfg(test)]
mod trim_tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> SourceTree {
        let mut t = SourceTree::default();
        for (k, v) in files {
            t.insert(*k, SourceFile::new(format!("site/{k}"), v.as_bytes()));
        }
        t
    }

    #[test]
    fn markdown_texts_are_emptied_and_the_rest_kept() {
        let t = tree(&[
            ("content/a.md", "+++\ntitle = \"A\"\n+++\nbody"),
            ("content/b/data.json", "{}"),
            ("templates/page.html", "{{ page.content }}"),
            ("data/x.md", "kept"),
        ]);
        let trimmed = t.without_markdown_texts().expect("no template reads files");
        let a = trimmed.get("content/a.md").unwrap();
        assert_eq!(a.text.as_deref(), Some(""));
        assert!(a.bytes.is_empty());
        assert_eq!(
            a.sha256,
            t.get("content/a.md").unwrap().sha256,
            "still keys what depends on it"
        );
        assert_eq!(a.origin, "site/content/a.md");
        for kept in ["content/b/data.json", "templates/page.html", "data/x.md"] {
            assert_eq!(trimmed.get(kept).unwrap().bytes, t.get(kept).unwrap().bytes, "{kept}");
        }
    }

    #[test]
    fn nothing_is_trimmed_when_a_template_loads_data() {
        let t = tree(&[
            ("content/a.md", "text"),
            (
                "templates/shortcodes/inc.html",
                "{{ load_data(path=\"content/a.md\") }}",
            ),
        ]);
        assert!(t.without_markdown_texts().is_none());
    }
}
