//! Property-based fuzzing on stable Rust (proptest): the parsers never panic or hang on any
//! input, and the publish planner keeps its safety rules for random output folders and
//! buckets. `cargo test` runs a small number of cases per target; `.ci/run` runs a bounded
//! larger pass with `SITEGEN_FUZZ_CASES` (each target also stops at a time limit).
//! Inputs that once crashed are kept as regression cases in `KNOWN`.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};

use sitegen::config::Config;
use sitegen::content::front_matter;
use sitegen::publish::headers::{HeaderRules, PathFilter};
use sitegen::publish::plan::{next_state, plan, Outcome, PlanSettings, RemoteIndex, RemoteObject};
use sitegen::publish::state::{PublishState, Record};
use sitegen::publish::{Headers, LocalFile};

/// Cases per target: 64 in `cargo test`, more when `.ci/run` asks.
fn cases() -> u32 {
    std::env::var("SITEGEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn runner() -> TestRunner {
    TestRunner::new(PtConfig {
        cases: cases(),
        max_shrink_iters: 256,
        failure_persistence: None,
        ..PtConfig::default()
    })
}

/// Text that looks like what the parsers read: their delimiters, keys and markup mixed with
/// arbitrary characters (pure random strings would rarely reach past the first check).
fn site_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("+++\n".to_string()),
        Just("---\n".to_string()),
        Just("title = \"x\"\n".to_string()),
        Just("date = 2024-01-01\n".to_string()),
        Just("[taxonomies]\ntags = [\"a\"]\n".to_string()),
        Just("[extra]\n".to_string()),
        Just("{{ youtube(id=\"x\") }}".to_string()),
        Just("{% quote(author=\"y\") %}".to_string()),
        Just("{% end %}".to_string()),
        Just("{{/* x() */}}".to_string()),
        Just("```rust,linenos\nfn main() {}\n```\n".to_string()),
        Just("$x^2$ $$\\frac{a}{b}$$".to_string()),
        Just("> [!NOTE]\n> text\n".to_string()),
        Just("[link](@/a.md#b) ![img](a.png) <a href=\"x\">".to_string()),
        Just("# Heading {#id .class}\n".to_string()),
        Just("| a | b |\n|---|---|\n| 1 | 2 |\n".to_string()),
        Just("[^1]\n\n[^1]: note\n".to_string()),
        Just("url(\"a.png\") @import 'b.css';".to_string()),
        "\\PC{0,12}",
        "[\\x00-\\x7f]{0,8}",
    ];
    prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
}

