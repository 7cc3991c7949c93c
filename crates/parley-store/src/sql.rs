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

/// PostgreSQL is strict about types: a parameter is bound as the type the server inferred
/// for its placeholder. Integers go to any integer column (checked), booleans and text;
/// text goes to the text types only. A null fits any type.
impl postgres::types::ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use postgres::types::{IsNull, ToSql, Type};
        match self {
            Param::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ if <&str as ToSql>::accepts(ty) => i.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("cannot bind an integer to a parameter of type {ty}").into()),
            },
            Param::Text(s) if <&str as ToSql>::accepts(ty) => s.to_sql(ty, out),
            Param::Text(_) => Err(format!("cannot bind text to a parameter of type {ty}").into()),
            Param::NullInt | Param::NullText => Ok(IsNull::Yes),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
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
    Pg(&'a postgres::Row),
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

/// An integer column of a PostgreSQL row. Every integer column of the schema is BIGINT, but
/// an expression (`COUNT(*)`, a literal, a comparison) may come back narrower or boolean.
fn pg_int(r: &postgres::Row, idx: usize) -> Result<Option<i64>> {
    use postgres::types::Type;
    let ty = r
        .columns()
        .get(idx)
        .ok_or_else(|| corrupt(idx, "no such column"))?
        .type_()
        .clone();
    let v = match ty {
        Type::INT8 => r.try_get::<_, Option<i64>>(idx),
        Type::INT4 => r.try_get::<_, Option<i32>>(idx).map(|v| v.map(i64::from)),
        Type::INT2 => r.try_get::<_, Option<i16>>(idx).map(|v| v.map(i64::from)),
        Type::BOOL => r.try_get::<_, Option<bool>>(idx).map(|v| v.map(i64::from)),
        other => return Err(corrupt(idx, format!("expected an integer, found {other}"))),
    };
    v.map_err(|e| corrupt(idx, e))
}

impl Col for i64 {
    fn get(row: &Row<'_>, idx: usize) -> Result<Self> {
        match row {
            Row::Sqlite(r) => r.get(idx).map_err(|e| corrupt(idx, e)),
            Row::Pg(r) => pg_int(r, idx)?.ok_or_else(|| corrupt(idx, "unexpected null")),
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
            Row::Pg(r) => pg_int(r, idx),
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
            Row::Pg(r) => r.try_get(idx).map_err(|e| corrupt(idx, e)),
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
            Row::Pg(r) => r.try_get(idx).map_err(|e| corrupt(idx, e)),
        }
    }
    fn param(&self) -> Param<'_> {
        self.into()
    }
}
