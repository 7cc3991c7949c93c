//! A zero-copy Liquid view of `serde_json::Value`.
//!
//! The execution context lives as JSON (that is what is stored, returned by the Context API
//! and diffed into steps). Converting the whole context into Liquid values for every render
//! would copy every widget's output each time a template runs; instead templates read the
//! JSON in place through this view. `ref-cast` turns a `&Value` into a `&JsonView` safely,
//! which is what lets `ObjectView::get` hand out references to children.

use std::fmt;

use liquid_core::model::{
    ArrayView, DisplayCow, KString, KStringCow, Object, ObjectView, ScalarCow, State,
    Value as LValue, ValueView,
};
use ref_cast::RefCast;
use serde_json::Value;

#[derive(Debug, RefCast)]
#[repr(transparent)]
pub(crate) struct JsonView(Value);

impl JsonView {
    pub(crate) fn new(value: &Value) -> &JsonView {
        JsonView::ref_cast(value)
    }
}

/// Renders an array the way Liquid does: the items' renderings, concatenated.
struct ArrayRender<'a>(&'a [Value]);

impl fmt::Display for ArrayRender<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in self.0 {
            write!(f, "{}", JsonView::new(item).render())?;
        }
        Ok(())
    }
}

/// Objects render as compact JSON — more useful in a message than Ruby's `{"a"=>1}`.
struct JsonText<'a>(&'a Value);

impl fmt::Display for JsonText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self.0) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl ValueView for JsonView {
    fn as_debug(&self) -> &dyn fmt::Debug {
        self
    }

    fn render(&self) -> DisplayCow<'_> {
        match &self.0 {
            Value::Null => DisplayCow::Borrowed(&""),
            Value::Bool(b) => DisplayCow::Borrowed(b),
            Value::Number(n) => DisplayCow::Borrowed(n),
            Value::String(s) => DisplayCow::Borrowed(s),
            Value::Array(items) => DisplayCow::Owned(Box::new(ArrayRender(items))),
            Value::Object(_) => DisplayCow::Owned(Box::new(JsonText(&self.0))),
        }
    }

    fn source(&self) -> DisplayCow<'_> {
        DisplayCow::Owned(Box::new(JsonText(&self.0)))
    }

    fn type_name(&self) -> &'static str {
        match &self.0 {
            Value::Null => "nil",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() => "whole number",
            Value::Number(_) => "fractional number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    fn query_state(&self, state: State) -> bool {
        match (&self.0, state) {
            (Value::Null, State::Truthy) => false,
            (Value::Null, _) => true,
            (Value::Bool(b), State::Truthy) => *b,
            (Value::Bool(b), State::Blank) => !*b,
            (Value::Bool(_), _) => false,
            (Value::Number(_), State::Truthy) => true,
            (Value::Number(_), _) => false,
            (Value::String(_), State::Truthy) => true,
            (Value::String(s), State::Blank) => s.trim().is_empty(),
            (Value::String(s), _) => s.is_empty(),
            (Value::Array(_) | Value::Object(_), State::Truthy) => true,
            (Value::Array(a), _) => a.is_empty(),
            (Value::Object(o), _) => o.is_empty(),
        }
    }

    fn to_kstr(&self) -> KStringCow<'_> {
        match &self.0 {
            Value::String(s) => KStringCow::from_ref(s),
            _ => KStringCow::from_string(self.render().to_string()),
        }
    }

    fn to_value(&self) -> LValue {
        to_liquid(&self.0)
    }

    fn as_scalar(&self) -> Option<ScalarCow<'_>> {
        match &self.0 {
            Value::Bool(b) => Some(ScalarCow::new(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Some(ScalarCow::new(i)),
                None => n.as_f64().map(ScalarCow::new),
            },
            Value::String(s) => Some(ScalarCow::new(s.as_str())),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&dyn ArrayView> {
        self.0.is_array().then_some(self as &dyn ArrayView)
    }

    fn as_object(&self) -> Option<&dyn ObjectView> {
        self.0.is_object().then_some(self as &dyn ObjectView)
    }

    fn is_nil(&self) -> bool {
        self.0.is_null()
    }
}

impl ArrayView for JsonView {
    fn as_value(&self) -> &dyn ValueView {
        self
    }

    fn size(&self) -> i64 {
        self.0.as_array().map_or(0, |a| a.len() as i64)
    }

    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        let items = self.0.as_array().map(Vec::as_slice).unwrap_or_default();
        Box::new(items.iter().map(|v| JsonView::new(v) as &dyn ValueView))
    }

    fn contains_key(&self, index: i64) -> bool {
        self.item(index).is_some()
    }

    fn get(&self, index: i64) -> Option<&dyn ValueView> {
        self.item(index).map(|v| JsonView::new(v) as &dyn ValueView)
    }
}

