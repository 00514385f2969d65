//! Code blocks: the info string's options and the block's HTML. Zola's options
//! (```` ```rust,linenos,hl_lines=3-5 8,linenostart=10,hide_lines=1-2 ````) and Hugo's
//! (```` ```go {linenos=table,hl_lines=[3,"5-6"],linenostart=10} ````) mean the same here:
//! line numbers (a table, as Zola writes them, so Zola themes' CSS applies), highlighted
//! lines (`<mark>`), hidden lines (left out). Line numbers in `hl_lines` and `hide_lines`
//! count the block's lines from 1, whatever `linenostart` says (both Zola and Hugo do so).

use std::fmt::Write as _;
use std::ops::RangeInclusive;

use super::{escape_attr, escape_html, Input};
use crate::config::HighlightStyle;
use crate::highlight::Output;

/// How line numbers are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineNumbers {
    /// `<table><tbody><tr><td>N</td><td>line</td></tr>…` (Zola's `linenos`, Hugo's `table`).
    Table,
    /// `<span class="ln">N</span>` before each line (Hugo's `linenos=inline`).
    Inline,
}

/// A fenced block's info string, read.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeInfo {
    /// The first word: `rust`, `py`, `toml` (empty: no language).
    pub lang: String,
    pub linenos: Option<LineNumbers>,
    /// The first line's number (1 unless `linenostart` says otherwise).
    pub linenostart: usize,
    pub hl_lines: Vec<RangeInclusive<usize>>,
    pub hide_lines: Vec<RangeInclusive<usize>>,
    /// Options sitegen does not use itself (`title="x"`, `.class`), as written, for
    /// templates to come (render hooks).
    pub attrs: Vec<(String, String)>,
}

impl Default for CodeInfo {
    fn default() -> Self {
        CodeInfo {
            lang: String::new(),
            linenos: None,
            linenostart: 1,
            hl_lines: vec![],
            hide_lines: vec![],
            attrs: vec![],
        }
    }
}

/// A bad option: where in the info string (a byte offset) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct InfoError {
    pub offset: usize,
    pub message: String,
}

impl CodeInfo {
    /// Reads an info string: the language, then Zola's comma-separated options or Hugo's
    /// `{key=value …}` attributes.
    pub fn parse(info: &str) -> Result<CodeInfo, InfoError> {
        let lang_end = info
            .find(|c: char| c == ',' || c == '{' || c.is_whitespace())
            .unwrap_or(info.len());
        let mut code = CodeInfo {
            lang: info[..lang_end].to_string(),
            ..CodeInfo::default()
        };
        for (offset, key, value) in options(info, lang_end)? {
            code.set(offset, &key, value.as_deref())?;
        }
        Ok(code)
    }

    /// Whether the block is written line by line (numbers, marks or hidden lines).
    pub fn per_line(&self) -> bool {
        self.linenos.is_some() || !self.hl_lines.is_empty() || !self.hide_lines.is_empty()
    }

    fn set(&mut self, offset: usize, key: &str, value: Option<&str>) -> Result<(), InfoError> {
        let err = |message: String| InfoError { offset, message };
        match key {
            "linenos" | "lineNos" => {
                self.linenos = match value.map(str::to_ascii_lowercase).as_deref() {
                    None | Some("true") | Some("table") => Some(LineNumbers::Table),
                    Some("inline") => Some(LineNumbers::Inline),
                    Some("false") => None,
                    Some(v) => {
                        return Err(err(format!(
                            "code block option `linenos={v}`: expected `true`, `table`, `inline` or `false`"
                        )))
                    }
                }
            }
            "linenostart" | "lineNoStart" => {
                let v = value.unwrap_or("");
                self.linenostart = v
                    .parse()
                    .map_err(|_| err(format!("code block option `linenostart={v}`: expected a line number")))?;
            }
            "hl_lines" | "hide_lines" => {
                let ranges =
                    line_ranges(value.unwrap_or("")).map_err(|e| err(format!("code block option `{key}`: {e}")))?;
                if key == "hl_lines" {
                    self.hl_lines = ranges;
                } else {
                    self.hide_lines = ranges;
                }
            }
            _ => self.attrs.push((key.to_string(), value.unwrap_or("").to_string())),
        }
        Ok(())
    }
}

