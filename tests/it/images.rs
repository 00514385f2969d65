//! The image pipeline: `resize_image`, `image_set`, Markdown images, EXIF orientation and
//! stripping, alpha, the content-addressed cache (counted decodes, not timings), bad input.

use std::sync::Arc;

use image::{GenericImageView, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};
use sitegen::build::{BuildOptions, BuildResult, Builder};
use sitegen::config::Config;
use sitegen::error::Errors;
use sitegen::source::SourceTree;

use crate::harness::{snapshot_dir, TestSite};

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

/// Top left red, top right green, bottom left blue, bottom right white.
pub(crate) fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(match (x < w / 2, y < h / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        })
    })
}

pub(crate) fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// A JPEG with an EXIF block (orientation + a description that must not leak) and an
/// optional ICC profile.
fn jpeg(img: &RgbImage, orientation: u16, icc: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
    if let Some(icc) = icc {
        enc.set_icc_profile(icc.to_vec()).unwrap();
    }
    enc.write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
        .unwrap();
    // EXIF, little endian: IFD0 with ImageDescription (0x010E) and Orientation (0x0112).
    let desc = b"secret-location 48.8584N 2.2945E\0";
    let mut tiff = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    tiff.extend(2u16.to_le_bytes());
    tiff.extend(0x010Eu16.to_le_bytes());
    tiff.extend(2u16.to_le_bytes());
    tiff.extend((desc.len() as u32).to_le_bytes());
    tiff.extend(38u32.to_le_bytes());
    tiff.extend(0x0112u16.to_le_bytes());
    tiff.extend(3u16.to_le_bytes());
    tiff.extend(1u32.to_le_bytes());
    tiff.extend((orientation as u32).to_le_bytes());
    tiff.extend(0u32.to_le_bytes());
    assert_eq!(tiff.len(), 38);
    tiff.extend(desc);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((payload.len() + 2) as u16).to_be_bytes());
    app1.extend(payload);
    let mut with = out[..2].to_vec();
    with.extend(app1);
    with.extend(&out[2..]);
    with
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

const CONFIG: &str = "base_url = \"https://example.com\"\ntitle = \"Images\"\n[[taxonomies]]\nname = \"tags\"\n";

/// A site whose `gallery` page renders `body` with the `gallery.html` template.
pub(crate) fn site(template: &str, extra_config: &str) -> TestSite {
    let s = TestSite::starter();
    s.write("config.toml", format!("{CONFIG}{extra_config}"));
    s.write("site/templates/gallery.html", template);
    s.write(
        "site/content/gallery/index.md",
        "+++\ntitle = \"Gallery\"\ntemplate = \"gallery.html\"\n+++\n",
    );
    s
}

/// Builds through `builder` with the image cache in the site's `.sitegen/cache`.
fn build(s: &TestSite, builder: &mut Builder) -> Result<BuildResult, Errors> {
    let text = std::fs::read_to_string(s.path("config.toml")).unwrap();
    let mut config = Config::parse("config.toml", &text).map_err(Errors::sorted)?;
    config.image_cache = Some(s.path(".sitegen/cache"));
    let tree = SourceTree::read(s.root(), &config).map_err(Errors::sorted)?;
    Ok(builder.build(Arc::new(tree), Arc::new(config), &BuildOptions::default())?)
}

fn ok(s: &TestSite) -> BuildResult {
    build(s, &mut Builder::default()).unwrap_or_else(|e| panic!("build failed:\n{e}"))
}

fn file<'a>(r: &'a BuildResult, path: &str) -> &'a [u8] {
    &r.plan
        .files
        .get(path)
        .unwrap_or_else(|| panic!("no output `{path}`: {:?}", r.plan.files.keys().collect::<Vec<_>>()))
        .bytes
}

fn page(r: &BuildResult) -> String {
    String::from_utf8(file(r, "gallery/index.html").to_vec()).unwrap()
}

/// `url|width|height|orig_width|orig_height` lines → (output path, w, h, ow, oh).
fn results(html: &str) -> Vec<(String, u32, u32, u32, u32)> {
    html.lines()
        .filter(|l| l.starts_with("R|"))
        .map(|l| {
            let p: Vec<&str> = l.split('|').collect();
            (
                p[1].trim_start_matches("https://example.com/").to_string(),
                p[2].parse().unwrap(),
                p[3].parse().unwrap(),
                p[4].parse().unwrap(),
                p[5].parse().unwrap(),
            )
        })
        .collect()
}

const R: &str = "R|{{ r.url }}|{{ r.width }}|{{ r.height }}|{{ r.orig_width }}|{{ r.orig_height }}\n";

