//! Shortcodes in Markdown: `{{ name(arg=1) }}` inline and `{% name(arg=1) %}body{% end %}`
//! with a body. They are expanded before the Markdown parser runs, into placeholders that
//! are put back after, so the parser never mangles their HTML; an offset map keeps error
//! positions in the original file's coordinates. How a call renders is the caller's
//! ([`super::Shortcodes`]); this file only finds, parses and substitutes the calls.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::Input;
use crate::error::{line_col, Diagnostic};

/// Markdown with shortcodes replaced by placeholders, and what to put back.
pub(super) struct Expanded {
    pub(super) markdown: String,
    pub(super) outputs: Vec<String>,
    /// (offset in `markdown`, offset in the original body), ascending.
    map: Vec<(usize, usize)>,
}

impl Expanded {
    pub(super) fn original_offset(&self, new: usize) -> usize {
        let idx = self.map.partition_point(|&(n, _)| n <= new);
        if idx == 0 {
            return new;
        }
        let (n, o) = self.map[idx - 1];
        o + (new - n)
    }

    pub(super) fn substitute(&self, mut html: String) -> String {
        for (i, out) in self.outputs.iter().enumerate() {
            let token = placeholder(i);
            let para = format!("<p>{token}</p>\n");
            if html.contains(&para) {
                html = html.replacen(&para, out, 1);
            } else {
                html = html.replacen(&token, out, 1);
            }
        }
        html
    }
}

fn placeholder(i: usize) -> String {
    format!("SITEGENSHORTCODE{i:06}X")
}

/// Byte ranges of code (fenced, indented, inline) where shortcodes are not expanded.
pub fn code_ranges(body: &str) -> Vec<Range<usize>> {
    let mut v = Vec::new();
    let mut in_block: Option<usize> = None;
    for (e, r) in Parser::new_ext(body, Options::empty()).into_offset_iter() {
        match e {
            Event::Start(Tag::CodeBlock(_)) => in_block = Some(r.start),
            Event::End(TagEnd::CodeBlock) => {
                if let Some(s) = in_block.take() {
                    v.push(s..r.end);
                }
            }
            Event::Code(_) => v.push(r),
            _ => {}
        }
    }
    v
}

/// How deep shortcodes may be nested in each other's bodies.
pub const MAX_NESTING: usize = 16;

pub(super) fn expand_shortcodes(input: &Input<'_>, body: &str, errors: &mut Vec<Diagnostic>) -> Expanded {
    let mut ex = Expanded {
        markdown: String::new(),
        outputs: Vec::new(),
        map: Vec::new(),
    };
    if !body.contains("{{") && !body.contains("{%") {
        ex.markdown = body.to_string();
        return ex;
    }
    expand_into(input, body, 0, 0, &mut ex, errors);
    ex
}

/// Expands the calls in `text`, which starts `base` bytes into the page's body. At depth 0
/// (the page itself) each output becomes a placeholder, put back after the Markdown parser
/// ran; in a shortcode's body (depth 1 and more) outputs go in place, so the body a template
/// gets holds its inner shortcodes' HTML (rendered first, as Hugo does). A template's output
/// is never expanded again, so nesting is only what the text says: no call can loop.
fn expand_into(
    input: &Input<'_>,
    body: &str,
    base: usize,
    depth: usize,
    ex: &mut Expanded,
    errors: &mut Vec<Diagnostic>,
) {
    let mut scan = Scan {
        input,
        body,
        base,
        depth,
        code: code_ranges(body),
        // Zola's rule: calls and escapes in code are processed too, their text put in as it is.
        zola_code: input.env.config.shortcode_rules == crate::config::ShortcodeRules::Zola,
        md: String::with_capacity(body.len()),
        copied: 0,
        ex,
        errors,
    };
    let bytes = body.as_bytes();
    let mut p = 0;
    while p + 1 < bytes.len() {
        if bytes[p] != b'{' || !(bytes[p + 1] == b'{' || bytes[p + 1] == b'%') || (scan.in_code(p) && !scan.zola_code) {
            p += 1;
            continue;
        }
        p = match scan.escape(p) {
            Some(next) => next,
            None => scan.call(p),
        };
    }
    scan.md.push_str(&body[scan.copied..]);
    scan.ex.markdown = std::mem::take(&mut scan.md);
}

/// One text being expanded: what has been written so far (`md`, up to `copied` of `body`).
struct Scan<'i, 'b, 'e> {
    input: &'i Input<'i>,
    body: &'b str,
    base: usize,
    depth: usize,
    code: Vec<Range<usize>>,
    zola_code: bool,
    md: String,
    copied: usize,
    ex: &'e mut Expanded,
    errors: &'e mut Vec<Diagnostic>,
}