impl JsonView {
    /// Liquid indexes arrays from the end with negative numbers.
    fn item(&self, index: i64) -> Option<&Value> {
        let items = self.0.as_array()?;
        let len = items.len() as i64;
        let i = if index < 0 { len + index } else { index };
        usize::try_from(i).ok().and_then(|i| items.get(i))
    }
}

impl ObjectView for JsonView {
    fn as_value(&self) -> &dyn ValueView {
        self
    }

    fn size(&self) -> i64 {
        self.0.as_object().map_or(0, |o| o.len() as i64)
    }

    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        match &self.0 {
            Value::Object(o) => Box::new(o.keys().map(|k| KStringCow::from_ref(k))),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        match &self.0 {
            Value::Object(o) => Box::new(o.values().map(|v| JsonView::new(v) as &dyn ValueView)),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        match &self.0 {
            Value::Object(o) => Box::new(
                o.iter()
                    .map(|(k, v)| (KStringCow::from_ref(k), JsonView::new(v) as &dyn ValueView)),
            ),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn contains_key(&self, index: &str) -> bool {
        self.0.get(index).is_some()
    }

    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        match &self.0 {
            Value::Object(o) => o.get(index).map(|v| JsonView::new(v) as &dyn ValueView),
            _ => None,
        }
    }
}

/// Deep conversion, used only where Liquid needs an owned value (e.g. `assign x = obj`).
pub(crate) fn to_liquid(value: &Value) -> LValue {
    match value {
        Value::Null => LValue::Nil,
        Value::Bool(b) => LValue::scalar(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => LValue::scalar(i),
            None => LValue::scalar(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => LValue::scalar(s.clone()),
        Value::Array(items) => LValue::Array(items.iter().map(to_liquid).collect()),
        Value::Object(map) => {
            let mut obj = Object::new();
            for (k, v) in map {
                obj.insert(KString::from_ref(k), to_liquid(v));
            }
            LValue::Object(obj)
        }
    }
}

/// The other direction, for `to_json`: any Liquid value as JSON.
pub(crate) fn to_json(value: &dyn ValueView) -> Value {
    if let Some(s) = value.as_scalar() {
        return match value.type_name() {
            "whole number" => s.to_integer().map_or(Value::Null, Value::from),
            "fractional number" => s
                .to_float()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            "boolean" => s.to_bool().map_or(Value::Null, Value::Bool),
            _ => Value::String(s.to_kstr().as_str().to_owned()),
        };
    }
    if let Some(a) = value.as_array() {
        return Value::Array(a.values().map(to_json).collect());
    }
    if let Some(o) = value.as_object() {
        return Value::Object(o.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect());
    }
    Value::Null
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_liquid_values() {
        let v = json!({"a": [1, 2.5, "x", true, null], "b": {"c": "d"}});
        assert_eq!(to_json(&to_liquid(&v)), v);
        assert_eq!(to_json(JsonView::new(&v)), v);
    }

    #[test]
    fn negative_indexes_count_from_the_end() {
        let v = json!([1, 2, 3]);
        let view = JsonView::new(&v);
        assert_eq!(
            ArrayView::get(view, -1).map(|x| x.to_kstr().to_string()),
            Some("3".into())
        );
        assert!(ArrayView::get(view, 3).is_none());
        assert!(ArrayView::get(view, -4).is_none());
    }
}
