//! Typed entity IDs.
//!
//! Each kind of entity has its own ID type so a P index can never be passed
//! where an M is expected. IDs are dense indexes into `Vec` arenas and are never
//! reused within a run (a goroutine ID is Go's goid, which Go never reuses
//! either; the runtime's recycling of dead `g` structs is modelled separately).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $inner:ty, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
        pub struct $name(pub $inner);

        impl $name {
            /// The position of this entity in its arena.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id_type!(
    /// A goroutine, by Go's goid (the main goroutine is 1). Printed `G17`.
    Goid, u64, "G"
);
id_type!(
    /// An OS thread (Go's `m`), by Go's M id (M0 is the main thread). Printed `M3`.
    MId, u32, "M"
);
id_type!(
    /// A processor (Go's `p`), by its index in `allp`. Printed `P1`.
    PId, u32, "P"
);
id_type!(
    /// A goroutine program of the workload. Printed `prog2`.
    ProgramId, u32, "prog"
);
id_type!(
    /// A `sync.WaitGroup` declared by the workload. Printed `wg0`.
    WaitGroupId, u32, "wg"
);
id_type!(
    /// A channel declared by the workload. Printed `chan0`.
    ChannelId, u32, "chan"
);
id_type!(
    /// A `sync.Mutex` declared by the workload. Printed `mutex0`.
    MutexId, u32, "mutex"
);
id_type!(
    /// A `sync.RWMutex` declared by the workload. Printed `rwmutex0`.
    RwMutexId, u32, "rwmutex"
);
