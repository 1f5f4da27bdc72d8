//! Media files: what a file is (by its bytes, not by what the client
//! says), and turning an image into what we store and serve: metadata
//! stripped, orientation applied, a thumbnail, a blurhash.

pub mod storage;

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

/// Largest image we decode (Mastodon's limit: 8K, 7680 × 4320). Checked
/// from the header before decoding, so a small file claiming a huge
/// picture (a decompression bomb) costs nothing.
pub const MAX_PIXELS: u64 = 33_177_600;

/// Thumbnails fit in this square.
pub const THUMB_MAX: u32 = 640;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Video,
    Audio,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Video => "video",
            Kind::Audio => "audio",
        }
    }
}

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probed {
    pub kind: Kind,
    pub content_type: &'static str,
    pub ext: &'static str,
    pub image: Option<ImageFormat>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct MediaError(pub String);

fn refuse<T>(msg: impl Into<String>) -> Result<T, MediaError> {
    Err(MediaError(msg.into()))
}

fn image_probe(fmt: ImageFormat) -> Option<Probed> {
    let (content_type, ext) = match fmt {
        ImageFormat::Jpeg => ("image/jpeg", "jpg"),
        ImageFormat::Png => ("image/png", "png"),
        ImageFormat::Gif => ("image/gif", "gif"),
        ImageFormat::WebP => ("image/webp", "webp"),
        _ => return None,
    };
    Some(Probed {
        kind: Kind::Image,
        content_type,
        ext,
        image: Some(fmt),
    })
}

fn av(kind: Kind, content_type: &'static str, ext: &'static str) -> Probed {
    Probed {
        kind,
        content_type,
        ext,
        image: None,
    }
}

/// Audio and video containers we accept, by their magic numbers.
fn av_probe(b: &[u8]) -> Option<Probed> {
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        return Some(match &b[8..12] {
            b"qt  " => av(Kind::Video, "video/quicktime", "mov"),
            b"M4A " => av(Kind::Audio, "audio/mp4", "m4a"),
            _ => av(Kind::Video, "video/mp4", "mp4"),
        });
    }
    if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(av(Kind::Video, "video/webm", "webm"));
    }
    if b.starts_with(b"OggS") {
        return Some(av(Kind::Audio, "audio/ogg", "ogg"));
    }
    if b.starts_with(b"fLaC") {
        return Some(av(Kind::Audio, "audio/flac", "flac"));
    }
    if b.len() >= 12 && b.starts_with(b"RIFF") && &b[8..12] == b"WAVE" {
        return Some(av(Kind::Audio, "audio/wave", "wav"));
    }
    if b.starts_with(b"ID3") || (b.len() >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0) {
        return Some(av(Kind::Audio, "audio/mpeg", "mp3"));
    }
    None
}

fn normalize(ct: &str) -> String {
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg".into(),
        _ => ct,
    }
}

/// Identifies a file by its bytes. A client's Content-Type (`declared`)
/// must agree with them; `application/octet-stream` or none says nothing.
pub fn probe(bytes: &[u8], declared: Option<&str>) -> Result<Probed, MediaError> {
    let found = image::guess_format(bytes)
        .ok()
        .and_then(image_probe)
        .or_else(|| av_probe(bytes));
    let declared = declared
        .map(normalize)
        .filter(|d| !d.is_empty() && d != "application/octet-stream");
    let Some(found) = found else {
        return match declared {
            Some(d)
                if d.starts_with("image/")
                    || d.starts_with("video/")
                    || d.starts_with("audio/") =>
            {
                refuse(
                    "Validation failed: File has contents that are not what they are reported to be",
                )
            }
            _ => refuse(
                "Validation failed: File content type is not supported (images, video and audio are)",
            ),
        };
    };
    if let Some(d) = declared {
        let top = d.split('/').next().unwrap_or("");
        let agrees = match found.kind {
            // Image subtypes must match: a PNG sent as JPEG is a lie.
            Kind::Image => d == found.content_type,
            Kind::Video | Kind::Audio => top == "video" || top == "audio",
        };
        if !agrees {
            return refuse(
                "Validation failed: File has contents that are not what they are reported to be",
            );
        }
    }
    Ok(found)
}

