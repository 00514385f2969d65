//! Syntax highlighting: the grammars and themes `bat` ships (the two-face crate packages them
//! for syntect), CSS classes (`hl-*`) so a stylesheet decides the colours (or inline styles,
//! for feeds and e-mail), and a memo of parsed lines. A leaf below `config` (which checks
//! theme names against [`Highlighter::theme_names`]) and `markdown` (which highlights code
//! blocks with it).
//!
//! The classed HTML is flat: a token's span carries only the classes some selector of the
//! site's themes (light and dark) refers to (`keyword.control.rust` → `hl-keyword
//! hl-control` when no theme styles the `.rust` part), scopes no selector matches get no
//! span at all, and adjacent tokens with the same spans share them. What the stylesheet colours is the same as for syntect's full
//! nesting (`flat_spans_match_the_same_css` below), at about a third of the bytes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use syntect::highlighting::{
    Color, FontStyle, HighlightIterator, HighlightState, Highlighter as ThemeHighlighter, Style, Theme,
};
use syntect::html::ClassStyle;
use syntect::parsing::{ParseState, Scope, ScopeStack, ScopeStackOp, SyntaxSet};
use syntect::util::LinesWithEndings;
use two_face::theme::LazyThemeSet;

/// Prefix of the CSS classes of highlighted code (`hl-keyword`).
pub const HIGHLIGHT_CLASS_PREFIX: &str = "hl-";

/// Classes for a stylesheet, or the light theme's colours inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Classes,
    Inline,
}

/// Syntax highlighting with bat's grammars, loaded on first use (a site without code blocks
/// never pays for it), for the site's themes (the first is the light one).
///
/// Parsing is memoised per line: a line parsed in a given parser state always yields the same
/// scope operations and the same next state, so documentation that repeats lines (imports,
/// closing braces, boilerplate shared by many examples) parses each (line, state) once per
/// build. The output is the same as without the memo (`memo_matches_syntect` below).
pub struct Highlighter {
    syntaxes: OnceLock<SyntaxSet>,
    memo: LineMemo,
    theme_names: Vec<String>,
    themes: OnceLock<Themes>,
}

/// The site's themes, loaded, and the scopes their selectors name.
struct Themes {
    list: Vec<Theme>,
    /// The atoms of every compound of every selector of every theme (the paths: syntect's CSS
    /// ignores excludes): a token's scope keeps the atoms of the compounds it has.
    styled: Vec<Vec<String>>,
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

/// bat's themes (syntect's seven among them, under the same names).
fn theme_set() -> LazyThemeSet {
    LazyThemeSet::from(two_face::theme::extra())
}

impl Highlighter {
    /// A highlighter for `themes` (light first, then dark): the classes it writes are the
    /// scopes their selectors name. Unknown names are skipped (config validation names them).
    pub fn new(themes: &[&str]) -> Self {
        Highlighter {
            syntaxes: OnceLock::new(),
            memo: LineMemo::default(),
            theme_names: themes.iter().map(|t| t.to_string()).collect(),
            themes: OnceLock::new(),
        }
    }

    fn syntaxes(&self) -> &SyntaxSet {
        self.syntaxes.get_or_init(two_face::syntax::extra_newlines)
    }

    fn themes(&self) -> &Themes {
        self.themes.get_or_init(|| {
            let set = theme_set();
            let list: Vec<Theme> = self.theme_names.iter().filter_map(|n| set.get(n).cloned()).collect();
            let mut styled: Vec<Vec<String>> = list
                .iter()
                .flat_map(|t| &t.scopes)
                .flat_map(|item| &item.scope.selectors)
                .flat_map(|sel| sel.extract_scopes())
                .map(|s| s.build_string().split('.').map(str::to_string).collect())
                .collect();
            styled.sort();
            styled.dedup();
            Themes { list, styled }
        })
    }

    /// Whether a grammar knows `lang` (a name, alias or file extension).
    pub fn knows(&self, lang: &str) -> bool {
        self.syntaxes().find_syntax_by_token(lang).is_some()
    }

