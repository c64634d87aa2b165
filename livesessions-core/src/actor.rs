//! Who is calling: the [`Actor`] that authentication produces.

use crate::ids::UserId;

/// A signed-in caller, as the host application's authentication established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user (the token's subject).
    pub user_id: UserId,
    /// Display name, if the token carries one.
    pub name: Option<String>,
    /// Email, if the token carries one.
    pub email: Option<String>,
    /// Whether the caller may manage sessions and see reports.
    pub admin: bool,
}

impl Actor {
    /// A signed-in user without admin rights.
    pub fn user(user_id: UserId) -> Self {
        Actor {
            user_id,
            name: None,
            email: None,
            admin: false,
        }
    }

    /// A signed-in admin.
    pub fn admin(user_id: UserId) -> Self {
        Actor {
            admin: true,
            ..Actor::user(user_id)
        }
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the email.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
}
