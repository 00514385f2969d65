//! Languages of content files and the UI strings of `trans()`.
//!
//! A file's language is in its name, as in Zola: `post.fr.md`, `_index.fr.md` and
//! `index.fr.md` are the French versions of `post.md`, `_index.md` and `index.md`; a file
//! without a code (or with the default language's) is in the default language. The
//! translations of UI strings come from the theme's `i18n/CODE.toml`, then the site's, then
//! `[languages.CODE.translations]` (or `[translations]` for the default language) in the
//! config, later ones winning key by key.

use std::collections::BTreeMap;

use crate::config::{is_language_tag, Config};
use crate::error::Diagnostic;
use crate::source::SourceTree;

/// A content file's path under `content/` split into its language and the path of the
/// file it translates (`blog/post.fr.md` → (`blog/post.md`, `fr`)). `Err` holds the code of
/// a language the config does not have.
pub fn split_language<'a>(rel: &'a str, config: &Config) -> Result<(std::borrow::Cow<'a, str>, String), String> {
    let Some(base) = rel.strip_suffix(".md") else {
        return Ok((rel.into(), config.language.clone()));
    };
    let name_start = base.rfind('/').map(|i| i + 1).unwrap_or(0);
    let Some(dot) = base[name_start..].rfind('.').map(|i| name_start + i) else {
        return Ok((rel.into(), config.language.clone()));
    };
    let code = &base[dot + 1..];
    let canonical = || format!("{}.md", &base[..dot]);
    if code == config.language {
        return Ok((canonical().into(), code.to_string()));
    }
    if config.is_multilingual() && config.languages.contains_key(code) {
        return Ok((canonical().into(), code.to_string()));
    }
    // A suffix shaped like a language code is one; in a single-language site only a
    // two-letter code (`fr`, `pt-BR`) is taken as one, so `notes.old.md` stays a name.
    let looks_like = if config.is_multilingual() {
        is_language_tag(code)
    } else {
        let primary = code.split('-').next().unwrap_or(code);
        is_language_tag(code) && primary.len() == 2 && primary.bytes().all(|b| b.is_ascii_lowercase())
    };
    if looks_like {
        Err(code.to_string())
    } else {
        Ok((rel.into(), config.language.clone()))
    }
}

/// The message for a file whose name has a language the config does not list.
pub fn unknown_language_message(code: &str, config: &Config) -> String {
    let known: Vec<String> = config
        .site_languages()
        .iter()
        .map(|l| format!("`{}`", l.code))
        .collect();
    format!(
        "the file name says language `{code}`, which {} does not list (languages: {}); add `[languages.{code}]` or rename the file",
        config.file,
        known.join(", ")
    )
}

/// The path of `canonical`'s version in `lang` (`blog/post.md`, `fr` → `blog/post.fr.md`).
pub fn localized_path(canonical: &str, lang: &str) -> String {
    match canonical.strip_suffix(".md") {
        Some(base) => format!("{base}.{lang}.md"),
        None => canonical.to_string(),
    }
}

/// UI strings per language, for `trans()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translations {
    /// Language code → key → text.
    pub by_language: BTreeMap<String, BTreeMap<String, String>>,
    /// The default language.
    pub default: String,
}

/// Where `trans` found its text (or that it found none).
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    Found(&'a str),
    Missing,
}

impl Translations {
    /// The theme's and the site's `i18n/CODE.toml` files (the snapshot layers them: the site's
    /// file replaces the theme's of the same name) merged under the config's tables. A file
    /// that does not parse is an error at its line and column; a file of a language the site
    /// does not have is skipped (themes ship many).
    pub fn load(tree: &SourceTree, config: &Config) -> (Translations, Vec<Diagnostic>) {
        let mut errors = Vec::new();
        let mut by_language: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let languages = config.site_languages();
        let files = tree
            .under(crate::source::THEME_I18N)
            .map(|(l, f)| (&l[crate::source::THEME_I18N.len()..], f))
            .chain(tree.under("i18n/").map(|(l, f)| (&l["i18n/".len()..], f)));
        for (name, file) in files {
            let Some(code) = name.strip_suffix(".toml") else {
                continue;
            };
            // English is kept for every site: it is the last fallback of theme strings.
            if code != "en" && !languages.iter().any(|l| l.code == code) {
                continue;
            }
            let text = match std::str::from_utf8(&file.bytes) {
                Ok(t) => t,
                Err(_) => {
                    errors.push(Diagnostic::new(&file.origin, "file is not valid UTF-8"));
                    continue;
                }
            };
            match toml::from_str::<toml::Table>(text) {
                Ok(table) => {
                    let strings = by_language.entry(code.to_string()).or_default();
                    flatten(&table, "", strings);
                }
                Err(e) => errors.push(crate::config::toml_diagnostic(&file.origin, text, &e)),
            }
        }
        let config_tables = std::iter::once((&config.language, &config.translations))
            .chain(config.languages.iter().map(|(c, l)| (c, &l.translations)));
        for (code, table) in config_tables {
            let strings = by_language.entry(code.clone()).or_default();
            for (k, v) in table {
                strings.insert(k.clone(), v.clone());
            }
        }
        by_language.retain(|_, m| !m.is_empty());
        (
            Translations {
                by_language,
                default: config.language.clone(),
            },
            errors,
        )
    }

