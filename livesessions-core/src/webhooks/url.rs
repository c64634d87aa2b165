//! [`EndpointUrl`]: where an endpoint's deliveries are sent.

use std::fmt;

use url::{Host, Url};

use crate::field_error::FieldError;

/// The field name endpoint URL errors are reported against.
pub const URL_FIELD: &str = "url";

/// An endpoint URL: absolute `https` (or `http` when allowed), a host, no user name or
/// password, no fragment, at most [`EndpointUrl::MAX_CHARS`] characters. Whether its host may
/// be reached is a separate question, answered by [`TargetPolicy`](super::TargetPolicy).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointUrl(Url);

impl EndpointUrl {
    /// The longest accepted URL.
    pub const MAX_CHARS: usize = 2048;

    /// Validates `text`, reporting errors against `url`. Plain `http` is refused unless
    /// `allow_http`.
    pub fn parse(text: &str, allow_http: bool) -> Result<Self, FieldError> {
        let text = text.trim();
        FieldError::check_length(text, URL_FIELD, Self::MAX_CHARS)?;
        let url = Url::parse(text).map_err(|_| {
            FieldError::new(URL_FIELD, "invalid_url", "Enter a full https:// link.")
        })?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => {
                return Err(FieldError::new(
                    URL_FIELD,
                    "insecure_url",
                    "Use an https:// link.",
                ))
            }
            _ => {
                return Err(FieldError::new(
                    URL_FIELD,
                    "invalid_url",
                    "Enter a full https:// link.",
                ))
            }
        }
        if url.host().is_none() || url.host_str().is_some_and(str::is_empty) {
            return Err(FieldError::new(
                URL_FIELD,
                "invalid_url",
                "Enter a link that names a host.",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FieldError::new(
                URL_FIELD,
                "credentials_in_url",
                "Remove the user name and password from the link.",
            ));
        }
        if url.fragment().is_some() {
            return Err(FieldError::new(
                URL_FIELD,
                "invalid_url",
                "Remove the #fragment from the link.",
            ));
        }
        if url.as_str().chars().count() > Self::MAX_CHARS {
            return Err(FieldError::too_long(URL_FIELD, Self::MAX_CHARS));
        }
        Ok(EndpointUrl(url))
    }

    /// The normalised URL.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The parsed URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The host.
    pub fn host(&self) -> Host<&str> {
        // `parse` refused URLs without a host.
        self.0.host().unwrap_or(Host::Domain(""))
    }

    /// The port, explicit or the scheme's default (443 for https, 80 for http).
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EndpointUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str, allow_http: bool) -> &'static str {
        let e = EndpointUrl::parse(text, allow_http).expect_err(text);
        assert_eq!(e.field, "url", "{text}");
        e.code
    }

    #[test]
    fn accepts_absolute_https_links() {
        let url = EndpointUrl::parse(" https://hooks.example.com/in?x=1 ", false).unwrap();
        assert_eq!(url.as_str(), "https://hooks.example.com/in?x=1");
        assert_eq!(url.port(), 443);
        assert!(url.is_https());
        let url = EndpointUrl::parse("https://[2001:db8::1]:8443/", false).unwrap();
        assert_eq!(url.port(), 8443);
    }

    #[test]
    fn http_needs_the_setting() {
        assert_eq!(code("http://hooks.example.com/", false), "insecure_url");
        let url = EndpointUrl::parse("http://hooks.example.com/", true).unwrap();
        assert_eq!(url.port(), 80);
        assert!(!url.is_https());
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(code("", false), "required");
        assert_eq!(code("   ", false), "required");
        assert_eq!(code("hooks.example.com/in", false), "invalid_url");
        assert_eq!(code("ftp://hooks.example.com/", true), "invalid_url");
        assert_eq!(code("file:///etc/passwd", true), "invalid_url");
        assert_eq!(
            code("https://user:pw@hooks.example.com/", false),
            "credentials_in_url"
        );
        assert_eq!(
            code("https://user@hooks.example.com/", false),
            "credentials_in_url"
        );
        assert_eq!(code("https://hooks.example.com/#x", false), "invalid_url");
        let long = format!("https://hooks.example.com/{}", "a".repeat(2048));
        assert_eq!(code(&long, false), "too_long");
        // Normalisation may lengthen a link (percent-encoding): the limit holds after it.
        let spaces = format!("https://hooks.example.com/{}", " x".repeat(1000));
        assert_eq!(code(&spaces, false), "too_long");
    }
}
