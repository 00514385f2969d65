//! Markdown → HTML with pulldown-cmark, plus what a documentation site needs on top: heading
//! ids and anchor links, a table of contents, syntax highlighting (CSS classes, so the theme
//! decides the colours), `@/page.md#anchor` links resolved to permalinks, and shortcodes
//! (Tera templates called from Markdown). Pure: the caller passes in how to resolve links and
//! how to render a shortcode; errors carry the Markdown file's line and column.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;
use syntect::highlighting::ThemeSet;
use syntect::html::{line_tokens_to_classed_spans, ClassStyle};
use syntect::parsing::{ParseState, ScopeStack, ScopeStackOp, SyntaxSet};
use syntect::util::LinesWithEndings;

use crate::config::{AnchorLinks, MarkdownConfig};
use crate::error::{line_col, Diagnostic};

/// Prefix of the CSS classes of highlighted code (`hl-keyword`).
pub const HIGHLIGHT_CLASS_PREFIX: &str = "hl-";

/// Syntax highlighting with syntect's bundled grammars, loaded on first use (a site without
/// code blocks never pays for it).
///
/// Parsing is memoised per line: a line parsed in a given parser state always yields the same
/// scope operations and the same next state, so documentation that repeats lines (imports,
/// closing braces, boilerplate shared by many examples) parses each (line, state) once per
/// build. The output is the same as without the memo (`highlight_matches_syntect` below).
#[derive(Default)]
pub struct Highlighter {
    syntaxes: OnceLock<SyntaxSet>,
    memo: LineMemo,
}

/// Parsed lines by their text, each with the states it was parsed in.
struct LineMemo {
    shards: Vec<Mutex<HashMap<Box<str>, Vec<MemoEntry>>>>,
    entries: AtomicUsize,
}

struct MemoEntry {
    before: ParseState,
    ops: Arc<[(usize, ScopeStackOp)]>,
    after: ParseState,
}

// SAFETY: a `ParseState` is not `Send` only because it may hold an Oniguruma `Region` (the
// captures of a match, for back-references), a heap block owned exclusively by its value with
// no thread affinity. Entries are only created, read and cloned under their shard's mutex, and
// what leaves the memo is a deep clone, so no region is ever touched by two threads at once.
unsafe impl Send for MemoEntry {}

/// Bounds on the memo's memory: entries in all (a few hundred bytes each) and states kept per
/// line text (`}` is seen in many states).
const MEMO_MAX_ENTRIES: usize = 200_000;
const MEMO_MAX_STATES_PER_LINE: usize = 16;
const MEMO_SHARDS: usize = 32;

impl Default for LineMemo {
    fn default() -> Self {
        LineMemo {
            shards: (0..MEMO_SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            entries: AtomicUsize::new(0),
        }
    }
}

impl LineMemo {
    fn shard(&self, line: &str) -> &Mutex<HashMap<Box<str>, Vec<MemoEntry>>> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let h = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(line);
        &self.shards[(h as usize) % MEMO_SHARDS]
    }

    /// Parses `line` from `state` (advancing it), from the memo when it can.
    fn parse(&self, state: &mut ParseState, line: &str, ss: &SyntaxSet) -> Option<Arc<[(usize, ScopeStackOp)]>> {
        let shard = self.shard(line);
        if let Some(list) = shard.lock().expect("memo lock").get(line) {
            if let Some(e) = list.iter().find(|e| e.before == *state) {
                *state = e.after.clone();
                return Some(e.ops.clone());
            }
        }
        let before = state.clone();
        let ops: Arc<[(usize, ScopeStackOp)]> = state.parse_line(line, ss).ok()?.into();
        if self.entries.load(Ordering::Relaxed) < MEMO_MAX_ENTRIES {
            let mut map = shard.lock().expect("memo lock");
            let list = map.entry(line.into()).or_default();
            if list.len() < MEMO_MAX_STATES_PER_LINE {
                list.push(MemoEntry {
                    before,
                    ops: ops.clone(),
                    after: state.clone(),
                });
                self.entries.fetch_add(1, Ordering::Relaxed);
            }
        }
        Some(ops)
    }
}

