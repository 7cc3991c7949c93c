//! Studio's `for` loop: the Shopify syntax (`limit:`, `offset:`, `reversed`, ranges, `else`,
//! `break`/`continue`, `forloop.*`) with Studio's cap of 15 iterations per loop (studio.md
//! §5.2). A loop over more items than the cap fails the render rather than silently
//! truncating, so the widget takes its failure path and the author sees why. A budget of loop
//! body runs per render (cap²) bounds nested loops too.
//!
//! The stdlib `for` cannot be capped from outside and materialises ranges before looking at
//! them (`(1..1000000000)` would allocate), hence this block.

use std::io::Write;

use liquid_core::error::ResultLiquidExt;
use liquid_core::model::{KString, Object, Value, ValueCow, ValueView};
use liquid_core::parser::{BlockElement, TryMatchToken};
use liquid_core::runtime::{Interrupt, InterruptRegister};
use liquid_core::{
    BlockReflection, Error, Expression, Language, ParseBlock, Renderable, Result, Runtime,
    TagBlock, TagTokenIter, Template,
};

use super::runtime::{LoopFrame, RenderBudget};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CappedForBlock;

impl BlockReflection for CappedForBlock {
    fn start_tag(&self) -> &str {
        "for"
    }

    fn end_tag(&self) -> &str {
        "endfor"
    }

    fn description(&self) -> &str {
        "Iterates over an array or range, at most Studio's 15 times"
    }
}

#[derive(Debug)]
enum Range {
    Array(Expression),
    Counted(Expression, Expression),
}

#[derive(Debug)]
struct CappedFor {
    var_name: KString,
    range: Range,
    body: Template,
    else_body: Option<Template>,
    limit: Option<Expression>,
    offset: Option<Expression>,
    reversed: bool,
}

impl ParseBlock for CappedForBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let var_name = arguments
            .expect_next("Identifier expected.")?
            .expect_identifier()
            .into_result()?;
        arguments
            .expect_next("\"in\" expected.")?
            .expect_str("in")
            .into_result_custom_msg("\"in\" expected.")?;
        let range = arguments.expect_next("Array or range expected.")?;
        let range = match range.expect_value() {
            TryMatchToken::Matches(array) => Range::Array(array),
            TryMatchToken::Fails(range) => match range.expect_range() {
                TryMatchToken::Matches((start, stop)) => Range::Counted(start, stop),
                TryMatchToken::Fails(range) => return range.raise_error().into_err(),
            },
        };
        let (mut limit, mut offset, mut reversed) = (None, None, false);
        while let Some(token) = arguments.next() {
            match token.as_str() {
                "limit" => limit = Some(parse_attr(&mut arguments)?),
                "offset" => offset = Some(parse_attr(&mut arguments)?),
                "reversed" => reversed = true,
                _ => {
                    return token
                        .raise_custom_error("\"limit\", \"offset\" or \"reversed\" expected.")
                        .into_err();
                }
            }
        }
        arguments.expect_nothing()?;

        let mut body = Vec::new();
        let mut else_body = None;
        while let Some(element) = tokens.next()? {
            match element {
                BlockElement::Tag(mut tag) if tag.name() == "else" => {
                    tag.tokens().expect_nothing()?;
                    else_body = Some(Template::new(tokens.parse_all(options)?));
                    break;
                }
                element => body.push(element.parse(&mut tokens, options)?),
            }
        }
        tokens.assert_empty();
        Ok(Box::new(CappedFor {
            var_name: KString::from_ref(var_name),
            range,
            body: Template::new(body),
            else_body,
            limit,
            offset,
            reversed,
        }))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

fn parse_attr(arguments: &mut TagTokenIter<'_>) -> Result<Expression> {
    arguments
        .expect_next("\":\" expected.")?
        .expect_str(":")
        .into_result_custom_msg("\":\" expected.")?;
    arguments
        .expect_next("Value expected.")?
        .expect_value()
        .into_result()
}

fn whole_number(expr: &Expression, runtime: &dyn Runtime, what: &str) -> Result<i64> {
    let value = expr.evaluate(runtime)?;
    value
        .as_scalar()
        .and_then(|s| s.to_integer())
        .ok_or_else(|| Error::with_msg(format!("for loop {what} must be a whole number")))
}

/// The window `[start, start + len)` of `total` items that `offset`/`limit` select.
fn window(total: usize, offset: Option<i64>, limit: Option<i64>) -> (usize, usize) {
    let clamp = |n: i64| usize::try_from(n.max(0)).unwrap_or(usize::MAX);
    let start = offset.map_or(0, clamp).min(total);
    let len = limit.map_or(total - start, clamp).min(total - start);
    (start, len)
}

