//! The run summary: Go's runtime/metrics names with the model's values.

use crate::world::World;
use sim_core::metrics::{self, MetricValue, Outcome, Summary};
use sim_core::workload::FlatOp;
use std::collections::BTreeMap;

/// The Go release the model follows.
pub const GO_VERSION: &str = "go1.27.3";

impl World {
    /// The GC's figures. Only for programs that allocate, collect or grow a
    /// stack, as the Go program reports them only then
    /// (`scenarios::gosource::uses_gc`): the runtime's own objects (gs,
    /// sudogs, timers) are on the heap in every run.
    fn gc_metrics(&self, m: &mut BTreeMap<String, MetricValue>) {
        let uses_gc = self.programs.iter().flat_map(|p| &p.ops).any(|op| {
            matches!(
                op,
                FlatOp::Alloc { .. } | FlatOp::Gc | FlatOp::StackGrow { .. }
            )
        });
        if !uses_gc {
            return;
        }
        let gc = &self.gc;
        let mem = gc.heap.mem_stats();
        let count = |v: u64| MetricValue::Count(v);
        m.insert(
            metrics::GC_CYCLES_TOTAL.to_string(),
            count(u64::from(gc.stats.numgc)),
        );
        m.insert(
            metrics::GC_CYCLES_FORCED.to_string(),
            count(u64::from(gc.stats.num_forced_gc)),
        );
        m.insert(
            metrics::GC_HEAP_GOAL.to_string(),
            count(gc.heap_goal_bytes()),
        );
        m.insert(
            metrics::GC_HEAP_LIVE.to_string(),
            count(gc.pacer.heap_marked_bytes),
        );
        m.insert(
            metrics::GC_LIMITER_LAST_ENABLED.to_string(),
            count(u64::from(gc.limiter.last_enabled_cycle)),
        );
        m.insert(
            metrics::CPU_GC_TOTAL.to_string(),
            MetricValue::Float(gc.stats.cpu.gc_total_ns as f64 / 1e9),
        );
        m.insert(
            metrics::GMPSIM_GC_CPU_FRACTION.to_string(),
            MetricValue::Float(gc.stats.gc_cpu_fraction),
        );
        m.insert(
            metrics::GC_PAUSES.to_string(),
            MetricValue::Histogram(self.stats.gc_pauses.summarize_as_go_time_histogram()),
        );
        // runtime/metrics is read before ReadMemStats flushes the mcaches:
        // objects in spans still cached are not counted yet.
        let objects = gc.heap.metrics_object_counts();
        m.insert(metrics::GC_HEAP_ALLOCS.to_string(), count(objects.allocs));
        m.insert(metrics::GC_HEAP_OBJECTS.to_string(), count(objects.live));
        m.insert(
            metrics::MEMORY_STACKS.to_string(),
            count(mem.stack_in_use_bytes),
        );
        m.insert(
            metrics::MEMORY_HEAP_RELEASED.to_string(),
            count(mem.heap_released_bytes),
        );
        // As the real run reads it from gctrace lines: each goal in whole MiB.
        let mut goals: Vec<u64> = self
            .gc_driver
            .cycles
            .iter()
            .map(|c| c.heap_goal_bytes >> 20 << 20)
            .collect();
        if !goals.is_empty() {
            goals.sort_unstable();
            m.insert(
                metrics::GMPSIM_GC_GOAL_MEDIAN.to_string(),
                count(goals[goals.len() / 2]),
            );
        }
    }

