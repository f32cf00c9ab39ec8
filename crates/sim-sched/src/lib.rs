//! sim-sched (work in progress)
pub mod config;
