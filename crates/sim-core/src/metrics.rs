//! The run summary, keyed by Go's `runtime/metrics` names.
//!
//! Simulated runs and real Go runs produce the same `Summary` shape, so the
//! comparison is metric by metric with the same names (`/sched/latencies:seconds`,
//! `/sched/goroutines:goroutines`, ...). Metrics Go does not have are named
//! under `/gmpsim/` and say so; each one is something a generated Go program can
//! measure for itself (for example how late each `time.Sleep` woke up).
//!
//! Values are kept in integers (nanoseconds, counts) while the run goes and are
//! converted to Go's units (seconds) only when the summary is written.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `/sched/gomaxprocs:threads`.
pub const SCHED_GOMAXPROCS: &str = "/sched/gomaxprocs:threads";
/// `/sched/goroutines:goroutines`: live goroutines, the runtime's own
/// included (go1.27.3 reports `gcount(true)`), as main returns.
pub const SCHED_GOROUTINES: &str = "/sched/goroutines:goroutines";
/// `/sched/goroutines-created:goroutines`: cumulative.
pub const SCHED_GOROUTINES_CREATED: &str = "/sched/goroutines-created:goroutines";
/// `/sched/latencies:seconds`: time goroutines spent runnable before running.
pub const SCHED_LATENCIES: &str = "/sched/latencies:seconds";
/// `/sched/threads/total:threads`: threads the runtime created (`mcount`).
pub const SCHED_THREADS_TOTAL: &str = "/sched/threads/total:threads";
/// `/sync/mutex/wait/total:seconds`: time goroutines spent blocked on
/// sync.Mutex and sync.RWMutex (Go samples and scales; the model sums exactly).
pub const SYNC_MUTEX_WAIT_TOTAL: &str = "/sync/mutex/wait/total:seconds";
/// `/gc/cycles/total:gc-cycles`: completed GC cycles (MemStats.NumGC).
pub const GC_CYCLES_TOTAL: &str = "/gc/cycles/total:gc-cycles";
/// `/gc/cycles/forced:gc-cycles`: cycles forced by runtime.GC.
pub const GC_CYCLES_FORCED: &str = "/gc/cycles/forced:gc-cycles";
/// `/gc/heap/goal:bytes`: the heap goal at the end of the run.
pub const GC_HEAP_GOAL: &str = "/gc/heap/goal:bytes";
/// `/gc/heap/live:bytes`: heap marked live by the last cycle.
pub const GC_HEAP_LIVE: &str = "/gc/heap/live:bytes";
/// `/gc/limiter/last-enabled:gc-cycle`: the cycle in which the GC CPU
/// limiter was last on (0: never).
pub const GC_LIMITER_LAST_ENABLED: &str = "/gc/limiter/last-enabled:gc-cycle";
/// `/cpu/classes/gc/total:cpu-seconds`: CPU spent on GC (assists, workers,
/// pauses; idle-priority marking included, as Go counts it).
pub const CPU_GC_TOTAL: &str = "/cpu/classes/gc/total:cpu-seconds";
/// `/sched/pauses/total/gc:seconds`: stop-the-world pauses for GC, one per
/// pause (two per cycle).
pub const GC_PAUSES: &str = "/sched/pauses/total/gc:seconds";
/// `/gc/heap/allocs:objects` (MemStats.Mallocs).
pub const GC_HEAP_ALLOCS: &str = "/gc/heap/allocs:objects";
/// `/gc/heap/objects:objects` (MemStats.HeapObjects).
pub const GC_HEAP_OBJECTS: &str = "/gc/heap/objects:objects";
/// `/memory/classes/heap/released:bytes` (MemStats.HeapReleased): free
/// heap memory returned to the OS.
pub const MEMORY_HEAP_RELEASED: &str = "/memory/classes/heap/released:bytes";
/// Model-only: 8 KiB pages the OS faulted in because they had been released
/// (fresh from the OS, or scavenged).
pub const MODEL_PAGES_FAULTED: &str = "/gmpsim/model/memory/faulted-in:pages";
/// Model-only: bytes returned to the OS by allocation (scavenge assists).
pub const MODEL_SCAVENGE_ASSIST: &str = "/gmpsim/model/memory/scavenge-assist:bytes";
/// Model-only: TLB flushes (`madvise`, copy on write of a zero page) that
/// interrupted another CPU running a thread of the process.
pub const MODEL_TLB_SHOOTDOWNS: &str = "/gmpsim/model/memory/tlb-shootdowns:events";
/// `/memory/classes/heap/stacks:bytes` (MemStats.StackInuse).
pub const MEMORY_STACKS: &str = "/memory/classes/heap/stacks:bytes";
/// The median over cycles of each cycle's heap goal in whole MiB, as
/// gctrace prints it (not a Go metric; the real run reads it from its
/// gctrace lines, the model from its cycles).
pub const GMPSIM_GC_GOAL_MEDIAN: &str = "/gmpsim/gc/heap/goal-median:bytes";
/// MemStats.GCCPUFraction: GC CPU over total CPU (GOMAXPROCS × wall) since
/// start, idle-priority marking excluded.
pub const GMPSIM_GC_CPU_FRACTION: &str = "/gmpsim/gc/cpu-fraction:ratio";
/// How late each `time.Sleep` returned after its due time (not a Go metric;
/// the generated Go program measures it around each sleep).
pub const GMPSIM_SLEEP_LATENESS: &str = "/gmpsim/sleep/lateness:seconds";
/// Wall time of the program from `main.main`'s start (after runtime init)
/// to its end, as the generated Go program measures it.
pub const GMPSIM_ELAPSED: &str = "/gmpsim/process/elapsed:seconds";
/// Model-only: goroutines stopped by a preemption request (time slice expired).
pub const MODEL_PREEMPTIONS: &str = "/gmpsim/model/sched/preemptions:events";
/// Model-only: successful steals from another P's run queue.
pub const MODEL_STEALS: &str = "/gmpsim/model/sched/steals:events";
/// Model-only: the longest any goroutine could have run but did not
/// (runnable, or a sleeper whose timer was due).
pub const MODEL_MAX_RUNNABLE_WAIT: &str = "/gmpsim/model/sched/max-runnable-wait:seconds";
/// Model-only: the longest any goroutine waited for a mutex.
pub const MODEL_MAX_MUTEX_WAIT: &str = "/gmpsim/model/sync/max-mutex-wait:seconds";
/// Model-only: times a mutex entered starvation mode.
pub const MODEL_MUTEX_STARVATION_ENTRIES: &str =
    "/gmpsim/model/sync/mutex-starvation-entries:events";
