//! The MongoDB server the tests run against: `LIVESESSIONS_TEST_MONGODB_URI`.

#![allow(dead_code)]

use livesessions_mongo::mongodb::bson::doc;

/// A test against the server: multi-threaded, and counted as ignored (with the reason) when
/// the crate was built without `LIVESESSIONS_TEST_MONGODB_URI`. Test files that use it declare
/// this module with `#[macro_use]`.
#[allow(unused_macros)]
macro_rules! server_test {
    ($(#[doc = $doc:literal])* async fn $name:ident() $body:block) => {
        $(#[doc = $doc])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[cfg_attr(
            not(livesessions_test_mongodb),
            ignore = "set LIVESESSIONS_TEST_MONGODB_URI to run the MongoDB store's own tests (scripts/secantus.sh start prints one)"
        )]
        async fn $name() $body
    };
}
use livesessions_mongo::mongodb::{Client, Database};

/// The variable that names the server.
pub const URI_VARIABLE: &str = "LIVESESSIONS_TEST_MONGODB_URI";

/// The server's URI. The tests that call this are ignored unless the variable was set when they
/// were built; a binary built with it and run without it says so.
pub fn uri() -> String {
    std::env::var(URI_VARIABLE).unwrap_or_else(|_| {
        panic!("{URI_VARIABLE} is not set, but these tests were built with it: set it again")
    })
}

/// The variable that scales the concurrency cases' sizes for this server.
pub const SCALE_VARIABLE: &str = "LIVESESSIONS_TEST_MONGODB_SCALE";

/// The factor in [`SCALE_VARIABLE`], if set.
pub fn scale() -> Option<f64> {
    let text = std::env::var(SCALE_VARIABLE).ok()?;
    match text.trim().parse::<f64>() {
        Ok(factor) if factor > 0.0 && factor <= 1.0 => Some(factor),
        _ => panic!("{SCALE_VARIABLE}={text:?} is not a factor in (0, 1]"),
    }
}

/// A client of the server; a server that cannot be reached fails the test.
pub async fn client() -> Client {
    let uri = uri();
    let client = Client::with_uri_str(&uri)
        .await
        .unwrap_or_else(|e| panic!("{URI_VARIABLE}={uri} is not a usable MongoDB URI: {e}"));
    client
        .database("admin")
        .run_command(doc! { "ping": 1 })
        .await
        .unwrap_or_else(|e| {
            panic!("the MongoDB server at {URI_VARIABLE}={uri} does not answer: {e}")
        });
    client
}

/// A scratch database `ls_test_<uuid>` and its name; the test drops it at the end.
pub async fn scratch_database() -> (Database, String) {
    let client = client().await;
    let name = format!("ls_test_{}", uuid::Uuid::new_v4().simple());
    (client.database(&name), name)
}

pub mod proxy;
