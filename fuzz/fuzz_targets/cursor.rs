//! List cursors: decoding any text never panics, and whatever decodes encodes back to a
//! cursor that decodes to the same position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livesessions_core::{Cursor, Error};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Cursor::decode(text) {
        Ok(cursor) => {
            assert!((0..=3).contains(&cursor.0.rank));
            let encoded = cursor.encode();
            assert!(encoded.len() <= 64);
            assert_eq!(Cursor::decode(&encoded).expect("round trip"), cursor);
        }
        Err(Error::Validation(errors)) => {
            assert!(errors.iter().all(|e| e.field == "cursor"), "{errors:?}");
        }
        Err(other) => panic!("a cursor error that is not a validation error: {other:?}"),
    }
    // Any 26 bytes with a valid rank make a cursor; encode∘decode is the identity on them.
    if data.len() >= 26 {
        let rank = i16::from(data[0] % 4);
        let time_key = i64::from_be_bytes(data[1..9].try_into().unwrap());
        let id = livesessions_core::SessionId::from_uuid(uuid_from(&data[9..25]));
        let cursor = Cursor(livesessions_core::ListKey { rank, time_key, id });
        assert_eq!(
            Cursor::decode(&cursor.encode()).expect("round trip"),
            cursor
        );
    }
});

fn uuid_from(bytes: &[u8]) -> uuid::Uuid {
    uuid::Uuid::from_bytes(bytes.try_into().unwrap())
}
