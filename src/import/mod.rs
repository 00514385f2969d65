//! `sitegen import zola SRC DEST`: a Zola site becomes a sitegen site, with the same URLs, and
//! `IMPORT.md` says what changed and what could not be converted, each with `file:line`.
//!
//! The conversions are pure (`zola.rs`: config keys one by one, front matter per file); this
//! file is the edge that walks SRC, writes DEST (refusing a non-empty DEST unless `--force`),
//! and then plans a build of the result, so the report also lists every error that is left
//! (templates written for Tera 1, say) with its position.

mod hugo;
mod tera1;
mod zola;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Errors};

/// One line of the import report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    /// The source file (relative to SRC).
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
    /// A change the import made (`true`), or something it could not convert.
    pub change: bool,
}

impl Note {
    fn change(file: &str, line: Option<usize>, message: impl Into<String>) -> Note {
        Note {
            file: file.to_string(),
            line,
            message: message.into(),
            change: true,
        }
    }

    fn unsupported(file: &str, line: Option<usize>, message: impl Into<String>) -> Note {
        Note {
            file: file.to_string(),
            line,
            message: message.into(),
            change: false,
        }
    }

    fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub notes: Vec<Note>,
    /// Files written to DEST.
    pub files: usize,
    /// What a build of DEST reports now (empty: it builds).
    pub build_errors: Vec<Diagnostic>,
}

impl Report {
    pub fn changes(&self) -> impl Iterator<Item = &Note> {
        self.notes.iter().filter(|n| n.change)
    }

    pub fn unsupported(&self) -> impl Iterator<Item = &Note> {
        self.notes.iter().filter(|n| !n.change)
    }

    /// IMPORT.md.
    pub fn to_markdown(&self, from: &str, src: &str) -> String {
        let mut s = format!(
            "# Imported from {from}\n\n`sitegen import {} {src}` wrote {} files. Every change it made and everything it could not convert is listed below with the file and line in the {from} site.\n",
            from.to_lowercase(),
            self.files
        );
        let list = |s: &mut String, title: &str, notes: Vec<&Note>| {
            s.push_str(&format!("\n## {title} ({})\n\n", notes.len()));
            if notes.is_empty() {
                s.push_str("None.\n");
            }
            for n in notes {
                s.push_str(&format!("- `{}`: {}\n", n.location(), n.message));
            }
        };
        list(&mut s, "Changed", self.changes().collect());
        list(&mut s, "Not converted", self.unsupported().collect());
        let n = self.build_errors.len();
        s.push_str(&format!(
            "\n## Building the result ({n} error{})\n\n",
            if n == 1 { "" } else { "s" }
        ));
        if self.build_errors.is_empty() {
            s.push_str("`sitegen build` builds the imported site without errors.\n");
        } else {
            s.push_str("`sitegen check` in the imported site reports these; fix them there (paths are the imported site's):\n\n");
            for d in &self.build_errors {
                s.push_str(&format!("- {d}\n"));
            }
        }
        s
    }
}

/// The syntect theme (of `themes`, sitegen's) that another generator's name means: the same
/// name, or spelled with dashes (Zola's `base16-ocean-dark`, Hugo's `solarized-dark`), case
/// aside.
fn syntect_theme<'a>(name: &str, themes: &'a [String]) -> Option<&'a String> {
    let dashed = |t: &str| {
        t.replace(['.', ' ', '(', ')'], "-")
            .trim_matches('-')
            .replace("--", "-")
    };
    themes
        .iter()
        .find(|t| t.eq_ignore_ascii_case(name) || dashed(t).eq_ignore_ascii_case(&dashed(name)))
}

