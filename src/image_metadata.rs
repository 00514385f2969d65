//! Image metadata: a copy of a JPEG, PNG or WebP file without its EXIF, XMP, IPTC, text
//! chunks and comments, made without decoding the image (the compressed pixel data is
//! copied byte for byte), with the ICC profile kept and the EXIF orientation kept in effect.
//!
//! It exists so an original that sitegen publishes (a Markdown image's `src` and the largest
//! candidate of its `srcset`, a photo in a page bundle, an image under `static/`) does not
//! publish where and with what camera it was taken. Processed images need none of this: the
//! encoders are handed pixels, never metadata (see `images::codec`).
//!
//! What is kept is listed, not what is dropped, so metadata of a kind nobody has thought of
//! goes too:
//! - JPEG: every segment that is not an application segment or a comment (tables, frame and
//!   scan headers, all the scan data); `APP0` JFIF (its thumbnail dropped), `APP2`
//!   `ICC_PROFILE`, `APP14` Adobe (it says how the colours are transformed). Dropped: `APP1`
//!   (Exif, XMP, extended XMP), `APP13` (Photoshop, IPTC), every other `APPn` (MPF, FlashPix,
//!   maker data), `COM`, and whatever follows the image's end marker (MPF's second images,
//!   Ultra HDR gain maps, motion photos' videos: each has metadata of its own).
//! - PNG: critical chunks (`IHDR`, `PLTE`, `IDAT`, `IEND`, and any other whose name starts
//!   with a capital, which a decoder may not skip) and the ancillary chunks that change how
//!   the image looks: `tRNS`, `gAMA`, `cHRM`, `sRGB`, `iCCP`, `sBIT`, `bKGD`, `pHYs`,
//!   `cICP`, `mDCV`, `cLLI`, and APNG's `acTL`, `fcTL`, `fdAT`. Dropped: `eXIf`, `tEXt`,
//!   `zTXt`, `iTXt` (XMP, author, software, ImageMagick's EXIF), `tIME`, every other
//!   ancillary chunk (by the PNG rules a decoder ignores the ones it does not know, so
//!   dropping one never changes the pixels), and bytes after `IEND`.
//! - WebP: `VP8 `, `VP8L`, `VP8X`, `ALPH`, `ICCP`, `ANIM`, `ANMF`. Dropped: `EXIF`, `XMP `,
//!   unknown chunks and bytes after the RIFF chunk; the RIFF size and the `VP8X` flags
//!   are made to match.
//!
//! Orientation: when the EXIF says the image is shown rotated or mirrored (orientation 2
//! to 8), the copy gets a new EXIF block holding that one tag and nothing else (26 bytes),
//! so every browser and viewer shows the copy exactly as it showed the original: browsers
//! apply the EXIF orientation of an `<img>` by default (`image-orientation: from-image`),
//! and rotating the pixels instead would mean re-encoding a JPEG, which loses quality.
//!
//! Parsing is img-parts' (segments of JPEG up to the first scan, PNG chunks with their
//! CRCs, RIFF chunks); what follows a JPEG's first scan header (more scans, tables between
//! them, the end marker) is walked here, since img-parts keeps it as one opaque run.

use img_parts::jpeg::{markers, Jpeg, JpegSegment};
use img_parts::png::{Png, PngChunk};
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::WebP;
use img_parts::Bytes;

/// The formats [`strip`] knows, by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

impl Format {
    pub fn of(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::Webp)
        } else {
            None
        }
    }
}

/// Whether a file of this name is one [`strip`] is meant for (`.jpg`, `.jpeg`, `.jpe`,
/// `.jfif`, `.png`, `.apng`, `.webp`, in any case). Other files are published as they are.
pub fn is_strippable_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(ext.as_str(), "jpg" | "jpeg" | "jpe" | "jfif" | "png" | "apng" | "webp")
}

/// The most [`strip`] can add to a file: a new orientation-only EXIF block can be a few
/// bytes longer than the smallest one that holds an orientation, and a JPEG without an end
/// marker gets one.
pub const MAX_GROWTH: usize = 64;

