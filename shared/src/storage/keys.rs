//! Object keys and the image types the product accepts. Paths stored in the
//! database name the bucket first (`private/<uid>/inputs/<uuid>.jpg`); S3 keys
//! do not (`<uid>/inputs/<uuid>.jpg` in bucket `private`).

use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
    Webp,
}

impl ImageType {
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        match content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Some(ImageType::Jpeg),
            "image/png" => Some(ImageType::Png),
            "image/webp" => Some(ImageType::Webp),
            _ => None,
        }
    }

    fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "jpg" => Some(ImageType::Jpeg),
            "png" => Some(ImageType::Png),
            "webp" => Some(ImageType::Webp),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpg",
            ImageType::Png => "png",
            ImageType::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
        }
    }

    /// What the first bytes of a file say it is (a client can claim any
    /// content type; the magic numbers tell the truth).
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageType::Webp)
        } else {
            None
        }
    }
}

/// An uploaded input image: `private/<owner>/inputs/<file>.<ext>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputPath {
    pub owner: Uuid,
    pub file: Uuid,
    pub image_type: ImageType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InputPathError {
    #[error("the path is not an input upload path")]
    Malformed,
    #[error("the path belongs to another user")]
    NotOwned,
}

impl InputPath {
    pub fn new(owner: Uuid, image_type: ImageType) -> Self {
        InputPath { owner, file: Uuid::new_v4(), image_type }
    }

    /// Parses a path a client sent and checks that it is `owner`'s. Only the
    /// exact shape we hand out is accepted, so `..`, extra segments, other
    /// buckets and encoded tricks never get through.
    pub fn parse_owned(path: &str, owner: Uuid) -> Result<Self, InputPathError> {
        if path.len() > 200 {
            return Err(InputPathError::Malformed);
        }
        let mut segments = path.split('/');
        let (Some("private"), Some(user), Some("inputs"), Some(file), None) =
            (segments.next(), segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(InputPathError::Malformed);
        };
        let user = parse_canonical_uuid(user).ok_or(InputPathError::Malformed)?;
        let (stem, ext) = file.rsplit_once('.').ok_or(InputPathError::Malformed)?;
        let file = parse_canonical_uuid(stem).ok_or(InputPathError::Malformed)?;
        let image_type = ImageType::from_extension(ext).ok_or(InputPathError::Malformed)?;
        if user != owner {
            return Err(InputPathError::NotOwned);
        }
        Ok(InputPath { owner: user, file, image_type })
    }

    /// The path as the database and the API carry it.
    pub fn db_path(&self) -> String {
        format!("{}/{}", super::PRIVATE_BUCKET, self.bucket_key())
    }

    /// The key inside bucket `private`.
    pub fn bucket_key(&self) -> String {
        format!("{}/inputs/{}.{}", self.owner, self.file, self.image_type.extension())
    }
}

/// Only the lowercase hyphenated form we generate, so one object has one path.
fn parse_canonical_uuid(text: &str) -> Option<Uuid> {
    let id = Uuid::try_parse(text).ok()?;
    (id.hyphenated().to_string() == text).then_some(id)
}

/// The key of a render's variant in bucket `public`.
pub fn render_key(render_id: Uuid, index: i32) -> String {
    format!("renders/{render_id}/{index}.jpg")
}

/// The key of a variant's thumbnail, beside its image (spec section 2).
pub fn thumb_key(render_id: Uuid, index: i32) -> String {
    format!("renders/{render_id}/{index}_thumb.webp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_paths_round_trip() {
        let owner = Uuid::new_v4();
        let path = InputPath::new(owner, ImageType::Png);
        assert_eq!(path.db_path(), format!("private/{owner}/inputs/{}.png", path.file));
        assert_eq!(InputPath::parse_owned(&path.db_path(), owner), Ok(path));
    }

    #[test]
    fn foreign_and_crafted_paths_are_refused() {
        let owner = Uuid::new_v4();
        let other = Uuid::new_v4();
        let file = Uuid::new_v4();
        assert_eq!(
            InputPath::parse_owned(&format!("private/{other}/inputs/{file}.jpg"), owner),
            Err(InputPathError::NotOwned)
        );
        for bad in [
            format!("private/{owner}/inputs/../../{other}/inputs/{file}.jpg"),
            format!("private/{owner}/inputs/{file}.gif"),
            format!("private/{owner}/inputs/{file}"),
            format!("public/{owner}/inputs/{file}.jpg"),
            format!("private/{owner}/outputs/{file}.jpg"),
            format!("private/{owner}/inputs/{file}.jpg/"),
            format!("/private/{owner}/inputs/{file}.jpg"),
            format!("private/{}/inputs/{file}.jpg", owner.simple()),
            format!("private/{owner}/inputs/{}.jpg", file.to_string().to_uppercase()),
            format!("private/{owner}/inputs/%2e%2e.jpg"),
            String::new(),
        ] {
            assert_eq!(InputPath::parse_owned(&bad, owner), Err(InputPathError::Malformed), "{bad}");
        }
    }

    #[test]
    fn content_types_and_sniffing() {
        assert_eq!(ImageType::from_content_type("image/jpeg"), Some(ImageType::Jpeg));
        assert_eq!(ImageType::from_content_type("IMAGE/PNG; charset=x"), Some(ImageType::Png));
        assert_eq!(ImageType::from_content_type("image/gif"), None);
        assert_eq!(ImageType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageType::Jpeg));
        assert_eq!(ImageType::sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageType::Png));
        assert_eq!(ImageType::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageType::Webp));
        assert_eq!(ImageType::sniff(b"<svg"), None);
    }

    #[test]
    fn render_keys() {
        let id = Uuid::nil();
        assert_eq!(render_key(id, 2), "renders/00000000-0000-0000-0000-000000000000/2.jpg");
        assert_eq!(thumb_key(id, 2), "renders/00000000-0000-0000-0000-000000000000/2_thumb.webp");
    }
}