/// Model-only: goroutines blocked forever when the program ended (leaks).
pub const MODEL_LEAKED: &str = "/gmpsim/model/sched/leaked:goroutines";
/// Model-only prefix: Jain's fairness index of CPU time across the
/// goroutines of one program, `/gmpsim/model/sched/fairness/PROGRAM:jain-index`.
pub const MODEL_FAIRNESS_PREFIX: &str = "/gmpsim/model/sched/fairness/";
/// Model-only: Ps retaken from syscalling threads by sysmon.
pub const MODEL_SYSCALL_RETAKES: &str = "/gmpsim/model/sched/syscall-retakes:events";

/// A histogram of durations, kept exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationHistogram {
    samples_ns: Vec<u64>,
}

impl DurationHistogram {
    /// Records one duration.
    pub fn record(&mut self, duration_ns: u64) {
        self.samples_ns.push(duration_ns);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.samples_ns.len() as u64
    }

    /// Summarises the samples (quantiles by the nearest-rank method).
    pub fn summarize(&self) -> HistogramSummary {
        self.summarize_with(|ns| ns as f64)
    }

    /// Summarises the samples as the generated Go program reads one of the
    /// runtime's time histograms (`/sched/latencies:seconds`,
    /// `/sched/pauses/total/gc:seconds`): the runtime keeps only bucket
    /// counts, so each sample counts at its bucket's midpoint
    /// ([`go_time_bucket_midpoint_ns`]), and the model's figures are read
    /// with the same resolution as real Go's.
    pub fn summarize_as_go_time_histogram(&self) -> HistogramSummary {
        self.summarize_with(go_time_bucket_midpoint_ns)
    }

    fn summarize_with(&self, value_ns: impl Fn(u64) -> f64) -> HistogramSummary {
        if self.samples_ns.is_empty() {
            return HistogramSummary {
                count: 0,
                p50: 0.0,
                p99: 0.0,
                max: 0.0,
                mean: 0.0,
            };
        }
        let mut sorted = self.samples_ns.clone();
        sorted.sort_unstable();
        let rank = |q_permille: u64| -> u64 {
            let n = sorted.len() as u64;
            let idx = (q_permille * n).div_ceil(1000).clamp(1, n) - 1;
            sorted[idx as usize]
        };
        let seconds = |ns: u64| value_ns(ns) / 1e9;
        let total_ns: f64 = sorted.iter().map(|&v| value_ns(v)).sum();
        HistogramSummary {
            count: sorted.len() as u64,
            p50: seconds(rank(500)),
            p99: seconds(rank(990)),
            max: seconds(sorted[sorted.len() - 1]),
            mean: total_ns / sorted.len() as f64 / 1e9,
        }
    }
}

