//! The sensitivity check: changing GOMAXPROCS 1→2→4 (cpu-fanout) and GOGC
//! 50→100→200 (alloc-steady) must move the model's figures in the same
//! direction as real Go's, by a similar factor (within 25%), against the
//! committed baselines. `gmpsim validate --sensitivity` prints the figures.

use validation::baseline::Baseline;
use validation::report::sensitivity;
use validation::tolerance::Tolerances;
use validation::verdict::validate_scenario;

fn check(names: &[&str], expected_steps: usize) {
    let dir = validation::data_dir();
    let tolerances = Tolerances::load(&dir.join("tolerances.toml")).unwrap();
    let reports: Vec<_> = names
        .iter()
        .map(|name| {
            let baseline = Baseline::load(&Baseline::path(&dir.join("baselines"), name)).unwrap();
            let scenario = scenarios::library::get(name).unwrap();
            validate_scenario(&scenario, &baseline, &tolerances, &Default::default()).unwrap()
        })
        .collect();
    let steps = sensitivity(&reports);
    assert_eq!(steps.len(), expected_steps, "{steps:?}");
    for s in &steps {
        assert!(
            s.same_direction() && s.similar_factor(),
            "{} {} -> {}: model x{:.3}, real x{:.3}",
            s.figure,
            s.from,
            s.to,
            s.model_factor,
            s.real_factor
        );
    }
}

#[test]
fn gomaxprocs_moves_the_makespan_like_real_go() {
    check(&["cpu-fanout-p1", "cpu-fanout-p2", "cpu-fanout"], 2);
}

#[test]
#[ignore = "slow in a debug build (hundreds of MiB allocated object by object): run in release"]
fn gogc_moves_gc_cycles_and_heap_goal_like_real_go() {
    check(
        &[
            "alloc-steady-gogc50",
            "alloc-steady",
            "alloc-steady-gogc200",
        ],
        4,
    );
}