impl Highlighter {
    pub fn new() -> Self {
        Self::default()
    }

    fn syntaxes(&self) -> &SyntaxSet {
        self.syntaxes.get_or_init(SyntaxSet::load_defaults_newlines)
    }

    /// Highlighted HTML (spans with classes) for `code`, or `None` for an unknown language.
    pub fn highlight(&self, lang: &str, code: &str) -> Option<String> {
        let ss = self.syntaxes();
        let syntax = ss.find_syntax_by_token(lang)?;
        let style = ClassStyle::SpacedPrefixed {
            prefix: HIGHLIGHT_CLASS_PREFIX,
        };
        // What syntect's ClassedHTMLGenerator does, with the memo in front of the parser.
        let mut state = ParseState::new(syntax);
        let mut stack = ScopeStack::new();
        let mut html = String::with_capacity(code.len() * 4);
        let mut open: isize = 0;
        for line in LinesWithEndings::from(code) {
            let ops = self.memo.parse(&mut state, line, ss)?;
            let (h, delta) = line_tokens_to_classed_spans(line, &ops, style, &mut stack).ok()?;
            open += delta;
            html.push_str(&h);
        }
        for _ in 0..open {
            html.push_str("</span>");
        }
        Some(html)
    }

    /// The CSS for one of syntect's bundled themes, for the class names above.
    pub fn theme_css(name: &str) -> Option<String> {
        let ts = ThemeSet::load_defaults();
        let theme = ts.themes.get(name)?;
        syntect::html::css_for_theme_with_class_style(
            theme,
            ClassStyle::SpacedPrefixed {
                prefix: HIGHLIGHT_CLASS_PREFIX,
            },
        )
        .ok()
    }

    pub fn theme_names() -> Vec<String> {
        ThemeSet::load_defaults().themes.keys().cloned().collect()
    }
}

/// Renders shortcodes: `{{ name(arg=1) }}` inline, `{% name(arg=1) %}body{% end %}` with a body.
pub trait Shortcodes: Sync {
    fn exists(&self, name: &str) -> bool;
    /// Why `name` cannot be used here, for the error message.
    fn missing(&self, name: &str) -> String {
        format!("unknown shortcode `{name}`: no template `templates/shortcodes/{name}.html`")
    }
    /// Renders one call. `page_dir` is the logical folder of the page (`content/blog/post/`),
    /// where images named by a relative path are looked up first. Returns the HTML and the
    /// images the shortcode asked for.
    fn render(
        &self,
        name: &str,
        args: &serde_json::Map<String, serde_json::Value>,
        body: Option<&str>,
        page_dir: &str,
    ) -> Result<(String, Vec<crate::images::Job>), String>;
}

/// No shortcodes at all (Markdown rendered from templates with the `markdown` filter).
pub struct NoShortcodes;

impl Shortcodes for NoShortcodes {
    fn exists(&self, _: &str) -> bool {
        false
    }
    fn missing(&self, name: &str) -> String {
        format!("shortcode `{name}` cannot be used here: Markdown rendered by the `markdown` filter (a shortcode's body, for one) does not expand shortcodes")
    }
    fn render(
        &self,
        _: &str,
        _: &serde_json::Map<String, serde_json::Value>,
        _: Option<&str>,
        _: &str,
    ) -> Result<(String, Vec<crate::images::Job>), String> {
        Err("shortcodes are not available here".into())
    }
}

