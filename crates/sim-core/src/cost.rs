//! The cost model: how long each runtime operation takes, in nanoseconds.
//!
//! Every cost the model charges comes from this one struct; no other code has a
//! cost literal. The defaults are committed here and are the only default, so
//! results never depend on the host that runs the simulator. They describe the
//! reference machine (x86_64 Linux, 2 cores, go1.27.3); a fit for another host
//! is used only when named explicitly (`gmpsim run --cost-model FILE`).
//!
//! Costs of the operating system that the runtime cannot avoid (timer slack on
//! every timed sleep, waking a parked thread, creating a thread, delivering a
//! preemption signal) are part of the model too: they are why sysmon's 20 µs
//! sleeps really last about 70 µs on Linux.

use serde::{Deserialize, Serialize};

/// Costs of runtime operations, in nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostModel {
    /// `go f()` that reuses a dead G: newproc1 (gfget, goid, status change)
    /// plus runqput. `gmpsim calibrate`: a go statement, the goroutine's
    /// first run and its exit, in batches of 1,024 that reuse the Gs of the
    /// batch before, minus a context switch, split with `goexit_ns` as the
    /// defaults are.
    pub go_statement_ns: u64,
    /// newproc1's extra work when no dead G can be reused: `malg` allocating
    /// a g (456 bytes) and a 2 KiB stack, `allgadd`; the first touch of the
    /// stack's fresh pages is charged as faulted pages
    /// (`page_fault_ns_per_page`), the g's is in here. `gmpsim calibrate`:
    /// 100,000 go statements of goroutines that stay blocked, minus
    /// `go_statement_ns` and the stack's share of its pool span's faults.
    pub malg_ns: u64,
    /// A goroutine returning: goexit1, goexit0, gdestroy, gfput.
    pub goexit_ns: u64,
    /// `schedule` + `execute` + `gogo` when the G comes from the local run queue.
    pub context_switch_ns: u64,
    /// Extra cost of taking Gs from the global run queue (`sched.lock`).
    pub global_runq_ns: u64,
    /// Per G that `globrunqgetbatch` takes off the global run queue while it
    /// holds `sched.lock`: the queue is a list linked through the g structs,
    /// and those of a long queue are not in the cache. `gmpsim calibrate`:
    /// a list of a million 480-byte nodes walked in allocation order after
    /// the caches were flushed, in batches of 128.
    pub global_runq_ns_per_g: u64,
    /// Looking at one victim P during work stealing (runqgrab on an empty ring).
    pub steal_probe_ns: u64,
    /// Moving Gs from a victim's ring into the thief's ring (per successful steal).
    pub steal_success_ns: u64,
    /// The `usleep(3)` a thief makes before taking a running P's runnext
    /// (the timer slack below is added on top, as for every timed sleep).
    pub runnext_steal_backoff_ns: u64,
    /// Linux timer slack: every timed sleep (usleep, futex timeouts) lasts
    /// this much longer than asked. 50 µs is the default for normal threads.
    /// An epoll_wait timeout's slack is 0.1% of the timeout when that is more
    /// (sim-sched's `epoll_slack_ns`).
    pub os_timer_slack_ns: u64,
    /// Creating an OS thread for a new M until it runs a goroutine (newm,
    /// clone, the thread's first run on an idle CPU, a steal). `gmpsim
    /// calibrate`: a `go` statement that needs a new thread until the
    /// goroutine runs, median of 280.
    pub thread_create_ns: u64,
    /// Waking a parked M that slept 300 µs: futex wake until the sleeping
    /// thread runs on an idle CPU. On a VM this is tens of microseconds (the
    /// idle virtual CPU has to be woken by the hypervisor); shorter and
    /// longer sleeps scale it by `thread_wake_after_*_ppm`. `gmpsim
    /// calibrate`: median of 2,000 raw futex wake-ups of a thread asleep
    /// 300 µs on the other CPU.
    pub thread_wake_ns: u64,
    /// What the `FUTEX_WAKE` system call that wakes a thread asleep on
    /// another CPU costs the waker (`notewakeup`): the last P to reach a
    /// ragged barrier's safe point (`runSafePointFn`) or a stop-the-world
    /// (`gcstopm`) makes it while it holds `sched.lock`. `gmpsim calibrate`:
    /// median over the wake-up benchmark's 2,000 wake-ups.
    pub futex_wake_call_ns: u64,
    /// entersyscall (the G keeps its P; the M enters the kernel).
    pub syscall_enter_ns: u64,
    /// exitsyscall's fast path (the P is still there, or an idle one is taken).
    pub syscall_exit_ns: u64,
    /// gopark + park_m (G to waiting, drop it from the M).
    pub park_ns: u64,
    /// goready (G to runnable, runqput into runnext, wakep check).
    pub ready_ns: u64,
    /// Adding a timer to a P's heap (time.Sleep's resetForSleep).
    pub timer_add_ns: u64,
    /// Running one expired timer (timers.check firing a sleep).
    pub timer_run_ns: u64,
    /// Asynchronous preemption: SIGURG sent by preemptM until the target G
    /// stops at a safe point.
    pub signal_preempt_ns: u64,
    /// What sending SIGURG to a thread running on another CPU costs the
    /// sender (`preemptM`'s tgkill; on a VM the inter-processor interrupt
    /// goes through the hypervisor). `preemptall` sends one per running P
    /// while it holds `sched.lock` in `stopTheWorldWithSema` and `forEachP`.
    /// `gmpsim calibrate`: median of 2,000 signals to a thread that spins
    /// on the other CPU.
    pub signal_send_ns: u64,
    /// Distance between function calls (cooperative preemption points) in
    /// compute that has them; a preemption request takes effect at the next one.
    pub cooperative_check_interval_ns: u64,
    /// A WaitGroup Add, Done or Wait that does not block.
    pub wait_group_op_ns: u64,
    /// runtime.LockOSThread or UnlockOSThread.
    pub lock_os_thread_ns: u64,
    /// A channel send, receive or close that does not block (lock, copy, unlock).
    pub chan_op_ns: u64,
    /// A select, per case (shuffle, lock order, polling).
    pub select_ns_per_case: u64,
    /// A mutex Lock or Unlock on its fast path (one CAS).
    pub mutex_op_ns: u64,
    /// One spin round of a contended mutex (`procyield(30)`: 30 PAUSE
    /// instructions). Measured, not calibrated (a Go program cannot call
    /// procyield, and `calibrate` builds one file): a loop of 30 PAUSEs in
    /// Go assembly took 739-740 ns on the reference AMD EPYC VM, three runs
    /// of 200,000, 2026-12-07 08:48 UTC (replacing a guess of 1 µs).
    pub mutex_spin_ns: u64,
    /// `mallocgc` of one small object (size class lookup, mcache slot,
    /// heap bitmap), zeroing not included.
    pub malloc_small_ns: u64,
    /// Zeroing (and for pointerful objects, heap-bitmap writing) per KiB
    /// allocated, on top of `malloc_small_ns`: freshly swept memory is not
    /// in the cache, so this is mostly one cache miss per 64-byte line.
    /// Fitted with `malloc_small_ns` by `gmpsim calibrate` (one loop per
    /// size over 64 MiB, GC off, on a swept heap): 64 B cost 15 ns, 1 KiB
    /// 129 ns, 16 KiB 835 ns on the reference machine; the straight line
    /// misses sizes between 256 B and 2 KiB by up to 66% (calibrate prints
    /// the residuals).
    pub malloc_ns_per_kib: u64,
    /// A tiny allocation packed into the current 16-byte block.
    pub malloc_tiny_ns: u64,
    /// Taking a new span into the mcache (mcentral, maybe mheap), sweeping
    /// not included.
    pub mcache_refill_ns: u64,
    /// A large object (> 32 KiB) straight from the page heap, zeroing not
    /// included.
    pub malloc_large_ns: u64,
    /// The OS's first touch of an 8 KiB runtime page that was released
    /// (fresh from the OS, or scavenged earlier): two page faults and the
    /// kernel zeroing them. Reference machine (a Firecracker VM, where a
    /// fault is expensive): a first-touch microbenchmark over 512 MiB took
    /// 4.5 µs per 8 KiB page on the quietest of 8 runs (up to 9.5 µs while
    /// another process compiled).
    pub page_fault_ns_per_page: u64,
    /// Returning an 8 KiB page to the OS (`madvise(MADV_DONTNEED)`), when
    /// allocation has to scavenge to stay under GOMEMLIMIT. Reference
    /// machine: 580 ns per page over 512 MiB.
    pub scavenge_ns_per_page: u64,
    /// The first touch of a released 8 KiB page by a read and then a write,
    /// over `page_fault_ns_per_page` (write first): each 4 KiB page faults
    /// twice, once to map the shared zero page and once to copy it on write,
    /// which also flushes this CPU's TLB entry. go1.27.3 takes this path
    /// when it allocates an object with a malloc header (pointerful, over
    /// 512 bytes) while the write barrier is on: the barrier loads the
    /// header word's old value before the header is stored (`perf record -e
    /// minor-faults` of memlimit-death-spiral's loop: 48% of its faults at
    /// that load in `mallocgcSmallScanHeader`, 52% at the store; 4.1 faults
    /// per 8 KiB page released, 0.01 outside marking). Measured with a C
    /// loop over 64 MiB (`madvise(MADV_DONTNEED)` of 8 KiB, then read and
    /// write each 4 KiB page, against write only): 6.76 against 4.85 µs per
    /// page on a 2-CPU AMD EPYC KVM guest, 2026-12-05 (not the reference
    /// machine; its fault costs are close: 4.5 µs above).
    pub page_fault_read_first_extra_ns_per_page: u64,
    /// A TLB shootdown's cost to the thread that changes the page tables
    /// (`madvise(MADV_DONTNEED)`, or the copy on write that replaces a zero
    /// page) while another thread of the process runs on another CPU: Linux
    /// interrupts that CPU (an IPI, which a VM's hypervisor relays) and waits
    /// for it to flush. CPUs running other processes, or idle, are not
    /// interrupted. Measured with the C loop above and a second thread of
    /// the process spinning on the other CPU: madvise then write 17.67 µs
    /// per 8 KiB page (one flush) against 4.85 alone; madvise, read, write
    /// 44.18 against 6.76 (three flushes): 12.5 µs per flush, 2-CPU AMD EPYC
    /// KVM guest, 2026-12-05, quiet (not the reference machine).
    pub tlb_shootdown_ns: u64,
    /// The same shootdown's cost to the CPU it interrupts: the thread
    /// running there loses this much time. The spinning thread of the
    /// measurement above did half its work while the other thread flushed
    /// three times per 33.3 µs page: 5.5 µs per flush.
    pub tlb_shootdown_received_ns: u64,
    /// The background scavenger's CPU time per 8 KiB page it returns to the
    /// OS (`scavengeOne` over 64 KiB quanta: finding free pages in the
    /// scavenge index, `madvise`, the heap lock it shares with allocation).
    /// Reference machine: `/cpu/classes/scavenge/background:cpu-seconds`
    /// over the bytes `scavtrace` reports released, in three alloc-steady
    /// runs: 0.66, 0.80 and 0.70 µs per KiB.
    pub background_scavenge_ns_per_page: u64,
    /// Sweeping one span that keeps objects (`sweepone`: the span taken
    /// from the unswept sets, free slots counted, mark bits swapped in, the
    /// span filed as partial or full). Not fitted by `gmpsim calibrate`:
    /// measured in memlimit-death-spiral-p1's real run (2-CPU AMD EPYC KVM
    /// host, 2026-12-06), where `perf record -F 20000` finds 1.62% of the
    /// run's 1.53 s of CPU (24.8 ms) under `sweepone` and a uprobe counts
    /// 442,000 spans swept, 32,700 of them freed: 34 ns per span kept if a
    /// freed span costs `sweep_span_freed_ns` more, 47 ns if only the
    /// samples under `freeSpan` (4.2 ms) are the freeing. The model charged
    /// 876 ns for every span until 2026-12-06 (calibrate's dead-span figure,
    /// which timed a second, empty `runtime.GC` with the sweep).
    pub sweep_span_ns: u64,
    /// Returning a swept span in which nothing survived to the page heap
    /// (`mheap.freeSpan`), on top of `sweep_span_ns`. `gmpsim calibrate`:
    /// `runtime.GC` over 8192 dead 8 KiB spans of 64-byte objects minus an
    /// empty `runtime.GC`, best of five, minus `sweep_span_ns`: 323, 366,
    /// 376 and 441 ns per span in four runs on the host above.
    pub sweep_span_freed_ns: u64,
    /// A heap pointer store while the GC marks, over the same store outside
    /// marking: the hybrid write barrier records the overwritten and the
    /// new pointer in the P's barrier buffer, and the buffer's flush (on the
    /// mutator) finds each object's span and sets its mark bit, a cache miss
    /// when the overwritten object is old. `gmpsim calibrate` measures it as
    /// alloc-steady's loop body (allocate, store into a ring slot holding an
    /// object allocated 131,072 iterations earlier) during a mark phase,
    /// minus the loop without the ring store, minus both outside marking.
    pub write_barrier_ns: u64,
    /// Allocating an object while the GC marks, over the same allocation
    /// outside marking: `mallocgc` allocates black (`gcmarknewobject` sets
    /// the mark bit and counts the bytes marked) and goes through the
    /// assist-credit path. `gmpsim calibrate` measures it as a loop of
    /// 64-byte allocations during a mark phase (one P, GOGC=1600, so that
    /// the loop owes almost no assist work) minus the same loop outside.
    /// Allocations on the tiny path (noscan, under 16 B) are not charged,
    /// not even the one that starts a new 16-byte block.
    pub malloc_marking_ns: u64,
    /// Mark work per KiB scanned (heap objects, stacks, globals): reading
    /// each pointer word and testing it. `gmpsim calibrate` measures it as
    /// the mark CPU of arrays of nil pointer words (2^18..2^21 words).
    pub mark_ns_per_kib: u64,
    /// Following one non-nil pointer found while marking (heap objects,
    /// stacks, globals): finding its span and object index and checking or
    /// setting the mark bit (`tryDeferToSpanScan`, `greyobject`), on top of
    /// the word's share of `mark_ns_per_kib`. `gmpsim calibrate` measures
    /// it as the mark CPU of an array of pointers to noscan 64 B objects
    /// minus that of nil words.
    pub mark_ns_per_pointer: u64,
    /// Mark work per object of at most 512 bytes greyed and scanned: Green
    /// Tea scans their spans a span at a time. `gmpsim calibrate`: an array
    /// of pointers to 64 B objects with one nil pointer, minus noscan
    /// targets and the word read, and minus its share of the span scans
    /// (`mark_ns_per_span` over the objects a span holds).
    pub mark_ns_per_object: u64,
    /// A Green Tea span scan (`scanSpan`), on top of its objects: the span's
    /// metadata and mark bits, and objects that are not neighbours in
    /// memory, so that a span holding few live objects costs far more per
    /// object than a full one. `gmpsim calibrate`: an array of pointers to
    /// 64 B objects of which one in 16 allocated was kept, against the same
    /// with every one kept, over the extra spans. A probe on the reference
    /// VM (2026-12-07 16:31 UTC, quiet): 12.7-12.9 ns per live object at
    /// full density, 25.0 at a quarter, 50.0 at a sixteenth. `gmpsim
    /// calibrate` with the span-word benchmark below, three runs
    /// 17:13-17:18 UTC (load 0.1-1.0, calibrate's own): 258 / 256 / 472 ns
    /// per span scan, median 258 (three runs before it, 16:33-16:37, fit
    /// 339 / 174 / 198). The same runs put `mark_ns_per_object` at 2.6 /
    /// 9.2 / 4.1 ns, median 4 (it was 2 when the scan targets' word was
    /// charged at `mark_ns_per_kib` and span scans were not charged).
    pub mark_ns_per_span: u64,
    /// Mark work per KiB of pointer words read by span scans (objects of at
    /// most 512 bytes, found through the span's inline pointer bitmap a span
    /// at a time), instead of `mark_ns_per_kib`, which is word-by-word
    /// scanning (large objects' oblets, stacks, globals). `gmpsim
    /// calibrate`: an array of pointers to 256 B objects of 32 nil pointer
    /// words, against the 64 B objects of one, over the 31 more words.
    /// Three runs 17:13-17:18 UTC: 0.29 / 0.67 / -0.71 ns per word (38 / 86
    /// / 1 per KiB), median 38; a probe at 16:45 UTC (while CI ran) put
    /// such 256 B objects at 16-42 ns each against 12-16 for 64 B objects
    /// of one pointer. Before, these words cost `mark_ns_per_kib` (489).
    pub mark_ns_per_kib_in_span: u64,
    /// Mark work per larger object, scanned one by one (its malloc header,
    /// then its pointers: cache misses), on top of its words' share of
    /// `mark_ns_per_kib`. `gmpsim calibrate`: an array of pointers to 1 KiB
    /// objects of 128 nil pointers (2^13..2^16 of them), minus noscan
    /// targets and 128 words read.
    ///
    /// Calibrate times every mark benchmark as the runtime's own mark CPU
    /// (`/cpu/classes/gc/mark/*`) of a forced GC with one P, least of nine,
    /// in three rounds over fresh arrays. Marking with two Ps at once costs
    /// more CPU per object than with one (shared caches and memory
    /// bandwidth); the model charges mark work the same wherever it runs.
    pub mark_ns_per_large_object: u64,
    /// The runtime's own work inside the sweep-termination pause, once the
    /// world is stopped (finishsweep, startCycle, root preparation).
    pub stw_sweep_termination_ns: u64,
    /// The runtime's own work inside the mark-termination pause (gcMark
    /// checks, the sweepgen flip, pacer commit, mcache flushes) per P.
    pub stw_mark_termination_ns: u64,
    /// One `write(2)` of a few bytes to stderr, which is a pipe the reader
    /// (the runner) drains as it fills. The runtime's `print` makes one such
    /// call per argument, so a schedtrace report of N arguments holds
    /// `sched.lock` for N of them. `gmpsim calibrate`: 20,000 writes of 9
    /// bytes to a piped stderr, best of five rounds.
    pub stderr_write_ns: u64,
    /// Copying a goroutine stack when it grows, per KiB of the old stack
    /// (`copystack`: the copy, adjusting the frames' pointers, `stackalloc`
    /// and `stackfree`), the new stack's page faults not included.
    /// `gmpsim calibrate` (a 2 -> 128 KiB growth on memory reused from the
    /// goroutine before, against the same calls on the grown stack) on the
    /// reference VM, 2026-12-07 15:42-15:45 UTC, three runs: 57 / 91 / 57
    /// ns per KiB copied; median 57. It was a guess of 150 before.
    pub stack_copy_ns_per_kib: u64,
    /// How much a compute step's duration varies from run to run, in parts
    /// per million either way (caches, frequency, interrupts): each Compute
    /// op lasts its duration × (1 ± up to this), drawn from the
    /// `workload-jitter` stream. It is what lets two seeds interleave a race
    /// differently, as two runs of a real program do.
    pub compute_jitter_ppm: u64,
    /// How thread wake-up and creation latencies spread around their
    /// medians (`thread_wake_ns`, `thread_create_ns`): the 10th, 90th and
    /// 99th percentiles as multiples of the median, in parts per million.
    /// A woken thread waits for the kernel (on a VM, for the hypervisor to
    /// wake its virtual CPU), which has a long right tail. Each latency is
    /// drawn from the piecewise-linear quantile function through these
    /// points (flat below the 10th percentile and above the 99th).
    /// `gmpsim calibrate`: the percentiles of the futex wake-up benchmark.
    pub thread_latency_p10_ppm: u64,
    pub thread_latency_p90_ppm: u64,
    pub thread_latency_p99_ppm: u64,
    /// How a thread's wake-up latency depends on how long it slept: the
    /// median wake-up after 5 µs, 20 µs, 100 µs, 1 ms and 10 ms asleep, in
    /// parts per million of `thread_wake_ns` (the median after 300 µs).
    /// On a VM an idle virtual CPU first polls for a while before the
    /// hypervisor halts it, so a thread woken microseconds after it slept
    /// runs sooner, one asleep for milliseconds later. The median after a
    /// sleep between two of these points is interpolated linearly; shorter
    /// than 5 µs it is the 5 µs one, longer than 10 ms the 10 ms one.
    /// `gmpsim calibrate`: the wake-up benchmark repeated with those sleeps.
    pub thread_wake_after_5us_ppm: u64,
    pub thread_wake_after_20us_ppm: u64,
    pub thread_wake_after_100us_ppm: u64,
    pub thread_wake_after_1ms_ppm: u64,
    pub thread_wake_after_10ms_ppm: u64,
    /// Interruptions of a CPU that runs a goroutine's compute loop: the
    /// kernel's timer ticks and interrupts and, on a VM, the hypervisor
    /// running something else on the physical CPU. Each takes the CPU away
    /// from the loop for a while, so a compute step lasts its duration plus
    /// the interruptions that fall into it: they arrive as a Poisson process
    /// at this rate (of those longer than 1 µs, per second of compute), and
    /// each lasts a time drawn from the piecewise-linear quantile function
    /// through the 10th, 50th, 90th, 99th and 99.9th percentiles below
    /// (flat outside them). This is what makes two compute steps of the
    /// same length finish apart now and then, and what drifts two
    /// goroutines' loops out of step. `gmpsim calibrate`: two threads, one
    /// per CPU, read the clock in a loop for 3 s each; every gap of more
    /// than 1 µs between two readings is an interruption.
    pub cpu_interruptions_per_s: u64,
    pub cpu_interruption_p10_ns: u64,
    pub cpu_interruption_p50_ns: u64,
    pub cpu_interruption_p90_ns: u64,
    pub cpu_interruption_p99_ns: u64,
    pub cpu_interruption_p999_ns: u64,
    /// Parts per million of thread wake-ups (`startm`: futex wake or a new
    /// thread) that Linux queues on the waker's CPU, where the two threads
    /// share it until the next `cpu_balance_tick_ns`, even while another
    /// CPU is idle. Reference VM, 2026-12-07 23:35-23:40 UTC (quiet): a
    /// probe starts a goroutine while the other P is idle and it computes
    /// 300 µs, 20 times a run; `perf sched record` shows the woken spinning
    /// M queued on the computing thread's CPU, up to 0.37 ms, while the
    /// other CPU idled. The computing goroutine took 335-575 µs instead of
    /// 293-311 (its time at GOMAXPROCS=1) in 35 of 58 iterations over three
    /// runs: 0.6.
    pub wake_on_waker_cpu_ppm: u64,
    /// The period of the scheduler tick that balances the CPUs: an idle CPU
    /// pulls a thread queued behind another on a busy one (nohz idle
    /// balancing, kicked from the busy CPU's tick). The reference kernel's
    /// CONFIG_HZ is 250: 4 ms.
    pub cpu_balance_tick_ns: u64,
    /// The longest a thread woken while every CPU runs a thread waits
    /// queued behind the one running on its CPU, if that one neither
    /// blocks nor another CPU goes idle first: its time slice. Reference
    /// VM, 2026-12-08 02:10 UTC (quiet): a thread woken by a spinning
    /// thread on the same CPU (both pinned; the waker had just woken)
    /// mostly runs within 14 µs, but in 3 of 300 wake-ups it waited
    /// 3.1-4.0 ms; real waitgroup-barrier's woken spinning M waited
    /// 3.1-3.3 ms in 3 of 3 phases (`perf sched`), until the thread it was
    /// queued behind blocked.
    pub cpu_slice_ns: u64,
    /// Not a cost but a property of the machine that changes how Go counts
    /// mark work: the CPU has the AVX-512 extensions (VL, BW, DQ, BITALG,
    /// VBMI, GFNI, with POPCNT) that Green Tea's packed span scan needs
    /// (`scan.HasFastScanSpanPacked`). With them a span scan that finds at
    /// least an eighth of the span's objects marked counts each object's
    /// whole size as scan work; without them every span scan counts the
    /// pointer words it reads. The pacer's fixed amounts are in scan work,
    /// so on a machine without AVX-512 `gcOverAssistWork` (64 KiB) and the
    /// idle and fractional workers' 100 KB check cover 8 times as many
    /// 64-byte objects. `gmpsim calibrate` reads it from the runtime's own
    /// `GODEBUG=gctrace=2` scan statistics (dense span scans or none).
    pub avx512_span_scan: bool,
}

