//! Validating value objects: each constructor checks its rule and names the field it refuses.
//!
//! Every constructor checks its input and reports a [`FieldError`] naming the field, so a request
//! can report all its invalid fields at once. Values read back from a store go through the same
//! constructors.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone as _, Utc};
use url::Url;

use crate::field_error::FieldError;

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, min = $min:expr, max = $max:expr, multiline = $multiline:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The fewest characters accepted (after trimming).
            pub const MIN_CHARS: usize = $min;
            /// The most characters accepted (after trimming).
            pub const MAX_CHARS: usize = $max;
            /// The field name used in validation errors.
            pub const FIELD: &'static str = $field;

            /// Trims and validates the text.
            pub fn parse(text: &str) -> Result<Self, FieldError> {
                check_text(text, $field, $min, $max, $multiline).map($name)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn check_text(
    text: &str,
    field: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, FieldError> {
    let trimmed = text.trim();
    let count = trimmed.chars().count();
    if count < min {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    if count > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t' || c == '\r');
    if trimmed.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            if multiline {
                "must not contain control characters other than newline and tab"
            } else {
                "must not contain control characters"
            },
        ));
    }
    Ok(trimmed.to_owned())
}

bounded_text!(
    /// A session title: 1–200 characters after trimming, no control characters.
    Title, field = "title", min = 1, max = 200, multiline = false
);
bounded_text!(
    /// An instructor's name: 1–100 characters after trimming, no control characters.
    Instructor, field = "instructor", min = 1, max = 100, multiline = false
);
bounded_text!(
    /// A session description: at most 5000 characters; newlines and tabs allowed.
    #[derive(Default)]
    Description, field = "description", min = 0, max = 5000, multiline = true
);
bounded_text!(
    /// A participant's display name: 1–100 characters after trimming.
    UserName, field = "userName", min = 1, max = 100, multiline = false
);

/// A plausible email address of at most 254 characters, kept as given (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// The longest accepted address.
    pub const MAX_CHARS: usize = 254;

    /// Validates an address: one `@`, a non-empty local part, a dotted domain, no spaces.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        let invalid = || FieldError::new("email", "invalid_email", "must be an email address");
        if text.is_empty() {
            return Err(FieldError::new("email", "required", "must not be empty"));
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                "email",
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let (local, domain) = text.split_once('@').ok_or_else(invalid)?;
        let plausible = !local.is_empty()
            && local.chars().count() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && text
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>');
        if plausible {
            Ok(Email(text.to_owned()))
        } else {
            Err(invalid())
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The video provider a [`VideoUrl`] points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoProvider {
    /// youtube.com / youtu.be
    YouTube,
    /// vimeo.com
    Vimeo,
    /// Any other https stream; shown as a link, not embedded.
    Custom,
}

/// A video URL: absolute `https` (plain `http` only for `localhost`/`127.0.0.1`), no
/// credentials, at most 2048 characters. YouTube and Vimeo links get an embed URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VideoUrl {
    url: String,
    provider: VideoProvider,
    embed_url: Option<String>,
}

impl VideoUrl {
    /// The longest accepted URL.
    pub const MAX_CHARS: usize = 2048;

    /// Validates a URL, reporting errors against `videoUrl`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        Self::parse_field(text, "videoUrl")
    }

    /// Validates a URL, reporting errors against `field`.
    pub fn parse_field(text: &str, field: &str) -> Result<Self, FieldError> {
        let url = parse_web_url(text, field)?;
        let (provider, embed_url) = match embed_for(&url) {
            Some((provider, embed)) => (provider, Some(embed)),
            None => (VideoProvider::Custom, None),
        };
        Ok(VideoUrl {
            url: url.to_string(),
            provider,
            embed_url,
        })
    }

    /// The normalised URL.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The provider.
    pub fn provider(&self) -> VideoProvider {
        self.provider
    }

    /// The player URL to put in an `<iframe>`, for YouTube and Vimeo.
    pub fn embed_url(&self) -> Option<&str> {
        self.embed_url.as_deref()
    }
}

impl fmt::Display for VideoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl serde::Serialize for VideoUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.url)
    }
}

