//! Template values: every page, section, term and taxonomy as a Tera value, built once per
//! build, shared by reference count by every context that shows it (invariant 6), and reused
//! from the last build when its inputs did not change (invariant 10).

use std::collections::HashMap;

use rayon::prelude::*;
use tera::{Map, Value};

use super::listed::Omit;
use super::markdown::{Html, Renders};
use crate::config::Config;
use crate::content::{Page, Section, SiteModel};
use crate::keys::{hash_of, value_id};
use crate::markdown::Rendered;
use crate::templates::SiteValues;

fn v_str(s: &str) -> Value {
    Value::from(s)
}

pub(super) fn v_opt_date(d: Option<chrono::DateTime<chrono::FixedOffset>>) -> Value {
    match d {
        Some(d) => Value::from(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => Value::none(),
    }
}

fn json(v: &serde_json::Map<String, serde_json::Value>) -> Value {
    Value::from_serializable(v)
}

fn reading_time(words: usize, wpm: usize) -> usize {
    words.div_ceil(wpm.max(1))
}

/// What a page's value shows of a neighbour (`previous`, `next`, `lower`, `higher`).
pub(super) fn stub(p: &Page, config: &Config) -> Value {
    let mut m = Map::new();
    m.insert("title".into(), v_str(p.title()));
    m.insert("path".into(), v_str(&p.path));
    m.insert("permalink".into(), Value::from(config.permalink(&p.path)));
    m.insert("relative_path".into(), v_str(&p.relative_path));
    Value::from(m)
}

fn ancestors(model: &SiteModel, mut section: Option<usize>) -> Vec<Value> {
    let mut v = Vec::new();
    while let Some(i) = section {
        v.push(v_str(&model.sections[i].relative_path));
        section = model.sections[i].parent;
    }
    v.reverse();
    v
}

/// Template values by a name (`page:blog/a.md`, `term:tags/rust`), with the key of their
/// inputs: the next build reuses a value (the same allocation) when its key is the same.
pub(super) type ValueCache = HashMap<String, (u64, Value)>;

/// Every template value of one build.
pub(super) struct Values {
    /// In the model's order.
    pub pages: Vec<Value>,
    pub sections: Vec<Value>,
    /// In the model's order.
    pub taxonomies: Vec<Value>,
}

/// Looks a value up in the last build's cache, or makes it.
struct Reuse<'a> {
    old: &'a ValueCache,
    new: ValueCache,
}

impl Reuse<'_> {
    fn get(&mut self, name: String, key: u64, make: impl FnOnce() -> Value) -> Value {
        let v = match self.old.get(&name) {
            Some((k, v)) if *k == key => v.clone(),
            _ => make(),
        };
        self.new.insert(name, (key, v.clone()));
        v
    }
}

/// Builds (or reuses from `old`) the template values of every page, section, term and
/// taxonomy. Returns them, the same by path (for template functions) and the cache for the
/// next build.
pub(super) fn build_values(
    model: &SiteModel,
    renders: &Renders,
    config: &Config,
    old: &ValueCache,
    omit: Omit,
) -> (Values, SiteValues, ValueCache) {
    let (pages, new) = page_values(model, renders, config, old, omit);
    let mut reuse = Reuse { old, new };
    let sections = section_values(model, renders, &pages, config, &mut reuse);
    let taxonomies = taxonomy_values(model, &pages, config, &mut reuse);
    let by_path = |items: &[Value], paths: &mut dyn Iterator<Item = &String>| -> HashMap<String, Value> {
        paths.zip(items.iter().cloned()).map(|(p, v)| (p.clone(), v)).collect()
    };
    let site = SiteValues {
        pages: by_path(&pages, &mut model.pages.iter().map(|p| &p.relative_path)),
        sections: by_path(&sections, &mut model.sections.iter().map(|s| &s.relative_path)),
        taxonomies: by_path(&taxonomies, &mut model.taxonomies.iter().map(|t| &t.key)),
    };
    let values = Values {
        pages,
        sections,
        taxonomies,
    };
    (values, site, reuse.new)
}