impl CappedFor {
    fn items<'r>(&self, runtime: &'r dyn Runtime, cap: usize) -> Result<Vec<ValueCow<'r>>> {
        let offset = match &self.offset {
            Some(e) => Some(whole_number(e, runtime, "offset")?),
            None => None,
        };
        let limit = match &self.limit {
            Some(e) => Some(whole_number(e, runtime, "limit")?),
            None => None,
        };
        let too_many = |n: usize| {
            Error::with_msg(format!(
                "for loop over {n} items exceeds Studio's limit of {cap} iterations"
            ))
        };
        match &self.range {
            Range::Counted(from, to) => {
                let from = whole_number(from, runtime, "range start")?;
                let to = whole_number(to, runtime, "range end")?;
                let total = usize::try_from(to.saturating_sub(from).saturating_add(1)).unwrap_or(0);
                let (start, len) = window(total, offset, limit);
                if len > cap {
                    return Err(too_many(len));
                }
                let first = from.saturating_add(start as i64);
                Ok((0..len as i64)
                    .map(|i| ValueCow::Owned(Value::scalar(first.saturating_add(i))))
                    .collect())
            }
            Range::Array(expr) => {
                let value = expr.evaluate(runtime)?;
                let all: Vec<Value> = if let Some(a) = value.as_array() {
                    let total = usize::try_from(a.size()).unwrap_or(0);
                    let (start, len) = window(total, offset, limit);
                    if len > cap {
                        return Err(too_many(len));
                    }
                    a.values()
                        .skip(start)
                        .take(len)
                        .map(|v| v.to_value())
                        .collect()
                } else if let Some(o) = value.as_object() {
                    let total = usize::try_from(o.size()).unwrap_or(0);
                    let (start, len) = window(total, offset, limit);
                    if len > cap {
                        return Err(too_many(len));
                    }
                    o.iter()
                        .skip(start)
                        .take(len)
                        .map(|(k, v)| {
                            Value::Array(vec![Value::scalar(k.into_owned()), v.to_value()])
                        })
                        .collect()
                } else if value.is_nil() || value.is_state() {
                    Vec::new()
                } else {
                    // Like Ruby Liquid, a lone scalar is a one-item list.
                    let (start, len) = window(1, offset, limit);
                    std::iter::once(value.to_value())
                        .skip(start)
                        .take(len)
                        .collect()
                };
                Ok(all.into_iter().map(ValueCow::Owned).collect())
            }
        }
    }
}

impl Renderable for CappedFor {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let cap = runtime.registers().get_mut::<RenderBudget>().loop_cap;
        let mut items = self.items(runtime, cap)?;
        if self.reversed {
            items.reverse();
        }
        if items.is_empty() {
            if let Some(else_body) = &self.else_body {
                else_body.render_to(writer, runtime)?;
            }
            return Ok(());
        }
        let parentloop = runtime
            .try_get(&[liquid_core::model::Scalar::new("forloop")])
            .map(|v| v.into_owned());
        let len = items.len() as i64;
        for (i, item) in items.iter().enumerate() {
            {
                let mut budget = runtime.registers().get_mut::<RenderBudget>();
                if budget.loop_runs_left == 0 {
                    return Err(Error::with_msg(format!(
                        "nested for loops ran more than {} iterations in one template",
                        cap.saturating_mul(cap)
                    )));
                }
                budget.loop_runs_left -= 1;
            }
            let forloop = forloop_object(i as i64, len, parentloop.as_ref());
            let frame = LoopFrame {
                parent: runtime,
                var_name: self.var_name.as_str(),
                item: item.as_view(),
                forloop: &forloop,
            };
            self.body
                .render_to(writer, &frame)
                .context_key("index")
                .value_with(|| format!("{}", i + 1).into())?;
            let interrupt = runtime.registers().get_mut::<InterruptRegister>().reset();
            if let Some(Interrupt::Break) = interrupt {
                break;
            }
        }
        Ok(())
    }
}

fn forloop_object(i: i64, len: i64, parentloop: Option<&Value>) -> Value {
    let mut o = Object::new();
    o.insert("length".into(), Value::scalar(len));
    o.insert("index".into(), Value::scalar(i + 1));
    o.insert("index0".into(), Value::scalar(i));
    o.insert("rindex".into(), Value::scalar(len - i));
    o.insert("rindex0".into(), Value::scalar(len - i - 1));
    o.insert("first".into(), Value::scalar(i == 0));
    o.insert("last".into(), Value::scalar(i == len - 1));
    if let Some(p) = parentloop {
        o.insert("parentloop".into(), p.clone());
    }
    Value::Object(o)
}
