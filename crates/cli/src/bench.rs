//! `gmpsim bench`: how fast the simulator runs each scenario, and with
//! `--live` how that compares with the real Go program's wall time.
//!
//! For each scenario: the simulation's wall time (the median of `--repeat`
//! runs, each from a fresh `World`), the goroutine status changes it made
//! per second of wall time (the engine's speed: a G becoming runnable,
//! running, waiting, ...), the events it processed, the scheduling decisions
//! it made per second (so the figure cannot be raised by changing status
//! more often per decision), simulated time
//! per wall time, and the peak bytes the simulator had allocated during the
//! run (counted by this binary's global allocator, so one process measures
//! every scenario) in all and per goroutine struct the run created; the
//! process's peak resident set size is printed at the end. With `--live`,
//! the real program's wall time (process start
//! to exit, the mean of `--runs` runs) and the ratio real / simulated: the
//! headline is that ratio's median over the scenarios.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes allocated now and at the peak.
pub struct CountingAllocator;

static CURRENT_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = CURRENT_BYTES.fetch_add(bytes, Ordering::Relaxed) + bytes;
    if now > PEAK_BYTES.load(Ordering::Relaxed) {
        PEAK_BYTES.store(now, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

/// Starts a new peak measurement from the bytes allocated now; returns them.
pub fn reset_peak() -> usize {
    let now = CURRENT_BYTES.load(Ordering::Relaxed);
    PEAK_BYTES.store(now, Ordering::Relaxed);
    now
}

/// The process's peak resident set size in bytes (`VmHWM`), on Linux.
pub fn process_peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The most bytes allocated at once since the last `reset_peak`.
pub fn peak_bytes() -> usize {
    PEAK_BYTES.load(Ordering::Relaxed)
}

/// One scenario's figures.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchRow {
    pub scenario: String,
    pub sim_wall_s: f64,
    pub simulated_s: f64,
    pub events: u64,
    /// Goroutine status changes.
    pub g_transitions: u64,
    pub decisions: u64,
    pub g_transitions_per_s: f64,
    pub decisions_per_s: f64,
    /// Simulated nanoseconds per wall-clock nanosecond.
    pub sim_ns_per_wall_ns: f64,
    /// Peak bytes the simulator allocated for this run (the World and its
    /// trace), above what the process held before.
    pub peak_bytes: u64,
    /// Goroutine structs the run created (dead ones are reused, so this is
    /// the most goroutines that existed at once, the runtime's own included).
    pub goroutines: u64,
    /// `peak_bytes / goroutines`: what a goroutine costs the simulator, every
    /// structure of the run counted (the memory target reads it off
    /// million-parked).
    pub peak_bytes_per_goroutine: f64,
    /// With `--live`: the real program's mean wall time, and real / simulated.
    pub real_wall_s: Option<f64>,
    pub real_over_sim: Option<f64>,
    /// Background load during the real runs (CPU-s/s of other processes).
    pub real_background_load: Option<f64>,
}

/// The machine a benchmark ran on (from /proc on Linux).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cpus: usize,
    pub os: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        Machine {
            cpu_model,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}

/// The median of some values (the upper middle one for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}
