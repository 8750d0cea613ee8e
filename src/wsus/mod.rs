//! The WSUS server itself: its approvals, declines, computer groups and settings, read on the
//! connected side and carried in the signed manifest, then planned and applied on the
//! disconnected side only where the imported content is proven complete.
//!
//! The tool reaches WSUS through one static PowerShell script ([`script`]) that reads the
//! server into JSON and applies a JSON plan; every decision is made here, in Rust:
//! [`state`] is what a transfer carries, [`groups`] finds computer groups across servers,
//! [`plan`] decides what is applied and what is held back, [`settings`] compares the two
//! servers' settings, [`wait`] polls until approved updates are ready, and [`stage`] runs
//! these steps in their order.

pub mod groups;
pub mod plan;
pub mod script;
pub mod server;
pub mod settings;
pub mod stage;
pub mod state;
pub mod wait;

pub use plan::{Plan, plan};
pub use script::{PowerShell, ScriptError};
pub use stage::{ApprovalsMode, Stage, StageOptions, StateSource};
pub use state::{Guid, WsusState};
