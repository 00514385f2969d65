//! Hugo → sitegen, as pure conversions: the config (one file or `config/_default/`, TOML,
//! YAML or JSON) key by key into sitegen's `config.toml` and the rules the content needs
//! (`config.rs`); each content file's front matter and place in the tree, with Hugo's URLs
//! kept (`content.rs`); Hugo's built-in shortcodes into sitegen's equivalents
//! (`shortcodes.rs`); translation tables (`i18n`). Every change and everything left behind is
//! a [`Note`] with the file and line, for IMPORT.md. Input that does not parse is an error at
//! its line and column.
//!
//! Go templates (`layouts/`, themes) are not converted: the imported site uses sitegen's
//! default theme, and the edge lists every layout it leaves behind.

mod config;
mod content;
mod shortcodes;

pub use config::{convert_config, ConfigFile, Mount, Site};
pub use content::{plan_content, ContentFile};

use serde_json::{Map, Value};

use super::Note;
use crate::error::{line_col, Diagnostic};

/// The text format of a Hugo data file (config, front matter, i18n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
    Json,
}

impl Format {
    /// By file extension: `.toml`, `.yaml`/`.yml`, `.json`.
    pub fn of(path: &str) -> Option<Format> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Parses a TOML, YAML or JSON text into a JSON value; an error points at its line and
/// column in `file`, counting from `offset` (where the text starts in the file).
pub fn parse_data(
    file: &str,
    whole: &str,
    offset: usize,
    text: &str,
    format: Format,
    what: &str,
) -> Result<Value, Diagnostic> {
    let at = |o: usize, msg: String| {
        let (l, c) = line_col(whole, offset + o.min(text.len()));
        Diagnostic::at(file, l, c, format!("not valid {what}: {msg}"))
    };
    match format {
        Format::Toml => toml::from_str::<toml::Table>(text)
            .map(|t| crate::content::front_matter::toml_to_json(toml::Value::Table(t)))
            .map_err(|e| {
                let msg = e.message().trim().lines().map(str::trim).collect::<Vec<_>>().join("; ");
                at(e.span().map(|s| s.start).unwrap_or(0), msg)
            }),
        Format::Yaml if text.trim().is_empty() => Ok(Value::Object(Map::new())),
        Format::Yaml => serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
            .map(crate::content::front_matter::yaml_to_json)
            .map_err(|e| {
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                at(e.location().map(|l| l.index()).unwrap_or(0), msg)
            }),
        Format::Json => serde_json::from_str::<Value>(text).map_err(|e| {
            // serde_json counts lines and columns itself.
            let start = line_col(whole, offset).0;
            Diagnostic::at(file, start + e.line() - 1, e.column(), format!("not valid {what}: {e}"))
        }),
    }
}

/// A file's bytes as text; bytes that are not UTF-8 are an error at their line and column
/// (a lossy copy would change the file without saying so).
pub fn utf8(file: &str, bytes: &[u8]) -> Result<String, Diagnostic> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let before = String::from_utf8_lossy(&bytes[..valid]);
        let (l, c) = line_col(&before, valid);
        Diagnostic::at(file, l, c, "not valid UTF-8")
    })
}

/// The value at `key` of a map, matched without regard to case (Hugo's keys are
/// case-insensitive): the key as written and the value.
pub fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<(&'a str, &'a Value)> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(k, v)| (k.as_str(), v))
}

/// The value at a dotted path (`markup.goldmark.renderer.unsafe`), case-insensitively.
pub fn get_path<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = get_ci(map, parts.next()?)?.1;
    for p in parts {
        v = get_ci(v.as_object()?, p)?.1;
    }
    Some(v)
}

/// A value as text: strings as they are, numbers and booleans written out.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value that Hugo takes as one string or a list of them (`tags`, `aliases`, `theme`,
/// `staticDir`), as a list; values that are not text are left out.
pub fn text_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(as_text).collect(),
        other => as_text(other).into_iter().collect(),
    }
}

