mod common;
use common::*;

#[test]
fn a_fanout_completes_and_exits_zero() {
    let w = fanout(8, vec![compute(5 * MS, true)]);
    let mut world = world(&w, 4, 1, "schedtrace=1");
    let outcome = world.run().clone();
    println!("{}", world.stderr());
    for r in world.trace().iter().take(60) {
        println!("{r}");
    }
    assert_eq!(outcome.exit_code, 0, "{outcome:?}");
    println!("{:#?}", world.summary());
}
