//! Markdown → HTML with pulldown-cmark, plus what a documentation site needs on top: heading
//! ids and anchor links, a table of contents, syntax highlighting (CSS classes, so the theme
//! decides the colours), `@/page.md#anchor` links resolved to permalinks, and shortcodes
//! (Tera templates called from Markdown). Pure: the caller passes in how to resolve links and
//! how to render a shortcode; errors carry the Markdown file's line and column.

mod code;
mod emoji;
mod hooks;
mod links;
mod math;
mod shortcodes;

pub use links::{has_scheme, LinkRef};
pub use shortcodes::{call_ranges, code_ranges, MAX_NESTING};

use std::fmt::Write as _;
use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use crate::config::{AnchorLinks, MarkdownConfig};
use crate::error::{line_col, Diagnostic};
use crate::highlight::Highlighter;
use code::CodeInfo;
use shortcodes::{expand_shortcodes, Expanded};

/// Renders shortcodes: `{{ name(arg=1) }}` inline, `{% name(arg=1) %}body{% end %}` with a body.
pub trait Shortcodes: Sync {
    fn exists(&self, name: &str) -> bool;
    /// Why `name` cannot be used here, for the error message.
    fn missing(&self, name: &str) -> String {
        format!("unknown shortcode `{name}`: no template `templates/shortcodes/{name}.html`")
    }
    /// Renders one call. `page_dir` is the logical folder of the page (`content/blog/post/`),
    /// where images named by a relative path are looked up first. `key` is the render's
    /// [`Input::key`]: images the shortcode asks for are recorded under it.
    fn render(
        &self,
        name: &str,
        args: &serde_json::Map<String, serde_json::Value>,
        body: Option<&str>,
        page_dir: &str,
        key: &str,
    ) -> Result<String, String>;
    /// A heading's anchor link from the site's own template (Zola's `anchor-link.html`), or
    /// `None` for sitegen's.
    fn anchor_link(&self, _id: &str, _level: u32, _lang: &str) -> Option<Result<String, String>> {
        None
    }
    /// Whether the site has the render hook `templates/hooks/NAME.html`.
    fn has_hook(&self, _name: &str) -> bool {
        false
    }
    /// Renders the render hook `name` with `vars`; `None` when the site has no such hook.
    /// `key` is the render's [`Input::key`], as for shortcodes.
    fn hook(
        &self,
        _name: &str,
        _vars: &serde_json::Map<String, serde_json::Value>,
        _key: &str,
    ) -> Option<Result<String, String>> {
        None
    }
}

/// No shortcodes at all (Markdown rendered from templates with the `markdown` filter).
pub struct NoShortcodes;

impl Shortcodes for NoShortcodes {
    fn exists(&self, _: &str) -> bool {
        false
    }
    fn missing(&self, name: &str) -> String {
        format!("shortcode `{name}` cannot be used here: Markdown rendered by the `markdown` filter does not expand shortcodes (the calls in a shortcode's body are expanded before its template gets the body)")
    }
    fn render(
        &self,
        _: &str,
        _: &serde_json::Map<String, serde_json::Value>,
        _: Option<&str>,
        _: &str,
        _: &str,
    ) -> Result<String, String> {
        Err("shortcodes are not available here".into())
    }
}

/// What the image stage tells Markdown about a local image.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkdownImage {
    pub width: u32,
    pub height: u32,
    /// Resized copies for `srcset`, when the image is wider than some configured width.
    pub srcset: Option<String>,
    /// The `src` to write instead of the URL the Markdown names, for an image whose file is
    /// never published (under `originals/`): one of its resized copies.
    pub url: Option<String>,
    /// The source's logical path and sha256, for the Markdown cache key.
    pub source: String,
    pub source_sha256: [u8; 32],
}

/// How Markdown asks the image stage about the images it shows (implemented by
/// `images::Images`): their size, and resized copies for a `srcset`. The copies are recorded
/// by the implementation under the render's key ([`Input::key`]), to be made after
/// rendering; Markdown itself never sees an image job.
pub trait ImageLookup: Sync {
    /// For a Markdown image `src` on the page in `page_dir`: its size and a `srcset`, or
    /// `None` when `src` is not a local image that can be read. `src_url` is the URL the
    /// `<img src>` will have (the original's, fingerprinted or not) unless the answer gives a
    /// `url` of its own.
    fn markdown_image(
        &self,
        key: &str,
        src: &str,
        page_dir: &str,
        src_url: &str,
    ) -> Option<Result<MarkdownImage, String>>;
    /// `loading="lazy" decoding="async"` on Markdown images.
    fn lazy(&self) -> bool;
    /// The `sizes` of Markdown images with a `srcset`.
    fn sizes(&self) -> &str;
}

