//! The run settings a user edits (seed, GOMAXPROCS, GOGC, GOMEMLIMIT,
//! asyncpreemptoff) as text, and their checked form.
//!
//! The fields parse with the scenarios crate's own parsers (Go's syntax:
//! `off`, `64MiB`), so the GUI accepts exactly what `gmpsim run` accepts; a
//! mistake is an error message naming the field, shown beside the controls.

use scenarios::Scenario;
use sim_sched::SimConfig;

/// The controls' text, as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsForm {
    pub seed: String,
    pub gomaxprocs: String,
    pub gogc: String,
    pub gomemlimit: String,
    pub asyncpreemptoff: bool,
}

/// GOGC as Go prints it (`off` for −1).
fn gogc_text(gogc: i32) -> String {
    if gogc < 0 {
        "off".to_string()
    } else {
        gogc.to_string()
    }
}

/// GOMEMLIMIT as Go's syntax writes it (`off` for no limit).
fn gomemlimit_text(limit_bytes: i64) -> String {
    if limit_bytes == i64::MAX {
        "off".to_string()
    } else {
        scenarios::format_byte_size(limit_bytes as u64)
    }
}

impl SettingsForm {
    /// The settings `scenario` is written with, and `seed`.
    pub fn of(scenario: &Scenario, seed: u64) -> SettingsForm {
        let runtime = &scenario.runtime;
        SettingsForm {
            seed: seed.to_string(),
            gomaxprocs: runtime.gomaxprocs.to_string(),
            gogc: gogc_text(runtime.gogc),
            gomemlimit: gomemlimit_text(runtime.memory_limit_bytes),
            asyncpreemptoff: runtime.godebug.asyncpreemptoff,
        }
    }

    /// The simulation `scenario` runs with these settings; the error names
    /// the field.
    pub fn config(&self, scenario: &Scenario) -> Result<SimConfig, String> {
        let seed = self
            .seed
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("seed: `{}` is not a whole number", self.seed.trim()))?;
        let gomaxprocs = self.gomaxprocs.trim().parse::<u32>().map_err(|_| {
            format!(
                "GOMAXPROCS: `{}` is not a whole number",
                self.gomaxprocs.trim()
            )
        })?;
        if gomaxprocs == 0 || i64::from(gomaxprocs) > scenarios::MAX_GOMAXPROCS {
            return Err(format!(
                "GOMAXPROCS: must be 1 to {}, got {gomaxprocs}",
                scenarios::MAX_GOMAXPROCS
            ));
        }
        let mut runtime = scenario.runtime.clone();
        runtime.gomaxprocs = gomaxprocs;
        runtime.gogc = scenarios::parse_gogc(self.gogc.trim()).map_err(|e| format!("GOGC: {e}"))?;
        runtime.memory_limit_bytes = scenarios::parse_gomemlimit(self.gomemlimit.trim())
            .map_err(|e| format!("GOMEMLIMIT: {e}; off means no limit"))?;
        runtime.godebug.asyncpreemptoff = self.asyncpreemptoff;
        Ok(SimConfig {
            seed,
            runtime,
            cost: Default::default(),
            record_trace: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_starts_from_the_scenario_and_names_the_field_of_a_mistake() {
        let scenario = scenarios::library::get("alloc-steady").expect("library scenario");
        let mut form = SettingsForm::of(&scenario, 1);
        let config = form.config(&scenario).expect("the scenario's own settings");
        assert_eq!(config.runtime, scenario.runtime);

        form.gogc = "50".to_string();
        form.gomemlimit = "64MiB".to_string();
        let config = form.config(&scenario).expect("valid");
        assert_eq!(config.runtime.gogc, 50);
        assert_eq!(config.runtime.memory_limit_bytes, 64 << 20);

        form.gomaxprocs = "0".to_string();
        assert!(
            form.config(&scenario)
                .unwrap_err()
                .starts_with("GOMAXPROCS")
        );
        form.gomaxprocs = "2".to_string();
        form.gogc = "lots".to_string();
        assert!(form.config(&scenario).unwrap_err().starts_with("GOGC"));
        form.gogc = "off".to_string();
        form.seed = "-1".to_string();
        assert!(form.config(&scenario).unwrap_err().starts_with("seed"));
    }
}
