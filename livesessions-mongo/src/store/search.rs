//! The documents of a list page, searched through the trigram index when that reads less (see
//! [`queries::term_grams`] for the index), and the backfill of the trigrams of documents
//! written before it.

use bson::{doc, Bson, Document};
use futures::TryStreamExt;
use livesessions_core::{ListQuery, Result};

use super::{all_documents, MongoStore};
use crate::error::map_error;
use crate::queries;

/// A term is read from the trigram index when one of its trigrams is carried by at most this
/// many sessions (each then read and the matches sorted); otherwise along the list index,
/// where its matches soon fill a page. The same bound as the SQLite store's.
pub(super) const MAX_INDEXED_CANDIDATES: u64 = 1_000;

/// How many of a term's trigrams (the likely rarest, [`queries::rarest_first`]) are counted
/// before the term is taken to be common.
const COUNTED_GRAMS: usize = 2;

/// How a list page is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ListPlan {
    /// Along the list index, the search (if any) tested by its expression on each session.
    ListOrder,
    /// From the sessions carrying the trigram `first` (the trigram index), the term's other
    /// trigrams and its expression deciding, sorted into the list order.
    Trigrams {
        /// The trigram read from the index: one carried by few sessions.
        first: String,
        /// Every trigram of the term.
        grams: Vec<String>,
    },
}

impl MongoStore {
    /// The plan of a list page: [`ListPlan::Trigrams`] for a term with a trigram (among the
    /// [`COUNTED_GRAMS`] likely rarest) that at most [`MAX_INDEXED_CANDIDATES`] sessions
    /// carry, counted from the index up to one more than that; [`ListPlan::ListOrder`]
    /// otherwise.
    pub(super) async fn list_plan(&self, query: &ListQuery) -> Result<ListPlan> {
        let grams = query
            .search
            .as_deref()
            .map(queries::term_grams)
            .unwrap_or_default();
        for gram in queries::rarest_first(&grams)
            .into_iter()
            .take(COUNTED_GRAMS)
        {
            let carried = self
                .sessions
                .count_documents(queries::gram_filter(&gram))
                .limit(MAX_INDEXED_CANDIDATES + 1)
                .await
                .map_err(map_error)?;
            if carried <= MAX_INDEXED_CANDIDATES {
                return Ok(ListPlan::Trigrams { first: gram, grams });
            }
        }
        Ok(ListPlan::ListOrder)
    }

    /// The first `limit` sessions of a list request in the list order, by `plan`.
    pub(super) async fn list_documents(
        &self,
        query: &ListQuery,
        plan: &ListPlan,
        limit: i64,
    ) -> Result<Vec<Document>> {
        match plan {
            ListPlan::ListOrder => {
                all_documents(
                    self.sessions
                        .find(queries::list_filter(query))
                        .sort(queries::list_sort())
                        .limit(limit),
                )
                .await
            }
            ListPlan::Trigrams { first, grams } => {
                all_documents(
                    self.sessions
                        .aggregate(queries::indexed_list_pipeline(query, first, grams, limit)),
                )
                .await
            }
        }
    }

    /// Writes the search trigrams of the session documents that have none (written before
    /// they existed, or by another program), each only if its searched text is still the one
    /// read, so that a concurrent update (which writes its own) wins. Answers how many.
    pub(super) async fn backfill_search_grams(&self) -> Result<u64> {
        let mut cursor = self
            .sessions
            .find(queries::missing_grams_filter())
            .projection(queries::searched_fields_projection())
            .await
            .map_err(map_error)?;
        let mut filled = 0;
        while let Some(document) = cursor.try_next().await.map_err(map_error)? {
            let text = |field: &str| document.get(field).cloned().unwrap_or(Bson::Null);
            let (title, instructor, description) =
                (text("title"), text("instructor"), text("description"));
            let grams = queries::session_grams(&[
                title.as_str().unwrap_or_default(),
                instructor.as_str().unwrap_or_default(),
                description.as_str().unwrap_or_default(),
            ]);
            let mut filter = queries::missing_grams_filter();
            filter.insert("_id", document.get("_id").cloned().unwrap_or(Bson::Null));
            filter.insert("title", title);
            filter.insert("instructor", instructor);
            filter.insert("description", description);
            let result = self
                .sessions
                .update_one(filter, doc! { "$set": { queries::SEARCH_GRAMS: grams } })
                .await
                .map_err(map_error)?;
            filled += result.modified_count;
        }
        Ok(filled)
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