/// Puts `t` at `key` of `out` unless it is empty (TOML writes no empty tables then).
pub fn put_table(out: &mut toml::Table, key: &str, t: toml::Table) {
    if !t.is_empty() {
        out.insert(key.to_string(), toml::Value::Table(t));
    }
}

/// Hugo's truthiness of a config or front matter value (`true`, `"true"`, `1`).
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

/// The 1-based line of a key (a path of nested keys) in a TOML, YAML or JSON text: the line
/// of the deepest key of `path` that is found.
pub fn key_line(text: &str, format: Format, path: &[&str]) -> Option<usize> {
    if format == Format::Toml {
        if let Some(l) = toml_key_line(text, path) {
            return Some(l);
        }
    }
    // YAML and JSON (and TOML keys toml_edit has no span for): each key on a line of its
    // own, nested keys after their parent.
    let mut from = 0;
    let mut found = None;
    let lines: Vec<&str> = text.lines().collect();
    for key in path {
        let hit = (from..lines.len()).find(|&i| {
            let t = lines[i].trim_start().trim_start_matches("- ");
            let t = t.trim_start_matches(['"', '\'', '[']);
            t.get(..key.len()).is_some_and(|head| head.eq_ignore_ascii_case(key))
                && t[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .trim_start()
                    .starts_with([':', '=', ']', '.'])
        });
        match hit {
            Some(i) => {
                found = Some(i + 1);
                from = i + 1;
            }
            None => break,
        }
    }
    found
}

fn toml_key_line(text: &str, path: &[&str]) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut line = None;
    for key in path {
        let (k, item) = table.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))?;
        if let Some(span) = table.key(k).and_then(|k| k.span()) {
            line = Some(line_col(text, span.start).0);
        }
        match item.as_table_like() {
            Some(t) => table = t,
            None => break,
        }
    }
    line
}

/// Hugo's `i18n/CODE.toml|yaml|json` → sitegen's `i18n/CODE.toml`: one string per key. Hugo's
/// plural tables (`[key] one = … other = …`) and go-i18n v1 lists (`- id: key translation: …`)
/// become their `other` form (or the only one); a translation that is a Go template
/// (`{{ .Count }} words`) is kept as written and noted.
pub fn convert_i18n(file: &str, text: &str, format: Format) -> Result<(toml::Table, Vec<Note>), Diagnostic> {
    let v = parse_data(file, text, 0, text, format, "Hugo translation file")?;
    let mut notes = Vec::new();
    let mut out = toml::Table::new();
    let entries: Vec<(String, Value)> = match v {
        Value::Object(m) => m.into_iter().collect(),
        Value::Array(a) => a
            .into_iter()
            .filter_map(|e| {
                let m = e.as_object()?;
                let id = as_text(get_ci(m, "id")?.1)?;
                Some((id, get_ci(m, "translation")?.1.clone()))
            })
            .collect(),
        _ => Vec::new(),
    };
    for (key, value) in entries {
        let s = match &value {
            Value::Object(forms) => get_ci(forms, "other")
                .or_else(|| forms.iter().next().map(|(k, v)| (k.as_str(), v)))
                .and_then(|(_, v)| as_text(v)),
            other => as_text(other),
        };
        let Some(s) = s else { continue };
        if value.is_object() && value.as_object().is_some_and(|m| m.len() > 1) {
            notes.push(Note::change(
                file,
                key_line(text, format, &[&key]),
                format!("`{key}`: Hugo's plural forms → the `other` form"),
            ));
        }
        if s.contains("{{") {
            notes.push(Note::unsupported(
                file,
                key_line(text, format, &[&key]),
                format!("`{key}` is a Go template (`{s}`); kept as written"),
            ));
        }
        out.insert(key, toml::Value::String(s));
    }
    Ok((out, notes))
}

/// JSON values → TOML values; `null` has no TOML form and is left out (its path is pushed to
/// `dropped`).
pub fn json_to_toml(v: &Value, path: &str, dropped: &mut Vec<String>) -> Option<toml::Value> {
    Some(match v {
        Value::Null => {
            dropped.push(path.to_string());
            return None;
        }
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(
            a.iter()
                .enumerate()
                .filter_map(|(i, x)| json_to_toml(x, &format!("{path}[{i}]"), dropped))
                .collect(),
        ),
        Value::Object(m) => toml::Value::Table(json_map_to_toml(m, path, dropped)),
    })
}

