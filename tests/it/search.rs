//! The built-in search index (`[search]`): its files, how a query finds pages through them
//! (a reader of the format below does what `search.js` does for whole words), CJK text,
//! config errors, and what one edit changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;
use sitegen::build::{build, BuildOptions, BuildPlan, Builder};
use sitegen::config::Config;
use sitegen::source::SourceTree;

use crate::harness::TestSite;

/// A word of the generated sites' vocabulary: pronounceable, unique per `n`.
pub fn word(n: usize) -> String {
    const C: &[&str] = &["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"];
    const V: &[&str] = &["a", "e", "i", "o", "u"];
    let mut n = n;
    let mut w = String::new();
    loop {
        w.push_str(C[n % C.len()]);
        n /= C.len();
        w.push_str(V[n % V.len()]);
        n /= V.len();
        if n == 0 {
            break;
        }
    }
    w
}

/// A site of `pages` pages in `sections` folders with search on: page `i` has a unique word
/// (`uniq` + `i` spelled as [`word`]), and common words drawn with a skewed distribution.
/// Returns the site and, per page URL, its body's words.
pub fn generated_site(pages: usize, sections: usize) -> (TestSite, BTreeMap<String, BTreeSet<String>>) {
    let site = TestSite::fixture("blog");
    std::fs::remove_dir_all(site.path("site/content")).unwrap();
    site.write(
        "config.toml",
        "base_url = \"https://example.com\"\ntitle = \"Generated\"\n[[taxonomies]]\nname = \"tags\"\n[search]\nenabled = true\n",
    );
    site.write("site/content/_index.md", "+++\ntitle = \"Home\"\n+++\n");
    let mut words = BTreeMap::new();
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for s in 0..sections {
        site.write(
            &format!("site/content/s{s}/_index.md"),
            format!("+++\ntitle = \"Section {s}\"\n+++\n"),
        );
    }
    for i in 0..pages {
        let s = i % sections;
        let mut body = Vec::new();
        for _ in 0..120 {
            // Skewed: small numbers are much more common.
            let r = next() % 1000;
            body.push(word(r * r / 1000));
        }
        let uniq = format!("uniq{}", word(i));
        body.push(uniq.clone());
        let title = format!("{} {}", word(next() % 300), word(next() % 300));
        let tag = if i % 3 == 0 { "alpha" } else { "beta" };
        site.write(
            &format!("site/content/s{s}/p{i}.md"),
            format!(
                "+++\ntitle = \"{title}\"\n[taxonomies]\ntags = [\"{tag}\"]\n+++\n## {}\n\n{}\n",
                word(i % 50),
                body.join(" ")
            ),
        );
        let mut set: BTreeSet<String> = body.into_iter().collect();
        set.extend(title.split(' ').map(String::from));
        set.insert(word(i % 50));
        words.insert(format!("s{s}/p{i}/"), set);
    }
    (site, words)
}

fn json(plan: &BuildPlan, path: &str) -> Value {
    let f = plan.files.get(path).unwrap_or_else(|| panic!("no `{path}`"));
    serde_json::from_slice(&f.bytes).unwrap()
}

/// The URLs of the pages holding `word` (as written), by score, as the client finds them:
/// the fragment whose range holds the word, its stem through the forms map, the postings.
fn find(plan: &BuildPlan, lang: &str, word: &str, filter: Option<&str>) -> Vec<String> {
    let entry = json(plan, &format!("search/{lang}.json"));
    assert_eq!(entry["version"], 1);
    let chunk_of = |key: &str| {
        let chunks = entry["chunks"].as_array().unwrap();
        let i = chunks.iter().rposition(|c| c[0].as_str().unwrap() <= key).unwrap();
        json(plan, &format!("search/{lang}/{}.json", chunks[i][1].as_str().unwrap()))
    };
    let postings = |key: &str| -> Vec<(usize, u64)> {
        let c = chunk_of(key);
        let packed = c["t"][key].as_str().unwrap_or("");
        let mut id = 0;
        sitegen::search::read_numbers(packed)
            .chunks(2)
            .map(|p| {
                id += p[0];
                (id, p[1] as u64)
            })
            .collect()
    };
    let key = chunk_of(word)["f"][word]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| word.to_string());
    let mut hits = postings(&key);
    if let Some(f) = filter {
        let allowed: BTreeSet<usize> = postings(f).into_iter().map(|(id, _)| id).collect();
        hits.retain(|(id, _)| allowed.contains(id));
    }
    hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let size = entry["meta_size"].as_u64().unwrap() as usize;
    hits.iter()
        .map(|(id, _)| {
            let shard = json(
                plan,
                &format!("search/{lang}/{}.json", entry["meta"][id / size].as_str().unwrap()),
            );
            shard[id % size]["u"].as_str().unwrap().to_string()
        })
        .collect()
}

