//! Helpers shared by list endpoints: owned SQL arguments (a read runs on another thread),
//! and turning a page of records into Twilio's list envelope.

use axum::response::Response;
use parley_store::{PageOf, Param, Record};

use crate::wire::{Listing, json};

/// An owned SQL argument, for filters built before the read runs.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
}

pub fn params(args: &[Arg]) -> Vec<Param<'_>> {
    args.iter()
        .map(|a| match a {
            Arg::Int(i) => Param::Int(*i),
            Arg::Text(s) => Param::Text(s),
        })
        .collect()
}

/// Builds an SQL filter incrementally, numbering placeholders as it goes.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl Filter {
    pub fn new(clause: &str, args: Vec<Arg>) -> Filter {
        Filter {
            sql: clause.to_string(),
            args,
        }
    }

    /// Adds `column op ?` with one argument.
    pub fn and(&mut self, column: &str, op: &str, arg: Arg) -> &mut Self {
        self.args.push(arg);
        let n = self.args.len();
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(&format!("{column} {op} ?{n}"));
        self
    }
}

/// Renders a page; `view` turns each record into its JSON.
pub fn render<'p, T: Record, V: serde::Serialize>(
    listing: &Listing<'_>,
    page: &'p PageOf<T>,
    view: impl Fn(&'p T) -> V,
) -> Response {
    let items: Vec<V> = page.items.iter().map(view).collect();
    let first = page.items.first().map(Record::seq);
    let last = page.items.last().map(Record::seq);
    json::ok(&listing.render(&items, first, last, page.has_next))
}
