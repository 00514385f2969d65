//! Zola → sitegen, as pure text conversions: `config.toml` (Zola 0.17 to 0.22, the old and
//! the new highlighting keys) and each content file's front matter. Every change and every
//! key sitegen cannot take is returned as a [`Note`] with the file and line, for IMPORT.md.

use toml_edit::{value, Array, DocumentMut, Item, Table};

use super::Note;
use crate::content::front_matter::{PAGE_KEYS, SECTION_KEYS};
use crate::error::{line_col, Diagnostic};

/// Zola keys that sitegen takes with the same name and meaning (top level).
const SAME_TOP: &[&str] = &[
    "base_url",
    "title",
    "description",
    "theme",
    "output_dir",
    "minify_html",
    "generate_sitemap",
    "generate_robots_txt",
];

/// Zola keys sitegen has no equivalent for yet, with what it means for the imported site.
const UNSUPPORTED_TOP: &[(&str, &str)] = &[
    (
        "link_checker",
        "sitegen checks internal links itself (`sitegen check`) and external ones with `sitegen check --external`; Zola's keys are not carried over (`[link_checker] skip` takes URL globs)",
    ),
    (
        "hard_link_static",
        "sitegen copies static files (unchanged outputs keep their inode anyway)",
    ),
    (
        "ignored_content",
        "every file under content/ is read; move ignored files out of content/",
    ),
    (
        "ignored_static",
        "every file under static/ is copied; move ignored files out of static/",
    ),
    ("taxonomy_root", "taxonomies are served at the root"),
    ("author", "use `[extra] author` in templates"),
    ("preserve_dotfiles_in_output", "dotfiles are skipped"),
    (
        "exclude_paginated_pages_in_sitemap",
        "every pager page is in the sitemap",
    ),
    ("mode", "not a site setting"),
];

/// Zola `[markdown]` keys sitegen takes as they are.
const SAME_MARKDOWN: &[&str] = &[
    "external_links_target_blank",
    "external_links_no_follow",
    "smart_punctuation",
    "github_alerts",
];

/// Position of a key's line in `text` (1-based), for notes.
fn line_of(doc_text: &str, item_span: Option<std::ops::Range<usize>>) -> Option<usize> {
    item_span.map(|r| line_col(doc_text, r.start).0)
}

/// Converts a Zola `config.toml`. Returns sitegen's config text and the notes.
pub fn convert_config(file: &str, text: &str, sitegen_themes: &[String]) -> Result<(String, Vec<Note>), Diagnostic> {
    let spans = toml_edit::ImDocument::parse(text).map_err(|e| {
        let (l, c) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        Diagnostic::at(file, l, c, format!("not a valid Zola config: {}", e.message()))
    })?;
    let zola = spans.as_table();
    let line = |key: &str| line_of(text, zola.key(key).and_then(|k| k.span()));
    let mut notes = Vec::new();
    let mut out = DocumentMut::new();
    out.decor_mut().set_prefix(
        "# Imported from Zola by `sitegen import zola`; see IMPORT.md.
",
    );
    out["source_dir"] = value(".");
    notes.push(Note::change(
        file,
        None,
        "`source_dir = \".\"`: content/, templates/ and static/ stay where Zola has them",
    ));

    for (key, item) in zola.iter() {
        let at = line(key);
        if SAME_TOP.contains(&key) {
            out[key] = item.clone();
            continue;
        }
        if let Some((_, why)) = UNSUPPORTED_TOP.iter().find(|(k, _)| *k == key) {
            notes.push(Note::unsupported(file, at, format!("`{key}`: {why}")));
            continue;
        }
        match key {
            "default_language" => {
                out["language"] = item.clone();
                notes.push(Note::change(file, at, "`default_language` → `language`"));
            }
            "compile_sass" => notes.push(Note::change(
                file,
                at,
                "`compile_sass`: sass/ is moved into static/, where sitegen compiles every `.scss` file",
            )),
            "generate_feed" | "generate_feeds" => out["generate_feeds"] = item.clone(),
            "feed_filename" | "feed_filenames" => feed_filenames(file, at, item, &mut out, &mut notes),
            "feed_limit" => out["feed_limit"] = item.clone(),
            "taxonomies" => out["taxonomies"] = Item::ArrayOfTables(taxonomies(file, text, item, &mut notes)),
            "translations" => out["translations"] = item.clone(),
            "languages" => languages(file, text, item, &mut out, &mut notes),
            "markdown" => markdown(file, text, item, sitegen_themes, &mut out, &mut notes),
            "highlight_code" | "highlight_theme" => {
                // Zola before 0.11 had these at the top level.
                markdown_key(file, at, key, item, sitegen_themes, &mut out, &mut notes);
            }
            "slugify" => {
                if let Some(t) = item.as_table_like() {
                    for (k, v) in t.iter() {
                        out["slugify"][k] = v.clone();
                    }
                }
            }
            "extra" => out["extra"] = item.clone(),
            // Mapped once every key is read (see `search`).
            "build_search_index" | "search" => {}
            other => notes.push(Note::unsupported(
                file,
                at,
                format!("`{other}` is not a Zola key sitegen knows"),
            )),
        }
    }
    search(file, text, zola, &mut out, &mut notes);
    zola_defaults(file, zola, &mut out, &mut notes);
    Ok((out.to_string(), notes))
}

