//! The conformance checks of a [`ThumbnailStore`]: one public async function per rule, and
//! [`thumbnail_store_cases`] to run them all.
//!
//! Every check generates keys of its own ([`ThumbnailKey::generate`]), so the checks may run one
//! after the other on one store, and on a store that already holds other images. A broken rule
//! panics with a message that names it.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use livesessions_core::{testing, LocalDirThumbnails};
//!
//! let dir = tempfile::tempdir().unwrap();
//! testing::thumbnail_store_cases(&LocalDirThumbnails::new(dir.path())).await;
//! # });
//! ```

use crate::error::{Conflict, Error};
use crate::thumbnails::{StoredImage, ThumbnailStore};
use crate::upload::MAX_THUMBNAIL_BYTES;
use crate::values::{ImageKind, ThumbnailKey};

/// Runs every check of this module against `store`, one after the other.
pub async fn thumbnail_store_cases(store: &dyn ThumbnailStore) {
    thumbnails_round_trip_with_their_kind(store).await;
    putting_an_existing_key_conflicts_and_keeps_the_first_image(store).await;
    racing_puts_of_one_key_store_one_image(store).await;
    a_missing_key_is_none(store).await;
    deleted_images_are_gone(store).await;
    deleting_a_missing_key_is_ok(store).await;
    every_byte_value_round_trips(store).await;
    the_largest_upload_round_trips(store).await;
}

/// The leading bytes of an image of `kind`, as [`ImageKind::sniff`] recognises them.
fn magic(kind: ImageKind) -> &'static [u8] {
    match kind {
        ImageKind::Jpeg => &[0xFF, 0xD8, 0xFF, 0xE0],
        ImageKind::Png => b"\x89PNG\r\n\x1a\n",
        ImageKind::Gif => b"GIF89a",
        ImageKind::Webp => b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    }
}

/// An image of `kind` of `len` bytes (at least its magic), its body a deterministic pattern that
/// does not compress away.
fn image(kind: ImageKind, len: usize) -> Vec<u8> {
    let mut bytes = magic(kind).to_vec();
    let mut state: u32 = 0x2545_F491;
    while bytes.len() < len {
        // xorshift32
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes.push(state.to_le_bytes()[0]);
    }
    bytes
}

async fn put(store: &dyn ThumbnailStore, key: &ThumbnailKey, bytes: &[u8]) {
    store.put(key, bytes).await.unwrap_or_else(|e| {
        panic!(
            "storing the thumbnail {key} ({} bytes) failed: {e:?}",
            bytes.len()
        )
    });
}

async fn get(store: &dyn ThumbnailStore, key: &ThumbnailKey) -> Option<StoredImage> {
    store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("reading the thumbnail {key} failed: {e:?}"))
}

/// Asserts that `key` holds exactly `bytes`, of the kind its key names.
async fn assert_holds(store: &dyn ThumbnailStore, key: &ThumbnailKey, bytes: &[u8], rule: &str) {
    let Some(image) = get(store, key).await else {
        panic!("{rule}: the thumbnail {key} is missing");
    };
    assert_eq!(
        image.kind,
        key.kind(),
        "{rule}: the thumbnail {key} came back as {:?}",
        image.kind
    );
    assert!(
        image.bytes == bytes,
        "{rule}: the thumbnail {key} came back with other bytes ({} bytes, {} stored; first \
         difference at byte {:?})",
        image.bytes.len(),
        bytes.len(),
        image.bytes.iter().zip(bytes).position(|(a, b)| a != b)
    );
}

/// An image of every [`ImageKind`] reads back with its bytes and its kind.
pub async fn thumbnails_round_trip_with_their_kind(store: &dyn ThumbnailStore) {
    let kinds = [
        ImageKind::Jpeg,
        ImageKind::Png,
        ImageKind::Gif,
        ImageKind::Webp,
    ];
    let stored: Vec<(ThumbnailKey, Vec<u8>)> = kinds
        .iter()
        .map(|&kind| (ThumbnailKey::generate(kind), image(kind, 1000)))
        .collect();
    for (key, bytes) in &stored {
        put(store, key, bytes).await;
    }
    for (key, bytes) in &stored {
        assert_holds(store, key, bytes, "a stored thumbnail reads back").await;
    }
}

/// Storing under a key that exists is `Conflict::AlreadyExists` for the entity `thumbnail` and
/// the key, and leaves the first image as it was.
pub async fn putting_an_existing_key_conflicts_and_keeps_the_first_image(
    store: &dyn ThumbnailStore,
) {
    let key = ThumbnailKey::generate(ImageKind::Png);
    let first = image(ImageKind::Png, 600);
    put(store, &key, &first).await;
    let second = image(ImageKind::Png, 300_000);
    match store.put(&key, &second).await {
        Err(Error::Conflict(Conflict::AlreadyExists { entity, id })) => {
            assert_eq!(
                entity, "thumbnail",
                "a second put of {key} names the entity"
            );
            assert_eq!(id, key.as_str(), "a second put of {key} names the key");
        }
        other => panic!("a second put of {key} must be Conflict::AlreadyExists, not {other:?}"),
    }
    assert_holds(
        store,
        &key,
        &first,
        "a refused second put keeps the first image",
    )
    .await;
}

