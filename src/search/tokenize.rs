//! Words of a language: text → index terms. The JavaScript client (`search.js`) splits a
//! query the same way (letters and digits, lowercased; CJK as bigrams) and learns each
//! word's stem from the index (the fragments map word forms to stems), so it needs no
//! stemmer of its own.
//!
//! Stemming uses the Snowball stemmers of `rust-stemmers` for the languages it has. Chinese,
//! Japanese and Korean have no spaces between words: their runs are cut into overlapping
//! character bigrams (`日本語` → `日本`, `本語`), so a query of two or more characters finds
//! every page holding it. Dictionary segmentation (jieba, lindera) was left out: each crate
//! brings tens of megabytes of dictionaries into the binary, one per language, and bigrams
//! find every match a dictionary would (with some extra ones), which is what a site search
//! needs most.

use rust_stemmers::{Algorithm, Stemmer};

/// How one language's text becomes terms.
pub struct Tokenizer {
    stemmer: Option<Stemmer>,
}

/// One word of a text: its form as written (lowercased) and the term it is indexed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub form: String,
    pub term: String,
}

impl Tokenizer {
    /// The tokenizer of language `code` (`en`, `fr-CA`, `ja`): with a stemmer when
    /// rust-stemmers has one for its primary subtag.
    pub fn new(code: &str) -> Tokenizer {
        Tokenizer {
            stemmer: algorithm(code).map(Stemmer::create),
        }
    }

    /// The stemmer's name (`english`), for the entry file; `None` without one.
    pub fn stemmer_name(code: &str) -> Option<&'static str> {
        let primary = primary(code);
        STEMMERS.iter().find(|(c, _, _)| *c == primary).map(|(_, n, _)| *n)
    }

    /// Every word of `text`, in order.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        for_each_word(text, |form, cjk| {
            let term = if cjk { form.to_string() } else { self.stem(form) };
            out.push(Token {
                form: form.to_string(),
                term,
            });
        });
        out
    }

    /// The term a (lowercased, non-CJK) word is indexed under: its stem, or itself.
    pub fn stem(&self, form: &str) -> String {
        match &self.stemmer {
            Some(s) => s.stem(form).into_owned(),
            None => form.to_string(),
        }
    }
}

/// Whether `c` is written without spaces between words: Han, Hiragana, Katakana, Hangul.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF       // Hiragana, Katakana
        | 0x31F0..=0x31FF     // Katakana phonetic extensions
        | 0x3400..=0x4DBF     // CJK extension A
        | 0x4E00..=0x9FFF     // CJK unified ideographs
        | 0xF900..=0xFAFF     // CJK compatibility ideographs
        | 0xAC00..=0xD7AF     // Hangul syllables
        | 0x1100..=0x11FF     // Hangul jamo
        | 0x3130..=0x318F     // Hangul compatibility jamo
        | 0xFF66..=0xFF9F     // half-width Katakana
        | 0x20000..=0x2FFFF) // CJK extensions B–F
}

/// Per byte: 1 for an ASCII lowercase letter or digit, 2 for an uppercase letter, else 0.
const ASCII_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_uppercase() {
            2
        } else if c.is_ascii_alphanumeric() {
            1
        } else {
            0
        };
        b += 1;
    }
    t
};

/// Calls `f` with each word of `text` (lowercased) and whether it is CJK: runs of letters
/// and digits, and for CJK runs each bigram (or the lone character of a one-character run).
pub fn for_each_word(text: &str, mut f: impl FnMut(&str, bool)) {
    let mut plain = String::new();
    let mut cjk: Vec<char> = Vec::new();
    let mut pair = String::new();
    let mut flush_cjk = |cjk: &mut Vec<char>, f: &mut dyn FnMut(&str, bool)| {
        if cjk.is_empty() {
            return;
        }
        if cjk.len() == 1 {
            pair.clear();
            pair.push(cjk[0]);
            f(&pair, true);
        }
        for w in cjk.windows(2) {
            pair.clear();
            pair.extend(w);
            f(&pair, true);
        }
        cjk.clear();
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Fast path: a run of ASCII letters and digits that ends at ASCII (most words of
        // most pages) is passed as a slice of the text when it is lowercase already.
        let b = bytes[i];
        if b.is_ascii_alphanumeric() && plain.is_empty() && cjk.is_empty() {
            let mut end = i;
            let mut upper = false;
            while end < bytes.len() {
                match ASCII_CLASS[bytes[end] as usize] {
                    0 => break,
                    c => upper |= c == 2,
                }
                end += 1;
            }
            if end == bytes.len() || bytes[end].is_ascii() {
                let word = &text[i..end];
                if upper {
                    plain.push_str(word);
                    plain.make_ascii_lowercase();
                    f(&plain, false);
                    plain.clear();
                } else {
                    f(word, false);
                }
                i = end;
                continue;
            }
        }
        if b.is_ascii() {
            flush_cjk(&mut cjk, &mut f);
            if b.is_ascii_alphanumeric() {
                plain.push(b.to_ascii_lowercase() as char);
            } else if !plain.is_empty() {
                f(&plain, false);
                plain.clear();
            }
            i += 1;
            continue;
        }
        let c = text[i..].chars().next().expect("a char at a char boundary");
        i += c.len_utf8();
        if is_cjk(c) {
            if !plain.is_empty() {
                f(&plain, false);
                plain.clear();
            }
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk, &mut f);
            plain.extend(c.to_lowercase());
        } else {
            flush_cjk(&mut cjk, &mut f);
            if !plain.is_empty() {
                f(&plain, false);
                plain.clear();
            }
        }
    }
    flush_cjk(&mut cjk, &mut f);
    if !plain.is_empty() {
        f(&plain, false);
    }
}

