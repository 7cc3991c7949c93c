//! The store's error type. Callers map `Unique` to their own domain errors (a duplicate
//! unique name, a binding already in use) instead of checking before writing.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique index refused the write; the value names the index (see `schema` for names).
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Backend(String),
    /// A stored value did not have the expected shape (a bug or a hand-edited database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The store is shutting down.
    #[error("store closed")]
    Closed,
    /// A unit of work panicked; the transaction was rolled back.
    #[error("internal error in a store transaction: {0}")]
    Panicked(String),
    /// The database cannot take writes right now (its storage is full); nothing was
    /// written, and the same request may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refused this unit of work because a concurrent one touched the same
    /// rows (a deadlock or serialization failure). Nothing was written; the same request
    /// may simply be sent again.
    #[error("conflicting transaction: {0}")]
    Conflict(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(code, _) = &e
            && code.code == rusqlite::ErrorCode::DiskFull
        {
            return StoreError::Unavailable("the database's storage is full".into());
        }
        if let rusqlite::Error::SqliteFailure(code, msg) = &e
            && code.code == rusqlite::ErrorCode::ConstraintViolation
        {
            let msg = msg.clone().unwrap_or_default();
            if msg.starts_with("UNIQUE") {
                return StoreError::Unique(crate::schema::unique_index_for_sqlite_message(&msg));
            }
        }
        StoreError::Backend(e.to_string())
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        use postgres::error::SqlState;
        if let Some(db) = e.as_db_error() {
            // PostgreSQL names the violated index; the schema names them like SQLite's.
            if *db.code() == SqlState::UNIQUE_VIOLATION {
                return StoreError::Unique(db.constraint().unwrap_or(db.message()).to_string());
            }
            // Two units of work collided (a lock cycle, or a conflict under a stricter
            // isolation level): nothing was written, and the caller may try again.
            if *db.code() == SqlState::T_R_DEADLOCK_DETECTED
                || *db.code() == SqlState::T_R_SERIALIZATION_FAILURE
            {
                return StoreError::Conflict(db.message().to_string());
            }
            return StoreError::Backend(format!("{} ({})", db.message(), db.code().code()));
        }
        // The driver keeps the cause (refused, timed out, bad password) as the source.
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !msg.contains(&text) {
                msg = format!("{msg}: {text}");
            }
            source = cause.source();
        }
        StoreError::Backend(msg)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