/// A file made ready to store.
#[derive(Debug)]
pub struct Processed {
    pub original: Vec<u8>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Thumbnail bytes, extension, width, height.
    pub thumb: Option<(Vec<u8>, &'static str, u32, u32)>,
    pub blurhash: Option<String>,
}

/// Checks an image's header (size limits, truncation) without decoding it.
pub fn check_image(bytes: &[u8], p: &Probed) -> Result<(u32, u32), MediaError> {
    let Some(fmt) = p.image else {
        return refuse("not an image");
    };
    if truncated(bytes, fmt) {
        return refuse("Validation failed: File could not be processed: the image is truncated");
    }
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(fmt);
    let (w, h) = reader.into_dimensions().map_err(|e| {
        MediaError(format!(
            "Validation failed: File could not be processed: {e}"
        ))
    })?;
    if w == 0 || h == 0 {
        return refuse("Validation failed: File could not be processed: the image is empty");
    }
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return refuse(format!(
            "Validation failed: File dimensions {w}x{h} exceed the limit of {MAX_PIXELS} pixels"
        ));
    }
    Ok((w, h))
}

/// Whether a file stops before its format's end marker.
fn truncated(b: &[u8], fmt: ImageFormat) -> bool {
    match fmt {
        ImageFormat::Jpeg => {
            let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
            !(end >= 4 && b[end - 2] == 0xFF && b[end - 1] == 0xD9)
        }
        ImageFormat::Gif => b.iter().rposition(|&x| x != 0).is_none_or(|i| b[i] != 0x3B),
        ImageFormat::WebP => {
            b.len() < 12 || (u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize + 8) > b.len()
        }
        // PNG's decoder fails on a missing end by itself.
        _ => false,
    }
}

/// Decodes (within limits), applies the EXIF orientation, drops metadata
/// by re-encoding (JPEG, PNG) or cutting the metadata chunks (WebP; GIF
/// carries none), and makes a thumbnail and a blurhash. CPU-bound: run it
/// on a blocking thread.
pub fn process_image(bytes: Vec<u8>, p: &Probed) -> Result<Processed, MediaError> {
    check_image(&bytes, p)?;
    let Some(fmt) = p.image else {
        return refuse("not an image");
    };
    let failed = |e: image::ImageError| {
        MediaError(format!(
            "Validation failed: File could not be processed: {e}"
        ))
    };
    let mut reader = ImageReader::new(Cursor::new(&bytes));
    reader.set_format(fmt);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(failed)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(failed)?;
    img.apply_orientation(orientation);
    let original = match fmt {
        ImageFormat::Jpeg => encode_jpeg(&img, 90)?,
        ImageFormat::Png => encode(&img, ImageFormat::Png)?,
        ImageFormat::WebP => strip_webp_metadata(&bytes)?,
        _ => bytes,
    };
    let (width, height) = (img.width(), img.height());
    let small = img.thumbnail(THUMB_MAX, THUMB_MAX);
    let (thumb, ext) = if small.color().has_alpha() {
        (encode(&small, ImageFormat::Png)?, "png")
    } else {
        (encode_jpeg(&small, 80)?, "jpg")
    };
    let hash_src = small.thumbnail(64, 64).to_rgba8();
    let blurhash =
        blurhash::encode(4, 3, hash_src.width(), hash_src.height(), hash_src.as_raw()).ok();
    Ok(Processed {
        original,
        width: Some(width),
        height: Some(height),
        thumb: Some((thumb, ext, small.width(), small.height())),
        blurhash,
    })
}

fn encode(img: &DynamicImage, fmt: ImageFormat) -> Result<Vec<u8>, MediaError> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, fmt)
        .map_err(|e| MediaError(format!("cannot encode image: {e}")))?;
    Ok(out.into_inner())
}

fn encode_jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&rgb)
        .map_err(|e| MediaError(format!("cannot encode image: {e}")))?;
    Ok(out)
}

/// Drops the EXIF and XMP chunks of a WebP file (and their flags) and
/// keeps the image data untouched.
fn strip_webp_metadata(b: &[u8]) -> Result<Vec<u8>, MediaError> {
    let bad = || MediaError("Validation failed: File could not be processed: bad WebP".into());
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return Err(bad());
    }
    let mut out = b"RIFF\0\0\0\0WEBP".to_vec();
    let mut i = 12;
    while i + 8 <= b.len() {
        let fourcc = &b[i..i + 4];
        let size = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        let end = i + 8 + size + (size & 1);
        if i + 8 + size > b.len() {
            return Err(bad());
        }
        let chunk = &b[i..end.min(b.len())];
        match fourcc {
            b"EXIF" | b"XMP " => {}
            b"VP8X" if size >= 1 => {
                let mut c = chunk.to_vec();
                c[8] &= !(0x08 | 0x04);
                out.extend_from_slice(&c);
            }
            _ => out.extend_from_slice(chunk),
        }
        i = end;
    }
    let riff = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    Ok(out)
}

