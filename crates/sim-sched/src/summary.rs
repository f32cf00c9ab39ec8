//! The run summary: Go's runtime/metrics names with the model's values.

use crate::world::World;
use sim_core::metrics::{self, MetricValue, Outcome, Summary};
use std::collections::BTreeMap;

/// The Go release the model follows.
pub const GO_VERSION: &str = "go1.27.3";

impl World {
    /// The metrics at this point of the run.
    pub fn summary(&self) -> Summary {
        let mut m = BTreeMap::new();
        let count = |v: u64| MetricValue::Count(v);
        m.insert(
            metrics::SCHED_GOMAXPROCS.to_string(),
            count(u64::from(self.gomaxprocs())),
        );
        let live = self
            .gs
            .iter()
            .filter(|g| g.is_user() && g.status != crate::g::GStatus::Dead && g.goid.0 != 0)
            .count() as u64;
        m.insert(metrics::SCHED_GOROUTINES.to_string(), count(live));
        m.insert(
            metrics::SCHED_GOROUTINES_CREATED.to_string(),
            count(self.stats.goroutines_created),
        );
        m.insert(
            metrics::SCHED_LATENCIES.to_string(),
            MetricValue::Histogram(self.stats.latencies.summarize()),
        );
        m.insert(
            metrics::SCHED_THREADS_TOTAL.to_string(),
            count(u64::from(self.mcount())),
        );
        if self.stats.sleep_lateness.count() > 0 {
            m.insert(
                metrics::GMPSIM_SLEEP_LATENESS.to_string(),
                MetricValue::Histogram(self.stats.sleep_lateness.summarize()),
            );
        }
        m.insert(
            metrics::GMPSIM_ELAPSED.to_string(),
            MetricValue::Float(self.now_ns as f64 / 1e9),
        );
        let mut model_only = BTreeMap::new();
        model_only.insert(
            metrics::MODEL_PREEMPTIONS.to_string(),
            count(self.stats.preemptions),
        );
        model_only.insert(metrics::MODEL_STEALS.to_string(), count(self.stats.steals));
        model_only.insert(
            metrics::MODEL_SYSCALL_RETAKES.to_string(),
            count(self.stats.syscall_retakes),
        );
        Summary {
            go_version: GO_VERSION.to_string(),
            outcome: self.outcome.clone().unwrap_or(Outcome {
                exit_code: -1,
                reason: "still running".to_string(),
            }),
            metrics: m,
            model_only,
        }
    }
}
