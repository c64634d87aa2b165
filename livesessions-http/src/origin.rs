//! The server's own origin, for the absolute links of the calendar feeds: the configured
//! [`HttpSettings::public_base_url`], or else the request's `Host` header, checked.

use axum::http::{header, HeaderMap};

use crate::ics::Links;
use crate::problem::ApiError;
use crate::settings::HttpSettings;

/// Where a feed's links point, and whether they were taken from the request (then a shared
/// cache must not keep the answer for other clients).
pub(crate) struct Origin {
    /// The links.
    pub links: Links,
    /// Whether the origin came from the `Host` header.
    pub from_request: bool,
}

/// The links for a response to a request with `headers`.
///
/// With [`HttpSettings::public_base_url`] its origin is used and the request is not looked at.
/// Otherwise the `Host` header must be a host name (letters, digits, `-`, `.`), an IPv4
/// address or a bracketed IPv6 address, with an optional port: anything else (a path, user
/// information, several values, spaces) is `400`, so that no header can smuggle text into the
/// links. The scheme is `http` for `localhost` and loopback addresses, `https` for the rest.
pub(crate) fn origin(settings: &HttpSettings, headers: &HeaderMap) -> Result<Origin, ApiError> {
    let prefix = settings.path_prefix.trim_end_matches('/').to_owned();
    if let Some(base) = &settings.public_base_url {
        return Ok(Origin {
            links: Links {
                origin: base.origin().ascii_serialization(),
                prefix,
            },
            from_request: false,
        });
    }
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
    .filter(|host| valid_host(host))
    .ok_or_else(|| ApiError::malformed("The Host header is missing or is not a host name."))?
    .to_ascii_lowercase();
    let scheme = if is_loopback(&host) { "http" } else { "https" };
    Ok(Origin {
        links: Links {
            origin: format!("{scheme}://{host}"),
            prefix,
        },
        from_request: true,
    })
}

/// `host[:port]` with a host name, IPv4 address or `[IPv6]` address.
fn valid_host(text: &str) -> bool {
    if text.is_empty() || text.len() > 255 {
        return false;
    }
    let (name, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        if inside.is_empty()
            || !inside
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return false;
        }
        match after {
            "" => (inside, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (inside, Some(port)),
                None => return false,
            },
        }
    } else {
        match text.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (text, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    let name_ok = text.starts_with('[')
        || (!name.is_empty()
            && !name.starts_with('.')
            && !name.starts_with('-')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    port_ok && name_ok
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !host.ends_with(']') && port.parse::<u16>().is_ok() => name,
        _ => host,
    };
    name == "localhost"
        || name.ends_with(".localhost")
        || name.starts_with("127.")
        || name.starts_with("[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_host(host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        headers
    }

    #[test]
    fn a_configured_base_url_wins_over_the_host_header() {
        let settings = HttpSettings {
            public_base_url: Some("https://school.example/ignored/path".parse().unwrap()),
            path_prefix: "/lms/".into(),
            ..Default::default()
        };
        let origin = origin(&settings, &with_host("evil.example")).unwrap();
        assert_eq!(origin.links.origin, "https://school.example");
        assert_eq!(origin.links.prefix, "/lms");
        assert!(!origin.from_request);
    }

    #[test]
    fn the_host_header_is_checked() {
        let settings = HttpSettings::default();
        for (host, expected) in [
            ("School.Example", "https://school.example"),
            ("school.example:8443", "https://school.example:8443"),
            ("127.0.0.1:3000", "http://127.0.0.1:3000"),
            ("localhost:3000", "http://localhost:3000"),
            ("[::1]:3000", "http://[::1]:3000"),
            ("[2001:db8::1]", "https://[2001:db8::1]"),
        ] {
            let origin = origin(&settings, &with_host(host)).unwrap();
            assert_eq!(origin.links.origin, expected, "{host}");
            assert!(origin.from_request);
        }
        for bad in [
            "",
            "evil.example/path",
            "user@evil.example",
            "evil.example:",
            "evil.example:99999",
            "evil example",
            "evil.example\"",
            "[::1",
            "-evil.example",
        ] {
            assert!(origin(&settings, &with_host(bad)).is_err(), "{bad:?}");
        }
        assert!(origin(&settings, &HeaderMap::new()).is_err());
    }
}