/// Everything [`render`] needs besides the text.
pub struct Input<'a> {
    /// The file, for messages.
    pub origin: &'a str,
    /// The whole file (front matter included), for line and column numbers.
    pub text: &'a str,
    /// Where the Markdown body starts in `text`.
    pub body_offset: usize,
    pub config: &'a MarkdownConfig,
    /// The site's base URL, to tell internal absolute links from external ones.
    pub base_url: &'a str,
    pub highlighter: &'a Highlighter,
    /// `blog/post.md` → its permalink, or `None` when there is no such page or section.
    pub resolve: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// `/img/a.png` → its fingerprinted URL, when it names a fingerprinted asset.
    pub resolve_asset: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub shortcodes: &'a dyn Shortcodes,
    /// Local images get `width`/`height`, lazy loading and a `srcset` (`None`: images are
    /// left as written).
    pub images: Option<&'a crate::images::Images>,
    /// The logical folder of the file (`content/blog/post/`), for relative image paths.
    pub page_dir: &'a str,
}

/// One heading in the table of contents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heading {
    pub level: u32,
    pub id: String,
    pub title: String,
    /// `#id`, ready for an `href`.
    pub permalink: String,
    pub children: Vec<Heading>,
}

/// A `@/page.md#anchor` link, checked once every page is rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorRef {
    pub target: String,
    pub anchor: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub html: String,
    /// The HTML before `<!-- more -->`, when the marker is there.
    pub summary: Option<String>,
    pub toc: Vec<Heading>,
    pub heading_ids: Vec<String>,
    pub word_count: usize,
    pub anchor_refs: Vec<AnchorRef>,
    /// Pages and sections this one links to with `@/` (for incremental rebuilds).
    pub links_to: Vec<String>,
    /// Resized images the `srcset`s of this render point to (made after rendering).
    pub image_jobs: Vec<crate::images::Job>,
    /// The local images read, with their sha256 (for incremental rebuilds).
    pub image_sources: Vec<(String, [u8; 32])>,
}

const SUMMARY_MARKER: &str = "<!-- more -->";

/// Renders a Markdown body. All problems are returned together.
pub fn render(input: &Input<'_>) -> Result<Rendered, Vec<Diagnostic>> {
    let (r, errors) = render_all(input);
    if errors.is_empty() {
        Ok(r)
    } else {
        Err(errors)
    }
}

