//! Progress of a split import.