/// Imports the Zola site in `src` into `dest`: writes the converted site and `IMPORT.md`.
pub fn zola(src: &Path, dest: &Path, force: bool) -> Result<Report, Errors> {
    let config_path = src.join("config.toml");
    let text = std::fs::read_to_string(&config_path).map_err(|e| {
        Diagnostic::new(
            config_path.display().to_string(),
            format!("cannot read the Zola config: {e}"),
        )
    })?;
    check_dest(dest, force)?;
    let themes = crate::highlight::Highlighter::theme_names();
    let (config, mut notes) = zola::convert_config("config.toml", &text, &themes)?;
    let mut report = Report::default();
    write(dest, "config.toml", config.as_bytes(), &mut report)?;
    for (from, to) in [
        ("content", "content"),
        ("templates", "templates"),
        ("static", "static"),
        ("sass", "static"),
    ] {
        copy_tree(src, from, dest, to, &mut notes, &mut report)?;
    }
    if let Some(theme) = theme_name(&text) {
        let t = format!("themes/{theme}");
        for (from, to) in [("templates", "templates"), ("static", "static"), ("sass", "static")] {
            copy_tree(
                src,
                &format!("{t}/{from}"),
                dest,
                &format!("{t}/{to}"),
                &mut notes,
                &mut report,
            )?;
        }
        if src.join(&t).join("theme.toml").exists() {
            notes.push(Note::unsupported(
                &format!("{t}/theme.toml"),
                None,
                "the theme's `[extra]` defaults are not merged into the config; copy the ones the templates need into `[extra]`",
            ));
        }
    }
    rewrite_templates(dest, theme_name(&text).as_deref(), &mut notes)?;
    zola_builtins(dest, theme_name(&text).as_deref(), &mut notes, &mut report)?;
    if let Some(file) = uses_resize_image(dest) {
        notes.push(Note::change(
            &file,
            None,
            "`resize_image` writes under `processed_images/` with sitegen's names (a hash of the source bytes and the operation), not Zola's; the pages link the new names, so only direct links to Zola's processed files would break",
        ));
    }
    copy_tree(src, "i18n", dest, "i18n", &mut notes, &mut report)?;
    if let Some(theme) = theme_name(&text) {
        let t = format!("themes/{theme}/i18n");
        copy_tree(src, &t, dest, &t, &mut notes, &mut report)?;
    }
    if src.join("i18n").is_dir() {
        notes.push(Note::change(
            "i18n/",
            None,
            "copied: sitegen reads `i18n/CODE.toml` for `trans()` (under the config's `[translations]` tables)",
        ));
    }
    finish("Zola", src, dest, notes, report)
}

/// The end of every import: the notes sorted, a build of DEST planned to list what is left,
/// and IMPORT.md written.
fn finish(from: &str, src: &Path, dest: &Path, mut notes: Vec<Note>, mut report: Report) -> Result<Report, Errors> {
    notes.sort();
    notes.dedup();
    report.notes = notes;
    report.build_errors = build_errors(dest);
    let md = report.to_markdown(from, &src.display().to_string());
    write(dest, "IMPORT.md", md.as_bytes(), &mut report)?;
    Ok(report)
}

/// The names Hugo reads its config from at the site's root, in its order of preference.
const HUGO_CONFIGS: &[&str] = &[
    "hugo.toml",
    "hugo.yaml",
    "hugo.yml",
    "hugo.json",
    "config.toml",
    "config.yaml",
    "config.yml",
    "config.json",
];

