//! Hugo's built-in shortcodes in content → what sitegen has: `figure` → the default theme's
//! `figure` shortcode (or the HTML Hugo writes, when it uses arguments that one lacks),
//! `youtube`/`vimeo`/`gist` → their embed HTML, `highlight` → a fenced code block,
//! `ref`/`relref` → `@/` links, `param` → its value, `details` → `<details>`, `comment` → an
//! HTML comment, `x`/`tweet`/`instagram` → links. Both `{{< >}}` and `{{% %}}` forms, named
//! and positional arguments, closing tags and self-closing ones. Escaped calls
//! (`{{</* x */>}}`) become the text Hugo shows (`{{< x >}}`); other shortcodes are left as
//! they are and noted with their line. Hugo expands shortcodes in code blocks too, so they
//! are converted there as well.

use serde_json::{Map, Value};

use super::{as_text, get_ci, get_path, Site};
use crate::error::line_col;
use crate::import::Note;
use crate::markdown::escape_attr;

/// Where a `ref`/`relref` leads: sitegen's `@/` link, Hugo's URL path and its permalink.
pub struct RefTarget {
    pub at: String,
    pub url: String,
    pub permalink: String,
}

/// One content file's body and what converting its shortcodes needs.
pub struct Body<'a> {
    pub file: &'a str,
    /// The whole file (for line numbers); the body starts at `offset`.
    pub text: &'a str,
    pub offset: usize,
    pub page_params: &'a Map<String, Value>,
    pub site: &'a Site,
    pub resolve: &'a dyn Fn(&str) -> Option<RefTarget>,
}

/// A shortcode tag: `{{< name arg key="v" >}}`, `{{% /name %}}`, `{{< name />}}`.
#[derive(Debug, Clone, PartialEq)]
struct Tag {
    start: usize,
    end: usize,
    name: String,
    closing: bool,
    /// `{{% %}}` (Hugo renders the result as Markdown).
    markdown: bool,
    positional: Vec<String>,
    named: Vec<(String, String)>,
}

impl Tag {
    fn get(&self, name: &str, pos: usize) -> Option<&str> {
        self.named
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .or_else(|| self.positional.get(pos).map(String::as_str))
    }

    fn named(&self, name: &str) -> Option<&str> {
        self.get(name, usize::MAX)
    }
}

/// What a tag at a position is.
enum Found {
    Tag(Tag),
    /// `{{</* … */>}}`: (end, the text Hugo shows).
    Escaped(usize, String),
}

