//! Studio's additions to the stdlib filters:
//! - `to_json`: any value as JSON text (studio.md §5.4; e.g. Flex task attributes);
//! - `date`: the stdlib filter, except that `"now"`/`"today"` come from the injected clock in
//!   the configured zone instead of the machine's clock (goldens stay deterministic), numbers
//!   are Unix seconds as in Ruby Liquid, RFC 3339 timestamps (what JSON APIs return) parse,
//!   and formats are checked first (`date_format`);
//! - math filters that read nil or non-numeric input as 0, as Shopify Liquid does, so
//!   `{{flow.variables.count | plus: 1}}` works before `count` exists.

use std::fmt;

use chrono::{DateTime as ChronoDateTime, FixedOffset};
use liquid_core::model::{DateTime, Value, ValueView};
use liquid_core::parser::{FilterArguments, ParameterReflection};
use liquid_core::{Error, Expression, Filter, FilterReflection, ParseFilter, Result, Runtime};

use super::date_format;
use super::runtime::RenderBudget;
use super::view::to_json;

/// Reflection shared by the filters below (used only for documentation listings).
macro_rules! reflection {
    ($ty:ty, $name:literal, $desc:literal) => {
        impl FilterReflection for $ty {
            fn name(&self) -> &str {
                $name
            }
            fn description(&self) -> &str {
                $desc
            }
            fn positional_parameters(&self) -> &'static [ParameterReflection] {
                &[]
            }
            fn keyword_parameters(&self) -> &'static [ParameterReflection] {
                &[]
            }
        }
    };
}

fn no_arguments(name: &str, mut args: FilterArguments) -> Result<()> {
    if args.positional.next().is_some() || args.keyword.next().is_some() {
        return Err(Error::with_msg(format!(
            "filter '{name}' takes no arguments"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ToJson;
reflection!(ToJson, "to_json", "Serialises a value as JSON text.");

impl ParseFilter for ToJson {
    fn parse(&self, args: FilterArguments) -> Result<Box<dyn Filter>> {
        no_arguments("to_json", args)?;
        Ok(Box::new(ToJsonFilter))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

#[derive(Debug)]
struct ToJsonFilter;

impl fmt::Display for ToJsonFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("to_json")
    }
}

impl Filter for ToJsonFilter {
    fn evaluate(&self, input: &dyn ValueView, _runtime: &dyn Runtime) -> Result<Value> {
        serde_json::to_string(&to_json(input))
            .map(Value::scalar)
            .map_err(|e| Error::with_msg(format!("to_json: {e}")))
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Date;
reflection!(
    Date,
    "date",
    "Formats a date; \"now\" is the execution's clock."
);

impl ParseFilter for Date {
    fn parse(&self, mut args: FilterArguments) -> Result<Box<dyn Filter>> {
        let format = args
            .positional
            .next()
            .ok_or_else(|| Error::with_msg("filter 'date' needs a format"))?;
        if args.positional.next().is_some() || args.keyword.next().is_some() {
            return Err(Error::with_msg("filter 'date' takes one format argument"));
        }
        Ok(Box::new(DateFilter { format }))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

#[derive(Debug)]
struct DateFilter {
    format: Expression,
}

impl fmt::Display for DateFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "date: {}", self.format)
    }
}

impl Filter for DateFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        let format = self.format.evaluate(runtime)?.to_kstr().into_owned();
        if format.is_empty() {
            return Ok(input.to_value());
        }
        let (now_ms, offset_minutes) = {
            let budget = runtime.registers().get_mut::<RenderBudget>();
            (budget.now_ms, budget.offset_minutes)
        };
        let Some(date) = to_date(input, now_ms, offset_minutes) else {
            return Ok(input.to_value());
        };
        let safe = date_format::checked(format.as_str()).map_err(Error::with_msg)?;
        date.format(&safe)
            .map(Value::scalar)
            .map_err(|_| Error::with_msg(format!("invalid date format '{format}'")))
    }
}

fn to_date(input: &dyn ValueView, now_ms: i64, offset_minutes: i32) -> Option<DateTime> {
    let scalar = input.as_scalar()?;
    match input.type_name() {
        "whole number" => {
            let secs = scalar.to_integer()?;
            let dt = ChronoDateTime::from_timestamp(secs, 0)?;
            liquid_date(dt.fixed_offset())
        }
        "string" => {
            let text = scalar.to_kstr();
            let text = text.trim();
            if text.eq_ignore_ascii_case("now") || text.eq_ignore_ascii_case("today") {
                let zone = FixedOffset::east_opt(offset_minutes.saturating_mul(60))?;
                let dt = ChronoDateTime::from_timestamp_millis(now_ms)?.with_timezone(&zone);
                liquid_date(dt)
            } else if let Ok(dt) = ChronoDateTime::parse_from_rfc3339(text) {
                liquid_date(dt)
            } else {
                DateTime::from_str(text)
            }
        }
        _ => scalar.to_date_time(),
    }
}

/// liquid's `DateTime` has no public constructor from parts; its parser reads this form.
fn liquid_date(dt: ChronoDateTime<FixedOffset>) -> Option<DateTime> {
    DateTime::from_str(&dt.format("%Y-%m-%d %H:%M:%S %z").to_string())
}

/// Wraps a stdlib math filter so nil or non-numeric input counts as 0 (numbers in strings
/// are read, trimmed), as in Shopify Liquid, instead of failing the render.
#[derive(Clone)]
pub(crate) struct NumericInput(pub Box<dyn ParseFilter>);

impl ParseFilter for NumericInput {
    fn parse(&self, args: FilterArguments) -> Result<Box<dyn Filter>> {
        Ok(Box::new(NumericInputFilter(self.0.parse(args)?)))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self.0.reflection()
    }
}

#[derive(Debug)]
struct NumericInputFilter(Box<dyn Filter>);

impl fmt::Display for NumericInputFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Filter for NumericInputFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        match as_number(input) {
            Some(n) => self.0.evaluate(&n, runtime),
            None => self.0.evaluate(input, runtime),
        }
    }
}

/// `Some(number)` when the input needs coercing; `None` when it is already a number (or a
/// type the filter should reject itself, like an array).
fn as_number(input: &dyn ValueView) -> Option<Value> {
    if input.is_nil() {
        return Some(Value::scalar(0i64));
    }
    if input.type_name() != "string" {
        return None;
    }
    let text = input.to_kstr();
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        Some(Value::scalar(i))
    } else if let Some(f) = text.parse::<f64>().ok().filter(|f| f.is_finite()) {
        Some(Value::scalar(f))
    } else {
        Some(Value::scalar(0i64))
    }
}

/// Wraps a filter so that applying it to a missing value renders empty instead of failing
/// the widget: Studio renders `{{flow.data.missing | join: ','}}` as "" (studio.md §5.3),
/// while liquid-rust's stdlib errors on nil input for several filters.
#[derive(Clone)]
pub(crate) struct NilTolerant(pub Box<dyn ParseFilter>);

impl ParseFilter for NilTolerant {
    fn parse(&self, args: FilterArguments) -> Result<Box<dyn Filter>> {
        Ok(Box::new(NilTolerantFilter(self.0.parse(args)?)))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self.0.reflection()
    }
}

#[derive(Debug)]
struct NilTolerantFilter(Box<dyn Filter>);

impl fmt::Display for NilTolerantFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Filter for NilTolerantFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        match self.0.evaluate(input, runtime) {
            Err(_) if input.is_nil() => Ok(Value::Nil),
            other => other,
        }
    }
}