    /// Highlighted HTML for `code`, or `None` for an unknown language: one balanced fragment
    /// per line (each with its newline) when `per_line`, else one for the whole block.
    pub fn highlight(&self, lang: &str, code: &str, output: Output, per_line: bool) -> Option<Vec<String>> {
        let ss = self.syntaxes();
        let syntax = ss.find_syntax_by_token(lang)?;
        let mut state = ParseState::new(syntax);
        let mut out = Fragments::new(per_line, code.len());
        match output {
            Output::Classes => {
                let themes = self.themes();
                let mut classes = ClassSpans::new(&themes.styled);
                let mut stack = ScopeStack::new();
                for line in LinesWithEndings::from(code) {
                    let ops = self.memo.parse(&mut state, line, ss)?;
                    let mut pos = 0;
                    for (at, op) in ops.iter() {
                        if *at > pos {
                            classes.text(&mut out.html, stack.as_slice(), &line[pos..*at]);
                            pos = *at;
                        }
                        stack.apply(op).ok()?;
                    }
                    classes.text(&mut out.html, stack.as_slice(), &line[pos..]);
                    if per_line {
                        classes.close_all(&mut out.html);
                    }
                    out.end_line();
                }
                classes.close_all(&mut out.html);
            }
            Output::Inline => {
                let theme = self.themes().list.first()?;
                let hl = ThemeHighlighter::new(theme);
                let mut hs = HighlightState::new(&hl, ScopeStack::new());
                let mut spans = InlineSpans::new(theme);
                for line in LinesWithEndings::from(code) {
                    let ops = self.memo.parse(&mut state, line, ss)?;
                    for (style, text) in HighlightIterator::new(&mut hs, &ops, line, &hl) {
                        spans.text(&mut out.html, style, text);
                    }
                    if per_line {
                        spans.close(&mut out.html);
                    }
                    out.end_line();
                }
                spans.close(&mut out.html);
            }
        }
        Some(out.finish())
    }

    /// The `style` of a `<pre>` of inline-styled code: the light theme's colours.
    pub fn inline_pre_style(&self) -> Option<String> {
        let s = &self.themes().list.first()?.settings;
        let mut css = String::new();
        if let Some(bg) = s.background {
            let _ = write!(css, "background-color:{};", hex(bg));
        }
        if let Some(fg) = s.foreground {
            let _ = write!(css, "color:{};", hex(fg));
        }
        Some(css.trim_end_matches(';').to_string())
    }

    /// The CSS for one of the bundled themes, for the class names above.
    pub fn theme_css(name: &str) -> Option<String> {
        let set = theme_set();
        let theme = set.get(name)?;
        syntect::html::css_for_theme_with_class_style(
            theme,
            ClassStyle::SpacedPrefixed {
                prefix: HIGHLIGHT_CLASS_PREFIX,
            },
        )
        .ok()
    }

    /// `/syntax-theme.css`: the light theme, and with a dark one, the dark theme under
    /// `@media (prefers-color-scheme: dark)`; each also colours `pre.code` itself, since the
    /// page's own code background cannot suit both.
    pub fn stylesheet(light: &str, dark: Option<&str>) -> Option<String> {
        let light_css = Self::theme_css(light)?;
        let Some(dark) = dark else {
            return Some(light_css);
        };
        let set = theme_set();
        let dark_css = Self::theme_css(dark)?;
        let pre = |name: &str| {
            let s = &set.get(name)?.settings;
            let mut css = String::from("pre.code {\n");
            if let Some(fg) = s.foreground {
                let _ = writeln!(css, " color: {};", hex(fg));
            }
            if let Some(bg) = s.background {
                let _ = writeln!(css, " background-color: {};", hex(bg));
            }
            css.push_str("}\n");
            Some(css)
        };
        let mut css = light_css;
        css.push_str(&pre(light)?);
        css.push_str("\n@media (prefers-color-scheme: dark) {\n");
        css.push_str(&dark_css);
        css.push_str(&pre(dark)?);
        css.push_str("}\n");
        Some(css)
    }

    pub fn theme_names() -> Vec<String> {
        theme_set().theme_names().map(str::to_string).collect()
    }
}

fn hex(c: Color) -> String {
    format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b)
}

/// Highlighted HTML being written, whole or line by line.
struct Fragments {
    per_line: bool,
    html: String,
    lines: Vec<String>,
}

