//! The Liquid runtime Studio templates render in: the context namespaces as globals, Studio's
//! lenient lookups (an undefined path is nil and renders as "" instead of raising, studio.md
//! §5.3) and the per-render budget the custom tags read.
//!
//! liquid-core's own frames raise "Unknown variable" on a missing path, so the root frame and
//! the loop frame are ours; no stdlib frame is ever stacked on top (the stdlib `for`,
//! `tablerow`, `include` and `render` are not registered).

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use liquid_core::model::{
    KString, KStringCow, KStringRef, Object, ObjectView, ScalarCow, Value, ValueCow, ValueView,
    try_find,
};
use liquid_core::runtime::{PartialStore, Registers, RuntimeCore};
use liquid_core::{Result, Runtime};

/// Per-render settings and counters, stored in the runtime's registers so tags and filters
/// (which only see `&dyn Runtime`) can reach them.
#[derive(Debug, Default, Clone)]
pub(crate) struct RenderBudget {
    /// What `"now"` means for the `date` filter, in ms since the epoch.
    pub now_ms: i64,
    /// Offset of the zone `"now"` is shown in.
    pub offset_minutes: i32,
    /// Most iterations one `for` loop may run (Studio: 15).
    pub loop_cap: usize,
    /// Loop-body runs left for the whole render, so nested loops cannot multiply work.
    pub loop_runs_left: usize,
    /// Bytes the render's filters may build in all (see `budget`), and what is left of it.
    pub filter_bytes_total: usize,
    pub filter_bytes_left: usize,
}

/// The root frame: Studio's namespaces (read-only JSON) plus variables made by `assign`,
/// `capture`, `increment` and `decrement`.
pub(crate) struct StudioRuntime<'g> {
    core: RuntimeCore<'static>,
    globals: &'g dyn ObjectView,
    assigned: RefCell<Object>,
    counters: RefCell<Object>,
    max_value_bytes: usize,
    oversized: Cell<bool>,
}

impl<'g> StudioRuntime<'g> {
    pub(crate) fn new(globals: &'g dyn ObjectView, max_value_bytes: usize) -> Self {
        StudioRuntime {
            core: RuntimeCore::new(),
            globals,
            assigned: RefCell::new(Object::new()),
            counters: RefCell::new(Object::new()),
            max_value_bytes,
            oversized: Cell::new(false),
        }
    }

    /// Whether a template tried to store a variable larger than the output cap. Such a value
    /// is dropped (so doubling a string in a loop cannot exhaust memory) and the render fails.
    pub(crate) fn oversized(&self) -> bool {
        self.oversized.get()
    }
}

/// Studio exposes conversation triggers as `trigger.conversation`, but Console-made flows
/// keep `{{trigger.message.ChannelSid}}` / `{{trigger.message.InstanceSid}}` in their
/// messaging widgets (the seed flow does; studio.md §3.3). When the context has a
/// `trigger.conversation` and no `trigger.message`, a `trigger.message…` path reads the
/// conversation payload, with the legacy Chat names mapped (ChannelSid → ConversationSid,
/// InstanceSid → ChatServiceSid, From → Author). Resolved here rather than stored as a copy,
/// which kept a second copy of the payload in every session.
fn message_alias_path(
    globals: &dyn ObjectView,
    path: &[ScalarCow<'_>],
) -> Option<Vec<ScalarCow<'static>>> {
    if path.len() < 2
        || path[0].to_kstr().as_str() != "trigger"
        || path[1].to_kstr().as_str() != "message"
    {
        return None;
    }
    let trigger = globals.get("trigger")?.as_object()?;
    if trigger.contains_key("message") {
        return None;
    }
    let conversation = trigger.get("conversation")?.as_object()?;
    let mut aliased: Vec<ScalarCow<'static>> = vec![
        ScalarCow::new(KString::from_static("trigger")),
        ScalarCow::new(KString::from_static("conversation")),
    ];
    for (i, part) in path[2..].iter().enumerate() {
        let key = part.to_kstr();
        let mapped = match key.as_str() {
            "ChannelSid" => Some("ConversationSid"),
            "InstanceSid" => Some("ChatServiceSid"),
            "From" => Some("Author"),
            _ => None,
        };
        match mapped {
            Some(m) if i == 0 && !conversation.contains_key(key.as_str()) => {
                aliased.push(ScalarCow::new(KString::from_static(m)));
            }
            _ => aliased.push(part.clone().into_owned()),
        }
    }
    Some(aliased)
}

