//! The asset pipeline: every file under `static/` (site and theme) becomes an [`Asset`].
//! SCSS is compiled in-process (grass), CSS references (`url(...)`, `@import`) are resolved
//! and rewritten to the fingerprinted names of their targets, CSS and (optionally) JS are
//! minified, JPEG, PNG and WebP files lose their EXIF, XMP and IPTC
//! ([`crate::image_metadata`], unless `images.strip_metadata = false`), and fingerprintable
//! files get `name.<hash>.ext` names where the hash is of the final bytes. Because an asset's
//! references are rewritten before it is hashed, a changed font changes the hash of the CSS
//! that uses it, and nothing else.
//!
//! Pure: the input is the source snapshot, the output is an [`AssetSet`] (plus diagnostics).
//! The set answers the template functions (`asset`, `get_url`), rewrites `src`/`href` in the
//! rendered HTML, and serialises `manifest.json` for app servers and for `publish`
//! (whatever is listed there is immutable).

pub mod css;
mod manifest;
mod minify;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::Engine as _;
use globset::{GlobSet, GlobSetBuilder};
use rayon::prelude::*;
use sha2::{Digest, Sha256, Sha384};

use crate::config::Config;
use crate::error::Diagnostic;
use crate::source::{SourceFile, SourceTree};

pub use minify::{minify_html, minify_js};

pub use manifest::{Manifest, ManifestEntry, MANIFEST};

/// One output file produced from `static/` (or generated, like `syntax-theme.css`).
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// The path as authored, under `static/`: `css/site.scss`.
    pub logical: String,
    /// The output path before fingerprinting: `css/site.css`.
    pub plain_path: String,
    /// The output path: `css/site.3f2a1b4c5d.css` (or `plain_path` when not fingerprinted).
    pub path: String,
    pub bytes: Arc<[u8]>,
    /// `sha384-…`, for `integrity` attributes.
    pub integrity: String,
    pub content_type: String,
    pub fingerprinted: bool,
    pub origin: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// All assets of a build, by logical path.
#[derive(Debug, Clone, Default)]
pub struct AssetSet {
    pub assets: BTreeMap<String, Asset>,
    /// `css/site.css` (the plain output path) → logical path.
    by_plain: HashMap<String, String>,
    /// Prefix of asset URLs: `assets_base_url`, or the site's `base_url`.
    base: String,
}

impl AssetSet {
    /// The URL an asset is served from.
    pub fn url(&self, a: &Asset) -> String {
        format!("{}/{}", self.base, a.path)
    }

    /// Finds an asset by its logical path (`css/site.scss`) or plain output path (`css/site.css`).
    pub fn get(&self, p: &str) -> Option<&Asset> {
        let p = p.trim_start_matches('/');
        self.assets
            .get(p)
            .or_else(|| self.by_plain.get(p).and_then(|l| self.assets.get(l)))
    }

    /// `manifest.json`: logical path → URL, output path, integrity, size, content type, for
    /// every fingerprinted asset.
    pub fn manifest(&self) -> String {
        self.manifest_with(Vec::new())
    }

    /// `manifest.json` with `more` fingerprinted files of other stages (the search index's
    /// fragments), by logical path.
    pub fn manifest_with(&self, more: Vec<(String, ManifestEntry)>) -> String {
        let assets = self.assets.values().filter(|a| a.fingerprinted).map(|a| {
            let entry = ManifestEntry {
                url: self.url(a),
                path: a.path.clone(),
                integrity: a.integrity.clone(),
                size: a.bytes.len(),
                content_type: a.content_type.clone(),
                width: a.width,
                height: a.height,
            };
            (a.logical.clone(), entry)
        });
        Manifest {
            version: Manifest::VERSION,
            assets: assets.chain(more).collect(),
        }
        .to_json()
    }