impl Fragments {
    fn new(per_line: bool, len: usize) -> Self {
        Fragments {
            per_line,
            html: String::with_capacity(if per_line { 64 } else { len * 3 }),
            lines: Vec::new(),
        }
    }

    fn end_line(&mut self) {
        if self.per_line {
            self.lines.push(std::mem::take(&mut self.html));
        }
    }

    fn finish(mut self) -> Vec<String> {
        if !self.per_line {
            self.lines.push(self.html);
        }
        self.lines
    }
}

/// Writes `text` escaped.
fn push_escaped(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            _ => html.push(c),
        }
    }
}

/// Classed spans of one block: which spans are open, and each scope's classes (cached).
struct ClassSpans<'a> {
    styled: &'a [Vec<String>],
    /// A scope → the index of its classes in `names`, or `None` when no selector names it.
    by_scope: HashMap<Scope, Option<usize>>,
    /// `class` attributes, deduplicated (two scopes cut to the same atoms share one).
    names: Vec<String>,
    by_name: HashMap<String, usize>,
    open: Vec<usize>,
    want: Vec<usize>,
}

impl<'a> ClassSpans<'a> {
    fn new(styled: &'a [Vec<String>]) -> Self {
        ClassSpans {
            styled,
            by_scope: HashMap::new(),
            names: Vec::new(),
            by_name: HashMap::new(),
            open: Vec::new(),
            want: Vec::new(),
        }
    }

    /// The classes of `scope`: the atoms of every styled compound (`.hl-a.hl-b`) whose atoms
    /// it has, in the scope's order (so exactly the same CSS compounds match it).
    fn class_of(&mut self, scope: Scope) -> Option<usize> {
        if let Some(c) = self.by_scope.get(&scope) {
            return *c;
        }
        let full = scope.build_string();
        let atoms: Vec<&str> = full.split('.').collect();
        let mut keep = vec![false; atoms.len()];
        for styled in self.styled {
            if styled.iter().all(|a| atoms.contains(&a.as_str())) {
                for (k, atom) in keep.iter_mut().zip(&atoms) {
                    *k |= styled.iter().any(|a| a == atom);
                }
            }
        }
        let c = keep.iter().any(|k| *k).then(|| {
            let mut name = String::new();
            for (atom, _) in atoms.iter().zip(&keep).filter(|(_, k)| **k) {
                if !name.is_empty() {
                    name.push(' ');
                }
                name.push_str(HIGHLIGHT_CLASS_PREFIX);
                name.push_str(atom);
            }
            let next = self.names.len();
            let idx = *self.by_name.entry(name.clone()).or_insert(next);
            if idx == next {
                self.names.push(name);
            }
            idx
        });
        self.by_scope.insert(scope, c);
        c
    }

    /// Writes `text` inside the spans of `stack`, reusing the open ones it shares. Whitespace
    /// keeps whatever is open when its own spans are among them (colour does not show on it).
    fn text(&mut self, html: &mut String, stack: &[Scope], text: &str) {
        if text.is_empty() {
            return;
        }
        let mut want = std::mem::take(&mut self.want);
        want.clear();
        for s in stack {
            if let Some(c) = self.class_of(*s) {
                want.push(c);
            }
        }
        let blank = text.chars().all(char::is_whitespace);
        if !(blank && self.open.starts_with(&want)) {
            let common = self.open.iter().zip(&want).take_while(|(a, b)| a == b).count();
            for _ in common..self.open.len() {
                html.push_str("</span>");
            }
            self.open.truncate(common);
            for &c in &want[common..] {
                html.push_str("<span class=\"");
                html.push_str(&self.names[c]);
                html.push_str("\">");
                self.open.push(c);
            }
        }
        push_escaped(html, text);
        self.want = want;
    }

    fn close_all(&mut self, html: &mut String) {
        for _ in 0..self.open.len() {
            html.push_str("</span>");
        }
        self.open.clear();
    }
}

/// Inline-styled spans of one block: tokens of the same style share a span, tokens in the
/// theme's plain style get none.
struct InlineSpans {
    plain: Style,
    open: Option<Style>,
}

