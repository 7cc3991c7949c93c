//! The offline commands through the binary: `flow validate`, `flow test` (the shipped
//! examples green, a wrong expectation red with its diff, trail and JUnit report) and
//! `flow diff` of two files.

mod common;

use common::{TempDir, example, parley, run, seed_flow, seed_flow_with};

// ---------------------------------------------------------------------------------------
// flow validate

#[test]
fn validate_accepts_the_examples() {
    let r = run(parley()
        .args(["flow", "validate"])
        .arg(example("seed-flow.json"))
        .arg(example("order-status.json")));
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(r.stdout.contains("seed-flow.json: ok"), "{}", r.show());
    assert!(r.stdout.contains("order-status.json: ok"), "{}", r.show());
}

#[test]
fn validate_names_the_widget_and_path_of_an_error() {
    let dir = TempDir::new();
    let mut flow = seed_flow();
    flow["states"][1]["transitions"][0]["next"] = serde_json::json!("split_9");
    let broken = dir.write("broken.json", &flow.to_string());
    let r = run(parley().args(["flow", "validate"]).arg(&broken));
    assert_eq!(r.code, 1, "{}", r.show());
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("#/states/1/transitions/0/next"))
        .unwrap_or_else(|| panic!("no line for the path\n{}", r.show()));
    assert!(
        line.starts_with(&format!("{}: ", broken.display())),
        "{line}"
    );
    assert!(
        line.contains("send_and_reply_1"),
        "the widget is named: {line}"
    );
    assert!(line.contains("split_9"), "{line}");
}

#[test]
fn validate_reports_json_syntax_errors_with_their_position_and_missing_files_as_usage_errors() {
    let dir = TempDir::new();
    let bad = dir.write("bad.json", "{\n  \"states\": [\n    }\n");
    let r = run(parley().args(["flow", "validate"]).arg(&bad));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(
        r.stdout
            .contains(&format!("{}:3:5: invalid JSON: ", bad.display())),
        "{}",
        r.show()
    );
    let r = run(parley()
        .args(["flow", "validate"])
        .arg(dir.path("missing.json")));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(
        r.stderr.contains("missing.json: no such file"),
        "{}",
        r.show()
    );
}

// ---------------------------------------------------------------------------------------
// flow test

#[test]
fn flow_test_passes_the_shipped_examples() {
    let r = run(parley().args(["flow", "test"]).arg(example("tests")));
    assert_eq!(r.code, 0, "{}", r.show());
    for name in [
        "the contact says yes",
        "the contact says Yes (capitalised)",
        "the contact says no",
        "the contact says something else",
        "nobody answers within the hour",
        "a shipped order gets its tracking number",
        "the shop being down gets an apology",
    ] {
        assert!(
            r.stdout.contains(&format!("PASS {name} (")),
            "{name}\n{}",
            r.show()
        );
    }
    assert!(!r.stdout.contains("FAIL"), "{}", r.show());
    assert!(
        r.stdout.contains("ok: 8 passed (8 cases in 2 files"),
        "{}",
        r.show()
    );
}

#[test]
fn flow_test_shows_a_wrong_expectation_as_a_diff_with_the_trail_and_in_junit() {
    let dir = TempDir::new();
    std::fs::copy(example("seed-flow.json"), dir.path("seed-flow.json")).expect("copy");
    let cases = std::fs::read_to_string(example("tests/seed-flow.yaml")).expect("cases");
    let wrong = cases.replacen(
        "body: \"🤖\", widget: send_message_2",
        "body: \"🤖!\", widget: send_message_2",
        1,
    );
    assert_ne!(wrong, cases, "the example changed; update this test");
    let file = dir.write("tests/wrong.yaml", &wrong);
    let junit = dir.path("report.xml");
    let r = run(parley()
        .args(["flow", "test"])
        .arg(&file)
        .arg("--junit")
        .arg(&junit));
    assert_eq!(r.code, 1, "{}", r.show());
    let expected_block = [
        format!("FAIL the contact says yes ({})", file.display()),
        "    script step 4: expect_message: {body: \"🤖!\", widget: \"send_message_2\"}".into(),
        "    - expected: body \"🤖!\"".into(),
        "    + actual:   body \"🤖\" from +15005550006 to +15558675310 (widget send_message_2)"
            .into(),
        "    trail:".into(),
        "      Trigger --incomingConversationMessage--> send_and_reply_1".into(),
        "      send_and_reply_1 --incomingMessage--> split_1".into(),
        "      split_1 --match--> send_message_2".into(),
        "      send_message_2 --sent--> Ended".into(),
    ]
    .join("\n");
    assert!(r.stdout.contains(&expected_block), "{}", r.show());
    assert!(
        r.stdout.contains("PASS the contact says no ("),
        "{}",
        r.show()
    );
    assert!(
        r.stdout
            .contains("FAILED: 4 passed, 1 failed (5 cases in 1 file"),
        "{}",
        r.show()
    );

    let xml = std::fs::read_to_string(&junit).expect("the JUnit report is written");
    assert_well_formed(&xml);
    assert!(
        xml.contains(
            "<testsuites name=\"parley flow test\" tests=\"5\" failures=\"1\" errors=\"0\""
        ),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"the contact says yes\""),
        "{xml}"
    );
    assert!(xml.contains("<failure message=\"script step 4"), "{xml}");
    assert!(xml.contains("- expected: body &quot;🤖!&quot;"), "{xml}");
    assert!(
        xml.contains("split_1 --match--&gt; send_message_2"),
        "{xml}"
    );
}

