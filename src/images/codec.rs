//! Pixels: decoding (JPEG with mozjpeg, scaled down while decoding when the outputs are
//! much smaller; everything else with the `image` crate), EXIF orientation, SIMD resizing
//! (fast_image_resize, Lanczos3), and encoding (mozjpeg, PNG, libwebp, ravif).
//!
//! Outputs carry no EXIF, XMP or IPTC: encoders are given pixels (and the ICC profile where
//! they can write it: JPEG and PNG), never the source's metadata.

use std::os::raw::c_int;

use fast_image_resize as fr;
use rayon::prelude::*;

use super::{Format, Geometry, Job, SourceInfo};
use crate::config::Config;

/// Decoded, oriented pixels: RGB8 or RGBA8, rows packed.
pub struct Pixels {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub alpha: bool,
    pub icc: Option<Vec<u8>>,
}

/// Makes every job of one source (the same bytes), decoding it once.
pub fn process_group(bytes: &[u8], jobs: &[Job], config: &Config) -> Result<Vec<Vec<u8>>, String> {
    let info = super::probe(bytes, config.images.max_pixels)?;
    // The fraction of the source's resolution the most demanding output needs.
    let need = jobs
        .iter()
        .map(|j| {
            let (_, _, cw, ch) = j.geometry.crop;
            f64::max(
                f64::from(j.geometry.width) / f64::from(cw.max(1)),
                f64::from(j.geometry.height) / f64::from(ch.max(1)),
            )
        })
        .fold(0.0, f64::max);
    let px = decode(bytes, &info, need, config)?;
    let sx = f64::from(px.width) / f64::from(info.width);
    let sy = f64::from(px.height) / f64::from(info.height);
    jobs.par_iter()
        .map(|j| {
            let resized = resize(&px, &j.geometry, sx, sy)?;
            encode(&resized, j.format, j.quality, config)
        })
        .collect()
}

/// Decodes `bytes` and applies the EXIF orientation. `need` is the fraction of the full
/// resolution the outputs need: JPEGs are decoded at the smallest of 1/8 ... 8/8 that still
/// covers it.
pub fn decode(bytes: &[u8], info: &SourceInfo, need: f64, config: &Config) -> Result<Pixels, String> {
    let px = if info.is_jpeg && !info.has_alpha {
        match decode_jpeg(bytes, need)? {
            Some(px) => px,
            None => decode_generic(bytes, info, config)?,
        }
    } else {
        decode_generic(bytes, info, config)?
    };
    Ok(orient(px, info.orientation))
}

/// mozjpeg, scaled while decoding. `Ok(None)` for colour spaces it cannot turn into RGB
/// (CMYK), which the generic decoder handles.
fn decode_jpeg(bytes: &[u8], need: f64) -> Result<Option<Pixels>, String> {
    let result = std::panic::catch_unwind(|| -> Result<Option<Pixels>, String> {
        // Keep APP2 (ICC profile) markers.
        let mut d = mozjpeg::Decompress::with_err(strict_error_mgr())
            .with_markers(&[mozjpeg::Marker::APP(2)])
            .from_mem(bytes)
            .map_err(|e| e.to_string())?;
        if matches!(
            d.color_space(),
            mozjpeg::ColorSpace::JCS_CMYK | mozjpeg::ColorSpace::JCS_YCCK
        ) {
            return Ok(None);
        }
        let num = ((need * 8.0).ceil() as i64).clamp(1, 8) as u8;
        d.scale(num);
        let icc = icc_from_markers(d.markers().filter_map(|m| match m.marker {
            mozjpeg::Marker::APP(2) => Some(m.data),
            _ => None,
        }));
        let mut started = d.rgb().map_err(|e| e.to_string())?;
        let (w, h) = (started.width() as u32, started.height() as u32);
        let data: Vec<u8> = started.read_scanlines::<u8>().map_err(|e| e.to_string())?;
        started.finish().map_err(|e| e.to_string())?;
        if data.len() != w as usize * h as usize * 3 {
            return Err("the JPEG data ends early (truncated file?)".into());
        }
        Ok(Some(Pixels {
            data,
            width: w,
            height: h,
            alpha: false,
            icc,
        }))
    });
    match result {
        Ok(r) => r,
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .map(|m| m.replace("libjpeg fatal error: ", ""))
            .unwrap_or_else(|| "the JPEG decoder failed".into())),
    }
}