/// Parses the tag at `at` (which starts with `{{<` or `{{%`); `None` when it is not one.
fn parse_tag(s: &str, at: usize) -> Option<Found> {
    let b = s.as_bytes();
    let markdown = b.get(at + 2) == Some(&b'%');
    let close = if markdown { "%}}" } else { ">}}" };
    let mut p = at + 3;
    let skip_ws = |p: &mut usize| {
        while *p < b.len() && b[*p].is_ascii_whitespace() {
            *p += 1;
        }
    };
    if s[p..].starts_with("/*") {
        let end = s[p..].find(&format!("*/{close}"))? + p;
        let shown = format!("{}{}{}", &s[at..at + 3], &s[p + 2..end], &close);
        return Some(Found::Escaped(end + 2 + close.len(), shown));
    }
    skip_ws(&mut p);
    let closing = b.get(p) == Some(&b'/');
    if closing {
        p += 1;
        skip_ws(&mut p);
    }
    let name_start = p;
    while p < b.len()
        && (b[p].is_ascii_alphanumeric()
            || b"_.-".contains(&b[p])
            || (b[p] == b'/' && b.get(p + 1).is_some_and(u8::is_ascii_alphanumeric)))
    {
        p += 1;
    }
    if p == name_start {
        return None;
    }
    let mut tag = Tag {
        start: at,
        end: 0,
        name: s[name_start..p].to_string(),
        closing,
        markdown,
        positional: vec![],
        named: vec![],
    };
    loop {
        skip_ws(&mut p);
        if s[p..].starts_with(close) {
            tag.end = p + close.len();
            return Some(Found::Tag(tag));
        }
        if s[p..].starts_with('/') && s[p + 1..].trim_start().starts_with(close) {
            p += 1;
            continue;
        }
        if p >= b.len() || s[p..].starts_with("{{") || s[p..].starts_with('\n') && s[p..].trim_start().is_empty() {
            return None;
        }
        let key_end = s[p..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map(|i| p + i);
        if let Some(k) = key_end.filter(|&k| k > p && b.get(k) == Some(&b'=')) {
            let key = s[p..k].to_string();
            p = k + 1;
            let v = arg_value(s, &mut p, close)?;
            tag.named.push((key, v));
        } else {
            let v = arg_value(s, &mut p, close)?;
            tag.positional.push(v);
        }
    }
}

/// One argument value: `"quoted \" text"`, `` `raw` `` or a bare word.
fn arg_value(s: &str, p: &mut usize, close: &str) -> Option<String> {
    let rest = &s[*p..];
    if let Some(r) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = r.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => out.extend(chars.next().map(|(_, n)| n)),
                '"' => {
                    *p += 1 + i + 1;
                    return Some(out);
                }
                c => out.push(c),
            }
        }
        return None;
    }
    if let Some(r) = rest.strip_prefix('`') {
        let e = r.find('`')?;
        *p += e + 2;
        return Some(r[..e].to_string());
    }
    let e = rest
        .find(|c: char| c.is_whitespace())
        .unwrap_or(rest.len())
        .min(rest.find(close).unwrap_or(rest.len()));
    if e == 0 {
        return None;
    }
    *p += e;
    Some(rest[..e].to_string())
}

/// Built-in shortcodes that have a body and a closing tag.
const PAIRED: &[&str] = &["highlight", "details", "comment"];

/// The end of the body of the paired tag `open` (nested tags of the same name counted):
/// (where the closing tag starts, where it ends).
fn find_close(s: &str, open: &Tag) -> Option<(usize, usize)> {
    let mut depth: i32 = 0;
    let mut p = open.end;
    while let Some(i) = s[p..].find("{{") {
        let at = p + i;
        let tag = if s[at..].starts_with("{{<") || s[at..].starts_with("{{%") {
            parse_tag(s, at)
        } else {
            None
        };
        match tag {
            Some(Found::Tag(t)) => {
                if t.name == open.name {
                    if t.closing && depth == 0 {
                        return Some((at, t.end));
                    }
                    depth += if t.closing { -1 } else { 1 };
                }
                p = t.end;
            }
            Some(Found::Escaped(end, _)) => p = end,
            None => p = at + 2,
        }
    }
    None
}

struct Converter<'a> {
    b: &'a Body<'a>,
    body: &'a str,
    out: String,
    notes: Vec<Note>,
    /// Ranges of `out` holding sitegen shortcode calls the conversion wrote.
    calls: Vec<std::ops::Range<usize>>,
}

/// Converts the shortcodes of one body. Returns the new body and the notes.
pub fn convert_body(b: &Body<'_>) -> (String, Vec<Note>) {
    let body = &b.text[b.offset..];
    let mut c = Converter {
        b,
        body,
        out: String::with_capacity(body.len()),
        notes: Vec::new(),
        calls: Vec::new(),
    };
    c.run();
    c.summary_marker();
    c.escape_stray_calls();
    (c.out, c.notes)
}