#[test]
fn resize_image_ops_formats_and_real_output_sizes() {
    let calls = [
        "path='img/q.png', width=100, op='fit_width'",
        "path='img/q.png', height=50, op='fit_height'",
        "path='img/q.png', width=100, height=100, op='fit'",
        "path='img/q.png', width=50, height=50, op='fill', anchor='left'",
        "path='img/q.png', width=30, height=70, op='scale', format='jpeg'",
        "path='/img/q.png', width=120, format='webp', quality=60",
        "path='static/img/q.png', width=120, format='webp_lossless'",
        "path='img/q.png', width=64, format='avif'",
        "path='img/q.png', width=10000, height=10000, op='fit'",
    ];
    let mut t = String::new();
    for c in calls {
        t.push_str(&format!("{{% set r = resize_image({c}) %}}{R}"));
    }
    let s = site(&t, "");
    s.write("site/static/img/q.png", png(&quadrants(400, 200)));
    let r = ok(&s);
    let got = results(&page(&r));
    let expect = [
        (100, 50, image::ImageFormat::Jpeg),
        (100, 50, image::ImageFormat::Jpeg),
        (100, 50, image::ImageFormat::Jpeg),
        (50, 50, image::ImageFormat::Jpeg),
        (30, 70, image::ImageFormat::Jpeg),
        (120, 60, image::ImageFormat::WebP),
        (120, 60, image::ImageFormat::WebP),
        (64, 32, image::ImageFormat::Avif),
        (400, 200, image::ImageFormat::Jpeg),
    ];
    assert_eq!(got.len(), expect.len());
    for ((path, w, h, ow, oh), (ew, eh, fmt)) in got.iter().zip(expect) {
        assert_eq!((*w, *h, *ow, *oh), (ew, eh, 400, 200), "{path}");
        assert!(path.starts_with("processed_images/q."), "{path}");
        let bytes = file(&r, path);
        assert_eq!(image::guess_format(bytes).unwrap(), fmt, "{path}");
        assert!(r.plan.files[path].immutable);
        if fmt != image::ImageFormat::Avif {
            let img = image::load_from_memory(bytes).unwrap();
            assert_eq!(img.dimensions(), (ew, eh), "{path}");
        }
    }
    // fill + left anchor keeps the left square: red on top, blue below, no green.
    let fill = image::load_from_memory(file(&r, &got[3].0)).unwrap().to_rgb8();
    assert_near(fill.get_pixel(25, 5).0, RED);
    assert_near(fill.get_pixel(25, 45).0, BLUE);
    // Lossless WebP keeps the exact colours.
    let ll = image::load_from_memory(file(&r, &got[6].0)).unwrap().to_rgb8();
    assert_eq!(ll.get_pixel(5, 5).0, RED);
}

fn assert_near(got: [u8; 3], want: [u8; 3]) {
    let d = got
        .iter()
        .zip(want)
        .map(|(a, b)| (*a as i32 - b as i32).abs())
        .max()
        .unwrap();
    assert!(d < 40, "colour {got:?}, expected about {want:?}");
}

#[test]
fn every_exif_orientation_is_applied_and_exif_is_stripped() {
    // Where the stored top-left (red) and top-right (green) corners are shown, per
    // orientation: 0 = top left, 1 = top right, 2 = bottom left, 3 = bottom right.
    let red_at = [0, 1, 3, 2, 0, 1, 3, 2];
    let green_at = [1, 0, 2, 3, 2, 3, 1, 0];
    let mut t = String::new();
    for o in 1..=8 {
        t.push_str(&format!(
            "{{% set r = resize_image(path='o{o}.jpg', width=40, format='png') %}}{R}"
        ));
        t.push_str(&format!(
            "{{% set r = resize_image(path='o{o}.jpg', width=40, format='jpeg') %}}{R}"
        ));
        t.push_str(&format!(
            "{{% set r = resize_image(path='o{o}.jpg', width=40, format='webp') %}}{R}"
        ));
    }
    let s = site(&t, "");
    // 160 x 80 stored: each orientation shows it 160 x 80 (1-4) or 80 x 160 (5-8).
    for o in 1..=8u16 {
        s.write(
            &format!("site/content/gallery/o{o}.jpg"),
            jpeg(&quadrants(160, 80), o, None),
        );
    }
    let r = ok(&s);
    let got = results(&page(&r));
    assert_eq!(got.len(), 24);
    for o in 1..=8usize {
        let (png_path, w, h, ow, oh) = &got[(o - 1) * 3];
        let (ew, eh) = if o >= 5 { (80, 160) } else { (160, 80) };
        assert_eq!((*ow, *oh), (ew, eh), "orientation {o}");
        assert_eq!((*w, *h), (40, 40 * eh / ew), "orientation {o}");
        let img = image::load_from_memory(file(&r, png_path)).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (*w, *h), "orientation {o}");
        let corner = |c: usize| {
            let (x, y) = match c {
                0 => (2, 2),
                1 => (w - 3, 2),
                2 => (2, h - 3),
                _ => (w - 3, h - 3),
            };
            img.get_pixel(x, y).0
        };
        assert_near(corner(red_at[o - 1]), RED);
        assert_near(corner(green_at[o - 1]), GREEN);
        for (path, ..) in &got[(o - 1) * 3..o * 3] {
            let bytes = file(&r, path);
            assert!(!contains(bytes, b"secret-location"), "{path} leaks EXIF");
            assert!(!contains(bytes, b"Exif\0\0"), "{path} has an EXIF block");
        }
    }
}