/// Page values, in parallel: a page's value is reused when its render (by identity), URL,
/// section, neighbours and bundle files are the same.
fn page_values(
    model: &SiteModel,
    renders: &Renders,
    config: &Config,
    old: &ValueCache,
    omit: Omit,
) -> (Vec<Value>, ValueCache) {
    // previous/next in each section's order.
    let mut neighbours: Vec<(Option<usize>, Option<usize>)> = vec![(None, None); model.pages.len()];
    for (si, s) in model.sections.iter().enumerate() {
        // In its own section's order (a transparent section's pages are listed above it too).
        let own: Vec<usize> = s
            .pages
            .iter()
            .copied()
            .filter(|&pi| model.pages[pi].section == si)
            .collect();
        for (k, &pi) in own.iter().enumerate() {
            let prev = if k > 0 { Some(own[k - 1]) } else { None };
            neighbours[pi] = (prev, own.get(k + 1).copied());
        }
    }
    let stub_key = |j: Option<usize>| {
        j.map(|j| {
            let p = &model.pages[j];
            (p.title(), p.path.as_str(), p.relative_path.as_str())
        })
    };
    // Each page's stub once, shared by the values of both its neighbours.
    let stubs: Vec<Value> = model.pages.par_iter().map(|p| stub(p, config)).collect();
    let entries: Vec<(String, (u64, Value))> = model
        .pages
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let s = &model.sections[p.section];
            let key = hash_of((
                renders.page_id(i),
                &p.path,
                &p.lang,
                translations_key(&p.translations, |j| {
                    let t = &model.pages[j];
                    (t.lang.as_str(), t.path.as_str(), t.title(), t.relative_path.as_str())
                }),
                &p.slug,
                &s.relative_path,
                format!("{:?}", s.fm.sort_by),
                stub_key(neighbours[i].0),
                stub_key(neighbours[i].1),
                &p.assets,
                p.section,
                omit,
            ));
            let name = format!("page:{}", p.relative_path);
            let v = match old.get(&name) {
                Some((k, v)) if *k == key => v.clone(),
                _ => page_value(
                    model,
                    p,
                    (renders.page(i), renders.page_html(i)),
                    config,
                    neighbours[i],
                    &|j| stubs[j].clone(),
                    omit,
                ),
            };
            (name, (key, v))
        })
        .collect();
    let values = entries.iter().map(|(_, (_, v))| v.clone()).collect();
    (values, entries.into_iter().collect())
}

/// What the `translations` of a value show, to key it.
fn translations_key<'m>(idx: &[usize], part: impl Fn(usize) -> (&'m str, &'m str, &'m str, &'m str)) -> u64 {
    hash_of(idx.iter().map(|&j| part(j)).collect::<Vec<_>>())
}

/// `translations`: the same content in each language (this one included), as Zola gives
/// them: `lang`, `permalink`, `title`, `path` (under `content/`).
fn translations_value<'m>(
    idx: &[usize],
    config: &Config,
    part: impl Fn(usize) -> (&'m str, &'m str, Option<&'m str>, &'m str),
) -> Value {
    Value::from(
        idx.iter()
            .map(|&j| {
                let (lang, path, title, rel) = part(j);
                let mut m = Map::new();
                m.insert("lang".into(), v_str(lang));
                m.insert("permalink".into(), Value::from(config.permalink(path)));
                m.insert("title".into(), title.map(v_str).unwrap_or_else(Value::none));
                m.insert("path".into(), v_str(rel));
                Value::from(m)
            })
            .collect::<Vec<_>>(),
    )
}

/// The identities of the pages `idx` (what a section or term shows of them).
fn page_ids(page_values: &[Value], idx: &[usize]) -> Vec<Option<usize>> {
    idx.iter().map(|&i| value_id(&page_values[i])).collect()
}

fn section_values(
    model: &SiteModel,
    renders: &Renders,
    page_values: &[Value],
    config: &Config,
    reuse: &mut Reuse<'_>,
) -> Vec<Value> {
    let mut values = Vec::with_capacity(model.sections.len());
    for (i, sec) in model.sections.iter().enumerate() {
        let key = hash_of((
            renders.section_id(i),
            &sec.path,
            &sec.lang,
            translations_key(&sec.translations, |j| {
                let t = &model.sections[j];
                (
                    t.lang.as_str(),
                    t.path.as_str(),
                    t.fm.title.as_deref().unwrap_or(""),
                    t.relative_path.as_str(),
                )
            }),
            page_ids(page_values, &sec.pages),
            sec.subsections
                .iter()
                .map(|&j| &model.sections[j].relative_path)
                .collect::<Vec<_>>(),
            sec.parent.map(|j| &model.sections[j].relative_path),
            &sec.assets,
        ));
        values.push(reuse.get(format!("section:{}", sec.relative_path), key, || {
            section_value(
                model,
                sec,
                (renders.section(i), renders.section_html(i)),
                page_values,
                config,
            )
        }));
    }
    values
}

