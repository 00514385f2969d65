//! GitHub's emoji aliases (`:smile:` → 😄, the gemoji names of the `emojis` crate) in text,
//! when `[markdown] emoji` is on. A pass over the parsed events before the
//! [`super::Renderer`] sees them: adjacent text events are joined first (pulldown-cmark
//! splits text where a delimiter might have been, and `:smile_cat:` must be seen whole), and
//! code (inline or blocks) is left as written. A name that is no alias stays text.

use std::ops::Range;

use pulldown_cmark::{CowStr, Event, Tag, TagEnd};

type Events<'a> = Vec<(Event<'a>, Range<usize>)>;

/// `events` with every alias in text replaced by its emoji.
pub(super) fn replace_aliases(events: Events<'_>) -> Events<'_> {
    let mut out: Events<'_> = Vec::with_capacity(events.len());
    let mut in_code = false;
    for (ev, range) in events {
        match ev {
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(t) if !in_code => {
                if let Some((Event::Text(prev), prev_range)) = out.last_mut() {
                    *prev = CowStr::from(format!("{prev}{t}"));
                    prev_range.end = range.end;
                    continue;
                }
                out.push((Event::Text(t), range));
                continue;
            }
            _ => {}
        }
        out.push((ev, range));
    }
    for (ev, _) in &mut out {
        if let Event::Text(t) = ev {
            if t.contains(':') {
                if let Some(replaced) = replace_in(t) {
                    *t = CowStr::from(replaced);
                }
            }
        }
    }
    out
}

/// `text` with its aliases replaced, or `None` when it has none.
fn replace_in(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut found = false;
    while let Some(i) = rest.find(':') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-')))
            .unwrap_or(after.len());
        let emoji = (name_len > 0 && after[name_len..].starts_with(':'))
            .then(|| emojis::get_by_shortcode(&after[..name_len]))
            .flatten();
        match emoji {
            Some(e) => {
                out.push_str(e.as_str());
                rest = &after[name_len + 1..];
                found = true;
            }
            None => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_become_emoji_and_other_colons_stay() {
        assert_eq!(
            replace_in("a :smile: b :+1: at 10:30:45 :not_an_emoji: :smile_cat:").as_deref(),
            Some("a 😄 b 👍 at 10:30:45 :not_an_emoji: 😸")
        );
        assert_eq!(replace_in("no: aliases here"), None);
    }
}