    /// The metrics at this point of the run.
    pub fn summary(&self) -> Summary {
        let mut m = BTreeMap::new();
        let count = |v: u64| MetricValue::Count(v);
        m.insert(
            metrics::SCHED_GOMAXPROCS.to_string(),
            count(u64::from(self.gomaxprocs())),
        );
        // Go's gcount(true): every live goroutine, system ones included.
        let live = self.stats.goroutines_at_main_return.unwrap_or_else(|| {
            self.gs
                .iter()
                .filter(|g| g.status != crate::g::GStatus::Dead && g.goid.0 != 0)
                .count() as u64
        });
        m.insert(metrics::SCHED_GOROUTINES.to_string(), count(live));
        m.insert(
            metrics::SCHED_GOROUTINES_CREATED.to_string(),
            count(self.stats.goroutines_created),
        );
        m.insert(
            metrics::SCHED_LATENCIES.to_string(),
            MetricValue::Histogram(self.stats.latencies.summarize_as_go_time_histogram()),
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
            MetricValue::Float((self.now_ns - self.init.main_started_ns) as f64 / 1e9),
        );
        self.gc_metrics(&mut m);
        let mut model_only = BTreeMap::new();
        if m.contains_key(metrics::GC_CYCLES_TOTAL) {
            let c = &self.gc.heap.counters;
            model_only.insert(
                metrics::MODEL_PAGES_FAULTED.to_string(),
                count(c.faulted_in_pages),
            );
            model_only.insert(
                metrics::MODEL_SCAVENGE_ASSIST.to_string(),
                count(c.scavenge_assist_bytes),
            );
            model_only.insert(
                metrics::MODEL_TLB_SHOOTDOWNS.to_string(),
                count(self.stats.tlb_shootdowns),
            );
        }
        model_only.insert(
            metrics::MODEL_PREEMPTIONS.to_string(),
            count(self.stats.preemptions),
        );
        model_only.insert(metrics::MODEL_STEALS.to_string(), count(self.stats.steals));
        model_only.insert(
            metrics::MODEL_SYSCALL_RETAKES.to_string(),
            count(self.stats.syscall_retakes),
        );
        m.insert(
            metrics::SYNC_MUTEX_WAIT_TOTAL.to_string(),
            MetricValue::Float(
                (self.stats.mutex_wait_ns + self.stats.runtime_lock_wait_ns) as f64 / 1e9,
            ),
        );
        model_only.insert(
            metrics::MODEL_MAX_RUNNABLE_WAIT.to_string(),
            MetricValue::Float(self.stats.max_runnable_wait_ns as f64 / 1e9),
        );
        model_only.insert(
            metrics::MODEL_MAX_MUTEX_WAIT.to_string(),
            MetricValue::Float(self.stats.max_mutex_wait_ns as f64 / 1e9),
        );
        let starvation: u32 = self
            .mutexes
            .iter()
            .chain(self.rwmutexes.iter().map(|r| &r.w))
            .map(|mu| mu.starvation_entries)
            .sum();
        model_only.insert(
            metrics::MODEL_MUTEX_STARVATION_ENTRIES.to_string(),
            count(u64::from(starvation)),
        );
        if self.outcome.as_ref().is_some_and(|o| o.exit_code == 0) {
            model_only.insert(
                metrics::MODEL_LEAKED.to_string(),
                count(self.leaked_goroutines().len() as u64),
            );
        }
        // Jain's index over the CPU time of each program's goroutines, where
        // a program ran at least two (1.0 = perfectly even).
        // Gs still alive count with what they have had so far.
        let mut runs_by_program = self.stats.exited_run_ns.clone();
        runs_by_program.resize(
            runs_by_program.len().max(self.workload.programs.len()),
            Default::default(),
        );
        for g in &self.gs {
            if let crate::g::GKind::User { program } = g.kind
                && g.status != crate::g::GStatus::Dead
                && g.goid.0 != 0
            {
                runs_by_program[program.index()].add(g.run_ns);
            }
        }
        for (pi, program) in self.workload.programs.iter().enumerate() {
            let runs = runs_by_program[pi];
            let (sum, sum_sq) = (runs.sum_ns, runs.sum_sq_ns);
            if runs.count >= 2 && sum_sq > 0.0 {
                model_only.insert(
                    format!(
                        "{}{}:jain-index",
                        metrics::MODEL_FAIRNESS_PREFIX,
                        program.name
                    ),
                    MetricValue::Float(sum * sum / (runs.count as f64 * sum_sq)),
                );
            }
        }
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
