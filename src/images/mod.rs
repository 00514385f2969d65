//! The image pipeline: `resize_image`, `image_set` and Markdown images.
//!
//! A build never processes an image while it renders. Template functions and the Markdown
//! renderer only *ask*: they read the image's header ([`probe`]: size, EXIF orientation,
//! alpha; no pixels), compute the output's geometry ([`geometry`]), and get back a
//! [`Job`] whose output name is already known (it hashes the source bytes and the
//! operation, so the URL can be written into the page at once). After rendering, the build
//! hands every job to [`run`], which takes each from the cache or, grouped by source so each
//! source is decoded at most once, decodes, resizes and encodes them in parallel.
//!
//! Modules: [`codec`] decodes/resizes/encodes pixels, [`cache`] is the content-addressed
//! store on disk (and in memory for `serve`), [`remote`] the same entries shared on S3
//! (`[images] remote_cache`), looked up after the local cache and filled after encoding.

pub mod cache;
pub mod codec;
pub mod remote;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::Diagnostic;
use crate::markdown::{ImageLookup, MarkdownImage};
use crate::source::{SourceTree, ORIGINALS};

/// Changes whenever encoder settings or versions change what bytes a job produces, so old
/// cache entries are not reused for new output.
const ENCODER_VERSION: &str = "sitegen-images-1 mozjpeg-0.10 libwebp-0.9 ravif-0.13 fir-6";

/// Where processed images are written in the output.
pub const OUTPUT_DIR: &str = "processed_images";

/// How the source is turned into the output's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Exactly `width` x `height`, aspect ratio not kept.
    Scale,
    /// `width` wide, height in proportion.
    FitWidth,
    /// `height` high, width in proportion.
    FitHeight,
    /// Within `width` x `height`, aspect kept, never enlarged.
    Fit,
    /// Exactly `width` x `height`: cropped to that aspect (at the anchor), then resized.
    Fill,
}

impl Op {
    pub fn parse(s: &str) -> Result<Op, String> {
        Ok(match s {
            "scale" => Op::Scale,
            "fit_width" => Op::FitWidth,
            "fit_height" => Op::FitHeight,
            "fit" => Op::Fit,
            "fill" => Op::Fill,
            _ => {
                return Err(format!(
                    "unknown op `{s}`: expected one of scale, fit_width, fit_height, fit, fill"
                ))
            }
        })
    }
}

/// Which part of the image `fill` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Anchor {
    Center,
    Top,
    Bottom,
    Left,
    Right,
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

impl Anchor {
    pub fn parse(s: &str) -> Result<Anchor, String> {
        Ok(match s.to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "center" | "centre" => Anchor::Center,
            "top" => Anchor::Top,
            "bottom" => Anchor::Bottom,
            "left" => Anchor::Left,
            "right" => Anchor::Right,
            "top_left" | "topleft" => Anchor::TopLeft,
            "top_right" | "topright" => Anchor::TopRight,
            "bottom_left" | "bottomleft" => Anchor::BottomLeft,
            "bottom_right" | "bottomright" => Anchor::BottomRight,
            _ => {
                return Err(format!(
                    "unknown anchor `{s}`: expected center, top, bottom, left, right, top_left, top_right, bottom_left or bottom_right"
                ))
            }
        })
    }

    /// Where the kept part sits, as fractions of the free space (0 = start, 1 = end).
    fn fractions(self) -> (u64, u64) {
        // In halves: 0 = start, 1 = middle, 2 = end.
        match self {
            Anchor::Center => (1, 1),
            Anchor::Top => (1, 0),
            Anchor::Bottom => (1, 2),
            Anchor::Left => (0, 1),
            Anchor::Right => (2, 1),
            Anchor::TopLeft => (0, 0),
            Anchor::TopRight => (2, 0),
            Anchor::BottomLeft => (0, 2),
            Anchor::BottomRight => (2, 2),
        }
    }
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Jpeg,
    Png,
    /// Lossy WebP.
    Webp,
    WebpLossless,
    Avif,
}

