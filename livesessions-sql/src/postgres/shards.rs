//! The count shards of a session's participant count (see docs/ARCHITECTURE.md, "Count
//! shards").

use livesessions_core::UserId;

/// How many rows a session's participant count is split over (migration 0002 allows shards
/// 0–63). With 16, 64 concurrent joiners of one session queued on the shard rows.
pub(super) const COUNT_SHARDS: i16 = 64;

/// The count shard of a user: FNV-1a of the user id's bytes, modulo [`COUNT_SHARDS`]. Any
/// stable hash would do; this one is computed in Rust so that no engine-specific SQL hash
/// function is needed.
pub(super) fn shard_of(user: &UserId) -> i16 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in user.as_str().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % COUNT_SHARDS as u32) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