/// `3-5 8` (Zola, Hugo's string form) or `[3,"5-6"]` (Hugo's array) → ranges from 1.
fn line_ranges(v: &str) -> Result<Vec<RangeInclusive<usize>>, String> {
    let v = v.trim();
    let list = v.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(v);
    let mut out = vec![];
    for part in list.split(|c: char| c == ',' || c.is_whitespace()) {
        let part = part.trim_matches(|c| c == '"' || c == '\'');
        if part.is_empty() {
            continue;
        }
        let bad = || format!("`{part}` is not a line number or a range of them (`3`, `3-5`)");
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b.trim().parse().map_err(|_| bad())?;
        if a == 0 || b < a {
            return Err(bad());
        }
        out.push(a..=b);
    }
    if out.is_empty() {
        return Err("expected line numbers, such as `3-5 8`".into());
    }
    Ok(out)
}

type Opt = (usize, String, Option<String>);

/// The options after the language, each with its offset: Zola's `a,b=c d,e` or Hugo's
/// `{a=b c=[1,"2-3"] d="e f"}`.
fn options(info: &str, from: usize) -> Result<Vec<Opt>, InfoError> {
    let rest = &info[from..];
    let trimmed = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    let start = info.len() - trimmed.len();
    if let Some(inner) = trimmed.strip_prefix('{') {
        let Some(inner) = inner.trim_end().strip_suffix('}') else {
            return Err(InfoError {
                offset: start,
                message: "code block attributes `{…}` are not closed with `}`".into(),
            });
        };
        return Ok(hugo_attrs(inner, start + 1));
    }
    let mut out = vec![];
    let mut at = start;
    for part in trimmed.split(',') {
        let lead = part.len() - part.trim_start().len();
        let p = part.trim();
        if !p.is_empty() {
            let (k, v) = match p.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
                None => (p.to_string(), None),
            };
            out.push((at + lead, k, v));
        }
        at += part.len() + 1;
    }
    Ok(out)
}

/// Hugo's attributes: `key=value` pairs separated by commas or spaces; a value is a word,
/// a quoted string or a `[…]` list.
fn hugo_attrs(s: &str, base: usize) -> Vec<Opt> {
    let b = s.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let k0 = i;
        while i < b.len() && !(b[i] == b'=' || b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let key = s[k0..i].to_string();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            let v0 = i;
            let value = match b.get(i) {
                Some(q @ (b'"' | b'\'')) => {
                    let q = *q;
                    i += 1;
                    while i < b.len() && b[i] != q {
                        i += 1;
                    }
                    i = (i + 1).min(b.len());
                    s[v0 + 1..i.saturating_sub(1).max(v0 + 1)].to_string()
                }
                Some(b'[') => {
                    while i < b.len() && b[i] != b']' {
                        i += 1;
                    }
                    i = (i + 1).min(b.len());
                    s[v0..i].to_string()
                }
                _ => {
                    while i < b.len() && !(b[i] == b',' || b[i].is_ascii_whitespace()) {
                        i += 1;
                    }
                    s[v0..i].to_string()
                }
            };
            out.push((base + k0, key, Some(value)));
        } else {
            out.push((base + k0, key, None));
        }
    }
    out
}

/// A code block's HTML: highlighted when it names a language the grammars know and
/// highlighting is on, with line numbers, marked and hidden lines as its options say.
pub fn code_block_html(input: &Input<'_>, info: &CodeInfo, code: &str) -> String {
    let config = input.env.config;
    let output = match config.highlight_style {
        HighlightStyle::Classes => Output::Classes,
        HighlightStyle::Inline => Output::Inline,
    };
    let lang = info.lang.as_str();
    let per_line = info.per_line();
    let highlighted = if config.highlight_code && !lang.is_empty() {
        input.env.highlighter.highlight(lang, code, output, per_line)
    } else {
        None
    };
    let mut html = String::with_capacity(code.len() * 3);
    html.push_str("<pre class=\"code\"");
    if !lang.is_empty() {
        let _ = write!(html, " data-lang=\"{}\"", escape_attr(lang));
    }
    if info.linenos.is_some() {
        html.push_str(" data-linenos");
    }
    if highlighted.is_some() && output == Output::Inline {
        if let Some(style) = input.env.highlighter.inline_pre_style() {
            let _ = write!(html, " style=\"{}\"", escape_attr(&style));
        }
    }
    html.push_str("><code");
    if !lang.is_empty() {
        let _ = write!(html, " class=\"language-{}\"", escape_attr(lang));
    }
    html.push('>');
    let lines = highlighted.unwrap_or_else(|| {
        if per_line {
            code.split_inclusive('\n').map(escape_html).collect()
        } else {
            vec![escape_html(code)]
        }
    });
    if per_line {
        push_lines(&mut html, info, &lines);
    } else {
        html.push_str(&lines.concat());
    }
    html.push_str("</code></pre>\n");
    html
}

