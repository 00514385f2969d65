//! Render hooks: a site's (or theme's) `templates/hooks/NAME.html` replaces sitegen's HTML for
//! one kind of Markdown element (`heading`, `image`, `blockquote`, `codeblock` and
//! `codeblock-LANG`), getting the element's parts as variables. The Markdown stage asks for
//! them through [`super::Shortcodes::hook`], which the template stage implements, so this
//! module only gathers the parts.

use pulldown_cmark::{BlockQuoteKind, CowStr, Event, LinkType};
use serde_json::{Map, Value};

use super::Renderer;

impl<'a> Renderer<'a> {
    /// Renders the hook `name` with `vars` (plus `lang` and `page_dir`), or `None` when the
    /// site has no such hook; a failing hook is an error at `range`.
    pub(super) fn hook(
        &mut self,
        name: &str,
        mut vars: Map<String, Value>,
        range: &std::ops::Range<usize>,
    ) -> Option<String> {
        // `lang` is the page's language, except in code-block hooks (the code's); `page_lang`
        // is always the page's.
        vars.entry("lang").or_insert_with(|| self.input.lang.into());
        vars.insert("page_lang".into(), self.input.lang.into());
        vars.insert("page_dir".into(), self.input.page_dir.into());
        match self.input.env.shortcodes.hook(name, &vars, self.input.key)? {
            Ok(html) => Some(html),
            Err(e) => {
                self.error(range, format!("render hook `templates/hooks/{name}.html`: {e}"));
                None
            }
        }
    }

    /// A blockquote (the events from `i` to its end) through the `blockquote` hook, when the
    /// site has one: `html` (the rendered inside), `text`, and `kind` (`note`, `tip`,
    /// `important`, `warning`, `caution` for a GitHub alert, else none). `None`: no hook.
    pub(super) fn blockquote_hook(&mut self, i: usize, kind: Option<BlockQuoteKind>) -> Option<usize> {
        if !self.input.env.shortcodes.has_hook("blockquote") {
            return None;
        }
        let end = super::find_end(self.events, i);
        let range = self.events[i].1.clone();
        // The inside goes through the renderer as usual (links, images, code, nested quotes).
        let start = self.out.len();
        let mut j = i + 1;
        while j < end {
            j = self.event(j);
        }
        let inner: Vec<Event<'a>> = self.out.drain(start..).collect();
        let text: String = inner
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                Event::SoftBreak | Event::HardBreak => Some(" "),
                _ => None,
            })
            .collect();
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, inner.into_iter());
        let kind = kind.map(|k| {
            match k {
                BlockQuoteKind::Note => "note",
                BlockQuoteKind::Tip => "tip",
                BlockQuoteKind::Important => "important",
                BlockQuoteKind::Warning => "warning",
                BlockQuoteKind::Caution => "caution",
            }
            .to_string()
        });
        let mut vars = Map::new();
        vars.insert("html".into(), html.into());
        vars.insert("text".into(), text.trim().into());
        vars.insert("kind".into(), kind.map(Value::from).unwrap_or(Value::Null));
        match self.hook("blockquote", vars, &range) {
            Some(out) => self.out.push(Event::Html(CowStr::from(ensure_newline(out)))),
            None => self.out.push(Event::Html(CowStr::from(String::new()))),
        }
        Some(end + 1)
    }
}

impl<'a> Renderer<'a> {
    /// A code block through `codeblock-LANG.html` (first) or `codeblock.html`, when the site
    /// has one: `lang`, `info` (the info string as written), `attrs` (the options sitegen
    /// does not use itself), `code` (the text) and `html` (sitegen's rendering).
    pub(super) fn codeblock_hook(
        &mut self,
        i: usize,
        info: &super::code::CodeInfo,
        raw_info: &str,
        code: &str,
        html: &str,
    ) -> Option<String> {
        let shortcodes = self.input.env.shortcodes;
        let by_lang = format!("codeblock-{}", info.lang);
        let name = if !info.lang.is_empty() && shortcodes.has_hook(&by_lang) {
            by_lang
        } else if shortcodes.has_hook("codeblock") {
            "codeblock".to_string()
        } else {
            return None;
        };
        let mut vars = Map::new();
        vars.insert("lang".into(), info.lang.clone().into());
        vars.insert("info".into(), raw_info.into());
        let attrs: Map<String, Value> = info
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), v.trim_matches('"').to_string().into()))
            .collect();
        vars.insert("attrs".into(), attrs.into());
        vars.insert("code".into(), code.into());
        vars.insert("html".into(), html.into());
        let range = self.events[i].1.clone();
        self.hook(&name, vars, &range)
    }

    /// A link (the events from `i` to its end) through the `link` hook, when the site has
    /// one: `url` (what the page links to: `@/` and `.md` links resolved, assets
    /// fingerprinted), `destination` (as written), `title`, `text`, `html` (the rendered
    /// inside) and `default` (sitegen's HTML). `None`: no hook.
    pub(super) fn link_hook(
        &mut self,
        i: usize,
        (link_type, dest_url, title, id): (LinkType, &CowStr<'a>, &CowStr<'a>, &CowStr<'a>),
    ) -> Option<usize> {
        if !self.input.env.shortcodes.has_hook("link") {
            return None;
        }
        let end = super::find_end(self.events, i);
        let range = self.events[i].1.clone();
        let start = self.out.len();
        let url = self.link_start(&range, link_type, dest_url, title, id);
        let inner_start = self.out.len();
        let mut j = i + 1;
        while j < end {
            j = self.event(j);
        }
        let inner: Vec<Event<'a>> = self.out[inner_start..].to_vec();
        self.link_end(&self.events[end].0.clone());
        let all: Vec<Event<'a>> = self.out.drain(start..).collect();
        let text: String = inner
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect();
        let (mut html, mut default) = (String::new(), String::new());
        pulldown_cmark::html::push_html(&mut html, inner.into_iter());
        pulldown_cmark::html::push_html(&mut default, all.into_iter());
        let mut vars = Map::new();
        vars.insert("url".into(), url.into());
        vars.insert("destination".into(), dest_url.to_string().into());
        vars.insert("title".into(), title.to_string().into());
        vars.insert("text".into(), text.into());
        vars.insert("html".into(), html.into());
        vars.insert("default".into(), default.clone().into());
        let out = self.hook("link", vars, &range).unwrap_or(default);
        self.out.push(Event::InlineHtml(CowStr::from(out)));
        Some(end + 1)
    }
}

/// Block HTML from a hook ends with a newline, so the Markdown after it starts a new block.
pub(super) fn ensure_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}
