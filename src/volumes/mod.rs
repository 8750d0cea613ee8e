//! Splitting a transfer over several volumes: discs or drives each smaller than the whole.
//!
//! [`size`] reads the sizes an operator gives (`4.7GB`, `4GiB`, `dvd`, `fat32`); [`plan`]
//! packs the files a transfer carries into as few volumes as their total allows, cutting a
//! file into chunks only where it does not fit whole (or exceeds the largest file the media's
//! file system takes). Neither touches the disk: the transfer workflows write and read the
//! volumes (see `transfer::volumes`).

pub mod plan;
pub mod size;

pub use plan::{Piece, Placed, PlanError, VolumePlan, plan};
pub use size::{Size, SizeError};
