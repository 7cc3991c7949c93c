//! The Liquid dialect templates are parsed with: the Shopify stdlib (studio.md §5.2) with
//! Studio's `for` cap, `date` on the injected clock, `to_json`, nil-tolerant math that cannot
//! overflow, every filter metered (`budget`) — and without `include`/`render` (Studio has no
//! partials) or `tablerow` (not in Studio's list, and uncapped).

use std::sync::LazyLock;

use liquid_core::Language;
use liquid_core::parser::{ParseBlock, ParseFilter, ParseTag};
use liquid_lib::stdlib;

use super::budget::{Metered, Presize};
use super::comment::SkippedCommentBlock;
use super::filters::{Date, NilTolerant, NumericInput, ToJson};
use super::for_block::CappedForBlock;
use super::math::{CheckedMath, Op};

pub(crate) static LANGUAGE: LazyLock<Language> = LazyLock::new(build);

fn build() -> Language {
    let mut lang = Language::empty();
    let tags: Vec<Box<dyn ParseTag>> = vec![
        Box::new(stdlib::AssignTag),
        Box::new(stdlib::BreakTag),
        Box::new(stdlib::ContinueTag),
        Box::new(stdlib::CycleTag),
        Box::new(stdlib::IncrementTag),
        Box::new(stdlib::DecrementTag),
    ];
    for tag in tags {
        let name = tag.reflection().tag().to_owned();
        lang.tags.register(name, tag);
    }
    let blocks: Vec<Box<dyn ParseBlock>> = vec![
        Box::new(stdlib::RawBlock),
        Box::new(stdlib::IfBlock),
        Box::new(stdlib::UnlessBlock),
        Box::new(stdlib::IfChangedBlock),
        Box::new(CappedForBlock),
        Box::new(SkippedCommentBlock),
        Box::new(stdlib::CaptureBlock),
        Box::new(stdlib::CaseBlock),
    ];
    for block in blocks {
        let name = block.reflection().start_tag().to_owned();
        lang.blocks.register(name, block);
    }
    let numeric = |f: Box<dyn ParseFilter>| -> Box<dyn ParseFilter> { Box::new(NumericInput(f)) };
    let checked = |op: Op, inner: Box<dyn ParseFilter>| -> Box<dyn ParseFilter> {
        Box::new(NumericInput(Box::new(CheckedMath { op, inner })))
    };
    let filters: Vec<Box<dyn ParseFilter>> = vec![
        checked(Op::Abs, Box::new(stdlib::Abs)),
        Box::new(stdlib::Append),
        numeric(Box::new(stdlib::AtLeast)),
        numeric(Box::new(stdlib::AtMost)),
        Box::new(stdlib::Capitalize),
        numeric(Box::new(stdlib::Ceil)),
        Box::new(stdlib::Compact),
        Box::new(stdlib::Concat),
        Box::new(Date),
        Box::new(stdlib::Default),
        checked(Op::DividedBy, Box::new(stdlib::DividedBy)),
        Box::new(stdlib::Downcase),
        Box::new(stdlib::Escape),
        Box::new(stdlib::EscapeOnce),
        Box::new(stdlib::First),
        numeric(Box::new(stdlib::Floor)),
        Box::new(stdlib::Join),
        Box::new(stdlib::Last),
        Box::new(stdlib::Lstrip),
        Box::new(stdlib::Map),
        checked(Op::Minus, Box::new(stdlib::Minus)),
        checked(Op::Modulo, Box::new(stdlib::Modulo)),
        Box::new(stdlib::NewlineToBr),
        checked(Op::Plus, Box::new(stdlib::Plus)),
        Box::new(stdlib::Prepend),
        Box::new(stdlib::Remove),
        Box::new(stdlib::RemoveFirst),
        Box::new(stdlib::Replace),
        Box::new(stdlib::ReplaceFirst),
        Box::new(stdlib::Reverse),
        numeric(Box::new(stdlib::Round)),
        Box::new(stdlib::Rstrip),
        Box::new(stdlib::Size),
        Box::new(stdlib::Slice),
        Box::new(stdlib::Sort),
        Box::new(stdlib::SortNatural),
        Box::new(stdlib::Split),
        Box::new(stdlib::Strip),
        Box::new(stdlib::StripHtml),
        Box::new(stdlib::StripNewlines),
        checked(Op::Times, Box::new(stdlib::Times)),
        Box::new(ToJson),
        Box::new(stdlib::Truncate),
        Box::new(stdlib::TruncateWords),
        Box::new(stdlib::Uniq),
        Box::new(stdlib::Upcase),
        Box::new(stdlib::UrlDecode),
        Box::new(stdlib::UrlEncode),
        Box::new(stdlib::Where),
    ];
    for filter in filters {
        let name = filter.reflection().name().to_owned();
        let presize = match name.as_str() {
            "replace" => Some(Presize::Replace),
            "join" => Some(Presize::Join),
            _ => None,
        };
        let inner = Box::new(NilTolerant(filter));
        lang.filters
            .register(name, Box::new(Metered { presize, inner }));
    }
    lang
}
