//! [`Capacity`]: how many distinct participants a session admits.

use std::fmt;

use crate::field_error::FieldError;

/// The most distinct participants a session admits, 1 to [`Capacity::MAX`] (`capacity`). A
/// first join beyond it is refused (`Conflict::SessionFull`); rejoins always pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capacity(u32);

impl Capacity {
    /// The largest capacity: 1 000 000 seats.
    pub const MAX: u32 = 1_000_000;

    /// The field errors name.
    const FIELD: &'static str = "capacity";

    /// Reads a whole number of seats, 1 to [`Capacity::MAX`], from text (surrounding blanks
    /// ignored); errors name `capacity`.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(FieldError::required(Self::FIELD));
        }
        let seats: i64 = text.parse().map_err(|_| {
            FieldError::new(
                Self::FIELD,
                "invalid_number",
                "Enter a whole number of seats.",
            )
        })?;
        Self::new(seats)
    }

    /// Checks a number of seats (a stored value, for instance): 1 to [`Capacity::MAX`].
    pub fn new(seats: i64) -> Result<Self, FieldError> {
        u32::try_from(seats)
            .ok()
            .filter(|s| (1..=Self::MAX).contains(s))
            .map(Capacity)
            .ok_or_else(|| {
                FieldError::new(
                    Self::FIELD,
                    "out_of_range",
                    "Enter between 1 and 1000000 seats.",
                )
            })
    }

    /// The number of seats.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The seats left with `participants` distinct participants (never negative).
    pub fn seats_left(self, participants: u64) -> u64 {
        u64::from(self.0).saturating_sub(participants)
    }

    /// Whether one more distinct participant of kind `seat` fits, with `participants` counted
    /// and `reserved` roster members who have not joined yet (the rule of reserved seats): a
    /// walk-in only while `participants + reserved < capacity`, a roster member (whose seat
    /// was among the reserved ones) while `participants < capacity`.
    pub fn admits(self, participants: u64, reserved: u64, seat: Seat) -> bool {
        let taken = match seat {
            Seat::WalkIn => participants.saturating_add(reserved),
            Seat::RosterMember => participants,
        };
        taken < u64::from(self.0)
    }

    /// The error of a capacity below the current participant count, naming `capacity`.
    pub fn below_participants(participants: u64) -> FieldError {
        FieldError::new(
            Self::FIELD,
            "below_participants",
            format!(
                "The session already has {participants} participants; the capacity cannot be lower."
            ),
        )
    }
}

/// Whose first join asks for a seat, as the capacity rule sees it ([`Capacity::admits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seat {
    /// A roster member of the session: their seat was reserved while they had not joined.
    RosterMember,
    /// Anyone not on the roster (admins included): only the seats nobody holds are theirs.
    WalkIn,
}

impl Seat {
    /// `RosterMember` when `on_roster`, else `WalkIn`.
    pub fn of(on_roster: bool) -> Self {
        if on_roster {
            Seat::RosterMember
        } else {
            Seat::WalkIn
        }
    }
}

impl fmt::Display for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seats_from_one_to_a_million() {
        assert_eq!(Capacity::parse(" 30 ").unwrap().get(), 30);
        assert_eq!(Capacity::parse("1").unwrap().get(), 1);
        assert_eq!(Capacity::parse("1000000").unwrap().seats_left(3), 999_997);
        assert_eq!(Capacity::new(2).unwrap().seats_left(5), 0);
    }

    #[test]
    fn reserved_seats_hold_off_walk_ins_only() {
        let three = Capacity::new(3).unwrap();
        assert!(three.admits(0, 2, Seat::WalkIn));
        assert!(
            !three.admits(1, 2, Seat::WalkIn),
            "two seats held for members"
        );
        assert!(three.admits(1, 2, Seat::RosterMember));
        assert!(three.admits(2, 1, Seat::RosterMember));
        assert!(!three.admits(3, 0, Seat::RosterMember));
        assert!(!three.admits(u64::MAX, u64::MAX, Seat::WalkIn));
        assert_eq!(Seat::of(true), Seat::RosterMember);
        assert_eq!(Seat::of(false), Seat::WalkIn);
        for (text, code) in [
            ("0", "out_of_range"),
            ("-1", "out_of_range"),
            ("1000001", "out_of_range"),
            ("99999999999999", "out_of_range"),
            ("2.5", "invalid_number"),
            ("many", "invalid_number"),
            ("", "required"),
        ] {
            let error = Capacity::parse(text).unwrap_err();
            assert_eq!(
                (error.field.as_str(), error.code),
                ("capacity", code),
                "{text}"
            );
        }
        assert_eq!(Capacity::below_participants(4).field.as_str(), "capacity");
    }
}
