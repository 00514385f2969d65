//! TeX math → MathML at build time, so a page shows its formulas with no JavaScript (every
//! current browser renders MathML Core). `$…$` and `$$…$$` come from pulldown-cmark's math
//! extension, fenced ` ```math ` blocks from the code-block events; math-core converts each
//! expression. A malformed expression is an error at the exact place in the file where it
//! goes wrong (math-core reports a byte range inside the expression). Runs as a pass over the
//! parsed events, before the [`super::Renderer`] sees them, only when `[markdown] math` is on.

use std::ops::Range;

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};
use pulldown_cmark::{CodeBlockKind, CowStr, Event, Tag, TagEnd};

type Events<'a> = Vec<(Event<'a>, Range<usize>)>;

/// Whether a fenced block's info string names math (` ```math `).
fn is_math_block(kind: &CodeBlockKind<'_>) -> bool {
    matches!(kind, CodeBlockKind::Fenced(info)
        if info.split(|c: char| c == ',' || c.is_whitespace()).next() == Some("math"))
}

/// Replaces every math event (and every fenced `math` block) in `events`, parsed from `md`,
/// with its MathML. `error` gets the offset in `md` where an expression goes wrong and the
/// message; the event is then left as pulldown-cmark renders it.
pub(super) fn render_math<'a>(events: Events<'a>, md: &str, error: &mut dyn FnMut(usize, String)) -> Events<'a> {
    let has_math = events.iter().any(|(e, _)| match e {
        Event::InlineMath(_) | Event::DisplayMath(_) => true,
        Event::Start(Tag::CodeBlock(kind)) => is_math_block(kind),
        _ => false,
    });
    if !has_math {
        return events;
    }
    let converter = match LatexToMathML::new(MathCoreConfig::default()) {
        Ok(c) => c,
        Err((e, _, _)) => {
            error(0, format!("math cannot be set up: {}", e.error_message()));
            return events;
        }
    };
    let mut out = Vec::with_capacity(events.len());
    let mut iter = events.into_iter();
    while let Some((ev, range)) = iter.next() {
        match ev {
            Event::InlineMath(ref tex) | Event::DisplayMath(ref tex) => {
                let display = if matches!(ev, Event::DisplayMath(_)) {
                    MathDisplay::Block
                } else {
                    MathDisplay::Inline
                };
                let start = content_start(md, &range, tex);
                match converter.convert_with_local_state(tex, display) {
                    Ok(r) => out.push((Event::InlineHtml(CowStr::from(r.mathml)), range)),
                    Err(e) => {
                        error(start + e.0.start.min(tex.len()), message(&e));
                        out.push((ev, range));
                    }
                }
            }
            Event::Start(Tag::CodeBlock(ref kind)) if is_math_block(kind) => {
                // The block's text, and where each piece of it is in `md`.
                let mut tex = String::new();
                let mut pieces: Vec<(usize, usize)> = Vec::new();
                let mut end_range = range.clone();
                for (e, r) in iter.by_ref() {
                    match e {
                        Event::Text(t) => {
                            let at = if md.get(r.clone()) == Some(&*t) {
                                r.start
                            } else {
                                range.start
                            };
                            pieces.push((tex.len(), at));
                            tex.push_str(&t);
                        }
                        Event::End(TagEnd::CodeBlock) => {
                            end_range = r;
                            break;
                        }
                        _ => {}
                    }
                }
                let whole = range.start..end_range.end;
                match converter.convert_with_local_state(tex.trim_end(), MathDisplay::Block) {
                    Ok(r) => out.push((Event::Html(CowStr::from(format!("{}\n", r.mathml))), whole)),
                    Err(e) => {
                        let idx = pieces.partition_point(|&(o, _)| o <= e.0.start);
                        let at = match idx.checked_sub(1).map(|i| pieces[i]) {
                            Some((o, at)) => at + (e.0.start - o),
                            None => range.start,
                        };
                        error(at, message(&e));
                        let code = super::escape_html(&tex);
                        out.push((
                            Event::Html(CowStr::from(format!("<pre class=\"code\"><code>{code}</code></pre>\n"))),
                            whole,
                        ));
                    }
                }
            }
            _ => out.push((ev, range)),
        }
    }
    out
}

/// Where the expression's own text starts in `md`: past the `$` or `$$` of `range`, when the
/// source holds the expression as written there (else at the math's start).
fn content_start(md: &str, range: &Range<usize>, tex: &str) -> usize {
    let src = md.get(range.clone()).unwrap_or("");
    let fence = src.len() - src.trim_start_matches('$').len();
    match src.get(fence..src.len().saturating_sub(fence)) {
        Some(inner) if inner == tex => range.start + fence,
        _ => range.start,
    }
}

fn message(e: &math_core::LatexError) -> String {
    format!("invalid math: {}", e.error_message())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulldown_cmark::{Options, Parser};

    fn run(md: &str) -> (String, Vec<(usize, String)>) {
        let events: Events<'_> = Parser::new_ext(md, Options::ENABLE_MATH).into_offset_iter().collect();
        let mut errors = Vec::new();
        let events = render_math(events, md, &mut |at, msg| errors.push((at, msg)));
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, events.into_iter().map(|(e, _)| e));
        (html, errors)
    }

    #[test]
    fn inline_display_and_fenced_math_become_mathml() {
        let (html, errors) = run("a $x^2$ b\n\n$$\\frac{1}{2}$$\n\n```math\n\\sqrt{y}\n```\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            html,
            "<p>a <math><msup><mi>x</mi><mn>2</mn></msup></math> b</p>\n<p><math display=\"block\"><mfrac><mn>1</mn><mn>2</mn></mfrac></math></p>\n<math display=\"block\"><msqrt><mi>y</mi></msqrt></math>\n"
        );
    }

    /// pulldown-cmark's rule: a `$` followed or preceded by a space does not open or close math.
    #[test]
    fn dollars_in_prose_stay_text() {
        let (html, errors) = run("It costs $5 or $10, and $ 3 $.\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(html, "<p>It costs $5 or $10, and $ 3 $.</p>\n");
    }

    #[test]
    fn errors_point_into_the_expression() {
        let md = "ok $\\frac{1}$ and\n\n```math\na\n\\foo{b}\n```\n";
        let (_, errors) = run(md);
        let at: Vec<(&str, &str)> = errors.iter().map(|(o, m)| (&md[*o..], m.as_str())).collect();
        assert_eq!(at.len(), 2, "{errors:?}");
        assert!(at[0].0.starts_with("$ and"), "{at:?}");
        assert_eq!(at[0].1, "invalid math: Expected argument but reached end of input.");
        assert!(at[1].0.starts_with("\\foo{b}"), "{at:?}");
        assert_eq!(at[1].1, "invalid math: Unknown command \"\\foo\".");
    }
}