/// The lines of a block with options: hidden ones left out, the others numbered and marked
/// (outside a table, consecutive marked lines share one `<mark>`, as Zola writes them).
fn push_lines(html: &mut String, info: &CodeInfo, lines: &[String]) {
    let has = |ranges: &[RangeInclusive<usize>], n: usize| ranges.iter().any(|r| r.contains(&n));
    let table = info.linenos == Some(LineNumbers::Table);
    if table {
        html.push_str("<table><tbody>");
    }
    let mut in_mark = false;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if has(&info.hide_lines, n) {
            continue;
        }
        let mark = has(&info.hl_lines, n);
        if in_mark && !mark {
            html.push_str("</mark>");
            in_mark = false;
        }
        let number = info.linenostart + i;
        match info.linenos {
            Some(LineNumbers::Table) => {
                let _ = write!(html, "<tr><td>{number}</td><td>");
            }
            Some(LineNumbers::Inline) | None => {
                if mark && !in_mark {
                    html.push_str("<mark>");
                    in_mark = true;
                }
                if info.linenos.is_some() {
                    let _ = write!(html, "<span class=\"ln\">{number}</span>");
                }
            }
        }
        if table {
            if mark {
                html.push_str("<mark>");
            }
            html.push_str(line);
            if mark {
                html.push_str("</mark>");
            }
            html.push_str("</td></tr>");
        } else {
            html.push_str(line);
        }
    }
    if in_mark {
        html.push_str("</mark>");
    }
    if table {
        html.push_str("</tbody></table>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zola_and_hugo_options_mean_the_same() {
        let zola = CodeInfo::parse("rust,linenos,hl_lines=3-5 8,linenostart=10,hide_lines=1-2").unwrap();
        let hugo =
            CodeInfo::parse("rust {linenos=true,hl_lines=[\"3-5\",8],linenostart=10,hide_lines=\"1-2\"}").unwrap();
        assert_eq!(zola, hugo);
        assert_eq!(zola.lang, "rust");
        assert_eq!(zola.linenos, Some(LineNumbers::Table));
        assert_eq!(zola.hl_lines, vec![3..=5, 8..=8]);
        assert_eq!(zola.hide_lines, vec![1..=2]);
        assert_eq!(zola.linenostart, 10);
        let spaced = CodeInfo::parse("go {linenos=inline hl_lines=[8,\"15-17\"] title=\"main.go\" .wide}").unwrap();
        assert_eq!(spaced.linenos, Some(LineNumbers::Inline));
        assert_eq!(spaced.hl_lines, vec![8..=8, 15..=17]);
        assert_eq!(
            spaced.attrs,
            vec![("title".into(), "main.go".into()), (".wide".into(), String::new())]
        );
        assert_eq!(CodeInfo::parse("").unwrap().lang, "");
        assert_eq!(
            CodeInfo::parse("py").unwrap(),
            CodeInfo {
                lang: "py".into(),
                ..CodeInfo::default()
            }
        );
    }

    #[test]
    fn bad_options_say_where() {
        let e = CodeInfo::parse("rust,linenos,hl_lines=abc").unwrap_err();
        assert_eq!(e.offset, 13);
        assert_eq!(
            e.message,
            "code block option `hl_lines`: `abc` is not a line number or a range of them (`3`, `3-5`)"
        );
        let e = CodeInfo::parse("rust {linenostart=x}").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (6, "code block option `linenostart=x`: expected a line number")
        );
        assert!(CodeInfo::parse("rust,hl_lines=5-3").is_err());
        assert!(CodeInfo::parse("rust,linenos=maybe").is_err());
        assert!(CodeInfo::parse("rust {linenos=true").is_err());
    }
}
