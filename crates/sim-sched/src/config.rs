//! Runtime settings of a simulated program: what the environment of a real Go
//! process would set (GOMAXPROCS, GODEBUG), plus the simulator's own limits.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The GODEBUG flags the model understands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoDebug {
    /// `schedtrace=MS`: sysmon prints a `SCHED` line every MS milliseconds (0 = off).
    pub schedtrace_ms: u64,
    /// `scheddetail=1`: schedtrace also prints every P, M and G.
    pub scheddetail: bool,
    /// `asyncpreemptoff=1`: no signal-based preemption; only function calls yield.
    pub asyncpreemptoff: bool,
    /// `gctrace=1`: one line per GC cycle on stderr.
    pub gctrace: bool,
}

/// A GODEBUG string that could not be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoDebugError {
    /// The offending `key=value` item.
    pub item: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for GoDebugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GODEBUG item `{}`: {}", self.item, self.message)
    }
}

impl std::error::Error for GoDebugError {}

impl GoDebug {
    /// The keys `apply` accepts.
    pub const KNOWN_KEYS: [&'static str; 4] =
        ["schedtrace", "scheddetail", "asyncpreemptoff", "gctrace"];

    /// Applies a comma-separated `key=value` list on top of `self`, as Go reads
    /// GODEBUG (later items win). Unknown keys are an error here, unlike Go,
    /// which ignores them: a typo in a classroom demo should not pass silently.
    pub fn apply(&mut self, spec: &str) -> Result<(), GoDebugError> {
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let err = |message: String| GoDebugError {
                item: item.to_string(),
                message,
            };
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| err("expected key=value".to_string()))?;
            let number = || -> Result<u64, GoDebugError> {
                value
                    .parse::<u64>()
                    .map_err(|_| err(format!("`{value}` is not a non-negative integer")))
            };
            let flag = || -> Result<bool, GoDebugError> {
                match value {
                    "0" => Ok(false),
                    "1" => Ok(true),
                    _ => Err(err(format!("`{value}` must be 0 or 1"))),
                }
            };
            match key {
                "schedtrace" => self.schedtrace_ms = number()?,
                "scheddetail" => self.scheddetail = flag()?,
                "asyncpreemptoff" => self.asyncpreemptoff = flag()?,
                "gctrace" => self.gctrace = flag()?,
                _ => {
                    return Err(err(format!(
                        "unknown key `{key}` (known: {})",
                        Self::KNOWN_KEYS.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for GoDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::new();
        if self.schedtrace_ms > 0 {
            items.push(format!("schedtrace={}", self.schedtrace_ms));
        }
        if self.scheddetail {
            items.push("scheddetail=1".to_string());
        }
        if self.asyncpreemptoff {
            items.push("asyncpreemptoff=1".to_string());
        }
        if self.gctrace {
            items.push("gctrace=1".to_string());
        }
        f.write_str(&items.join(","))
    }
}

/// Default cap on simulated time: a run that has not exited by then stops and
/// says so (a laptop-friendly guard against programs that never end).
pub const DEFAULT_MAX_SIM_TIME_NS: u64 = 60 * sim_core::time::SECOND_NS;

/// Default cap on goroutine structs (Go's `allgs`, which never shrinks):
/// about 2 GB of simulator memory.
pub const DEFAULT_MAX_GOROUTINES: u64 = 4_000_000;
/// Default cap on processed events: minutes of simulation on a laptop.
pub const DEFAULT_MAX_EVENTS: u64 = 500_000_000;
/// Default cap on the simulated heap in use (spans holding objects), 4 GiB:
/// sim-gc keeps a record per live object, so a heap of 64-byte objects
/// costs the simulator about two thirds of its simulated size in real memory
/// (4,194,304 live 64-byte objects, 256 MiB simulated: 175 MiB peak RSS), and
/// the default stops short of about 3 GB.
pub const DEFAULT_MAX_HEAP_BYTES: u64 = 4 << 30;

/// The runtime environment of one simulated process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// GOMAXPROCS (number of Ps), at least 1.
    pub gomaxprocs: u32,
    /// CPUs the simulated machine has (Go's `ncpu`); the reference machine has 2.
    pub ncpu: u32,
    pub godebug: GoDebug,
    /// GOGC: the heap may grow this many percent over the live heap before
    /// the next cycle; −1 is `GOGC=off`.
    pub gogc: i32,
    /// GOMEMLIMIT in bytes; `i64::MAX` means no limit (Go's default).
    pub memory_limit_bytes: i64,
    /// Stop the simulation at this virtual time if the program has not exited.
    pub max_sim_time_ns: u64,
    /// Stop when the program has created this many goroutine structs.
    pub max_goroutines: u64,
    /// Stop after processing this many events.
    pub max_events: u64,
    /// Stop when the simulated heap in use (`HeapInuse`) grows past this.
    pub max_heap_bytes: u64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            gomaxprocs: 2,
            ncpu: 2,
            godebug: GoDebug::default(),
            gogc: 100,
            memory_limit_bytes: i64::MAX,
            max_sim_time_ns: DEFAULT_MAX_SIM_TIME_NS,
            max_goroutines: DEFAULT_MAX_GOROUTINES,
            max_events: DEFAULT_MAX_EVENTS,
            max_heap_bytes: DEFAULT_MAX_HEAP_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn godebug_parses_go_style_lists() {
        let mut d = GoDebug::default();
        d.apply("schedtrace=10,scheddetail=1").unwrap();
        assert_eq!(d.schedtrace_ms, 10);
        assert!(d.scheddetail);
        d.apply("asyncpreemptoff=1").unwrap();
        assert!(d.asyncpreemptoff);
        assert_eq!(
            d.to_string(),
            "schedtrace=10,scheddetail=1,asyncpreemptoff=1"
        );
    }

    #[test]
    fn godebug_rejects_unknown_keys_and_bad_values() {
        let mut d = GoDebug::default();
        let e = d.apply("schedtrace=abc").unwrap_err();
        assert!(e.to_string().contains("schedtrace=abc"), "{e}");
        assert!(d.apply("gctrace").is_err());
        assert!(d.apply("gctrace=2").is_err());
        assert!(d.apply("asyncpreemptoff=2").is_err());
        assert!(
            d.apply("nosuchflag=1")
                .unwrap_err()
                .message
                .contains("unknown key")
        );
    }
}
