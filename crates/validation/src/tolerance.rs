//! Tolerance rules: `validation/tolerances.toml`.
//!
//! ```toml
//! [[rule]]
//! figure = "/gc/cycles/total:gc-cycles"
//! kind = "relative"
//! tolerance = 0.10
//! basis = "NumGC: CV 2-4% over quiet runs, 9-16% under load"
//! ```
//!
//! `figure` names one figure (`/sched/latencies:seconds p99`) or, ending in
//! `*`, every figure starting with the rest. The first matching rule wins.
//! Kinds:
//! - `relative`: the model within `tolerance` (a fraction) of the real mean;
//! - `bound`: the model within a factor `tolerance` of the real mean, either
//!   way (tails: a p99 or a maximum that does not repeat run to run);
//! - `range`: the model within the real runs' min–max, widened by
//!   `tolerance` of the mean on each side (0 for exactly the range);
//! - `skip`: shown, not judged; `basis` says why.
//!
//! Every rule has a `basis`: the measured spread it rests on, or why the
//! figure cannot be compared.

use serde::Deserialize;
use std::path::Path;

/// How a figure is judged.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Relative,
    Bound,
    Range,
    Skip,
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub figure: String,
    pub kind: RuleKind,
    #[serde(default)]
    pub tolerance: f64,
    pub basis: String,
}

impl Rule {
    /// Whether this rule is for the figure called `name`.
    pub fn matches(&self, name: &str) -> bool {
        match self.figure.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == self.figure,
        }
    }
}

/// The rules, in file order.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerances {
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
}

impl Tolerances {
    /// Parses the file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Tolerances, String> {
        let tolerances: Tolerances = toml::from_str(text).map_err(|e| {
            let place = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    format!(":{line}")
                })
                .unwrap_or_default();
            format!("{origin}{place}: {}", e.message())
        })?;
        for (i, rule) in tolerances.rules.iter().enumerate() {
            // A NaN or infinite tolerance is refused with the rest.
            let t = rule.tolerance;
            let at_least = |floor: f64, strict: bool| {
                t.is_finite() && if strict { t > floor } else { t >= floor }
            };
            let bad = match rule.kind {
                RuleKind::Relative if !at_least(0.0, true) => {
                    Some("a relative tolerance must be above 0")
                }
                RuleKind::Bound if !at_least(1.0, true) => Some("a bound factor must be above 1"),
                RuleKind::Range if !at_least(0.0, false) => {
                    Some("a range's widening must be 0 or more")
                }
                _ => None,
            };
            if let Some(message) = bad {
                return Err(format!(
                    "{origin}: rule {} ({}): {message}",
                    i + 1,
                    rule.figure
                ));
            }
            if rule.basis.trim().is_empty() {
                return Err(format!(
                    "{origin}: rule {} ({}): basis is empty: say what spread the rule rests on",
                    i + 1,
                    rule.figure
                ));
            }
        }
        Ok(tolerances)
    }

    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Tolerances, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the tolerances: {e}", path.display()))?;
        Tolerances::parse(&text, &path.display().to_string())
    }

    /// The rule for figure `name`, if any.
    pub fn rule_for(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_rule_wins_and_prefixes_end_in_a_star() {
        let t = Tolerances::parse(
            r#"
[[rule]]
figure = "/sched/latencies:seconds count"
kind = "skip"
basis = "sampled"
[[rule]]
figure = "/sched/latencies:seconds *"
kind = "bound"
tolerance = 3.0
basis = "tails vary 40-330%"
"#,
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            t.rule_for("/sched/latencies:seconds count").unwrap().kind,
            RuleKind::Skip
        );
        assert_eq!(
            t.rule_for("/sched/latencies:seconds p99").unwrap().kind,
            RuleKind::Bound
        );
        assert!(t.rule_for("/gc/cycles/total:gc-cycles").is_none());
    }

    #[test]
    fn bad_rules_are_refused_with_the_place() {
        let e = Tolerances::parse(
            "[[rule]]\nfigure = \"x\"\nkind = \"relative\"\nbasis = \"b\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(
            e.contains("rule 1 (x): a relative tolerance must be above 0"),
            "{e}"
        );
        let e = Tolerances::parse(
            "[[rule]]\nfigure = \"x\"\nkind = \"sometimes\"\nbasis = \"b\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(
            e.starts_with("t.toml:3: unknown variant `sometimes`"),
            "{e}"
        );
        let e = Tolerances::parse(
            "[[rule]]\nfigure = \"x\"\nkind = \"skip\"\nbasis = \" \"\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(e.contains("basis is empty"), "{e}");
    }
}
