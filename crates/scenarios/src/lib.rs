//! scenarios (work in progress)
