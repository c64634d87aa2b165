//! The thumbnails' GridFS files: the filter by key, the metadata written with an image and the
//! image kind read back from it.

use bson::{doc, Document};
use livesessions_core::{ImageKind, Result, ThumbnailKey};

use crate::documents::THUMBNAILS;

/// The field of a file's `metadata` that holds the image's MIME type.
const CONTENT_TYPE: &str = "contentType";

/// The file stored under `key` (its `filename`).
pub fn thumbnail_filter(key: &ThumbnailKey) -> Document {
    doc! { "filename": key.as_str() }
}

/// The `metadata` of an image of `kind`: `{ contentType: "image/png" }`.
pub fn thumbnail_metadata(kind: ImageKind) -> Document {
    doc! { CONTENT_TYPE: kind.mime() }
}

/// The kind of the image stored under `key`, from its file's `metadata`: the MIME type there,
/// or the key's extension for a file written without one (by another program). A MIME type
/// that is not one of the accepted kinds is a storage error.
pub fn thumbnail_kind(metadata: Option<&Document>, key: &ThumbnailKey) -> Result<ImageKind> {
    match metadata.and_then(|m| m.get_str(CONTENT_TYPE).ok()) {
        None => Ok(key.kind()),
        Some(mime) => ImageKind::from_mime(mime).ok_or_else(|| {
            livesessions_core::Error::storage(format!(
                "{THUMBNAILS}.files: the file {key} has the content type {mime:?}, not an \
                 accepted image type"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_metadata_or_the_key() {
        let key = ThumbnailKey::parse("abc.png").unwrap();
        let jpeg = thumbnail_metadata(ImageKind::Jpeg);
        assert_eq!(jpeg, doc! { "contentType": "image/jpeg" });
        assert_eq!(thumbnail_kind(Some(&jpeg), &key).unwrap(), ImageKind::Jpeg);
        assert_eq!(thumbnail_kind(None, &key).unwrap(), ImageKind::Png);
        assert_eq!(
            thumbnail_kind(Some(&doc! {}), &key).unwrap(),
            ImageKind::Png
        );
        let svg = doc! { "contentType": "image/svg+xml" };
        assert!(matches!(
            thumbnail_kind(Some(&svg), &key),
            Err(livesessions_core::Error::Storage(_))
        ));
        assert_eq!(thumbnail_filter(&key), doc! { "filename": "abc.png" });
    }
}
