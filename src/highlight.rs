//! Syntax highlighting: the grammars and themes `bat` ships (the two-face crate packages them
//! for syntect), CSS classes (`hl-*`) so a stylesheet decides the colours (or inline styles,
//! for feeds and e-mail), and a memo of parsed lines. A leaf below `config` (which checks
//! theme names against [`Highlighter::theme_names`]) and `markdown` (which highlights code
//! blocks with it).
//!
//! The classed HTML is flat. A token's span carries only the classes some selector of the
//! site's themes (light and dark) names (`keyword.control.rust` → `hl-keyword hl-control`
//! when no theme styles the `.rust` part); of the spans around a token, those that change
//! nothing it looks like under either theme's stylesheet are left out (a `meta.function`
//! no rule colours, a `punctuation` inside a `string` of the same colour); adjacent tokens
//! with the same spans share them. Every character looks as in syntect's full nesting
//! (`flat_spans_look_the_same` below), at a third of the bytes or less.

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
    classes: Mutex<ClassTable>,
}

/// The site's themes, loaded, and the scopes their selectors name.
struct Themes {
    list: Vec<Theme>,
    /// The atoms of every compound of every selector of every theme (the paths: syntect's CSS
    /// ignores excludes): a token's scope keeps the atoms of the compounds it has.
    styled: Vec<Vec<String>>,
    /// Each theme's stylesheet as rules, to tell which spans change how a character looks.
    rules: Vec<Vec<CssRule>>,
}

/// One selector of a theme's stylesheet (as `css_for_theme_with_class_style` writes it) and
/// what it declares.
struct CssRule {
    /// Compounds from the outermost: each the atoms of its classes (`.hl-a.hl-b` → a, b).
    chain: Vec<Vec<String>>,
    /// (specificity: the number of classes, order in the stylesheet): the larger wins.
    rank: (usize, usize),
    fg: Option<Color>,
    bg: Option<Color>,
    font: FontStyle,
}

impl CssRule {
    fn of(theme: &Theme) -> Vec<CssRule> {
        let mut rules = vec![];
        for (order, item) in theme.scopes.iter().enumerate() {
            for sel in &item.scope.selectors {
                let chain: Vec<Vec<String>> = sel
                    .extract_scopes()
                    .iter()
                    .map(|s| s.build_string().split('.').map(str::to_string).collect())
                    .collect();
                let specificity = chain.iter().map(Vec::len).sum();
                rules.push(CssRule {
                    chain,
                    rank: (specificity, order),
                    fg: item.style.foreground,
                    bg: item.style.background,
                    font: item.style.font_style.unwrap_or_else(FontStyle::empty),
                });
            }
        }
        rules
    }

    /// Whether the rule applies to the innermost of `spans` (each the atoms of its classes),
    /// as a CSS engine matches descendant selectors.
    fn matches(&self, spans: &[&[String]]) -> bool {
        let has = |compound: &Vec<String>, span: &[String]| compound.iter().all(|a| span.contains(a));
        let (Some((last, rest)), Some((own, ancestors))) = (self.chain.split_last(), spans.split_last()) else {
            return false;
        };
        if !has(last, own) {
            return false;
        }
        let mut at = ancestors.len();
        rest.iter().rev().all(|compound| {
            while at > 0 {
                at -= 1;
                if has(compound, ancestors[at]) {
                    return true;
                }
            }
            false
        })
    }
}

/// How a character looks under one stylesheet: the colour and background of the innermost
/// span that sets them, and bold, italic or underline from any span around it (the
/// stylesheet only ever turns them on).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Look {
    fg: Option<Color>,
    bg: Option<Color>,
    font: u8,
}