/// Imports the Hugo site in `src` into `dest`: converts the config, the content (front
/// matter, built-in shortcodes, Hugo's URLs), `static/`, `assets/` (into `static/`), `data/`
/// and `i18n/`, lists the layouts left behind, and writes `IMPORT.md`. Nothing is written
/// when the config or a front matter does not parse.
pub fn hugo(src: &Path, dest: &Path, force: bool) -> Result<Report, Errors> {
    let files = hugo_config_files(src)?;
    check_dest(dest, force)?;
    let themes = crate::highlight::Highlighter::theme_names();
    let (config, mut site, mut notes) = hugo::convert_config(&files, &themes)?;
    let theme_dirs: Vec<String> = site.themes.iter().map(|t| format!("{}/{t}", site.themes_dir)).collect();
    site.custom_shortcodes = hugo_shortcode_templates(src, &site, &theme_dirs);
    site.now = Some(chrono::Utc::now().fixed_offset());
    let base_url = toml::from_str::<toml::Table>(&config)
        .ok()
        .and_then(|t| t.get("base_url")?.as_str().map(String::from))
        .unwrap_or_default();
    let mut content = Vec::new();
    for m in &site.content {
        for (path, rel) in files_under(&src.join(&m.source)) {
            let shown = format!("{}/{rel}", m.source);
            let bytes = read(&path, &shown)?;
            let rel = if m.target.is_empty() {
                rel
            } else {
                format!("{}/{rel}", m.target)
            };
            content.push(hugo::ContentFile {
                shown,
                rel,
                lang: m.lang.clone(),
                bytes,
            });
        }
    }
    // The default language's files first: they win where languages share a file.
    content.sort_by_key(|f| f.lang.as_ref().is_some_and(|l| *l != site.language));
    let (planned, content_notes) = hugo::plan_content(&site, &base_url, &content)?;
    notes.extend(content_notes);
    let mut report = Report::default();
    write(dest, "config.toml", config.as_bytes(), &mut report)?;
    for p in &planned {
        write(dest, &format!("content/{}", p.rel), &p.bytes, &mut report)?;
    }
    let with_themes = |mounts: &[hugo::Mount], component: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = mounts.iter().map(|m| (m.source.clone(), m.target.clone())).collect();
        v.extend(theme_dirs.iter().map(|t| (format!("{t}/{component}"), String::new())));
        v
    };
    for (component, to, mounts) in [
        ("static", "static", &site.static_dirs),
        ("assets", "static", &site.assets_dirs),
        ("data", "data", &site.data_dirs),
    ] {
        for (from, target) in with_themes(mounts, component) {
            let to = if target.is_empty() {
                to.to_string()
            } else {
                format!("{to}/{target}")
            };
            if component == "assets" && src.join(&from).is_dir() {
                notes.push(Note::change(&format!("{from}/"), None, format!("copied to `{to}/`, where `.scss` files are compiled to `.css` at the same paths; Hugo Pipes (templates) are not converted, so every file there is published as it is")));
            }
            copy_tree(src, &from, dest, &to, &mut notes, &mut report)?;
        }
    }
    hugo_i18n(
        src,
        dest,
        &with_themes(&site.i18n_dirs, "i18n"),
        &mut notes,
        &mut report,
    )?;
    hugo_left_behind(src, &site, &theme_dirs, &mut notes);
    finish("Hugo", src, dest, notes, report)
}

/// The config files of a Hugo site: those of `config/_default/` (the `hugo.*` one last), then
/// the root one (which Hugo reads over them).
fn hugo_config_files(src: &Path) -> Result<Vec<hugo::ConfigFile>, Errors> {
    let mut files = Vec::new();
    let dir = src.join("config/_default");
    let mut in_dir: Vec<(PathBuf, String)> = files_under(&dir)
        .into_iter()
        .filter(|(_, rel)| !rel.contains('/') && hugo::Format::of(rel).is_some())
        .collect();
    in_dir.sort_by_key(|(_, rel)| rel.starts_with("hugo.") || rel.starts_with("config."));
    for (path, rel) in in_dir {
        files.push((
            path,
            format!("config/_default/{rel}"),
            hugo::ConfigFile::prefix_for(&rel),
        ));
    }
    if let Some(name) = HUGO_CONFIGS.iter().find(|n| src.join(n).is_file()) {
        files.push((src.join(name), name.to_string(), vec![]));
    }
    if files.is_empty() {
        return Err(Diagnostic::new(
            src.display().to_string(),
            format!(
                "no Hugo config here: none of {} nor `config/_default/`",
                HUGO_CONFIGS.join(", ")
            ),
        )
        .into());
    }
    files
        .into_iter()
        .map(|(path, shown, prefix)| {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Errors::from(Diagnostic::new(
                    shown.clone(),
                    format!("cannot read the Hugo config: {e}"),
                ))
            })?;
            let format = hugo::Format::of(&shown).expect("a config name");
            Ok(hugo::ConfigFile {
                file: shown,
                text,
                format,
                prefix,
            })
        })
        .collect()
}

