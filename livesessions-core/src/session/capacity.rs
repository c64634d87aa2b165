//! Capacity rules of a session: seats left, refusing a first join when full, and refusing a
//! capacity below the participants already counted.

use crate::error::{Conflict, Error, Result};
use crate::values::Capacity;

use super::LiveSession;

impl LiveSession {
    /// The seats left (`None` without a capacity).
    pub fn seats_left(&self) -> Option<u64> {
        self.fields
            .capacity
            .map(|c| c.seats_left(self.participants))
    }

    /// Checks that one more distinct participant fits: `Conflict(SessionFull)` when the
    /// capacity is reached. Stores run this rule inside their atomic join, on the count read
    /// there; rejoins never ask.
    pub fn check_seat_for_new_participant(&self) -> Result<()> {
        match self.fields.capacity {
            Some(capacity) if self.participants >= u64::from(capacity.get()) => {
                Err(Conflict::SessionFull {
                    capacity: capacity.get(),
                }
                .into())
            }
            _ => Ok(()),
        }
    }

    /// Checks that the capacity is not below the participants already counted: a
    /// `Validation` error naming `capacity` otherwise.
    pub fn check_capacity(&self) -> Result<()> {
        match self.fields.capacity {
            Some(capacity) if u64::from(capacity.get()) < self.participants => Err(
                Error::Validation(vec![Capacity::below_participants(self.participants)]),
            ),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn seats_and_the_full_session() {
        let mut s = LiveSession::new(super::super::test_fields(), Utc::now());
        assert_eq!(s.seats_left(), None);
        assert!(s.check_seat_for_new_participant().is_ok());
        s.fields.capacity = Some(Capacity::new(2).unwrap());
        s.participants = 1;
        assert_eq!(s.seats_left(), Some(1));
        assert!(s.check_seat_for_new_participant().is_ok());
        assert!(s.check_capacity().is_ok());
        s.participants = 2;
        assert_eq!(s.seats_left(), Some(0));
        assert!(matches!(
            s.check_seat_for_new_participant(),
            Err(Error::Conflict(Conflict::SessionFull { capacity: 2 }))
        ));
        s.participants = 3;
        match s.check_capacity() {
            Err(Error::Validation(errors)) => assert_eq!(errors[0].field.as_str(), "capacity"),
            other => panic!("{other:?}"),
        }
    }
}
