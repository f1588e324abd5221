//! Cleaning input photos on real files: every EXIF orientation in each
//! accepted format comes out upright with no metadata left, and broken or
//! hostile files are refused with the right reason.

use image::{ImageDecoder, ImageReader};
use shared::images::{clean_input, inspect, CleanSettings, ImageRefusal, Layout};
use shared::storage::ImageType;
use std::io::Cursor;
use testkit::photos::{self, is_upright_picture, phone_photo, CAMERA_MAKE, GPS_LATITUDE_BYTES};

const FORMATS: [ImageType; 3] = [ImageType::Jpeg, ImageType::Png, ImageType::Webp];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn decoded(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory(bytes).expect("the clean file decodes").to_rgb8()
}

/// What a decoder finds of EXIF and XMP in the file.
fn embedded_metadata(bytes: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut decoder = ImageReader::new(Cursor::new(bytes)).with_guessed_format().unwrap().into_decoder().unwrap();
    (decoder.exif_metadata().unwrap(), decoder.xmp_metadata().unwrap())
}

#[test]
fn the_fixtures_carry_what_phones_write() {
    for format in FORMATS {
        for orientation in 1..=8 {
            let photo = phone_photo(format, orientation);
            assert!(contains(&photo, &GPS_LATITUDE_BYTES), "{format:?} {orientation}: GPS");
            let (exif, _) = embedded_metadata(&photo);
            assert!(exif.is_some(), "{format:?} {orientation}: a decoder finds the EXIF");
            assert!(inspect(&photo, format).unwrap().metadata);
        }
    }
    // Orientation 1's stored pixels already are the picture; 6's are not.
    assert!(is_upright_picture(&photos::stored_pixels(1), 0).is_ok());
    assert!(is_upright_picture(&photos::stored_pixels(6), 0).is_err());
}

#[test]
fn every_orientation_in_every_format_comes_out_upright_and_bare() {
    for format in FORMATS {
        for orientation in 1..=8u16 {
            let photo = phone_photo(format, orientation);
            let cleaned = clean_input(&photo, format, &CleanSettings::default()).unwrap();
            let clean = cleaned.rewritten.unwrap_or_else(|| panic!("{format:?} {orientation} must be rewritten"));
            let what = format!("{format:?} orientation {orientation}");
            assert_eq!((cleaned.width, cleaned.height), photos::UPRIGHT, "{what}");
            assert_eq!(ImageType::sniff(&clean), Some(format), "{what}: keeps its format");
            is_upright_picture(&decoded(&clean), 40).unwrap_or_else(|problem| panic!("{what}: {problem}"));
            assert_eq!(inspect(&clean, format), Ok(Layout { metadata: false, trailing: false }), "{what}");
            assert_eq!(embedded_metadata(&clean), (None, None), "{what}: a decoder finds no EXIF or XMP");
            assert!(!contains(&clean, &GPS_LATITUDE_BYTES), "{what}: the GPS position is gone");
            assert!(!contains(&clean, CAMERA_MAKE.as_bytes()), "{what}: the camera make is gone");
            assert!(!contains(&clean, b"taken at home"), "{what}: text chunks are gone");
        }
    }
}

#[test]
fn a_clean_file_is_kept_byte_for_byte_so_a_replay_does_not_compress_it_again() {
    for format in FORMATS {
        let photo = phone_photo(format, 6);
        let clean = clean_input(&photo, format, &CleanSettings::default()).unwrap().rewritten.unwrap();
        let again = clean_input(&clean, format, &CleanSettings::default()).unwrap();
        assert_eq!(again.rewritten, None, "{format:?}");
        assert_eq!((again.width, again.height), photos::UPRIGHT);
    }
}

#[test]
fn a_large_photo_is_scaled_to_the_long_edge_and_turned() {
    let photo = photos::twelve_megapixel_jpeg();
    let settings = CleanSettings { max_edge: 2048, ..CleanSettings::default() };
    let cleaned = clean_input(&photo, ImageType::Jpeg, &settings).unwrap();
    // Stored 3024x4032 with orientation 6: upright it is landscape.
    assert_eq!((cleaned.width, cleaned.height), (2048, 1536));
    let clean = cleaned.rewritten.unwrap();
    assert_eq!(dimensions(&clean), (2048, 1536));
    assert!(!contains(&clean, &GPS_LATITUDE_BYTES));
    assert!(clean.len() < photo.len());
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let decoded = image::load_from_memory(bytes).unwrap();
    (decoded.width(), decoded.height())
}