/// [`json_to_toml`] for a map.
pub fn json_map_to_toml(m: &Map<String, Value>, path: &str, dropped: &mut Vec<String>) -> toml::Table {
    m.iter()
        .filter_map(|(k, x)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            json_to_toml(x, &p, dropped).map(|t| (k.clone(), t))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_in_three_formats_with_positions() {
        let v = parse_data("a.toml", "a = 1\n", 0, "a = 1\n", Format::Toml, "x").unwrap();
        assert_eq!(v["a"], 1);
        let e = parse_data(
            "a.toml",
            "a = 1\nb = \n",
            0,
            "a = 1\nb = \n",
            Format::Toml,
            "Hugo config",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(5)), "{e}");
        assert!(e.message.starts_with("not valid Hugo config: "), "{e}");
        let e = parse_data("a.yaml", "a: 1\nb: [\n", 0, "a: 1\nb: [\n", Format::Yaml, "x").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let whole = "---\n{\n  \"a\": 1,\n  \"b\": }\n";
        let e = parse_data("p.md", whole, 4, &whole[4..], Format::Json, "JSON front matter").unwrap_err();
        assert_eq!((e.line, e.column), (Some(4), Some(8)), "{e}");
    }

    #[test]
    fn text_that_is_not_utf8_is_an_error_where_it_is() {
        let e = utf8("content/a.md", b"---\ntitle: caf\xe9\n---\n").unwrap_err();
        assert_eq!(e.to_string(), "content/a.md:2:11: not valid UTF-8");
    }

    #[test]
    fn key_lines_in_each_format() {
        let toml = "title = \"x\"\n[permalinks]\n  posts = \"/:year/\"\n[params.social]\n  x = 1\n";
        assert_eq!(key_line(toml, Format::Toml, &["permalinks", "posts"]), Some(3));
        assert_eq!(key_line(toml, Format::Toml, &["params", "social", "x"]), Some(5));
        // Keys after text that is not ASCII (a `©` where a key's length falls inside it).
        let yaml = "copyright: \"© x\"\ntitle: x\npermalinks:\n  posts: /:year/\nparams:\n  posts: 1\n";
        assert_eq!(key_line(yaml, Format::Yaml, &["copyright_"]), None);
        assert_eq!(key_line(yaml, Format::Yaml, &["copyright\"\u{a9}"]), None);
        let yaml = &yaml[yaml.find('\n').unwrap() + 1..];
        assert_eq!(key_line(yaml, Format::Yaml, &["params", "posts"]), Some(5));
        let json = "{\n  \"baseURL\": \"/\",\n  \"params\": {\n    \"a\": 1\n  }\n}\n";
        assert_eq!(key_line(json, Format::Json, &["baseurl"]), Some(2));
        assert_eq!(key_line(json, Format::Json, &["params", "a"]), Some(4));
    }

    #[test]
    fn i18n_flattens_hugo_forms() {
        let toml = "flat = \"Flat\"\n[home]\nother = \"Home\"\n[wordCount]\none = \"One word\"\nother = \"{{ .Count }} words\"\n";
        let (out, notes) = convert_i18n("i18n/en.toml", toml, Format::Toml).unwrap();
        assert_eq!(
            toml::to_string(&out).unwrap(),
            "flat = \"Flat\"\nhome = \"Home\"\nwordCount = \"{{ .Count }} words\"\n"
        );
        assert_eq!(notes.len(), 2, "{notes:#?}");
        let yaml = "- id: home\n  translation: Accueil\n- id: next\n  translation: Suivant\n";
        let (out, _) = convert_i18n("i18n/fr.yaml", yaml, Format::Yaml).unwrap();
        assert_eq!(
            toml::to_string(&out).unwrap(),
            "home = \"Accueil\"\nnext = \"Suivant\"\n"
        );
    }
}
