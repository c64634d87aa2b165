//! livesessions facade