fn search_files(plan: &BuildPlan) -> BTreeMap<&str, [u8; 32]> {
    plan.files
        .iter()
        .filter(|(k, _)| k.starts_with("search/"))
        .map(|(k, f)| (k.as_str(), f.sha256))
        .collect()
}

#[test]
fn search_is_off_by_default_and_writes_nothing() {
    let site = TestSite::fixture("blog");
    let r = site.plan().unwrap();
    assert!(search_files(&r.plan).is_empty());
    assert!(!r.plan.files.contains_key("js/search.js"));
    assert!(!String::from_utf8_lossy(&r.plan.files["index.html"].bytes).contains("data-index"));
}

#[test]
fn every_page_of_a_word_is_found_and_fragments_are_fingerprinted() {
    let (site, words) = generated_site(300, 3);
    let r = site.plan().unwrap_or_else(|e| panic!("{e}"));
    let plan = &r.plan;
    // Every fragment's name is its hash, it is immutable and listed in manifest.json; the
    // entry file is neither.
    let manifest = json(plan, "manifest.json");
    for (path, f) in &plan.files {
        if let Some(name) = path.strip_prefix("search/en/") {
            let hash = sitegen::paths::hex(&f.sha256);
            assert_eq!(name, format!("{}.json", &hash[..10]), "{path}");
            assert!(f.immutable, "{path}");
            assert_eq!(manifest["assets"][path]["path"], path.as_str());
        }
    }
    assert!(!plan.files["search/en.json"].immutable);
    // So `publish` caches exactly the fragments forever (and invalidates the entry file).
    let cached = sitegen::publish::local::fingerprinted(&plan.files["manifest.json"].bytes).unwrap();
    let fragments_listed: BTreeSet<&str> = plan
        .files
        .keys()
        .filter(|k| k.starts_with("search/en/"))
        .map(String::as_str)
        .collect();
    let cached_search: BTreeSet<&str> = cached
        .iter()
        .filter(|k| k.starts_with("search"))
        .map(String::as_str)
        .collect();
    assert_eq!(cached_search, fragments_listed);
    assert!(manifest["assets"].get("search/en.json").is_none());
    // Each fragment is small and there are many: one query reads a few of them.
    let fragments: Vec<usize> = plan
        .files
        .iter()
        .filter(|(k, _)| k.starts_with("search/en/"))
        .map(|(_, f)| f.bytes.len())
        .collect();
    assert!(fragments.len() > 40, "{} fragments", fragments.len());
    assert!(fragments.iter().all(|&n| n <= 64 * 1024), "{fragments:?}");
    // A unique word finds its page only; a common one every page that has it, best first.
    assert_eq!(find(plan, "en", &format!("uniq{}", word(123)), None), ["s0/p123/"]);
    for w in [word(0), word(17), word(250)] {
        let expected: BTreeSet<&str> = words
            .iter()
            .filter(|(_, ws)| ws.contains(&w))
            .map(|(u, _)| u.as_str())
            .collect();
        let found = find(plan, "en", &w, None);
        assert_eq!(
            found.iter().map(String::as_str).collect::<BTreeSet<_>>(),
            expected,
            "{w}"
        );
    }
    // Filters: a section's pages, a tag's pages.
    let in_s1 = find(plan, "en", &word(0), Some("s:s1"));
    assert!(
        !in_s1.is_empty() && in_s1.iter().all(|u| u.starts_with("s1/")),
        "{in_s1:?}"
    );
    let alpha = find(plan, "en", &word(0), Some("t:tags:alpha"));
    assert!(!alpha.is_empty());
    for u in alpha {
        let i: usize = u.split("/p").nth(1).unwrap().trim_end_matches('/').parse().unwrap();
        assert_eq!(i % 3, 0, "{u}");
    }
    // The same input gives the same bytes.
    let again = site.plan().unwrap();
    assert_eq!(search_files(plan), search_files(&again.plan));
}

#[test]
fn stemmed_forms_find_each_other_and_the_page_shows_a_search_box() {
    let site = TestSite::fixture("blog");
    let text = site.read("config.toml");
    site.write("config.toml", format!("{text}\n[search]\nenabled = true\n"));
    site.write(
        "site/content/posts/running.md",
        "+++\ntitle = \"Notes\"\ndate = 2024-05-01\n+++\nShe was running searches all day.\n",
    );
    let r = site.plan().unwrap_or_else(|e| panic!("{e}"));
    for q in ["running", "runs", "run", "searches", "searching", "search"] {
        let found = find(&r.plan, "en", q, None);
        // `runs` and `searching` are not in the text: their stems are.
        let found = if found.is_empty() {
            let stem = rust_stem(q);
            find(&r.plan, "en", &stem, None)
        } else {
            found
        };
        assert!(found.contains(&"posts/running/".to_string()), "{q}: {found:?}");
    }
    let home = String::from_utf8_lossy(&r.plan.files["index.html"].bytes).into_owned();
    assert!(
        home.contains("data-index=\"https://example.com/sub/search/en.json\""),
        "{home}"
    );
    let script = r
        .plan
        .files
        .keys()
        .find(|k| k.starts_with("js/search.") && k.ends_with(".js"))
        .expect("the client is an asset");
    assert!(
        home.contains(&format!("src=\"https://example.com/sub/{script}\"")),
        "{home}"
    );
}