/// Hugo's translation tables (the site's over its themes') → `i18n/CODE.toml`.
fn hugo_i18n(
    src: &Path,
    dest: &Path,
    dirs: &[(String, String)],
    notes: &mut Vec<Note>,
    report: &mut Report,
) -> Result<(), Errors> {
    let mut tables: BTreeMap<String, toml::Table> = BTreeMap::new();
    for (dir, _) in dirs {
        for (path, rel) in files_under(&src.join(dir)) {
            let shown = format!("{dir}/{rel}");
            let Some(format) = hugo::Format::of(&rel) else { continue };
            let text = hugo::utf8(&shown, &read(&path, &shown)?)?;
            let (table, n) = hugo::convert_i18n(&shown, &text, format)?;
            notes.extend(n);
            let code = rel.rsplit_once('.').map(|(c, _)| c).unwrap_or(&rel).to_string();
            let into = tables.entry(code).or_default();
            for (k, v) in table {
                into.entry(k).or_insert(v);
            }
        }
    }
    for (code, table) in tables {
        let text = toml::to_string(&table)
            .map_err(|e| Errors::from(Diagnostic::new(format!("i18n/{code}.toml"), e.to_string())))?;
        write(dest, &format!("i18n/{code}.toml"), text.as_bytes(), report)?;
        notes.push(Note::change(
            &format!("i18n/{code}.toml"),
            None,
            "translations written as one string per key",
        ));
    }
    Ok(())
}

/// The layout folders of the site, then of its themes.
fn hugo_layout_dirs(site: &hugo::Site, theme_dirs: &[String]) -> Vec<String> {
    let mut dirs: Vec<String> = site.layout_dirs.iter().map(|m| m.source.clone()).collect();
    dirs.extend(theme_dirs.iter().map(|t| format!("{t}/layouts")));
    dirs
}

/// The shortcode templates of the site and its themes: (name, file), the site's first.
fn hugo_shortcode_templates(src: &Path, site: &hugo::Site, theme_dirs: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in hugo_layout_dirs(site, theme_dirs) {
        for (_, rel) in files_under(&src.join(&dir)) {
            let Some(name) = rel
                .strip_prefix("_shortcodes/")
                .or_else(|| rel.strip_prefix("shortcodes/"))
            else {
                continue;
            };
            let name = name.split('.').next().unwrap_or(name).to_string();
            out.push((name, format!("{dir}/{rel}")));
        }
    }
    out
}