impl Scan<'_, '_, '_> {
    fn in_code(&self, p: usize) -> bool {
        self.code.iter().any(|r| r.contains(&p))
    }

    fn error(&mut self, p: usize, msg: String) {
        let (l, c) = line_col(self.input.text, self.input.body_offset + self.base + p);
        self.errors.push(Diagnostic::at(self.input.origin, l, c, msg));
    }

    /// Replaces `p..end` of the body by `text`: in place (in code under Zola's rules, or in a
    /// body), else as a placeholder for the output `html`.
    fn put(&mut self, p: usize, end: usize, in_place: bool, html: String) {
        self.md.push_str(&self.body[self.copied..p]);
        self.ex.map.push((self.md.len(), p));
        if in_place {
            self.md.push_str(&html);
        } else {
            self.md.push_str(&placeholder(self.ex.outputs.len()));
            self.ex.outputs.push(html);
        }
        self.ex.map.push((self.md.len(), end));
        self.copied = end;
    }

    /// Drops `p..end` of the body (a call that failed).
    fn drop_range(&mut self, p: usize, end: usize) {
        self.md.push_str(&self.body[self.copied..p]);
        self.ex.map.push((self.md.len(), end));
        self.copied = end;
    }

    /// An escaped call at `p` (`{{/* name() */}}` → `{{ name() }}`, kept verbatim, no smart
    /// punctuation): where to go on, or `None` when there is none.
    fn escape(&mut self, p: usize) -> Option<usize> {
        let body = self.body;
        let close = if body.as_bytes()[p + 1] == b'%' { "%}" } else { "}}" };
        let open = if close == "%}" { "{%" } else { "{{" };
        if !body[p + 2..].starts_with("/*") {
            return None;
        }
        let zola = self.zola_code;
        let e = body[p + 4..].find(&format!("*/{close}")).filter(|&e| {
            // Zola's escape holds a well-formed call; anything else is text.
            !zola || well_formed_call(&body[p + 4..p + 4 + e], close)
        })?;
        let end = p + 4 + e + 4;
        // In a body, the escape stays for the template's `markdown` filter to undo.
        if self.depth > 0 {
            return Some(end);
        }
        let text = format!("{open}{}{close}", &body[p + 4..p + 4 + e]);
        if zola && self.in_code(p) {
            self.put(p, end, true, text);
        } else {
            self.put(p, end, false, super::escape_html(&text));
        }
        Some(end)
    }

    /// A call at `p`, rendered (its body's own calls first); where to go on.
    fn call(&mut self, p: usize) -> usize {
        let body = self.body;
        let raw = self.zola_code && self.in_code(p);
        let block = body.as_bytes()[p + 1] == b'%';
        let close = if block { "%}" } else { "}}" };
        let call = match parse_call(body, p + 2, close) {
            Ok(Some(c)) => c,
            Ok(None) => return p + 2,
            // In code, what does not parse as a call, or names no shortcode, is code text.
            Err(_) if raw => return p + 2,
            Err(msg) => {
                self.error(p, msg);
                return p + 2;
            }
        };
        let exists = self.input.env.shortcodes.exists(&call.name);
        if (block && call.name == "end") || (raw && !exists) {
            return p + 2;
        }
        if !exists {
            let msg = self.input.env.shortcodes.missing(&call.name);
            self.error(p, msg);
            return call.end;
        }
        let (body_range, end) = if block {
            let skip_code = |q: usize| self.in_code(q) && !self.zola_code;
            match find_block_end(body, call.end, &skip_code) {
                Some((inner_end, after)) => (Some(trim_body(body, call.end..inner_end)), after),
                None => {
                    self.error(p, format!("shortcode `{}` has no closing `{{% end %}}`", call.name));
                    return call.end;
                }
            }
        } else {
            (None, call.end)
        };
        if self.depth >= MAX_NESTING {
            let msg = format!(
                "shortcode `{}` is nested {} deep in other shortcodes' bodies; the limit is {MAX_NESTING}",
                call.name,
                self.depth + 1
            );
            self.error(p, msg);
            self.drop_range(p, end);
            return end;
        }
        // The body with its own calls expanded first.
        let body_text = body_range.map(|r| {
            let text = &body[r.clone()];
            if !text.contains("{{") && !text.contains("{%") {
                return text.to_string();
            }
            let mut inner = Expanded {
                markdown: String::new(),
                outputs: Vec::new(),
                map: Vec::new(),
            };
            expand_into(
                self.input,
                text,
                self.base + r.start,
                self.depth + 1,
                &mut inner,
                self.errors,
            );
            inner.markdown
        });
        let input = self.input;
        match input
            .env
            .shortcodes
            .render(&call.name, &call.args, body_text.as_deref(), input.page_dir, input.key)
        {
            Ok(html) => self.put(p, end, raw || self.depth > 0, html),
            Err(e) => {
                self.error(p, format!("shortcode `{}` failed: {e}", call.name));
                self.drop_range(p, end);
            }
        }
        end
    }
}