/// Zola's `build_search_index` (site-wide and per language) and `[search]`: sitegen's own
/// index and search box, plus Zola's index format (`zola_compat`) for the theme's script.
fn search(file: &str, text: &str, zola: &Table, out: &mut DocumentMut, notes: &mut Vec<Note>) {
    let line = |t: &dyn toml_edit::TableLike, k: &str| line_of(text, t.key(k).and_then(|k| k.span()));
    let on = |t: &dyn toml_edit::TableLike| t.get("build_search_index").and_then(Item::as_bool).unwrap_or(false);
    let langs: Vec<(String, bool)> = zola
        .get("languages")
        .and_then(Item::as_table_like)
        .map(|l| {
            l.iter()
                .filter_map(|(code, t)| t.as_table_like().map(|t| (code.to_string(), on(t))))
                .collect()
        })
        .unwrap_or_default();
    let site_on = on(zola);
    if !site_on && !langs.iter().any(|(_, o)| *o) {
        return;
    }
    let mut format = "elasticlunr_javascript".to_string();
    if let Some(s) = zola.get("search").and_then(Item::as_table_like) {
        for (k, v) in s.iter() {
            let at = line(s, k);
            match (k, v.as_str(), v.as_bool()) {
                ("index_format", Some(f), _) if f.starts_with("elasticlunr_") => format = f.to_string(),
                ("index_format", Some(f), _) => notes.push(Note::unsupported(
                    file,
                    at,
                    format!("`search.index_format = \"{f}\"`: sitegen writes Zola's `elasticlunr_javascript` and `elasticlunr_json`; the theme's search script needs changing to read `elasticlunr_javascript` or sitegen's own index"),
                )),
                ("include_title" | "include_content", _, Some(true)) => {}
                ("include_description" | "include_path" | "include_date", _, Some(false)) => {}
                _ => notes.push(Note::unsupported(
                    file,
                    at,
                    format!("`search.{k}`: sitegen's Zola-format index holds each page's title and whole text"),
                )),
            }
        }
    }
    out["search"]["enabled"] = value(true);
    out["search"]["zola_compat"] = value(Array::from_iter([format.as_str()]));
    let default = zola
        .get("default_language")
        .and_then(Item::as_str)
        .unwrap_or("en")
        .to_string();
    let mut off: Vec<String> = langs.iter().filter(|(_, o)| !*o).map(|(c, _)| c.clone()).collect();
    if !site_on {
        off.push(default);
    }
    for code in &off {
        out["languages"][code.as_str()]["search"] = value(false);
    }
    let at = line_of(text, zola.key("build_search_index").and_then(|k| k.span()));
    notes.push(Note::change(
        file,
        at,
        format!(
            "`build_search_index` → `[search] enabled = true` with `zola_compat = [\"{format}\"]`: sitegen writes Zola's `search_index.LANG` files and `elasticlunr.min.js` for the theme's search script, and its own sharded index (`search/LANG.json`){}",
            if off.is_empty() { String::new() } else { format!("; off for {}", off.join(", ")) }
        ),
    ));
}

