//! A thin, backend-neutral layer over SQL: parameters, rows and the column trait that the
//! record macro uses. Statements are written once in portable SQL with `?N` placeholders.

use crate::error::{Result, StoreError};

/// One bound parameter. Nulls are typed so that PostgreSQL can infer the column type.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Int(i64),
    Text(&'a str),
    NullInt,
    NullText,
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Param::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::NullInt | Param::NullText => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}
impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Int(v as i64)
    }
}
impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}
impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}
impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Param::NullText, Param::Text)
    }
}
impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Param::NullText, Param::Text)
    }
}
impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Param::NullInt, Param::Int)
    }
}

/// A result row of either backend.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
}

impl Row<'_> {
    pub fn get<T: Col>(&self, idx: usize) -> Result<T> {
        T::get(self, idx)
    }
}

/// A Rust type that maps to one column.
pub trait Col: Sized {
    fn get(row: &Row<'_>, idx: usize) -> Result<Self>;
    fn param(&self) -> Param<'_>;
}

fn corrupt(idx: usize, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {idx}: {e}"))
}

impl Col for i64 {
    fn get(row: &Row<'_>, idx: usize) -> Result<Self> {
        match row {
            Row::Sqlite(r) => r.get(idx).map_err(|e| corrupt(idx, e)),
        }
    }
    fn param(&self) -> Param<'_> {
        Param::Int(*self)
    }
}
impl Col for Option<i64> {
    fn get(row: &Row<'_>, idx: usize) -> Result<Self> {
        match row {
            Row::Sqlite(r) => r.get(idx).map_err(|e| corrupt(idx, e)),
        }
    }
    fn param(&self) -> Param<'_> {
        (*self).into()
    }
}
impl Col for bool {
    fn get(row: &Row<'_>, idx: usize) -> Result<Self> {
        Ok(i64::get(row, idx)? != 0)
    }
    fn param(&self) -> Param<'_> {
        Param::Int(*self as i64)
    }
}
impl Col for String {
    fn get(row: &Row<'_>, idx: usize) -> Result<Self> {
        match row {
            Row::Sqlite(r) => r.get(idx).map_err(|e| corrupt(idx, e)),
        }
    }
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl Col for Option<String> {
    fn get(row: &Row<'_>, idx: usize) -> Result<Self> {
        match row {
            Row::Sqlite(r) => r.get(idx).map_err(|e| corrupt(idx, e)),
        }
    }
    fn param(&self) -> Param<'_> {
        self.into()
    }
}