/// A body's range without the line break after its opening tag and the one before its
/// `{% end %}` (both, or only the latter when there is no opening one).
fn trim_body(body: &str, r: Range<usize>) -> Range<usize> {
    let t = &body[r.clone()];
    match t.strip_prefix('\n') {
        Some(rest) if rest.ends_with('\n') => r.start + 1..r.end - 1,
        Some(_) => r,
        None if t.ends_with('\n') => r.start..r.end - 1,
        None => r,
    }
}

/// Where `body` holds text that sitegen reads as a shortcode call (or a malformed one, which
/// is an error) outside code: the range of each opening tag, or of a lone `{{ end }}` /
/// `{% end %}`. Text written for another generator (a Hugo page about Go templates) can hold
/// these by accident; an import escapes them so the page renders them as text.
pub fn call_ranges(body: &str) -> Vec<Range<usize>> {
    let code = code_ranges(body);
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut p = 0;
    while p + 1 < bytes.len() {
        if bytes[p] != b'{' || !(bytes[p + 1] == b'{' || bytes[p + 1] == b'%') || code.iter().any(|r| r.contains(&p)) {
            p += 1;
            continue;
        }
        let close = if bytes[p + 1] == b'%' { "%}" } else { "}}" };
        if body[p + 2..].starts_with("/*") {
            if let Some(e) = body[p + 4..].find(&format!("*/{close}")) {
                p += 4 + e + 4;
                continue;
            }
        }
        let end = match parse_call(body, p + 2, close) {
            Ok(None) => {
                p += 2;
                continue;
            }
            Ok(Some(call)) => call.end,
            Err(_) => body[p..].find(close).map(|i| p + i + 2).unwrap_or(body.len()),
        };
        out.push(p..end);
        p = end;
    }
    out
}

/// Finds the `{% end %}` that closes the body starting at `from`, past the bodies of calls
/// nested in it: (start of the tag, end of the tag). A call's opening tag where `skip` says
/// (in code, under sitegen's rules) is text, not a nested body.
fn find_block_end(body: &str, from: usize, skip: &dyn Fn(usize) -> bool) -> Option<(usize, usize)> {
    let mut p = from;
    let mut open = 0usize;
    while let Some(i) = body[p..].find("{%") {
        let s = p + i;
        let rest = &body[s + 2..];
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix("end") {
            let after_t = after.trim_start();
            if after_t.starts_with("%}") {
                let end = body.len() - after_t.len() + 2;
                if open == 0 {
                    return Some((s, end));
                }
                open -= 1;
                p = end;
                continue;
            }
        }
        if !skip(s) {
            if let Ok(Some(call)) = parse_call(body, s + 2, "%}") {
                open += 1;
                p = call.end;
                continue;
            }
        }
        p = s + 2;
    }
    None
}

struct Call {
    name: String,
    args: serde_json::Map<String, serde_json::Value>,
    /// Just past the closing `}}` / `%}`.
    end: usize,
}

/// Parses `name(k=v, ...) }}` starting at `start` (just after the opening delimiter).
/// `Ok(None)`: this is not a shortcode call at all (plain text that happens to hold `{{`).
/// Whether `inner` (what is between `{{/*` and `*/}}`) is one call with literal arguments.
fn well_formed_call(inner: &str, close: &str) -> bool {
    let text = format!("{{{{{inner}{close}");
    // `{%/* end */%}` closes an escaped body (Zola's `ignored_sc_body_end`).
    if close == "%}" && inner.trim() == "end" {
        return true;
    }
    inner.trim_end().ends_with(')') && matches!(parse_call(&text, 2, close), Ok(Some(c)) if c.end == text.len())
}