/// Parses an absolute web URL: `https` (plain `http` only for loopback hosts), no credentials,
/// at most 2048 characters.
fn parse_web_url(text: &str, field: &str) -> Result<Url, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    if text.chars().count() > VideoUrl::MAX_CHARS {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {} characters", VideoUrl::MAX_CHARS),
        ));
    }
    let url = Url::parse(text)
        .map_err(|_| FieldError::new(field, "invalid_url", "must be an absolute https URL"))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(FieldError::new(
                field,
                "insecure_url",
                "must use https (http is allowed only for localhost)",
            ))
        }
    }
    if host.is_empty() {
        return Err(FieldError::new(field, "invalid_url", "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FieldError::new(
            field,
            "credentials_in_url",
            "must not contain a user name or password",
        ));
    }
    if url.as_str().len() > VideoUrl::MAX_CHARS {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {} characters", VideoUrl::MAX_CHARS),
        ));
    }
    Ok(url)
}

fn is_video_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn embed_for(url: &Url) -> Option<(VideoProvider, String)> {
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let host = host.strip_prefix("m.").unwrap_or(host);
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    match host {
        "youtube.com" | "youtube-nocookie.com" => {
            let id = match segments.as_slice() {
                ["watch"] => url
                    .query_pairs()
                    .find(|(k, _)| k == "v")
                    .map(|(_, v)| v.into_owned())?,
                ["live", id] | ["embed", id] | ["shorts", id] => (*id).to_owned(),
                _ => return None,
            };
            is_video_id(&id).then(|| {
                (
                    VideoProvider::YouTube,
                    format!("https://www.youtube.com/embed/{id}"),
                )
            })
        }
        "youtu.be" => match segments.as_slice() {
            [id] if is_video_id(id) => Some((
                VideoProvider::YouTube,
                format!("https://www.youtube.com/embed/{id}"),
            )),
            _ => None,
        },
        "vimeo.com" => match segments.as_slice() {
            [id, ..] if id.chars().all(|c| c.is_ascii_digit()) && id.len() <= 20 => Some((
                VideoProvider::Vimeo,
                format!("https://player.vimeo.com/video/{id}"),
            )),
            _ => None,
        },
        "player.vimeo.com" => match segments.as_slice() {
            ["video", id, ..] if id.chars().all(|c| c.is_ascii_digit()) && id.len() <= 20 => {
                Some((
                    VideoProvider::Vimeo,
                    format!("https://player.vimeo.com/video/{id}"),
                ))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A thumbnail given as a link to an image elsewhere: the same rules as [`VideoUrl`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ThumbnailUrl(String);

impl ThumbnailUrl {
    /// Validates a thumbnail link, reporting errors against `thumbnail`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        parse_web_url(text, "thumbnail").map(|u| ThumbnailUrl(u.to_string()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key of an uploaded thumbnail in a [`ThumbnailStore`](crate::ThumbnailStore): generated by
/// the server (never the client's file name): 1–64 characters of `[a-z0-9-]`, a dot, and one of
/// `jpg`, `png`, `gif`, `webp`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ThumbnailKey(String);

impl ThumbnailKey {
    /// A fresh random key with the extension of `kind`.
    pub fn generate(kind: ImageKind) -> Self {
        ThumbnailKey(format!(
            "{}.{}",
            uuid::Uuid::new_v4().simple(),
            kind.extension()
        ))
    }

    /// Validates a key (as read from a URL path or a store).
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("key", "invalid_key", "is not a thumbnail key");
        let (stem, ext) = text.rsplit_once('.').ok_or_else(invalid)?;
        let stem_ok = !stem.is_empty()
            && stem.len() <= 64
            && stem
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if stem_ok && ImageKind::from_extension(ext).is_some() {
            Ok(ThumbnailKey(text.to_owned()))
        } else {
            Err(invalid())
        }
    }

    /// The image kind, from the extension.
    pub fn kind(&self) -> ImageKind {
        self.0
            .rsplit_once('.')
            .and_then(|(_, ext)| ImageKind::from_extension(ext))
            .unwrap_or(ImageKind::Png)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ThumbnailKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The image formats accepted as thumbnails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// image/jpeg
    Jpeg,
    /// image/png
    Png,
    /// image/gif
    Gif,
    /// image/webp
    Webp,
}

impl ImageKind {
    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Gif => "image/gif",
            ImageKind::Webp => "image/webp",
        }
    }

    /// The file extension used in keys.
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpg",
            ImageKind::Png => "png",
            ImageKind::Gif => "gif",
            ImageKind::Webp => "webp",
        }
    }

    /// The kind for a key extension.
    pub fn from_extension(ext: &str) -> Option<Self> {
        Some(match ext {
            "jpg" => ImageKind::Jpeg,
            "png" => ImageKind::Png,
            "gif" => ImageKind::Gif,
            "webp" => ImageKind::Webp,
            _ => return None,
        })
    }

    /// The kind for a MIME type (`image/jpg` accepted as an alias).
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or_default().trim();
        Some(match essence.to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => ImageKind::Jpeg,
            "image/png" => ImageKind::Png,
            "image/gif" => ImageKind::Gif,
            "image/webp" => ImageKind::Webp,
            _ => return None,
        })
    }
}