#[test]
fn a_clean_small_upload_without_metadata_is_kept() {
    let plain = testkit::stack::test_jpeg(64, 48);
    let cleaned = clean_input(&plain, ImageType::Jpeg, &CleanSettings::default()).unwrap();
    assert_eq!(cleaned.rewritten, None);
    // The same file with bytes hidden after its end is rewritten without them.
    let mut smuggled = plain.clone();
    smuggled.extend_from_slice(b"PK\x03\x04 hidden");
    let rewritten = clean_input(&smuggled, ImageType::Jpeg, &CleanSettings::default()).unwrap().rewritten.unwrap();
    assert!(inspect(&rewritten, ImageType::Jpeg).unwrap().is_bare());
}

#[test]
fn heic_is_refused_with_a_message_saying_to_send_jpeg() {
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0meta".to_vec();
    let refusal = clean_input(&heic, ImageType::Jpeg, &CleanSettings::default()).unwrap_err();
    assert_eq!(refusal, ImageRefusal::Heic);
    assert!(refusal.to_string().contains("send a JPEG"));
    assert_eq!(refusal.into_api_error("input1Path").code.status().as_u16(), 400);
}

#[test]
fn a_file_that_lies_about_its_type_is_refused() {
    let png = phone_photo(ImageType::Png, 1);
    assert_eq!(
        clean_input(&png, ImageType::Jpeg, &CleanSettings::default()),
        Err(ImageRefusal::TypeMismatch { declared: "JPEG", actual: "PNG" })
    );
    // JPEG's first bytes, then anything.
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    fake.extend_from_slice(b"JFIF\0 and then a script <?php ?>");
    assert!(matches!(
        clean_input(&fake, ImageType::Jpeg, &CleanSettings::default()),
        Err(ImageRefusal::Truncated | ImageRefusal::Undecodable(_))
    ));
}

#[test]
fn a_truncated_upload_is_refused_in_each_format() {
    for format in FORMATS {
        let photo = phone_photo(format, 1);
        let cut = &photo[..photo.len() * 2 / 3];
        assert_eq!(clean_input(cut, format, &CleanSettings::default()), Err(ImageRefusal::Truncated), "{format:?}");
    }
}

/// A file of a few hundred bytes that claims to be enormous: refused from
/// its header, before any pixel memory is taken.
#[test]
fn a_decompression_bomb_is_refused_by_its_claimed_size() {
    // A JPEG whose frame header claims 60000x60000 pixels.
    let mut jpeg = testkit::stack::test_jpeg(64, 48);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline frame header");
    jpeg[sof + 5..sof + 7].copy_from_slice(&60000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&60000u16.to_be_bytes());
    let refusal = clean_input(&jpeg, ImageType::Jpeg, &CleanSettings::default()).unwrap_err();
    assert_eq!(refusal, ImageRefusal::TooManyPixels { width: 60000, height: 60000, max_megapixels: 50 });
    assert_eq!(refusal.into_api_error("input1Path").code, shared::http::ErrorCode::ImageTooLarge);

    // A PNG whose header claims 100000x100000 (its CRC made right).
    let mut png = testkit::stack::test_png(32, 32);
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = testkit::photos::png_crc(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        clean_input(&png, ImageType::Png, &CleanSettings::default()),
        Err(ImageRefusal::TooManyPixels { width: 100_000, height: 100_000, .. })
    ));

    // The cap is a setting: a 12-megapixel photo under a 10-megapixel cap.
    let settings = CleanSettings { max_pixels: 10_000_000, ..CleanSettings::default() };
    assert!(matches!(
        clean_input(&photos::twelve_megapixel_jpeg(), ImageType::Jpeg, &settings),
        Err(ImageRefusal::TooManyPixels { width: 3024, height: 4032, max_megapixels: 10 })
    ));
}
