use serde_json::{Value, json};

use super::*;

fn settings() -> RenderSettings {
    RenderSettings {
        // 2024-01-01T00:00:00Z
        now_ms: 1_704_067_200_000,
        offset_minutes: 0,
        max_output_bytes: 16384,
        max_loop_iterations: 15,
    }
}

fn ctx() -> Value {
    json!({
        "flow": {"flow_sid": "FW1", "data": {"name": "Zeke", "n": 3}, "variables": {"count": "2"}},
        "contact": {"channel": {"address": "+15558675310"}},
        "trigger": {"message": {"Body": "Hi"}},
        "widgets": {"http_1": {"parsed": {"items": [1, 2, 3], "obj": {"a": [1, {"b": true}]}}}}
    })
}

fn render_with(text: &str, s: &RenderSettings) -> Result<String, RenderError> {
    Template::parse(text)
        .map_err(RenderError)?
        .render(&ctx(), s)
}

fn render(text: &str) -> Result<String, RenderError> {
    render_with(text, &settings())
}

#[test]
fn reads_the_namespaces() {
    assert_eq!(
        render("{{flow.data.name}} {{contact.channel.address}} {{trigger.message.Body}}").unwrap(),
        "Zeke +15558675310 Hi"
    );
    assert_eq!(render("{{widgets.http_1.parsed.items[1]}}").unwrap(), "2");
    assert_eq!(render("{{widgets.http_1.parsed.items.size}}").unwrap(), "3");
}

#[test]
fn undefined_is_empty_never_an_error() {
    assert_eq!(render("[{{flow.data.missing}}]").unwrap(), "[]");
    assert_eq!(render("[{{nothing.at.all}}]").unwrap(), "[]");
    assert_eq!(render("[{{flow.data.name.deeper}}]").unwrap(), "[]");
    assert_eq!(
        render("{% if flow.variables.nope %}y{% else %}n{% endif %}").unwrap(),
        "n"
    );
    assert_eq!(
        render("{% for i in widgets.http_1.parsed.items %}[{{i.missing}}]{% endfor %}").unwrap(),
        "[][][]"
    );
    // Filters on a missing value render empty too, as in Studio.
    assert_eq!(render("[{{flow.data.missing | join: ','}}]").unwrap(), "[]");
    assert_eq!(
        render("[{{flow.data.missing | first | upcase}}]").unwrap(),
        "[]"
    );
    assert_eq!(
        render("[{{flow.data.missing | default: 'x'}}]").unwrap(),
        "[x]"
    );
}

#[test]
fn math_on_missing_or_string_values() {
    assert_eq!(render("{{flow.variables.count | plus: 1}}").unwrap(), "3");
    assert_eq!(render("{{flow.variables.none | plus: 1}}").unwrap(), "1");
    assert_eq!(render("{{flow.data.n | times: 2}}").unwrap(), "6");
}