/// `bytes` without their metadata. `Ok(None)` when there is nothing to remove, or the bytes
/// are not a JPEG, PNG or WebP (they are published as they are); an error when they start
/// like one of those but their structure is broken (a segment or chunk running past the end,
/// a PNG chunk whose CRC is wrong), since a copy made of a part of them could keep what it
/// should drop.
pub fn strip(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let out = match Format::of(bytes) {
        None => return Ok(None),
        Some(Format::Jpeg) => strip_jpeg(bytes)?,
        Some(Format::Png) => strip_png(bytes)?,
        Some(Format::Webp) => strip_webp(bytes)?,
    };
    Ok((out != bytes).then_some(out))
}

/// The build's message for a file [`strip`] refused.
pub fn refused(e: &str) -> String {
    format!("cannot remove the image's metadata (EXIF, XMP) to publish it: {e}; fix the file, or publish images as they are with `images.strip_metadata = false`")
}

/// The EXIF orientation (1 to 8) of a TIFF block (EXIF without its `Exif\0\0` prefix), if
/// IFD0 has a valid one.
pub fn tiff_orientation(tiff: &[u8]) -> Option<u8> {
    let le = match tiff.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(o..o.checked_add(2)?)?.try_into().ok()?;
        Some(if le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(o..o.checked_add(4)?)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for i in 0..count {
        let entry = ifd.checked_add(2 + 12 * i)?;
        if u16_at(entry)? != 0x0112 {
            continue;
        }
        // SHORT, one value, held in the first two bytes of the value field.
        if u16_at(entry + 2)? != 3 || u32_at(entry + 4)? != 1 {
            return None;
        }
        let v = u16_at(entry + 8)?;
        return (1..=8).contains(&v).then_some(v as u8);
    }
    None
}

/// A TIFF block with only the Orientation tag: what a stripped copy keeps of its EXIF.
pub fn orientation_tiff(orientation: u8) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend(8u32.to_le_bytes()); // IFD0 right after the header
    t.extend(1u16.to_le_bytes()); // one entry
    t.extend(0x0112u16.to_le_bytes()); // Orientation
    t.extend(3u16.to_le_bytes()); // SHORT
    t.extend(1u32.to_le_bytes()); // one value
    t.extend(u32::from(orientation).to_le_bytes());
    t.extend(0u32.to_le_bytes()); // no IFD1 (and so no thumbnail)
    t
}

const EXIF_PREFIX: &[u8] = b"Exif\0\0";

/// The orientation to keep: 2 to 8 from a TIFF block, `None` for 1 (as stored) or none.
fn kept_orientation(tiff: Option<&[u8]>) -> Option<u8> {
    tiff.and_then(tiff_orientation).filter(|&o| o != 1)
}

fn strip_jpeg(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| format!("not a valid JPEG: {e}"))?;
    let orientation = kept_orientation(
        jpeg.segments()
            .iter()
            .find(|s| s.marker() == markers::APP1 && s.contents().starts_with(EXIF_PREFIX))
            .map(|s| &s.contents()[EXIF_PREFIX.len()..]),
    );
    let segments = std::mem::take(jpeg.segments_mut());
    let mut kept = Vec::with_capacity(segments.len() + 1);
    for s in segments {
        let marker = s.marker();
        if marker == markers::SOS {
            // The rest of the file (more scans, the end marker, whatever follows it), which
            // img-parts holds as the scan's "entropy": the input's last bytes.
            let rest = s.len_with_entropy() - s.len();
            let tail = jpeg_tail(&bytes[bytes.len() - rest..]);
            kept.push(JpegSegment::new_with_entropy(marker, s.contents().clone(), tail));
        } else if marker == markers::APP0 && s.contents().starts_with(b"JFIF\0") {
            kept.push(JpegSegment::new_with_contents(
                marker,
                jfif_without_thumbnail(s.contents()),
            ));
        } else if keep_jpeg_segment(marker, s.contents()) {
            kept.push(s);
        }
    }
    if let Some(o) = orientation {
        let mut exif = EXIF_PREFIX.to_vec();
        exif.extend(orientation_tiff(o));
        // After the JFIF header, which must come first, else first.
        let at = usize::from(kept.first().is_some_and(|s| s.marker() == markers::APP0));
        kept.insert(at, JpegSegment::new_with_contents(markers::APP1, exif.into()));
    }
    *jpeg.segments_mut() = kept;
    Ok(jpeg.encoder().bytes().to_vec())
}

