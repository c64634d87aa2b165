//! Video URL normalisation: any text either parses into an accepted URL that
//! keeps its promises, or is refused with a field error; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livesessions_core::{VideoProvider, VideoUrl};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match VideoUrl::parse(text) {
        Ok(url) => {
            let stored = url.as_str();
            assert!(stored.len() <= 2048, "accepted an over-long URL: {stored}");
            let lower = stored.to_ascii_lowercase();
            let local_http = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
                .iter()
                .any(|prefix| lower.starts_with(prefix));
            assert!(
                lower.starts_with("https://") || local_http,
                "accepted a non-https URL: {stored}"
            );
            // What is stored parses again to the same URL (normalisation is idempotent).
            let again = VideoUrl::parse(stored).expect("a stored URL parses again");
            assert_eq!(again.as_str(), stored);
            assert_eq!(again.embed_url(), url.embed_url());
            match (url.provider(), url.embed_url()) {
                (VideoProvider::Custom, embed) => assert!(embed.is_none()),
                (_, Some(embed)) => assert!(
                    embed.starts_with("https://www.youtube.com/embed/")
                        || embed.starts_with("https://player.vimeo.com/video/"),
                    "unexpected embed URL {embed}"
                ),
                (provider, None) => panic!("{provider:?} without an embed URL: {stored}"),
            }
        }
        Err(error) => {
            assert_eq!(error.field, "videoUrl");
        }
    }
});
