//! The 2010 API's list envelope (IncomingPhoneNumbers, Accounts, Keys): the items under
//! their key, with `start`/`end` and relative `…_page_uri`s that keep the page size.

use parley_store::{PageOf, Record};
use serde_json::{Value, json};

use crate::wire::PageQuery;

pub fn page<T: Record>(
    base: &str,
    key: &str,
    query: &PageQuery,
    rows: &PageOf<T>,
    view: impl Fn(&T) -> Value,
) -> Value {
    use base64::Engine;
    let start = query.page as usize * query.size;
    let next = match (rows.has_next, rows.items.last()) {
        (true, Some(last)) => {
            let token =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("a{}", last.seq()));
            Value::String(format!(
                "{base}?PageSize={}&Page={}&PageToken=PT{token}",
                query.size,
                query.page + 1
            ))
        }
        _ => Value::Null,
    };
    let mut out = json!({
        "end": (start + rows.items.len()).saturating_sub(1),
        "first_page_uri": format!("{base}?PageSize={}&Page=0", query.size),
        "next_page_uri": next,
        "page": query.page,
        "page_size": query.size,
        "previous_page_uri": null,
        "start": start,
        "uri": format!("{base}?PageSize={}&Page={}", query.size, query.page),
    });
    out[key] = Value::Array(rows.items.iter().map(view).collect());
    out
}