/// A profile picture: decoded, oriented, cropped to fill `w`×`h` (only
/// shrunk, never enlarged), re-encoded without metadata (PNG if it has
/// transparency, else JPEG). Returns the bytes and extension.
pub fn crop_image(
    bytes: &[u8],
    p: &Probed,
    w: u32,
    h: u32,
) -> Result<(Vec<u8>, &'static str), MediaError> {
    check_image(bytes, p)?;
    let Some(fmt) = p.image else {
        return refuse("not an image");
    };
    let failed = |e: image::ImageError| {
        MediaError(format!(
            "Validation failed: File could not be processed: {e}"
        ))
    };
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(fmt);
    let mut decoder = reader.into_decoder().map_err(failed)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(failed)?;
    img.apply_orientation(orientation);
    if img.width() > w || img.height() > h {
        img = img.resize_to_fill(w, h, image::imageops::FilterType::Triangle);
    }
    if img.color().has_alpha() {
        Ok((encode(&img, ImageFormat::Png)?, "png"))
    } else {
        Ok((encode_jpeg(&img, 90)?, "jpg"))
    }
}

/// Video and audio are stored as sent (no transcoding here): no
/// thumbnail, no blurhash.
pub fn process_other(bytes: Vec<u8>) -> Processed {
    Processed {
        original: bytes,
        width: None,
        height: None,
        thumb: None,
        blurhash: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }));
        encode(&img, ImageFormat::Png).unwrap()
    }

    #[test]
    fn types_come_from_the_bytes() {
        let p = png(4, 4);
        assert_eq!(probe(&p, Some("image/png")).unwrap().ext, "png");
        assert_eq!(probe(&p, None).unwrap().content_type, "image/png");
        assert_eq!(
            probe(&p, Some("application/octet-stream")).unwrap().kind,
            Kind::Image
        );
        assert!(
            probe(&p, Some("image/jpeg")).is_err(),
            "a PNG said to be a JPEG"
        );
        assert!(probe(b"%PDF-1.7 ...", Some("application/pdf")).is_err());
        assert!(probe(b"plain text", Some("image/png")).is_err());
        let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomiso2";
        assert_eq!(probe(mp4, Some("video/mp4")).unwrap().kind, Kind::Video);
        assert!(probe(mp4, Some("image/png")).is_err());
        assert_eq!(probe(b"OggS\0\x02", None).unwrap().kind, Kind::Audio);
    }

    #[test]
    fn bombs_and_truncation_are_refused_before_decoding() {
        // A real PNG header claiming 100000 x 100000 pixels.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let p = probe(&bomb, None).unwrap();
        let e = check_image(&bomb, &p).unwrap_err();
        assert!(e.0.contains("exceed") || e.0.contains("processed"), "{e}");
        let jpeg = encode_jpeg(&DynamicImage::new_rgb8(32, 32), 80).unwrap();
        let cut = &jpeg[..jpeg.len() / 2];
        let p = probe(cut, None).unwrap();
        assert!(check_image(cut, &p).unwrap_err().0.contains("truncated"));
    }

    #[test]
    fn webp_metadata_chunks_go() {
        let mut w = b"RIFF\0\0\0\0WEBP".to_vec();
        w.extend_from_slice(b"VP8X\x0a\0\0\0\x0c\0\0\0\0\0\0\0\0\0");
        w.extend_from_slice(b"EXIF\x04\0\0\0GPS!");
        w.extend_from_slice(b"XMP \x03\0\0\0abc\0");
        let n = (w.len() - 8) as u32;
        w[4..8].copy_from_slice(&n.to_le_bytes());
        let out = strip_webp_metadata(&w).unwrap();
        assert!(
            !out.windows(4)
                .any(|x| x == b"EXIF" || x == b"GPS!" || x == b"XMP ")
        );
        assert_eq!(out[20] & 0x0c, 0, "flags cleared");
        assert_eq!(
            u32::from_le_bytes([out[4], out[5], out[6], out[7]]) as usize,
            out.len() - 8
        );
    }
}
