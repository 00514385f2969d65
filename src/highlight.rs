//! Syntax highlighting: syntect's bundled grammars and themes, CSS classes (`hl-*`) so the
//! theme decides the colours, and a memo of parsed lines. A leaf below `config` (which checks
//! theme names against [`Highlighter::theme_names`]) and `markdown` (which highlights code
//! blocks with it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use syntect::highlighting::ThemeSet;
use syntect::html::{line_tokens_to_classed_spans, ClassStyle};
use syntect::parsing::{ParseState, ScopeStack, ScopeStackOp, SyntaxSet};
use syntect::util::LinesWithEndings;
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