impl InlineSpans {
    fn new(theme: &Theme) -> Self {
        let s = &theme.settings;
        InlineSpans {
            plain: Style {
                foreground: s.foreground.unwrap_or(Color::BLACK),
                background: s.background.unwrap_or(Color::WHITE),
                font_style: FontStyle::empty(),
            },
            open: None,
        }
    }

    fn text(&mut self, html: &mut String, style: Style, text: &str) {
        if text.is_empty() {
            return;
        }
        let blank = text.chars().all(char::is_whitespace);
        let same = self.open.map(|o| o == style).unwrap_or(style == self.plain);
        if !same && !(blank && style.background == self.plain.background) {
            self.close(html);
            if style != self.plain {
                html.push_str("<span style=\"");
                let mut css = Vec::new();
                if style.foreground != self.plain.foreground {
                    css.push(format!("color:{}", hex(style.foreground)));
                }
                if style.background != self.plain.background {
                    css.push(format!("background-color:{}", hex(style.background)));
                }
                if style.font_style.contains(FontStyle::BOLD) {
                    css.push("font-weight:bold".into());
                }
                if style.font_style.contains(FontStyle::ITALIC) {
                    css.push("font-style:italic".into());
                }
                if style.font_style.contains(FontStyle::UNDERLINE) {
                    css.push("text-decoration:underline".into());
                }
                html.push_str(&css.join(";"));
                html.push_str("\">");
                self.open = Some(style);
            }
        }
        push_escaped(html, text);
    }