/// Runs `check` on random inputs of `strategy`; a panic fails the test with the input.
fn fuzz<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value) + std::panic::RefUnwindSafe)
where
    S::Value: std::fmt::Debug + Clone,
{
    let mut r = runner();
    let start = std::time::Instant::now();
    r.run(&strategy, |v| {
        if start.elapsed() < std::time::Duration::from_secs(120) {
            check(v);
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("fuzz target `{name}`: {e}"));
}

#[test]
fn front_matter_split_and_parse_never_panic() {
    fuzz("front matter", site_text(), |text| {
        if let Ok(split) = front_matter::split("a.md", &text) {
            let _ = front_matter::parse::<front_matter::PageFrontMatter>("a.md", &text, &split);
            let _ = front_matter::parse::<front_matter::SectionFrontMatter>("a.md", &text, &split);
        }
    });
}

#[test]
fn config_parsing_never_panics() {
    let keys = prop_oneof![
        Just("base_url = \"https://e.com\"\n"),
        Just("base_url = 3\n"),
        Just("language = \"fr\"\n"),
        Just("[languages.ja]\ntitle = \"t\"\n"),
        Just("[languages.x y]\n"),
        Just("[[taxonomies]]\nname = \"tags\"\n"),
        Just("[markdown]\nhighlight_theme = \"nope\"\n"),
        Just("[[deploy.targets]]\nname = \"t\"\nbucket = \"b\"\nprefix = \"p\"\n"),
        Just("keep_superseded = \"soon\"\n"),
        Just("[slugify]\npaths = \"safe\"\n"),
        Just("= = =\n"),
        Just("\u{0}\n"),
    ];
    let text = prop::collection::vec(keys, 0..10).prop_map(|v| v.concat());
    fuzz("config", text, |t| {
        let _ = Config::parse("config.toml", &t);
    });
    fuzz("config, any text", "\\PC{0,200}", |t| {
        let _ = Config::parse("config.toml", &t);
    });
}

/// Markdown with every extension and both shortcode rules, through the real renderer.
#[test]
fn markdown_rendering_never_panics() {
    let highlighter = sitegen::highlight::Highlighter::new(&["InspiredGitHub"]);
    let mut md = sitegen::config::MarkdownConfig {
        github_alerts: true,
        ..Default::default()
    };
    let resolve = |p: &str, _: &str| Some((p.to_string(), format!("https://e.com/{p}")));
    let resolve_asset = |_: &str| None;
    let source_exists = |p: &str| p.ends_with("a.md");
    for rules in [
        sitegen::config::ShortcodeRules::Sitegen,
        sitegen::config::ShortcodeRules::Zola,
    ] {
        md.shortcode_rules = rules;
        let env = sitegen::markdown::Env {
            config: &md,
            base_url: "https://e.com",
            highlighter: &highlighter,
            resolve: &resolve,
            resolve_asset: &resolve_asset,
            source_exists: &source_exists,
            shortcodes: &sitegen::markdown::NoShortcodes,
            images: None,
            anchors: sitegen::paths::Slugify::On,
        };
        let env = std::panic::AssertUnwindSafe(&env);
        fuzz("markdown", site_text(), |text| {
            let input = sitegen::markdown::Input {
                env: &env,
                origin: "a.md",
                key: "a.md",
                text: &text,
                body_offset: 0,
                page_dir: "content/",
                lang: "en",
                anchor_links: sitegen::config::AnchorLinks::Left,
            };
            let _ = sitegen::markdown::render_all(&input);
        });
    }
}

#[test]
fn html_attributes_and_css_references_never_panic() {
    let html = prop::collection::vec(
        prop_oneof![
            Just("<a href=\"x\">".to_string()),
            Just("<img src='y' srcset=\"a 1x, b 2x\">".to_string()),
            Just("<!-- <a href=z> -->".to_string()),
            Just("<script>var a = '<a href=q>';</script>".to_string()),
            Just("<a href=unquoted title=\"t\"".to_string()),
            Just("<".to_string()),
            "\\PC{0,10}",
        ],
        0..20,
    )
    .prop_map(|v| v.concat());
    fuzz("html attributes", html, |h| {
        let _ = sitegen::html::attributes(&h);
    });
    fuzz("css references", site_text(), |css| {
        for r in sitegen::assets::css::find_refs(&css) {
            let _ = sitegen::assets::css::resolve("css/site.css", &r.url, "");
        }
    });
}

#[test]
fn image_header_probing_never_panics() {
    // Real headers, then cut or with random bytes spliced in.
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(3, 2)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut jpg = Vec::new();
    image::DynamicImage::new_rgb8(3, 2)
        .write_to(&mut std::io::Cursor::new(&mut jpg), image::ImageFormat::Jpeg)
        .unwrap();
    let seeds = [
        png,
        jpg,
        b"GIF89a\x01\x00\x01\x00".to_vec(),
        b"RIFF\x00\x00\x00\x00WEBPVP8 ".to_vec(),
    ];
    let strategy = (
        0..seeds.len(),
        any::<usize>(),
        prop::collection::vec(any::<u8>(), 0..64),
        any::<usize>(),
    );
    fuzz("image probe", strategy, move |(i, cut, noise, at)| {
        let mut b = seeds[i].clone();
        b.truncate(cut % (b.len() + 1));
        let at = at % (b.len() + 1);
        b.splice(at..at, noise);
        let _ = sitegen::images::probe(&b, 100_000_000);
    });
}

/// Seeds for the metadata stripper: real files of each format with EXIF (an orientation
/// among it), XMP and an ICC profile where the format has them.
fn metadata_seeds() -> Vec<Vec<u8>> {
    use image::ImageEncoder;
    use img_parts::{Bytes, ImageEXIF, ImageICC};
    let img = image::RgbImage::from_fn(9, 5, |x, y| image::Rgb([x as u8 * 20, y as u8 * 40, 7]));
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(sitegen::image_metadata::orientation_tiff(6));
    exif.extend(b"and more EXIF");
    let mut jpg = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 80);
    enc.set_icc_profile(b"icc".repeat(20)).unwrap();
    enc.write_image(img.as_raw(), 9, 5, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut j = img_parts::jpeg::Jpeg::from_bytes(jpg.into()).unwrap();
    j.set_exif(Some(Bytes::copy_from_slice(&exif[6..])));
    j.segments_mut().insert(
        1,
        img_parts::jpeg::JpegSegment::new_with_contents(
            0xE1,
            Bytes::from_static(b"http://ns.adobe.com/xap/1.0/\0<x/>"),
        ),
    );
    let mut jpg = j.encoder().bytes().to_vec();
    jpg.extend(b"\xFF\xD8 a second image after the first");
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(img.as_raw(), 9, 5, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut p = img_parts::png::Png::from_bytes(png.into()).unwrap();
    p.set_exif(Some(Bytes::copy_from_slice(&exif[6..])));
    p.set_icc_profile(Some(Bytes::from_static(b"icc profile")));
    p.chunks_mut().insert(
        1,
        img_parts::png::PngChunk::new(*b"tEXt", Bytes::from_static(b"Author\0me")),
    );
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .write_image(img.as_raw(), 9, 5, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut w = img_parts::webp::WebP::from_bytes(webp.into()).unwrap();
    w.set_icc_profile(Some(Bytes::from_static(b"icc")));
    w.set_exif(Some(Bytes::copy_from_slice(&exif)));
    vec![jpg, p.encoder().bytes().to_vec(), w.encoder().bytes().to_vec()]
}

#[test]
fn metadata_stripping_never_panics_nor_grows_and_leaves_nothing_to_strip() {
    let seeds = metadata_seeds();
    for s in &seeds {
        let out = sitegen::image_metadata::strip(s)
            .unwrap()
            .expect("each seed has metadata");
        assert!(out.len() < s.len());
        assert!(image::load_from_memory(&out).is_ok(), "a stripped seed still decodes");
    }
    // Real files cut short, with random bytes spliced in or written over, or random bytes
    // behind a real signature.
    let strategy = (
        0..seeds.len() + 1,
        prop::option::of(any::<usize>()),
        prop::collection::vec(any::<u8>(), 0..64),
        any::<usize>(),
        any::<bool>(),
    );
    fuzz("image metadata", strategy, move |(i, cut, noise, at, overwrite)| {
        let mut b = match seeds.get(i) {
            Some(s) => s.clone(),
            None => b"\xFF\xD8\xFF\xE1".to_vec(),
        };
        if let Some(cut) = cut {
            b.truncate(cut % (b.len() + 1));
        }
        let at = at % (b.len() + 1);
        if overwrite {
            let end = (at + noise.len()).min(b.len());
            b[at..end].copy_from_slice(&noise[..end - at]);
        } else {
            b.splice(at..at, noise);
        }
        if let Ok(Some(out)) = sitegen::image_metadata::strip(&b) {
            assert!(
                out.len() <= b.len() + sitegen::image_metadata::MAX_GROWTH,
                "{} bytes became {}",
                b.len(),
                out.len()
            );
            assert_eq!(
                sitegen::image_metadata::strip(&out),
                Ok(None),
                "a stripped copy has nothing left to strip"
            );
        }
    });
}

fn headers(path: &str, immutable: bool) -> Headers {
    HeaderRules::default().headers(path, immutable, None)
}

fn settings(prefix: &str, max_deletes: usize) -> PlanSettings {
    PlanSettings {
        target: "t".into(),
        bucket: "b".into(),
        prefix: prefix.into(),
        path_prefix: format!("/{prefix}"),
        distributions: vec!["E1".into()],
        max_deletes,
        max_invalidation_paths: 15,
        keep_superseded: 0,
        multipart_threshold: 64 * 1024 * 1024,
        force: false,
        now: 1_700_000_000,
    }
}

/// One file: (name index, content index, fingerprinted).
type Spec = (u8, u8, bool);

const NAMES: &[&str] = &[
    "index.html",
    "a/index.html",
    "b/index.html",
    "css/site.0011223344.css",
    "css/site.5566778899.css",
    "img/x.aabbccddee.png",
    "feed.xml",
    "robots.txt",
    "manifest.json",
    "fonts/f.ttf",
];

/// The publish planner, for random output folders and buckets (with and without records,
/// ETags missing, objects replaced behind sitegen's back): no delete outside the prefix or
/// above `max_deletes`; every page goes after every asset; after a complete run the next
/// state describes exactly what the bucket then holds, and planning again finds nothing to do.
#[test]
fn the_publish_planner_keeps_its_rules() {
    let file = (0..NAMES.len() as u8, 0..4u8, any::<bool>());
    let remote = (0..NAMES.len() as u8, 0..4u8, 0..3u8);
    let strategy = (
        prop::collection::vec(file, 0..10),
        prop::collection::vec(remote, 0..10),
        prop_oneof![Just(""), Just("site/")],
        0..6usize,
        any::<bool>(),
    );
    fuzz(
        "publish planner",
        strategy,
        |(local_specs, remote_specs, prefix, max_deletes, etags)| {
            let content = |c: u8| format!("content {c}");
            let sha = |s: &str| sitegen::paths::hex(&<sha2::Sha256 as sha2::Digest>::digest(s.as_bytes()));
            let mut seen = BTreeSet::new();
            let local: Vec<LocalFile> = local_specs
                .iter()
                .filter(|(n, _, _)| seen.insert(*n))
                .map(|&(n, c, fp): &Spec| {
                    let path = NAMES[n as usize];
                    let immutable = fp && path.contains('.') && !path.ends_with(".html");
                    LocalFile {
                        path: path.into(),
                        sha256: sha(&content(c)),
                        size: content(c).len() as u64,
                        headers: headers(path, immutable),
                        immutable,
                    }
                })
                .collect();
            // The bucket: objects under the prefix (recorded, unrecorded, or replaced behind
            // sitegen's back) and one outside it.
            let mut state = PublishState::default();
            let mut listing = vec![RemoteObject {
                key: "outside/keep.txt".into(),
                size: 1,
                etag: String::new(),
            }];
            let mut seen = BTreeSet::new();
            for &(n, c, kind) in &remote_specs {
                if !seen.insert(n) {
                    continue;
                }
                let path = NAMES[n as usize];
                let etag = if etags {
                    format!("\"{}\"", &sha(&content(c))[..8])
                } else {
                    String::new()
                };
                listing.push(RemoteObject {
                    key: path.into(),
                    size: content(c).len() as u64,
                    etag: etag.clone(),
                });
                if kind > 0 {
                    // Recorded; kind 2: replaced since (another sha, same size and ETag form).
                    let recorded = if kind == 2 { content((c + 1) % 4) } else { content(c) };
                    state.objects.insert(
                        path.into(),
                        Record {
                            sha256: sha(&recorded),
                            size: recorded.len() as u64,
                            etag: if etags {
                                format!("\"{}\"", &sha(&recorded)[..8])
                            } else {
                                String::new()
                            },
                            headers: headers(path, false),
                            immutable: false,
                            superseded_at: None,
                        },
                    );
                }
            }
            // The planner sees keys relative to the prefix; `outside/` is not under `site/`.
            let listing: Vec<RemoteObject> = listing
                .into_iter()
                .filter(|o| prefix.is_empty() || o.key != "outside/keep.txt")
                .collect();
            let index = RemoteIndex::new(listing.clone(), Some(state), 1);
            let filter = PathFilter::new(&[], &["outside/**".to_string()]).unwrap();
            let s = settings(prefix, max_deletes);
            let p = plan(&local, &index, &filter, &s);
            // Deletes: only bucket keys, never excluded ones, never above the limit.
            assert!(
                p.deletes.len() <= max_deletes,
                "{} deletes > {max_deletes}",
                p.deletes.len()
            );
            for d in &p.deletes {
                assert!(
                    d.key.starts_with(prefix),
                    "delete {} outside the prefix {prefix}",
                    d.key
                );
                assert!(!d.path.starts_with("outside/"), "deleted an excluded key");
                assert!(
                    listing.iter().any(|o| o.key == d.path),
                    "deleted {} that is not there",
                    d.path
                );
            }
            // Pages after assets.
            let phases: Vec<_> = p.uploads.iter().map(|u| u.phase).collect();
            assert!(
                phases.windows(2).all(|w| w[0] <= w[1]),
                "phases out of order: {phases:?}"
            );
            // A complete run: the next state is what the bucket holds, and a second plan is a no-op.
            if p.held_deletes.is_empty() {
                let outcome = Outcome {
                    uploaded: p
                        .uploads
                        .iter()
                        .enumerate()
                        .map(|(i, u)| (i, format!("\"{}\"", &u.sha256[..8])))
                        .collect(),
                    deleted: (0..p.deletes.len()).collect(),
                    invalidated: true,
                };
                let next = next_state(&p, &outcome);
                assert!(next.changing.is_empty(), "a complete run confirms every key");
                let mut bucket: Vec<RemoteObject> = listing
                    .iter()
                    .filter(|o| {
                        !p.deletes.iter().any(|d| d.path == o.key) && !p.uploads.iter().any(|u| u.path == o.key)
                    })
                    .cloned()
                    .collect();
                for u in &p.uploads {
                    bucket.push(RemoteObject {
                        key: u.path.clone(),
                        size: u.size,
                        etag: format!("\"{}\"", &u.sha256[..8]),
                    });
                }
                for (k, r) in &next.objects {
                    let o = bucket.iter().find(|o| &o.key == k);
                    assert!(
                        o.is_some_and(|o| o.size == r.size),
                        "state names {k}, which the bucket does not hold"
                    );
                }
                let again = plan(&local, &RemoteIndex::new(bucket, Some(next), 1), &filter, &s);
                assert!(
                    again.uploads.is_empty() && again.deletes.is_empty(),
                    "a second plan has work: {:?}",
                    again.uploads
                );
            }
        },
    );
}