/// An error manager that, unlike libjpeg's default, refuses a file that ends early
/// (libjpeg would fill the missing rows with grey and only warn).
fn strict_error_mgr() -> mozjpeg_sys::jpeg_error_mgr {
    unsafe {
        let mut err: mozjpeg_sys::jpeg_error_mgr = std::mem::zeroed();
        mozjpeg_sys::jpeg_std_error(&mut err);
        err.error_exit = Some(unwind_error_exit);
        err.emit_message = Some(fail_on_truncation);
        err
    }
}

extern "C-unwind" fn unwind_error_exit(cinfo: &mut mozjpeg_sys::jpeg_common_struct) {
    let code = unsafe { cinfo.err.as_ref().map(|e| e.msg_code).unwrap_or(0) };
    let msg = match code {
        c if c == mozjpeg_sys::JWRN_JPEG_EOF => "the JPEG data ends early (truncated file?)".to_string(),
        c => format!("the JPEG data is not valid (libjpeg error {c})"),
    };
    std::panic::resume_unwind(Box::new(msg));
}

extern "C-unwind" fn fail_on_truncation(cinfo: &mut mozjpeg_sys::jpeg_common_struct, level: c_int) {
    let code = unsafe { cinfo.err.as_ref().map(|e| e.msg_code).unwrap_or(0) };
    if level < 0 && code == mozjpeg_sys::JWRN_JPEG_EOF {
        unwind_error_exit(cinfo);
    }
}

/// Joins the `ICC_PROFILE` chunks of APP2 markers.
fn icc_from_markers<'a>(markers: impl Iterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, &[u8])> = markers
        .filter(|d| d.len() > 14 && d.starts_with(b"ICC_PROFILE\0"))
        .map(|d| (d[12], &d[14..]))
        .collect();
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|c| c.0);
    Some(chunks.into_iter().flat_map(|c| c.1.iter().copied()).collect())
}

/// Everything else, and JPEGs mozjpeg cannot turn into RGB: the `image` crate, with a
/// memory limit from `images.max_pixels`.
fn decode_generic(bytes: &[u8], info: &SourceInfo, config: &Config) -> Result<Pixels, String> {
    use image::ImageDecoder;
    let format = image::guess_format(bytes).map_err(|e| e.to_string())?;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(config.images.max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let icc = decoder.icc_profile().ok().flatten();
    let img = image::DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    let (w, h) = (img.width(), img.height());
    let (data, alpha) = if info.has_alpha {
        (img.into_rgba8().into_raw(), true)
    } else {
        (img.into_rgb8().into_raw(), false)
    };
    Ok(Pixels {
        data,
        width: w,
        height: h,
        alpha,
        icc,
    })
}

/// Applies an EXIF orientation (1 to 8) to the pixels.
pub fn orient(px: Pixels, orientation: u8) -> Pixels {
    if orientation <= 1 || orientation > 8 {
        return px;
    }
    let Some(o) = image::metadata::Orientation::from_exif(orientation) else {
        return px;
    };
    let Pixels {
        data,
        width,
        height,
        alpha,
        icc,
    } = px;
    let mut img = if alpha {
        image::DynamicImage::ImageRgba8(image::RgbaImage::from_raw(width, height, data).expect("pixel buffer size"))
    } else {
        image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(width, height, data).expect("pixel buffer size"))
    };
    img.apply_orientation(o);
    let (w, h) = (img.width(), img.height());
    let data = if alpha {
        img.into_rgba8().into_raw()
    } else {
        img.into_rgb8().into_raw()
    };
    Pixels {
        data,
        width: w,
        height: h,
        alpha,
        icc,
    }
}

