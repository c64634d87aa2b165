//! Listing and searching sessions: the `LIKE` pattern of a search and the list statement of
//! every combination of filters, each built once.

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

/// What a list query filters on, and its values.
pub(crate) struct ListFilters {
    /// The rank of the one status listed.
    pub rank: Option<i16>,
    /// The search pattern ([`contains_pattern`]).
    pub pattern: Option<String>,
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
            after: query.after,
        }
    }
}

/// The list statement for every combination of filters (status, search, cursor), built once.
#[derive(Debug)]
pub(crate) struct ListStatements(Vec<String>);

impl ListStatements {
    /// Builds every statement with `build(status, search, after)`.
    pub(crate) fn new(build: impl Fn(bool, bool, bool) -> String) -> Self {
        ListStatements(
            (0..8)
                .map(|i| build(i & 4 != 0, i & 2 != 0, i & 1 != 0))
                .collect(),
        )
    }

    /// The statement for the given filters.
    pub(crate) fn get(&self, status: bool, search: bool, after: bool) -> &str {
        &self.0[usize::from(status) * 4 + usize::from(search) * 2 + usize::from(after)]
    }

    /// The statement for `filters`.
    pub(crate) fn of(&self, filters: &ListFilters) -> &str {
        self.get(
            filters.rank.is_some(),
            filters.pattern.is_some(),
            filters.after.is_some(),
        )
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
}
