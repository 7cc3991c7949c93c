//! Form bodies as the server decodes them: bytes → `Params::parse` → every accessor, for the
//! names in the body and the names the handlers read, then every typed input parser that
//! reads a form. A user's mistake must come back as a 4xx error, never a panic or a 5xx.

#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_server::domain::address_configs::AddressConfigInput;
use parley_server::domain::conversations::ConversationInput;
use parley_server::domain::duration;
use parley_server::domain::messages::MessageInput;
use parley_server::domain::participants::ParticipantInput;
use parley_server::domain::webhooks::WebhookInput;
use parley_server::error::Error;
use parley_server::wire::Params;
use parley_server::wire::dates;

/// Parameter names the typed parsers read; the accessors are tried on these too, so a body
/// that does not name them still exercises the "absent" paths.
const KNOWN: &[&str] = &[
    "FriendlyName",
    "UniqueName",
    "Attributes",
    "MessagingServiceSid",
    "State",
    "Timers.Inactive",
    "Timers.Closed",
    "DateCreated",
    "DateUpdated",
    "Bindings.Email.Address",
    "Identity",
    "MessagingBinding.Address",
    "MessagingBinding.ProxyAddress",
    "RoleSid",
    "LastReadMessageIndex",
    "Author",
    "Body",
    "MediaSid",
    "ContentSid",
    "ContentVariables",
    "Target",
    "Configuration.Url",
    "Configuration.Method",
    "Configuration.Filters",
    "Configuration.Triggers",
    "Configuration.FlowSid",
    "Configuration.ReplayAfter",
    "Type",
    "Address",
    "AutoCreation.Enabled",
    "AutoCreation.Type",
    "AutoCreation.WebhookFilters",
    "AutoCreation.StudioRetryCount",
];

fn user_error(e: Error) {
    let status = e.status();
    assert!(
        status.is_client_error(),
        "a form mistake answered {status} (code {}): {e:?}",
        e.code()
    );
}

fn accessors(p: &Params, name: &str) {
    let first = p.str(name);
    let all = p.all(name);
    assert_eq!(first, all.first().copied());
    assert_eq!(p.has(name), first.is_some());
    assert_eq!(p.text(name), first.filter(|v| !v.is_empty()));
    assert_eq!(p.owned(name).as_deref(), first);
    if let Err(e) = p.required(name) {
        user_error(e);
    }
    if let Err(e) = p.bool(name) {
        user_error(e);
    }
    if let Err(e) = p.int(name) {
        user_error(e);
    }
    match p.json_text(name) {
        Ok(Some(text)) => assert_eq!(Some(text.as_str()), first),
        Ok(None) => assert!(first.is_none()),
        Err(e) => user_error(e),
    }
    if let Err(e) = p.date(name) {
        user_error(e);
    }
    match p.one_of(name, &["active", "inactive", "closed"]) {
        Ok(Some(v)) => assert!(first.is_some_and(|f| f.eq_ignore_ascii_case(v))),
        Ok(None) => assert!(first.is_none()),
        Err(e) => user_error(e),
    }
}

fn check<T>(result: Result<T, Error>) {
    if let Err(e) = result {
        user_error(e);
    }
}

fuzz_target!(|data: &[u8]| {
    let p = Params::parse(data);
    // Bounded: a body of many tiny pairs would otherwise cost pairs² lookups per input.
    for (name, value) in p.pairs().iter().take(64) {
        accessors(&p, name);
        let _ = dates::parse(value);
        let _ = duration::parse_ms(value);
    }
    for name in KNOWN {
        accessors(&p, name);
    }
    check(ConversationInput::parse(&p));
    check(ParticipantInput::parse(&p));
    for creating in [true, false] {
        check(MessageInput::parse(&p, creating));
        check(WebhookInput::parse(&p, creating));
        check(AddressConfigInput::parse(&p, creating));
    }
});
