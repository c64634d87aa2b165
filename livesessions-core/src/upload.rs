//! The check of an uploaded thumbnail: [`ThumbnailUpload`] and [`MAX_THUMBNAIL_BYTES`].
//!
//! An upload is accepted by its bytes, not by what the client declares: it must be one of the
//! [`ImageKind`]s by its magic numbers ([`ImageKind::sniff`]), agree with the declared type and
//! carry no markup a browser would act on.

use crate::error::{Error, Result};
use crate::values::ImageKind;

/// The largest accepted thumbnail upload: 5 MiB.
pub const MAX_THUMBNAIL_BYTES: usize = 5 * 1024 * 1024;

/// An uploaded thumbnail as received: the bytes and the type the client declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbnailUpload {
    /// The `Content-Type` the client declared for the file, if any.
    pub declared_type: Option<String>,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl ThumbnailUpload {
    /// Checks the upload: not empty, at most [`MAX_THUMBNAIL_BYTES`], a JPEG, PNG,
    /// GIF or WebP by its bytes, agreeing with the declared type, and free of embedded markup
    /// (polyglots). Field errors use the codes `empty`, `too_large`, `unsupported_type` and
    /// `type_mismatch`.
    pub fn check(&self) -> Result<ImageKind> {
        let fail = |code, message: &str| Err(Error::invalid("thumbnail", code, message));
        if self.bytes.is_empty() {
            return fail("empty", "The file is empty.");
        }
        if self.bytes.len() > MAX_THUMBNAIL_BYTES {
            return fail("too_large", "Choose an image of at most 5 MB.");
        }
        let Some(kind) = ImageKind::sniff(&self.bytes) else {
            return fail("unsupported_type", "Choose a JPEG, PNG, GIF or WebP image.");
        };
        if carries_markup(&self.bytes) {
            // A polyglot: valid image magic with HTML, SVG or script inside, which a browser
            // that sniffs the content (or a later change of Content-Type) would run.
            return fail(
                "unsupported_type",
                "Choose a plain image, without embedded HTML, SVG or script.",
            );
        }
        match self.declared_type.as_deref().map(str::trim) {
            None | Some("") | Some("application/octet-stream") => Ok(kind),
            Some(declared) => match ImageKind::from_mime(declared) {
                Some(d) if d == kind => Ok(kind),
                Some(_) => fail(
                    "type_mismatch",
                    "The file's declared type does not match its content.",
                ),
                None => fail("unsupported_type", "Choose a JPEG, PNG, GIF or WebP image."),
            },
        }
    }
}

/// Whether `bytes` contain markup that browsers act on: `<script`, `<html`, `<svg`, `<iframe`,
/// `<body`, `<!doctype`, `<?php` or `javascript:`, in any letter case. Real image data holds
/// none of these byte strings except by a vanishingly rare accident.
fn carries_markup(bytes: &[u8]) -> bool {
    const MARKERS: [&[u8]; 8] = [
        b"<script",
        b"<html",
        b"<svg",
        b"<iframe",
        b"<body",
        b"<!doctype",
        b"<?php",
        b"javascript:",
    ];
    (0..bytes.len()).any(|i| {
        let rest = &bytes[i..];
        matches!(rest[0], b'<' | b'j' | b'J')
            && MARKERS
                .iter()
                .any(|m| rest.len() >= m.len() && rest[..m.len()].eq_ignore_ascii_case(m))
    })
}