fn look(rules: &[&CssRule], spans: &[&[String]]) -> Look {
    let mut look = Look::default();
    for depth in 0..spans.len() {
        let mut fg: Option<((usize, usize), Color)> = None;
        let mut bg: Option<((usize, usize), Color)> = None;
        for r in rules {
            if !r.matches(&spans[..=depth]) {
                continue;
            }
            if let Some(c) = r.fg {
                if fg.is_none_or(|(rank, _)| rank <= r.rank) {
                    fg = Some((r.rank, c));
                }
            }
            if let Some(c) = r.bg {
                if bg.is_none_or(|(rank, _)| rank <= r.rank) {
                    bg = Some((r.rank, c));
                }
            }
            look.font |= r.font.bits();
        }
        if let Some((_, c)) = fg {
            look.fg = Some(c);
        }
        if let Some((_, c)) = bg {
            look.bg = Some(c);
        }
    }
    look
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
            classes: Mutex::default(),
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
            let rules = list.iter().map(CssRule::of).collect();
            Themes { list, styled, rules }
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
                let mut classes = ClassSpans::new(self.themes(), &self.classes);
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

    /// `/syntax-theme.css`: the light theme, or with a dark one, each theme under its
    /// `prefers-color-scheme` (so no rule of one leaks into the other), each also colouring
    /// `pre.code` itself, since the page's own code background cannot suit both.
    pub fn stylesheet(light: &str, dark: Option<&str>) -> Option<String> {
        let Some(dark) = dark else {
            return Self::theme_css(light);
        };
        let set = theme_set();
        let scheme = |scheme: &str, name: &str| {
            let s = &set.get(name)?.settings;
            let mut css = format!("@media (prefers-color-scheme: {scheme}) {{\n");
            css.push_str(&Self::theme_css(name)?);
            css.push_str("pre.code {\n");
            if let Some(fg) = s.foreground {
                let _ = writeln!(css, " color: {};", hex(fg));
            }
            if let Some(bg) = s.background {
                let _ = writeln!(css, " background-color: {};", hex(bg));
            }
            css.push_str("}\n}\n");
            Some(css)
        };
        Some(scheme("light", light)? + &scheme("dark", dark)?)
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

/// The classes of scopes and the spans kept of each nesting, shared by every block of a
/// build (each block keeps its own copy of what it used, so it locks this rarely).
#[derive(Default)]
struct ClassTable {
    /// A scope → its classes' id, or `None` when no selector can match it.
    by_scope: HashMap<Scope, Option<u32>>,
    /// `class` attributes by id, and the atoms of each; deduplicated (two scopes cut to the
    /// same atoms share one).
    names: Vec<Arc<str>>,
    atoms: Vec<Vec<String>>,
    by_name: HashMap<String, u32>,
    /// A nesting of classes → the spans of it that change how some character looks.
    kept: HashMap<Vec<u32>, Arc<[u32]>>,
}

impl ClassTable {
    /// The classes of `scope`: the atoms of every styled compound (`.hl-a.hl-b`) whose atoms
    /// it has, in the scope's order (so exactly the same CSS compounds match it).
    fn class_of(&mut self, scope: Scope, styled: &[Vec<String>]) -> Option<u32> {
        if let Some(c) = self.by_scope.get(&scope) {
            return *c;
        }
        let full = scope.build_string();
        let atoms: Vec<&str> = full.split('.').collect();
        let mut keep = vec![false; atoms.len()];
        for compound in styled {
            if compound.iter().all(|a| atoms.contains(&a.as_str())) {
                for (k, atom) in keep.iter_mut().zip(&atoms) {
                    *k |= compound.iter().any(|a| a == atom);
                }
            }
        }
        let c = keep.iter().any(|k| *k).then(|| {
            let kept: Vec<String> = atoms
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(a, _)| a.to_string())
                .collect();
            let name = kept
                .iter()
                .map(|a| format!("{HIGHLIGHT_CLASS_PREFIX}{a}"))
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(id) = self.by_name.get(&name) {
                return *id;
            }
            let id = self.names.len() as u32;
            self.names.push(name.as_str().into());
            self.atoms.push(kept);
            self.by_name.insert(name, id);
            id
        });
        self.by_scope.insert(scope, c);
        c
    }

    /// The spans of `nesting` worth writing: from the innermost out, a span is left out when
    /// every character inside it looks the same without it under each theme's stylesheet
    /// (its colour comes from an outer span anyway, or it sets nothing).
    fn kept(&mut self, nesting: &[u32], rules: &[Vec<CssRule>]) -> Arc<[u32]> {
        if let Some(k) = self.kept.get(nesting) {
            return k.clone();
        }
        // Only rules whose last compound some span of the nesting has can match anything here.
        let relevant: Vec<Vec<&CssRule>> = rules
            .iter()
            .map(|theme| {
                theme
                    .iter()
                    .filter(|r| {
                        r.chain.last().is_some_and(|last| {
                            nesting
                                .iter()
                                .any(|&i| last.iter().all(|a| self.atoms[i as usize].contains(a)))
                        })
                    })
                    .collect()
            })
            .collect();
        let looks = |ids: &[u32]| -> Vec<Look> {
            let spans: Vec<&[String]> = ids.iter().map(|&i| self.atoms[i as usize].as_slice()).collect();
            relevant.iter().map(|r| look(r, &spans)).collect()
        };
        let target = looks(nesting);
        let mut kept = nesting.to_vec();
        for i in (0..nesting.len()).rev() {
            let mut without = kept.clone();
            without.remove(i);
            if looks(&without) == target {
                kept = without;
            }
        }
        let kept: Arc<[u32]> = kept.into();
        self.kept.insert(nesting.to_vec(), kept.clone());
        kept
    }
}

/// Classed spans of one block: which spans are open, and what it has asked the shared
/// [`ClassTable`] so far.
struct ClassSpans<'a> {
    themes: &'a Themes,
    table: &'a Mutex<ClassTable>,
    by_scope: HashMap<Scope, Option<u32>>,
    kept: HashMap<Vec<u32>, Arc<[u32]>>,
    names: HashMap<u32, Arc<str>>,
    open: Vec<u32>,
    nesting: Vec<u32>,
}