impl Runtime for StudioRuntime<'_> {
    fn partials(&self) -> &dyn PartialStore {
        self.core.partials()
    }

    fn name(&self) -> Option<KStringRef<'_>> {
        None
    }

    fn roots(&self) -> BTreeSet<KStringCow<'_>> {
        let mut roots: BTreeSet<KStringCow<'_>> = self.globals.keys().collect();
        roots.extend(
            self.assigned
                .borrow()
                .keys()
                .map(|k| KStringCow::from(k.clone())),
        );
        roots
    }

    fn try_get(&self, path: &[ScalarCow<'_>]) -> Option<ValueCow<'_>> {
        if let Some(aliased) = message_alias_path(self.globals, path) {
            return try_find(self.globals.as_value(), &aliased);
        }
        let key = path.first()?.to_kstr();
        {
            let assigned = self.assigned.borrow();
            if assigned.contains_key(key.as_str()) {
                return try_find(assigned.as_value(), path)
                    .map(|v| ValueCow::Owned(v.into_owned()));
            }
        }
        try_find(self.globals.as_value(), path)
    }

    fn get(&self, path: &[ScalarCow<'_>]) -> Result<ValueCow<'_>> {
        Ok(self.try_get(path).unwrap_or(ValueCow::Owned(Value::Nil)))
    }

    fn set_global(&self, name: KString, val: Value) -> Option<Value> {
        let val = if value_size(&val, self.max_value_bytes) > self.max_value_bytes {
            self.oversized.set(true);
            Value::Nil
        } else {
            val
        };
        self.assigned.borrow_mut().insert(name, val)
    }

    fn set_index(&self, name: KString, val: Value) -> Option<Value> {
        self.counters.borrow_mut().insert(name, val)
    }

    fn get_index<'a>(&'a self, name: &str) -> Option<ValueCow<'a>> {
        self.counters
            .borrow()
            .get(name)
            .map(|v| ValueCow::Owned(v.clone()))
    }

    fn registers(&self) -> &Registers {
        self.core.registers()
    }
}

/// Approximate size of a value in bytes, counted up to `limit` (and then abandoned, so
/// measuring a huge value costs no more than the limit).
pub(super) fn value_size(value: &Value, limit: usize) -> usize {
    let mut total = 0usize;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Scalar(s) => total += s.to_kstr().len(),
            Value::Array(items) => {
                total += items.len();
                stack.extend(items.iter());
            }
            Value::Object(map) => {
                for (k, v) in map.iter() {
                    total += k.len();
                    stack.push(v);
                }
            }
            Value::State(_) | Value::Nil => {}
        }
        if total > limit {
            break;
        }
    }
    total
}

/// A frame holding one loop's variable and `forloop`, lenient like the root frame.
pub(crate) struct LoopFrame<'p> {
    pub parent: &'p dyn Runtime,
    pub var_name: &'p str,
    pub item: &'p dyn ValueView,
    pub forloop: &'p Value,
}

impl Runtime for LoopFrame<'_> {
    fn partials(&self) -> &dyn PartialStore {
        self.parent.partials()
    }

    fn name(&self) -> Option<KStringRef<'_>> {
        self.parent.name()
    }

    fn roots(&self) -> BTreeSet<KStringCow<'_>> {
        let mut roots = self.parent.roots();
        roots.insert(KStringCow::from_ref(self.var_name));
        roots.insert(KStringCow::from_static("forloop"));
        roots
    }

    fn try_get(&self, path: &[ScalarCow<'_>]) -> Option<ValueCow<'_>> {
        let (first, rest) = path.split_first()?;
        let key = first.to_kstr();
        if key.as_str() == self.var_name {
            try_find(self.item, rest)
        } else if key.as_str() == "forloop" {
            try_find(self.forloop.as_view(), rest)
        } else {
            self.parent.try_get(path)
        }
    }

    fn get(&self, path: &[ScalarCow<'_>]) -> Result<ValueCow<'_>> {
        Ok(self.try_get(path).unwrap_or(ValueCow::Owned(Value::Nil)))
    }

    fn set_global(&self, name: KString, val: Value) -> Option<Value> {
        self.parent.set_global(name, val)
    }

    fn set_index(&self, name: KString, val: Value) -> Option<Value> {
        self.parent.set_index(name, val)
    }

    fn get_index<'a>(&'a self, name: &str) -> Option<ValueCow<'a>> {
        self.parent.get_index(name)
    }

    fn registers(&self) -> &Registers {
        self.parent.registers()
    }
}