/// The key a Markdown render of `origin` records its images (and its shortcodes' images)
/// under: distinct from every output's `current_path`.
pub fn render_key(origin: &str) -> String {
    format!("\0markdown {origin}")
}

/// (content path, language) → (the file found, its permalink); see [`Env::resolve`].
pub type Resolve<'a> = dyn Fn(&str, &str) -> Option<(String, String)> + Sync + 'a;

/// What every Markdown render of one build shares: settings, link and asset resolution,
/// shortcodes and images.
pub struct Env<'a> {
    pub config: &'a MarkdownConfig,
    /// The site's base URL, to tell internal absolute links from external ones.
    pub base_url: &'a str,
    pub highlighter: &'a Highlighter,
    /// (`blog/post.md`, language) → the file it means in that language (its translation when
    /// there is one) and that file's permalink; `None` when there is no such page or section.
    pub resolve: &'a Resolve<'a>,
    /// Whether the site has a source file (`content/blog/a.md`): a `.md` link to a file that
    /// is there but not built (a draft) is left as written, one to no file is an error.
    pub source_exists: &'a (dyn Fn(&str) -> bool + Sync),
    /// `/img/a.png` → its fingerprinted URL, when it names a fingerprinted asset.
    pub resolve_asset: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub shortcodes: &'a dyn Shortcodes,
    /// Local images get `width`/`height`, lazy loading and a `srcset` (`None`: images are
    /// left as written).
    pub images: Option<&'a dyn ImageLookup>,
    /// How heading ids are made from heading text (`slugify.anchors`).
    pub anchors: crate::paths::Slugify,
}

/// One Markdown text to render: everything [`render`] needs besides the [`Env`].
pub struct Input<'a> {
    pub env: &'a Env<'a>,
    /// The file, for messages.
    pub origin: &'a str,
    /// What images are recorded under ([`render_key`] of the origin).
    pub key: &'a str,
    /// The whole file (front matter included), for line and column numbers.
    pub text: &'a str,
    /// Where the Markdown body starts in `text`.
    pub body_offset: usize,
    /// The logical folder of the file (`content/blog/post/`), for relative image paths.
    pub page_dir: &'a str,
    /// The file's language: `@/` links go to the linked content's version in it.
    pub lang: &'a str,
    /// Heading anchor links (the section's setting, else the site's).
    pub anchor_links: AnchorLinks,
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

/// A `@/page.md#anchor` or `page.md#anchor` link, checked once every page is rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorRef {
    pub target: String,
    pub anchor: String,
    /// The link as written (`@/blog/a.md#x`, `../a.md#x`), for the message.
    pub link: String,
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
    /// Pages and sections this one links to with `@/` or a `.md` link (for incremental
    /// rebuilds).
    pub links_to: Vec<String>,
    /// Every link's and image's URL with its position, for the link check's messages.
    pub links: Vec<LinkRef>,
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
    let mut events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(md, parser_options(input.env.config))
        .into_offset_iter()
        .collect();
    if input.env.config.math {
        let at = |offset: usize| line_col(input.text, input.body_offset + expanded.original_offset(offset));
        events = math::render_math(events, md, &mut |offset, message| {
            let (l, c) = at(offset);
            errors.push(Diagnostic::at(input.origin, l, c, message));
        });
    }
    if input.env.config.emoji {
        events = emoji::replace_aliases(events);
    }
    let mut renderer = Renderer {
        input,
        expanded: &expanded,
        events: &events,
        out: Vec::with_capacity(events.len()),
        rendered: Rendered::default(),
        errors,
        headings: Vec::new(),
        link_stack: Vec::new(),
    };
    let mut i = 0;
    while i < events.len() {
        i = renderer.event(i);
    }
    renderer.finish()
}

/// The pulldown-cmark extensions every render uses.
fn parser_options(config: &MarkdownConfig) -> Options {
    let mut opts = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_DEFINITION_LIST;
    if config.math {
        opts |= Options::ENABLE_MATH;
    }
    if config.github_alerts {
        opts |= Options::ENABLE_GFM;
    }
    if config.smart_punctuation {
        opts |= Options::ENABLE_SMART_PUNCTUATION;
    }
    opts
}