/// Puts of one key at the same time: exactly one succeeds, every other one is
/// `Conflict::AlreadyExists`, and the key then holds the winner's image, whole.
pub async fn racing_puts_of_one_key_store_one_image(store: &dyn ThumbnailStore) {
    const RACERS: usize = 4;
    let key = ThumbnailKey::generate(ImageKind::Gif);
    let images: Vec<Vec<u8>> = (0..RACERS)
        .map(|i| {
            let mut bytes = image(ImageKind::Gif, 200_000);
            bytes[6..]
                .iter_mut()
                .for_each(|b| *b = b.wrapping_add(i as u8));
            bytes
        })
        .collect();
    let outcomes =
        futures::future::join_all(images.iter().map(|bytes| store.put(&key, bytes))).await;
    let mut winners = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(()) => winners.push(i),
            Err(Error::Conflict(Conflict::AlreadyExists {
                entity: "thumbnail",
                ..
            })) => {}
            Err(other) => panic!(
                "a racing put of {key} must succeed or be Conflict::AlreadyExists, not {other:?}"
            ),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {RACERS} racing puts of {key} succeeds, not {winners:?}"
    );
    assert_holds(
        store,
        &key,
        &images[winners[0]],
        "racing puts leave the winner's image",
    )
    .await;
}

/// Reading a key that was never stored is `None`.
pub async fn a_missing_key_is_none(store: &dyn ThumbnailStore) {
    let key = ThumbnailKey::generate(ImageKind::Gif);
    assert_eq!(
        get(store, &key).await,
        None,
        "a key never stored reads as None"
    );
}

/// A deleted image reads as `None`; deleting it again is fine; other images stay.
pub async fn deleted_images_are_gone(store: &dyn ThumbnailStore) {
    let key = ThumbnailKey::generate(ImageKind::Webp);
    let other = ThumbnailKey::generate(ImageKind::Webp);
    let bytes = image(ImageKind::Webp, 2000);
    put(store, &key, &bytes).await;
    put(store, &other, &bytes).await;
    store
        .delete(&key)
        .await
        .unwrap_or_else(|e| panic!("deleting the thumbnail {key} failed: {e:?}"));
    assert_eq!(
        get(store, &key).await,
        None,
        "a deleted thumbnail reads as None"
    );
    store
        .delete(&key)
        .await
        .unwrap_or_else(|e| panic!("deleting the thumbnail {key} twice failed: {e:?}"));
    assert_holds(store, &other, &bytes, "a delete removes only its own key").await;
    // The key is free again.
    put(store, &key, &bytes).await;
    assert_holds(store, &key, &bytes, "a deleted key can be stored again").await;
}

/// Deleting a key that was never stored is not an error.
pub async fn deleting_a_missing_key_is_ok(store: &dyn ThumbnailStore) {
    let key = ThumbnailKey::generate(ImageKind::Jpeg);
    store
        .delete(&key)
        .await
        .unwrap_or_else(|e| panic!("deleting the missing thumbnail {key} failed: {e:?}"));
}

/// Binary data with every byte value, NUL and invalid UTF-8 among them, round-trips exactly.
pub async fn every_byte_value_round_trips(store: &dyn ThumbnailStore) {
    let key = ThumbnailKey::generate(ImageKind::Jpeg);
    let mut bytes = magic(ImageKind::Jpeg).to_vec();
    for _ in 0..4 {
        bytes.extend(0..=255u8);
        bytes.extend((0..=255u8).rev());
    }
    bytes.extend_from_slice(&[0, 0, 0]);
    put(store, &key, &bytes).await;
    assert_holds(store, &key, &bytes, "every byte value round-trips").await;
}

/// An image of [`MAX_THUMBNAIL_BYTES`] (5 MiB), the largest upload, round-trips exactly.
pub async fn the_largest_upload_round_trips(store: &dyn ThumbnailStore) {
    let key = ThumbnailKey::generate(ImageKind::Png);
    let bytes = image(ImageKind::Png, MAX_THUMBNAIL_BYTES);
    put(store, &key, &bytes).await;
    assert_holds(store, &key, &bytes, "a 5 MiB thumbnail round-trips").await;
    store
        .delete(&key)
        .await
        .unwrap_or_else(|e| panic!("deleting the 5 MiB thumbnail {key} failed: {e:?}"));
    assert_eq!(
        get(store, &key).await,
        None,
        "a deleted 5 MiB thumbnail reads as None"
    );
}