    /// The text of `key` in `lang`, else in the default language, else in English (the
    /// theme's own strings), else `Missing`.
    pub fn lookup(&self, key: &str, lang: &str) -> Lookup<'_> {
        for l in [lang, self.default.as_str(), "en"] {
            if let Some(t) = self.by_language.get(l).and_then(|m| m.get(key)) {
                return Lookup::Found(t);
            }
        }
        Lookup::Missing
    }
}

/// A translation file's table as flat keys: strings as they are, Hugo's `{ other = "…" }`
/// tables by their `other`, nested tables with dotted keys (`nav.home`).
fn flatten(table: &toml::Table, prefix: &str, out: &mut BTreeMap<String, String>) {
    for (k, v) in table {
        let key = format!("{prefix}{k}");
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => match t.get("other") {
                Some(toml::Value::String(s)) => {
                    out.insert(key, s.clone());
                }
                _ => flatten(t, &format!("{key}."), out),
            },
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                out.insert(key, v.to_string());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn cfg(extra: &str) -> Config {
        Config::parse("config.toml", &format!("base_url = \"/\"\n{extra}")).unwrap()
    }

    #[test]
    fn file_names_give_the_language() {
        let c = cfg("[languages.fr]\n[languages.ar]\n");
        let split = |p: &str| split_language(p, &c).map(|(a, b)| (a.into_owned(), b));
        assert_eq!(split("blog/post.fr.md"), Ok(("blog/post.md".into(), "fr".into())));
        assert_eq!(split("blog/_index.ar.md"), Ok(("blog/_index.md".into(), "ar".into())));
        assert_eq!(split("b/index.en.md"), Ok(("b/index.md".into(), "en".into())));
        assert_eq!(split("b/index.md"), Ok(("b/index.md".into(), "en".into())));
        assert_eq!(split("v1.2/notes.md"), Ok(("v1.2/notes.md".into(), "en".into())));
        assert_eq!(split("post.de.md"), Err("de".into()));
        // Single-language sites: only two-letter codes are codes.
        let one = cfg("");
        assert_eq!(split_language("post.fr.md", &one), Err("fr".into()));
        assert_eq!(split_language("notes.old.md", &one).unwrap().0, "notes.old.md");
        assert_eq!(localized_path("blog/_index.md", "fr"), "blog/_index.fr.md");
    }

    #[test]
    fn translations_layer_and_fall_back() {
        let c = cfg("[translations]\nhome = \"Home!\"\n[languages.fr.translations]\nhome = \"Accueil\"\n");
        let mut t = SourceTree::default();
        t.insert(
            "theme/i18n/en.toml",
            SourceFile::new(
                "theme/i18n/en.toml",
                b"home = \"Home\"\nread_more = \"Read more\"\n".to_vec(),
            ),
        );
        t.insert(
            "theme/i18n/fr.toml",
            SourceFile::new("theme/i18n/fr.toml", b"read_more = \"Lire\"\nup = \"?\"\n".to_vec()),
        );
        t.insert(
            "i18n/fr.toml",
            SourceFile::new("site/i18n/fr.toml", b"[nav]\nup = { other = \"Haut\" }\n".to_vec()),
        );
        t.insert(
            "i18n/de.toml",
            SourceFile::new("theme/i18n/de.toml", b"home = \"Start\"".to_vec()),
        );
        let (tr, errs) = Translations::load(&t, &c);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(tr.lookup("home", "fr"), Lookup::Found("Accueil"));
        assert_eq!(tr.lookup("home", "en"), Lookup::Found("Home!"));
        assert_eq!(tr.lookup("nav.up", "fr"), Lookup::Found("Haut"));
        assert_eq!(
            tr.lookup("read_more", "fr"),
            Lookup::Found("Lire"),
            "the theme's file stays"
        );
        assert_eq!(tr.lookup("read_more", "en"), Lookup::Found("Read more"));
        assert_eq!(tr.lookup("nope", "fr"), Lookup::Missing);
        assert!(
            !tr.by_language.contains_key("de"),
            "languages the site lacks are skipped"
        );

        let mut bad = SourceTree::default();
        bad.insert(
            "i18n/fr.toml",
            SourceFile::new("site/i18n/fr.toml", b"a = \"x\"\nb = \n".to_vec()),
        );
        let (_, errs) = Translations::load(&bad, &c);
        assert!(errs[0].to_string().starts_with("site/i18n/fr.toml:2:"), "{}", errs[0]);
    }
}