/// One render in progress: walks the parser's events, turning the elements sitegen handles
/// itself (headings, code blocks, links, images) into HTML or rewritten events, one method per
/// kind of element, and passing every other event through.
struct Renderer<'a> {
    input: &'a Input<'a>,
    /// The body with shortcodes replaced by placeholders (what `events` were parsed from).
    expanded: &'a Expanded,
    events: &'a [(Event<'a>, Range<usize>)],
    /// The events given to pulldown-cmark's HTML writer.
    out: Vec<Event<'a>>,
    rendered: Rendered,
    errors: Vec<Diagnostic>,
    /// Headings in document order, nested into the TOC at the end.
    headings: Vec<Heading>,
    /// One entry per open link: `true` when it was opened as raw HTML (and must be closed so).
    link_stack: Vec<bool>,
}

impl<'a> Renderer<'a> {
    /// Handles the event at `i`; returns the index of the next event to handle (past the end
    /// of an element consumed whole).
    fn event(&mut self, i: usize) -> usize {
        let (ev, range) = &self.events[i];
        match ev {
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => return self.heading(i, *level, id.as_deref(), classes, attrs),
            Event::Start(Tag::CodeBlock(kind)) => return self.code_block(i, kind),
            Event::Start(Tag::BlockQuote(kind)) => {
                if let Some(next) = self.blockquote_hook(i, *kind) {
                    return next;
                }
                self.out.push(ev.clone());
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                if let Some(next) = self.link_hook(i, (*link_type, dest_url, title, id)) {
                    return next;
                }
                self.link_start(range, *link_type, dest_url, title, id);
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => return self.image(i, range, *link_type, dest_url, title, id),
            Event::End(TagEnd::Link) => self.link_end(ev),
            Event::Text(t) => {
                self.rendered.word_count += t.split_whitespace().count();
                self.out.push(ev.clone());
            }
            _ => self.out.push(ev.clone()),
        }
        i + 1
    }

    /// Line and column in the original file of a range of the expanded Markdown.
    fn pos(&self, range: &Range<usize>) -> (usize, usize) {
        line_col(
            self.input.text,
            self.input.body_offset + self.expanded.original_offset(range.start),
        )
    }

    fn error(&mut self, range: &Range<usize>, message: String) {
        let (l, c) = self.pos(range);
        self.errors.push(Diagnostic::at(self.input.origin, l, c, message));
    }

    /// A heading (the events from `i` to its end): a unique id, attributes, an anchor link as
    /// configured, and an entry in the table of contents.
    fn heading(
        &mut self,
        i: usize,
        level: HeadingLevel,
        id: Option<&str>,
        classes: &[CowStr<'a>],
        attrs: &[(CowStr<'a>, Option<CowStr<'a>>)],
    ) -> usize {
        let end = find_end(self.events, i);
        let inner: Vec<Event<'_>> = self.events[i + 1..end].iter().map(|(e, _)| e.clone()).collect();
        let title: String = inner
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect();
        self.rendered.word_count += title.split_whitespace().count();
        let mut inner_html = String::new();
        pulldown_cmark::html::push_html(&mut inner_html, inner.into_iter());
        let hid = self.heading_id(id, &title);
        let lvl = heading_level(level);
        let mut html = heading_open_tag(lvl, &hid, classes, attrs);
        let anchors = self.input.anchor_links;
        let custom = match anchors {
            AnchorLinks::Left | AnchorLinks::Right => self.input.env.shortcodes.anchor_link(&hid, lvl, self.input.lang),
            _ => None,
        };
        let custom = match custom {
            Some(Ok(a)) => Some(a),
            Some(Err(e)) => {
                let range = self.events[i].1.clone();
                self.error(&range, format!("anchor-link.html: {e}"));
                None
            }
            None => None,
        };
        push_heading_content(&mut html, anchors, &hid, &title, &inner_html, custom.as_deref());
        let _ = writeln!(html, "</h{lvl}>");
        if self.input.env.shortcodes.has_hook("heading") {
            let mut vars = serde_json::Map::new();
            vars.insert("level".into(), lvl.into());
            vars.insert("id".into(), hid.clone().into());
            vars.insert("text".into(), title.clone().into());
            vars.insert("html".into(), inner_html.clone().into());
            vars.insert(
                "classes".into(),
                classes.iter().map(|c| c.to_string()).collect::<Vec<_>>().into(),
            );
            let attrs: serde_json::Map<String, serde_json::Value> = attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_deref().unwrap_or("").into()))
                .collect();
            vars.insert("attrs".into(), attrs.into());
            vars.insert("default".into(), html.clone().into());
            let range = self.events[i].1.clone();
            if let Some(h) = self.hook("heading", vars, &range) {
                html = hooks::ensure_newline(h);
            }
        }
        self.out.push(Event::Html(CowStr::from(html)));
        self.headings.push(Heading {
            level: lvl,
            permalink: format!("#{hid}"),
            id: hid,
            title,
            children: vec![],
        });
        end + 1
    }

