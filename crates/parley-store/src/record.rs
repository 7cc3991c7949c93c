//! Records: one Rust struct per table row, declared with `record!`, which generates the
//! column list, the row mapping and the generic insert/update/select statements. Business
//! rules live in the server; this crate only moves rows in and out.

use crate::error::Result;
use crate::sql::{Param, Row};

/// The SQL statements generated once per record type.
pub struct Statements {
    pub columns: String,
    pub select: String,
    pub insert: String,
    /// The insert without RETURNING: SQLite's RETURNING goes through an ephemeral table;
    /// the rowid (`seq`) is read with last_insert_rowid instead.
    pub insert_plain: String,
    /// The insert, skipping a row that a unique index refuses (PostgreSQL: a failed
    /// statement would abort the whole transaction, so the refusal is found without one).
    pub insert_or_nothing: String,
    pub update: String,
    pub get: String,
    /// The get, locking the row until the transaction ends (PostgreSQL).
    pub get_for_update: String,
    /// Locks the row without reading it (PostgreSQL).
    pub lock: String,
    pub delete: String,
    table: String,
    key: String,
    fields: Vec<String>,
    /// `UPDATE … SET` of only some columns, by the bit set of their positions in `FIELDS`:
    /// built on first use, a handful per table in practice.
    partial_updates: std::sync::Mutex<std::collections::HashMap<u64, std::sync::Arc<str>>>,
}