/// The segments of a JPEG kept besides JFIF: everything that is not an application segment
/// or a comment, and the application segments that change how the image looks.
fn keep_jpeg_segment(marker: u8, contents: &[u8]) -> bool {
    match marker {
        markers::APP2 => contents.starts_with(b"ICC_PROFILE\0"),
        markers::APP14 => contents.starts_with(b"Adobe"),
        markers::APP0..=markers::APP15 | markers::COM => false,
        _ => true,
    }
}

/// A JFIF header with no thumbnail: version, units and density kept, the thumbnail's size
/// set to 0 x 0 and its pixels dropped (a thumbnail can show what a crop took away).
fn jfif_without_thumbnail(contents: &[u8]) -> Bytes {
    // "JFIF\0", version (2), units (1), density (4), thumbnail width and height (2).
    if contents.len() < 14 {
        return Bytes::copy_from_slice(contents);
    }
    let mut c = contents[..14].to_vec();
    c[12] = 0;
    c[13] = 0;
    c.into()
}

/// What follows a JPEG's first scan header, up to and with the end-of-image marker: the scan
/// data, and between scans the tables and headers (application segments and comments there
/// are dropped as before the first scan). A file without an end marker is kept to its end.
fn jpeg_tail(tail: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(tail.len());
    let mut copied = 0; // tail[..copied] has been decided
    let mut i = 0;
    while i + 1 < tail.len() {
        // Scan data is most of the file: jump to the next 0xFF.
        match tail[i..].iter().position(|&b| b == 0xFF) {
            Some(0) => {}
            Some(n) => {
                i += n;
                continue;
            }
            None => break,
        }
        let m = tail[i + 1];
        match m {
            // Stuffed 0xFF, restart markers, fill bytes, markers without a length.
            0x00 | 0xD0..=0xD7 | 0x01 | 0xD8 => i += 2,
            0xFF => i += 1,
            markers::EOI => {
                out.extend_from_slice(&tail[copied..i + 2]);
                return out.into();
            }
            _ => {
                let Some(len) = tail
                    .get(i + 2..i + 4)
                    .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                else {
                    i += 2;
                    continue;
                };
                let end = i + 2 + len;
                if len < 2 || end > tail.len() {
                    // Not a segment after all: look on for the end marker.
                    i += 2;
                    continue;
                }
                if !keep_jpeg_segment(m, &tail[i + 4..end]) {
                    out.extend_from_slice(&tail[copied..i]);
                    copied = end;
                }
                i = end;
            }
        }
    }
    out.extend_from_slice(&tail[copied..]);
    out.into()
}

/// The ancillary PNG chunks that change how the image is shown.
const PNG_KEPT: &[&[u8; 4]] = &[
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"cICP", b"mDCV", b"cLLI", b"acTL",
    b"fcTL", b"fdAT",
];

fn strip_png(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut png = Png::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| format!("not a valid PNG: {e}"))?;
    let orientation = kept_orientation(png.chunk_by_type(*b"eXIf").map(|c| &c.contents()[..]));
    png.chunks_mut().retain(|c| {
        let kind = c.kind();
        // A capital first letter: critical, which a decoder may not skip.
        kind[0].is_ascii_uppercase() || PNG_KEPT.contains(&&kind)
    });
    if let Some(o) = orientation {
        // Before the image data, where decoders look for it (and never after the end).
        let at = png
            .chunks()
            .iter()
            .position(|c| c.kind() == *b"IDAT" || c.kind() == *b"IEND")
            .unwrap_or(png.chunks().len());
        png.chunks_mut()
            .insert(at, PngChunk::new(*b"eXIf", orientation_tiff(o).into()));
    }
    Ok(png.encoder().bytes().to_vec())
}

