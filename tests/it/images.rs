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
fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(match (x < w / 2, y < h / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        })
    })
}

fn png(img: &RgbImage) -> Vec<u8> {
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
fn site(template: &str, extra_config: &str) -> TestSite {
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
