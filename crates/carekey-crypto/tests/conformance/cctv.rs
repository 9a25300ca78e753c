//! Added in the following commit.
