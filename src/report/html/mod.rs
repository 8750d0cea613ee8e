//! Reports as one self-contained HTML page each, for `--html FILE`.
//!
//! Each page says, in this order: the verdict in one line (green or red) and what it means for
//! the import; what was checked; the updates that would show "Failed to download", with their
//! files; the counts of files and bytes, with a bar where a picture helps; and what an import
//! did. Every value is read from the report data `--json` serialises, so the two agree.
//!
//! The markup is written with maud: the compiler checks it as Rust, every value spliced into
//! it is escaped unless wrapped in `PreEscaped` (here only the constant style sheet), its
//! runtime has no dependency but `itoa`, and it builds on stable Rust; askama would have
//! added a template language, its parser and template files beside the code.

mod audit;
mod chart;
mod check;
mod page;
mod parts;
mod refused;
mod transfer;

pub use audit::audit;
pub use check::check;
pub use transfer::{import, verify};