impl Format {
    /// `auto` keeps PNG for images with alpha and picks JPEG otherwise.
    pub fn parse(s: &str, has_alpha: bool) -> Result<Format, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" | "" => {
                if has_alpha {
                    Format::Png
                } else {
                    Format::Jpeg
                }
            }
            "jpg" | "jpeg" => Format::Jpeg,
            "png" => Format::Png,
            "webp" => Format::Webp,
            "webp_lossless" | "webp-lossless" => Format::WebpLossless,
            "avif" => Format::Avif,
            _ => {
                return Err(format!(
                    "unknown format `{s}`: expected auto, jpeg, png, webp, webp_lossless or avif"
                ))
            }
        })
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp | Format::WebpLossless => "webp",
            Format::Avif => "avif",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp | Format::WebpLossless => "image/webp",
            Format::Avif => "image/avif",
        }
    }

    /// The quality used when a call gives none.
    pub fn default_quality(self, config: &Config) -> u8 {
        match self {
            Format::Jpeg => config.images.jpeg_quality,
            Format::Webp => config.images.webp_quality,
            Format::Avif => config.images.avif_quality,
            Format::Png | Format::WebpLossless => 100,
        }
    }
}

/// What the header of a source says, orientation applied (`width`/`height` are as the image
/// is shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceInfo {
    pub width: u32,
    pub height: u32,
    /// The EXIF orientation, 1 (none) to 8.
    pub orientation: u8,
    pub has_alpha: bool,
    pub is_jpeg: bool,
}

impl SourceInfo {
    /// Width and height as stored (before the orientation is applied).
    pub fn stored_size(&self) -> (u32, u32) {
        if self.orientation >= 5 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// Reads the size, orientation and alpha of an image from its header, without decoding it.
/// Refuses empty files, files that are not images, and images larger than `max_pixels`.
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<SourceInfo, String> {
    use image::ImageDecoder;
    if bytes.is_empty() {
        return Err("the file is empty (0 bytes), not an image".into());
    }
    let format = image::guess_format(bytes)
        .map_err(|_| "not an image sitegen can read (JPEG, PNG, WebP, GIF, TIFF or BMP)".to_string())?;
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("cannot read the image header: {e}"))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(format!("the image header says {w} x {h} pixels"));
    }
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(format!(
            "the image header says {w} x {h} pixels ({:.1} megapixels), more than images.max_pixels = {max_pixels}; refused (raise the limit in config.toml if the image is real)",
            pixels as f64 / 1e6
        ));
    }
    let orientation = decoder.orientation().map(|o| o.to_exif()).unwrap_or(1).clamp(1, 8);
    let has_alpha = decoder.color_type().has_alpha();
    let (width, height) = if orientation >= 5 { (h, w) } else { (w, h) };
    Ok(SourceInfo {
        width,
        height,
        orientation,
        has_alpha,
        is_jpeg: format == image::ImageFormat::Jpeg,
    })
}

/// The part of the (oriented) source that is kept, and the output's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// x, y, width, height of the kept part of the source, in source pixels.
    pub crop: (u32, u32, u32, u32),
    pub width: u32,
    pub height: u32,
}

/// The largest side an output may have.
pub const MAX_SIDE: u32 = 16_384;