/// What Zola does when a key is absent, written out where sitegen's default differs.
fn zola_defaults(file: &str, zola: &Table, out: &mut DocumentMut, notes: &mut Vec<Note>) {
    if !zola.contains_key("generate_feeds") && !zola.contains_key("generate_feed") {
        out["generate_feeds"] = value(false);
    }
    if !zola.contains_key("feed_filenames") && !zola.contains_key("feed_filename") {
        out["feed_filenames"] = value(Array::from_iter(["atom.xml"]));
    }
    if !zola.contains_key("feed_limit") {
        out["feed_limit"] = value(0);
    }
    let md = zola.get("markdown").and_then(Item::as_table_like);
    let has = |k: &str| md.is_some_and(|m| m.contains_key(k));
    if !has("smart_punctuation") {
        out["markdown"]["smart_punctuation"] = value(false);
    }
    if !has("highlight_code") && !has("highlighting") && !zola.contains_key("highlight_code") {
        out["markdown"]["highlight_code"] = value(false);
    }
    if !has("insert_anchor_links") {
        out["markdown"]["anchor_links"] = value("none");
    }
    if !has("github_alerts") {
        out["markdown"]["github_alerts"] = value(false);
    }
    out["markdown"]["shortcode_rules"] = value("zola");
    out["markdown"]["markdown_file_links"] = value(false);
    // Zola keeps folder names in URLs as they are written.
    if out.get("slugify").and_then(|s| s.get("dirs")).is_none() {
        out["slugify"]["dirs"] = value("off");
    }
    // Zola does not fingerprint static files: same URLs as before.
    out["assets"]["fingerprint"] = value(false);
    notes.push(Note::change(
        file,
        None,
        "Zola's defaults written out where sitegen's differ: no feeds unless asked, `atom.xml`, no feed limit, no smart punctuation, no heading anchors, no GitHub alerts, shortcodes found as Zola finds them, in code too (`shortcode_rules = \"zola\"`), relative links to `.md` files left as written (`markdown_file_links = false`), no highlighting unless configured, folder names kept in URLs (`[slugify] dirs = \"off\"`), static files not fingerprinted (`[assets] fingerprint = false`; turn it on to get cache-forever asset names)",
    ));
}