    /// The heading's `{#id}`, or the slug of its title; made unique on the page with `-1`,
    /// `-2`… and recorded in `heading_ids`.
    fn heading_id(&mut self, id: Option<&str>, title: &str) -> String {
        let base = match id {
            Some(id) => id.to_string(),
            None => {
                let s = crate::paths::slugify_anchor(title, self.input.env.anchors);
                if s.is_empty() {
                    "section".to_string()
                } else {
                    s
                }
            }
        };
        let mut hid = base.clone();
        let mut n = 1;
        while self.rendered.heading_ids.contains(&hid) {
            hid = format!("{base}-{n}");
            n += 1;
        }
        self.rendered.heading_ids.push(hid.clone());
        hid
    }

    /// A code block (the events from `i` to its end): its info string's options read (a bad
    /// one is an error at its column), its HTML from [`code::code_block_html`].
    fn code_block(&mut self, i: usize, kind: &CodeBlockKind<'_>) -> usize {
        let end = find_end(self.events, i);
        let mut code = String::new();
        for (e, _) in &self.events[i + 1..end] {
            if let Event::Text(t) = e {
                code.push_str(t);
            }
        }
        let info = match kind {
            CodeBlockKind::Fenced(info) => self.code_info(i, info),
            CodeBlockKind::Indented => CodeInfo::default(),
        };
        let mut html = code::code_block_html(self.input, &info, &code);
        let raw_info = match kind {
            CodeBlockKind::Fenced(s) => s.as_ref(),
            CodeBlockKind::Indented => "",
        };
        if let Some(h) = self.codeblock_hook(i, &info, raw_info, &code, &html) {
            html = hooks::ensure_newline(h);
        }
        self.out.push(Event::Html(CowStr::from(html)));
        end + 1
    }

    /// The options of the fenced block at `i`; a bad one is an error at its place in the
    /// info string (the language alone is kept).
    fn code_info(&mut self, i: usize, info: &str) -> CodeInfo {
        CodeInfo::parse(info).unwrap_or_else(|e| {
            let range = self.events[i].1.clone();
            let block = &self.expanded.markdown[range.clone()];
            let at = block.lines().next().and_then(|l| l.find(info)).unwrap_or(0);
            let start = range.start + at + e.offset;
            self.error(&(start..start), e.message);
            CodeInfo {
                lang: info
                    .split(|c: char| c == ',' || c == '{' || c.is_whitespace())
                    .next()
                    .unwrap_or("")
                    .into(),
                ..CodeInfo::default()
            }
        })
    }

    /// The start of a link: `@/` and `.md` links resolved to permalinks, asset URLs
    /// fingerprinted, external links given `target`/`rel` as configured (then opened as raw
    /// HTML).
    fn link_start(
        &mut self,
        range: &Range<usize>,
        link_type: LinkType,
        dest_url: &CowStr<'a>,
        title: &CowStr<'a>,
        id: &CowStr<'a>,
    ) -> String {
        let mut dest = dest_url.to_string();
        if let Some(target) = dest_url.strip_prefix("@/") {
            if let Some(url) = self.internal_link(target, range) {
                dest = url;
            }
        } else if let Some(url) = self.markdown_file_link(dest_url, range) {
            dest = url;
        }
        if let Some(u) = (self.input.env.resolve_asset)(&dest) {
            dest = u;
        }
        self.record_link(range, &dest);
        let env = self.input.env;
        let external = (dest.starts_with("http://") || dest.starts_with("https://"))
            && !(env.base_url.starts_with("http") && dest.starts_with(env.base_url));
        let custom = external && (env.config.external_links_target_blank || env.config.external_links_no_follow);
        if custom {
            let html = external_link_open(env.config, &dest, title);
            self.out.push(Event::InlineHtml(CowStr::from(html)));
        } else {
            self.out.push(Event::Start(Tag::Link {
                link_type,
                dest_url: CowStr::from(dest.clone()),
                title: title.clone(),
                id: id.clone(),
            }));
        }
        self.link_stack.push(custom);
        dest
    }