/// Computes what `op` makes of a `src` (width, height) image.
pub fn geometry(
    op: Op,
    width: Option<u32>,
    height: Option<u32>,
    anchor: Anchor,
    src: (u32, u32),
) -> Result<Geometry, String> {
    let (sw, sh) = src;
    let need = |v: Option<u32>, name: &str| -> Result<u32, String> {
        match v {
            Some(0) => Err(format!("{name} must be at least 1")),
            Some(v) if v > MAX_SIDE => Err(format!("{name} {v} is more than {MAX_SIDE}")),
            Some(v) => Ok(v),
            None => Err(format!("op `{}` needs a {name}", op_name(op))),
        }
    };
    let prop = |a: u32, num: u32, den: u32| -> u32 {
        ((u64::from(a) * u64::from(num) + u64::from(den) / 2) / u64::from(den)).clamp(1, u64::from(MAX_SIDE)) as u32
    };
    let full = (0, 0, sw, sh);
    Ok(match op {
        Op::Scale => Geometry {
            crop: full,
            width: need(width, "width")?,
            height: need(height, "height")?,
        },
        Op::FitWidth => {
            let w = need(width, "width")?;
            Geometry {
                crop: full,
                width: w,
                height: prop(sh, w, sw),
            }
        }
        Op::FitHeight => {
            let h = need(height, "height")?;
            Geometry {
                crop: full,
                width: prop(sw, h, sh),
                height: h,
            }
        }
        Op::Fit => {
            let (w, h) = (need(width, "width")?, need(height, "height")?);
            if sw <= w && sh <= h {
                Geometry {
                    crop: full,
                    width: sw,
                    height: sh,
                }
            } else if u64::from(sw) * u64::from(h) >= u64::from(sh) * u64::from(w) {
                // Wider than the box: width decides.
                Geometry {
                    crop: full,
                    width: w,
                    height: prop(sh, w, sw).min(h),
                }
            } else {
                Geometry {
                    crop: full,
                    width: prop(sw, h, sh).min(w),
                    height: h,
                }
            }
        }
        Op::Fill => {
            let (w, h) = (need(width, "width")?, need(height, "height")?);
            let (fx, fy) = anchor.fractions();
            let crop = if u64::from(sw) * u64::from(h) > u64::from(sh) * u64::from(w) {
                // Source is wider: keep full height, crop width.
                let cw = prop(sh, w, h).min(sw);
                let x = (u64::from(sw - cw) * fx / 2) as u32;
                (x, 0, cw, sh)
            } else {
                let ch = prop(sw, h, w).min(sh);
                let y = (u64::from(sh - ch) * fy / 2) as u32;
                (0, y, sw, ch)
            };
            Geometry {
                crop,
                width: w,
                height: h,
            }
        }
    })
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Scale => "scale",
        Op::FitWidth => "fit_width",
        Op::FitHeight => "fit_height",
        Op::Fit => "fit",
        Op::Fill => "fill",
    }
}

/// One output image to make.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Job {
    /// The source's logical path (`static/img/a.jpg`, `content/blog/post/photo.jpg`).
    pub source: String,
    /// The source's file, for messages.
    pub origin: String,
    pub source_sha256: [u8; 32],
    pub geometry: Geometry,
    pub format: Format,
    pub quality: u8,
    /// Hex sha256 of the source bytes, the geometry, the format, the encoder settings and
    /// versions: the cache key.
    pub key: String,
    /// Path in the output, `processed_images/photo.1a2b3c4d5e6f7a8b.jpg`.
    pub output: String,
}

impl Job {
    pub fn new(
        source: &str,
        origin: &str,
        source_sha256: [u8; 32],
        geometry: Geometry,
        format: Format,
        quality: u8,
        config: &Config,
    ) -> Job {
        let mut h = Sha256::new();
        h.update(ENCODER_VERSION.as_bytes());
        h.update(source_sha256);
        h.update(format!("{geometry:?} {format:?} q{quality}").as_bytes());
        if format == Format::Avif {
            h.update([config.images.avif_speed]);
        }
        let key = crate::paths::hex(&h.finalize());
        let name = source.rsplit('/').next().unwrap_or(source);
        let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
        let stem: String = crate::paths::slugify(stem);
        let stem = if stem.is_empty() { "image".to_string() } else { stem };
        let output = format!("{OUTPUT_DIR}/{stem}.{}.{}", &key[..16], format.extension());
        Job {
            source: source.to_string(),
            origin: origin.to_string(),
            source_sha256,
            geometry,
            format,
            quality: quality.clamp(1, 100),
            key,
            output,
        }
    }
}

/// The image requests of one build: what template functions and Markdown asked for.
pub struct Images {
    config: Arc<Config>,
    tree: Arc<SourceTree>,
    store: Arc<cache::Store>,
    /// Jobs asked for while rendering an output (by `current_path`).
    requested: Mutex<HashMap<String, Vec<Job>>>,
}

/// What `resize_image` returns.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Resized {
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub orig_width: u32,
    pub orig_height: u32,
    pub format: &'static str,
    pub mime: &'static str,
    /// The source's logical path (for dependency tracking).
    #[serde(skip)]
    pub source: String,
}