/// A session's thumbnail: a link to an image elsewhere, or an upload kept in the
/// [`ThumbnailStore`](crate::ThumbnailStore).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Thumbnail {
    /// An https link.
    Url(ThumbnailUrl),
    /// An uploaded image.
    Uploaded(ThumbnailKey),
}

impl Thumbnail {
    /// The key of an uploaded thumbnail.
    pub fn uploaded_key(&self) -> Option<&ThumbnailKey> {
        match self {
            Thumbnail::Uploaded(key) => Some(key),
            Thumbnail::Url(_) => None,
        }
    }
}

/// Parses an instant: RFC 3339 with an explicit offset (`Z` or `±hh:mm`), returned in UTC.
/// A time without an offset is refused (use [`parse_start_time`] where a zone is known to read
/// it in).
pub fn parse_instant(text: &str, field: &str) -> Result<DateTime<Utc>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    DateTime::<FixedOffset>::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            FieldError::new(
                field,
                "invalid_time",
                "must be an RFC 3339 time with an explicit offset, e.g. 2025-01-15T10:00:00Z or 2025-01-15T10:00:00+05:00",
            )
        })
}

/// Parses a start time and returns it in UTC: RFC 3339 with an explicit offset, or a local
/// date-time without one (`2025-01-15T10:00` or `2025-01-15T10:00:00`, what an HTML
/// `datetime-local` input sends) read in `zone`. See [`StartTime`].
pub fn parse_start_time(
    text: &str,
    field: &str,
    zone: TimeZone,
) -> Result<DateTime<Utc>, FieldError> {
    StartTime::parse(text, field)?.resolve(zone, field)
}

/// A start time as a client wrote it: an instant (it carried an offset) or a wall-clock time
/// without one, which means nothing until it is read in a zone ([`StartTime::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartTime {
    /// An RFC 3339 time with an explicit offset.
    Instant(DateTime<Utc>),
    /// A local date-time without an offset (`2025-01-15T10:00`, seconds and a fraction optional).
    Local(NaiveDateTime),
}

impl StartTime {
    /// Parses RFC 3339 with an offset, or `YYYY-MM-DDTHH:MM[:SS[.fraction]]` without one.
    pub fn parse(text: &str, field: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(FieldError::new(field, "required", "must not be empty"));
        }
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_rfc3339(text) {
            return Ok(StartTime::Instant(t.with_timezone(&Utc)));
        }
        parse_local(text).map(StartTime::Local).ok_or_else(|| {
            FieldError::new(
                field,
                "invalid_time",
                "must be a date and time such as 2025-01-15T10:00 (read in the session's time zone) or an RFC 3339 time with an offset such as 2025-01-15T10:00:00+05:00",
            )
        })
    }

    /// The instant: an [`StartTime::Instant`] as it is; a [`StartTime::Local`] read in `zone`.
    /// A local time the zone skips (a daylight-saving gap) is an `invalid_local_time` error on
    /// `field`; one it passes twice (the hour after the clocks go back) is the earlier instant.
    pub fn resolve(self, zone: TimeZone, field: &str) -> Result<DateTime<Utc>, FieldError> {
        match self {
            StartTime::Instant(t) => Ok(t),
            StartTime::Local(local) => zone
                .tz()
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| {
                    FieldError::new(
                        field,
                        "invalid_local_time",
                        format!(
                            "{} does not exist in {} (the clocks skip it); choose another time or give an offset",
                            local.format("%Y-%m-%dT%H:%M"),
                            zone.name()
                        ),
                    )
                }),
        }
    }
}

/// `YYYY-MM-DDTHH:MM`, optionally `:SS` and a fraction of 1–9 digits; nothing else (no space
/// instead of `T`, no signed or five-digit years).
fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let shape = b.len() >= 16
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16);
    if !shape {
        return None;
    }
    let rest = &b[16..];
    let format = match rest {
        [] => "%Y-%m-%dT%H:%M",
        [b':', s1, s2] if s1.is_ascii_digit() && s2.is_ascii_digit() => "%Y-%m-%dT%H:%M:%S",
        [b':', s1, s2, b'.', fraction @ ..]
            if s1.is_ascii_digit()
                && s2.is_ascii_digit()
                && (1..=9).contains(&fraction.len())
                && fraction.iter().all(u8::is_ascii_digit) =>
        {
            "%Y-%m-%dT%H:%M:%S%.f"
        }
        _ => return None,
    };
    NaiveDateTime::parse_from_str(text, format).ok()
}