fn taxonomy_values(model: &SiteModel, page_values: &[Value], config: &Config, reuse: &mut Reuse<'_>) -> Vec<Value> {
    let mut taxonomies = Vec::new();
    for t in &model.taxonomies {
        let mut items = Vec::with_capacity(t.terms.len());
        for term in &t.terms {
            let key = hash_of((&term.name, &term.slug, &term.path, page_ids(page_values, &term.pages)));
            items.push(reuse.get(format!("term:{}/{}", t.key, term.slug), key, || {
                term_value(term, page_values, config)
            }));
        }
        let key = hash_of((
            &t.config.name,
            &t.lang,
            &t.path,
            t.config.paginate_by,
            t.config.feed,
            items.iter().map(value_id).collect::<Vec<_>>(),
        ));
        let v = reuse.get(format!("taxonomy:{}", t.key), key, || {
            let mut m = Map::new();
            m.insert("name".into(), v_str(&t.config.name));
            m.insert("lang".into(), v_str(&t.lang));
            m.insert("path".into(), v_str(&t.path));
            m.insert("permalink".into(), Value::from(config.permalink(&t.path)));
            m.insert("paginate_by".into(), Value::from(t.config.paginate_by));
            m.insert("feed".into(), Value::from(t.config.feed));
            m.insert("items".into(), Value::from(items.clone()));
            Value::from(m)
        });
        taxonomies.push(v);
    }
    taxonomies
}

/// `page.assets` / `section.assets`: the bundle's files as paths under `content/`, with a
/// leading `/` (Zola's form), which `get_url` and `resize_image` take.
fn assets_value(assets: &[String]) -> Value {
    Value::from(assets.iter().map(|a| Value::from(format!("/{a}"))).collect::<Vec<_>>())
}

/// What every value of a section starts with: its title, description and addresses.
fn section_head(s: &Section, config: &Config) -> Map {
    let mut m = Map::new();
    m.insert("title".into(), v_str(s.fm.title.as_deref().unwrap_or("")));
    m.insert(
        "description".into(),
        s.fm.description.as_deref().map(v_str).unwrap_or_else(Value::none),
    );
    m.insert("path".into(), v_str(&s.path));
    m.insert("permalink".into(), Value::from(config.permalink(&s.path)));
    m.insert("relative_path".into(), v_str(&s.relative_path));
    m.insert("lang".into(), v_str(&s.lang));
    m
}

fn section_translations(model: &SiteModel, s: &Section, config: &Config) -> Value {
    translations_value(&s.translations, config, |j| {
        let t = &model.sections[j];
        (
            t.lang.as_str(),
            t.path.as_str(),
            t.fm.title.as_deref(),
            t.relative_path.as_str(),
        )
    })
}

/// A section's value without its pages and rendered content: what its shortcodes see.
pub(super) fn section_stub(model: &SiteModel, s: &Section, config: &Config) -> Value {
    let mut m = section_head(s, config);
    m.insert("translations".into(), section_translations(model, s, config));
    m.insert("extra".into(), json(&s.fm.extra));
    m.insert("assets".into(), assets_value(&s.assets));
    m.insert("ancestors".into(), Value::from(ancestors(model, s.parent)));
    Value::from(m)
}

/// The template value of page `p` (the model's page `i`, or its edited version in a preview),
/// whose Markdown rendered to `r`, without the fields `omit` leaves out. `stub_of(j)`: what
/// it shows of its neighbour page `j` ([`stub`]).
pub(super) fn page_value(
    model: &SiteModel,
    p: &Page,
    (r, html): (&Rendered, &Html),
    config: &Config,
    (prev, next): (Option<usize>, Option<usize>),
    stub_of: &dyn Fn(usize) -> Value,
    omit: Omit,
) -> Value {
    let s = &model.sections[p.section];
    let mut m = Map::new();
    m.insert("title".into(), v_str(p.title()));
    m.insert(
        "description".into(),
        p.fm.description.as_deref().map(v_str).unwrap_or_else(Value::none),
    );
    m.insert("date".into(), v_opt_date(p.date));
    // As in Zola: none when the front matter has no `updated` (feeds fall back to `date`).
    m.insert("updated".into(), v_opt_date(p.updated));
    m.insert("slug".into(), v_str(&p.slug));
    m.insert("path".into(), v_str(&p.path));
    m.insert("permalink".into(), Value::from(config.permalink(&p.path)));
    m.insert("relative_path".into(), v_str(&p.relative_path));
    m.insert("lang".into(), v_str(&p.lang));
    m.insert(
        "translations".into(),
        translations_value(&p.translations, config, |j| {
            let t = &model.pages[j];
            (
                t.lang.as_str(),
                t.path.as_str(),
                t.fm.title.as_deref(),
                t.relative_path.as_str(),
            )
        }),
    );
    // Left-out fields keep their place (none), for the own page's job to fill in.
    let content = if omit.content_of(!html.summary.is_none()) {
        Value::none()
    } else {
        html.content()
    };
    m.insert("content".into(), content);
    m.insert("summary".into(), html.summary.clone());
    let toc = if omit.toc {
        Value::none()
    } else {
        Value::from_serializable(&r.toc)
    };
    m.insert("toc".into(), toc);
    m.insert("word_count".into(), Value::from(r.word_count));
    m.insert(
        "reading_time".into(),
        Value::from(reading_time(r.word_count, config.markdown.words_per_minute)),
    );
    m.insert("draft".into(), Value::from(p.fm.draft));
    m.insert(
        "weight".into(),
        p.fm.weight.map(Value::from).unwrap_or_else(Value::none),
    );
    let mut tax = Map::new();
    for (k, names) in &p.fm.taxonomies {
        tax.insert(
            k.clone().into(),
            Value::from(names.iter().map(|n| v_str(n)).collect::<Vec<_>>()),
        );
    }
    m.insert("taxonomies".into(), Value::from(tax));
    m.insert("extra".into(), json(&p.fm.extra));
    m.insert(
        "components".into(),
        Value::from(
            p.path
                .split('/')
                .filter(|c| !c.is_empty())
                .map(v_str)
                .collect::<Vec<_>>(),
        ),
    );
    m.insert("assets".into(), assets_value(&p.assets));
    m.insert("ancestors".into(), Value::from(ancestors(model, Some(p.section))));
    m.insert("section".into(), v_str(&s.relative_path));
    let pv = prev.map(stub_of).unwrap_or_else(Value::none);
    let nv = next.map(stub_of).unwrap_or_else(Value::none);
    // Zola's names: `lower` is the older (date) or lighter (weight) neighbour.
    let (lower, higher) = match s.fm.sort_by {
        crate::content::SortBy::Date => (nv.clone(), pv.clone()),
        _ => (pv.clone(), nv.clone()),
    };
    m.insert("previous".into(), pv);
    m.insert("next".into(), nv);
    m.insert("lower".into(), lower);
    m.insert("higher".into(), higher);
    m.insert(
        "aliases".into(),
        Value::from(p.fm.aliases.iter().map(|a| v_str(a)).collect::<Vec<_>>()),
    );
    m.insert("in_sitemap".into(), Value::from(p.fm.in_sitemap));
    Value::from(m)
}

