//! The presence rule of `livesessions_core` ([`Participant::touch`] and
//! [`Participant::credit`]) as SQL over a [`Dialect`], so that joins, heartbeats, leaves and
//! the end of a session apply it in the database, to any number of rows in one statement.
//! The arguments are SQL expressions (parameters or columns) of the dialect's time type.
//!
//! [`Participant::touch`]: livesessions_core::Participant::touch
//! [`Participant::credit`]: livesessions_core::Participant::credit

use crate::dialect::Dialect;

/// `SET` clauses of the presence rule on the participant row at `at`, `period` being the
/// start of the session's current live period (NULL when it is not live) and `timeout` the
/// presence timeout. Every right-hand side reads the old row. An `at` older than `last_seen`
/// or the last leave changes nothing; one before the period's start opens nothing. The first
/// interval ever opened sets `first_present_at`.
pub(crate) fn touch_sets<D: Dialect>(at: &str, period: &str, timeout: &str) -> String {
    let p = D::PARTICIPANT;
    let gap = format!("{at} - {p}last_seen > {timeout}");
    let ignored =
        format!("({at} < {p}last_seen OR ({p}left_at IS NOT NULL AND {at} < {p}left_at))");
    let opens = format!("(NOT {ignored} AND {period} IS NOT NULL AND {at} >= {period})");
    let opened = format!(
        "CASE WHEN {p}present_since IS NULL THEN {at} WHEN {gap} THEN {at} \
         ELSE {p}present_since END"
    );
    format!(
        "watch_seconds = {p}watch_seconds + CASE \
            WHEN {opens} AND {p}present_since IS NOT NULL AND {gap} \
            THEN {credit} ELSE 0 END, \
         present_since = CASE WHEN {opens} THEN {opened} ELSE {p}present_since END, \
         first_present_at = COALESCE({p}first_present_at, \
            CASE WHEN {opens} THEN {opened} END), \
         last_seen = CASE WHEN {ignored} THEN {p}last_seen ELSE {at} END",
        credit = D::seconds(&format!("{p}last_seen + {timeout} - {p}present_since")),
    )
}

/// The watch seconds of the participant row if its open interval were credited at `at`.
pub(crate) fn credited<D: Dialect>(at: &str, timeout: &str) -> String {
    let p = D::PARTICIPANT;
    format!(
        "{p}watch_seconds + CASE WHEN {p}present_since IS NULL THEN 0 ELSE {} END",
        D::seconds(&format!(
            "{least}({at}, {p}last_seen + {timeout}) - {p}present_since",
            least = D::LEAST
        ))
    )
}

/// Whether the participant row qualified by `qualifier` is watching at `at`: present and seen
/// within `timeout`.
pub(crate) fn watching(qualifier: &str, at: &str, timeout: &str) -> String {
    format!("{qualifier}present_since IS NOT NULL AND {qualifier}last_seen >= {at} - {timeout}")
}
