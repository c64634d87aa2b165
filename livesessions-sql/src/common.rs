//! What both backends share: row records and their conversion to the domain, the count shard,
//! search patterns and embedded migrations.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use livesessions_core::{
    Description, Email, Error, Instructor, LiveSession, Participant, SessionFields, SessionId,
    SessionStatus, Thumbnail, ThumbnailKey, ThumbnailUrl, TimeZone, Title, UserId, UserName,
    VideoUrl,
};
use sqlx::migrate::{Migration, MigrationSource, MigrationType};
use uuid::Uuid;

/// How many rows a session's participant count is split over (Postgres; migration 0002 allows
/// shards 0–63). With 16, 64 concurrent joiners of one session queued on the shard rows.
#[cfg(feature = "postgres")]
pub(crate) const COUNT_SHARDS: i16 = 64;

/// The count shard of a user: FNV-1a of the user id's bytes, modulo [`COUNT_SHARDS`]. Any
/// stable hash would do; this one is computed in Rust so that no engine-specific SQL hash
/// function is needed.
#[cfg(feature = "postgres")]
pub(crate) fn shard_of(user: &UserId) -> i16 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in user.as_str().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % COUNT_SHARDS as u32) as i16
}

/// A `LIKE` pattern that matches `needle` as a substring: `%`, `_` and `\` are escaped with
/// `\` (queries say `ESCAPE '\'`).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A stored value that the domain refuses: the row was written by something else or the
/// schema was changed by hand.
#[derive(Debug)]
pub(crate) struct CorruptRow(pub(crate) String);

impl fmt::Display for CorruptRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stored row is not valid: {}", self.0)
    }
}

impl std::error::Error for CorruptRow {}

fn corrupt(what: impl fmt::Display) -> Error {
    Error::storage(CorruptRow(what.to_string()))
}

fn checked<T>(result: Result<T, livesessions_core::FieldError>) -> Result<T, Error> {
    result.map_err(corrupt)
}

/// A `u64` from a stored non-negative integer.
pub(crate) fn to_u64(value: i64, column: &str) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| corrupt(format_args!("{column} is negative ({value})")))
}

/// An `i64` for a stored integer.
pub(crate) fn to_i64(value: u64, column: &str) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| corrupt(format_args!("{column} is too large ({value})")))
}

/// A session row as read from either backend, times already converted.
pub(crate) struct SessionRecord {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub instructor: String,
    pub video_url: String,
    pub thumbnail_url: Option<String>,
    pub thumbnail_key: Option<String>,
    pub start_time: DateTime<Utc>,
    pub timezone: Option<String>,
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub live_since: Option<DateTime<Utc>>,
    pub live_seconds: i64,
    pub participants: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl SessionRecord {
    /// Validates the stored values through the domain's constructors.
    pub fn into_domain(self) -> Result<LiveSession, Error> {
        let thumbnail = match (self.thumbnail_url, self.thumbnail_key) {
            (Some(url), _) => Some(Thumbnail::Url(checked(ThumbnailUrl::parse(&url))?)),
            (None, Some(key)) => Some(Thumbnail::Uploaded(checked(ThumbnailKey::parse(&key))?)),
            (None, None) => None,
        };
        Ok(LiveSession {
            id: SessionId::from_uuid(self.id),
            fields: SessionFields {
                title: checked(Title::parse(&self.title))?,
                description: checked(Description::parse(&self.description))?,
                instructor: checked(Instructor::parse(&self.instructor))?,
                video_url: checked(VideoUrl::parse(&self.video_url))?,
                thumbnail,
                start_time: self.start_time,
                timezone: self
                    .timezone
                    .as_deref()
                    .map(TimeZone::parse)
                    .transpose()
                    .map_err(corrupt)?,
            },
            status: parse_status(&self.status)?,
            started_at: self.started_at,
            ended_at: self.ended_at,
            live_since: self.live_since,
            live_seconds: self.live_seconds,
            participants: to_u64(self.participants, "participants")?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: to_u64(self.version, "version")?,
        })
    }
}

/// The status named in a row.
pub(crate) fn parse_status(text: &str) -> Result<SessionStatus, Error> {
    text.parse()
        .map_err(|_| corrupt(format_args!("unknown status {text:?}")))
}

/// A participant row as read from either backend, times already converted.
pub(crate) struct ParticipantRecord {
    pub session_id: Uuid,
    pub user_id: String,
    pub user_name: String,
    pub email: String,
    pub first_joined_at: DateTime<Utc>,
    pub last_joined_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub present_since: Option<DateTime<Utc>>,
    pub watch_seconds: i64,
    pub join_count: i64,
    pub created_at: DateTime<Utc>,
}

impl ParticipantRecord {
    /// Validates the stored values through the domain's constructors.
    pub fn into_domain(self) -> Result<Participant, Error> {
        Ok(Participant {
            session_id: SessionId::from_uuid(self.session_id),
            user_id: UserId::parse_field(&self.user_id, "user_id").map_err(corrupt)?,
            user_name: checked(UserName::parse(&self.user_name))?,
            email: checked(Email::parse(&self.email))?,
            first_joined_at: self.first_joined_at,
            last_joined_at: self.last_joined_at,
            last_seen: self.last_seen,
            left_at: self.left_at,
            present_since: self.present_since,
            watch_seconds: self.watch_seconds,
            join_count: to_u64(self.join_count, "join_count")?,
            created_at: self.created_at,
        })
    }
}

/// The stored form of a thumbnail: `(thumbnail_url, thumbnail_key)`.
pub(crate) fn thumbnail_columns(thumbnail: Option<&Thumbnail>) -> (Option<&str>, Option<&str>) {
    match thumbnail {
        Some(Thumbnail::Url(url)) => (Some(url.as_str()), None),
        Some(Thumbnail::Uploaded(key)) => (None, Some(key.as_str())),
        None => (None, None),
    }
}

/// Migrations compiled into the binary: `(version, description, sql)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EmbeddedMigrations(pub &'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>>
                + Send
                + 'static,
        >,
    > {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Maps the driver errors that mean the same on every backend; `None` for database errors,
/// which each backend maps itself.
pub(crate) fn map_common(error: sqlx::Error) -> Result<Error, sqlx::Error> {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            Ok(Error::unavailable(error))
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            Ok(Error::unavailable(error))
        }
        sqlx::Error::Database(_) => Err(error),
        other => Ok(Error::storage(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    #[test]
    fn shards_are_stable_and_in_range() {
        let a = UserId::parse("user-1").unwrap();
        assert_eq!(shard_of(&a), shard_of(&a.clone()));
        let mut seen = [false; COUNT_SHARDS as usize];
        for i in 0..1000 {
            let shard = shard_of(&UserId::parse(&format!("user-{i}")).unwrap());
            assert!((0..COUNT_SHARDS).contains(&shard));
            seen[shard as usize] = true;
        }
        assert!(seen.iter().all(|s| *s), "every shard is used");
    }

    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("rust"), "%rust%");
        assert_eq!(contains_pattern("100%"), "%100\\%%");
        assert_eq!(contains_pattern("a_b"), "%a\\_b%");
        assert_eq!(contains_pattern("c:\\dir"), "%c:\\\\dir%");
    }
}
