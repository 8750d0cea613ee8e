//! Taking volumes in.
