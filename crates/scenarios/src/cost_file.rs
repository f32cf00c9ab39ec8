//! Cost-model files: a host's own calibration, named with `--cost-model FILE`.
//!
//! The file is TOML whose keys are the fields of `sim_core::cost::CostModel`
//! (`go_statement_ns = 350`); keys it leaves out keep the committed defaults,
//! and an unknown key is an error. Reading it here keeps file formats out of
//! the sim crates; errors point into the file as scenario errors do.

use crate::ScenarioError;
use crate::error::SourceMap;
use sim_core::cost::CostModel;
use std::path::Path;
use toml::de::DeTable;

/// Reads a cost model from a TOML file.
pub fn load_cost_model(path: &Path) -> Result<CostModel, ScenarioError> {
    let origin = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::whole_file(&origin, format!("cannot read the cost model file: {e}"))
    })?;
    parse_cost_model(&source, &origin)
}

/// Parses a cost model from TOML text; `origin` names it in errors.
pub fn parse_cost_model(source: &str, origin: &str) -> Result<CostModel, ScenarioError> {
    let document = DeTable::parse(source).map_err(|error| {
        let mut e = SourceMap::without_fields(origin, source).toml_error(&error);
        e.message = format!("invalid TOML: {}", e.message);
        e
    })?;
    let map = SourceMap::new(origin, source, &document);
    toml::from_str(source).map_err(|e| map.toml_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_costs_override_the_defaults_and_the_rest_stay() {
        let model = parse_cost_model("go_statement_ns = 12345\n", "host.toml").expect("valid");
        assert_eq!(model.go_statement_ns, 12345);
        assert_eq!(
            CostModel {
                go_statement_ns: CostModel::default().go_statement_ns,
                ..model
            },
            CostModel::default()
        );
    }

    #[test]
    fn unknown_costs_and_bad_values_point_into_the_file() {
        let e = parse_cost_model("go_statement_ns = 1\ngo_stmt_ns = 2\n", "host.toml").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("host.toml:2:1: go_stmt_ns: unknown field \"go_stmt_ns\""),
            "{e}"
        );
        let e = parse_cost_model("park_ns = -1\n", "host.toml").unwrap_err();
        assert!(
            e.to_string().starts_with("host.toml:1:11: park_ns: "),
            "{e}"
        );
        let e = load_cost_model(Path::new("no/such/costs.toml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("no/such/costs.toml: cannot read the cost model file"),
            "{e}"
        );
    }
}