    /// The end of a link, closed the way it was opened.
    fn link_end(&mut self, ev: &Event<'a>) {
        if self.link_stack.pop().unwrap_or(false) {
            self.out.push(Event::InlineHtml(CowStr::Borrowed("</a>")));
        } else {
            self.out.push(ev.clone());
        }
    }

    /// An image starting at `i`: its URL fingerprinted; a local image the image stage knows
    /// becomes an `<img>` with its size (see [`Renderer::local_image`]), others stay as written.
    fn image(
        &mut self,
        i: usize,
        range: &Range<usize>,
        link_type: LinkType,
        dest_url: &CowStr<'a>,
        title: &CowStr<'a>,
        id: &CowStr<'a>,
    ) -> usize {
        let input = self.input;
        let dest = (input.env.resolve_asset)(dest_url)
            .map(CowStr::from)
            .unwrap_or_else(|| dest_url.clone());
        let found = input
            .env
            .images
            .and_then(|im| im.markdown_image(input.key, dest_url, input.page_dir, &dest));
        match found {
            Some(Ok(img)) => {
                let src = img.url.clone().unwrap_or_else(|| dest.to_string());
                self.record_link(range, &src);
                return self.local_image(i, (&src, dest_url), title, img);
            }
            Some(Err(e)) => {
                self.record_link(range, &dest);
                self.error(range, e);
            }
            None => self.record_link(range, &dest),
        }
        if input.env.shortcodes.has_hook("image") {
            let end = find_end(self.events, i);
            let alt = plain_text(&self.events[i + 1..end]);
            let parts = ImageParts {
                url: &dest,
                destination: dest_url,
                alt: &alt,
                title,
                size: None,
                srcset: None,
            };
            if let Some(html) = self.image_hook(&parts, range) {
                self.out.push(Event::InlineHtml(CowStr::from(html)));
                return end + 1;
            }
        }
        self.out.push(Event::Start(Tag::Image {
            link_type,
            dest_url: dest,
            title: title.clone(),
            id: id.clone(),
        }));
        i + 1
    }

    /// A local image (the events from `i` to its end) as one `<img>`: alt text, `width` and
    /// `height`, lazy loading and `srcset`/`sizes` as configured.
    fn local_image(&mut self, i: usize, (dest, written): (&str, &str), title: &str, img: MarkdownImage) -> usize {
        let end = find_end(self.events, i);
        let mut alt = String::new();
        for (e, _) in &self.events[i + 1..end] {
            match e {
                Event::Text(t) | Event::Code(t) => alt.push_str(t),
                Event::SoftBreak | Event::HardBreak => alt.push(' '),
                _ => {}
            }
        }
        let images = self.input.env.images;
        let mut html = format!("<img src=\"{}\" alt=\"{}\"", escape_attr(dest), escape_attr(&alt));
        if !title.is_empty() {
            let _ = write!(html, " title=\"{}\"", escape_attr(title));
        }
        let _ = write!(html, " width=\"{}\" height=\"{}\"", img.width, img.height);
        if images.is_some_and(|im| im.lazy()) {
            html.push_str(" loading=\"lazy\" decoding=\"async\"");
        }
        if let Some(srcset) = &img.srcset {
            let _ = write!(html, " srcset=\"{}\"", escape_attr(srcset));
            let sizes = images.map(|im| im.sizes()).unwrap_or("");
            if !sizes.is_empty() {
                let _ = write!(html, " sizes=\"{}\"", escape_attr(sizes));
            }
        }
        html.push_str(" />");
        let range = self.events[i].1.clone();
        let parts = ImageParts {
            url: dest,
            destination: written,
            alt: &alt,
            title,
            size: Some((img.width, img.height)),
            srcset: img.srcset.as_deref(),
        };
        let html = self.image_hook(&parts, &range).unwrap_or(html);
        self.out.push(Event::InlineHtml(CowStr::from(html)));
        self.rendered.image_sources.push((img.source, img.source_sha256));
        end + 1
    }

