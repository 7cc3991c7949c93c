//! `{% comment %}…{% endcomment %}`, skipped without parsing what it holds (nested comments
//! are counted, so they close properly).
//!
//! liquid-lib's comment block parses the tags inside a comment and ignores their errors; an
//! inner block left unclosed has by then consumed the end of the file, and the comment's next
//! look at the file panics ("File shouldn't end before EOI"). The `liquid_render` fuzz target
//! found it with `{% comment %}{% unless x %}` (docs/fuzzing.md). Skipping the content, as
//! `raw` does, never looks past the end.

use std::io::Write;

use liquid_core::{
    BlockReflection, Language, ParseBlock, Renderable, Result, Runtime, TagBlock, TagTokenIter,
};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SkippedCommentBlock;

impl BlockReflection for SkippedCommentBlock {
    fn start_tag(&self) -> &str {
        "comment"
    }

    fn end_tag(&self) -> &str {
        "endcomment"
    }

    fn description(&self) -> &str {
        "Text that is not rendered"
    }
}

impl ParseBlock for SkippedCommentBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        _options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        arguments.expect_nothing()?;
        tokens.escape_liquid(true)?;
        tokens.assert_empty();
        Ok(Box::new(Comment))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

#[derive(Debug)]
struct Comment;

impl Renderable for Comment {
    fn render_to(&self, _writer: &mut dyn Write, _runtime: &dyn Runtime) -> Result<()> {
        Ok(())
    }
}