/// Renders a Markdown body, returning what could be rendered along with every problem found
/// (so a page with one broken link still has its headings checked by the pages linking it).
pub fn render_all(input: &Input<'_>) -> (Rendered, Vec<Diagnostic>) {
    let body = &input.text[input.body_offset..];
    let mut errors = Vec::new();
    let expanded = expand_shortcodes(input, body, &mut errors);
    let md = expanded.markdown.as_str();
    let pos = |r: &Range<usize>| line_col(input.text, input.body_offset + expanded.original_offset(r.start));

    let mut opts = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_GFM;
    if input.config.smart_punctuation {
        opts |= Options::ENABLE_SMART_PUNCTUATION;
    }
    let events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(md, opts).into_offset_iter().collect();

    let mut out: Vec<Event<'_>> = Vec::with_capacity(events.len());
    let mut r = Rendered::default();
    let mut flat_headings: Vec<Heading> = Vec::new();
    let mut link_stack: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let (ev, range) = &events[i];
        match ev {
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => {
                let end = find_end(&events, i);
                let inner: Vec<Event<'_>> = events[i + 1..end].iter().map(|(e, _)| e.clone()).collect();
                let title: String = inner
                    .iter()
                    .filter_map(|e| match e {
                        Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                        _ => None,
                    })
                    .collect();
                r.word_count += title.split_whitespace().count();
                let mut inner_html = String::new();
                pulldown_cmark::html::push_html(&mut inner_html, inner.into_iter());
                let base = match id {
                    Some(id) => id.to_string(),
                    None => {
                        let s = crate::content::slugify(&title);
                        if s.is_empty() {
                            "section".to_string()
                        } else {
                            s
                        }
                    }
                };
                let mut hid = base.clone();
                let mut n = 1;
                while r.heading_ids.contains(&hid) {
                    hid = format!("{base}-{n}");
                    n += 1;
                }
                r.heading_ids.push(hid.clone());
                let lvl = heading_level(*level);
                let mut html = format!("<h{lvl} id=\"{}\"", escape_attr(&hid));
                if !classes.is_empty() {
                    let c: Vec<&str> = classes.iter().map(|c| c.as_ref()).collect();
                    let _ = write!(html, " class=\"{}\"", escape_attr(&c.join(" ")));
                }
                for (k, v) in attrs {
                    let _ = write!(
                        html,
                        " {}=\"{}\"",
                        escape_attr(k),
                        escape_attr(v.as_deref().unwrap_or(""))
                    );
                }
                html.push('>');
                let label = escape_attr(&title);
                match input.config.anchor_links {
                    AnchorLinks::Left => {
                        let _ = write!(html, "<a class=\"anchor\" href=\"#{}\" aria-label=\"Anchor link for: {label}\">#</a>{inner_html}", escape_attr(&hid));
                    }
                    AnchorLinks::Right => {
                        let _ = write!(html, "{inner_html}<a class=\"anchor\" href=\"#{}\" aria-label=\"Anchor link for: {label}\">#</a>", escape_attr(&hid));
                    }
                    AnchorLinks::Heading => {
                        let _ = write!(
                            html,
                            "<a class=\"heading-link\" href=\"#{}\">{inner_html}</a>",
                            escape_attr(&hid)
                        );
                    }
                    AnchorLinks::None => html.push_str(&inner_html),
                }
                let _ = writeln!(html, "</h{lvl}>");
                out.push(Event::Html(CowStr::from(html)));
                flat_headings.push(Heading {
                    level: lvl,
                    permalink: format!("#{hid}"),
                    id: hid,
                    title,
                    children: vec![],
                });
                i = end + 1;
                continue;
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let end = find_end(&events, i);
                let mut code = String::new();
                for (e, _) in &events[i + 1..end] {
                    if let Event::Text(t) = e {
                        code.push_str(t);
                    }
                }
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .next()
                        .unwrap_or("")
                        .to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                out.push(Event::Html(CowStr::from(code_block(input, &lang, &code))));
                i = end + 1;
                continue;
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let mut dest = dest_url.to_string();
                if let Some(target) = dest.strip_prefix("@/") {
                    let (file, anchor) = match target.split_once('#') {
                        Some((f, a)) => (f.to_string(), Some(a.to_string())),
                        None => (target.to_string(), None),
                    };
                    match (input.resolve)(&file) {
                        Some(url) => {
                            let (line, column) = pos(range);
                            if let Some(a) = &anchor {
                                r.anchor_refs.push(AnchorRef {
                                    target: file.clone(),
                                    anchor: a.clone(),
                                    line,
                                    column,
                                });
                                dest = format!("{url}#{a}");
                            } else {
                                dest = url;
                            }
                            r.links_to.push(file);
                        }
                        None => {
                            let (l, c) = pos(range);
                            errors.push(Diagnostic::at(
                                input.origin,
                                l,
                                c,
                                format!("link to `@/{file}`, but there is no page or section `content/{file}`"),
                            ));
                        }
                    }
                }
                if let Some(u) = (input.resolve_asset)(&dest) {
                    dest = u;
                }
                let external = (dest.starts_with("http://") || dest.starts_with("https://"))
                    && !(input.base_url.starts_with("http") && dest.starts_with(input.base_url));
                let custom =
                    external && (input.config.external_links_target_blank || input.config.external_links_no_follow);
                if custom {
                    let mut html = format!("<a href=\"{}\"", escape_attr(&dest));
                    if !title.is_empty() {
                        let _ = write!(html, " title=\"{}\"", escape_attr(title));
                    }
                    let mut rel = vec![];
                    if input.config.external_links_target_blank {
                        html.push_str(" target=\"_blank\"");
                        rel.push("noopener");
                    }
                    if input.config.external_links_no_follow {
                        rel.push("nofollow");
                    }
                    let _ = write!(html, " rel=\"{}\">", rel.join(" "));
                    out.push(Event::InlineHtml(CowStr::from(html)));
                } else {
                    out.push(Event::Start(Tag::Link {
                        link_type: *link_type,
                        dest_url: CowStr::from(dest),
                        title: title.clone(),
                        id: id.clone(),
                    }));
                }
                link_stack.push(custom);
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest = (input.resolve_asset)(dest_url)
                    .map(CowStr::from)
                    .unwrap_or_else(|| dest_url.clone());
                if let Some(found) = input.images.and_then(|im| im.markdown(dest_url, input.page_dir, &dest)) {
                    match found {
                        Ok(img) => {
                            let end = find_end(&events, i);
                            let mut alt = String::new();
                            for (e, _) in &events[i + 1..end] {
                                match e {
                                    Event::Text(t) | Event::Code(t) => alt.push_str(t),
                                    Event::SoftBreak | Event::HardBreak => alt.push(' '),
                                    _ => {}
                                }
                            }
                            let mut html = format!("<img src=\"{}\" alt=\"{}\"", escape_attr(&dest), escape_attr(&alt));
                            if !title.is_empty() {
                                let _ = write!(html, " title=\"{}\"", escape_attr(title));
                            }
                            let _ = write!(html, " width=\"{}\" height=\"{}\"", img.width, img.height);
                            if input.images.is_some_and(|im| im.lazy()) {
                                html.push_str(" loading=\"lazy\" decoding=\"async\"");
                            }
                            if let Some(srcset) = &img.srcset {
                                let _ = write!(html, " srcset=\"{}\"", escape_attr(srcset));
                                let sizes = input.images.map(|im| im.sizes()).unwrap_or("");
                                if !sizes.is_empty() {
                                    let _ = write!(html, " sizes=\"{}\"", escape_attr(sizes));
                                }
                            }
                            html.push_str(" />");
                            out.push(Event::InlineHtml(CowStr::from(html)));
                            r.image_jobs.extend(img.jobs);
                            r.image_sources.push((img.source, img.source_sha256));
                            i = end + 1;
                            continue;
                        }
                        Err(e) => {
                            let (l, c) = pos(range);
                            errors.push(Diagnostic::at(input.origin, l, c, e));
                        }
                    }
                }
                out.push(Event::Start(Tag::Image {
                    link_type: *link_type,
                    dest_url: dest,
                    title: title.clone(),
                    id: id.clone(),
                }));
            }
            Event::End(TagEnd::Link) => {
                if link_stack.pop().unwrap_or(false) {
                    out.push(Event::InlineHtml(CowStr::Borrowed("</a>")));
                } else {
                    out.push(ev.clone());
                }
            }
            Event::Text(t) => {
                r.word_count += t.split_whitespace().count();
                out.push(ev.clone());
            }
            _ => out.push(ev.clone()),
        }
        i += 1;
    }

    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    if !expanded.outputs.is_empty() {
        html = expanded.substitute(html);
    }
    if let Some(idx) = html.find(SUMMARY_MARKER) {
        r.summary = Some(html[..idx].to_string());
    }
    r.html = html;
    r.toc = nest_headings(flat_headings);
    for j in expanded.image_jobs {
        r.image_sources.push((j.source.clone(), j.source_sha256));
        r.image_jobs.push(j);
    }
    r.image_sources.sort();
    r.image_sources.dedup();
    (r, errors)
}