impl<'a> ClassSpans<'a> {
    fn new(themes: &'a Themes, table: &'a Mutex<ClassTable>) -> Self {
        ClassSpans {
            themes,
            table,
            by_scope: HashMap::new(),
            kept: HashMap::new(),
            names: HashMap::new(),
            open: Vec::new(),
            nesting: Vec::new(),
        }
    }

    /// The spans to write for a character in the scopes of `stack`.
    fn spans_for(&mut self, stack: &[Scope]) -> Arc<[u32]> {
        let mut nesting = std::mem::take(&mut self.nesting);
        nesting.clear();
        for s in stack {
            let c = match self.by_scope.get(s) {
                Some(c) => *c,
                None => {
                    let c = self
                        .table
                        .lock()
                        .expect("class table")
                        .class_of(*s, &self.themes.styled);
                    self.by_scope.insert(*s, c);
                    c
                }
            };
            nesting.extend(c);
        }
        let kept = match self.kept.get(&nesting) {
            Some(k) => k.clone(),
            None => {
                let mut table = self.table.lock().expect("class table");
                let k = table.kept(&nesting, &self.themes.rules);
                for id in k.iter() {
                    self.names
                        .entry(*id)
                        .or_insert_with(|| table.names[*id as usize].clone());
                }
                self.kept.insert(nesting.clone(), k.clone());
                k
            }
        };
        self.nesting = nesting;
        kept
    }

    /// Writes `text` inside the spans of `stack`, reusing the open ones it shares. Whitespace
    /// keeps whatever is open when its own spans are among them (colour does not show on it).
    fn text(&mut self, html: &mut String, stack: &[Scope], text: &str) {
        if text.is_empty() {
            return;
        }
        let want = self.spans_for(stack);
        let blank = text.chars().all(char::is_whitespace);
        if !(blank && self.open.starts_with(&want)) {
            let common = self.open.iter().zip(want.iter()).take_while(|(a, b)| a == b).count();
            for _ in common..self.open.len() {
                html.push_str("</span>");
            }
            self.open.truncate(common);
            for &c in &want[common..] {
                html.push_str("<span class=\"");
                html.push_str(&self.names[&c]);
                html.push_str("\">");
                self.open.push(c);
            }
        }
        push_escaped(html, text);
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
        if !(same || blank && style.background == self.plain.background) {
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

    /// Which rules of a theme's CSS match an element nested in spans with these classes, each
    /// with its specificity: a selector is a chain of compounds (`.hl-a.hl-b .hl-c`), matched
    /// as a CSS engine does (the last on the element itself, the others on ancestors in order).
    fn css_matches(theme: &Theme, spans: &[Vec<String>]) -> Vec<(usize, usize)> {
        let compound = |scope: &Scope, classes: &Vec<String>| {
            scope
                .build_string()
                .split('.')
                .all(|a| classes.iter().any(|c| c == &format!("{HIGHLIGHT_CLASS_PREFIX}{a}")))
        };
        let mut hits = vec![];
        for (i, item) in theme.scopes.iter().enumerate() {
            let mut best = None;
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
                    let specificity: usize = chain.iter().map(|s| s.len() as usize).sum();
                    best = best.max(Some(specificity));
                }
            }
            if let Some(sp) = best {
                hits.push((i, sp));
            }
        }
        hits
    }

    /// What a browser shows for a character inside `spans` with a theme's stylesheet:
    /// colour and background of the innermost span whose rules set one (the highest
    /// specificity, then the last rule), and the font styles any span's rules turn on.
    fn computed(theme: &Theme, spans: &[Vec<String>]) -> (Option<Color>, Option<Color>, FontStyle) {
        let (mut fg, mut bg, mut font) = (None, None, FontStyle::empty());
        for depth in 0..spans.len() {
            let mut hits = css_matches(theme, &spans[..=depth]);
            hits.sort_by_key(|(i, sp)| (*sp, *i));
            for (i, _) in hits {
                let style = &theme.scopes[i].style;
                fg = style.foreground.or(fg);
                bg = style.background.or(bg);
                font |= style.font_style.unwrap_or_else(FontStyle::empty);
            }
        }
        (fg, bg, font)
    }

    /// Every character of the flat HTML looks as in syntect's fully nested spans, under each
    /// theme's stylesheet (light and dark).
    #[test]
    fn flat_spans_look_the_same() {
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
                        computed(theme, &full[i]),
                        computed(theme, &flat[i]),
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