fn parse_call(s: &str, start: usize, close: &str) -> Result<Option<Call>, String> {
    let b = s.as_bytes();
    let mut p = start;
    let skip_ws = |p: &mut usize| {
        while *p < b.len() && (b[*p] as char).is_ascii_whitespace() {
            *p += 1;
        }
    };
    skip_ws(&mut p);
    let name_start = p;
    while p < b.len() && (b[p].is_ascii_alphanumeric() || b[p] == b'_') {
        p += 1;
    }
    if p == name_start || b[name_start].is_ascii_digit() {
        return Ok(None);
    }
    let name = s[name_start..p].to_string();
    skip_ws(&mut p);
    if name == "end" {
        if s[p..].starts_with(close) {
            return Ok(Some(Call {
                name,
                args: Default::default(),
                end: p + 2,
            }));
        }
        return Ok(None);
    }
    if p >= b.len() || b[p] != b'(' {
        return Ok(None);
    }
    p += 1;
    let mut args = serde_json::Map::new();
    loop {
        skip_ws(&mut p);
        if p < b.len() && b[p] == b')' {
            p += 1;
            break;
        }
        let k0 = p;
        while p < b.len() && (b[p].is_ascii_alphanumeric() || b[p] == b'_') {
            p += 1;
        }
        if k0 == p {
            return Err(format!("shortcode `{name}`: expected an argument name"));
        }
        let key = s[k0..p].to_string();
        skip_ws(&mut p);
        if p >= b.len() || b[p] != b'=' {
            return Err(format!("shortcode `{name}`: expected `=` after argument `{key}`"));
        }
        p += 1;
        skip_ws(&mut p);
        let v = parse_value(s, &mut p).map_err(|e| format!("shortcode `{name}`, argument `{key}`: {e}"))?;
        args.insert(key, v);
        skip_ws(&mut p);
        if p < b.len() && b[p] == b',' {
            p += 1;
        } else if p < b.len() && b[p] == b')' {
            p += 1;
            break;
        } else {
            return Err(format!("shortcode `{name}`: expected `,` or `)` after an argument"));
        }
    }
    skip_ws(&mut p);
    if !s[p..].starts_with(close) {
        return Err(format!("shortcode `{name}`: expected `{close}` after the arguments"));
    }
    Ok(Some(Call { name, args, end: p + 2 }))
}

fn parse_value(s: &str, p: &mut usize) -> Result<serde_json::Value, String> {
    let b = s.as_bytes();
    if *p >= b.len() {
        return Err("missing value".into());
    }
    match b[*p] {
        q @ (b'"' | b'\'' | b'`') => {
            let mut out = String::new();
            let mut i = *p + 1;
            while i < b.len() {
                let c = s[i..].chars().next().unwrap_or('\0');
                if c as u32 == q as u32 {
                    *p = i + 1;
                    return Ok(serde_json::Value::String(out));
                }
                if c == '\\' && i + 1 < b.len() {
                    let n = s[i + 1..].chars().next().unwrap_or('\0');
                    out.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                    i += 1 + n.len_utf8();
                    continue;
                }
                out.push(c);
                i += c.len_utf8();
            }
            Err("unclosed string".into())
        }
        b'[' => {
            *p += 1;
            let mut items = Vec::new();
            loop {
                while *p < b.len() && (b[*p] as char).is_ascii_whitespace() {
                    *p += 1;
                }
                if *p < b.len() && b[*p] == b']' {
                    *p += 1;
                    return Ok(serde_json::Value::Array(items));
                }
                items.push(parse_value(s, p)?);
                while *p < b.len() && (b[*p] as char).is_ascii_whitespace() {
                    *p += 1;
                }
                if *p < b.len() && b[*p] == b',' {
                    *p += 1;
                } else if *p < b.len() && b[*p] == b']' {
                    *p += 1;
                    return Ok(serde_json::Value::Array(items));
                } else {
                    return Err("expected `,` or `]` in array".into());
                }
            }
        }
        _ => {
            let start = *p;
            while *p < b.len() && (b[*p].is_ascii_alphanumeric() || matches!(b[*p], b'.' | b'-' | b'+' | b'_')) {
                *p += 1;
            }
            let tok = &s[start..*p];
            match tok {
                "true" => Ok(true.into()),
                "false" => Ok(false.into()),
                _ => {
                    if let Ok(i) = tok.parse::<i64>() {
                        Ok(i.into())
                    } else if let Ok(f) = tok.parse::<f64>() {
                        Ok(serde_json::Number::from_f64(f)
                            .map(serde_json::Value::Number)
                            .unwrap_or(serde_json::Value::Null))
                    } else {
                        Err(format!("`{tok}` is not a string, number, boolean or array"))
                    }
                }
            }
        }
    }
}
