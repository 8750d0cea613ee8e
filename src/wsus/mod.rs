//! The WSUS server itself: its approvals, declines, computer groups and settings, read on the
//! connected side and carried in the signed manifest, then planned and applied on the
//! disconnected side only where the imported content is proven complete.
pub mod script;
