//! Parley's store: one interface (`Store`, `Tx`) over SQLite (embedded, the default) and
//! PostgreSQL (several nodes sharing one database; see `postgres`). Units of work are closures that run
//! inside one transaction; the SQL is portable and lives here, the business rules live in
//! the server.

pub mod error;
pub mod jobs;
pub mod listen;
mod memo;
mod migrate;
#[macro_use]
pub mod record;
mod dialect;
pub mod postgres;
pub mod records;
pub mod schema;
pub mod sql;
pub mod sqlite;
pub mod testing;
pub mod tx;

use std::path::PathBuf;
use std::sync::Arc;

pub use error::{Result, StoreError};
pub use jobs::NewJob;
pub use listen::{Listener, Notification};
pub use postgres::PgUrl;
pub use record::Record;
pub use records::*;
pub use sql::Param;
pub use sqlite::Durability;
pub use tx::{Cursor, PageOf, PageRequest, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

enum Backend {
    Sqlite(sqlite::SqliteBackend),
    Postgres(postgres::PgBackend),
}

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
}

/// Where the data lives, parsed from `--db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Postgres(PgUrl),
}

impl DbUrl {
    pub fn parse(url: &str) -> std::result::Result<DbUrl, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://parley.db".into());
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return PgUrl::parse(url).map(DbUrl::Postgres);
        }
        if url.contains("://") {
            return Err(format!(
                "unsupported database URL '{url}': use sqlite://PATH or postgres://…"
            ));
        }
        Ok(DbUrl::Sqlite(PathBuf::from(url)))
    }
}

impl Store {
    pub fn open(url: &DbUrl, durability: Durability) -> Result<Store> {
        let backend = match url {
            DbUrl::Sqlite(path) => Backend::Sqlite(sqlite::SqliteBackend::open(path, durability)?),
            // PostgreSQL's own settings (synchronous_commit) decide durability there.
            DbUrl::Postgres(url) => Backend::Postgres(postgres::PgBackend::open(url)?),
        };
        Ok(Store {
            backend: Arc::new(backend),
        })
    }

    pub fn kind(&self) -> BackendKind {
        match &*self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Whether other nodes may share this database (and so need to hear, through
    /// `Tx::notify`, about work and events of this one).
    pub fn is_shared(&self) -> bool {
        self.kind() == BackendKind::Postgres
    }

    /// Notifications sent with `Tx::notify` on `channels`, by any node including this one.
    /// SQLite has one process: the listener never yields.
    pub fn listen(&self, channels: &[&str]) -> Listener {
        match &*self.backend {
            Backend::Sqlite(_) => Listener::never(),
            Backend::Postgres(b) => b.listen(channels),
        }
    }

    /// Runs `f` as one unit of work in a write transaction. The result is returned only
    /// after the transaction is durable; an `Err` from `f` rolls back everything `f` did.
    ///
    /// `f` is `Fn`, not `FnOnce`: the SQLite writer may run it a second time, in a new
    /// transaction, when another unit of its batch fails after writing (see
    /// `sqlite::batch::apply_batch`). So `f` must not change what it captured, and whatever it
    /// does outside the database must wait for the commit (`Tx::on_commit`).
    pub async fn write<T, E>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &*self.backend {
            Backend::Sqlite(b) => b.write(f).await,
            Backend::Postgres(b) => b.write(f).await,
        }
    }

    /// Runs `f` in a read-only snapshot.
    pub async fn read<T, E>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &*self.backend {
            Backend::Sqlite(b) => b.read(f),
            Backend::Postgres(b) => b.read(f).await,
        }
    }
}