fn feed_filenames(file: &str, at: Option<usize>, item: &Item, out: &mut DocumentMut, notes: &mut Vec<Note>) {
    let names: Vec<String> = match (item.as_str(), item.as_array()) {
        (Some(s), _) => vec![s.to_string()],
        (_, Some(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        _ => vec![],
    };
    let (known, other): (Vec<String>, Vec<String>) = names
        .into_iter()
        .partition(|n| crate::config::FEED_FORMATS.contains(&n.as_str()));
    for n in &other {
        notes.push(Note::unsupported(
            file,
            at,
            format!("feed `{n}`: sitegen writes `atom.xml`, `rss.xml` and `feed.json` only"),
        ));
    }
    out["feed_filenames"] = value(Array::from_iter(known));
}

/// Zola's `[languages.CODE]` tables. Zola's defaults for a language differ from sitegen's
/// (no feeds, no taxonomies), so they are written out.
fn languages(file: &str, text: &str, item: &Item, out: &mut DocumentMut, notes: &mut Vec<Note>) {
    let Some(langs) = item.as_table_like() else { return };
    let mut all = Table::new();
    all.set_implicit(true);
    for (code, options) in langs.iter() {
        let at = line_of(text, langs.key(code).and_then(|k| k.span()));
        let Some(options) = options.as_table_like() else {
            continue;
        };
        let mut new = Table::new();
        for (k, v) in options.iter() {
            let at = line_of(text, options.key(k).and_then(|k| k.span())).or(at);
            match k {
                "title" | "description" | "translations" => new[k] = v.clone(),
                "generate_feed" | "generate_feeds" => new["generate_feeds"] = v.clone(),
                "taxonomies" => new["taxonomies"] = Item::ArrayOfTables(taxonomies(file, text, v, notes)),
                "feed_filename" | "feed_filenames" => notes.push(Note::unsupported(
                    file,
                    at,
                    format!("`languages.{code}.{k}`: every language's feeds use the site's `feed_filenames`"),
                )),
                // Mapped with the site's (see `search`).
                "build_search_index" => {}
                "search" => notes.push(Note::unsupported(
                    file,
                    at,
                    format!("`languages.{code}.search`: every language's Zola-format index uses the site's `[search]`"),
                )),
                other => notes.push(Note::unsupported(
                    file,
                    at,
                    format!("`languages.{code}.{other}` is not a Zola key sitegen knows"),
                )),
            }
        }
        if !new.contains_key("generate_feeds") {
            new["generate_feeds"] = value(false);
        }
        if !new.contains_key("taxonomies") {
            new["taxonomies"] = value(Array::new());
        }
        all.insert(code, Item::Table(new));
        notes.push(Note::change(
            file,
            at,
            format!("`[languages.{code}]`: its content (`*.{code}.md`) is under `/{code}/` as in Zola; Zola's defaults written out (no feeds, no taxonomies unless listed)"),
        ));
    }
    out["languages"] = Item::Table(all);
}

fn taxonomies(file: &str, text: &str, item: &Item, notes: &mut Vec<Note>) -> toml_edit::ArrayOfTables {
    let mut list = toml_edit::ArrayOfTables::new();
    let tables: Vec<&dyn toml_edit::TableLike> = match (item.as_array(), item.as_array_of_tables()) {
        (Some(a), _) => a
            .iter()
            .filter_map(|v| v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike))
            .collect(),
        (_, Some(a)) => a.iter().map(|t| t as &dyn toml_edit::TableLike).collect(),
        _ => vec![],
    };
    for t in tables {
        let mut new = Table::new();
        for (k, v) in t.iter() {
            let at = line_of(text, t.key(k).and_then(|k| k.span()));
            match k {
                "name" | "paginate_by" | "feed" => {
                    new[k] = v.clone();
                }
                "paginate_path" | "render" | "lang" => notes.push(Note::unsupported(
                    file,
                    at,
                    format!("taxonomy key `{k}` (sitegen: pager pages at `page/N/`, always rendered, one language)"),
                )),
                other => notes.push(Note::unsupported(file, at, format!("taxonomy key `{other}`"))),
            }
        }
        if !new.contains_key("feed") {
            new["feed"] = value(false);
        }
        list.push(new);
    }
    list
}

fn markdown(file: &str, text: &str, item: &Item, themes: &[String], out: &mut DocumentMut, notes: &mut Vec<Note>) {
    let Some(t) = item.as_table_like() else { return };
    for (k, v) in t.iter() {
        let at = line_of(text, t.key(k).and_then(|k| k.span()));
        markdown_key(file, at, k, v, themes, out, notes);
    }
}

/// One key of Zola's `[markdown]` (or an old top-level highlighting key).
fn markdown_key(
    file: &str,
    at: Option<usize>,
    k: &str,
    v: &Item,
    themes: &[String],
    out: &mut DocumentMut,
    notes: &mut Vec<Note>,
) {
    match k {
        _ if SAME_MARKDOWN.contains(&k) => out["markdown"][k] = v.clone(),
        "highlight_code" => out["markdown"]["highlight_code"] = v.clone(),
        "highlight_theme" => highlight_theme(file, at, v.as_str().unwrap_or(""), themes, out, notes),
        "highlighting" => {
            // Zola 0.22: the table's presence turns highlighting on.
            out["markdown"]["highlight_code"] = value(true);
            let theme = v
                .get("theme")
                .or_else(|| v.get("light_theme"))
                .and_then(Item::as_str)
                .unwrap_or("");
            highlight_theme(file, at, theme, themes, out, notes);
            if v.get("dark_theme").is_some() {
                notes.push(Note::unsupported(
                    file,
                    at,
                    "`dark_theme`: one highlighting theme (the light one) is used",
                ));
            }
        }
        "insert_anchor_links" => {
            let mode = anchor_mode(v);
            out["markdown"]["anchor_links"] = value(mode);
            notes.push(Note::change(
                file,
                at,
                format!("`insert_anchor_links` → `anchor_links = \"{mode}\"`"),
            ));
        }
        other => notes.push(Note::unsupported(
            file,
            at,
            format!("`markdown.{other}` has no sitegen equivalent yet; the default is used"),
        )),
    }
}

/// Zola's `insert_anchor_links` value as sitegen's `anchor_links`.
fn anchor_mode(v: &Item) -> &'static str {
    match v.as_str() {
        Some("left") => "left",
        Some("right") => "right",
        Some("heading") => "heading",
        _ => "none",
    }
}

