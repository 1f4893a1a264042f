//! The real Oracle side of the database boundary.
