//! Links: [`VideoUrl`] with its [`VideoProvider`] and embed URL, and [`ThumbnailUrl`].

use std::fmt;

use url::Url;

use crate::field_error::FieldError;

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
    FieldError::check_length(text, field, VideoUrl::MAX_CHARS)?;
    let url = Url::parse(text)
        .map_err(|_| FieldError::new(field, "invalid_url", "Enter a full https:// link."))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(FieldError::new(
                field,
                "insecure_url",
                "Use https (http is allowed only for localhost).",
            ))
        }
    }
    if host.is_empty() {
        return Err(FieldError::new(
            field,
            "invalid_url",
            "Enter a link that names a host.",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FieldError::new(
            field,
            "credentials_in_url",
            "Remove the user name and password from the link.",
        ));
    }
    if url.as_str().len() > VideoUrl::MAX_CHARS {
        return Err(FieldError::too_long(field, VideoUrl::MAX_CHARS));
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