/// What the English stemmer makes of `w` (the client finds it as the longest indexed prefix).
fn rust_stem(w: &str) -> String {
    sitegen::search::tokenize::Tokenizer::new("en").tokens(w).remove(0).term
}

#[test]
fn a_japanese_query_finds_the_japanese_page_and_languages_can_opt_out() {
    let site = TestSite::fixture("multilingual");
    let config = site.read("config.toml");
    site.write(
        "config.toml",
        config.replace("generate_feeds = false\n", "generate_feeds = false\nsearch = false\n")
            + "\n[search]\nenabled = true\n",
    );
    let r = site.plan().unwrap_or_else(|e| panic!("{e}"));
    let ja = site.read("site/content/blog/first.ja.md");
    // A bigram of the Japanese page's body finds it, in the Japanese index only.
    let body = ja.rsplit("+++").next().unwrap().trim();
    let run: String = body
        .chars()
        .filter(|c| sitegen::search::tokenize::is_cjk(*c))
        .take(2)
        .collect();
    assert_eq!(run.chars().count(), 2, "{body}");
    assert!(
        find(&r.plan, "ja", &run, None).contains(&"ja/blog/first/".to_string()),
        "{run}"
    );
    assert!(r.plan.files.contains_key("search/en.json"));
    assert!(!r.plan.files.contains_key("search/ar.json"));
    let ar_page = String::from_utf8_lossy(&r.plan.files["ar/blog/first/index.html"].bytes).into_owned();
    assert!(!ar_page.contains("data-index"));
    let ja_page = String::from_utf8_lossy(&r.plan.files["ja/blog/first/index.html"].bytes).into_owned();
    assert!(ja_page.contains("search/ja.json") && ja_page.contains("placeholder=\"検索\""));
}

#[test]
fn search_config_errors_are_at_the_key() {
    let site = TestSite::fixture("blog");
    let text = site.read("config.toml");
    site.write(
        "config.toml",
        format!("{text}\n[search]\nenabled = true\nexcerpt_length = 0\nsections = [\"../x\"]\nzola_compat = [\"fuse\"]\n\n[search.fields]\ntitle = 1000\n"),
    );
    let n = text.lines().count() + 1;
    let errors = site.errors();
    let expected = [
        format!("error: config.toml:{}:1: `search.excerpt_length` must be between 1 and 200 words, got 0", n + 3),
        format!("error: config.toml:{}:1: `search.sections`: `../x` is not a folder under `content/` such as `docs` or `blog/2024`", n + 4),
        format!("error: config.toml:{}:1: `search.zola_compat` may hold `elasticlunr_json`, `elasticlunr_javascript`, got `fuse`", n + 5),
        format!("error: config.toml:{}:1: `search.fields.title` must be a weight from 0 to 100, got 1000", n + 8),
    ];
    assert_eq!(errors.lines().collect::<Vec<_>>(), expected, "{errors}");
}

#[test]
fn one_page_edit_rewrites_a_handful_of_index_files() {
    let (site, _) = generated_site(400, 4);
    let load = || {
        let text = std::fs::read_to_string(site.path("config.toml")).unwrap();
        let config = Arc::new(Config::parse("config.toml", &text).unwrap());
        let tree = Arc::new(SourceTree::read(site.root(), &config).unwrap());
        (config, tree)
    };
    let mut b = Builder::default();
    let (config, tree) = load();
    let before = b.build(tree, config, &BuildOptions::default()).unwrap();
    let old = search_files(&before.plan);
    // Add one word to one page.
    let text = site.read("site/content/s1/p205.md");
    site.write("site/content/s1/p205.md", format!("{} editedword\n", text.trim_end()));
    let (config, tree) = load();
    let after = b.build(tree.clone(), config.clone(), &BuildOptions::default()).unwrap();
    let fresh = build(tree, config, &BuildOptions::default()).unwrap();
    assert!(after.plan == fresh.plan, "incremental build differs from a fresh build");
    let new = search_files(&after.plan);
    let changed: Vec<&str> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, _)| *k)
        .collect();
    let total = new.len();
    // The entry file, the page's metadata fragment (its excerpt text) and the term fragment
    // of the new word (two, when it starts one).
    assert!(changed.contains(&"search/en.json"));
    assert!(
        changed.len() <= 4,
        "{} of {total} index files changed: {changed:?}",
        changed.len()
    );
    assert!(total > 50, "{total}");
    assert!(find(&after.plan, "en", "editedword", None) == ["s1/p205/"]);
}