impl Statements {
    pub fn build(table: &str, key: &str, fields: &[&str]) -> Statements {
        let columns = std::iter::once("seq")
            .chain(fields.iter().copied())
            .collect::<Vec<_>>()
            .join(", ");
        let placeholders = (1..=fields.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let assignments = assignments(fields);
        let key_pos = fields.iter().position(|f| *f == key).map_or(0, |p| p + 1);
        let fields_list = fields.join(", ");
        Statements {
            select: format!("SELECT {columns} FROM {table}"),
            insert: format!(
                "INSERT INTO {table} ({fields_list}) VALUES ({placeholders}) RETURNING seq"
            ),
            insert_plain: format!("INSERT INTO {table} ({fields_list}) VALUES ({placeholders})"),
            insert_or_nothing: format!(
                "INSERT INTO {table} ({fields_list}) VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING seq"
            ),
            update: format!("UPDATE {table} SET {assignments} WHERE {key} = ?{key_pos}"),
            get: format!("SELECT {columns} FROM {table} WHERE {key} = ?1"),
            get_for_update: format!("SELECT {columns} FROM {table} WHERE {key} = ?1 FOR UPDATE"),
            lock: format!("SELECT seq FROM {table} WHERE {key} = ?1 FOR UPDATE"),
            delete: format!("DELETE FROM {table} WHERE {key} = ?1"),
            columns,
            table: table.to_string(),
            key: key.to_string(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            partial_updates: Default::default(),
        }
    }

    /// The UPDATE that sets only the fields in `changed` (bit `i` is `FIELDS[i]`); the key
    /// is the last parameter.
    pub fn update_of(&self, changed: u64) -> std::sync::Arc<str> {
        let mut cache = self
            .partial_updates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(changed)
            .or_insert_with(|| {
                let set: Vec<&str> = self
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| changed & (1u64 << i) != 0)
                    .map(|(_, f)| f.as_str())
                    .collect();
                format!(
                    "UPDATE {} SET {} WHERE {} = ?{}",
                    self.table,
                    assignments(&set),
                    self.key,
                    set.len() + 1
                )
                .into()
            })
            .clone()
    }
}

/// `a = ?1, b = ?2, …` for the columns in order.
fn assignments<S: AsRef<str>>(columns: &[S]) -> String {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ?{}", c.as_ref(), i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

pub trait Record: Sized + Send + Sync + Clone + 'static {
    const TABLE: &'static str;
    /// The column that identifies a row (usually `sid`).
    const KEY: &'static str;
    const FIELDS: &'static [&'static str];
    fn from_row(row: &Row<'_>) -> Result<Self>;
    /// Parameters in `FIELDS` order.
    fn params(&self) -> Vec<Param<'_>>;
    fn key(&self) -> &str;
    fn seq(&self) -> i64;
    /// The fields (bit `i` for `FIELDS[i]`) whose value differs from `before`.
    fn changed_fields(&self, before: &Self) -> u64;
    fn statements() -> &'static Statements;
    /// Whether a record operation on one row forgets only the memos keyed by that row's key
    /// or group (`memo_group`), instead of every memo of the table (see `crate::memo`).
    /// Declared with `memo by row` in `record!`.
    const MEMO_BY_ROW: bool = false;
    /// The value of the column that groups this table's rows for the memo (a participant's
    /// conversation): memos of a table remembered by row are keyed by a row's key or by
    /// this. It never changes in an update (`Tx::update_changed` forgets the table if it
    /// does). Declared with `memo by row and COLUMN` in `record!`.
    fn memo_group(&self) -> Option<&str> {
        None
    }
}

/// Declares a record. The first column of every table is `seq`, an increasing integer used
/// for stable paging; it is assigned by the database and skipped on insert.
///
/// `key COLUMN, memo by row [and GROUP]` declares a table remembered by row (see
/// `Record::MEMO_BY_ROW` and `crate::memo`).
#[macro_export]
macro_rules! record {
    (@by row) => {
        true
    };
    (
        $(#[$m:meta])*
        pub struct $name:ident in $table:literal key $key:ident
            $(, memo by $row:ident $(and $group:ident)?)? {
            $( $(#[$fm:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            /// Insertion order; 0 until inserted.
            pub seq: i64,
            $( $(#[$fm])* pub $field: $ty ),*
        }

        impl $crate::record::Record for $name {
            const TABLE: &'static str = $table;
            const KEY: &'static str = stringify!($key);
            const FIELDS: &'static [&'static str] = &[ $( stringify!($field) ),* ];

            #[allow(unused_assignments)]
            fn from_row(row: &$crate::sql::Row<'_>) -> $crate::Result<Self> {
                let mut idx = 0usize;
                let seq = <i64 as $crate::sql::Col>::get(row, idx)?;
                $(
                    idx += 1;
                    let $field = <$ty as $crate::sql::Col>::get(row, idx)?;
                )*
                Ok(Self { seq, $( $field ),* })
            }

            fn params(&self) -> Vec<$crate::sql::Param<'_>> {
                vec![ $( $crate::sql::Col::param(&self.$field) ),* ]
            }

            fn key(&self) -> &str {
                &self.$key
            }

            fn seq(&self) -> i64 {
                self.seq
            }

            #[allow(unused_assignments)]
            fn changed_fields(&self, before: &Self) -> u64 {
                const _: () = assert!(
                    <$name as $crate::record::Record>::FIELDS.len() <= 64,
                    "changed_fields keeps one bit per field"
                );
                let mut changed = 0u64;
                let mut bit = 1u64;
                $(
                    if self.$field != before.$field {
                        changed |= bit;
                    }
                    bit <<= 1;
                )*
                changed
            }

            const MEMO_BY_ROW: bool = false $( || $crate::record!(@by $row) )?;

            #[allow(unreachable_code)]
            fn memo_group(&self) -> Option<&str> {
                $( let _ = stringify!($row); $( return Some(self.$group.as_str()); )? )?
                None
            }

            fn statements() -> &'static $crate::record::Statements {
                static CELL: std::sync::OnceLock<$crate::record::Statements> = std::sync::OnceLock::new();
                CELL.get_or_init(|| {
                    $crate::record::Statements::build(
                        <Self as $crate::record::Record>::TABLE,
                        <Self as $crate::record::Record>::KEY,
                        <Self as $crate::record::Record>::FIELDS,
                    )
                })
            }
        }
    };
}
