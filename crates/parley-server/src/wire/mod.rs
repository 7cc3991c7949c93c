//! Twilio's wire conventions, in one place: form bodies with dotted and repeated keys,
//! Basic auth, paging with `meta`, absolute URLs on the request's own origin, dates, and
//! JSON responses. Handlers see typed values only.

pub mod auth;
pub mod dates;
pub mod form;
pub mod json;
pub mod origin;
pub mod paging;
pub mod v2010;

pub use auth::Account;
pub use form::{Form, Params, Query, WebhookEnabled};
pub use origin::Origin;
pub use paging::{Listing, PageQuery};