fn heading_level(l: HeadingLevel) -> u32 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Index of the `End` event matching the `Start` at `start`.
fn find_end(events: &[(Event<'_>, Range<usize>)], start: usize) -> usize {
    let mut depth = 0usize;
    for (j, (e, _)) in events.iter().enumerate().skip(start) {
        match e {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    events.len() - 1
}

fn code_block(input: &Input<'_>, lang: &str, code: &str) -> String {
    let highlighted = if input.config.highlight_code && !lang.is_empty() {
        input.highlighter.highlight(lang, code)
    } else {
        None
    };
    let body = highlighted.unwrap_or_else(|| escape_html(code));
    if lang.is_empty() {
        format!("<pre class=\"code\"><code>{body}</code></pre>\n")
    } else {
        let l = escape_attr(lang);
        format!("<pre class=\"code\" data-lang=\"{l}\"><code class=\"language-{l}\">{body}</code></pre>\n")
    }
}

/// Flat headings → a tree: each heading holds the deeper ones that follow it.
fn nest_headings(flat: Vec<Heading>) -> Vec<Heading> {
    fn insert(list: &mut Vec<Heading>, h: Heading) {
        if let Some(last) = list.last_mut() {
            if h.level > last.level {
                insert(&mut last.children, h);
                return;
            }
        }
        list.push(h);
    }
    let mut out = Vec::new();
    for h in flat {
        insert(&mut out, h);
    }
    out
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

pub fn escape_attr(s: &str) -> String {
    escape_html(s).replace('\'', "&#39;")
}

// ---------------------------------------------------------------------------------------
// Shortcodes

/// Markdown with shortcodes replaced by placeholders, and what to put back.
struct Expanded {
    image_jobs: Vec<crate::images::Job>,
    markdown: String,
    outputs: Vec<String>,
    /// (offset in `markdown`, offset in the original body), ascending.
    map: Vec<(usize, usize)>,
}

impl Expanded {
    fn original_offset(&self, new: usize) -> usize {
        let idx = self.map.partition_point(|&(n, _)| n <= new);
        if idx == 0 {
            return new;
        }
        let (n, o) = self.map[idx - 1];
        o + (new - n)
    }

    fn substitute(&self, mut html: String) -> String {
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
fn code_ranges(body: &str) -> Vec<Range<usize>> {
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

fn expand_shortcodes(input: &Input<'_>, body: &str, errors: &mut Vec<Diagnostic>) -> Expanded {
    let mut ex = Expanded {
        image_jobs: Vec::new(),
        markdown: String::new(),
        outputs: Vec::new(),
        map: Vec::new(),
    };
    if !body.contains("{{") && !body.contains("{%") {
        ex.markdown = body.to_string();
        return ex;
    }
    let code = code_ranges(body);
    let in_code = |p: usize| code.iter().any(|r| r.contains(&p));
    let at = |p: usize| line_col(input.text, input.body_offset + p);
    let mut md = String::with_capacity(body.len());
    let mut copied = 0;
    let mut p = 0;
    let bytes = body.as_bytes();
    while p + 1 < bytes.len() {
        if bytes[p] != b'{' || !(bytes[p + 1] == b'{' || bytes[p + 1] == b'%') || in_code(p) {
            p += 1;
            continue;
        }
        let block = bytes[p + 1] == b'%';
        let (open, close) = if block { ("{%", "%}") } else { ("{{", "}}") };
        // Escaped: {{/* name() */}} → {{ name() }}, kept verbatim (no smart punctuation).
        if body[p + 2..].starts_with("/*") {
            if let Some(e) = body[p + 4..].find(&format!("*/{close}")) {
                let end = p + 4 + e + 4;
                md.push_str(&body[copied..p]);
                ex.map.push((md.len(), p));
                md.push_str(&placeholder(ex.outputs.len()));
                ex.outputs
                    .push(escape_html(&format!("{open}{}{close}", &body[p + 4..p + 4 + e])));
                ex.map.push((md.len(), end));
                p = end;
                copied = p;
                continue;
            }
        }
        let call = match parse_call(body, p + 2, close) {
            Ok(Some(c)) => c,
            Ok(None) => {
                p += 2;
                continue;
            }
            Err(msg) => {
                let (l, c) = at(p);
                errors.push(Diagnostic::at(input.origin, l, c, msg));
                p += 2;
                continue;
            }
        };
        if block && call.name == "end" {
            p += 2;
            continue;
        }
        if !input.shortcodes.exists(&call.name) {
            let (l, c) = at(p);
            errors.push(Diagnostic::at(input.origin, l, c, input.shortcodes.missing(&call.name)));
            p = call.end;
            continue;
        }
        let (body_text, end) = if block {
            match find_block_end(body, call.end) {
                Some((inner_end, after)) => (Some(&body[call.end..inner_end]), after),
                None => {
                    let (l, c) = at(p);
                    errors.push(Diagnostic::at(
                        input.origin,
                        l,
                        c,
                        format!("shortcode `{}` has no closing `{{% end %}}`", call.name),
                    ));
                    p = call.end;
                    continue;
                }
            }
        } else {
            (None, call.end)
        };
        let body_text = body_text.map(|b| b.strip_prefix('\n').unwrap_or(b).strip_suffix('\n').unwrap_or(b));
        match input
            .shortcodes
            .render(&call.name, &call.args, body_text, input.page_dir)
        {
            Ok((html, jobs)) => {
                ex.image_jobs.extend(jobs);
                md.push_str(&body[copied..p]);
                ex.map.push((md.len(), p));
                md.push_str(&placeholder(ex.outputs.len()));
                ex.outputs.push(html);
                ex.map.push((md.len(), end));
            }
            Err(e) => {
                let (l, c) = at(p);
                errors.push(Diagnostic::at(
                    input.origin,
                    l,
                    c,
                    format!("shortcode `{}` failed: {e}", call.name),
                ));
                md.push_str(&body[copied..p]);
                ex.map.push((md.len(), end));
            }
        }
        p = end;
        copied = end;
    }
    md.push_str(&body[copied..]);
    ex.markdown = md;
    ex
}

/// Finds `{% end %}` after `from`: (start of the tag, end of the tag).
fn find_block_end(body: &str, from: usize) -> Option<(usize, usize)> {
    let mut p = from;
    while let Some(i) = body[p..].find("{%") {
        let s = p + i;
        let rest = &body[s + 2..];
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix("end") {
            let after_t = after.trim_start();
            if after_t.starts_with("%}") {
                let end = body.len() - after_t.len() + 2;
                return Some((s, end));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The memoised highlighter writes exactly what syntect's own generator writes, also for
    /// lines seen before in other parser states (inside a string, a comment, a docstring).
    #[test]
    fn highlight_matches_syntect() {
        let samples = [
            ("rust", "fn main() {\n    let s = \"a\n}\n\";\n    /* x\n}\n */\n}\n"),
            ("rust", "fn main() {\n}\n"),
            (
                "python",
                "def f():\n    \"\"\"doc\n    return 1\n    \"\"\"\n    return 1\n",
            ),
            ("js", "const a = `x\n}\n`;\n}\n"),
            ("yaml", "a: |\n  b: c\nb: c\n"),
            ("html", "<script>\nvar a = 1;\n</script>\nvar a = 1;\n"),
        ];
        let h = Highlighter::new();
        for round in 0..2 {
            for (lang, code) in samples {
                let ss = h.syntaxes();
                let syntax = ss.find_syntax_by_token(lang).unwrap();
                let mut gen = syntect::html::ClassedHTMLGenerator::new_with_class_style(
                    syntax,
                    ss,
                    ClassStyle::SpacedPrefixed {
                        prefix: HIGHLIGHT_CLASS_PREFIX,
                    },
                );
                for line in LinesWithEndings::from(code) {
                    gen.parse_html_for_line_which_includes_newline(line).unwrap();
                }
                assert_eq!(h.highlight(lang, code).unwrap(), gen.finalize(), "{lang} round {round}");
            }
        }
        assert!(h.memo.entries.load(Ordering::Relaxed) > 0);
    }
}