/// The WebP chunks that are image data or change how it is shown.
const WEBP_KEPT: &[&[u8; 4]] = &[b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ICCP", b"ANIM", b"ANMF"];

/// `VP8X` flags: EXIF present, XMP present.
const VP8X_EXIF: u8 = 0b0000_1000;
const VP8X_XMP: u8 = 0b0000_0100;

fn strip_webp(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut webp = WebP::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| format!("not a valid WebP: {e}"))?;
    let orientation = kept_orientation(
        webp.chunk_by_id(*b"EXIF")
            .and_then(|c| c.content().data())
            .map(|d| d.strip_prefix(EXIF_PREFIX).unwrap_or(d)),
    );
    webp.chunks_mut().retain(|c| WEBP_KEPT.contains(&&c.id()));
    if let Some(o) = orientation {
        // After the image data, as the container's rules place it.
        webp.chunks_mut()
            .push(RiffChunk::new(*b"EXIF", RiffContent::Data(orientation_tiff(o).into())));
    }
    let has_exif = orientation.is_some();
    for c in webp.chunks_mut().iter_mut().filter(|c| c.id() == *b"VP8X") {
        if let RiffContent::Data(d) = c.content_mut() {
            if let Some(&flags) = d.first() {
                let new = (flags & !(VP8X_EXIF | VP8X_XMP)) | if has_exif { VP8X_EXIF } else { 0 };
                if new != flags {
                    let mut v = d.to_vec();
                    v[0] = new;
                    *d = v.into();
                }
            }
        }
    }
    Ok(webp.encoder().bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend(((payload.len() + 2) as u16).to_be_bytes());
        s.extend(payload);
        s
    }

    /// SOI, the given segments, a frame and scan header, "scan data", EOI, then `after`.
    fn jpeg_of(segments: &[Vec<u8>], scan: &[u8], after: &[u8]) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        for s in segments {
            b.extend(s);
        }
        b.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        b.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        b.extend(scan);
        b.extend([0xFF, 0xD9]);
        b.extend(after);
        b
    }

    fn exif(orientation: u8, extra: &[u8]) -> Vec<u8> {
        let mut p = EXIF_PREFIX.to_vec();
        p.extend(orientation_tiff(orientation));
        p.extend(extra);
        p
    }

    #[test]
    fn jpeg_keeps_jfif_icc_adobe_tables_and_scans_and_drops_the_rest() {
        let jfif = segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\x01\x01\xAA\xBB\xCC");
        let icc = segment(0xE2, b"ICC_PROFILE\0\x01\x01profile");
        let adobe = segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01");
        let dqt = segment(0xDB, &[0; 65]);
        let dropped = [
            segment(0xE1, &exif(1, b"GPS 48.85N")),
            segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"),
            segment(0xED, b"Photoshop 3.0\08BIM IPTC"),
            segment(0xE2, b"MPF\0offsets"),
            segment(0xEC, b"Ducky"),
            segment(0xFE, b"a comment"),
        ];
        // A second scan with a comment and tables between the scans, stuffed 0xFF and a
        // restart marker in the scan data.
        let mut scan = vec![1, 2, 0xFF, 0x00, 3, 0xFF, 0xD0, 4];
        scan.extend(segment(0xFE, b"between scans"));
        scan.extend(segment(0xC4, &[0, 1, 2, 3]));
        scan.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        scan.extend([5, 6, 0xFF, 0x00]);
        let mut all = vec![jfif.clone(), icc.clone()];
        all.extend(dropped.iter().cloned());
        all.extend([adobe.clone(), dqt.clone()]);
        let input = jpeg_of(&all, &scan, b"second image with its own EXIF");
        let out = strip(&input).unwrap().expect("something to strip");
        let mut kept_scan = vec![1, 2, 0xFF, 0x00, 3, 0xFF, 0xD0, 4];
        kept_scan.extend(segment(0xC4, &[0, 1, 2, 3]));
        kept_scan.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        kept_scan.extend([5, 6, 0xFF, 0x00]);
        let jfif_kept = segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0");
        assert_eq!(out, jpeg_of(&[jfif_kept, icc, adobe, dqt], &kept_scan, b""));
        assert_eq!(strip(&out).unwrap(), None, "nothing left to strip");
    }

    #[test]
    fn an_orientation_is_kept_alone() {
        let input = jpeg_of(
            &[
                segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"),
                segment(0xE1, &exif(6, b"serial 1234")),
            ],
            &[1, 2, 3],
            b"",
        );
        let out = strip(&input).unwrap().unwrap();
        assert_eq!(
            out,
            jpeg_of(
                &[
                    segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"),
                    segment(0xE1, &exif(6, b""))
                ],
                &[1, 2, 3],
                b""
            )
        );
        assert_eq!(tiff_orientation(&orientation_tiff(6)), Some(6));
        let be = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x03\0\0\0\0\0\0";
        assert_eq!(tiff_orientation(be), Some(3));
        assert_eq!(tiff_orientation(&orientation_tiff(9)), None, "out of range");
        assert_eq!(tiff_orientation(b"II*\0\xff\xff\xff\xff"), None);
    }

    fn png_of(chunks: &[([u8; 4], &[u8])]) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in chunks {
            let c = PngChunk::new(*kind, Bytes::copy_from_slice(data));
            png.extend(c.encoder().bytes());
        }
        png
    }

    #[test]
    fn png_keeps_the_chunks_that_change_how_it_looks() {
        let tiff = orientation_tiff(8);
        let ihdr: &[u8] = &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0];
        let input = png_of(&[
            (*b"IHDR", ihdr),
            (*b"iCCP", b"icc\0\0data"),
            (*b"gAMA", &[0, 0, 0xB1, 0x8F]),
            (*b"tEXt", b"Author\0me"),
            (*b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x/>"),
            (*b"zTXt", b"Raw profile type exif\0\0xx"),
            (*b"tIME", &[7, 0xE8, 1, 1, 0, 0, 0]),
            (*b"eXIf", &tiff),
            (*b"caBX", b"c2pa"),
            (*b"pHYs", &[0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1]),
            (*b"IDAT", b"pixels"),
            (*b"IEND", b""),
        ]);
        let mut with_trailer = input.clone();
        with_trailer.extend(b"after the end");
        let out = strip(&with_trailer).unwrap().unwrap();
        assert_eq!(
            out,
            png_of(&[
                (*b"IHDR", ihdr),
                (*b"iCCP", b"icc\0\0data"),
                (*b"gAMA", &[0, 0, 0xB1, 0x8F]),
                (*b"pHYs", &[0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1]),
                (*b"eXIf", &tiff),
                (*b"IDAT", b"pixels"),
                (*b"IEND", b""),
            ])
        );
        let mut bad_crc = input;
        let n = bad_crc.len();
        bad_crc[n - 1] ^= 1;
        assert!(strip(&bad_crc).unwrap_err().contains("PNG"));
    }

    fn webp_of(chunks: &[([u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (id, data) in chunks {
            body.extend(id);
            body.extend((data.len() as u32).to_le_bytes());
            body.extend(*data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut b = b"RIFF".to_vec();
        b.extend((body.len() as u32).to_le_bytes());
        b.extend(body);
        b
    }

    #[test]
    fn webp_drops_exif_and_xmp_and_fixes_the_flags_and_size() {
        let vp8x = |flags: u8| [flags, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let input = webp_of(&[
            (*b"VP8X", &vp8x(0b0010_1100)),
            (*b"ICCP", b"icc"),
            (*b"VP8 ", b"frame"),
            (*b"EXIF", &exif(1, b"GPS")),
            (*b"XMP ", b"<x:xmpmeta/>"),
        ]);
        let out = strip(&input).unwrap().unwrap();
        assert_eq!(
            out,
            webp_of(&[(*b"VP8X", &vp8x(0b0010_0000)), (*b"ICCP", b"icc"), (*b"VP8 ", b"frame")])
        );
        let rotated = webp_of(&[
            (*b"VP8X", &vp8x(0b0000_1000)),
            (*b"VP8L", b"frame"),
            (*b"EXIF", &exif(5, b"GPS")),
        ]);
        let out = strip(&rotated).unwrap().unwrap();
        assert_eq!(
            out,
            webp_of(&[
                (*b"VP8X", &vp8x(0b0000_1000)),
                (*b"VP8L", b"frame"),
                (*b"EXIF", &orientation_tiff(5))
            ])
        );
        assert!(strip(&input[..input.len() - 3]).is_err(), "truncated");
    }

    #[test]
    fn other_files_and_clean_images_are_left_alone() {
        assert_eq!(strip(b"GIF89a....").unwrap(), None);
        assert_eq!(strip(b"").unwrap(), None);
        let clean = jpeg_of(&[segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0")], &[1, 2], b"");
        assert_eq!(strip(&clean).unwrap(), None);
        assert!(is_strippable_name("static/a/B.JPG") && is_strippable_name("x.webp"));
        assert!(!is_strippable_name("a.gif") && !is_strippable_name("jpg"));
    }
}
