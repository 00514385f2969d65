//! Render hooks: a site's (or theme's) `templates/hooks/NAME.html` replaces sitegen's HTML for
//! one kind of Markdown element (`heading`, `image`, `blockquote`, `codeblock` and
//! `codeblock-LANG`), getting the element's parts as variables. The Markdown stage asks for
//! them through [`super::Shortcodes::hook`], which the template stage implements, so this
//! module only gathers the parts.

use pulldown_cmark::{BlockQuoteKind, CowStr, Event};
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
        vars.insert("lang".into(), self.input.lang.into());
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

/// Block HTML from a hook ends with a newline, so the Markdown after it starts a new block.
pub(super) fn ensure_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}