/// A page's own value: its shared value `shared` with the fields that one left out filled in
/// from its render (the same value when nothing was left out). `last`: no one reads the
/// page's HTML after this (a one-shot build's own job), so compressed HTML is freed.
pub(super) fn own_page_value(
    shared: &Value,
    (r, html): (&Rendered, &Html),
    omit: Omit,
    last: bool,
) -> std::io::Result<Value> {
    let Some(map) = shared.as_map().filter(|_| omit.any()) else {
        return Ok(shared.clone());
    };
    let mut m = map.clone();
    if omit.content_of(!html.summary.is_none()) {
        let content = if last { html.take_content()? } else { html.content() };
        m.insert("content".into(), content);
    }
    if omit.toc {
        m.insert("toc".into(), Value::from_serializable(&r.toc));
    }
    Ok(Value::from(m))
}

fn section_value(
    model: &SiteModel,
    s: &Section,
    (r, html): (&Rendered, &Html),
    page_values: &[Value],
    config: &Config,
) -> Value {
    let mut m = section_head(s, config);
    m.insert("translations".into(), section_translations(model, s, config));
    m.insert("content".into(), html.content());
    m.insert("toc".into(), Value::from_serializable(&r.toc));
    m.insert("word_count".into(), Value::from(r.word_count));
    m.insert(
        "reading_time".into(),
        Value::from(reading_time(r.word_count, config.markdown.words_per_minute)),
    );
    m.insert(
        "pages".into(),
        Value::from(s.pages.iter().map(|&i| page_values[i].clone()).collect::<Vec<_>>()),
    );
    m.insert(
        "subsections".into(),
        Value::from(
            s.subsections
                .iter()
                .map(|&i| v_str(&model.sections[i].relative_path))
                .collect::<Vec<_>>(),
        ),
    );
    m.insert("extra".into(), json(&s.fm.extra));
    m.insert(
        "weight".into(),
        s.fm.weight.map(Value::from).unwrap_or_else(Value::none),
    );
    m.insert(
        "components".into(),
        Value::from(
            s.path
                .split('/')
                .filter(|c| !c.is_empty())
                .map(v_str)
                .collect::<Vec<_>>(),
        ),
    );
    m.insert("ancestors".into(), Value::from(ancestors(model, s.parent)));
    m.insert("assets".into(), assets_value(&s.assets));
    Value::from(m)
}

fn term_value(term: &crate::content::Term, page_values: &[Value], config: &Config) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), v_str(&term.name));
    m.insert("slug".into(), v_str(&term.slug));
    m.insert("path".into(), v_str(&term.path));
    m.insert("permalink".into(), Value::from(config.permalink(&term.path)));
    m.insert("page_count".into(), Value::from(term.pages.len()));
    m.insert(
        "pages".into(),
        Value::from(term.pages.iter().map(|&i| page_values[i].clone()).collect::<Vec<_>>()),
    );
    Value::from(m)
}