#[test]
fn to_json_serialises_any_value() {
    assert_eq!(
        render("{{widgets.http_1.parsed.obj | to_json}}").unwrap(),
        r#"{"a":[1,{"b":true}]}"#
    );
    assert_eq!(render("{{flow.data.name | to_json}}").unwrap(), r#""Zeke""#);
    assert_eq!(render("{{flow.data.missing | to_json}}").unwrap(), "null");
}

#[test]
fn date_now_uses_the_injected_clock_and_zone() {
    assert_eq!(
        render("{{ 'now' | date: '%Y-%m-%d %H:%M' }}").unwrap(),
        "2024-01-01 00:00"
    );
    let pacific = RenderSettings {
        offset_minutes: -480,
        ..settings()
    };
    assert_eq!(
        render_with("{{ 'now' | date: '%Y-%m-%d %H:%M %z' }}", &pacific).unwrap(),
        "2023-12-31 16:00 -0800"
    );
    assert_eq!(
        render("{{ '2024-03-05T10:20:30Z' | date: '%d/%m %H' }}").unwrap(),
        "05/03 10"
    );
    assert_eq!(render("{{ 0 | date: '%Y' }}").unwrap(), "1970");
}

#[test]
fn loops_are_capped() {
    assert_eq!(
        render("{% for i in (1..15) %}.{% endfor %}").unwrap().len(),
        15
    );
    let err = render("{% for i in (1..16) %}.{% endfor %}").unwrap_err();
    assert!(err.0.contains("limit of 15"), "{err}");
    // A huge range is refused before anything is allocated.
    assert!(render("{% for i in (1..1000000000) %}.{% endfor %}").is_err());
    assert_eq!(
        render("{% for i in (1..1000000000) limit: 3 %}{{i}}{% endfor %}").unwrap(),
        "123"
    );
    assert_eq!(
        render("{% for i in widgets.http_1.parsed.items reversed %}{{i}}{% endfor %}").unwrap(),
        "321"
    );
    assert_eq!(
        render("{% for i in flow.data.none %}x{% else %}empty{% endfor %}").unwrap(),
        "empty"
    );
    assert_eq!(
        render("{% for i in (1..5) %}{% if i == 3 %}{% break %}{% endif %}{{forloop.index}}{% endfor %}")
            .unwrap(),
        "12"
    );
}

#[test]
fn nested_loops_share_one_budget() {
    let t = "{% for a in (1..15) %}{% for b in (1..15) %}{% for c in (1..15) %}{% endfor %}{% endfor %}{% endfor %}";
    let err = render(t).unwrap_err();
    assert!(err.0.contains("nested for loops"), "{err}");
}

#[test]
fn output_and_variables_are_capped() {
    let small = RenderSettings {
        max_output_bytes: 10,
        ..settings()
    };
    assert!(render_with("0123456789", &small).is_ok());
    let err = render_with("0123456789A", &small).unwrap_err();
    assert!(err.0.contains("10 bytes"), "{err}");
    let doubling = "{% assign s = 'xxxxxxxxxxxxxxxx' %}{% for i in (1..15) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}";
    let err = render(doubling).unwrap_err();
    assert!(err.0.contains("variable"), "{err}");
}

#[test]
fn assign_capture_and_counters_work() {
    assert_eq!(
        render(
            "{% assign x = flow.data.name | upcase %}{% capture y %}<{{x}}>{% endcapture %}{{y}}"
        )
        .unwrap(),
        "<ZEKE>"
    );
    assert_eq!(render("{% increment c %}{% increment c %}").unwrap(), "01");
}

#[test]
fn unknown_filters_and_bad_syntax_fail_to_parse() {
    assert!(Template::parse("{{ x | no_such_filter }}").is_err());
    assert!(Template::parse("{% if %}").is_err());
    assert!(Template::parse("{% include 'x' %}").is_err());
}

#[test]
fn hostile_templates_fail_without_panicking() {
    for t in [
        "{{ 9223372036854775807 | plus: 1 }}",
        "{{ -9223372036854775807 | minus: 10 }}",
        "{{ 9223372036854775807 | times: 2 }}",
        "{{ 5 | divided_by: 0 }}",
        "{{ 5 | modulo: 0 }}",
        "{{ 'abc' | slice: 1, 9223372036854775807 }}",
        "{{ 'abc' | truncate: 1 }}",
        "{{ 'a b c' | truncatewords: -1 }}",
        "{% for i in (-9223372036854775807..9223372036854775807) %}{% endfor %}",
        "{{ widgets.http_1.parsed.items[-9223372036854775807] }}",
    ] {
        // Ok or Err, but no panic escapes.
        let _ = render(t);
    }
}

#[test]
fn integer_math_past_i64_goes_on_in_floating_point() {
    // Found by the liquid_render fuzz target: `MIN | divided_by: -1` panicked in every build,
    // and plus/minus/times/abs/modulo panicked (or wrapped) at the edges of i64.
    for (template, expected) in [
        ("{{ 9223372036854775807 | plus: 1 }}", "9223372036854776000"),
        (
            "{{ -9223372036854775807 | minus: 10 }}",
            "-9223372036854776000",
        ),
        (
            "{{ 9223372036854775807 | times: 2 }}",
            "18446744073709552000",
        ),
        (
            "{{ -9223372036854775808 | divided_by: -1 }}",
            "9223372036854776000",
        ),
        ("{{ -9223372036854775808 | modulo: -1 }}", "0"),
        ("{{ -9223372036854775808 | abs }}", "9223372036854776000"),
        (
            "{{ '9223372036854775807' | plus: '1' }}",
            "9223372036854776000",
        ),
        (
            "{{ 7 | plus: 1 }} {{ 7 | divided_by: 2 }} {{ -7 | abs }}",
            "8 3 7",
        ),
    ] {
        assert_eq!(render(template).as_deref(), Ok(expected), "{template}");
    }
    assert!(render("{{ 5 | divided_by: 0 }}").is_err());
}

#[test]
fn trigger_message_reads_the_conversation_payload() {
    let ctx = json!({
        "trigger": {"conversation": {"ConversationSid": "CH1", "ChatServiceSid": "IS1", "Author": "+1555", "Body": "hi", "ChannelSid": "CH1x"}},
        "flow": {}, "widgets": {}, "contact": {}
    });
    let r = |t: &str| {
        Template::parse(t)
            .unwrap()
            .render(&ctx, &settings())
            .unwrap()
    };
    assert_eq!(
        r("{{trigger.message.InstanceSid}}"),
        "IS1",
        "legacy name mapped"
    );
    assert_eq!(r("{{trigger.message.From}}"), "+1555");
    assert_eq!(
        r("{{trigger.message.ChannelSid}}"),
        "CH1x",
        "a key the payload has wins"
    );
    assert_eq!(r("{{trigger.message.Body}}"), "hi");
    assert_eq!(r("{{trigger.message.Missing}}"), "");
    // A real `trigger.message` (an SMS trigger) is read as it is.
    let sms = json!({"trigger": {"message": {"From": "+1999"}}, "flow": {}, "widgets": {}, "contact": {}});
    assert_eq!(
        Template::parse("{{trigger.message.From}}")
            .unwrap()
            .render(&sms, &settings())
            .unwrap(),
        "+1999"
    );
}

#[test]
fn integer_literals_past_i64_are_parse_errors() {
    // Found by the liquid_render fuzz target: liquid-core's parser panicked on these.
    for template in [
        // The fuzzer's input, as it found it.
        "{{ 'abc' | slice: -9223372036857475808, 9223372036854775807 }}{{ 'abc' | tru act:ne-5 }}{{ 'a b c' | truncatewords: -1 }}",
        "{{ 99999999999999999999 }}",
        "{% assign x = 18446744073709551616 %}",
        "{% for i in (1..99999999999999999999) %}{% endfor %}",
        "{{-9223372036854775808}}",
    ] {
        let err = Template::parse(template).err();
        assert!(
            err.as_deref().is_some_and(|e| e.contains("too large")),
            "{template}: {err:?}"
        );
    }
    assert_eq!(
        render("{{ -9223372036854775808 | minus: 0 }}").unwrap(),
        "-9223372036854775808"
    );
}

#[test]
fn filters_cannot_build_unbounded_values() {
    // Found by the liquid_render fuzz target as an out-of-memory abort: each `replace` puts
    // a 16 KB string in place of every one of 16 K characters.
    let doubled =
        "{% assign a = 'x' %}{% for i in (1..14) %}{% assign a = a | append: a %}{% endfor %}";
    let err = render(&format!(
        "{doubled}{{{{ a | replace: 'x', a | replace: 'x', a | size }}}}"
    ))
    .unwrap_err();
    assert!(err.0.contains("filters build more than"), "{err}");
    let err = render(&format!(
        "{doubled}{{{{ a | split: '' | join: a | size }}}}"
    ))
    .unwrap_err();
    assert!(err.0.contains("filters build more than"), "{err}");
    // A long chain of small steps is stopped by the same budget.
    let chain = "| append: a ".repeat(200);
    let err = render(&format!("{doubled}{{{{ a {chain}| size }}}}")).unwrap_err();
    assert!(err.0.contains("filters build more than"), "{err}");
    // What real templates do stays well inside it.
    assert_eq!(
        render(&format!("{doubled}{{{{ a | replace: 'x', 'yy' | size }}}}")).unwrap(),
        "32768"
    );
    assert_eq!(
        render("{{ 'a,b' | split: ',' | join: '-' }}").unwrap(),
        "a-b"
    );
}

#[test]
fn comments_are_skipped_and_unclosed_ones_are_errors() {
    // Found by the liquid_render fuzz target: liquid-lib's comment block panicked when a tag
    // inside an unclosed comment was an unclosed block.
    for template in [
        "{% raw %}{{ n| sort_natural{% endraw %}{% comment %}{{ nope }}{% endcomment rtact.channel.%}{% unless false %}u{% e\u{fffd}dunless %}",
        "{% comment %}{% unless x %}",
        "{% comment %}{% raw %}",
        "{% comment %}",
    ] {
        assert!(Template::parse(template).is_err(), "{template}");
    }
    assert_eq!(
        render("a{% comment %}{{ x }}{% if %}{% comment %}{% endcomment %}b{% endcomment %}c")
            .unwrap(),
        "ac"
    );
}

#[test]
fn date_formats_cannot_panic_or_pad_without_end() {
    // Found by the liquid_render fuzz target: liquid's strftime sliced `%` + a multi-byte
    // character in the middle of the character.
    assert_eq!(
        render("m{{ 0 | date: '%\u{fffd}\u{fffd}Y' }}").unwrap(),
        "m%\u{fffd}\u{fffd}Y"
    );
    assert_eq!(render("{{ 0 | date: '%-é%Y' }}").unwrap(), "%-é1970");
    let err = render("{{ 0 | date: '%99999999999Y' }}").unwrap_err();
    assert!(err.0.contains("padding width"), "{err}");
    assert_eq!(render("{{ 0 | date: '%6Y' }}").unwrap(), "001970");
}

#[test]
fn invalid_markup_after_non_ascii_text_is_a_parse_error() {
    // Found by the liquid_render fuzz target: when a line holds multi-byte characters before
    // invalid markup, liquid-core rebuilds the line for its error message with a column in
    // characters used as a byte index, the rebuilt text parses, and it panics instead of
    // failing ("`LiquidParser::parse` should fail in InvalidLiquidTokens").
    let fuzzed = "{{ flow.variables.date | date: '%Y %-d %:z\u{FFFD}\u{FFFD}\u{FFFD}ere: %s where: %s %%' }}{{ \u{FFFD}now' | date:'%\u{FFFD}\u{FFFD}| size: \u{FFFD}\u{FFFD}Y' }}| truncatewY' }}%%' }}{{ 'now' | date: '%c' }}";
    for template in [fuzzed, "ééé {{ x | | }}", "🤖 {% if %} é {{ ' }}"] {
        let err = Template::parse(template).err();
        assert!(err.is_some(), "{template}: parsed");
    }
    // Non-ASCII text around valid markup still parses and renders as written.
    assert_eq!(render("¿Sí? {{ 'ñ' | upcase }} 🤖").unwrap(), "¿Sí? Ñ 🤖");
}
