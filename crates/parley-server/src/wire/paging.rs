//! Lists: `PageSize`, `Page`, `PageToken` in; `{<key>: [...], meta: {...}}` out, with
//! absolute URLs that keep the list's filters. Tokens name the last (or first) row seen,
//! so pages stay stable while rows are added.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parley_store::{Cursor, PageRequest};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result, codes};
use crate::wire::form::Params;
use crate::wire::origin::Origin;

pub const DEFAULT_PAGE_SIZE: usize = 50;

#[derive(Debug, Clone)]
pub struct PageQuery {
    pub size: usize,
    pub page: u64,
    pub cursor: Cursor,
}

impl PageQuery {
    /// Reads the paging parameters; `max` is the resource's largest page (larger values
    /// are clamped, which keeps clients working where Twilio would refuse).
    pub fn from_params(p: &Params, max: usize) -> Result<PageQuery> {
        let size = match p.text("PageSize") {
            None => DEFAULT_PAGE_SIZE.min(max),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n >= 1 => (n as usize).min(max),
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid value '{v}' for parameter PageSize: expected an integer from 1 to {max}"
                    )));
                }
            },
        };
        let page = match p.text("Page") {
            None => 0,
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                Error::invalid(format!(
                    "Invalid value '{v}' for parameter Page: expected a non-negative integer"
                ))
            })?,
        };
        let cursor = match p.text("PageToken") {
            None => Cursor::Start,
            Some(t) => decode_token(t).ok_or_else(|| {
                Error::api(
                    codes::INVALID_PAGE_TOKEN,
                    format!("Invalid PageToken '{t}'"),
                )
            })?,
        };
        Ok(PageQuery { size, page, cursor })
    }

    pub fn request(&self, descending: bool) -> PageRequest {
        PageRequest {
            size: self.size,
            cursor: self.cursor,
            descending,
        }
    }
}

fn encode_token(c: Cursor) -> String {
    let raw = match c {
        Cursor::Start => "s".to_string(),
        Cursor::After(s) => format!("a{s}"),
        Cursor::Before(s) => format!("b{s}"),
    };
    format!("PT{}", URL_SAFE_NO_PAD.encode(raw))
}

fn decode_token(t: &str) -> Option<Cursor> {
    let raw = URL_SAFE_NO_PAD.decode(t.strip_prefix("PT")?).ok()?;
    let raw = std::str::from_utf8(&raw).ok()?;
    let (kind, n) = raw.split_at(1);
    match kind {
        "s" if n.is_empty() => Some(Cursor::Start),
        "a" => n.parse().ok().map(Cursor::After),
        "b" => n.parse().ok().map(Cursor::Before),
        _ => None,
    }
}

/// One list response being built.
pub struct Listing<'a> {
    pub origin: &'a Origin,
    /// The list's path, e.g. `/v1/Conversations`.
    pub path: String,
    /// The list key (`conversations`, `participants`, ...).
    pub key: &'static str,
    /// Filter parameters to keep in every paging URL, in order.
    pub filters: Vec<(&'static str, String)>,
    pub query: &'a PageQuery,
}

impl Listing<'_> {
    fn page_url(&self, page: u64, token: Option<Cursor>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.filters {
            q.append_pair(k, v);
        }
        q.append_pair("PageSize", &self.query.size.to_string());
        q.append_pair("Page", &page.to_string());
        if let Some(c) = token {
            q.append_pair("PageToken", &encode_token(c));
        }
        self.origin.url(&format!("{}?{}", self.path, q.finish()))
    }

    /// Renders the page. `first_seq`/`last_seq` are the seqs of the first and last items
    /// of this page; `has_next` says whether another page follows.
    pub fn render<'i, T: Serialize>(
        &self,
        items: &'i [T],
        first_seq: Option<i64>,
        last_seq: Option<i64>,
        has_next: bool,
    ) -> ListBody<'i, T> {
        let page = self.query.page;
        let current_token = match self.query.cursor {
            Cursor::Start => None,
            c => Some(c),
        };
        let next = match (has_next, last_seq) {
            (true, Some(s)) => Value::String(self.page_url(page + 1, Some(Cursor::After(s)))),
            _ => Value::Null,
        };
        let previous = match (current_token.is_some(), first_seq) {
            (true, Some(s)) => {
                Value::String(self.page_url(page.saturating_sub(1), Some(Cursor::Before(s))))
            }
            _ => Value::Null,
        };
        let meta = serde_json::json!({
            "page": page,
            "page_size": self.query.size,
            "first_page_url": self.page_url(0, None),
            "previous_page_url": previous,
            "url": self.page_url(page, current_token),
            "next_page_url": next,
            "key": self.key,
        });
        ListBody {
            key: self.key.to_string(),
            items,
            meta,
        }
    }
}

/// A list response, `{<key>: [items], meta: {...}}`, serialised straight from the items
/// (a page of 50 is not copied into a JSON tree first).
pub struct ListBody<'i, T> {
    key: String,
    items: &'i [T],
    meta: Value,
}

impl<T: Serialize> Serialize for ListBody<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry(&self.key, self.items)?;
        map.serialize_entry("meta", &self.meta)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for c in [Cursor::Start, Cursor::After(42), Cursor::Before(7)] {
            assert_eq!(decode_token(&encode_token(c)), Some(c));
        }
        assert_eq!(decode_token("PTnope!"), None);
        assert_eq!(decode_token("garbage"), None);
    }

    #[test]
    fn page_size_is_clamped_and_checked() {
        let q = PageQuery::from_params(&Params::parse(b"PageSize=5000"), 100).unwrap();
        assert_eq!(q.size, 100);
        assert!(PageQuery::from_params(&Params::parse(b"PageSize=-3"), 100).is_err());
        assert_eq!(
            PageQuery::from_params(&Params::default(), 5).unwrap().size,
            5
        );
    }
}