/// Where a duration lands in the runtime's time histogram (go1.27.3
/// `runtime/histogram.go`: `timeHistMinBucketBits` 9, `timeHistMaxBucketBits`
/// 48, `timeHistSubBucketBits` 2), as the midpoint of its bucket, the value
/// the generated Go program's `summarizeBuckets` gives each sample. Below
/// 256 ns the buckets are 64 ns wide; from there each power of two is split
/// in four; from 2^47 ns on is the overflow bucket, read at its lower bound.
pub fn go_time_bucket_midpoint_ns(duration_ns: u64) -> f64 {
    const MIN_BUCKET_BITS: u32 = 9;
    const MAX_BUCKET_BITS: u32 = 48;
    const SUB_BUCKET_BITS: u32 = 2;
    let len = u64::BITS - duration_ns.leading_zeros();
    if len >= MAX_BUCKET_BITS {
        return (1u64 << (MAX_BUCKET_BITS - 1)) as f64;
    }
    let bucket_bit = len.max(MIN_BUCKET_BITS);
    let width = 1u64 << (bucket_bit - 1 - SUB_BUCKET_BITS);
    let lo = duration_ns / width * width;
    lo as f64 + width as f64 / 2.0
}

/// The figures a histogram metric is compared by, in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistogramSummary {
    pub count: u64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// One metric's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetricValue {
    /// A count (goroutines, threads, cycles, events).
    Count(u64),
    /// A quantity in the unit of the metric name (seconds, bytes as float).
    Float(f64),
    /// A distribution.
    Histogram(HistogramSummary),
}

/// How the program ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The process exit status (0, or 2 for a Go fatal error).
    pub exit_code: i32,
    /// Why it ended, in words.
    pub reason: String,
}

/// A run's summary: the outcome plus metrics by name, in name order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The Go release the figures describe (`go1.27.3`).
    pub go_version: String,
    pub outcome: Outcome,
    /// Figures both a simulated and a real run report, under the same names.
    pub metrics: BTreeMap<String, MetricValue>,
    /// Figures only the model can report (a stdlib-only Go program cannot
    /// count steals or preemptions); shown, never compared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub model_only: BTreeMap<String, MetricValue>,
}

impl Summary {
    /// The metric called `name`, if present.
    pub fn get(&self, name: &str) -> Option<&MetricValue> {
        self.metrics.get(name)
    }

    /// A count metric's value.
    pub fn count(&self, name: &str) -> Option<u64> {
        match self.metrics.get(name)? {
            MetricValue::Count(v) => Some(*v),
            _ => None,
        }
    }

    /// A histogram metric's summary.
    pub fn histogram(&self, name: &str) -> Option<&HistogramSummary> {
        match self.metrics.get(name)? {
            MetricValue::Histogram(h) => Some(h),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let mut h = DurationHistogram::default();
        for v in 1..=100 {
            h.record(v * 1_000_000);
        }
        let s = h.summarize();
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, 0.050);
        assert_eq!(s.p99, 0.099);
        assert_eq!(s.max, 0.100);
    }

    #[test]
    fn go_time_buckets_are_read_at_their_midpoints() {
        // runtime/metrics' bucket boundaries for /sched/latencies: 0, 64,
        // 128, 192, 256, 320, ... 448, 512, 640, ... and 2^47 ns overflow.
        assert_eq!(go_time_bucket_midpoint_ns(0), 32.0);
        assert_eq!(go_time_bucket_midpoint_ns(63), 32.0);
        assert_eq!(go_time_bucket_midpoint_ns(64), 96.0);
        assert_eq!(go_time_bucket_midpoint_ns(255), 224.0);
        assert_eq!(go_time_bucket_midpoint_ns(256), 288.0);
        assert_eq!(go_time_bucket_midpoint_ns(511), 480.0);
        assert_eq!(go_time_bucket_midpoint_ns(512), 576.0);
        // 1 ms lies in [2^19, 2^20), split in four buckets of 131072 ns:
        // [917504, 1048576).
        assert_eq!(go_time_bucket_midpoint_ns(1_000_000), 983_040.0);
        assert_eq!(go_time_bucket_midpoint_ns(u64::MAX), (1u64 << 47) as f64);
        let mut h = DurationHistogram::default();
        for v in [0, 10, 1_000_000] {
            h.record(v);
        }
        let s = h.summarize_as_go_time_histogram();
        assert_eq!((s.p50, s.max), (32e-9, 983_040e-9));
        assert_eq!(s.mean, (32.0 + 32.0 + 983_040.0) / 3.0 / 1e9);
    }

    #[test]
    fn an_empty_histogram_summarises_to_zeros() {
        let s = DurationHistogram::default().summarize();
        assert_eq!((s.count, s.p50, s.max), (0, 0.0, 0.0));
        let s = DurationHistogram::default().summarize_as_go_time_histogram();
        assert_eq!((s.count, s.p50, s.max, s.mean), (0, 0.0, 0.0, 0.0));
    }
}
