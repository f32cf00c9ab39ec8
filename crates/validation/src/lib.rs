//! validation: the comparison of the model with real Go (not built yet).
//!
//! It will own the metric-by-metric comparison of simulated and measured
//! summaries with per-metric tolerances, the recorded real-Go baselines, the
//! calibration of the cost model, and the HTML report. It contains no model.
//! Until the "validation" issue lands this crate is intentionally empty.