    fn close(&mut self, html: &mut String) {
        if self.open.take().is_some() {
            html.push_str("</span>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: &[(&str, &str)] = &[
        ("rust", "fn main() {\n    let s = \"a\n}\n\";\n    /* x\n}\n */\n}\n"),
        ("rust", "fn main() {\n}\n"),
        (
            "python",
            "def f():\n    \"\"\"doc\n    return 1\n    \"\"\"\n    return 1\n",
        ),
        ("js", "const a = `x\n}\n`;\n}\n"),
        ("yaml", "a: |\n  b: c\nb: c\n"),
        ("html", "<script>\nvar a = 1;\n</script>\nvar a = 1;\n"),
        ("toml", "[a]\nb = \"c\" # d\n"),
        ("ts", "const x: number = 1;\n"),
    ];

    /// The memo gives exactly the scope operations syntect's parser gives, also for lines seen
    /// before in other parser states (inside a string, a comment, a docstring).
    #[test]
    fn memo_matches_syntect() {
        let h = Highlighter::new(&["InspiredGitHub"]);
        let ss = h.syntaxes();
        for round in 0..2 {
            for (lang, code) in SAMPLES {
                let syntax = ss.find_syntax_by_token(lang).unwrap();
                let mut direct = ParseState::new(syntax);
                let mut memo = ParseState::new(syntax);
                for line in LinesWithEndings::from(code) {
                    let want = direct.parse_line(line, ss).unwrap();
                    let got = h.memo.parse(&mut memo, line, ss).unwrap();
                    assert_eq!(&got[..], &want[..], "{lang} round {round}: {line:?}");
                }
            }
        }
        assert!(h.memo.entries.load(Ordering::Relaxed) > 0);
    }

    /// Which selectors of a theme's CSS match an element nested in spans with these classes:
    /// a selector is a chain of compounds (`.hl-a.hl-b .hl-c`), matched as a CSS engine does
    /// (the last on the element itself, the others on ancestors in order).
    fn css_matches(theme: &Theme, spans: &[Vec<String>]) -> Vec<usize> {
        let compound = |scope: &Scope, classes: &Vec<String>| {
            scope
                .build_string()
                .split('.')
                .all(|a| classes.iter().any(|c| c == &format!("{HIGHLIGHT_CLASS_PREFIX}{a}")))
        };
        let mut hits = vec![];
        for (i, item) in theme.scopes.iter().enumerate() {
            for sel in &item.scope.selectors {
                let chain = sel.extract_scopes();
                let Some((last, rest)) = chain.split_last() else {
                    continue;
                };
                let Some((own, ancestors)) = spans.split_last() else {
                    continue;
                };
                if !compound(last, own) {
                    continue;
                }
                let mut at = ancestors.len();
                let ok = rest.iter().rev().all(|s| {
                    while at > 0 {
                        at -= 1;
                        if compound(s, &ancestors[at]) {
                            return true;
                        }
                    }
                    false
                });
                if ok {
                    hits.push(i);
                }
            }
        }
        hits.sort();
        hits.dedup();
        hits
    }

    /// Every character of the flat HTML is styled by the same rules of the stylesheet as in
    /// syntect's fully nested spans (for each theme of the highlighter, light and dark).
    #[test]
    fn flat_spans_match_the_same_css() {
        let h = Highlighter::new(&["InspiredGitHub", "Monokai Extended"]);
        let ss = h.syntaxes();
        for (lang, code) in SAMPLES {
            let syntax = ss.find_syntax_by_token(lang).unwrap();
            let mut state = ParseState::new(syntax);
            let mut stack = ScopeStack::new();
            // (full nesting, flat nesting) of every character, in order.
            let mut full: Vec<Vec<Vec<String>>> = vec![];
            for line in LinesWithEndings::from(code) {
                let ops = state.parse_line(line, ss).unwrap();
                let mut pos = 0;
                let mut push = |stack: &ScopeStack, text: &str| {
                    for _ in text.chars() {
                        full.push(
                            stack
                                .as_slice()
                                .iter()
                                .map(|s| {
                                    s.build_string()
                                        .split('.')
                                        .map(|a| format!("{HIGHLIGHT_CLASS_PREFIX}{a}"))
                                        .collect()
                                })
                                .collect(),
                        );
                    }
                };
                for (at, op) in &ops {
                    push(&stack, &line[pos..*at]);
                    pos = *at;
                    stack.apply(op).unwrap();
                }
                push(&stack, &line[pos..]);
            }
            let html = h.highlight(lang, code, Output::Classes, false).unwrap().concat();
            let flat = nesting_of_chars(&html);
            let chars: Vec<char> = code.chars().collect();
            assert_eq!(flat.len(), chars.len(), "{lang}: {html}");
            for theme in &h.themes().list {
                for (i, c) in chars.iter().enumerate() {
                    if c.is_whitespace() {
                        continue;
                    }
                    assert_eq!(
                        css_matches(theme, &full[i]),
                        css_matches(theme, &flat[i]),
                        "{lang}: char {i} {c:?}: {:?} vs {:?}\n{html}",
                        full[i],
                        flat[i]
                    );
                }
            }
        }
    }

    /// The classes of the spans around each character of highlighted HTML.
    fn nesting_of_chars(html: &str) -> Vec<Vec<Vec<String>>> {
        let mut out = vec![];
        let mut stack: Vec<Vec<String>> = vec![];
        let mut rest = html;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("<span class=\"") {
                let end = r.find("\">").unwrap();
                stack.push(r[..end].split(' ').map(str::to_string).collect());
                rest = &r[end + 2..];
            } else if let Some(r) = rest.strip_prefix("</span>") {
                stack.pop().unwrap();
                rest = r;
            } else if rest.starts_with('&') {
                let end = rest.find(';').unwrap();
                out.push(stack.clone());
                rest = &rest[end + 1..];
            } else {
                let c = rest.chars().next().unwrap();
                out.push(stack.clone());
                rest = &rest[c.len_utf8()..];
            }
        }
        assert!(stack.is_empty(), "unbalanced: {html}");
        out
    }

    /// Line by line, each fragment is balanced, and inline styles colour what classes do.
    #[test]
    fn per_line_and_inline() {
        let h = Highlighter::new(&["InspiredGitHub"]);
        let code = "/* a\nb */\nfn x() {}\n";
        let lines = h.highlight("rust", code, Output::Classes, true).unwrap();
        assert_eq!(lines.len(), 3);
        for l in &lines {
            assert_eq!(l.matches("<span").count(), l.matches("</span>").count(), "{l}");
        }
        let inline = h.highlight("rust", code, Output::Inline, false).unwrap().concat();
        assert!(inline.contains("<span style=\"color:#"), "{inline}");
        assert!(!inline.contains("class="), "{inline}");
        assert!(h.highlight("nosuchlang", code, Output::Classes, false).is_none());
        for lang in ["toml", "ts", "scss", "dockerfile", "hcl", "powershell", "tsx", "nix"] {
            assert!(h.knows(lang), "{lang}");
        }
    }
}
