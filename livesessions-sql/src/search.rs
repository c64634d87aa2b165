//! Listing and searching sessions: the `LIKE` pattern of a search, the trigram index query
//! that narrows it down, and the list statement of every combination of filters, each built
//! once.
//!
//! A search matches a term as a substring of a session's title, instructor or description,
//! ignoring case: `ILIKE` on PostgreSQL, `LIKE` on SQLite (ASCII case only, SQLite's rule).
//! Both databases index it with trigrams so that a rare term does not walk every session:
//! PostgreSQL with a `pg_trgm` GIN index on the three columns joined that serves `ILIKE`
//! itself (migration 0010, [`text_matches`]), SQLite
//! with an FTS5 table of trigram tokenizer (migration 0009) whose `MATCH` only narrows the
//! candidates, the `LIKE` deciding as before. Terms of fewer than three characters have no
//! trigram and are searched by the `LIKE` alone.

use livesessions_core::{Cursor, ListQuery, StatusFilter};

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

/// The condition that a session qualified by `qualifier` matches the search pattern
/// `parameter` with the operator `like` (`LIKE` or `ILIKE`) in its title, instructor or
/// description.
pub(crate) fn matches(qualifier: &str, like: &str, parameter: &str) -> String {
    let q = qualifier;
    format!(
        "({q}title {like} {parameter} ESCAPE '\\' OR {q}instructor {like} {parameter} ESCAPE '\\' \
         OR {q}description {like} {parameter} ESCAPE '\\')"
    )
}

/// The condition that the searched text of a session qualified by `qualifier`, its three
/// columns joined by spaces, matches `parameter` by `ILIKE`: implied by [`matches`] (each
/// column is a part of that text), it adds no result and lets PostgreSQL use the trigram index
/// on that text (migration 0010) when the term is rare.
pub(crate) fn text_matches(qualifier: &str, parameter: &str) -> String {
    let q = qualifier;
    format!(
        "({q}title || ' ' || {q}instructor || ' ' || {q}description) ILIKE {parameter} ESCAPE '\\'"
    )
}

/// The FTS5 query (a phrase of the trigram tokenizer) of the sessions whose indexed text may
/// contain `needle`, or `None` for a term of fewer than three characters, which the trigram
/// index cannot narrow. It matches a superset of the `LIKE` matches (the tokenizer folds the
/// case of every letter, `LIKE` only of ASCII ones), never fewer.
pub(crate) fn trigram_query(needle: &str) -> Option<String> {
    if needle.chars().count() < 3 {
        return None;
    }
    Some(format!("\"{}\"", needle.replace('"', "\"\"")))
}

/// How a list statement searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Search {
    /// No search.
    None,
    /// The `LIKE` condition alone: a term the index cannot narrow (SQLite), or no index
    /// (PostgreSQL without `pg_trgm`).
    Scan,
    /// The `LIKE` condition and a condition the trigram index serves: the candidates of the
    /// FTS5 query (SQLite), the joined text's `ILIKE` ([`text_matches`], PostgreSQL).
    Indexed,
}

/// What a list query filters on, and its values.
pub(crate) struct ListFilters {
    /// The rank of the one status listed.
    pub rank: Option<i16>,
    /// The search pattern ([`contains_pattern`]).
    pub pattern: Option<String>,
    /// The trigram index query of the search ([`trigram_query`]), if it has one.
    pub index_query: Option<String>,
    /// The keyset cursor: the last item of the previous page.
    pub after: Option<Cursor>,
}

impl ListFilters {
    /// The filters of `query`.
    pub(crate) fn of(query: &ListQuery) -> Self {
        ListFilters {
            rank: match query.status {
                StatusFilter::All => None,
                StatusFilter::Only(status) => Some(status.rank()),
            },
            pattern: query.search.as_deref().map(contains_pattern),
            index_query: query.search.as_deref().and_then(trigram_query),
            after: query.after,
        }
    }
}

/// The list statement for every combination of filters (status, search, cursor), built once.
#[derive(Debug)]
pub(crate) struct ListStatements(Vec<String>);

impl ListStatements {
    /// Builds every statement with `build(status, search, after)`.
    pub(crate) fn new(build: impl Fn(bool, Search, bool) -> String) -> Self {
        let mut all = Vec::with_capacity(12);
        for status in [false, true] {
            for search in [Search::None, Search::Scan, Search::Indexed] {
                for after in [false, true] {
                    all.push(build(status, search, after));
                }
            }
        }
        ListStatements(all)
    }

    /// The statement for the given filters.
    pub(crate) fn get(&self, status: bool, search: Search, after: bool) -> &str {
        &self.0[usize::from(status) * 6 + search as usize * 2 + usize::from(after)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_escape_wildcards() {
        for (needle, pattern) in [
            ("rust", "%rust%"),
            ("100%", "%100\\%%"),
            ("a_b", "%a\\_b%"),
            ("c:\\dir", "%c:\\\\dir%"),
        ] {
            assert_eq!(contains_pattern(needle), pattern, "{needle}");
        }
    }

    #[test]
    fn trigram_queries_are_quoted_phrases_of_three_characters_or_more() {
        assert_eq!(trigram_query("ab"), None);
        assert_eq!(trigram_query("éü"), None, "characters, not bytes");
        assert_eq!(trigram_query("abc").as_deref(), Some("\"abc\""));
        assert_eq!(
            trigram_query("say \"hi\" 100%").as_deref(),
            Some("\"say \"\"hi\"\" 100%\"")
        );
    }

    #[test]
    fn every_combination_of_filters_has_its_own_statement() {
        let statements =
            ListStatements::new(|status, search, after| format!("{status} {search:?} {after}"));
        let mut seen = std::collections::HashSet::new();
        for status in [false, true] {
            for search in [Search::None, Search::Scan, Search::Indexed] {
                for after in [false, true] {
                    let sql = statements.get(status, search, after);
                    assert_eq!(sql, format!("{status} {search:?} {after}"));
                    assert!(seen.insert(sql.to_owned()));
                }
            }
        }
    }
}
