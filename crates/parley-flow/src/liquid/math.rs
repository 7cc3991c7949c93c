//! Integer arithmetic that cannot overflow. liquid's stdlib math filters compute on `i64` with
//! plain operators: `{{ 9223372036854775807 | plus: 1 }}` panics where overflow checks are on
//! (and silently wraps where they are off), and `{{ -9223372036854775808 | divided_by: -1 }}`
//! panics in every build. Ruby Liquid, which Studio follows, has big integers; here a result
//! past `i64` is computed in floating point instead, as a JSON number too big for an integer
//! would be. Every other case is left to the stdlib filter, so its results and messages stay.
//! (Found by the `liquid_render` fuzz target; see docs/fuzzing.md.)

use std::fmt;

use liquid_core::model::{Value, ValueView};
use liquid_core::parser::FilterArguments;
use liquid_core::{Expression, Filter, FilterReflection, ParseFilter, Result, Runtime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Abs,
    Plus,
    Minus,
    Times,
    DividedBy,
    Modulo,
}

/// Wraps the stdlib filter of `op`.
#[derive(Clone)]
pub(crate) struct CheckedMath {
    pub op: Op,
    pub inner: Box<dyn ParseFilter>,
}

impl ParseFilter for CheckedMath {
    fn parse(&self, args: FilterArguments) -> Result<Box<dyn Filter>> {
        // The operand is read here too, so the arguments are handed on as a copy.
        let positional: Vec<Expression> = args.positional.collect();
        let operand = positional.first().cloned();
        let inner = self.inner.parse(FilterArguments {
            positional: Box::new(positional.into_iter()),
            keyword: args.keyword,
        })?;
        Ok(Box::new(CheckedMathFilter {
            op: self.op,
            operand,
            inner,
        }))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self.inner.reflection()
    }
}

#[derive(Debug)]
struct CheckedMathFilter {
    op: Op,
    operand: Option<Expression>,
    inner: Box<dyn Filter>,
}

impl fmt::Display for CheckedMathFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl Filter for CheckedMathFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        if let Some(a) = input.as_scalar().and_then(|s| s.to_integer()) {
            let b = match (&self.operand, self.op) {
                (_, Op::Abs) => None,
                (Some(e), _) => e
                    .evaluate(runtime)?
                    .as_scalar()
                    .and_then(|s| s.to_integer()),
                (None, _) => None,
            };
            if let Some(value) = overflowed(self.op, a, b) {
                return Ok(value);
            }
        }
        self.inner.evaluate(input, runtime)
    }
}

/// The result of `a op b` when the `i64` operation overflows; `None` when it does not (or
/// is not an integer operation at all), for the stdlib filter to compute as usual.
fn overflowed(op: Op, a: i64, b: Option<i64>) -> Option<Value> {
    let float = |x: f64| Some(Value::scalar(x));
    match (op, b) {
        (Op::Abs, _) => a
            .checked_abs()
            .map_or_else(|| float((a as f64).abs()), |_| None),
        (Op::Plus, Some(b)) => a
            .checked_add(b)
            .map_or_else(|| float(a as f64 + b as f64), |_| None),
        (Op::Minus, Some(b)) => a
            .checked_sub(b)
            .map_or_else(|| float(a as f64 - b as f64), |_| None),
        (Op::Times, Some(b)) => a
            .checked_mul(b)
            .map_or_else(|| float(a as f64 * b as f64), |_| None),
        // Division by zero is the stdlib's error to report; MIN / -1 is the one overflow.
        (Op::DividedBy, Some(b)) if b != 0 => a
            .checked_div(b)
            .map_or_else(|| float(a as f64 / b as f64), |_| None),
        // MIN % -1 overflows in `i64`, but its value is 0.
        (Op::Modulo, Some(b)) if b != 0 => {
            a.checked_rem(b).map_or(Some(Value::scalar(0i64)), |_| None)
        }
        _ => None,
    }
}