/// One `<source>` of a `<picture>`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SetSource {
    pub mime: &'static str,
    pub format: &'static str,
    pub srcset: String,
}

/// What `image_set` returns: everything a `<picture>` or an `<img srcset>` needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImageSet {
    /// The fallback `<img src>`: the largest width in the last format.
    pub src: String,
    /// The fallback's `srcset` (the last format).
    pub srcset: String,
    /// One per format, in the order asked (the last is also the fallback).
    pub sources: Vec<SetSource>,
    /// Size of the largest output (for `width`/`height` attributes: the aspect ratio).
    pub width: u32,
    pub height: u32,
    pub orig_width: u32,
    pub orig_height: u32,
    /// The widths made (those above the original's are left out).
    pub widths: Vec<u32>,
    #[serde(skip)]
    pub source: String,
}

impl Images {
    pub fn new(config: Arc<Config>, tree: Arc<SourceTree>, store: Arc<cache::Store>) -> Images {
        Images {
            config,
            tree,
            store,
            requested: Mutex::new(HashMap::new()),
        }
    }

    /// Finds `path`: next to the page (`page_dir`, a logical folder like
    /// `content/blog/post/`), then under `content/`, then `static/` (which holds the theme's
    /// static files below the site's), then `originals/` (the same).
    pub fn resolve(&self, path: &str, page_dir: Option<&str>) -> Option<String> {
        let path = path.trim();
        let clean = path.trim_start_matches("@/").trim_start_matches('/');
        let mut candidates = Vec::new();
        if !path.starts_with('/') && !path.starts_with("@/") {
            if let Some(dir) = page_dir {
                candidates.push(crate::paths::normalize(&format!("{dir}{clean}")));
            }
        }
        if ["content/", "static/", ORIGINALS].iter().any(|p| clean.starts_with(p)) {
            candidates.push(crate::paths::normalize(clean));
        }
        for folder in ["content/", "static/", ORIGINALS] {
            candidates.push(crate::paths::normalize(&format!("{folder}{clean}")));
        }
        candidates.into_iter().flatten().find(|c| self.tree.get(c).is_some())
    }

    /// Resolves `path` and reads its header: (logical path, header, sha256, origin).
    fn find(&self, path: &str, page_dir: Option<&str>) -> Result<(String, SourceInfo, [u8; 32], String), String> {
        let logical = self.resolve(path, page_dir).ok_or_else(|| {
            format!("image `{path}` not found (looked next to the page, in content/, static/ and originals/)")
        })?;
        let (info, sha, origin) = self
            .info(&logical)
            .map_err(|e| format!("{}: {e}", self.origin_of(&logical)))?;
        Ok((logical, info, sha, origin))
    }

    fn info(&self, logical: &str) -> Result<(SourceInfo, [u8; 32], String), String> {
        let file = self.tree.get(logical).ok_or_else(|| format!("no image `{logical}`"))?;
        let info = self
            .store
            .probe(&file.bytes, file.sha256, self.config.images.max_pixels)?;
        Ok((info, file.sha256, file.origin.clone()))
    }

    fn public_url(&self, output: &str) -> String {
        let base = self
            .config
            .assets_base_url
            .as_deref()
            .unwrap_or(self.config.base_url.as_str())
            .trim_end_matches('/');
        format!("{base}/{output}")
    }

    /// Whether `job`'s output is already in memory (made by an earlier build of this session).
    pub fn is_made(&self, job: &Job) -> bool {
        self.store.has(&job.key)
    }

    /// `get_image_metadata`: the header of an image, orientation applied.
    pub fn metadata(&self, path: &str, page_dir: Option<&str>) -> Result<(String, SourceInfo), String> {
        let (logical, info, ..) = self.find(path, page_dir)?;
        Ok((logical, info))
    }