impl Converter<'_> {
    fn line(&self, at: usize) -> Option<usize> {
        Some(line_col(self.b.text, self.b.offset + at).0)
    }

    fn note(&mut self, at: usize, change: bool, message: String) {
        let line = self.line(at);
        self.notes.push(if change {
            Note::change(self.b.file, line, message)
        } else {
            Note::unsupported(self.b.file, line, message)
        });
    }

    fn run(&mut self) {
        let body = self.body;
        let mut copied = 0;
        let mut p = 0;
        while let Some(i) = body[p..].find("{{") {
            let at = p + i;
            if !(body[at..].starts_with("{{<") || body[at..].starts_with("{{%")) {
                p = at + 2;
                continue;
            }
            let Some(found) = parse_tag(body, at) else {
                p = at + 3;
                continue;
            };
            self.out.push_str(&body[copied..at]);
            let end = match found {
                Found::Escaped(end, shown) => {
                    self.out.push_str(&shown);
                    end
                }
                Found::Tag(t) if t.closing => {
                    self.out.push_str(&body[t.start..t.end]);
                    t.end
                }
                Found::Tag(t) => self.tag(&t),
            };
            p = end;
            copied = end;
        }
        self.out.push_str(&body[copied..]);
    }

    /// Converts one opening tag; returns where the text after it (and its body) starts.
    fn tag(&mut self, t: &Tag) -> usize {
        let body = self.body;
        let name = t.name.to_lowercase();
        let (inner, end) = if PAIRED.contains(&name.as_str()) {
            match find_close(body, t) {
                Some((s, e)) => (Some(&body[t.end..s]), e),
                None => (None, t.end),
            }
        } else {
            (None, t.end)
        };
        let noted = self.notes.len();
        let html = match (name.as_str(), inner) {
            (_, _)
                if self
                    .b
                    .site
                    .disabled_embeds
                    .iter()
                    .any(|d| name.starts_with(d.as_str()) || (d == "twitter" && name == "tweet")) =>
            {
                self.note(
                    t.start,
                    true,
                    format!(
                        "`{}` removed: `privacy.{name}` disables it, so Hugo renders nothing",
                        t.name
                    ),
                );
                Some(String::new())
            }
            ("figure", _) => Some(self.figure(t)),
            ("youtube", _) => self.youtube(t),
            ("vimeo" | "vimeo_simple", _) => self.vimeo(t),
            ("gist", _) => self.gist(t),
            ("ref" | "relref", _) => self.reference(t, name == "ref"),
            ("param", _) => self.param(t),
            ("x" | "x_simple" | "tweet" | "twitter" | "twitter_simple", _) => self.post_link(t),
            ("instagram" | "instagram_simple", _) => t.get("id", 0).map(|id| {
                self.note(
                    t.start,
                    false,
                    format!(
                        "`{}` → a link to the post: sitegen does not embed Instagram posts",
                        t.name
                    ),
                );
                format!("<https://www.instagram.com/p/{id}/>")
            }),
            ("highlight", Some(code)) => Some(self.highlight(t, code)),
            ("details", Some(inner)) => Some(self.details(t, inner)),
            ("comment", Some(inner)) => Some(format!("<!--{}-->", inner.replace("--", "- -"))),
            _ => None,
        };
        match html {
            Some(h) => {
                self.out.push_str(&h);
                if h.starts_with('<')
                    && !h.starts_with("<http")
                    && body[end..].starts_with('\n')
                    && body[end + 1..].lines().next().is_some_and(|l| !l.trim().is_empty())
                {
                    // An HTML block ends at a blank line; Hugo's output does not swallow the
                    // next paragraph, so neither may sitegen's.
                    self.out.push('\n');
                }
                end
            }
            None if self.notes.len() > noted => {
                // A built-in whose arguments did not convert; the note says why.
                self.out.push_str(&body[t.start..t.end]);
                t.end
            }
            None => {
                let why = if name.ends_with(".inline") {
                    "an inline shortcode (a Go template)".to_string()
                } else if let Some((_, file)) = self.b.site.custom_shortcodes.iter().find(|(n, _)| *n == t.name) {
                    format!("the site's own (`{file}`, a Go template)")
                } else if name == "qr" {
                    "a Hugo built-in sitegen has no equivalent for (QR code images)".to_string()
                } else if PAIRED.contains(&name.as_str()) {
                    "it has no closing tag".to_string()
                } else {
                    "not a Hugo built-in that sitegen converts".to_string()
                };
                self.note(t.start, false, format!("shortcode `{}` left as text: {why}", t.name));
                self.out.push_str(&body[t.start..t.end]);
                t.end
            }
        }
    }

    fn figure(&mut self, t: &Tag) -> String {
        const SITEGEN: &[&str] = &["src", "alt", "caption", "width", "height"];
        if t.positional.is_empty()
            && t.named
                .iter()
                .all(|(k, _)| SITEGEN.contains(&k.to_lowercase().as_str()))
        {
            let args: Vec<String> = t
                .named
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}=\"{}\"",
                        k.to_lowercase(),
                        v.replace('\\', "\\\\").replace('"', "\\\"")
                    )
                })
                .collect();
            let call = format!("{{{{ figure({}) }}}}", args.join(", "));
            let start = self.out.len();
            self.calls.push(start..start + call.len());
            return call;
        }
        // Arguments the theme's figure lacks: the HTML Hugo's figure writes.
        let a = |k: &str| t.named(k).map(escape_attr);
        let mut h = String::from("<figure");
        if let Some(c) = a("class") {
            h.push_str(&format!(" class=\"{c}\""));
        }
        h.push('>');
        if let Some(link) = a("link") {
            h.push_str(&format!("<a href=\"{link}\""));
            for k in ["target", "rel"] {
                if let Some(v) = a(k) {
                    h.push_str(&format!(" {k}=\"{v}\""));
                }
            }
            h.push('>');
        }
        h.push_str(&format!("<img src=\"{}\"", a("src").unwrap_or_default()));
        if let Some(alt) = a("alt").or_else(|| a("caption")) {
            h.push_str(&format!(" alt=\"{alt}\""));
        }
        for k in ["width", "height", "loading"] {
            if let Some(v) = a(k) {
                h.push_str(&format!(" {k}=\"{v}\""));
            }
        }
        h.push('>');
        if a("link").is_some() {
            h.push_str("</a>");
        }
        if t.named("title").is_some() || t.named("caption").is_some() || t.named("attr").is_some() {
            h.push_str("<figcaption>");
            if let Some(title) = a("title") {
                h.push_str(&format!("<h4>{title}</h4>"));
            }
            if t.named("caption").is_some() || t.named("attr").is_some() {
                h.push_str(&format!("<p>{}", a("caption").unwrap_or_default()));
                match (a("attrlink"), a("attr")) {
                    (Some(l), Some(x)) => h.push_str(&format!("<a href=\"{l}\">{x}</a>")),
                    (None, Some(x)) => h.push_str(&x),
                    _ => {}
                }
                h.push_str("</p>");
            }
            h.push_str("</figcaption>");
        }
        h.push_str("</figure>");
        h
    }

    fn youtube(&mut self, t: &Tag) -> Option<String> {
        let id = t.get("id", 0)?;
        let yes = |k: &str| t.named(k).is_some_and(|v| v == "true" || v == "1");
        let no = |k: &str| t.named(k).is_some_and(|v| v == "false" || v == "0");
        let autoplay = yes("autoplay");
        let mut query = vec![
            format!("autoplay={}", u8::from(autoplay)),
            format!("controls={}", u8::from(!no("controls"))),
            format!("end={}", t.named("end").unwrap_or("0")),
            format!("loop={}", u8::from(yes("loop"))),
            format!("mute={}", u8::from(autoplay || yes("mute"))),
        ];
        if yes("loop") {
            query.push(format!("playlist={id}"));
        }
        query.push(format!("start={}", t.named("start").unwrap_or("0")));
        let host = if self.b.site.youtube_nocookie {
            "www.youtube-nocookie.com"
        } else {
            "www.youtube.com"
        };
        let mut allow =
            "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share"
                .to_string();
        if !no("allowFullScreen") {
            allow.push_str("; fullscreen");
        }
        let src = format!("https://{host}/embed/{}?{}", escape_attr(id), query.join("&amp;"));
        let title = escape_attr(t.named("title").unwrap_or("YouTube video"));
        let loading = escape_attr(t.named("loading").unwrap_or("eager"));
        Some(embed(
            t.named("class"),
            &format!("allow=\"{allow}\" loading=\"{loading}\" referrerpolicy=\"strict-origin-when-cross-origin\" src=\"{src}\""),
            &title,
        ))
    }

    fn vimeo(&mut self, t: &Tag) -> Option<String> {
        let id = t.get("id", 0)?;
        if t.name.ends_with("_simple") {
            self.note(
                t.start,
                true,
                "`vimeo_simple` → the player, where Hugo shows a thumbnail that links to it".into(),
            );
        }
        let mut attrs = format!("src=\"https://player.vimeo.com/video/{}?dnt=0\"", escape_attr(id));
        if !t.named("allowFullScreen").is_some_and(|v| v == "false" || v == "0") {
            attrs.push_str(" allow=\"fullscreen\"");
        }
        if let Some(l) = t.get("loading", 3) {
            attrs.push_str(&format!(" loading=\"{}\"", escape_attr(l)));
        }
        let title = escape_attr(t.get("title", 2).unwrap_or("Vimeo video"));
        Some(embed(t.get("class", 1), &attrs, &title))
    }

    fn gist(&mut self, t: &Tag) -> Option<String> {
        let (user, id) = (t.get("user", 0)?, t.get("id", 1)?);
        let file = t
            .get("file", 2)
            .map(|f| format!("?file={}", escape_attr(f)))
            .unwrap_or_default();
        Some(format!(
            "<script src=\"https://gist.github.com/{}/{}.js{file}\"></script>",
            escape_attr(user),
            escape_attr(id)
        ))
    }

    /// `ref`/`relref`: an `@/` link inside a Markdown link (sitegen checks it), the URL
    /// elsewhere (an HTML attribute, plain text).
    fn reference(&mut self, t: &Tag, absolute: bool) -> Option<String> {
        let target = t.get("path", 0)?.to_string();
        if t.named("lang").is_some() || t.named("outputFormat").is_some() {
            self.note(
                t.start,
                false,
                format!(
                    "`{}`: `lang` and `outputFormat` are not converted; the page's own language is linked",
                    t.name
                ),
            );
        }
        let Some(r) = (self.b.resolve)(&target) else {
            self.note(
                t.start,
                false,
                format!("`{}` to `{target}`: no such page in the site; left as text", t.name),
            );
            return None;
        };
        let before = self.out.trim_end_matches([' ', '<']);
        let in_link = before.ends_with("](") || before.trim_end().ends_with("]:");
        Some(if in_link {
            r.at
        } else if absolute {
            r.permalink
        } else {
            r.url
        })
    }

    fn param(&mut self, t: &Tag) -> Option<String> {
        let key = t.get("name", 0)?;
        let page = get_path(self.b.page_params, key)
            .or_else(|| get_ci(self.b.page_params, "params").and_then(|(_, p)| get_path(p.as_object()?, key)));
        match page.or_else(|| get_path(&self.b.site.params, key)).and_then(as_text) {
            Some(v) => Some(v),
            None => {
                self.note(
                    t.start,
                    false,
                    format!("`param` `{key}`: no such page or site param; left as text"),
                );
                None
            }
        }
    }

    fn post_link(&mut self, t: &Tag) -> Option<String> {
        let id = t
            .get("id", 1)
            .or_else(|| (t.positional.len() == 1).then(|| t.positional[0].as_str()))?;
        let user = t.get("user", 0).filter(|u| *u != id).unwrap_or("i");
        self.note(
            t.start,
            false,
            format!("`{}` → a link to the post: sitegen does not embed X posts", t.name),
        );
        Some(format!("<https://x.com/{user}/status/{id}>"))
    }

    fn highlight(&mut self, t: &Tag, code: &str) -> String {
        let lang = t.get("lang", 0).unwrap_or("");
        let options = t.get("options", 1).unwrap_or("");
        let inline = options
            .split(',')
            .any(|o| o.trim().replace(' ', "") == "hl_inline=true");
        let other = options
            .split(',')
            .filter(|o| !o.trim().is_empty() && !o.contains("hl_inline"))
            .count();
        if other > 0
            || t.named
                .iter()
                .any(|(k, _)| !["lang", "options"].contains(&k.to_lowercase().as_str()))
        {
            self.note(
                t.start,
                false,
                "`highlight` options (line numbers, highlighted lines, style) are not converted".into(),
            );
        }
        if inline {
            // Inline code: a code span, with more backticks around it than it holds in a row.
            let mut ticks = "`".to_string();
            while code.contains(&ticks) {
                ticks.push('`');
            }
            return format!("{ticks}{code}{ticks}");
        }
        let code = code.strip_prefix('\n').unwrap_or(code);
        let code = code.strip_suffix('\n').unwrap_or(code);
        let mut fence = "```".to_string();
        while code.contains(&fence) {
            fence.push('`');
        }
        format!("{fence}{lang}\n{code}\n{fence}")
    }

    fn details(&mut self, t: &Tag, inner: &str) -> String {
        let mut open = String::from("<details");
        for k in ["class", "name", "title"] {
            if let Some(v) = t.named(k) {
                open.push_str(&format!(" {k}=\"{}\"", escape_attr(v)));
            }
        }
        if t.named("open").is_some_and(|v| v == "true") {
            open.push_str(" open");
        }
        let summary = escape_attr(t.named("summary").unwrap_or("Details"));
        format!(
            "{open}>\n<summary>{summary}</summary>\n\n{}\n\n</details>",
            inner.trim_matches('\n')
        )
    }

    /// Hugo's `<!--more-->` → sitegen's `<!-- more -->`.
    fn summary_marker(&mut self) {
        let code = crate::markdown::code_ranges(&self.out);
        if let Some(i) = self
            .out
            .match_indices("<!--more-->")
            .map(|(i, _)| i)
            .find(|i| !code.iter().any(|r| r.contains(i)))
        {
            self.out.replace_range(i..i + "<!--more-->".len(), "<!-- more -->");
            self.calls
                .iter_mut()
                .filter(|r| r.start > i)
                .for_each(|r| *r = r.start + 2..r.end + 2);
            let line = self.b.text[self.b.offset..]
                .find("<!--more-->")
                .and_then(|j| self.line(j));
            self.notes.push(Note::change(
                self.b.file,
                line,
                "`<!--more-->` → `<!-- more -->` (the summary ends there)",
            ));
        }
    }

    /// Text that sitegen would read as one of its own shortcode calls (`{{ end }}` in a page
    /// about Go templates) is escaped, so it shows as written.
    fn escape_stray_calls(&mut self) {
        let stray: Vec<std::ops::Range<usize>> = crate::markdown::call_ranges(&self.out)
            .into_iter()
            .filter(|r| !self.calls.iter().any(|c| c.start == r.start))
            .collect();
        for r in stray.into_iter().rev() {
            let s = &self.out[r.clone()];
            // A malformed call that never closes runs to the end: left as it is.
            let close = s.get(s.len().saturating_sub(2)..).unwrap_or("");
            if s.len() < 4 || (close != "}}" && close != "%}") {
                continue;
            }
            let open = &s[..2];
            let escaped = format!("{open}/*{}*/{close}", &s[2..s.len() - 2]);
            self.out.replace_range(r, &escaped);
        }
    }
}

