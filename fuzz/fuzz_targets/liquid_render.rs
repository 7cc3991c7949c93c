//! Liquid rendering with hostile templates: deep nesting, huge and nested loops, recursion
//! through `assign`/`capture`, filters with odd arguments. Rendered with the engine's real
//! settings against a context with nested objects and arrays; the render must never panic
//! or hang, and what it returns must respect Studio's output cap.
//!
//! Input layout: `template NUL json`; the optional JSON (when it parses) becomes
//! `flow.data`, so the fuzzer controls values as well as markup.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use parley_flow::Limits;
use parley_flow::fuzzing::{render, render_with_limits};
use serde_json::{Value, json};

/// Nested `{"a": {"a": …}}` and `[[…]]`, `depth` levels deep.
fn nested(depth: usize) -> (Value, Value) {
    let mut object = json!({"leaf": "bottom", "n": 1});
    let mut array = json!(["bottom"]);
    for i in 0..depth {
        object = json!({"a": object, "i": i});
        array = json!([array, i]);
    }
    (object, array)
}

static CONTEXT: LazyLock<Value> = LazyLock::new(|| {
    let (deep_object, deep_array) = nested(64);
    let items: Vec<Value> = (0..40)
        .map(|i| json!({"id": i, "name": format!("item{i}")}))
        .collect();
    json!({
        "flow": {
            "flow_sid": "FW00000000000000000000000000000001",
            "sid": "FN00000000000000000000000000000001",
            "channel": {"address": "+15017122661"},
            "data": {"name": "Zeke", "n": 3, "list": [3, 1, 2]},
            "variables": {
                "count": "2",
                "max": i64::MAX,
                "min": i64::MIN,
                "big": 1e308,
                "tiny": 5e-324,
                "neg_zero": -0.0,
                "csv": "a,b,,c",
                "html": "<b>bold</b> &amp; <i>x</i>\n",
                "unicode": "héllo wörld ☃ 👍🏽 \u{0301}",
                "empty": "",
                "blank": "   ",
                "null": null,
                "yes": true,
                "date": "2024-02-29T23:59:59Z",
            },
        },
        "trigger": {
            "message": {"Body": "Hi there", "From": "+15558675310", "To": "+15017122661",
                        "NumMedia": "0", "MessageSid": "SM00000000000000000000000000000001"},
        },
        "widgets": {
            "http_1": {
                "status_code": 200,
                "parsed": {"items": items, "obj": {"a": [1, {"b": true}], "": "empty key"}},
                "body": "{\"ok\":true}",
            },
            "deep": {"object": deep_object, "array": deep_array},
            "matrix": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
            "mixed": [1, "two", 3.5, null, true, [], {}, {"k": "v"}],
        },
        "contact": {"channel": {"address": "+15558675310"}},
    })
});

/// Tight limits, so the caps are hit often and their error paths are exercised.
static SMALL: LazyLock<Limits> = LazyLock::new(|| Limits {
    liquid_max_output_bytes: 64,
    liquid_max_loop_iterations: 2,
    ..Limits::default()
});

fuzz_target!(|data: &[u8]| {
    let (template, data_json) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let template = String::from_utf8_lossy(template);
    let fuzzed_data = data_json.and_then(|j| serde_json::from_slice::<Value>(j).ok());
    let owned;
    let context = match fuzzed_data {
        Some(d) => {
            let mut c = CONTEXT.clone();
            c["flow"]["data"] = d;
            owned = c;
            &owned
        }
        None => &*CONTEXT,
    };

    let cap = Limits::default().liquid_max_output_bytes;
    if let Ok(out) = render(&template, context) {
        assert!(
            out.len() <= cap,
            "rendered {} bytes, over the {cap} cap",
            out.len()
        );
    }
    if let Ok(out) = render_with_limits(&template, context, &SMALL) {
        let small = SMALL.liquid_max_output_bytes;
        assert!(
            out.len() <= small,
            "rendered {} bytes, over the {small} cap",
            out.len()
        );
    }
});