fn highlight_theme(
    file: &str,
    at: Option<usize>,
    theme: &str,
    themes: &[String],
    out: &mut DocumentMut,
    notes: &mut Vec<Note>,
) {
    match super::syntect_theme(theme, themes) {
        Some(t) => {
            out["markdown"]["highlight_theme"] = value(t.as_str());
            if t != theme {
                notes.push(Note::change(file, at, format!("highlighting theme `{theme}` → `{t}`")));
            }
        }
        None => notes.push(Note::unsupported(
            file,
            at,
            format!(
                "highlighting theme `{theme}` is not one of sitegen's ({}); the default is used",
                themes.join(", ")
            ),
        )),
    }
}

/// Converts one content file's TOML front matter (`+++`). Keys sitegen cannot take are moved
/// into `[extra]` (so templates can still read them there) and noted. Files without TOML
/// front matter are returned as they are.
pub fn convert_front_matter(file: &str, text: &str, section: bool) -> (String, Vec<Note>) {
    let mut notes = Vec::new();
    // Zola allows blank lines before the front matter (so does sitegen).
    let lead = &text[..text.len() - text.trim_start().len()];
    let Some(rest) = text.trim_start().strip_prefix("+++") else {
        return (text.to_string(), notes);
    };
    let Some(end) = rest.find("\n+++") else {
        return (text.to_string(), notes);
    };
    let fm = &rest[..end];
    let body = &rest[end + 4..];
    let Ok(mut doc) = fm.parse::<DocumentMut>() else {
        // sitegen's own parser reports it with line and column when the site is built.
        return (text.to_string(), notes);
    };
    let spans = toml_edit::ImDocument::parse(fm).ok();
    let line_of_key = |k: &str| {
        spans
            .as_ref()
            .and_then(|d| d.as_table().key(k).and_then(|k| k.span()))
            .map(|r| line_col(fm, r.start).0 + lead.matches('\n').count())
    };
    // Keys sitegen takes as they are.
    let same = if section { SECTION_KEYS } else { PAGE_KEYS };
    let keys: Vec<String> = doc.as_table().iter().map(|(k, _)| k.to_string()).collect();
    for k in keys {
        let at = line_of_key(&k);
        if k == "generate_feed" && section {
            let v = doc.remove(&k).expect("listed key");
            doc["generate_feeds"] = v;
            notes.push(Note::change(file, at, "`generate_feed` → `generate_feeds`"));
            continue;
        }
        if k == "sort_by" && section {
            sort_by(file, at, &mut doc, &mut notes);
            continue;
        }
        if k == "insert_anchor_links" && section {
            let mode = anchor_mode(&doc.remove(&k).expect("listed key"));
            doc["anchor_links"] = value(mode);
            notes.push(Note::change(
                file,
                at,
                format!("`insert_anchor_links` → `anchor_links = \"{mode}\"`"),
            ));
            continue;
        }
        if same.contains(&k.as_str()) {
            continue;
        }
        let v = doc.remove(&k).expect("listed key");
        let why = match k.as_str() {
            "in_search_index" => "no search index yet",
            "paginate_reversed" => "pagers keep the section's order",
            "authors" => "available as `page.extra.authors`",
            _ => "kept under `extra`",
        };
        if !doc.contains_key("extra") {
            doc["extra"] = Item::Table(Table::new());
        }
        if doc["extra"].get(&k).is_none() {
            doc["extra"][&k] = v;
        }
        notes.push(Note::unsupported(
            file,
            at,
            format!("front matter `{k}` moved to `[extra]`: {why}"),
        ));
    }
    (
        format!("{lead}+++{}\n+++{body}", ensure_leading_newline(&doc.to_string())),
        notes,
    )
}

fn ensure_leading_newline(s: &str) -> String {
    let s = s.trim_end_matches('\n');
    if s.starts_with('\n') {
        s.to_string()
    } else {
        format!("\n{s}")
    }
}