    /// `resize_image`: the output's URL and size. The image is made after rendering.
    #[allow(clippy::too_many_arguments)]
    pub fn resize(
        &self,
        current_path: &str,
        path: &str,
        page_dir: Option<&str>,
        op: &str,
        width: Option<u32>,
        height: Option<u32>,
        anchor: &str,
        format: &str,
        quality: Option<u8>,
    ) -> Result<Resized, String> {
        let (logical, info, sha, origin) = self.find(path, page_dir)?;
        let op = Op::parse(op)?;
        let anchor = Anchor::parse(anchor)?;
        let format = Format::parse(format, info.has_alpha)?;
        let quality = quality.unwrap_or_else(|| format.default_quality(&self.config));
        if !(1..=100).contains(&quality) {
            return Err(format!("quality {quality} is not between 1 and 100"));
        }
        let g = geometry(op, width, height, anchor, (info.width, info.height))?;
        let job = Job::new(&logical, &origin, sha, g, format, quality, &self.config);
        let r = Resized {
            url: self.public_url(&job.output),
            width: g.width,
            height: g.height,
            orig_width: info.width,
            orig_height: info.height,
            format: format.extension(),
            mime: format.mime(),
            source: logical,
        };
        self.record(current_path, job);
        Ok(r)
    }

    /// `image_set`: the same image at several widths (never above the original's) and in
    /// several formats.
    pub fn image_set(
        &self,
        current_path: &str,
        path: &str,
        page_dir: Option<&str>,
        widths: &[u32],
        formats: &[String],
        quality: Option<u8>,
    ) -> Result<ImageSet, String> {
        let (logical, info, sha, origin) = self.find(path, page_dir)?;
        let widths = set_widths(widths, info.width);
        let formats: Vec<Format> = if formats.is_empty() {
            vec![Format::Webp, Format::parse("auto", info.has_alpha)?]
        } else {
            formats
                .iter()
                .map(|f| Format::parse(f, info.has_alpha))
                .collect::<Result<_, _>>()?
        };
        let mut sources = Vec::new();
        let (mut src, mut w_max, mut h_max) = (String::new(), 0, 0);
        for format in &formats {
            let q = quality.unwrap_or_else(|| format.default_quality(&self.config));
            let mut parts = Vec::new();
            for &w in &widths {
                let g = geometry(Op::FitWidth, Some(w), None, Anchor::Center, (info.width, info.height))?;
                let job = Job::new(&logical, &origin, sha, g, *format, q, &self.config);
                let url = self.public_url(&job.output);
                parts.push(format!("{url} {w}w"));
                src = url;
                (w_max, h_max) = (g.width, g.height);
                self.record(current_path, job);
            }
            sources.push(SetSource {
                mime: format.mime(),
                format: format.extension(),
                srcset: parts.join(", "),
            });
        }
        Ok(ImageSet {
            src,
            srcset: sources.last().map(|s| s.srcset.clone()).unwrap_or_default(),
            sources,
            width: w_max,
            height: h_max,
            orig_width: info.width,
            orig_height: info.height,
            widths,
            source: logical,
        })
    }

    /// A Markdown image of a file under `originals/`, which is never published: its `src` is
    /// the largest resized copy (`images.markdown_widths` below the original's width, or the
    /// original's width when none is), its `srcset` all of them, its size the largest's.
    fn unpublished_markdown_image(
        &self,
        key: &str,
        logical: &str,
        file: &crate::source::SourceFile,
        info: &SourceInfo,
        format: Format,
    ) -> Result<MarkdownImage, String> {
        let q = format.default_quality(&self.config);
        let mut parts = Vec::new();
        let (mut url, mut size) = (String::new(), (info.width, info.height));
        for w in set_widths(&self.config.images.markdown_widths, info.width) {
            let g = geometry(Op::FitWidth, Some(w), None, Anchor::Center, (info.width, info.height))?;
            let job = Job::new(logical, &file.origin, file.sha256, g, format, q, &self.config);
            url = self.public_url(&job.output);
            size = (g.width, g.height);
            parts.push(format!("{url} {w}w"));
            self.record(key, job);
        }
        Ok(MarkdownImage {
            width: size.0,
            height: size.1,
            srcset: (parts.len() > 1).then(|| parts.join(", ")),
            url: Some(url),
            source: logical.to_string(),
            source_sha256: file.sha256,
        })
    }

    fn origin_of(&self, logical: &str) -> String {
        self.tree
            .get(logical)
            .map(|f| f.origin.clone())
            .unwrap_or_else(|| logical.to_string())
    }

