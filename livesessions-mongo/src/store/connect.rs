//! Connecting to a deployment from a URI, with timeouts that fail fast.

use std::time::Duration;

use livesessions_core::Result;
use mongodb::options::ClientOptions;
use mongodb::Client;

use super::MongoStore;
use crate::error::map_error;

/// The database [`MongoStore::connect`] uses when the URI names none.
pub const DEFAULT_DATABASE: &str = "livesessions";

/// How long [`MongoStore::connect`] lets the driver look for a server to send an operation to
/// when the URI sets no `serverSelectionTimeoutMS` (the driver's own default is 30 s). While
/// the deployment is unreachable an operation fails after this long with `Error::Unavailable`
/// instead of holding its request.
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// How long [`MongoStore::connect`] lets the driver open a connection (TCP, TLS and the
/// handshake) when the URI sets no `connectTimeoutMS` (the driver's own default is 10 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Sets the timeouts [`MongoStore::connect`] defaults to where `options` (parsed from a URI)
/// leave them unset.
fn apply_default_timeouts(options: &mut ClientOptions) {
    options
        .server_selection_timeout
        .get_or_insert(DEFAULT_SERVER_SELECTION_TIMEOUT);
    options
        .connect_timeout
        .get_or_insert(DEFAULT_CONNECT_TIMEOUT);
}

impl MongoStore {
    /// A store on the database named in `uri` (`mongodb://host/dbname`), or
    /// [`DEFAULT_DATABASE`] when it names none. The driver connects lazily, so an unreachable
    /// server shows up at the first operation as `Error::Unavailable`.
    ///
    /// Fails fast by default: unless the URI sets them, the server selection timeout is
    /// [`DEFAULT_SERVER_SELECTION_TIMEOUT`] (2 s, not the driver's 30 s) and the connect
    /// timeout [`DEFAULT_CONNECT_TIMEOUT`] (2 s, not 10 s), so while the deployment is down an
    /// operation answers `Error::Unavailable` within about 2 s instead of holding its request.
    /// Set `serverSelectionTimeoutMS` / `connectTimeoutMS` in the URI to wait longer (through
    /// a replica-set election, say), or build the client yourself and use [`MongoStore::new`].
    pub async fn connect(uri: &str) -> Result<Self> {
        let mut options = ClientOptions::parse(uri).await.map_err(map_error)?;
        apply_default_timeouts(&mut options);
        let client = Client::with_options(options).map_err(map_error)?;
        let database = client
            .default_database()
            .unwrap_or_else(|| client.database(DEFAULT_DATABASE));
        Ok(Self::new(database))
    }
}

#[cfg(test)]
mod tests {
    use livesessions_core::Error;

    use super::*;

    async fn defaulted(uri: &str) -> ClientOptions {
        let mut options = ClientOptions::parse(uri).await.unwrap();
        apply_default_timeouts(&mut options);
        options
    }

    #[tokio::test]
    async fn timeouts_default_to_two_seconds_unless_the_uri_sets_them() {
        let options = defaulted("mongodb://127.0.0.1:27017/db").await;
        assert_eq!(
            options.server_selection_timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(options.connect_timeout, Some(Duration::from_secs(2)));
        assert_eq!(options.default_database.as_deref(), Some("db"));

        let options = defaulted(
            "mongodb://127.0.0.1:27017/?serverSelectionTimeoutMS=30000&connectTimeoutMS=5000",
        )
        .await;
        assert_eq!(
            options.server_selection_timeout,
            Some(Duration::from_secs(30))
        );
        assert_eq!(options.connect_timeout, Some(Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn connect_keeps_the_database_and_rejects_a_bad_uri() {
        let store = MongoStore::connect("mongodb://127.0.0.1:1/elearning")
            .await
            .unwrap();
        assert_eq!(store.database().name(), "elearning");
        let store = MongoStore::connect("mongodb://127.0.0.1:1").await.unwrap();
        assert_eq!(store.database().name(), DEFAULT_DATABASE);
        assert!(matches!(
            MongoStore::connect("postgres://nope").await,
            Err(Error::Storage(_))
        ));
    }
}
