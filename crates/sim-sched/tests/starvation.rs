mod common;
use common::*;
use sim_core::ids::ProgramId;
use sim_core::metrics::GMPSIM_SLEEP_LATENESS;
use sim_core::workload::Op;

fn starvation() -> sim_core::workload::Workload {
    workload(vec![
        program(
            "main",
            vec![
                Op::WaitGroupAdd { wait_group: WG, delta: 1 },
                Op::Spawn { program: ProgramId(1), count: 1 },
                Op::Repeat { count: 250, body: vec![Op::Sleep { duration_ns: MS }] },
                Op::WaitGroupWait { wait_group: WG },
            ],
        ),
        program("spinner", vec![compute(200 * MS, false), Op::WaitGroupDone { wait_group: WG }]),
    ])
}

#[test]
fn probe() {
    for godebug in ["asyncpreemptoff=1", ""] {
        let mut w = world(&starvation(), 1, 1, godebug);
        let o = w.run().clone();
        let s = w.summary();
        println!("{godebug}: {o:?} {:?}", s.histogram(GMPSIM_SLEEP_LATENESS));
        for r in w.trace().iter().filter(|r| matches!(r.event, sim_core::trace::TraceEvent::PreemptRequest{..} | sim_core::trace::TraceEvent::GoStop{..})).take(20) { println!("{r}"); }
    }
}
#[test]
fn dump() {
    let mut w = world(&starvation(), 1, 1, "asyncpreemptoff=1");
    w.run();
    for r in w.trace().iter().take(70) { println!("{r}"); }
}