fn primary(code: &str) -> String {
    code.split(['-', '_']).next().unwrap_or(code).to_ascii_lowercase()
}

/// Language subtag, Snowball name, algorithm.
const STEMMERS: &[(&str, &str, Algorithm)] = &[
    ("ar", "arabic", Algorithm::Arabic),
    ("da", "danish", Algorithm::Danish),
    ("de", "german", Algorithm::German),
    ("el", "greek", Algorithm::Greek),
    ("en", "english", Algorithm::English),
    ("es", "spanish", Algorithm::Spanish),
    ("fi", "finnish", Algorithm::Finnish),
    ("fr", "french", Algorithm::French),
    ("hu", "hungarian", Algorithm::Hungarian),
    ("it", "italian", Algorithm::Italian),
    ("nb", "norwegian", Algorithm::Norwegian),
    ("nl", "dutch", Algorithm::Dutch),
    ("nn", "norwegian", Algorithm::Norwegian),
    ("no", "norwegian", Algorithm::Norwegian),
    ("pt", "portuguese", Algorithm::Portuguese),
    ("ro", "romanian", Algorithm::Romanian),
    ("ru", "russian", Algorithm::Russian),
    ("sv", "swedish", Algorithm::Swedish),
    ("ta", "tamil", Algorithm::Tamil),
    ("tr", "turkish", Algorithm::Turkish),
];

fn algorithm(code: &str) -> Option<Algorithm> {
    let primary = primary(code);
    STEMMERS.iter().find(|(c, _, _)| *c == primary).map(|(_, _, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(lang: &str, text: &str) -> Vec<String> {
        Tokenizer::new(lang).tokens(text).into_iter().map(|t| t.term).collect()
    }

    #[test]
    fn english_is_stemmed_and_lowercased() {
        assert_eq!(terms("en", "Running searches, quickly!"), ["run", "search", "quick"]);
    }

    #[test]
    fn french_and_german_have_their_stemmers() {
        assert_eq!(terms("fr", "Les recherches"), ["le", "recherch"]);
        assert_eq!(terms("de-AT", "Häuser"), ["haus"]);
    }

    #[test]
    fn cjk_runs_become_bigrams_and_mixed_text_splits() {
        assert_eq!(
            terms("ja", "日本語のテスト"),
            ["日本", "本語", "語の", "のテ", "テス", "スト"]
        );
        assert_eq!(terms("zh", "用Rust写"), ["用", "rust", "写"]);
        assert_eq!(terms("ko", "검색 기능"), ["검색", "기능"]);
    }

    #[test]
    fn languages_without_a_stemmer_keep_words_as_written() {
        assert_eq!(terms("pl", "Wyszukiwanie stron"), ["wyszukiwanie", "stron"]);
        assert_eq!(Tokenizer::stemmer_name("pl"), None);
        assert_eq!(Tokenizer::stemmer_name("pt-BR"), Some("portuguese"));
    }

    /// The char-by-char definition of [`for_each_word`] (what it was before its ASCII fast
    /// path): both must give the same words.
    fn words_by_char(text: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let (mut plain, mut cjk) = (String::new(), Vec::<char>::new());
        let flush = |cjk: &mut Vec<char>, out: &mut Vec<(String, bool)>| {
            if cjk.len() == 1 {
                out.push((cjk[0].to_string(), true));
            }
            out.extend(cjk.windows(2).map(|w| (w.iter().collect(), true)));
            cjk.clear();
        };
        for c in text.chars() {
            if is_cjk(c) {
                if !plain.is_empty() {
                    out.push((std::mem::take(&mut plain), false));
                }
                cjk.push(c);
            } else if c.is_alphanumeric() {
                flush(&mut cjk, &mut out);
                plain.extend(c.to_lowercase());
            } else {
                flush(&mut cjk, &mut out);
                if !plain.is_empty() {
                    out.push((std::mem::take(&mut plain), false));
                }
            }
        }
        flush(&mut cjk, &mut out);
        if !plain.is_empty() {
            out.push((plain, false));
        }
        out
    }

    #[test]
    fn the_ascii_fast_path_gives_the_same_words() {
        let samples = [
            "Running searches, quickly!",
            "café CAFÉ Straße x2 42abc ÀB",
            "日本語のテストabc def日本 x日y",
            "MiXeD ascii-and-ünïcödé 東京 tail",
            "",
            "a",
            "Ä",
            "end with ASCII",
        ];
        for s in samples {
            let mut got = Vec::new();
            for_each_word(s, |w, c| got.push((w.to_string(), c)));
            assert_eq!(got, words_by_char(s), "{s:?}");
        }
        // Every string of a small alphabet that mixes the cases, up to length 5.
        let alphabet = ['a', 'Z', '9', ' ', 'é', 'Ä', '日', '本', '-'];
        let mut stack = vec![String::new()];
        while let Some(s) = stack.pop() {
            let mut got = Vec::new();
            for_each_word(&s, |w, c| got.push((w.to_string(), c)));
            assert_eq!(got, words_by_char(&s), "{s:?}");
            if s.chars().count() < 5 {
                stack.extend(alphabet.iter().map(|c| format!("{s}{c}")));
            }
        }
    }
}
