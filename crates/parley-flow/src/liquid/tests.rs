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