/// What the import leaves in the Hugo site: every layout (Go templates), archetypes, config
/// of other environments, themes that are not there.
fn hugo_left_behind(src: &Path, site: &hugo::Site, theme_dirs: &[String], notes: &mut Vec<Note>) {
    for dir in hugo_layout_dirs(site, theme_dirs) {
        for (_, rel) in files_under(&src.join(&dir)) {
            let what = if rel.starts_with("shortcodes/") || rel.starts_with("_shortcodes/") {
                "a shortcode template (Go template): not converted; its calls are left as text"
            } else {
                "a layout (Go template): not converted; the site uses sitegen's default theme"
            };
            notes.push(Note::unsupported(&format!("{dir}/{rel}"), None, what));
        }
    }
    for m in &site.archetype_dirs {
        if src.join(&m.source).is_dir() {
            notes.push(Note::unsupported(
                &format!("{}/", m.source),
                None,
                "archetypes (templates for `hugo new`) are not converted",
            ));
        }
    }
    for t in theme_dirs {
        if !src.join(t).is_dir() {
            notes.push(Note::unsupported(
                &format!("{t}/"),
                None,
                "the theme is not in the site (a Git submodule or Hugo module?): nothing of it is imported",
            ));
        }
        for name in HUGO_CONFIGS.iter().chain(&["theme.toml"]) {
            if src.join(t).join(name).is_file() {
                notes.push(Note::unsupported(
                    &format!("{t}/{name}"),
                    None,
                    "the theme's config (its `params` defaults) is not merged; copy what the site needs into `[extra]`",
                ));
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(src.join("config")) {
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name != "_default" && e.path().is_dir() {
                notes.push(Note::unsupported(
                    &format!("config/{name}/"),
                    None,
                    format!("the `{name}` environment's config is not converted (only `_default`)"),
                ));
            }
        }
    }
}

/// DEST must be empty or missing, unless `force`.
fn check_dest(dest: &Path, force: bool) -> Result<(), Errors> {
    let non_empty = std::fs::read_dir(dest).map(|mut d| d.next().is_some()).unwrap_or(false);
    if non_empty && !force {
        return Err(Diagnostic::new(
            dest.display().to_string(),
            "is not empty: an import writes a whole site; choose an empty folder, or pass `--force` to write over it",
        )
        .into());
    }
    Ok(())
}

/// The `theme = "NAME"` of a Zola config.
fn theme_name(config: &str) -> Option<String> {
    let doc = config.parse::<toml_edit::DocumentMut>().ok()?;
    doc.get("theme")?.as_str().map(String::from)
}

fn write(dest: &Path, rel: &str, bytes: &[u8], report: &mut Report) -> Result<(), Errors> {
    let p = dest.join(rel);
    let io = |e: std::io::Error| Errors::from(Diagnostic::new(p.display().to_string(), format!("cannot write: {e}")));
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(io)?;
    }
    std::fs::write(&p, bytes).map_err(io)?;
    report.files += 1;
    Ok(())
}

/// Copies `src/from/**` to `dest/to/**`; Markdown files get their front matter converted.
/// Dotfiles are skipped; a file that an earlier folder already wrote (`sass/a.scss` and
/// `static/a.scss`) is noted and kept.
fn copy_tree(
    src: &Path,
    from: &str,
    dest: &Path,
    to: &str,
    notes: &mut Vec<Note>,
    report: &mut Report,
) -> Result<(), Errors> {
    for (path, rel) in files_under(&src.join(from)) {
        let shown = format!("{from}/{rel}");
        let out = format!("{to}/{rel}");
        if dest.join(&out).exists() && from != to {
            notes.push(Note::unsupported(
                &shown,
                None,
                format!("not copied: `{out}` comes from another folder of the site"),
            ));
            continue;
        }
        let bytes = read(&path, &shown)?;
        let bytes = match (from == "content" && rel.ends_with(".md"), std::str::from_utf8(&bytes)) {
            (true, Ok(text)) => {
                let section = rel == "_index.md" || rel.ends_with("/_index.md");
                let (converted, n) = zola::convert_front_matter(&shown, text, section);
                notes.extend(n);
                converted.into_bytes()
            }
            _ => bytes,
        };
        write(dest, &out, &bytes, report)?;
    }
    if from == "sass" || from.ends_with("/sass") {
        notes.push(Note::change(
            &format!("{from}/"),
            None,
            format!("moved to `{to}/`, where its `.scss` files are compiled to `.css` at the same paths"),
        ));
    }
    Ok(())
}

/// The first template (or shortcode) of DEST that calls `resize_image`, if any.
fn uses_resize_image(dest: &Path) -> Option<String> {
    walkdir::WalkDir::new(dest)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().components().any(|c| c.as_os_str() == "templates"))
        .find(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("resize_image(")))
        .and_then(|e| e.path().strip_prefix(dest).ok().map(crate::paths::slash))
}