/// Crops (in source coordinates, scaled by `sx`/`sy` to the decoded pixels) and resizes.
pub fn resize(px: &Pixels, g: &Geometry, sx: f64, sy: f64) -> Result<Pixels, String> {
    let pt = if px.alpha {
        fr::PixelType::U8x4
    } else {
        fr::PixelType::U8x3
    };
    let src = fr::images::ImageRef::new(px.width, px.height, &px.data, pt).map_err(|e| e.to_string())?;
    let mut dst = fr::images::Image::new(g.width, g.height, pt);
    let (cx, cy, cw, ch) = g.crop;
    let crop = (
        f64::from(cx) * sx,
        f64::from(cy) * sy,
        (f64::from(cw) * sx).min(f64::from(px.width)),
        (f64::from(ch) * sy).min(f64::from(px.height)),
    );
    let opts = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))
        .crop(crop.0, crop.1, crop.2, crop.3);
    fr::Resizer::new()
        .resize(&src, &mut dst, &opts)
        .map_err(|e| e.to_string())?;
    Ok(Pixels {
        data: dst.into_vec(),
        width: g.width,
        height: g.height,
        alpha: px.alpha,
        icc: px.icc.clone(),
    })
}

/// RGBA over white, for formats without alpha.
fn flatten(px: &Pixels) -> Vec<u8> {
    if !px.alpha {
        return px.data.clone();
    }
    let mut out = Vec::with_capacity(px.data.len() / 4 * 3);
    for p in px.data.chunks_exact(4) {
        let a = u32::from(p[3]);
        for &c in &p[..3] {
            out.push(((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    out
}

/// Encodes pixels. No metadata but the ICC profile (JPEG, PNG) is written.
pub fn encode(px: &Pixels, format: Format, quality: u8, config: &Config) -> Result<Vec<u8>, String> {
    match format {
        Format::Jpeg => encode_jpeg(px, quality),
        Format::Png => {
            use image::ImageEncoder;
            let mut out = Vec::new();
            let mut enc = image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Default,
                image::codecs::png::FilterType::Adaptive,
            );
            if let Some(icc) = &px.icc {
                let _ = enc.set_icc_profile(icc.clone());
            }
            let ct = if px.alpha {
                image::ExtendedColorType::Rgba8
            } else {
                image::ExtendedColorType::Rgb8
            };
            enc.write_image(&px.data, px.width, px.height, ct)
                .map_err(|e| e.to_string())?;
            Ok(out)
        }
        Format::Webp | Format::WebpLossless => {
            let enc = if px.alpha {
                webp::Encoder::from_rgba(&px.data, px.width, px.height)
            } else {
                webp::Encoder::from_rgb(&px.data, px.width, px.height)
            };
            let mem = enc
                .encode_simple(format == Format::WebpLossless, f32::from(quality))
                .map_err(|e| format!("WebP encoder: {e:?}"))?;
            Ok(mem.to_vec())
        }
        Format::Avif => {
            use rgb::FromSlice;
            let enc = ravif::Encoder::new()
                .with_quality(f32::from(quality))
                .with_speed(config.images.avif_speed.clamp(1, 10))
                .with_num_threads(Some(1));
            let (w, h) = (px.width as usize, px.height as usize);
            let out = if px.alpha {
                enc.encode_rgba(ravif::Img::new(px.data.as_rgba(), w, h))
            } else {
                enc.encode_rgb(ravif::Img::new(px.data.as_rgb(), w, h))
            }
            .map_err(|e| format!("AVIF encoder: {e}"))?;
            Ok(out.avif_file)
        }
    }
}

fn encode_jpeg(px: &Pixels, quality: u8) -> Result<Vec<u8>, String> {
    let rgb = flatten(px);
    let r = std::panic::catch_unwind(|| -> std::io::Result<Vec<u8>> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_size(px.width as usize, px.height as usize);
        c.set_quality(f32::from(quality));
        let mut s = c.start_compress(Vec::new())?;
        if let Some(icc) = px.icc.as_deref().filter(|i| !i.is_empty()) {
            s.write_icc_profile(icc);
        }
        s.write_scanlines(&rgb)?;
        s.finish()
    });
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("JPEG encoder: {e}")),
        Err(_) => Err("JPEG encoder failed".into()),
    }
}