impl Default for CostModel {
    /// The reference machine's costs. The reference machine is the one the
    /// committed baselines come from: since 2026-12-02 an AMD EPYC VM with 2
    /// CPUs, go1.27.3 (2026-12-01 an Intel Xeon VM, before that an AMD EPYC
    /// VM). Every field `gmpsim calibrate` fits is its fit on that machine,
    /// quiet, 2026-12-02 07:38 UTC (go + first run + exit 1,108 ns, Gosched
    /// switch 91 ns, channel hand-off 169 ns a direction, Lock+Unlock 11.0
    /// ns, 64 B malloc 15 ns, 64 B malloc during mark +17.6 ns, ring store
    /// during mark +5.2 ns, empty-heap GC pause 7.5 µs, 876 ns per dead span
    /// swept). Thread wake-up, thread creation and the stderr write are the
    /// medians of five calibrate runs on the same AMD EPYC VM, 2026-12-03
    /// 11:10-11:15 UTC, load average below 1.2 (wake 36.4-53.3 µs, creation
    /// 29.6-47.3 µs, write 516-843 ns); they replace guesses of 8 µs and 30
    /// µs. The spread of thread latencies (10th, 90th and 99th percentiles
    /// over the median: 0.69, 1.48, 3.27) is the median of three calibrate
    /// runs there, 12:36-12:38 UTC (0.69-0.72, 1.41-1.74, 3.03-3.71),
    /// replacing a guessed uniform ±50%. The waker's FUTEX_WAKE call and the
    /// SIGURG sender's tgkill are the medians of three calibrate runs on the
    /// same VM, 2026-12-07 10:39-10:41 UTC, load average 1.1 (7,170-7,851
    /// ns and 6,720-6,860 ns). The four mark costs are the medians of ten calibrate runs on
    /// an AMD EPYC VM with AVX-512 that reproduces the baselines (five real
    /// alloc-steady runs there: 58.6 cycles, median goal 22,020,096 bytes,
    /// the recorded figures), quiet (load average below 1.1, all of it the
    /// benchmark itself), 2026-12-03 06:08-06:32 UTC: per word read 3.82 ns
    /// (runs 3.27-5.27), per pointer followed 4.87 (4.33-6.34), per small
    /// object scanned 2.07 (-0.85-3.99), per large object 120.5 (-48-183;
    /// its sum with 128 words and a pointer, 595-649 ns, moves far less
    /// than its parts). They replace costs fitted to whole-cycle gctrace
    /// lines (590 per KiB, 8 per object, 138 per large object, nothing per
    /// pointer), which charged a 1 KiB object of pointers 728 ns. The CPU
    /// interruptions are the medians of five calibrate runs on the same
    /// AMD EPYC VM, 2026-12-07 06:02-06:06 UTC, load average below 0.2
    /// before them (rate 602-1138 per second, 10th percentile 1.6-2.6 µs,
    /// median 2.5-16.3 µs, 90th 32-53 µs, 99th 101-149 µs, 99.9th
    /// 1.0-2.0 ms; about 2.5% of a busy CPU's time, as a loop timing its own
    /// steps loses 1.9-2.8%); before them the model had none, and compute
    /// steps varied only by `compute_jitter_ppm`.
    fn default() -> Self {
        Self {
            go_statement_ns: 62,
            malg_ns: 633,
            goexit_ns: 25,
            context_switch_ns: 91,
            global_runq_ns: 50,
            global_runq_ns_per_g: 37,
            steal_probe_ns: 20,
            steal_success_ns: 150,
            runnext_steal_backoff_ns: 3_000,
            os_timer_slack_ns: 50_000,
            thread_create_ns: 40_845,
            thread_wake_ns: 42_625,
            futex_wake_call_ns: 7_371,
            syscall_enter_ns: 60,
            syscall_exit_ns: 80,
            park_ns: 120,
            ready_ns: 60,
            timer_add_ns: 50,
            timer_run_ns: 80,
            signal_preempt_ns: 6_000,
            signal_send_ns: 6_770,
            cooperative_check_interval_ns: 100,
            wait_group_op_ns: 20,
            lock_os_thread_ns: 30,
            chan_op_ns: 1,
            select_ns_per_case: 30,
            mutex_op_ns: 6,
            mutex_spin_ns: 740,
            malloc_small_ns: 13,
            malloc_ns_per_kib: 65,
            malloc_tiny_ns: 5,
            mcache_refill_ns: 400,
            malloc_large_ns: 1_500,
            sweep_span_ns: 40,
            sweep_span_freed_ns: 330,
            page_fault_ns_per_page: 4_500,
            scavenge_ns_per_page: 580,
            page_fault_read_first_extra_ns_per_page: 1_900,
            tlb_shootdown_ns: 12_500,
            tlb_shootdown_received_ns: 5_500,
            background_scavenge_ns_per_page: 5_800,
            write_barrier_ns: 5,
            malloc_marking_ns: 18,
            mark_ns_per_kib: 489,
            mark_ns_per_object: 4,
            mark_ns_per_pointer: 5,
            mark_ns_per_large_object: 121,
            mark_ns_per_span: 258,
            mark_ns_per_kib_in_span: 38,
            stw_sweep_termination_ns: 7_495,
            stw_mark_termination_ns: 7_495,
            stderr_write_ns: 578,
            stack_copy_ns_per_kib: 57,
            compute_jitter_ppm: 20_000,
            thread_latency_p10_ppm: 694_909,
            thread_latency_p90_ppm: 1_481_512,
            thread_latency_p99_ppm: 3_273_160,
            thread_wake_after_5us_ppm: 651_628,
            thread_wake_after_20us_ppm: 808_898,
            thread_wake_after_100us_ppm: 990_973,
            thread_wake_after_1ms_ppm: 1_349_604,
            thread_wake_after_10ms_ppm: 1_976_678,
            cpu_interruptions_per_s: 854,
            cpu_interruption_p10_ns: 1_613,
            cpu_interruption_p50_ns: 15_613,
            cpu_interruption_p90_ns: 39_649,
            cpu_interruption_p99_ns: 114_770,
            cpu_interruption_p999_ns: 1_287_807,
            wake_on_waker_cpu_ppm: 600_000,
            cpu_balance_tick_ns: 4_000_000,
            cpu_slice_ns: 3_000_000,
            avx512_span_scan: true,
        }
    }
}