/// Zola's `sort_by` values that sitegen spells differently or does not have.
fn sort_by(file: &str, at: Option<usize>, doc: &mut DocumentMut, notes: &mut Vec<Note>) {
    let v = doc["sort_by"].as_str().unwrap_or("").to_string();
    let to = match v.as_str() {
        "date" | "weight" | "title" | "none" => return,
        "title_bytes" => "title",
        "update_date" => "date",
        _ => "none",
    };
    doc["sort_by"] = value(to);
    notes.push(Note::unsupported(
        file,
        at,
        format!("`sort_by = \"{v}\"` → `\"{to}\"` (the nearest sitegen order)"),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn themes() -> Vec<String> {
        crate::highlight::Highlighter::theme_names()
    }

    #[test]
    fn zola_022_config_maps_key_by_key() {
        let zola = "base_url = \"https://www.getzola.org/\"\ntitle = \"Zola\"\ncompile_sass = true\nbuild_search_index = true\n\ntaxonomies = [\n  { name = \"theme-tags\"}\n]\n\n[search]\nindex_format = \"elasticlunr_json\"\n\n[markdown]\nexternal_links_class = \"external\"\n\n[markdown.highlighting]\ntheme = \"base16-ocean-dark\"\n\n[extra]\nauthor = \"V\"\n";
        let (out, notes) = convert_config("config.toml", zola, &themes()).unwrap();
        let c = crate::config::Config::parse("config.toml", &out).unwrap_or_else(|e| panic!("{e:?}\n{out}"));
        assert_eq!(c.base_url, "https://www.getzola.org");
        assert_eq!(c.source_dir, ".");
        assert!(!c.generate_feeds);
        assert_eq!(c.taxonomies[0].name, "theme-tags");
        assert!(!c.taxonomies[0].feed);
        assert!(c.markdown.highlight_code);
        assert_eq!(c.markdown.highlight_theme, "base16-ocean.dark");
        assert!(!c.markdown.smart_punctuation);
        assert!(!c.assets.fingerprint);
        assert_eq!(c.slugify.dirs, crate::paths::Slugify::Off);
        assert_eq!(c.extra["author"], "V");
        let unsupported: Vec<String> = notes
            .iter()
            .filter(|n| !n.change)
            .map(|n| format!("{}:{}", n.line.unwrap_or(0), n.message))
            .collect();
        assert_eq!(unsupported.len(), 1, "{unsupported:#?}");
        assert!(
            unsupported[0].starts_with("14:`markdown.external_links_class`"),
            "{}",
            unsupported[0]
        );
        assert!(c.search.enabled);
        assert_eq!(c.search.zola_compat, ["elasticlunr_json"]);
        assert!(notes.iter().any(|n| n.change
            && n.line == Some(4)
            && n.message
                .starts_with("`build_search_index` → `[search] enabled = true`")));
    }

    #[test]
    fn zola_017_config_with_old_keys() {
        let zola = "base_url = \"/\"\ngenerate_feed = true\nfeed_filename = \"rss.xml\"\nhighlight_code = true\nhighlight_theme = \"Solarized (dark)\"\n[markdown]\nsmart_punctuation = true\n";
        let (out, _) = convert_config("config.toml", zola, &themes()).unwrap();
        let c = crate::config::Config::parse("config.toml", &out).unwrap_or_else(|e| panic!("{e:?}\n{out}"));
        assert!(c.generate_feeds);
        assert_eq!(c.feed_filenames, ["rss.xml"]);
        assert!(c.markdown.highlight_code);
        assert_eq!(c.markdown.highlight_theme, "Solarized (dark)");
        assert!(c.markdown.smart_punctuation);
    }

    #[test]
    fn front_matter_keeps_what_it_can_and_moves_the_rest() {
        let page = "+++\ntitle = \"T\"\ndate = 2021-05-01\nauthors = [\"a\"]\n[taxonomies]\ntags = [\"x\"]\n+++\nBody {{ x }}\n";
        let (out, notes) = convert_front_matter("content/p.md", page, false);
        assert_eq!(out, "+++\ntitle = \"T\"\ndate = 2021-05-01\n[taxonomies]\ntags = [\"x\"]\n\n[extra]\nauthors = [\"a\"]\n+++\nBody {{ x }}\n");
        assert_eq!(notes.len(), 1, "{notes:#?}");
        assert_eq!((notes[0].line, notes[0].change), (Some(4), false));
        let section = "+++\ntitle = \"S\"\nsort_by = \"update_date\"\nredirect_to = \"a/\"\ninsert_anchor_links = \"right\"\ntransparent = true\n+++\n";
        let (out, notes) = convert_front_matter("content/_index.md", section, true);
        assert!(out.contains("sort_by = \"date\""), "{out}");
        assert!(
            out.contains("transparent = true\nanchor_links = \"right\"\n+++"),
            "{out}"
        );
        assert_eq!(notes.len(), 2, "{notes:#?}");
        assert_eq!(
            convert_front_matter("a.md", "no front matter", false).0,
            "no front matter"
        );
    }
}
