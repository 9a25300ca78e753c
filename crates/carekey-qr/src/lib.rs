//! QR codes for Carekey: access-request URIs and recovery kits as SVG (app UI), PNG and
//! terminal text (CLI), and decoding PNG/JPEG images back to text (scanning a provider's code
//! from a file or screenshot on desktop).
//!
//! Depended on by the wallet and the CLI. Knows nothing about what the text means; parsing the
//! `carekey:` URI is `carekey-model`'s job. Every function returns a typed error on bad input,
//! never panics.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

use std::io::Cursor;

use image::{GrayImage, ImageFormat, ImageReader, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// Error correction level of every code we make: M (about 15 % of the code may be damaged).
const EC_LEVEL: EcLevel = EcLevel::M;
/// Light modules around the code, as ISO/IEC 18004 asks.
pub const QUIET_ZONE_MODULES: u32 = 4;
/// Pixels per module in [`png`] output.
pub const PNG_MODULE_PIXELS: u32 = 8;
/// Largest image width or height [`decode`] accepts, in pixels.
pub const MAX_DECODE_DIMENSION: u32 = 10_000;
/// Most memory the image decoder may allocate for [`decode`].
pub const MAX_DECODE_ALLOC: u64 = 256 << 20;

/// Why a QR code could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text does not fit in a QR code at error-correction level M (at most 2,331 bytes).
    #[error("too much data for one QR code")]
    TooLong,
    /// The QR encoder refused the text for another reason.
    #[error("cannot make a QR code: {reason}")]
    Encode {
        /// The encoder's reason.
        reason: String,
    },
    /// Writing the PNG failed.
    #[error("cannot write PNG: {reason}")]
    Png {
        /// The encoder's reason.
        reason: String,
    },
    /// The bytes are not a PNG or JPEG image, or the image is corrupt.
    #[error("not a readable PNG or JPEG image: {reason}")]
    NotAnImage {
        /// What the image decoder said.
        reason: String,
    },
    /// The image is larger than [`MAX_DECODE_DIMENSION`] pixels on a side, or needs too much memory.
    #[error("image too large to scan")]
    ImageTooLarge,
    /// No QR code was found in the image.
    #[error("no QR code found in the image")]
    NoCode,
    /// A QR code was found but could not be read (damaged, blurred, or not UTF-8 text).
    #[error("found a QR code but could not read it: {reason}")]
    Unreadable {
        /// What went wrong.
        reason: String,
    },
}

fn encode(data: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(data.as_bytes(), EC_LEVEL).map_err(|e| match e {
        qrcode::types::QrError::DataTooLong => QrError::TooLong,
        other => QrError::Encode {
            reason: other.to_string(),
        },
    })
}

/// Modules of the code including the quiet zone, row by row; `true` = dark.
fn modules(code: &QrCode) -> (usize, Vec<bool>) {
    let width = code.width();
    let quiet = QUIET_ZONE_MODULES as usize;
    let full = width + 2 * quiet;
    let colors = code.to_colors();
    let mut out = vec![false; full * full];
    for y in 0..width {
        for x in 0..width {
            out[(y + quiet) * full + x + quiet] = colors[y * width + x] == Color::Dark;
        }
    }
    (full, out)
}

/// An SVG document of the code: black on white, with a quiet zone, at least 256 px wide.
pub fn svg(data: &str) -> Result<String, QrError> {
    let code = encode(data)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

/// A greyscale PNG of the code: black on white, [`PNG_MODULE_PIXELS`] px per module, quiet zone included.
pub fn png(data: &str) -> Result<Vec<u8>, QrError> {
    let code = encode(data)?;
    let (full, dark) = modules(&code);
    let scale = PNG_MODULE_PIXELS as usize;
    let side = (full * scale) as u32;
    let image = GrayImage::from_fn(side, side, |x, y| {
        let module = (y as usize / scale) * full + x as usize / scale;
        Luma([if dark[module] { 0 } else { 255 }])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| QrError::Png {
            reason: e.to_string(),
        })?;
    Ok(out.into_inner())
}

/// The code as text for a terminal: two modules per character cell with Unicode half blocks,
/// drawn in explicit black on white (ANSI 256-colour) so it scans in dark and light themes alike.
pub fn terminal(data: &str) -> Result<String, QrError> {
    const COLOURS: &str = "\x1b[38;5;16;48;5;231m";
    const RESET: &str = "\x1b[0m";
    let code = encode(data)?;
    let (full, dark) = modules(&code);
    let mut out = String::new();
    for y in (0..full).step_by(2) {
        out.push_str(COLOURS);
        for x in 0..full {
            let top = dark[y * full + x];
            let bottom = y + 1 < full && dark[(y + 1) * full + x];
            out.push(match (top, bottom) {
                (false, false) => ' ',
                (true, false) => '▀',
                (false, true) => '▄',
                (true, true) => '█',
            });
        }
        out.push_str(RESET);
        out.push('\n');
    }
    Ok(out)
}

/// Reads the first QR code found in a PNG or JPEG image and returns its text.
pub fn decode(image: &[u8]) -> Result<String, QrError> {
    let mut reader = ImageReader::new(Cursor::new(image))
        .with_guessed_format()
        .map_err(|e| QrError::NotAnImage {
            reason: e.to_string(),
        })?;
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg) => {}
        _ => {
            return Err(QrError::NotAnImage {
                reason: "neither PNG nor JPEG".into(),
            })
        }
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODE_DIMENSION);
    limits.max_image_height = Some(MAX_DECODE_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => QrError::ImageTooLarge,
        other => QrError::NotAnImage {
            reason: other.to_string(),
        },
    })?;
    let grey = decoded.to_luma8();
    // rqrr is not ours and parses untrusted pixels: keep a panic in it from taking the caller down.
    std::panic::catch_unwind(move || scan(&grey)).unwrap_or_else(|_| {
        Err(QrError::Unreadable {
            reason: "the QR decoder failed on this image".into(),
        })
    })
}

fn scan(grey: &GrayImage) -> Result<String, QrError> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        grey.width() as usize,
        grey.height() as usize,
        |x, y| grey.get_pixel(x as u32, y as u32)[0],
    );
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(QrError::NoCode);
    }
    let mut last = None;
    for grid in grids {
        match grid.decode() {
            Ok((_, text)) => return Ok(text),
            Err(e) => last = Some(e),
        }
    }
    Err(QrError::Unreadable {
        reason: last.map(|e| e.to_string()).unwrap_or_default(),
    })
}