    fn record(&self, current_path: &str, job: Job) {
        self.requested
            .lock()
            .expect("image jobs lock")
            .entry(current_path.to_string())
            .or_default()
            .push(job);
    }

    /// The jobs asked for while rendering `current_path`.
    pub fn take(&self, current_path: &str) -> Vec<Job> {
        let mut v = self
            .requested
            .lock()
            .expect("image jobs lock")
            .remove(current_path)
            .unwrap_or_default();
        v.sort_by(|a, b| a.output.cmp(&b.output));
        v.dedup();
        v
    }
}

impl ImageLookup for Images {
    /// A `srcset` of the configured widths (`images.markdown_widths`) below the original's,
    /// in the source's format; the resized copies are recorded under `key`.
    fn markdown_image(
        &self,
        key: &str,
        src: &str,
        page_dir: &str,
        src_url: &str,
    ) -> Option<Result<MarkdownImage, String>> {
        if src.contains("://") || src.starts_with("//") || src.starts_with("data:") {
            return None;
        }
        let path = src.split(['?', '#']).next().unwrap_or(src);
        let path = crate::paths::percent_decode(path);
        let logical = self.resolve(&path, Some(page_dir))?;
        let lower = logical.to_ascii_lowercase();
        let ext = lower.rsplit('.').next().unwrap_or("");
        // Raster formats browsers show; GIFs keep their animation, so no `srcset` for them.
        let resizable = matches!(ext, "jpg" | "jpeg" | "png" | "webp");
        if !resizable && ext != "gif" {
            return None;
        }
        let file = self.tree.get(&logical)?;
        let info = match self
            .store
            .probe(&file.bytes, file.sha256, self.config.images.max_pixels)
        {
            Ok(i) => i,
            Err(e) => return Some(Err(format!("image `{src}` ({}): {e}", file.origin))),
        };
        // Same format as the source.
        let format = match ext {
            "png" => Format::Png,
            "webp" => Format::Webp,
            "jpg" | "jpeg" => Format::Jpeg,
            _ => Format::parse("auto", info.has_alpha).ok()?,
        };
        if logical.starts_with(ORIGINALS) {
            if !resizable {
                return Some(Err(format!(
                    "image `{src}` ({}): a GIF under originals/ cannot be shown, since GIFs are published as they are and originals/ never is; move it to static/ or next to the page",
                    file.origin
                )));
            }
            return Some(self.unpublished_markdown_image(key, &logical, file, &info, format));
        }
        let mut srcset = None;
        let widths: Vec<u32> = self
            .config
            .images
            .markdown_widths
            .iter()
            .copied()
            .filter(|&w| w > 0 && w < info.width)
            .collect();
        if resizable && !widths.is_empty() {
            let q = format.default_quality(&self.config);
            let mut parts = Vec::new();
            for w in widths {
                let g = match geometry(Op::FitWidth, Some(w), None, Anchor::Center, (info.width, info.height)) {
                    Ok(g) => g,
                    Err(e) => return Some(Err(e)),
                };
                let job = Job::new(&logical, &file.origin, file.sha256, g, format, q, &self.config);
                parts.push(format!("{} {w}w", Images::public_url(self, &job.output)));
                self.record(key, job);
            }
            parts.push(format!("{src_url} {}w", info.width));
            srcset = Some(parts.join(", "));
        }
        Some(Ok(MarkdownImage {
            width: info.width,
            height: info.height,
            srcset,
            url: None,
            source: logical,
            source_sha256: file.sha256,
        }))
    }

    fn lazy(&self) -> bool {
        self.config.images.markdown_lazy
    }

    fn sizes(&self) -> &str {
        &self.config.images.markdown_sizes
    }
}