#[test]
fn alpha_is_kept_by_auto_and_icc_profiles_are_kept_in_jpeg() {
    let t = format!(
        "{{% set r = resize_image(path='a.png', width=20) %}}{R}{{% set r = resize_image(path='c.jpg', width=50) %}}{R}"
    );
    let s = site(&t, "");
    let alpha = RgbaImage::from_fn(40, 40, |x, _| {
        if x < 20 {
            Rgba([0, 0, 255, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let mut a = Vec::new();
    image::codecs::png::PngEncoder::new(&mut a)
        .write_image(alpha.as_raw(), 40, 40, image::ExtendedColorType::Rgba8)
        .unwrap();
    s.write("site/content/gallery/a.png", a);
    let icc = b"fake-icc-profile-bytes-for-the-test".repeat(10);
    s.write("site/content/gallery/c.jpg", jpeg(&quadrants(100, 100), 1, Some(&icc)));
    let r = ok(&s);
    let got = results(&page(&r));
    assert!(got[0].0.ends_with(".png"), "auto keeps PNG for alpha: {}", got[0].0);
    let out = image::load_from_memory(file(&r, &got[0].0)).unwrap();
    assert!(out.color().has_alpha());
    assert_eq!(
        out.to_rgba8().get_pixel(18, 10).0[3],
        0,
        "transparent half stays transparent"
    );
    assert_eq!(out.to_rgba8().get_pixel(1, 10).0[3], 255);
    assert!(got[1].0.ends_with(".jpg"), "auto picks JPEG without alpha");
    assert!(contains(file(&r, &got[1].0), &icc), "the ICC profile is kept");
}

#[test]
fn a_second_build_decodes_and_encodes_nothing() {
    let t = format!(
        "{{% set r = resize_image(path='p.jpg', width=100) %}}{R}{{% set s = image_set(path='p.jpg', widths=[50, 100, 5000], formats=['webp', 'jpeg']) %}}S|{{{{ s.src }}}}|{{{{ s.srcset }}}}|{{% for x in s.sources %}}{{{{ x.mime }}}};{{% endfor %}}\n"
    );
    let s = site(&t, "");
    s.write("site/content/gallery/p.jpg", jpeg(&quadrants(2000, 1000), 1, None));
    s.write("site/content/gallery/other.png", png(&quadrants(1000, 1000)));
    s.write(
        "site/content/more.md",
        "+++\ntitle = \"More\"\n+++\n![a photo](gallery/p.jpg)\n![other](gallery/other.png)\n",
    );
    let first = ok(&s);
    assert_eq!(
        first.stats.images_decoded, 2,
        "one decode per source, whatever the outputs"
    );
    assert!(first.stats.images_encoded >= 6, "{:?}", first.stats);
    assert_eq!(first.stats.images_cached, 0);
    let html = page(&first);
    let set = html.lines().find(|l| l.starts_with("S|")).unwrap();
    assert!(
        set.contains(" 50w, ") && set.contains(" 2000w"),
        "widths above the original become the original: {set}"
    );
    assert!(set.ends_with("image/webp;image/jpeg;"), "{set}");

    // A new builder (a new process) with the same cache folder: nothing decoded or encoded.
    let mut b = Builder::default();
    let second = build(&s, &mut b).unwrap();
    assert_eq!(second.stats.images_decoded, 0);
    assert_eq!(second.stats.images_encoded, 0);
    assert_eq!(second.stats.images_cached, first.stats.images_encoded);
    for (path, f) in &first.plan.files {
        assert_eq!(second.plan.files[path].bytes, f.bytes, "{path}");
    }
    // The same builder again (serve): from memory.
    let third = build(&s, &mut b).unwrap();
    assert_eq!((third.stats.images_decoded, third.stats.images_encoded), (0, 0));

    // A changed image: only its outputs are made again.
    s.write("site/content/gallery/other.png", png(&quadrants(1000, 600)));
    let fourth = build(&s, &mut b).unwrap();
    assert_eq!(fourth.stats.images_decoded, 1);
    let md = String::from_utf8(file(&fourth, "more/index.html").to_vec()).unwrap();
    assert!(
        md.contains("width=\"1000\" height=\"600\""),
        "Markdown picks up the new size: {md}"
    );
}

#[test]
fn markdown_images_get_size_lazy_loading_and_srcset() {
    let s = site("{{ page.content | safe }}", "");
    s.write("site/content/gallery/index.md", "+++\ntitle = \"G\"\ntemplate = \"gallery.html\"\n+++\n![A *big* photo](big.jpg \"Title\")\n\n![small](/img/small.png)\n\n![remote](https://example.org/x.jpg)\n");
    s.write("site/content/gallery/big.jpg", jpeg(&quadrants(2000, 1000), 1, None));
    s.write("site/static/img/small.png", png(&quadrants(300, 100)));
    let r = ok(&s);
    let html = page(&r);
    let big = html.lines().find(|l| l.contains("big.jpg")).unwrap();
    assert!(big.contains("alt=\"A big photo\" title=\"Title\" width=\"2000\" height=\"1000\" loading=\"lazy\" decoding=\"async\" srcset=\""), "{big}");
    for w in [480, 960, 1600] {
        assert!(big.contains(&format!(" {w}w")), "{big}");
    }
    assert!(big.contains("big.jpg 2000w\" sizes="), "{big}");
    let small = html.lines().find(|l| l.contains("small")).unwrap();
    assert!(small.contains("width=\"300\" height=\"100\""), "{small}");
    assert!(!small.contains("srcset"), "no width below 300 is configured: {small}");
    assert!(
        html.contains("<img src=\"https://example.org/x.jpg\" alt=\"remote\" />"),
        "{html}"
    );
    let made: Vec<&String> = r
        .plan
        .files
        .keys()
        .filter(|k| k.starts_with("processed_images/big."))
        .collect();
    assert_eq!(made.len(), 3, "{made:?}");

    // Turned off: sizes stay, srcset and lazy loading go.
    s.write(
        "config.toml",
        format!("{CONFIG}[images]\nmarkdown_widths = []\nmarkdown_lazy = false\n"),
    );
    let html = page(&ok(&s));
    let big = html.lines().find(|l| l.contains("big.jpg")).unwrap();
    assert!(
        big.contains("width=\"2000\"") && !big.contains("srcset") && !big.contains("lazy"),
        "{big}"
    );
}

#[test]
fn bad_images_are_clear_errors_naming_the_file() {
    let mut big = jpeg(&quadrants(16, 16), 1, None);
    // Patch the frame header to claim 50,000 x 50,000 pixels.
    let sof = big.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    big[sof + 5..sof + 7].copy_from_slice(&50_000u16.to_be_bytes());
    big[sof + 7..sof + 9].copy_from_slice(&50_000u16.to_be_bytes());
    let good = jpeg(&quadrants(400, 400), 1, None);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.jpg", vec![], "empty"),
        ("text.jpg", b"this is not an image at all".to_vec(), "not an image"),
        ("bomb.jpg", big, "50000 x 50000"),
        ("cut.jpg", good[..good.len() / 2].to_vec(), "truncated"),
    ];
    for (name, bytes, expect) in cases {
        let t = format!("{{% set r = resize_image(path='{name}', width=100) %}}{R}");
        let s = site(&t, "");
        s.write(&format!("site/content/gallery/{name}"), &bytes);
        let e = build(&s, &mut Builder::default()).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(&format!("content/gallery/{name}")), "{name}: {e}");
        assert!(e.contains(expect), "{name}: {e}");
        // Nothing half-made went into the cache.
        let cached = s.path(".sitegen/cache/images");
        let n = walk_files(&cached);
        assert_eq!(n, 0, "{name}: cache entries after a failure");
    }
    // In Markdown, the error points at the image's line and column.
    let s = site("{{ page.content | safe }}", "");
    s.write(
        "site/content/gallery/index.md",
        "+++\ntitle = \"G\"\ntemplate = \"gallery.html\"\n+++\nText.\n\nSee ![x](text.jpg)\n",
    );
    s.write("site/content/gallery/text.jpg", "not an image");
    let e = build(&s, &mut Builder::default()).map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("index.md:7:5") && e.contains("not an image"), "{e}");
}

#[test]
fn the_pixel_limit_is_configurable() {
    let t = format!("{{% set r = resize_image(path='p.png', width=10) %}}{R}");
    let s = site(&t, "[images]\nmax_pixels = 5000\n");
    s.write("site/content/gallery/p.png", png(&quadrants(100, 100)));
    let e = build(&s, &mut Builder::default()).map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("more than images.max_pixels = 5000"), "{e}");
    s.write("config.toml", format!("{CONFIG}[images]\nmax_pixels = 10000\n"));
    ok(&s);
}

fn walk_files(dir: &std::path::Path) -> usize {
    if !dir.exists() {
        return 0;
    }
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count()
}

#[test]
fn cli_build_caches_and_cache_prune_removes_what_the_site_no_longer_uses() {
    let s = site(&format!("{{% set r = resize_image(path='p.png', width=40) %}}{R}"), "");
    s.write("site/content/gallery/p.png", png(&quadrants(100, 100)));
    s.cmd(&["build", "-q"]).assert().success();
    let cache = s.path(".sitegen/cache/images");
    assert_eq!(walk_files(&cache), 1);
    let out = snapshot_dir(&s.path("public"));
    assert_eq!(out.keys().filter(|k| k.starts_with("processed_images/")).count(), 1);

    s.write(
        "site/templates/gallery.html",
        format!("{{% set r = resize_image(path='p.png', width=30) %}}{R}"),
    );
    s.cmd(&["build", "-q"]).assert().success();
    assert_eq!(walk_files(&cache), 2, "the old entry stays until pruned");
    let o = s
        .cmd(&["cache", "prune"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let o = String::from_utf8(o).unwrap();
    assert!(o.contains("removed 1 "), "{o}");
    assert_eq!(walk_files(&cache), 1);

    // A truncated image fails the build and leaves public/ as it was.
    let before = snapshot_dir(&s.path("public"));
    let good = jpeg(&quadrants(400, 400), 1, None);
    s.write("site/content/gallery/p.png", &good[..good.len() / 3]);
    let e = s.cmd(&["build"]).assert().failure().get_output().stderr.clone();
    let e = String::from_utf8(e).unwrap();
    assert!(e.contains("p.png"), "{e}");
    assert_eq!(snapshot_dir(&s.path("public")), before);
}

/// `sitegen check` plans images without making them: no cache folder appears, nothing is
/// decoded, and a link to a processed image is not reported as broken.
#[test]
fn check_lists_images_without_making_them_or_touching_the_cache() {
    let s = site(
        &format!("{{% set r = resize_image(path='p.png', width=40) %}}<a href=\"{{{{ r.url }}}}\">x</a>{R}"),
        "",
    );
    s.write("site/content/gallery/p.png", png(&quadrants(100, 100)));
    s.write(
        "site/content/gallery/index.md",
        "+++\ntitle = \"Gallery\"\ntemplate = \"gallery.html\"\n+++\n![a](p.png)\n",
    );
    let o = s.cmd(&["check"]).assert().success().get_output().stdout.clone();
    let o = String::from_utf8(o).unwrap();
    assert!(o.contains("no broken internal links"), "{o}");
    assert!(!s.path(".sitegen").exists(), "check wrote the image cache");

    // Through the library: the plan lists the jobs, and making them fills the plan.
    let text = std::fs::read_to_string(s.path("config.toml")).unwrap();
    let config = Arc::new(Config::parse("config.toml", &text).unwrap());
    let tree = Arc::new(SourceTree::read(s.root(), &config).unwrap());
    let mut b = Builder::default();
    let mut r = b.plan(tree.clone(), config.clone(), &BuildOptions::default()).unwrap();
    assert_eq!(
        r.images.len(),
        1,
        "one resized copy: the template's 40px (the Markdown image is too small for a srcset)"
    );
    assert!(!r.plan.files.keys().any(|k| k.starts_with("processed_images/")));
    assert_eq!(r.stats.images_decoded, 0);
    b.make_images(&mut r, &tree, &config, false).unwrap();
    assert!(r.images.is_empty());
    assert_eq!(
        r.plan
            .files
            .keys()
            .filter(|k| k.starts_with("processed_images/"))
            .count(),
        1
    );
    assert_eq!((r.stats.images_decoded, r.stats.images_encoded), (1, 1));
}

#[test]
fn wrong_arguments_are_errors_naming_the_template() {
    for (call, expect) in [
        (
            "image_set(path='p.png', widths='wide')",
            "`widths` must be an array of numbers",
        ),
        (
            "image_set(path='p.png', formats=[1])",
            "`formats` must be an array of strings",
        ),
        ("image_set(path='p.png', formats=['gif'])", "unknown format `gif`"),
        (
            "resize_image(path='p.png', width=10, op='stretch')",
            "unknown op `stretch`",
        ),
        ("resize_image(path='nope.png', width=10)", "image `nope.png` not found"),
        (
            "resize_image(path='p.png', width=10, height=10, anchor='middle')",
            "unknown anchor `middle`",
        ),
    ] {
        let s = site(&format!("{{% set r = {call} %}}{R}"), "");
        s.write("site/content/gallery/p.png", png(&quadrants(100, 100)));
        let e = build(&s, &mut Builder::default()).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("gallery.html") && e.contains(expect), "{call}: {e}");
    }
}

// Published originals: metadata removed losslessly, `images.strip_metadata`, `originals/`.

use img_parts::jpeg::Jpeg;
use img_parts::png::{Png, PngChunk};
use img_parts::webp::WebP;
use img_parts::{Bytes, ImageEXIF, ImageICC};

/// EXIF as a phone writes it, in short: IFD0 with the camera's make and serial, the
/// orientation and a pointer to a GPS IFD holding a latitude.
fn camera_tiff(orientation: u16) -> Vec<u8> {
    let make = b"SerialCam C0FFEE-1234\0";
    let mut t = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    t.extend(3u16.to_le_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        t.extend(tag.to_le_bytes());
        t.extend(kind.to_le_bytes());
        t.extend(count.to_le_bytes());
        t.extend(value.to_le_bytes());
    };
    entry(&mut t, 0x010F, 2, make.len() as u32, 50);
    entry(&mut t, 0x0112, 3, 1, u32::from(orientation));
    entry(&mut t, 0x8825, 4, 1, 72);
    t.extend(0u32.to_le_bytes());
    assert_eq!(t.len(), 50);
    t.extend(make);
    assert_eq!(t.len(), 72);
    t.extend(2u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0"));
    entry(&mut t, 0x0002, 5, 3, 102);
    t.extend(0u32.to_le_bytes());
    assert_eq!(t.len(), 102);
    for v in [48u32, 51, 30] {
        t.extend(v.to_le_bytes());
        t.extend(1u32.to_le_bytes());
    }
    t
}

const XMP: &[u8] = b"<x:xmpmeta><exif:GPSLatitude>48,51.5N</exif:GPSLatitude></x:xmpmeta>";
const ICC: &[u8] = b"an ICC profile, as bytes the pipeline must keep as they are";

/// What must not be in a published copy: the camera's make and serial, the GPS IFD's
/// latitude, XMP, IPTC, comments.
fn assert_no_metadata(path: &str, bytes: &[u8]) {
    for leak in [
        &b"SerialCam"[..],
        b"C0FFEE",
        &[48, 0, 0, 0, 1, 0, 0, 0, 51, 0, 0, 0],
        b"GPSLatitude",
        b"ns.adobe.com",
        b"Photoshop 3.0",
        b"8BIM",
        b"by the photographer",
    ] {
        assert!(
            !contains(bytes, leak),
            "{path} still has {:?}",
            String::from_utf8_lossy(leak)
        );
    }
}

fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend(((payload.len() + 2) as u16).to_be_bytes());
    s.extend(payload);
    s
}

/// A camera JPEG: EXIF (with GPS), XMP, IPTC and a comment before what the encoder wrote
/// (JFIF, the ICC profile, tables, the scan).
fn camera_jpeg(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let mut encoded = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, 90);
    enc.set_icc_profile(ICC.to_vec()).unwrap();
    enc.write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(camera_tiff(orientation));
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend(XMP);
    let mut out = encoded[..2].to_vec();
    out.extend(jpeg_segment(0xE1, &exif));
    out.extend(jpeg_segment(0xE1, &xmp));
    out.extend(jpeg_segment(
        0xED,
        b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x10\x1c\x02\x74\0\x0cSerialCam",
    ));
    out.extend(jpeg_segment(0xFE, b"shot by the photographer"));
    out.extend(&encoded[2..]);
    out
}

/// The segments of a JPEG that are not metadata (tables, frame, scan with all that
/// follows it), as bytes.
fn image_segments(bytes: &[u8]) -> Vec<Bytes> {
    let j = Jpeg::from_bytes(Bytes::copy_from_slice(bytes)).unwrap();
    j.segments()
        .iter()
        .filter(|s| !(0xE0..=0xEF).contains(&s.marker()) && s.marker() != 0xFE)
        .map(|s| s.clone().encoder().bytes())
        .collect()
}

fn same_pixels(a: &[u8], b: &[u8]) -> bool {
    image::load_from_memory(a).unwrap().to_rgba8() == image::load_from_memory(b).unwrap().to_rgba8()
}

/// The URLs of an `<img>`'s `src` and `srcset` in `html` whose alt is `alt`, without the
/// site's address.
fn img_urls(html: &str, alt: &str) -> (String, Vec<String>) {
    let tag = html
        .split("<img ")
        .find(|t| t.contains(&format!("alt=\"{alt}\"")))
        .unwrap_or_else(|| panic!("no <img alt=\"{alt}\"> in {html}"));
    let attr = |name: &str| {
        tag.split(&format!(" {name}=\""))
            .nth(1)
            .or_else(|| tag.strip_prefix(&format!("{name}=\"")))
            .map(|v| v[..v.find('"').unwrap()].to_string())
    };
    let strip = |u: &str| u.trim().trim_start_matches("https://example.com/").to_string();
    let src = strip(&attr("src").unwrap());
    let srcset = attr("srcset")
        .map(|s| s.split(", ").map(|c| strip(c.rsplit_once(' ').unwrap().0)).collect())
        .unwrap_or_default();
    (src, srcset)
}

#[test]
fn a_published_jpeg_original_loses_exif_xmp_and_iptc_losslessly_and_keeps_its_icc_profile() {
    let s = site("{{ page.content | safe }}", "");
    s.write(
        "site/content/gallery/index.md",
        "+++\ntitle = \"G\"\ntemplate = \"gallery.html\"\n+++\n![bundle](photo.jpg)\n\n![static](/img/s.jpg)\n\n![turned](turned.jpg)\n",
    );
    let photo = camera_jpeg(&quadrants(1200, 800), 1);
    let turned = camera_jpeg(&quadrants(600, 300), 6);
    s.write("site/content/gallery/photo.jpg", &photo);
    s.write("site/static/img/s.jpg", &photo);
    s.write("site/content/gallery/turned.jpg", &turned);
    let mut builder = Builder::default();
    let r = build(&s, &mut builder).unwrap();
    let html = page(&r);

    // The bundle's photo: `src` and the largest `srcset` candidate are the stripped copy,
    // under the URL the original has.
    let (src, srcset) = img_urls(&html, "bundle");
    assert_eq!(src, "photo.jpg", "relative to the page, as written");
    assert_eq!(srcset.last(), Some(&src), "{srcset:?}");
    let src = format!("gallery/{src}");
    // The static one is fingerprinted by its published bytes.
    let (static_src, _) = img_urls(&html, "static");
    let published_static = file(&r, &static_src);
    let hash = sitegen::paths::hex(&<sha2::Sha256 as sha2::Digest>::digest(published_static));
    assert_eq!(static_src, format!("img/s.{}.jpg", &hash[..10]));

    for path in [src.as_str(), static_src.as_str()] {
        let out = file(&r, path);
        assert_no_metadata(path, out);
        let parsed = Jpeg::from_bytes(Bytes::copy_from_slice(out)).unwrap();
        assert_eq!(parsed.exif(), None, "{path}: orientation 1 needs no EXIF");
        assert_eq!(
            parsed.icc_profile().as_deref(),
            Some(ICC),
            "{path}: the ICC profile is kept"
        );
        let markers: Vec<u8> = parsed.segments().iter().map(|s| s.marker()).collect();
        assert!(
            markers.starts_with(&[0xE0, 0xE2]),
            "{path}: JFIF, then ICC: {markers:x?}"
        );
        assert!(!markers.contains(&0xE1) && !markers.contains(&0xED) && !markers.contains(&0xFE));
        assert_eq!(
            image_segments(out),
            image_segments(&photo),
            "{path}: tables and scan data as they were"
        );
        assert!(same_pixels(out, &photo), "{path}: the same pixels");
        assert!(out.len() < photo.len());
    }

    // Orientation 6: a copy with an EXIF holding that tag alone, shown as the original is.
    let out = file(&r, "gallery/turned.jpg");
    assert_no_metadata("turned.jpg", out);
    let parsed = Jpeg::from_bytes(Bytes::copy_from_slice(out)).unwrap();
    assert_eq!(
        parsed.exif().as_deref(),
        Some(&sitegen::image_metadata::orientation_tiff(6)[..])
    );
    let probed = sitegen::images::probe(out, 1 << 30).unwrap();
    assert_eq!(probed, sitegen::images::probe(&turned, 1 << 30).unwrap());
    assert_eq!((probed.width, probed.height, probed.orientation), (300, 600, 6));
    assert_eq!(image_segments(out), image_segments(&turned));
    assert!(same_pixels(out, &turned));
    assert!(html.contains("alt=\"turned\" width=\"300\" height=\"600\""), "{html}");

    // The resized copies carry no metadata either.
    for (path, f) in r.plan.files.iter().filter(|(p, _)| p.starts_with("processed_images/")) {
        assert_no_metadata(path, &f.bytes);
    }

    // A rebuild reuses the stripped copy instead of making it again.
    let again = build(&s, &mut builder).unwrap();
    assert!(Arc::ptr_eq(
        &r.plan.files["gallery/photo.jpg"].bytes,
        &again.plan.files["gallery/photo.jpg"].bytes
    ));
}

/// A PNG with the given chunks added before its image data.
fn png_with(img: &RgbImage, icc: bool, extra: &[([u8; 4], &[u8])]) -> Vec<u8> {
    let mut encoded = Vec::new();
    let mut enc = image::codecs::png::PngEncoder::new(&mut encoded);
    if icc {
        enc.set_icc_profile(ICC.to_vec()).unwrap();
    }
    enc.write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut png = Png::from_bytes(encoded.into()).unwrap();
    let at = png.chunks().iter().position(|c| c.kind() == *b"IDAT").unwrap();
    for (i, (kind, data)) in extra.iter().enumerate() {
        png.chunks_mut()
            .insert(at + i, PngChunk::new(*kind, Bytes::copy_from_slice(data)));
    }
    png.encoder().bytes().to_vec()
}

fn png_kinds(bytes: &[u8]) -> Vec<String> {
    let png = Png::from_bytes(Bytes::copy_from_slice(bytes)).unwrap();
    png.chunks()
        .iter()
        .map(|c| String::from_utf8_lossy(&c.kind()).to_string())
        .collect()
}

#[test]
fn png_and_webp_originals_lose_their_metadata_chunks_and_keep_the_rest() {
    let s = site("{{ page.content | safe }}", "");
    s.write(
        "site/content/gallery/index.md",
        "+++\ntitle = \"G\"\ntemplate = \"gallery.html\"\n+++\n![png](shot.png)\n\n![webp](shot.webp)\n",
    );
    let mut xmp = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    xmp.extend(XMP);
    let tiff = camera_tiff(3);
    let shot = png_with(
        &quadrants(64, 48),
        true,
        &[
            (*b"gAMA", &[0, 0, 0xB1, 0x8F]),
            (*b"pHYs", &[0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1]),
            (*b"eXIf", &tiff),
            (*b"tEXt", b"Comment\0shot by the photographer"),
            (*b"iTXt", &xmp),
            (*b"tIME", &[7, 0xE8, 1, 1, 0, 0, 0]),
        ],
    );
    s.write("site/content/gallery/shot.png", &shot);
    // A PNG no page names is published without its metadata too.
    s.write(
        "site/static/unnamed.png",
        png_with(&quadrants(8, 8), false, &[(*b"tEXt", b"Author\0SerialCam")]),
    );

    let mut lossless = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut lossless)
        .write_image(quadrants(40, 20).as_raw(), 40, 20, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut webp = WebP::from_bytes(lossless.into()).unwrap();
    webp.set_icc_profile(Some(Bytes::from_static(ICC)));
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(camera_tiff(1));
    webp.set_exif(Some(exif.into()));
    webp.chunks_mut().push(img_parts::riff::RiffChunk::new(
        *b"XMP ",
        img_parts::riff::RiffContent::Data(Bytes::from_static(XMP)),
    ));
    let mut shot_webp = webp.encoder().bytes().to_vec();
    shot_webp[20] |= 0b0000_0100; // the VP8X flag that says there is XMP
    assert_eq!(&shot_webp[12..16], b"VP8X");
    s.write("site/content/gallery/shot.webp", &shot_webp);

    let r = ok(&s);
    let html = page(&r);

    let src = format!("gallery/{}", img_urls(&html, "png").0);
    let out = file(&r, &src);
    assert_no_metadata(&src, out);
    assert_eq!(png_kinds(out), ["IHDR", "iCCP", "gAMA", "pHYs", "eXIf", "IDAT", "IEND"]);
    let parsed = Png::from_bytes(Bytes::copy_from_slice(out)).unwrap();
    assert_eq!(parsed.icc_profile().as_deref(), Some(ICC));
    assert_eq!(
        parsed.chunk_by_type(*b"eXIf").unwrap().contents()[..],
        sitegen::image_metadata::orientation_tiff(3)[..],
        "orientation 3 is kept, alone"
    );
    let idat = |b: &[u8]| {
        let p = Png::from_bytes(Bytes::copy_from_slice(b)).unwrap();
        p.chunks_by_type(*b"IDAT")
            .map(|c| c.contents().clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(idat(out), idat(&shot), "the image data as it was");
    assert!(same_pixels(out, &shot));
    let unnamed = r.plan.files.iter().find(|(p, _)| p.starts_with("unnamed.")).unwrap();
    assert_eq!(png_kinds(&unnamed.1.bytes), ["IHDR", "IDAT", "IEND"]);

    let src = format!("gallery/{}", img_urls(&html, "webp").0);
    let out = file(&r, &src);
    assert_no_metadata(&src, out);
    let parsed = WebP::from_bytes(Bytes::copy_from_slice(out)).unwrap();
    let ids: Vec<String> = parsed
        .chunks()
        .iter()
        .map(|c| String::from_utf8_lossy(&c.id()).to_string())
        .collect();
    assert_eq!(ids, ["VP8X", "ICCP", "VP8L"]);
    assert_eq!(out[20] & 0b0010_1100, 0b0010_0000, "VP8X flags: ICC, no EXIF, no XMP");
    assert_eq!(
        u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize,
        out.len() - 8,
        "RIFF size"
    );
    assert_eq!(parsed.icc_profile().as_deref(), Some(ICC));
    let vp8l = |b: &[u8]| {
        let w = WebP::from_bytes(Bytes::copy_from_slice(b)).unwrap();
        w.chunk_by_id(*b"VP8L").unwrap().content().data().unwrap().clone()
    };
    assert_eq!(vp8l(out), vp8l(&shot_webp), "the image data as it was");
    assert!(same_pixels(out, &shot_webp));

    // A file that says it is a PNG but is broken cannot be stripped, and says so.
    let mut broken = shot.clone();
    let n = broken.len();
    broken[n - 5] ^= 0xFF;
    s.write("site/static/broken.png", &broken);
    let e = build(&s, &mut Builder::default()).map(|_| ()).unwrap_err().to_string();
    assert!(
        e.contains("site/static/broken.png: cannot remove the image's metadata")
            && e.contains("strip_metadata = false"),
        "{e}"
    );
}

#[test]
fn strip_metadata_false_publishes_originals_byte_for_byte() {
    let s = site("{{ page.content | safe }}", "[images]\nstrip_metadata = false\n");
    s.write(
        "site/content/gallery/index.md",
        "+++\ntitle = \"G\"\ntemplate = \"gallery.html\"\n+++\n![bundle](photo.jpg)\n\n![static](/img/s.png)\n",
    );
    let photo = camera_jpeg(&quadrants(600, 400), 6);
    let shot = png_with(
        &quadrants(64, 48),
        true,
        &[(*b"tEXt", b"Comment\0shot by the photographer")],
    );
    s.write("site/content/gallery/photo.jpg", &photo);
    s.write("site/static/img/s.png", &shot);
    let r = ok(&s);
    let html = page(&r);
    assert_eq!(
        file(&r, &format!("gallery/{}", img_urls(&html, "bundle").0)),
        &photo[..]
    );
    assert_eq!(file(&r, &img_urls(&html, "static").0), &shot[..]);
    // Resized copies still carry none.
    for (path, f) in r.plan.files.iter().filter(|(p, _)| p.starts_with("processed_images/")) {
        assert_no_metadata(path, &f.bytes);
    }
}

#[test]
fn originals_are_read_by_image_functions_and_markdown_but_never_published() {
    let t = format!(
        "{{% set r = resize_image(path='shoot/cam.jpg', width=100) %}}{R}{{% set r = resize_image(path='originals/theme-only.png', width=10) %}}{R}{{% set m = get_image_metadata(path='shoot/cam.jpg') %}}M|{{{{ m.width }}}}x{{{{ m.height }}}}\n{{{{ page.content | safe }}}}"
    );
    let s = site(&t, "");
    s.write(
        "site/content/gallery/index.md",
        "+++\ntitle = \"G\"\ntemplate = \"gallery.html\"\n+++\n![cam](shoot/cam.jpg)\n",
    );
    let cam = camera_jpeg(&quadrants(2000, 1000), 1);
    let theme_cam = jpeg(&quadrants(200, 100), 1, None);
    let theme_only = png(&quadrants(40, 40));
    s.write("site/originals/shoot/cam.jpg", &cam);
    // The theme's originals/ are below the site's.
    s.write("themes/default/originals/shoot/cam.jpg", &theme_cam);
    s.write("themes/default/originals/theme-only.png", &theme_only);
    let r = ok(&s);
    let html = page(&r);
    let got = results(&html);
    assert_eq!(got[0].1, 100);
    assert_eq!((got[0].3, got[0].4), (2000, 1000), "the site's file wins");
    assert_eq!((got[1].1, got[1].3), (10, 40), "the theme's own file is found");
    assert!(html.contains("M|2000x1000"), "{html}");

    // The Markdown image shows resized copies only; `src` is the largest.
    let (src, srcset) = img_urls(&html, "cam");
    assert!(src.starts_with("processed_images/cam."), "{src}");
    assert_eq!(srcset.len(), 3, "{srcset:?}");
    assert_eq!(srcset.last(), Some(&src));
    assert!(srcset.iter().all(|u| u.starts_with("processed_images/")), "{srcset:?}");
    assert!(html.contains("alt=\"cam\" width=\"1600\" height=\"800\""), "{html}");
    let largest = image::load_from_memory(file(&r, &src)).unwrap();
    assert_eq!((largest.width(), largest.height()), (1600, 800));

    // Nothing of originals/ is in the output as it was, under any name.
    for (path, f) in &r.plan.files {
        assert!(!path.starts_with("originals"), "{path}");
        for source in [&cam[..], &theme_cam, &theme_only] {
            assert_ne!(&f.bytes[..], source, "{path} is an original");
        }
        assert_no_metadata(path, &f.bytes);
    }
    s.cmd(&["build", "-q"]).assert().success();
    assert!(!s.path("public/originals").exists());
    assert!(!s.path("public/shoot").exists());

    // Links out of the site are refused there as everywhere.
    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.jpg"), &cam).unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.jpg"), s.path("site/originals/x.jpg")).unwrap();
        let e = s.errors();
        assert!(e.contains("site/originals/x.jpg: is a symbolic link to `"), "{e}");
    }
}
