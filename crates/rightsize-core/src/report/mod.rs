//! Documents built from the stages' typed outputs: one document model rendered as Markdown
//! and as self-contained HTML with inline SVG charts.

pub mod analysis;
pub mod doc;
pub mod pdf;
pub mod replay;
pub mod svg;

pub use doc::{Block, Document};