/// A responsive iframe (Hugo's: a 16:9 box unless a class styles it).
fn embed(class: Option<&str>, attrs: &str, title: &str) -> String {
    match class {
        Some(c) => format!("<div class=\"{}\"><iframe {attrs} title=\"{title}\"></iframe></div>", escape_attr(c)),
        None => format!(
            "<div style=\"position: relative; padding-bottom: 56.25%; height: 0; overflow: hidden;\"><iframe {attrs} style=\"position: absolute; top: 0; left: 0; width: 100%; height: 100%; border:0;\" title=\"{title}\"></iframe></div>"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        let f = super::super::ConfigFile {
            file: "hugo.toml".into(),
            text: "baseURL = \"https://example.org/\"\n[params]\nauthor = \"Site Author\"\n[params.social]\nx = \"@me\"\n[privacy.youtube]\nprivacyEnhanced = true\n".into(),
            format: super::super::Format::Toml,
            prefix: vec![],
        };
        super::super::convert_config(&[f], &[]).unwrap().1
    }

    fn convert(body: &str) -> (String, Vec<String>) {
        let site = site();
        let mut params = Map::new();
        params.insert("Subtitle".into(), Value::String("Page sub".into()));
        let resolve = |t: &str| {
            (t.trim_start_matches('/').starts_with("post/a") || t == "a.md").then(|| RefTarget {
                at: format!(
                    "@/post/a.md{}",
                    t.split_once('#').map(|(_, a)| format!("#{a}")).unwrap_or_default()
                ),
                url: "/post/a/".into(),
                permalink: "https://example.org/post/a/".into(),
            })
        };
        let b = Body {
            file: "content/p.md",
            text: body,
            offset: 0,
            page_params: &params,
            site: &site,
            resolve: &resolve,
        };
        let (out, notes) = convert_body(&b);
        (
            out,
            notes
                .iter()
                .map(|n| format!("{}:{}", n.line.unwrap_or(0), n.message))
                .collect(),
        )
    }

    #[test]
    fn figure_forms() {
        assert_eq!(
            convert("{{< figure src=\"a.jpg\" caption=\"A \\\"cat\\\"\" >}}\n").0,
            "{{ figure(src=\"a.jpg\", caption=\"A \\\"cat\\\"\") }}\n"
        );
        assert_eq!(
            convert("{{< figure src=\"/b.png\" title=\"T\" link=\"https://x.org\" class=\"wide\" >}}\nNext\n").0,
            "<figure class=\"wide\"><a href=\"https://x.org\"><img src=\"/b.png\"></a><figcaption><h4>T</h4></figcaption></figure>\n\nNext\n"
        );
        // The `{{% %}}` form and a self-closing tag.
        assert_eq!(convert("{{% figure src=a.jpg /%}}").0, "{{ figure(src=\"a.jpg\") }}");
    }

    #[test]
    fn embeds() {
        let (out, _) = convert("{{< youtube ZJthWmvUzzc >}}");
        assert_eq!(out, "<div style=\"position: relative; padding-bottom: 56.25%; height: 0; overflow: hidden;\"><iframe allow=\"accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share; fullscreen\" loading=\"eager\" referrerpolicy=\"strict-origin-when-cross-origin\" src=\"https://www.youtube-nocookie.com/embed/ZJthWmvUzzc?autoplay=0&amp;controls=1&amp;end=0&amp;loop=0&amp;mute=0&amp;start=0\" style=\"position: absolute; top: 0; left: 0; width: 100%; height: 100%; border:0;\" title=\"YouTube video\"></iframe></div>");
        let (out, _) = convert("{{< youtube id=\"x1\" class=\"v\" start=30 title=\"My video\" >}}");
        assert!(
            out.starts_with("<div class=\"v\"><iframe ")
                && out.contains("start=30\"")
                && out.contains("title=\"My video\""),
            "{out}"
        );
        let (out, notes) = convert("{{< vimeo_simple 48912912 >}}");
        assert_eq!(out, "<div style=\"position: relative; padding-bottom: 56.25%; height: 0; overflow: hidden;\"><iframe src=\"https://player.vimeo.com/video/48912912?dnt=0\" allow=\"fullscreen\" style=\"position: absolute; top: 0; left: 0; width: 100%; height: 100%; border:0;\" title=\"Vimeo video\"></iframe></div>");
        assert_eq!(notes.len(), 1);
        assert_eq!(
            convert("{{< gist spf13 7896402 \"img.html\" >}}").0,
            "<script src=\"https://gist.github.com/spf13/7896402.js?file=img.html\"></script>"
        );
        let (out, notes) = convert("{{< twitter_simple user=\"designreviewed\" id=\"1085870671291310081\" >}}\n{{< x user=\"a\" id=\"2\" >}} {{< instagram BWNjjyYFxVx >}}");
        assert_eq!(out, "<https://x.com/designreviewed/status/1085870671291310081>\n<https://x.com/a/status/2> <https://www.instagram.com/p/BWNjjyYFxVx/>");
        assert_eq!(
            notes,
            [
                "1:`twitter_simple` → a link to the post: sitegen does not embed X posts",
                "2:`x` → a link to the post: sitegen does not embed X posts",
                "2:`instagram` → a link to the post: sitegen does not embed Instagram posts"
            ]
        );
    }

    #[test]
    fn highlight_details_comment_and_param() {
        let (out, notes) = convert("{{< highlight html \"linenos=table\" >}}\n<p>x</p>\n{{< /highlight >}}\n");
        assert_eq!(out, "```html\n<p>x</p>\n```\n");
        assert_eq!(notes.len(), 1);
        let (out, notes) =
            convert("Some {{< highlight go \"hl_inline=true\" >}}fmt.Println(`x`){{< /highlight >}} code.");
        assert_eq!(out, "Some ``fmt.Println(`x`)`` code.");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            convert("{{% details summary=\"More\" open=true %}}\n*Hidden*\n{{% /details %}}").0,
            "<details open>\n<summary>More</summary>\n\n*Hidden*\n\n</details>"
        );
        assert_eq!(
            convert("{{% comment %}}note -- x{{% /comment %}}").0,
            "<!--note - - x-->"
        );
        assert_eq!(
            convert("By {{< param author >}}, {{< param \"social.x\" >}}, {{< param subtitle >}}.").0,
            "By Site Author, @me, Page sub."
        );
        let (out, notes) = convert("{{< param nope >}}");
        assert_eq!(out, "{{< param nope >}}");
        assert_eq!(notes, ["1:`param` `nope`: no such page or site param; left as text"]);
    }

    #[test]
    fn refs_in_links_and_elsewhere() {
        assert_eq!(
            convert("[A]({{< ref \"post/a.md#intro\" >}}) and [B]({{% relref \"/post/a\" %}})").0,
            "[A](@/post/a.md#intro) and [B](@/post/a.md)"
        );
        assert_eq!(convert("[a]: {{< relref \"a.md\" >}}").0, "[a]: @/post/a.md");
        assert_eq!(
            convert("<a href=\"{{< relref \"a.md\" >}}\">{{< ref \"a.md\" >}}</a>").0,
            "<a href=\"/post/a/\">https://example.org/post/a/</a>"
        );
        let (out, notes) = convert("[x]({{< ref \"missing.md\" >}})");
        assert_eq!(out, "[x]({{< ref \"missing.md\" >}})");
        assert_eq!(
            notes,
            ["1:`ref` to `missing.md`: no such page in the site; left as text"]
        );
    }

    #[test]
    fn unknown_escaped_and_stray_forms() {
        // A malformed sitegen-like call that never closes, ending in a character of three bytes.
        assert_eq!(convert("x {{ f(a €").0, "x {{ f(a €");
        let (out, notes) = convert("Text\n{{< notice info >}}\nBody {{< youtube a >}}\n{{< /notice >}}\n```\n{{</* youtube id */>}} {{%/* x */%}}\n```\n{{< css.inline >}}\n{{ if .Params.math }}{{ end }}\n{{</ css.inline >}}\n<!--more-->\n");
        assert!(out.starts_with("Text\n{{< notice info >}}\nBody <div "), "{out}");
        assert!(out.contains("\n{{< /notice >}}\n```\n{{< youtube id >}} {{% x %}}\n```\n{{< css.inline >}}\n{{ if .Params.math }}{{/* end */}}\n{{</ css.inline >}}\n<!-- more -->\n"), "{out}");
        assert_eq!(
            notes,
            [
                "2:shortcode `notice` left as text: not a Hugo built-in that sitegen converts",
                "8:shortcode `css.inline` left as text: an inline shortcode (a Go template)",
                "11:`<!--more-->` → `<!-- more -->` (the summary ends there)"
            ]
        );
    }
}
