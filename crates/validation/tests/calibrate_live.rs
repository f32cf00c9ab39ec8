//! `gmpsim calibrate` end to end with real Go (slow; CI runs it with
//! `cargo test --release -- --ignored` after scripts/install-go.sh).

#[test]
#[ignore = "needs Go and runs benchmarks for about a minute"]
fn calibration_runs_the_benchmarks_and_writes_a_loadable_cost_model() {
    let go = scenarios::realgo::GoToolchain::locate().expect("Go (GMPSIM_GO or .tools)");
    let out = std::env::temp_dir().join(format!("gmpsim-calibrate-{}.toml", std::process::id()));
    let text = validation::calibrate::run(&go, &out, std::time::Duration::from_secs(300))
        .expect("calibration runs");
    assert!(text.contains("residuals"), "{text}");
    let model = scenarios::load_cost_model(&out).expect("the fit loads as a cost model");
    assert!(model.context_switch_ns > 0 && model.go_statement_ns > 0);
    let _ = std::fs::remove_file(&out);
}
