//! Capacity rules of a session: seats left, refusing a first join when full, and refusing a
//! capacity below the participants already counted.
//!
//! Roster members hold reserved seats: a seat is held for every roster member who has not
//! joined yet ([`LiveSession::reserved_seats`], counted by the store). A first join of a
//! walk-in (anyone not on the roster, admins included) is admitted only while
//! `participants + reserved < capacity`; a first join of a roster member while
//! `participants < capacity` (their seat was among the reserved ones, so normally always).
//! Rejoins always pass; sessions without a capacity reserve nothing.

use crate::error::{Conflict, Error, Result};
use crate::values::{Capacity, Seat};

use super::LiveSession;

impl LiveSession {
    /// The seats left for a walk-in: the capacity less the participants and the seats held
    /// for roster members who have not joined ([`LiveSession::reserved_seats`]); `None`
    /// without a capacity.
    pub fn seats_left(&self) -> Option<u64> {
        self.fields.capacity.map(|c| {
            c.seats_left(self.participants)
                .saturating_sub(self.reserved_seats)
        })
    }

    /// Checks that one more distinct participant of kind `seat` fits, by the rule of reserved
    /// seats ([`Capacity::admits`], on `participants` and `reserved_seats`):
    /// `Conflict(SessionFull)` otherwise. Stores run this rule inside their atomic join, on the
    /// counts read there; rejoins never ask.
    pub fn check_seat_for_new_participant(&self, seat: Seat) -> Result<()> {
        check_seat(
            self.fields.capacity,
            self.participants,
            self.reserved_seats,
            seat,
        )
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

/// The rule of [`LiveSession::check_seat_for_new_participant`] on counts a store read
/// without the whole session: `Conflict(SessionFull)` unless `capacity` (if any) admits one
/// more participant of kind `seat` with `participants` counted and `reserved` seats held.
pub fn check_seat(
    capacity: Option<Capacity>,
    participants: u64,
    reserved: u64,
    seat: Seat,
) -> Result<()> {
    match capacity {
        Some(capacity) if !capacity.admits(participants, reserved, seat) => {
            Err(Conflict::SessionFull {
                capacity: capacity.get(),
            }
            .into())
        }
        _ => Ok(()),
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
        assert!(s.check_seat_for_new_participant(Seat::WalkIn).is_ok());
        s.fields.capacity = Some(Capacity::new(2).unwrap());
        s.participants = 1;
        assert_eq!(s.seats_left(), Some(1));
        assert!(s.check_seat_for_new_participant(Seat::WalkIn).is_ok());
        s.reserved_seats = 1;
        assert_eq!(
            s.seats_left(),
            Some(0),
            "the last seat is held for a member"
        );
        assert!(matches!(
            s.check_seat_for_new_participant(Seat::WalkIn),
            Err(Error::Conflict(Conflict::SessionFull { capacity: 2 }))
        ));
        assert!(s.check_seat_for_new_participant(Seat::RosterMember).is_ok());
        s.reserved_seats = 0;
        assert!(s.check_capacity().is_ok());
        s.participants = 2;
        assert_eq!(s.seats_left(), Some(0));
        assert!(matches!(
            s.check_seat_for_new_participant(Seat::RosterMember),
            Err(Error::Conflict(Conflict::SessionFull { capacity: 2 }))
        ));
        s.participants = 3;
        match s.check_capacity() {
            Err(Error::Validation(errors)) => assert_eq!(errors[0].field.as_str(), "capacity"),
            other => panic!("{other:?}"),
        }
    }
}
