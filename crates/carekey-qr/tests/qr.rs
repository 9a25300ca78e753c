//! Integration tests of carekey-qr: encode in every form, decode PNG and JPEG, refuse bad input.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;

use carekey_qr::{decode, png, svg, terminal, QrError};
use image::{GrayImage, ImageFormat, Luma};
use proptest::prelude::*;

/// A `carekey:` URI of exactly 600 bytes, like a real access request.
fn uri_600() -> String {
    let mut uri = String::from("carekey:request/v1/");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u32 = 12345;
    while uri.len() < 600 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        uri.push(alphabet[(x >> 16) as usize % 64] as char);
    }
    uri
}

#[test]
fn png_round_trip_of_a_600_byte_uri() {
    let uri = uri_600();
    assert_eq!(uri.len(), 600);
    let bytes = png(&uri).unwrap();
    let image = image::load_from_memory(&bytes).unwrap();
    let modules = image.width() / 8;
    assert_eq!(image.width() % 8, 0);
    assert!(modules >= 21 + 8, "at least version 1 plus the quiet zone");
    assert_eq!(decode(&bytes).unwrap(), uri);
}

#[test]
fn jpeg_and_scaled_screenshots_decode() {
    let uri = uri_600();
    let image = image::load_from_memory(&png(&uri).unwrap()).unwrap();
    // Lossy JPEG in colour, at full size and at 3/4 size (a screenshot on a scaled display).
    for scale in [4, 3] {
        let w = image.width() * scale / 4;
        let scaled = image.resize(w, w, image::imageops::FilterType::Triangle);
        let mut jpeg = Cursor::new(Vec::new());
        scaled
            .to_rgb8()
            .write_to(&mut jpeg, ImageFormat::Jpeg)
            .unwrap();
        assert_eq!(decode(jpeg.get_ref()), Ok(uri.clone()), "at {scale}/4 size");
    }
}

#[test]
fn svg_is_dark_on_light_with_quiet_zone() {
    let svg = svg("carekey:request/v1/AAAA").unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    assert!(svg.contains("#000000") && svg.contains("#ffffff"));
    // 25 modules (version 2 at level M for 23 bytes) + 2 × 4 quiet modules.
    let size = svg
        .split("width=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse::<u32>()
        .unwrap();
    assert!(size >= 256);
}

#[test]
fn terminal_uses_half_blocks_with_explicit_colours() {
    let text = terminal("carekey:request/v1/AAAA").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines
        .iter()
        .all(|l| l.starts_with("\x1b[38;5;16;48;5;231m") && l.ends_with("\x1b[0m")));
    let cells: Vec<usize> = lines
        .iter()
        .map(|l| l.chars().filter(|c| " ▀▄█".contains(*c)).count())
        .collect();
    let width = cells[0];
    assert!(cells.iter().all(|&c| c == width), "every row equally wide");
    assert_eq!(
        lines.len(),
        width.div_ceil(2),
        "two module rows per text row"
    );
    assert!(text.contains('█') && text.contains('▀') && text.contains('▄'));
    // The first text row is all quiet zone.
    assert!(lines[0].chars().filter(|c| "▀▄█".contains(*c)).count() == 0);
}

#[test]
fn too_long_data_is_a_typed_error() {
    let long = "x".repeat(3000);
    assert_eq!(png(&long), Err(QrError::TooLong));
    assert_eq!(svg(&long), Err(QrError::TooLong));
    assert_eq!(terminal(&long), Err(QrError::TooLong));
}

#[test]
fn garbage_and_codeless_images_are_typed_errors() {
    assert!(matches!(decode(b""), Err(QrError::NotAnImage { .. })));
    assert!(matches!(
        decode(b"not an image at all"),
        Err(QrError::NotAnImage { .. })
    ));
    assert!(matches!(
        decode(b"\x89PNG\r\n\x1a\ngarbage"),
        Err(QrError::NotAnImage { .. })
    ));
    assert!(matches!(
        decode(b"GIF89a....."),
        Err(QrError::NotAnImage { .. })
    ));

    let blank = GrayImage::from_pixel(200, 200, Luma([255]));
    let mut bytes = Cursor::new(Vec::new());
    blank.write_to(&mut bytes, ImageFormat::Png).unwrap();
    assert_eq!(decode(bytes.get_ref()), Err(QrError::NoCode));

    let stripes = GrayImage::from_fn(300, 300, |x, y| {
        Luma([if (x / 7 + y / 13) % 2 == 0 { 0 } else { 255 }])
    });
    let mut bytes = Cursor::new(Vec::new());
    stripes.write_to(&mut bytes, ImageFormat::Png).unwrap();
    assert!(decode(bytes.get_ref()).is_err());
}

#[test]
fn truncated_png_of_a_code_is_an_error() {
    let bytes = png("carekey:request/v1/AAAA").unwrap();
    assert!(matches!(
        decode(&bytes[..bytes.len() / 2]),
        Err(QrError::NotAnImage { .. })
    ));
}

#[test]
fn huge_declared_dimensions_are_refused() {
    // A valid PNG header claiming 100000 × 100000 pixels.
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    let ihdr = [
        &100_000u32.to_be_bytes()[..],
        &100_000u32.to_be_bytes(),
        &[8, 0, 0, 0, 0],
    ]
    .concat();
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&[b"IHDR".as_slice(), &ihdr].concat()).to_be_bytes());
    assert_eq!(decode(&png), Err(QrError::ImageTooLarge));
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = decode(&bytes);
        let mut png_ish = b"\x89PNG\r\n\x1a\n".to_vec();
        png_ish.extend_from_slice(&bytes);
        let _ = decode(&png_ish);
    }

    #[test]
    fn short_texts_round_trip(text in "\\PC{1,60}") {
        prop_assert_eq!(decode(&png(&text).unwrap()).unwrap(), text);
    }
}