/// The widths of a set for an image `orig` pixels wide: the asked widths below the
/// original's, plus the original's own when some asked width was at or above it.
pub fn set_widths(widths: &[u32], orig: u32) -> Vec<u32> {
    let mut out: Vec<u32> = widths.iter().copied().filter(|&w| w > 0 && w < orig).collect();
    if out.len() < widths.len() || out.is_empty() {
        out.push(orig);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// What [`run`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Jobs whose bytes came from the local cache (memory or disk).
    pub cached: usize,
    /// Sources decoded.
    pub decoded: usize,
    /// Outputs encoded.
    pub encoded: usize,
    /// Jobs whose bytes came from the remote cache (verified, then stored locally).
    pub downloaded: usize,
    /// What the remote cache did (all zero without one).
    pub remote: remote::RemoteStats,
}

/// An output path and its bytes.
pub type Made = (String, Arc<[u8]>);

/// What [`run`] made, did, and found wrong.
pub struct Ran {
    /// `(output path, bytes)` in output order.
    pub made: Vec<Made>,
    pub stats: RunStats,
    /// Images that cannot be made: they fail the build.
    pub errors: Vec<Diagnostic>,
    /// At most one, about the remote cache: it only ever costs time.
    pub warnings: Vec<Diagnostic>,
}

/// Makes every job's output, in parallel, each source decoded at most once: from memory or
/// the local cache where it can, then from the remote cache (when configured), and encodes
/// the rest, uploading what it encodes to the remote cache as it goes.
pub fn run(jobs: Vec<Job>, tree: &SourceTree, config: &Config, store: &cache::Store, progress: bool) -> Ran {
    let mut unique: HashMap<String, Job> = HashMap::new();
    for j in jobs {
        unique.entry(j.output.clone()).or_insert(j);
    }
    let mut stats = RunStats::default();
    let mut done: Vec<Made> = Vec::new();
    let mut missing: Vec<Job> = Vec::new();
    for (_, j) in unique {
        match store.get(&j.key, j.format) {
            Some(bytes) => {
                stats.cached += 1;
                done.push((j.output, bytes));
            }
            None => missing.push(j),
        }
    }
    let mut warnings = Vec::new();
    let remote = match &config.images.remote_cache {
        Some(rc) if !missing.is_empty() => remote::Remote::connect(rc).map_err(|d| warnings.push(d)).ok(),
        _ => None,
    };
    // Keys with no entry anywhere: what this build makes of them is uploaded.
    let mut absent = std::collections::HashSet::new();
    if let Some(r) = &remote {
        missing.sort_by(|a, b| a.output.cmp(&b.output));
        let found = r.fetch(&missing);
        missing.retain(|j| match found.get(&j.key) {
            Some(remote::Lookup::Hit(bytes)) => {
                store.put(&j.key, j.format, bytes.clone());
                done.push((j.output.clone(), bytes.clone()));
                stats.downloaded += 1;
                false
            }
            Some(remote::Lookup::Absent) => {
                absent.insert(j.key.clone());
                true
            }
            Some(remote::Lookup::Unusable) | None => true,
        });
    }
    let mut todo: HashMap<[u8; 32], Vec<Job>> = HashMap::new();
    for j in missing {
        todo.entry(j.source_sha256).or_default().push(j);
    }
    let total: usize = todo.values().map(Vec::len).sum();
    let bar = if progress && total >= 8 {
        let b = indicatif::ProgressBar::new(total as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("images {bar:30} {pos}/{len} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let mut groups: Vec<Vec<Job>> = todo.into_values().collect();
    // Biggest sources first, so the last core is not left with the largest decode.
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    let results: Vec<Result<Vec<Made>, Diagnostic>> = groups
        .into_par_iter()
        .map(|group| {
            let first = &group[0];
            let file = tree
                .get(&first.source)
                .ok_or_else(|| Diagnostic::new(&first.origin, "the image is gone from the snapshot"))?;
            let made = codec::process_group(&file.bytes, &group, config)
                .map_err(|e| Diagnostic::new(&first.origin, format!("cannot process the image: {e}")))?;
            let mut out = Vec::with_capacity(made.len());
            for (job, bytes) in group.iter().zip(made) {
                let bytes: Arc<[u8]> = bytes.into();
                store.put(&job.key, job.format, bytes.clone());
                if let Some(r) = remote.as_ref().filter(|_| absent.contains(&job.key)) {
                    r.upload(job, bytes.clone());
                }
                out.push((job.output.clone(), bytes));
                if let Some(b) = &bar {
                    b.inc(1);
                }
            }
            Ok(out)
        })
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => {
                stats.decoded += 1;
                stats.encoded += v.len();
                done.extend(v);
            }
            Err(d) => errors.push(d),
        }
    }
    if let Some(r) = remote {
        let (st, warning) = r.finish();
        stats.remote = st;
        warnings.extend(warning);
    }
    done.sort_by(|a, b| a.0.cmp(&b.0));
    Ran {
        made: done,
        stats,
        errors,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_of_each_op() {
        let g = |op, w, h, a| geometry(op, w, h, a, (4000, 3000)).unwrap();
        assert_eq!(g(Op::FitWidth, Some(800), None, Anchor::Center).height, 600);
        assert_eq!(g(Op::FitHeight, None, Some(300), Anchor::Center).width, 400);
        let s = g(Op::Scale, Some(100), Some(100), Anchor::Center);
        assert_eq!((s.width, s.height, s.crop), (100, 100, (0, 0, 4000, 3000)));
        let f = g(Op::Fit, Some(800), Some(800), Anchor::Center);
        assert_eq!((f.width, f.height), (800, 600));
        let f = g(Op::Fit, Some(8000), Some(8000), Anchor::Center);
        assert_eq!((f.width, f.height), (4000, 3000), "fit never enlarges");
        let c = g(Op::Fill, Some(100), Some(100), Anchor::Center);
        assert_eq!(c.crop, (500, 0, 3000, 3000));
        assert_eq!(g(Op::Fill, Some(100), Some(100), Anchor::Left).crop, (0, 0, 3000, 3000));
        assert_eq!(
            g(Op::Fill, Some(100), Some(100), Anchor::BottomRight).crop,
            (1000, 0, 3000, 3000)
        );
        let tall = geometry(Op::Fill, Some(200), Some(100), Anchor::Bottom, (1000, 1000)).unwrap();
        assert_eq!(tall.crop, (0, 500, 1000, 500));
        assert!(geometry(Op::Fill, Some(100), None, Anchor::Center, (10, 10)).is_err());
        assert!(geometry(Op::FitWidth, Some(0), None, Anchor::Center, (10, 10)).is_err());
        assert!(geometry(Op::FitWidth, Some(MAX_SIDE + 1), None, Anchor::Center, (10, 10)).is_err());
    }

    #[test]
    fn set_widths_never_enlarge() {
        assert_eq!(set_widths(&[480, 960, 1600], 1200), vec![480, 960, 1200]);
        assert_eq!(set_widths(&[480, 960], 2000), vec![480, 960]);
        assert_eq!(set_widths(&[480], 300), vec![300]);
    }

    #[test]
    fn auto_format_keeps_alpha() {
        assert_eq!(Format::parse("auto", true).unwrap(), Format::Png);
        assert_eq!(Format::parse("auto", false).unwrap(), Format::Jpeg);
        assert!(Format::parse("gif", false).is_err());
    }

    #[test]
    fn probe_refuses_bad_input() {
        assert!(probe(b"", 100).unwrap_err().contains("empty"));
        assert!(probe(b"hello, I am text", 100).unwrap_err().contains("not an image"));
    }

    #[test]
    fn output_names_hash_source_and_operation() {
        let c = Config::parse("config.toml", "base_url = \"https://example.com\"").unwrap();
        let g = geometry(Op::FitWidth, Some(10), None, Anchor::Center, (20, 20)).unwrap();
        let a = Job::new("static/a b.JPG", "x", [1; 32], g, Format::Jpeg, 75, &c);
        let b = Job::new("static/a b.JPG", "x", [2; 32], g, Format::Jpeg, 75, &c);
        let q = Job::new("static/a b.JPG", "x", [1; 32], g, Format::Jpeg, 80, &c);
        assert!(
            a.output.starts_with("processed_images/a-b.") && a.output.ends_with(".jpg"),
            "{}",
            a.output
        );
        assert_ne!(a.output, b.output);
        assert_ne!(a.output, q.output);
        assert_eq!(
            crate::paths::normalize("content/a/../b/./c.jpg").as_deref(),
            Some("content/b/c.jpg")
        );
        assert_eq!(crate::paths::normalize("../x"), None);
    }
}