#[test]
fn flow_test_reports_a_file_that_is_not_a_test_case() {
    let dir = TempDir::new();
    let file = dir.write(
        "typo.yaml",
        "name: typo\nflow: x.json\ntrigger: {sms: {}}\nscript:\n  - say: hi\n  - expect_mesage: {body: a}\n",
    );
    let r = run(parley().args(["flow", "test"]).arg(&file));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(
        r.stdout
            .contains("invalid test case 'typo': script step 2: unknown variant `expect_mesage`"),
        "{}",
        r.show()
    );
    let r = run(parley()
        .args(["flow", "test"])
        .arg(dir.path("nothing-here")));
    assert_eq!(r.code, 2, "{}", r.show());
}

/// A small well-formedness check: tags balance, attributes are quoted, no raw `&` or `<`.
fn assert_well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .unwrap_or_else(|| panic!("no XML declaration:\n{xml}"));
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        check_text(text, xml);
        let end = rest[start..]
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag in\n{xml}"))
            + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else {
            let self_closing = tag.ends_with('/');
            let inner = tag.trim_end_matches('/');
            let name = inner.split_whitespace().next().unwrap_or("");
            assert!(!name.is_empty(), "empty tag name");
            let attrs = &inner[name.len()..];
            assert_eq!(
                attrs.matches('"').count() % 2,
                0,
                "unbalanced quotes: {tag}"
            );
            check_text(&attrs.replace('"', ""), xml);
            if !self_closing {
                stack.push(name.to_owned());
            }
        }
        rest = &rest[end + 1..];
    }
    check_text(rest, xml);
    assert!(stack.is_empty(), "unclosed elements {stack:?}");
}

fn check_text(text: &str, xml: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |e| i + e + 1)];
        assert!(
            matches!(entity, "&amp;" | "&lt;" | "&gt;" | "&quot;" | "&apos;")
                || entity.starts_with("&#"),
            "raw '&' ({entity}) in\n{xml}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// flow diff (offline)

#[test]
fn flow_diff_of_two_files_reports_widgets_and_ignores_moves() {
    let dir = TempDir::new();
    let same = dir.write("same.json", &seed_flow().to_string());
    let r = run(parley()
        .args(["flow", "diff"])
        .arg(example("seed-flow.json"))
        .arg(&same));
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(r.stdout.contains("no differences"), "{}", r.show());

    let moved = dir.write(
        "moved.json",
        &seed_flow_with(
            "send_message_1",
            "offset",
            serde_json::json!({"x": 1, "y": 2}),
        ),
    );
    let r = run(parley()
        .args(["flow", "diff"])
        .arg(example("seed-flow.json"))
        .arg(&moved));
    assert_eq!(r.code, 0, "a move alone is no change\n{}", r.show());
    let r = run(parley()
        .args(["flow", "diff", "--layout"])
        .arg(example("seed-flow.json"))
        .arg(&moved));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(
        r.stdout.contains("    properties.offset.x: -280 → 1"),
        "{}",
        r.show()
    );

    let mut flow = seed_flow();
    let states = flow["states"].as_array_mut().expect("states");
    states.retain(|s| s["name"] != "send_message_3");
    states.push(serde_json::json!({
        "name": "send_message_4", "type": "send-message",
        "transitions": [{"event": "sent"}, {"event": "failed"}],
        "properties": {"body": "🛸", "to": "{{contact.channel.address}}", "from": "{{flow.channel.address}}",
                       "offset": {"x": 0, "y": 0}}}));
    for s in states.iter_mut() {
        if s["name"] == "split_1" {
            s["transitions"][2]["next"] = serde_json::json!("send_message_4");
        }
        if s["name"] == "send_message_2" {
            s["properties"]["body"] = serde_json::json!("🤖🤖");
        }
    }
    let changed = dir.write("changed.json", &flow.to_string());
    let r = run(parley()
        .args(["flow", "diff"])
        .arg(example("seed-flow.json"))
        .arg(&changed));
    assert_eq!(r.code, 1, "{}", r.show());
    let expected = format!(
        "--- {}\n+++ {}\n\
         ~ send_message_2 (send-message)\n    properties.body: \"🤖\" → \"🤖🤖\"\n\
         ~ split_1 (split-based-on)\n    transition match#2: send_message_3 → send_message_4\n\
         + send_message_4 (send-message)\n\
         - send_message_3 (send-message)\n\
         \n1 widget added, 1 widget removed, 2 widgets changed\n",
        example("seed-flow.json").display(),
        changed.display()
    );
    assert_eq!(r.stdout, expected, "{}", r.show());
}