    /// Rewrites `src`, `href`, `srcset`, `poster` and `content` attribute values that point at
    /// a fingerprinted asset's plain path to its fingerprinted URL. `None` when nothing changed.
    pub fn rewrite_html(&self, html: &str, config: &Config) -> Option<String> {
        if !self.assets.values().any(|a| a.fingerprinted) {
            return None;
        }
        let base_path = config.base_path();
        let mut out = String::new();
        let mut copied = 0;
        for attr in crate::html::attributes(html) {
            if !matches!(
                &*attr.name,
                "src" | "href" | "srcset" | "poster" | "content" | "data-src"
            ) {
                continue;
            }
            let value = &html[attr.value.clone()];
            let new = if attr.name == "srcset" {
                let parts: Vec<String> = value
                    .split(',')
                    .map(|part| {
                        let t = part.trim();
                        let (u, rest) = t
                            .split_once(' ')
                            .map(|(u, r)| (u, format!(" {r}")))
                            .unwrap_or((t, String::new()));
                        match self.resolve_url(u, config, base_path) {
                            Some(n) => format!("{n}{rest}"),
                            None => t.to_string(),
                        }
                    })
                    .collect();
                let joined = parts.join(", ");
                (joined != value).then_some(joined)
            } else {
                self.resolve_url(value, config, base_path)
            };
            if let Some(n) = new {
                out.push_str(&html[copied..attr.value.start]);
                out.push_str(&n);
                copied = attr.value.end;
            }
        }
        if copied == 0 {
            return None;
        }
        out.push_str(&html[copied..]);
        Some(out)
    }

    /// The fingerprinted URL of a URL that names an asset by its plain path (`/img/a.png`,
    /// `https://example.com/img/a.png`), for Markdown links and images.
    pub fn fingerprinted_url(&self, url: &str, config: &Config) -> Option<String> {
        self.resolve_url(url, config, config.base_path())
    }

