//! The trigram index of list searches.
//!
//! A search matches its term as a case-insensitive substring of a session's title, instructor
//! or description (the regular expression of [`list_filter`](super::list_filter) decides, as
//! the SQL stores' `ILIKE`/`LIKE` do). So that a rare term does not walk every session, each
//! session document carries `searchGrams`: the distinct trigrams of its three fields, each
//! field on its own, case-folded, keeping only trigrams of ASCII characters, under the
//! multikey index `search_grams`. A term's own ASCII trigrams ([`term_grams`]) are all among
//! those of any session it matches, so `{searchGrams: {$all: <the term's trigrams>}}` finds
//! every match and a few more, which the expression then removes. Terms without such a trigram
//! (fewer than three characters, or none ASCII) are searched by the expression alone.
//!
//! Why ASCII only: MongoDB's case-insensitive expression makes an ASCII letter match a few
//! other characters (`k` the Kelvin sign, `s` the long s, `i` the dotted capital I), which
//! [`fold`] maps to that letter; for other characters its case rules and Rust's differ at the
//! edges. A term's trigrams with a non-ASCII character are left out of the query, which then
//! only narrows less. A text index (`$text`) is no substitute: it matches words, not
//! substrings, and SecantusDB has none.

use std::collections::BTreeSet;

use bson::{doc, Document};

/// The field of a session document that holds its search trigrams.
pub const SEARCH_GRAMS: &str = "searchGrams";

/// The name of the multikey index on [`SEARCH_GRAMS`].
pub const SEARCH_INDEX: &str = "search_grams";

/// At most this many of a term's trigrams are asked for: any subset of them still finds every
/// match, and more only narrow an already short list.
const MAX_TERM_GRAMS: usize = 16;

/// A character as the trigrams hold it: ASCII letters in lower case, and a character whose
/// lower or upper case is an ASCII letter (MongoDB's case-insensitive match treats it as that
/// letter) as that letter; anything else unchanged.
pub fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let related = c
        .to_lowercase()
        .next()
        .filter(char::is_ascii_alphabetic)
        .or_else(|| c.to_uppercase().next().filter(char::is_ascii_alphabetic));
    match related {
        Some(letter) => letter.to_ascii_lowercase(),
        None => c,
    }
}

/// The ASCII trigrams of `text`, folded ([`fold`]), into `grams`.
fn add_grams(text: &str, grams: &mut BTreeSet<String>) {
    let folded: Vec<char> = text.chars().map(fold).collect();
    for window in folded.windows(3) {
        if window.iter().all(char::is_ascii) {
            grams.insert(window.iter().collect());
        }
    }
}

/// The trigrams a session document carries in [`SEARCH_GRAMS`]: those of each of `fields`
/// (title, instructor, description), distinct and sorted.
pub fn session_grams(fields: &[&str]) -> Vec<String> {
    let mut grams = BTreeSet::new();
    for field in fields {
        add_grams(field, &mut grams);
    }
    grams.into_iter().collect()
}

/// The trigrams a session must carry to match the search `term` (at most 16 of them), or none
/// when the term has no ASCII trigram: then only the expression can search it.
pub fn term_grams(term: &str) -> Vec<String> {
    let mut grams = BTreeSet::new();
    add_grams(term, &mut grams);
    grams.into_iter().take(MAX_TERM_GRAMS).collect()
}

/// `{searchGrams: {$all: grams}}`: the sessions that may match a term of these trigrams.
pub fn grams_filter(grams: &[String]) -> Document {
    doc! { SEARCH_GRAMS: { "$all": grams } }
}

/// `{searchGrams: gram}`: the sessions carrying one trigram, a single equality that any
/// server's planner serves from the index.
pub fn gram_filter(gram: &str) -> Document {
    doc! { SEARCH_GRAMS: gram }
}

/// How common a character is in text, roughly (English letter frequencies; a space the most
/// common, digits and other characters rare).
fn commonness(c: char) -> usize {
    const LETTERS: &str = "etaoinshrdlcumwfgypbvkjxqz";
    match c {
        ' ' => 0,
        '0'..='9' => 20,
        _ => LETTERS.find(c).map_or(24, |i| i + 1),
    }
}

/// The trigrams of a term, the likely rarest first (the sum of [`commonness`], highest first;
/// then in order): those whose sessions the store counts first.
pub fn rarest_first(grams: &[String]) -> Vec<String> {
    let mut ordered = grams.to_vec();
    ordered.sort_by_key(|gram| std::cmp::Reverse(gram.chars().map(commonness).sum::<usize>()));
    ordered
}

/// The session documents written before [`SEARCH_GRAMS`] existed, which
/// [`MongoStore::ensure_indexes`](crate::MongoStore::ensure_indexes) fills in.
pub fn missing_grams_filter() -> Document {
    doc! { SEARCH_GRAMS: { "$exists": false } }
}

/// What the backfill reads of a session document: its three searched fields.
pub fn searched_fields_projection() -> Document {
    doc! { "title": 1, "instructor": 1, "description": 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(list: &[&str]) -> Vec<String> {
        list.iter().map(|g| (*g).to_owned()).collect()
    }

    #[test]
    fn a_field_gives_its_folded_trigrams_once_each() {
        assert_eq!(
            session_grams(&["AbCab", "", "x"]),
            grams(&["abc", "bca", "cab"])
        );
        assert_eq!(session_grams(&["ab", "cd", ""]), grams(&[]), "fields apart");
    }

    #[test]
    fn trigrams_keep_ascii_characters_only() {
        assert_eq!(session_grams(&["Café au", "", ""]), grams(&[" au", "caf"]));
        assert_eq!(term_grams("日本語"), grams(&[]));
        assert_eq!(term_grams("Ünïcode CAFé"), session_grams(&["code caf"]));
    }

    #[test]
    fn letters_that_match_ascii_ones_case_insensitively_fold_to_them() {
        assert_eq!(fold('\u{212A}'), 'k', "Kelvin sign");
        assert_eq!(fold('\u{17F}'), 's', "long s");
        assert_eq!(fold('\u{130}'), 'i', "capital I with dot");
        assert_eq!(fold('É'), 'É');
        assert_eq!(
            session_grams(&["\u{212A}I\u{17F}", "", ""]),
            grams(&["kis"])
        );
    }

    #[test]
    fn digits_and_rare_letters_are_counted_first() {
        assert_eq!(
            rarest_first(&term_grams("class 19999")),
            grams(&["199", "999", " 19", "s 1", "cla", "las", "ass", "ss "])
        );
        assert_eq!(rarest_first(&term_grams("chemistry"))[0], "try");
    }

    #[test]
    fn short_terms_have_no_trigram_and_long_ones_at_most_sixteen() {
        assert!(term_grams("ab").is_empty());
        assert!(term_grams("").is_empty());
        assert_eq!(term_grams("Abc"), grams(&["abc"]));
        assert_eq!(
            term_grams(&"abcdefghijklmnopqrstuvwxyz".repeat(2)).len(),
            16
        );
    }

    #[test]
    fn a_term_matching_a_field_has_all_its_trigrams_among_the_fields() {
        let fields = ["Rust class 42", "Ann Lee", "say \"hi\" 100%"];
        let carried = session_grams(&fields);
        for term in ["ust cla", "ANN LEE", "\"hi\" 100", "class 42"] {
            for gram in term_grams(term) {
                assert!(carried.contains(&gram), "{term:?}: {gram:?}");
            }
        }
        assert_eq!(
            grams_filter(&term_grams("abcd")),
            doc! { "searchGrams": { "$all": ["abc", "bcd"] } }
        );
    }
}
