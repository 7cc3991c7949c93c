//! How much a render's filters may build. Output and variables are capped at Studio's 16 KB,
//! but values in the middle of a filter chain are not: `replace` and `join` multiply sizes
//! (`{{ a | replace: 'x', a | replace: 'x', a }}` on a 16 KB `a` asks for terabytes), and a
//! long chain of `append`s grows a value by its argument at every step. The `liquid_render`
//! fuzz target found the first one as an out-of-memory abort (docs/fuzzing.md).
//!
//! So every filter result is metered against one budget per render (a multiple of the output
//! cap, far above what a real template builds), and the two multiplying filters work out the
//! size of their result *before* building it.

use std::fmt;

use liquid_core::model::{Value, ValueView};
use liquid_core::parser::FilterArguments;
use liquid_core::{Error, Expression, Filter, FilterReflection, ParseFilter, Result, Runtime};

use super::runtime::{RenderBudget, value_size};

/// Bytes all filters of one render may build together, as a multiple of the output cap
/// (1 MiB with Studio's 16 KB).
pub(crate) const FILTER_BYTES_PER_OUTPUT_BYTE: usize = 64;

/// The filters whose result size is computed before they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presize {
    Replace,
    Join,
}

/// Meters a filter; with `presize`, also checks the size of its result before building it.
#[derive(Clone)]
pub(crate) struct Metered {
    pub presize: Option<Presize>,
    pub inner: Box<dyn ParseFilter>,
}

impl ParseFilter for Metered {
    fn parse(&self, args: FilterArguments) -> Result<Box<dyn Filter>> {
        // The arguments are evaluated here too (for the size), so the filter gets a copy.
        let positional: Vec<Expression> = args.positional.collect();
        let inner = self.inner.parse(FilterArguments {
            positional: Box::new(positional.clone().into_iter()),
            keyword: args.keyword,
        })?;
        Ok(Box::new(MeteredFilter {
            presize: self.presize,
            args: positional,
            inner,
        }))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self.inner.reflection()
    }
}

#[derive(Debug)]
struct MeteredFilter {
    presize: Option<Presize>,
    args: Vec<Expression>,
    inner: Box<dyn Filter>,
}

impl fmt::Display for MeteredFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl Filter for MeteredFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        let left = runtime
            .registers()
            .get_mut::<RenderBudget>()
            .filter_bytes_left;
        if let Some(kind) = self.presize {
            let size = self.result_size(kind, input, runtime)?;
            if size > left {
                return Err(over_budget(runtime));
            }
        }
        let result = self.inner.evaluate(input, runtime)?;
        let size = value_size(&result, left);
        let mut budget = runtime.registers().get_mut::<RenderBudget>();
        match budget.filter_bytes_left.checked_sub(size) {
            Some(rest) => {
                budget.filter_bytes_left = rest;
                Ok(result)
            }
            None => {
                drop(budget);
                Err(over_budget(runtime))
            }
        }
    }
}

impl MeteredFilter {
    /// The exact size of what `replace`/`join` are about to build (0 when their input is not
    /// what they take: they fail on their own then).
    fn result_size(
        &self,
        kind: Presize,
        input: &dyn ValueView,
        runtime: &dyn Runtime,
    ) -> Result<usize> {
        let arg = |i: usize, default: &str| -> Result<String> {
            match self.args.get(i) {
                Some(e) => Ok(e.evaluate(runtime)?.to_kstr().as_str().to_owned()),
                None => Ok(default.to_owned()),
            }
        };
        Ok(match kind {
            Presize::Replace => {
                let (search, replace) = (arg(0, "")?, arg(1, "")?);
                let text = input.to_kstr();
                // `str::replace` with an empty pattern inserts at every char boundary.
                let hits = if search.is_empty() {
                    text.chars().count() + 1
                } else {
                    text.matches(search.as_str()).count()
                };
                (text.len() - hits * search.len())
                    .saturating_add(hits.saturating_mul(replace.len()))
            }
            Presize::Join => {
                let Some(items) = input.as_array() else {
                    return Ok(0);
                };
                let separator = arg(0, " ")?;
                let n = usize::try_from(items.size()).unwrap_or(0);
                let text: usize = items.values().map(|v| v.to_kstr().len()).sum();
                text.saturating_add(n.saturating_sub(1).saturating_mul(separator.len()))
            }
        })
    }
}

fn over_budget(runtime: &dyn Runtime) -> Error {
    let total = runtime
        .registers()
        .get_mut::<RenderBudget>()
        .filter_bytes_total;
    Error::with_msg(format!(
        "the template's filters build more than {total} bytes"
    ))
}