    /// The fingerprinted URL for a URL that points at an asset's plain path.
    fn resolve_url(&self, url: &str, config: &Config, base_path: &str) -> Option<String> {
        let rest = if config.base_url.starts_with("http") && url.starts_with(&config.base_url) {
            &url[config.base_url.len()..]
        } else if url.starts_with('/') && !url.starts_with("//") {
            url.strip_prefix(base_path)?
        } else {
            return None;
        };
        let (path, suffix) = match rest.find(['?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let a = self
            .by_plain
            .get(path.trim_start_matches('/'))
            .and_then(|l| self.assets.get(l))?;
        if !a.fingerprinted {
            return None;
        }
        Some(format!("{}{suffix}", self.url(a)))
    }
}

/// The kind of processing an asset gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scss,
    Css,
    Js,
    Other,
}

fn kind_of(path: &str) -> Kind {
    match ext(path).as_str() {
        "scss" | "sass" => Kind::Scss,
        "css" => Kind::Css,
        "js" | "mjs" => Kind::Js,
        _ => Kind::Other,
    }
}

fn ext(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// `css/site.css` + `3f2a` → `css/site.3f2a.css`.
pub fn fingerprinted_name(path: &str, hash: &str) -> String {
    let (dir, name) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    match name.rfind('.') {
        Some(0) | None => format!("{dir}{name}.{hash}"),
        Some(d) => format!("{dir}{}.{hash}{}", &name[..d], &name[d..]),
    }
}

pub fn sri(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
    )
}

fn content_type(path: &str) -> String {
    mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

struct Input {
    logical: String,
    plain_path: String,
    kind: Kind,
    file: SourceFile,
    fingerprint: bool,
}

/// Builds the asset set from `static/**` of the snapshot plus `generated` files
/// (logical path, bytes, origin), such as the syntax-highlighting stylesheet.
pub fn process(
    tree: &SourceTree,
    generated: Vec<(String, Vec<u8>, String)>,
    config: &Config,
) -> (AssetSet, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    let exclude = fingerprint_exclude(config, &mut errors);
    let files = static_files(tree, generated, &mut errors);
    let inputs = collect_inputs(files, config, &exclude);
    let mut set = empty_set(&inputs, config, &mut errors);
    process_leaves(&inputs, &mut set, config, &mut errors);
    process_sheets(tree, &inputs, &mut set, config, &mut errors);
    add_failed(&inputs, &mut set, config);
    (set, errors)
}

/// The `assets.fingerprint_exclude` globs (none, with an error, when one is invalid).
fn fingerprint_exclude(config: &Config, errors: &mut Vec<Diagnostic>) -> GlobSet {
    match build_globset(&config.assets.fingerprint_exclude) {
        Ok(g) => g,
        Err(e) => {
            errors.push(Diagnostic::new(
                &config.file,
                format!("invalid `assets.fingerprint_exclude` glob: {e}"),
            ));
            GlobSet::empty()
        }
    }
}

/// The files under `static/` (by path below it), then the generated ones whose name no file
/// there takes.
fn static_files(
    tree: &SourceTree,
    generated: Vec<(String, Vec<u8>, String)>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<(String, SourceFile)> {
    let mut files = tree
        .under("static/")
        .map(|(k, f)| (k["static/".len()..].to_string(), f.clone()))
        .collect::<Vec<_>>();
    for (l, b, o) in generated {
        if let Some((_, f)) = files.iter().find(|(k, _)| *k == l) {
            errors.push(Diagnostic::new(
                &f.origin,
                format!("`static/{l}` has the name of a file sitegen generates ({o}); rename it"),
            ));
            continue;
        }
        files.push((l, SourceFile::new(o, b)));
    }
    files
}

/// Every file that becomes an asset (all but Sass partials), with its kind, output path and
/// whether it is fingerprinted.
fn collect_inputs(files: Vec<(String, SourceFile)>, config: &Config, exclude: &GlobSet) -> BTreeMap<String, Input> {
    let ac = &config.assets;
    let mut inputs: BTreeMap<String, Input> = BTreeMap::new();
    for (logical, file) in files {
        let kind = kind_of(&logical);
        let name = logical.rsplit('/').next().unwrap_or(&logical);
        if kind == Kind::Scss && name.starts_with('_') {
            continue; // a partial: only imported
        }
        let plain_path = if kind == Kind::Scss {
            format!("{}.css", logical.rsplit_once('.').map(|(s, _)| s).unwrap_or(&logical))
        } else {
            logical.clone()
        };
        let fingerprint = ac.fingerprint
            && ac
                .fingerprint_extensions
                .iter()
                .any(|e| e.eq_ignore_ascii_case(&ext(&plain_path)))
            && !exclude.is_match(&logical);
        inputs.insert(
            logical.clone(),
            Input {
                logical,
                plain_path,
                kind,
                file,
                fingerprint,
            },
        );
    }
    inputs
}

/// A set with no assets yet: the URL base and every input's plain path (an error for two
/// inputs writing the same path).
fn empty_set(inputs: &BTreeMap<String, Input>, config: &Config, errors: &mut Vec<Diagnostic>) -> AssetSet {
    let base = config
        .assets_base_url
        .clone()
        .map(|b| b.trim_end_matches('/').to_string())
        .unwrap_or_else(|| config.base_url.clone());
    let mut set = AssetSet {
        assets: BTreeMap::new(),
        by_plain: HashMap::new(),
        base,
    };
    for i in inputs.values() {
        if let Some(prev) = set.by_plain.insert(i.plain_path.clone(), i.logical.clone()) {
            errors.push(Diagnostic::new(
                &i.file.origin,
                format!("writes `{}`, which `static/{prev}` writes too", i.plain_path),
            ));
        }
    }
    set
}

/// Leaves first (everything but stylesheets), in parallel: JS minified if configured, JPEG,
/// PNG and WebP without their metadata (unless `images.strip_metadata = false`), the rest as
/// is.
fn process_leaves(inputs: &BTreeMap<String, Input>, set: &mut AssetSet, config: &Config, errors: &mut Vec<Diagnostic>) {
    let leaves: Vec<Result<Asset, Diagnostic>> = inputs
        .values()
        .filter(|i| !matches!(i.kind, Kind::Css | Kind::Scss))
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|i| {
            let bytes: Vec<u8> = if i.kind == Kind::Js && config.assets.minify_js {
                let text = std::str::from_utf8(&i.file.bytes)
                    .map_err(|_| Diagnostic::new(&i.file.origin, "file is not valid UTF-8"))?;
                minify_js(text, &i.file.origin)?.into_bytes()
            } else if config.images.strip_metadata && crate::image_metadata::is_strippable_name(&i.logical) {
                // Before the fingerprint, which is of the published bytes.
                match crate::image_metadata::strip(&i.file.bytes) {
                    Ok(Some(stripped)) => stripped,
                    Ok(None) => i.file.bytes.to_vec(),
                    Err(e) => return Err(Diagnostic::new(&i.file.origin, crate::image_metadata::refused(&e))),
                }
            } else {
                i.file.bytes.to_vec()
            };
            Ok(finish(i, bytes, config))
        })
        .collect();
    for r in leaves {
        match r {
            Ok(a) => {
                set.assets.insert(a.logical.clone(), a);
            }
            Err(d) => errors.push(d),
        }
    }
}

/// Stylesheets: compile, then depth-first so every reference is final before it is used.
fn process_sheets(
    tree: &SourceTree,
    inputs: &BTreeMap<String, Input>,
    set: &mut AssetSet,
    config: &Config,
    errors: &mut Vec<Diagnostic>,
) {
    let sheets: Vec<&Input> = inputs
        .values()
        .filter(|i| matches!(i.kind, Kind::Css | Kind::Scss))
        .collect();
    let mut compiled: HashMap<String, css::Sheet> = HashMap::new();
    for i in &sheets {
        match css::load(tree, i.kind == Kind::Scss, &i.logical, &i.plain_path, &i.file) {
            Ok(s) => {
                compiled.insert(i.logical.clone(), s);
            }
            Err(d) => errors.push(d),
        }
    }
    let mut state: HashMap<String, bool> = HashMap::new(); // false: in progress, true: done
    for i in &sheets {
        let mut stack = Vec::new();
        visit(
            &i.logical, inputs, &compiled, set, &mut state, &mut stack, config, errors,
        );
    }
}

/// An asset that failed is still known under its plain name, so templates that use it do not
/// add errors of their own: the asset's error is the one to fix, and the build fails.
fn add_failed(inputs: &BTreeMap<String, Input>, set: &mut AssetSet, config: &Config) {
    for i in inputs.values() {
        if !set.assets.contains_key(&i.logical) {
            let mut a = finish(i, Vec::new(), config);
            a.fingerprinted = false;
            a.path = a.plain_path.clone();
            set.assets.insert(i.logical.clone(), a);
        }
    }
}

#[allow(clippy::too_many_arguments)] // a recursive walk over the same shared state
fn visit(
    logical: &str,
    inputs: &BTreeMap<String, Input>,
    compiled: &HashMap<String, css::Sheet>,
    set: &mut AssetSet,
    state: &mut HashMap<String, bool>,
    stack: &mut Vec<String>,
    config: &Config,
    errors: &mut Vec<Diagnostic>,
) -> bool {
    match state.get(logical) {
        Some(true) => return true,
        Some(false) => {
            let start = stack.iter().position(|s| s == logical).unwrap_or(0);
            let mut cycle: Vec<String> = stack[start..].iter().map(|s| format!("static/{s}")).collect();
            cycle.push(format!("static/{logical}"));
            let origin = inputs
                .get(&stack[stack.len() - 1])
                .map(|i| i.file.origin.clone())
                .unwrap_or_default();
            errors.push(Diagnostic::new(
                origin,
                format!("stylesheets reference each other in a cycle: {}", cycle.join(" → ")),
            ));
            return false;
        }
        None => {}
    }
    let (Some(input), Some(sheet)) = (inputs.get(logical), compiled.get(logical)) else {
        return false;
    };
    state.insert(logical.to_string(), false);
    stack.push(logical.to_string());
    let mut ok = true;
    let mut replacements: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for r in &sheet.refs {
        let Some(target_plain) = css::resolve(&input.plain_path, &r.url, config.base_path()) else {
            continue;
        };
        let Some(target) = set
            .by_plain
            .get(&target_plain)
            .cloned()
            .or_else(|| inputs.contains_key(&target_plain).then(|| target_plain.clone()))
        else {
            errors.push(missing_reference(input, sheet, &r.url, &target_plain));
            ok = false;
            continue;
        };
        if matches!(inputs.get(&target).map(|i| i.kind), Some(Kind::Css | Kind::Scss))
            && !visit(&target, inputs, compiled, set, state, stack, config, errors)
        {
            ok = false;
            continue;
        }
        let Some(t) = set.assets.get(&target) else { continue };
        if !t.fingerprinted {
            continue;
        }
        let new_url = if r.url.starts_with('/') || r.url.starts_with("http") {
            format!("{}{}", set.url(t), r.suffix())
        } else {
            css::replace_file_name(&r.url, t.path.rsplit('/').next().unwrap_or(&t.path))
        };
        replacements.push((r.range.clone(), new_url));
    }
    stack.pop();
    if !ok {
        state.insert(logical.to_string(), true);
        return false;
    }
    let mut text = sheet.css.clone();
    replacements.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    for (range, new) in replacements {
        text.replace_range(range, &new);
    }
    let text = if config.assets.minify_css {
        match minify::minify_css(&text, &input.file.origin) {
            Ok(t) => t,
            Err(d) => {
                errors.push(d);
                state.insert(logical.to_string(), true);
                return false;
            }
        }
    } else {
        text
    };
    let a = finish(input, text.into_bytes(), config);
    set.assets.insert(a.logical.clone(), a);
    state.insert(logical.to_string(), true);
    true
}

/// The error for a stylesheet reference `url` to a file that is not in `static/` (at the
/// reference when the sheet knows where it is).
fn missing_reference(input: &Input, sheet: &css::Sheet, url: &str, target_plain: &str) -> Diagnostic {
    let (line, col) = sheet.position_of(url);
    match line {
        Some(l) => Diagnostic::at(
            sheet.origin_of(url),
            l,
            col.unwrap_or(1),
            format!(
                "`{}` references `{}`, which is not a file in `static/` (looked for `static/{target_plain}`)",
                input.logical, url
            ),
        ),
        None => Diagnostic::new(
            &input.file.origin,
            format!("references `{url}`, which is not a file in `static/` (looked for `static/{target_plain}`)"),
        ),
    }
}

fn finish(i: &Input, bytes: Vec<u8>, config: &Config) -> Asset {
    let path = if i.fingerprint {
        let hash = Sha256::digest(&bytes);
        let hex = crate::paths::hex(&hash);
        fingerprinted_name(&i.plain_path, &hex[..config.assets.hash_length.clamp(8, 64)])
    } else {
        i.plain_path.clone()
    };
    let (width, height) = match imagesize::blob_size(&bytes) {
        Ok(s) if matches!(kind_of(&i.plain_path), Kind::Other) => (Some(s.width as u32), Some(s.height as u32)),
        _ => (None, None),
    };
    Asset {
        logical: i.logical.clone(),
        plain_path: i.plain_path.clone(),
        path,
        integrity: sri(&bytes),
        content_type: content_type(&i.plain_path),
        bytes: bytes.into(),
        fingerprinted: i.fingerprint,
        origin: i.file.origin.clone(),
        width,
        height,
    }
}

fn build_globset(globs: &[String]) -> Result<GlobSet, globset::Error> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(globset::GlobBuilder::new(g).literal_separator(true).build()?);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprinted_names() {
        assert_eq!(fingerprinted_name("css/site.css", "abc"), "css/site.abc.css");
        assert_eq!(fingerprinted_name("a.tar.gz", "abc"), "a.tar.abc.gz");
        assert_eq!(fingerprinted_name("LICENSE", "abc"), "LICENSE.abc");
        assert_eq!(fingerprinted_name("x/.hidden", "abc"), "x/.hidden.abc");
    }
}