/// A piecewise-linear function: `points` are `(x, value)` pairs with `x`
/// ascending from 0 (for a quantile function, `x` is the quantile in
/// millionths, up to 1,000,000); the value at `u` is interpolated between
/// the two points around it, and is the last point's beyond it.
pub fn piecewise_linear(u: u64, points: &[(u64, u64)]) -> u64 {
    let i = points
        .windows(2)
        .position(|w| u < w[1].0)
        .unwrap_or(points.len() - 2);
    let ((u0, v0), (u1, v1)) = (points[i], points[i + 1]);
    let (v0, v1) = (i128::from(v0), i128::from(v1));
    let v = v0 + (v1 - v0) * i128::from(u.min(u1) - u0) / i128::from(u1 - u0);
    v.max(0) as u64
}

impl CostModel {
    /// The median latency of waking a thread that has slept `asleep_ns`:
    /// `thread_wake_ns` scaled by the `thread_wake_after_*_ppm` curve.
    pub fn thread_wake_median_ns(&self, asleep_ns: u64) -> u64 {
        let ratio_ppm = piecewise_linear(
            asleep_ns,
            &[
                (0, self.thread_wake_after_5us_ppm),
                (5_000, self.thread_wake_after_5us_ppm),
                (20_000, self.thread_wake_after_20us_ppm),
                (100_000, self.thread_wake_after_100us_ppm),
                (300_000, 1_000_000),
                (1_000_000, self.thread_wake_after_1ms_ppm),
                (10_000_000, self.thread_wake_after_10ms_ppm),
            ],
        );
        (u128::from(self.thread_wake_ns) * u128::from(ratio_ppm) / 1_000_000) as u64
    }

    /// The quantile function of one CPU interruption's length (ns), at
    /// quantile `u` in millionths: through the 10th, 50th, 90th, 99th and
    /// 99.9th percentiles, flat below and above.
    pub fn cpu_interruption_ns(&self, u: u64) -> u64 {
        piecewise_linear(
            u,
            &[
                (0, self.cpu_interruption_p10_ns),
                (100_000, self.cpu_interruption_p10_ns),
                (500_000, self.cpu_interruption_p50_ns),
                (900_000, self.cpu_interruption_p90_ns),
                (990_000, self.cpu_interruption_p99_ns),
                (999_000, self.cpu_interruption_p999_ns),
                (1_000_000, self.cpu_interruption_p999_ns),
            ],
        )
    }
}
