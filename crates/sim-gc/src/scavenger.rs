//! The background scavenger's pacing: how long `bgscavenge` sleeps after a
//! run of returning memory to the OS.
//!
//! Mirrors go1.27.3 `runtime/mgcscavenge.go`: `scavengerState.sleep` (a run
//! counts as at least `minScavWorkTime`, 1 ms; the sleep lasts the work
//! divided by `sleepRatio`) and the `piController` that moves `sleepRatio` so
//! that the scavenger's share of the CPU, `worked / ((slept + worked) ×
//! GOMAXPROCS)`, approaches `scavengePercent` (1%); a controller that
//! overflows resets `sleepRatio` and cools down for 5 s. What the scavenger
//! releases and when it stops (`shouldStop`: retained memory within the
//! GOGC-derived and the memory-limit goals) is [`crate::Gc`]'s; when it runs
//! and how its sleep is cut short (`wake`, at sweep termination and when
//! sweeping drains) is the scheduler's.
//!
//! Simplified: `scavengeCostRatio` is 0, as on Linux.

use serde::{Deserialize, Serialize};

/// `minScavWorkTime`: a run counts as at least 1 ms of work.
pub const MIN_SCAV_WORK_NS: u64 = 1_000_000;
/// `scavengeQuantum`: one step of a run releases at most 64 KiB.
pub const SCAVENGE_QUANTUM_BYTES: u64 = 64 << 10;
/// `scavengePercent`: the CPU share the scavenger aims at, of GOMAXPROCS.
pub const SCAVENGE_PERCENT: f64 = 1.0;
/// `startingScavSleepRatio`, also the fallback after a controller failure.
const STARTING_SLEEP_RATIO: f64 = 0.001;
/// The controller's cool-down after a failure: 5 s.
const CONTROLLER_COOLDOWN_NS: i64 = 5_000_000_000;

/// `piController`: a proportional-integral controller with anti-windup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PiController {
    /// Proportional constant.
    pub kp: f64,
    /// Integral time constant.
    pub ti: f64,
    /// Reset time (anti-windup).
    pub tt: f64,
    pub min: f64,
    pub max: f64,
    pub err_integral: f64,
}

impl PiController {
    /// `piController.next`: the output for `input` against `setpoint` after
    /// `period`, or `None` (state reset) when the arithmetic overflowed.
    pub fn next(&mut self, input: f64, setpoint: f64, period: f64) -> Option<f64> {
        let prop = self.kp * (setpoint - input);
        let raw_output = prop + self.err_integral;
        if !raw_output.is_finite() {
            self.err_integral = 0.0;
            return None;
        }
        let output = raw_output.clamp(self.min, self.max);
        if self.ti != 0.0 && self.tt != 0.0 {
            self.err_integral += (self.kp * period / self.ti) * (setpoint - input)
                + (period / self.tt) * (output - raw_output);
            if !self.err_integral.is_finite() {
                self.err_integral = 0.0;
                return None;
            }
        }
        Some(output)
    }
}

/// `scavengerState`'s pacing fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScavengerPacing {
    /// Scavenging time per sleeping time.
    pub sleep_ratio: f64,
    pub controller: PiController,
    /// Time left before the controller is trusted again after a failure.
    pub controller_cooldown_ns: i64,
}

impl Default for ScavengerPacing {
    /// `scavengerState.init`'s controller.
    fn default() -> ScavengerPacing {
        ScavengerPacing {
            sleep_ratio: STARTING_SLEEP_RATIO,
            controller: PiController {
                kp: 0.3375,
                ti: 3.2e6,
                tt: 1e9,
                min: 0.001,
                max: 1000.0,
                err_integral: 0.0,
            },
            controller_cooldown_ns: 0,
        }
    }
}

impl ScavengerPacing {
    /// The work a run of `worked_ns` counts as (at least 1 ms).
    pub fn counted_work_ns(worked_ns: u64) -> u64 {
        worked_ns.max(MIN_SCAV_WORK_NS)
    }

    /// How long to sleep after a run that counts as `counted_ns` of work.
    pub fn sleep_ns(&self, counted_ns: u64) -> u64 {
        (counted_ns as f64 / self.sleep_ratio) as u64
    }

    /// After a sleep of `slept_ns` (cut short or not) following
    /// `counted_ns` of work: move `sleep_ratio` towards 1% of the CPU.
    pub fn after_sleep(&mut self, slept_ns: u64, counted_ns: u64, gomaxprocs: u32) {
        let worked = counted_ns as f64;
        let slept = slept_ns as f64;
        if self.controller_cooldown_ns > 0 {
            let t = slept_ns as i64 + counted_ns as i64;
            if t > self.controller_cooldown_ns {
                self.controller_cooldown_ns = 0;
            } else {
                self.controller_cooldown_ns -= t;
            }
            return;
        }
        let ideal_fraction = SCAVENGE_PERCENT / 100.0;
        let cpu_fraction = worked / ((slept + worked) * f64::from(gomaxprocs));
        match self
            .controller
            .next(cpu_fraction, ideal_fraction, slept + worked)
        {
            Some(ratio) => self.sleep_ratio = ratio,
            None => {
                self.sleep_ratio = STARTING_SLEEP_RATIO;
                self.controller_cooldown_ns = CONTROLLER_COOLDOWN_NS;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_run_sleeps_a_thousand_times_its_work() {
        let p = ScavengerPacing::default();
        assert_eq!(ScavengerPacing::counted_work_ns(200_000), MIN_SCAV_WORK_NS);
        assert_eq!(p.sleep_ns(MIN_SCAV_WORK_NS), 1_000_000_000);
    }

    #[test]
    fn using_too_much_cpu_keeps_the_ratio_at_its_floor_and_too_little_raises_it() {
        // 1 ms of work after 4 ms of sleep on 2 Ps is 10% of the CPU, above 1%:
        // the output clamps at the minimum ratio (the longest sleep).
        let mut p = ScavengerPacing::default();
        p.after_sleep(4_000_000, 1_000_000, 2);
        assert_eq!(p.sleep_ratio, 0.001);
        // 1 ms of work after 10 s of sleep is 0.005%: the ratio rises.
        let mut q = ScavengerPacing::default();
        q.after_sleep(10_000_000_000, 1_000_000, 2);
        // prop = 0.3375 × (0.01 − 1e-3/(10.001e3 ms·2)) ≈ 0.00337, above the floor.
        assert!(
            q.sleep_ratio > 0.003 && q.sleep_ratio < 0.004,
            "{}",
            q.sleep_ratio
        );
        assert!(q.controller.err_integral > 0.0);
    }

    #[test]
    fn an_overflowing_controller_resets_and_cools_down_for_five_seconds() {
        let mut p = ScavengerPacing::default();
        p.controller.err_integral = f64::INFINITY;
        p.after_sleep(1_000_000, 1_000_000, 1);
        assert_eq!(p.sleep_ratio, 0.001);
        assert_eq!(p.controller_cooldown_ns, 5_000_000_000);
        assert_eq!(p.controller.err_integral, 0.0);
        // While cooling down the controller is not consulted.
        p.after_sleep(1_000_000_000, 1_000_000, 1);
        assert_eq!(p.controller_cooldown_ns, 5_000_000_000 - 1_001_000_000);
    }
}