/// An IANA time zone name (e.g. `Asia/Karachi`) used to display a session's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// Coordinated Universal Time.
    pub const UTC: TimeZone = TimeZone(chrono_tz::UTC);

    /// Validates an IANA zone name, reporting errors against `timezone`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        text.trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| {
                FieldError::new(
                    "timezone",
                    "unknown_timezone",
                    "must be an IANA time zone name",
                )
            })
    }

    /// The zone.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl Default for TimeZone {
    /// UTC.
    fn default() -> Self {
        TimeZone::UTC
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for TimeZone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Rust 101 ").unwrap().as_str(), "Rust 101");
        assert_eq!(Title::parse("   ").unwrap_err().code, "required");
        assert!(Title::parse(&"a".repeat(200)).is_ok());
        assert_eq!(Title::parse(&"a".repeat(201)).unwrap_err().code, "too_long");
        assert!(Instructor::parse(&"b".repeat(100)).is_ok());
        assert!(Instructor::parse(&"b".repeat(101)).is_err());
        assert!(Description::parse("").is_ok());
        assert!(Description::parse("line\n\tindented").is_ok());
        assert!(Description::parse("bell\u{7}").is_err());
        assert!(Title::parse("tab\there").is_err());
        assert!(Description::parse(&"d".repeat(5001)).is_err());
        assert!(UserName::parse(&"n".repeat(101)).is_err());
    }

    #[test]
    fn emails_are_plausible() {
        assert!(Email::parse("ahmed@example.com").is_ok());
        for bad in [
            "",
            "no-at",
            "a@b",
            "@example.com",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@c.com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        assert_eq!(Email::parse(&long).unwrap_err().code, "too_long");
    }

    #[test]
    fn youtube_and_vimeo_links_get_embed_urls() {
        let cases = [
            (
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                "https://www.youtube.com/embed/dQw4w9WgXcQ",
            ),
            (
                "https://youtube.com/watch?feature=x&v=abc_DEF-1",
                "https://www.youtube.com/embed/abc_DEF-1",
            ),
            (
                "https://youtu.be/dQw4w9WgXcQ",
                "https://www.youtube.com/embed/dQw4w9WgXcQ",
            ),
            (
                "https://www.youtube.com/live/abc123",
                "https://www.youtube.com/embed/abc123",
            ),
            (
                "https://www.youtube.com/embed/abc123",
                "https://www.youtube.com/embed/abc123",
            ),
            (
                "https://vimeo.com/76979871",
                "https://player.vimeo.com/video/76979871",
            ),
            (
                "https://player.vimeo.com/video/76979871",
                "https://player.vimeo.com/video/76979871",
            ),
        ];
        for (input, embed) in cases {
            let url = VideoUrl::parse(input).unwrap();
            assert_eq!(url.embed_url(), Some(embed), "{input}");
        }
        let custom = VideoUrl::parse("https://stream.example.com/live.m3u8").unwrap();
        assert_eq!(custom.provider(), VideoProvider::Custom);
        assert_eq!(custom.embed_url(), None);
        // An id with characters that could break out of the embed URL gives no embed.
        let odd = VideoUrl::parse("https://www.youtube.com/watch?v=a%22onload%3D").unwrap();
        assert_eq!(odd.embed_url(), None);
    }

    #[test]
    fn unsafe_urls_are_refused() {
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "http://example.com/video",
            "https://user:pw@example.com/v",
            "ftp://example.com/v",
            "/relative/path",
            "",
        ] {
            assert!(VideoUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(VideoUrl::parse("http://localhost:8080/v.m3u8").is_ok());
        assert!(VideoUrl::parse("http://127.0.0.1/v").is_ok());
        let long = format!("https://example.com/{}", "a".repeat(2040));
        assert_eq!(VideoUrl::parse(&long).unwrap_err().code, "too_long");
    }

    #[test]
    fn instants_need_an_offset() {
        let t = parse_instant("2025-01-15T10:00:00+05:00", "from").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-01-15T05:00:00+00:00");
        assert!(parse_instant("2025-01-15T10:00:00Z", "from").is_ok());
        let error = parse_instant("2025-01-15T10:00", "from").unwrap_err();
        assert_eq!((error.field.as_str(), error.code), ("from", "invalid_time"));
        assert!(parse_instant("2025-01-15T10:00:00", "from").is_err());
        assert!(parse_instant("yesterday", "from").is_err());
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn start_times_with_an_offset_ignore_the_zone() {
        let karachi = TimeZone::parse("Asia/Karachi").unwrap();
        for zone in [TimeZone::UTC, karachi] {
            let t = parse_start_time("2025-01-15T10:00:00+05:00", "startTime", zone).unwrap();
            assert_eq!(t, utc("2025-01-15T05:00:00Z"));
            let z = parse_start_time("2025-01-15T10:00:00Z", "startTime", zone).unwrap();
            assert_eq!(z, utc("2025-01-15T10:00:00Z"));
        }
    }

    #[test]
    fn start_times_without_an_offset_are_read_in_the_zone() {
        let karachi = TimeZone::parse("Asia/Karachi").unwrap();
        let read = |text: &str, zone| parse_start_time(text, "startTime", zone);
        // What a datetime-local input sends, with and without seconds.
        assert_eq!(
            read("2025-01-15T10:00", karachi).unwrap(),
            utc("2025-01-15T05:00:00Z")
        );
        assert_eq!(
            read("2025-01-15T10:00:30", karachi).unwrap(),
            utc("2025-01-15T05:00:30Z")
        );
        assert_eq!(
            read("2025-01-15T10:00:30.250", karachi).unwrap(),
            utc("2025-01-15T05:00:30.250Z")
        );
        assert_eq!(
            read(" 2025-01-15T10:00 ", TimeZone::UTC).unwrap(),
            utc("2025-01-15T10:00:00Z")
        );
        assert_eq!(TimeZone::default(), TimeZone::UTC);
        // Summer time is the zone's too.
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        assert_eq!(
            read("2025-07-01T12:00", berlin).unwrap(),
            utc("2025-07-01T10:00:00Z")
        );
        assert_eq!(
            StartTime::parse("2025-01-15T10:00", "startTime").unwrap(),
            StartTime::Local(
                NaiveDateTime::parse_from_str("2025-01-15T10:00", "%Y-%m-%dT%H:%M").unwrap()
            )
        );
    }

    #[test]
    fn a_local_time_in_a_daylight_saving_gap_is_refused() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        // 2025-03-30 02:00 → 03:00 in Berlin: 02:30 never happens there.
        let error = parse_start_time("2025-03-30T02:30", "startTime", berlin).unwrap_err();
        assert_eq!(error.field, "startTime");
        assert_eq!(error.code, "invalid_local_time");
        assert!(error.message.contains("Europe/Berlin"), "{}", error.message);
        // The same wall-clock time is fine with an offset, or in another zone.
        assert!(parse_start_time("2025-03-30T02:30:00+01:00", "startTime", berlin).is_ok());
        assert!(parse_start_time("2025-03-30T02:30", "startTime", TimeZone::UTC).is_ok());
    }

    #[test]
    fn an_ambiguous_local_time_takes_the_earlier_instant() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        // 2025-10-26 03:00 → 02:00 in Berlin: 02:30 happens at 00:30Z (summer) and 01:30Z.
        assert_eq!(
            parse_start_time("2025-10-26T02:30", "startTime", berlin).unwrap(),
            utc("2025-10-26T00:30:00Z")
        );
    }

    #[test]
    fn malformed_start_times_are_refused() {
        for bad in [
            "",
            "yesterday",
            "2025-01-15 10:00",
            "2025-01-15T10",
            "2025-01-15T10:0",
            "2025-01-15T10:00:0",
            "2025-01-15T10:00:00.",
            "2025-01-15T10:00:00.1234567890",
            "2025-13-45T10:00",
            "2025-02-30T10:00",
            "2025-01-15T25:61",
            "+2025-01-15T10:00",
            "12025-01-15T10:00",
            "2025-01-15t10:00x",
            "2025-01-15T10:00:00 +05:00",
            "2025-01-15T10:00:00+25:00",
        ] {
            let error = parse_start_time(bad, "startTime", TimeZone::UTC).unwrap_err();
            assert_eq!(error.field, "startTime", "{bad}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZone::parse("Asia/Karachi").unwrap().name(),
            "Asia/Karachi"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn thumbnail_keys_are_generated_and_checked() {
        let key = ThumbnailKey::generate(ImageKind::Png);
        assert_eq!(ThumbnailKey::parse(key.as_str()).unwrap(), key);
        assert_eq!(key.kind(), ImageKind::Png);
        for bad in [
            "../etc/passwd",
            "a.svg",
            "A.png",
            ".png",
            "x",
            "a/b.png",
            "a.png.exe",
        ] {
            assert!(ThumbnailKey::parse(bad).is_err(), "{bad}");
        }
    }
}