/// Zola's built-in templates that differ from sitegen's default theme, written into the
/// site's templates when neither the site nor its theme has its own, so the pages look as
/// Zola made them.
const ZOLA_BUILTINS: &[(&str, &str, &str)] = &[
    (
        "anchor-link.html",
        "<a class=\"zola-anchor\" href=\"#{{ id }}\" aria-label=\"Anchor link for: {{ id }}\">🔗</a>",
        "Zola's heading anchor link (🔗)",
    ),
    (
        "404.html",
        "<!doctype html>\n<title>404 Not Found</title>\n<h1>404 Not Found</h1>\n",
        "Zola's built-in 404 page",
    ),
];

fn zola_builtins(dest: &Path, theme: Option<&str>, notes: &mut Vec<Note>, report: &mut Report) -> Result<(), Errors> {
    for (name, text, what) in ZOLA_BUILTINS {
        let in_theme = theme.is_some_and(|t| dest.join(format!("themes/{t}/templates/{name}")).exists());
        if dest.join("templates").join(name).exists() || in_theme {
            continue;
        }
        write(dest, &format!("templates/{name}"), text.as_bytes(), report)?;
        notes.push(Note::change(
            &format!("templates/{name}"),
            None,
            format!("written: {what}, which the site uses without having the file"),
        ));
    }
    Ok(())
}

/// Every file under `root` (none when it is missing), dotfiles and dot-folders left out, in
/// path order: (path, path relative to `root` with `/`).
fn files_under(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = crate::paths::slash(p.strip_prefix(root).expect("under root"));
            (p, rel)
        })
        .collect()
}

fn read(path: &Path, shown: &str) -> Result<Vec<u8>, Errors> {
    std::fs::read(path).map_err(|e| Errors::from(Diagnostic::new(shown.to_string(), format!("cannot read: {e}"))))
}

/// Rewrites the Tera 1 constructs of every template in DEST (site and theme) in place.
fn rewrite_templates(dest: &Path, theme: Option<&str>, notes: &mut Vec<Note>) -> Result<(), Errors> {
    let read = |dir: PathBuf| -> BTreeMap<String, String> {
        walkdir::WalkDir::new(&dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| {
                let rel = crate::paths::slash(e.path().strip_prefix(&dir).ok()?);
                Some((rel, std::fs::read_to_string(e.path()).ok()?))
            })
            .collect()
    };
    let site = read(dest.join("templates"));
    let theme_dir = theme.map(|t| format!("themes/{t}/templates"));
    let themed = theme_dir.as_ref().map(|d| read(dest.join(d))).unwrap_or_default();
    // Names resolve to the site's template first, then the theme's (as the build does).
    let mut all = themed.clone();
    all.extend(site.clone());
    for (dir, own) in [(Some("templates".to_string()), &site), (theme_dir.clone(), &themed)] {
        let Some(dir) = dir else { continue };
        let (rewritten, n) = tera1::rewrite_all(&all, &|name| format!("{dir}/{name}"));
        for (name, text) in own {
            let new = &rewritten[name];
            if new != text {
                let p = dest.join(&dir).join(name);
                std::fs::write(&p, new).map_err(|e| {
                    Errors::from(Diagnostic::new(p.display().to_string(), format!("cannot write: {e}")))
                })?;
            }
        }
        let prefix = format!("{dir}/");
        notes.extend(n.into_iter().filter(|x| {
            x.file
                .strip_prefix(&prefix)
                .is_some_and(|name| own.contains_key(name) && (dir == "templates" || !site.contains_key(name)))
        }));
    }
    Ok(())
}

/// The errors a build of the imported site reports (nothing is written or made).
fn build_errors(dest: &Path) -> Vec<Diagnostic> {
    let args = crate::site::SiteArgs::default();
    let (config, tree) = match crate::site::load_site(dest, Path::new("config.toml"), &args) {
        Ok(x) => x,
        Err(e) => return e.0,
    };
    match crate::build::plan(tree, config, &crate::build::BuildOptions::default()) {
        Ok(r) => r.warnings,
        Err(e) => e.0,
    }
}