    /// An image through the `image` hook, when the site has one.
    fn image_hook(&mut self, p: &ImageParts<'_>, range: &Range<usize>) -> Option<String> {
        if !self.input.env.shortcodes.has_hook("image") {
            return None;
        }
        let mut vars = serde_json::Map::new();
        vars.insert("url".into(), p.url.into());
        vars.insert("destination".into(), p.destination.into());
        vars.insert("alt".into(), p.alt.into());
        vars.insert("title".into(), p.title.into());
        let (w, h) = match p.size {
            Some((w, h)) => (serde_json::Value::from(w), serde_json::Value::from(h)),
            None => (serde_json::Value::Null, serde_json::Value::Null),
        };
        vars.insert("width".into(), w);
        vars.insert("height".into(), h);
        vars.insert(
            "srcset".into(),
            p.srcset.map(serde_json::Value::from).unwrap_or(serde_json::Value::Null),
        );
        self.hook("image", vars, range)
    }

    /// The HTML of the events, with shortcode outputs put back; summary, TOC and image list.
    fn finish(self) -> (Rendered, Vec<Diagnostic>) {
        let mut r = self.rendered;
        let mut html = String::with_capacity(self.expanded.markdown.len() * 3 / 2);
        pulldown_cmark::html::push_html(&mut html, self.out.into_iter());
        if !self.expanded.outputs.is_empty() {
            html = self.expanded.substitute(html);
        }
        if let Some(idx) = html.find(SUMMARY_MARKER) {
            r.summary = Some(html[..idx].to_string());
        }
        r.html = html;
        r.toc = nest_headings(self.headings);
        r.image_sources.sort();
        r.image_sources.dedup();
        (r, self.errors)
    }
}

/// What the `image` hook gets of an image.
struct ImageParts<'p> {
    /// The URL the page uses (fingerprinted, or as written).
    url: &'p str,
    /// As written in the Markdown (for a local image: the file it was found as).
    destination: &'p str,
    alt: &'p str,
    title: &'p str,
    size: Option<(u32, u32)>,
    srcset: Option<&'p str>,
}

/// The text of events (an image's alt text).
fn plain_text(events: &[(Event<'_>, Range<usize>)]) -> String {
    let mut s = String::new();
    for (e, _) in events {
        match e {
            Event::Text(t) | Event::Code(t) => s.push_str(t),
            Event::SoftBreak | Event::HardBreak => s.push(' '),
            _ => {}
        }
    }
    s
}

/// `<h2 id="…" class="…" key="value"` + `>`.
fn heading_open_tag(lvl: u32, hid: &str, classes: &[CowStr<'_>], attrs: &[(CowStr<'_>, Option<CowStr<'_>>)]) -> String {
    let mut html = format!("<h{lvl} id=\"{}\"", escape_attr(hid));
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
    html
}

/// A heading's content with its anchor link (`anchor_links`: left, right, the whole heading
/// or none).
fn push_heading_content(
    html: &mut String,
    anchor_links: AnchorLinks,
    hid: &str,
    title: &str,
    inner_html: &str,
    custom: Option<&str>,
) {
    let label = escape_attr(title);
    let hid = escape_attr(hid);
    match (anchor_links, custom) {
        (AnchorLinks::Left, Some(a)) => {
            let _ = write!(html, "{a}{inner_html}");
        }
        (AnchorLinks::Right, Some(a)) => {
            let _ = write!(html, "{inner_html}{a}");
        }
        (AnchorLinks::Left, None) => {
            let _ = write!(
                html,
                "<a class=\"anchor\" href=\"#{hid}\" aria-label=\"Anchor link for: {label}\">#</a>{inner_html}"
            );
        }
        (AnchorLinks::Right, None) => {
            let _ = write!(
                html,
                "{inner_html}<a class=\"anchor\" href=\"#{hid}\" aria-label=\"Anchor link for: {label}\">#</a>"
            );
        }
        (AnchorLinks::Heading, _) => {
            let _ = write!(html, "<a class=\"heading-link\" href=\"#{hid}\">{inner_html}</a>");
        }
        (AnchorLinks::None, _) => html.push_str(inner_html),
    }
}

/// The opening `<a>` of an external link with `target="_blank"` and/or `rel="nofollow"`.
fn external_link_open(config: &MarkdownConfig, dest: &str, title: &str) -> String {
    let mut html = format!("<a href=\"{}\"", escape_attr(dest));
    if !title.is_empty() {
        let _ = write!(html, " title=\"{}\"", escape_attr(title));
    }
    let mut rel = vec![];
    if config.external_links_target_blank {
        html.push_str(" target=\"_blank\"");
        rel.push("noopener");
    }
    if config.external_links_no_follow {
        rel.push("nofollow");
    }
    let _ = write!(html, " rel=\"{}\">", rel.join(" "));
    html
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
