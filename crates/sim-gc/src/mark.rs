//! Tricolor marking, mark work for background workers and assists, and
//! sweeping.
//!
//! White objects are unmarked; grey ones are marked and wait on the work
//! list; black ones are marked and scanned. Mirrors go1.27.3:
//! - `runtime/mgcmark.go`: `gcPrepareMarkRoots` (the globals and every
//!   goroutine stack as root jobs), `markroot` (globals: `globalsScanWork`;
//!   stacks: `scanstack`, whose work is the stack's used bytes and which shrinks
//!   a stack using less than a quarter of it), `gcDrain` (root jobs first, then
//!   grey objects, flushing background credit to parked assists once the
//!   work that earned it is done: the scheduler flushes a worker's batch
//!   when the batch's time has passed, [`Gc::mark_worker_flush_credit`]) and
//!   `gcDrainN` (assists: grey objects first, then root jobs, until the
//!   work planned when the assist began is done, at least
//!   `gcOverAssistWork`, or a preemption request stops it), `greyobject` (noscan objects go straight to black),
//!   `scanobject` (large objects in 128 KiB oblets, `maxObletBytes`),
//!   `gcmarknewobject` (allocate black), `gcMarkTinyAllocs`, `gcAssistAlloc`,
//!   `gcAssistAlloc1`, `gcParkAssist`, `gcFlushBgCredit`;
//! - `runtime/mbarrier.go`, `runtime/mwbbuf.go`: the hybrid write barrier
//!   records the overwritten pointer (Yuasa deletion) and the written one
//!   (Dijkstra insertion) in its P's `wbBuf` (512 entries, two per store);
//!   `wbBufFlush1` shades them when the buffer is full and when `gcMarkDone`'s
//!   ragged barrier flushes every P;
//! - `runtime/mgc.go`: `gcMarkDone`'s condition (no root job and no grey
//!   object left), the `flushedWork` flags its ragged barrier collects (work
//!   found since the previous round means another round), the check at mark
//!   termination that no write-barrier buffer still hides work (issue
//!   27993), `gcBgMarkWorker`'s time accounting via `markWorkerStop`;
//! - `runtime/mgcsweep.go`: `sweepone` for the background sweeper `bgsweep`.
//!
//! Scan work is counted in bytes as Go counts it: an object's scannable bytes
//! (its pointer words), a stack's used bytes, the globals' scannable size;
//! a dense span scan (`scanSpan` with AVX-512, `GcConfig::dense_span_scan`)
//! counts each marked object's whole size. `bytesMarked` (heap2) counts
//! whole slots, allocate-black included.
//!
//! Where grey work waits, as in go1.27.3 with Green Tea (`runtime/mgcwork.go`,
//! `runtime/mgcmark_greenteagc.go`):
//! - An object Green Tea scans span by span (16 to 512 bytes with pointers,
//!   `gcUsesSpanInlineMarkBits`) only sets its grey bit; the first grey object
//!   of a span not yet queued queues the span on the greying P's span queue
//!   (`tryDeferToSpanScan`). That queue is a local ring of 256 spans only
//!   its P takes from, and a chain other Ps steal from: every 64 puts up to
//!   16 spans spill to an empty chain, a full ring spills half of itself
//!   (`spanQueue.put`). A span scan (`scanSpan`) scans all its grey objects.
//! - Any other object, and every oblet, goes into the greying P's `gcWork`
//!   (two work buffers of 253 pointers, `_WorkbufSize`), which only that P
//!   drains: a full buffer is published to the global list (`putfull`), and
//!   `balance` publishes one (or half of one) when the global list is empty.
//!   The global list holds whole buffers; a P that takes one (`trygetfull`)
//!   makes it its own `gcWork`, so the oblets in it are that P's alone
//!   until it publishes them in turn. Spilling spans to the chain and
//!   publishing a buffer set the P's `mayNeedWorker` hint, which the
//!   scheduler takes after each drain step (`enlistWorker`).
//! - A drain takes, in `gcDrain`'s order, its P's `gcWork`, its ring, the
//!   global list, its own chain; then the same after flushing its P's
//!   write-barrier buffer; root jobs; then a span stolen from another P's
//!   chain. `gcMarkDone`'s condition sees roots, the global list and the
//!   chains; the ragged barrier publishes each P's `gcWork` and ring.
//!
//! Simplified: a published buffer holds up to 253 of the oldest objects of
//! the P's two buffers, which the model keeps as one list (Go publishes
//! whichever buffer is full); a thief takes one span from a victim's chain (Go's `refill`
//! takes up to half of a ring) and visits victims in P order after its own
//! (Go's order is random); the span queues take no note of concurrent
//! scanners (Go's span ownership bits); `flushedWork` is one flag for all Ps,
//! set by every span queued and every object queued on the global list (Go
//! sets a P's flag when it queues a span or publishes a work buffer), so a
//! push by a P after it passed a round counts for that round rather than
//! the next; a write-barrier buffer keeps only the pointers unmarked when
//! recorded (the flush skips marked ones anyway) and flushing costs nothing
//! beyond the barrier's `write_barrier_ns`; a span is dense when at least an
//! eighth of its slots (and more than one) are grey when it is scanned,
//! `nelems` counting every slot.
//!
//! A stack root of a goroutine that runs user code cannot be scanned in place
//! (`suspendG` must stop it first): the scheduler names those goroutines with
//! [`Gc::set_running_goroutines`] before each drain; a drain that reaches
//! such a root claims it for its P ([`Gc::claimed_stack`]) and stops. Once
//! the scheduler has stopped the goroutine, the P's next drain scans the
//! claimed stack before anything else. A claimed root is not work another
//! P could take (`gcMarkWorkAvailable` counts roots not yet taken), but
//! marking cannot look complete while one is pending (in Go the scanner is
//! not among the waiting workers `gcMarkDone` needs).

use crate::collector::{Gc, GcPhase};

/// The largest object whose span Green Tea scans as a whole (objects with
/// their pointer bits in the span, `heapBitsInSpan`).
pub const GREEN_TEA_MAX_OBJECT_BYTES: u64 = 512;
use crate::heap::{ObjRef, STACK_MIN_BYTES, SpanId, SpanState, SweptSpan};
use crate::pacer::WorkerMode;
use serde::{Deserialize, Serialize};
use sim_core::ids::{Goid, PId};
use std::collections::{BTreeMap, VecDeque};

/// `maxObletBytes`: large objects are scanned 128 KiB at a time.
pub const MAX_OBLET_BYTES: u64 = 128 << 10;
/// `wbBufEntries`: pointers a P's write-barrier buffer holds before it is
/// flushed (each barrier records two: the new value and the old one).
pub const WB_BUF_ENTRIES: u32 = 512;
/// Pointers in one work buffer: (`_WorkbufSize` 2048 − a 24-byte header) / 8.
pub const WORKBUF_OBJS: usize = 253;
/// Green Tea scans objects of this size and up (to 512 bytes) span by span.
const GREEN_TEA_MIN_OBJECT_BYTES: u64 = 16;
/// A span queue's local ring (`spanQueue.ring`).
const SPAN_RING_LEN: usize = 256;
/// `spillPeriod` and `spillMax` of `spanQueue.put`.
const SPAN_SPILL_PERIOD: u32 = 64;
const SPAN_SPILL_MAX: usize = 16;

/// An object's colour in the current mark phase.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Color {
    White,
    Grey,
    Black,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct GreyItem {
    obj: ObjRef,
    /// First pointer word to scan (an oblet of a large object when > 0).
    start_word: u32,
}

/// A unit of mark work a drain takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Work {
    /// An object (or oblet) from a work buffer.
    Object(GreyItem),
    /// A span from a span queue: all its grey objects.
    Span(SpanId),
}

/// Whether Green Tea scans objects of `elem_bytes` span by span
/// (`gcUsesSpanInlineMarkBits`: 16 to 512 bytes, mark bits in the span).
fn scanned_by_span(elem_bytes: u64) -> bool {
    (GREEN_TEA_MIN_OBJECT_BYTES..=GREEN_TEA_MAX_OBJECT_BYTES).contains(&elem_bytes)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RootJob {
    Globals,
    Stack(Goid),
}

/// One P's write-barrier buffer (`p.wbBuf`).
#[derive(Clone, Debug, Default)]
struct WbBuf {
    /// Pointers recorded since the last flush (nil ones included).
    entries: u32,
    /// Of those, the ones unmarked when recorded: the flush shades them.
    unmarked: Vec<ObjRef>,
}

/// The mark phase's work lists.
#[derive(Clone, Debug, Default)]
pub(crate) struct MarkState {
    /// `work.full`: published work buffers (at most `WORKBUF_OBJS` each),
    /// a LIFO of buffers; a P that takes one makes it its own `gcWork`.
    full: Vec<Vec<GreyItem>>,
    /// Per P, indexed by `PId`.
    wb_bufs: Vec<WbBuf>,
    /// Each P's `gcWork` (its two work buffers, oldest first), indexed by
    /// `PId`: objects only that P drains until they are published.
    local: Vec<Vec<GreyItem>>,
    /// Each P's span queue: its local ring (only it takes from it) and its
    /// chain (other Ps steal from it), oldest first.
    span_rings: Vec<VecDeque<SpanId>>,
    span_chains: Vec<VecDeque<SpanId>>,
    /// `putsSinceDrain` of each P's span queue.
    span_puts: Vec<u32>,
    /// `gcWork.mayNeedWorker` of each P: it published work other Ps can
    /// take (spilled spans, a full work buffer, `balance`) since its drain
    /// last asked ([`Gc::take_may_need_worker`]).
    may_need_worker: Vec<bool>,
    /// Spans queued with no P acting (every P can take them).
    global_spans: VecDeque<SpanId>,
    /// The P whose goroutine is marking or storing now: where objects it
    /// greys go (`None`: the global list).
    acting_p: Option<PId>,
    /// Scan work left of each assist in progress (`gcDrainN`'s target).
    assist_plans: BTreeMap<Goid, u64>,
    /// Each P's background worker's scan work not yet flushed to parked
    /// assists and `bgScanCredit`: its current batch.
    worker_credit_bytes: Vec<u64>,
    /// `flushedWork`: an object turned grey since the ragged barrier last
    /// collected the flag.
    flushed_work: bool,
    root_jobs: VecDeque<RootJob>,
    /// Goroutines running user code now (set by the scheduler): their
    /// stacks need `suspendG` before a scan.
    running: Vec<Goid>,
    /// Per P: a stack root its drain took whose goroutine was running, to
    /// scan once the scheduler has suspended it.
    claimed_stacks: Vec<Option<Goid>>,
    /// Oblets still queued per large object (it stays grey until they are done).
    oblets_pending: BTreeMap<ObjRef, u32>,
    /// `work.bytesMarked`.
    pub(crate) bytes_marked: u64,
}

impl MarkState {
    pub(crate) fn reset(&mut self) {
        debug_assert!(
            self.span_rings
                .iter()
                .chain(&self.span_chains)
                .all(VecDeque::is_empty)
                && self.global_spans.is_empty(),
            "span queues are empty between cycles"
        );
        *self = MarkState::default();
    }
}

/// Scan work done, by kind (bytes).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ScanWork {
    /// Heap scan work as Go counts it (`heapScanWork`).
    pub heap_bytes: u64,
    /// Of `heap_bytes`, what Green Tea's dense span scans count beyond the
    /// pointer words they read (an object's non-pointer tail): scan work for
    /// the pacer, not CPU work.
    pub dense_extra_bytes: u64,
    pub stack_bytes: u64,
    pub globals_bytes: u64,
    /// Objects scanned (grey → black) and stacks scanned.
    pub objects_scanned: u64,
    pub stacks_scanned: u64,
    /// Of `objects_scanned`, those over 512 bytes: Green Tea scans spans of
    /// smaller objects a span at a time, larger ones one by one through
    /// their malloc header (`heapBitsInSpan`'s 512-byte limit).
    pub large_objects_scanned: u64,
    /// Green Tea span scans (`scanSpan`): each reads the span's metadata
    /// and mark bits and then its grey objects, which in a sparse span lie
    /// far apart.
    pub spans_scanned: u64,
    /// Of the pointer words read (`scanned_bytes`), those read by span
    /// scans, through the span's inline pointer bitmap, a span at a time:
    /// far cheaper per word than scanning a large object, a stack or the
    /// globals one word at a time.
    pub in_span_bytes: u64,
    /// Non-nil pointers found (in heap objects, stacks and globals) and
    /// followed to their object: each one looks up its span and checks or
    /// sets a mark bit, whether or not the object was marked already.
    pub pointers_followed: u64,
}

impl ScanWork {
    /// Scan work as the pacer counts it (`heapScanWork` + stacks + globals).
    pub fn total_bytes(&self) -> u64 {
        self.heap_bytes + self.stack_bytes + self.globals_bytes
    }
    /// Bytes of pointer words actually read: what mark CPU is charged for.
    pub fn scanned_bytes(&self) -> u64 {
        self.total_bytes() - self.dense_extra_bytes
    }
    fn add(&mut self, other: ScanWork) {
        self.heap_bytes += other.heap_bytes;
        self.dense_extra_bytes += other.dense_extra_bytes;
        self.stack_bytes += other.stack_bytes;
        self.globals_bytes += other.globals_bytes;
        self.objects_scanned += other.objects_scanned;
        self.stacks_scanned += other.stacks_scanned;
        self.large_objects_scanned += other.large_objects_scanned;
        self.spans_scanned += other.spans_scanned;
        self.in_span_bytes += other.in_span_bytes;
        self.pointers_followed += other.pointers_followed;
    }
}

/// What [`Gc::assist`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum AssistOutcome {
    /// No assist: the CPU limiter is on, blackening is off, or there is no
    /// debt. The allocation goes ahead.
    Skipped,
    /// Background credit paid the whole debt; no scanning.
    Stolen { stolen_work_bytes: i64 },
    /// The goroutine scanned (in "GC assist marking"); charge the time with
    /// [`Gc::add_assist_time`]. `in_debt`: the planned work is not done yet
    /// (assist again), or it is and the goroutine still owes (no work was
    /// left: call [`Gc::park_assist`]).
    Scanned {
        stolen_work_bytes: i64,
        work: ScanWork,
        in_debt: bool,
        /// Marking is complete: the assist calls `gcMarkDone`.
        mark_done_ready: bool,
    },
}

/// What [`Gc::park_assist`] decided.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ParkAssist {
    /// Queued; park the goroutine with "GC assist wait" until readied.
    Parked,
    /// Background credit appeared meanwhile: assist again.
    Retry,
    /// The cycle ended meanwhile: go on allocating.
    Proceed,
}

/// What a background worker's drain did.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct DrainOutcome {
    pub work: ScanWork,
    pub mark_done_ready: bool,
}

impl Gc {
    /// The colour of `obj` (white outside a mark phase means "unmarked").
    pub fn color(&self, obj: ObjRef) -> Color {
        let span = self.heap.span(obj.span);
        if !span.is_marked(obj.slot) {
            Color::White
        } else if span.is_grey(obj.slot) {
            Color::Grey
        } else {
            Color::Black
        }
    }

    /// `greyobject`: mark a white object; a pointerful one goes on the grey
    /// list, a noscan one is black at once.
    pub(crate) fn shade(&mut self, obj: ObjRef) {
        let span = self.heap.span_mut(obj.span);
        debug_assert!(
            span.state == SpanState::InUse && span.is_allocated(obj.slot),
            "shading free {obj}"
        );
        if span.is_marked(obj.slot) {
            return;
        }
        span.mark_bits.set(obj.slot as u32);
        self.mark.bytes_marked += span.elem_bytes;
        if !span.pointers_of(obj.slot).is_empty() {
            span.grey_bits.set(obj.slot as u32);
            if !scanned_by_span(span.elem_bytes) {
                self.push_grey(GreyItem { obj, start_word: 0 });
            } else if !span.queued {
                // tryDeferToSpanScan: the first grey object queues its span.
                span.queued = true;
                self.put_span(obj.span);
            }
        }
    }

    /// `spanQueue.put` on the acting P: into its local ring; every 64 puts
    /// up to 16 spans (half the ring) spill to its chain if that is empty,
    /// and a full ring spills half of itself.
    fn put_span(&mut self, span: SpanId) {
        self.mark.flushed_work = true;
        let Some(i) = self.mark.acting_p.map(PId::index) else {
            self.mark.global_spans.push_back(span);
            return;
        };
        if self.mark.span_rings.len() <= i {
            self.mark.span_rings.resize_with(i + 1, VecDeque::new);
            self.mark.span_chains.resize_with(i + 1, VecDeque::new);
            self.mark.span_puts.resize(i + 1, 0);
        }
        if self.mark.span_rings[i].len() == SPAN_RING_LEN {
            self.spill_spans(i, SPAN_RING_LEN / 2);
            self.set_may_need_worker(i);
        } else {
            self.mark.span_puts[i] += 1;
            if self.mark.span_puts[i] >= SPAN_SPILL_PERIOD {
                self.mark.span_puts[i] = 0;
                let n = (self.mark.span_rings[i].len() / 2).min(SPAN_SPILL_MAX);
                if n > 4 && self.mark.span_chains[i].is_empty() {
                    self.spill_spans(i, n);
                    self.set_may_need_worker(i);
                }
            }
        }
        self.mark.span_rings[i].push_back(span);
    }

    /// `spanQueue.drain`: the oldest `n` spans of P `i`'s ring go to its
    /// chain, where other Ps can steal them.
    fn spill_spans(&mut self, i: usize, n: usize) {
        let n = n.min(self.mark.span_rings[i].len());
        let spilled: Vec<SpanId> = self.mark.span_rings[i].drain(..n).collect();
        self.mark.span_chains[i].extend(spilled);
    }

    /// Queues an object or oblet in the acting P's `gcWork` (the global
    /// list when no P acts), publishing its older buffer when both are full.
    fn push_grey(&mut self, item: GreyItem) {
        let Some(p) = self.mark.acting_p else {
            match self.mark.full.last_mut() {
                Some(buf) if buf.len() < WORKBUF_OBJS => buf.push(item),
                _ => self.mark.full.push(vec![item]),
            }
            self.mark.flushed_work = true;
            return;
        };
        let i = p.index();
        if self.mark.local.len() <= i {
            self.mark.local.resize_with(i + 1, Vec::new);
        }
        let local = &mut self.mark.local[i];
        if local.len() == 2 * WORKBUF_OBJS {
            self.publish(i, WORKBUF_OBJS);
            self.set_may_need_worker(i);
        }
        self.mark.local[i].push(item);
    }

    /// `putfull`: the oldest `n` items of P `i`'s `gcWork` go to the global
    /// list, as work buffers of up to `WORKBUF_OBJS` items.
    fn publish(&mut self, i: usize, n: usize) {
        let mut n = n.min(self.mark.local[i].len());
        if n == 0 {
            return;
        }
        while n > 0 {
            let take = n.min(WORKBUF_OBJS);
            let buf = self.mark.local[i].drain(..take).collect();
            self.mark.full.push(buf);
            n -= take;
        }
        self.mark.flushed_work = true;
    }

    /// `gcWork.balance`, when the global list holds no work buffer: publish
    /// the acting P's older buffer if it has one, else half of the current
    /// one if it holds more than 4 objects.
    fn balance(&mut self) {
        let Some(i) = self.mark.acting_p.map(PId::index) else {
            return;
        };
        let len = self.mark.local.get(i).map_or(0, Vec::len);
        if len > WORKBUF_OBJS {
            self.publish(i, len - WORKBUF_OBJS);
        } else if len > 4 {
            self.publish(i, len - len / 2);
        } else {
            return;
        }
        self.set_may_need_worker(i);
    }

    fn set_may_need_worker(&mut self, i: usize) {
        if self.mark.may_need_worker.len() <= i {
            self.mark.may_need_worker.resize(i + 1, false);
        }
        self.mark.may_need_worker[i] = true;
    }

    /// Takes P `p`'s `mayNeedWorker` hint, as `gcDrain` and `gcDrainN` do
    /// after each piece of work: true if the P published work other Ps can
    /// take since it last asked, during the mark phase.
    pub fn take_may_need_worker(&mut self, p: PId) -> bool {
        let hint = self
            .mark
            .may_need_worker
            .get_mut(p.index())
            .is_some_and(std::mem::take);
        hint && self.phase == GcPhase::Mark
    }

    /// The next work for the acting P, in `gcDrain`'s order: its `gcWork`,
    /// its ring of spans, the global list, its own chain; then the same
    /// after flushing its write-barrier buffer; with `steal`, finally a
    /// span from another P's chain (Ps in order after the acting one: Go
    /// picks a random order).
    fn take_work(&mut self, steal: bool) -> Option<Work> {
        let p = self.mark.acting_p.map(PId::index);
        for flushed in [false, true] {
            if let Some(i) = p {
                if flushed {
                    self.wb_buf_flush(PId(i as u32));
                }
                if let Some(item) = self.mark.local.get_mut(i).and_then(Vec::pop) {
                    return Some(Work::Object(item));
                }
                if let Some(span) = self
                    .mark
                    .span_rings
                    .get_mut(i)
                    .and_then(VecDeque::pop_front)
                {
                    return Some(Work::Span(span));
                }
            }
            if let Some(item) = self.take_full_buffer(p) {
                return Some(Work::Object(item));
            }
            if let Some(span) = self.mark.global_spans.pop_front() {
                return Some(Work::Span(span));
            }
            if let Some(i) = p
                && let Some(span) = self
                    .mark
                    .span_chains
                    .get_mut(i)
                    .and_then(VecDeque::pop_front)
            {
                return Some(Work::Span(span));
            }
        }
        if !steal {
            return None;
        }
        let n = self.mark.span_chains.len();
        let first = p.map_or(0, |i| i + 1);
        (0..n)
            .map(|k| (first + k) % n)
            .filter(|&v| Some(v) != p)
            .find_map(|v| self.mark.span_chains[v].pop_front())
            .map(Work::Span)
    }

    /// `trygetfull` in `tryGetObj`: the newest published buffer becomes the
    /// acting P's `gcWork` (empty when it gets here), and its newest object
    /// is the work to do now; the rest stays with that P.
    fn take_full_buffer(&mut self, p: Option<usize>) -> Option<GreyItem> {
        let mut buf = self.mark.full.pop()?;
        let item = buf.pop();
        match p {
            Some(i) => {
                if self.mark.local.len() <= i {
                    self.mark.local.resize_with(i + 1, Vec::new);
                }
                debug_assert!(self.mark.local[i].is_empty());
                self.mark.local[i] = buf;
            }
            None if !buf.is_empty() => self.mark.full.push(buf),
            None => {}
        }
        item
    }

    /// Whether P `p` has grey work only it can take (its `gcWork` and its
    /// ring of spans).
    fn has_local_work(&self, p: PId) -> bool {
        self.mark
            .local
            .get(p.index())
            .is_some_and(|l| !l.is_empty())
            || self
                .mark
                .span_rings
                .get(p.index())
                .is_some_and(|r| !r.is_empty())
    }

    /// `gcmarknewobject`: a new object is black.
    pub(crate) fn mark_new_object(&mut self, obj: ObjRef) {
        let span = self.heap.span_mut(obj.span);
        debug_assert!(!span.is_marked(obj.slot), "new {obj} already marked");
        span.mark_bits.set(obj.slot as u32);
        self.mark.bytes_marked += span.elem_bytes;
    }

    /// The hybrid write barrier of a store by a goroutine on P `p`: during
    /// the mark phase the old and the new pointer go into `p`'s buffer,
    /// flushed (shaded) when it is full; otherwise (mark termination) they
    /// are shaded at once.
    pub(crate) fn write_barrier(&mut self, p: PId, old: Option<ObjRef>, new: Option<ObjRef>) {
        self.mark.acting_p = Some(p);
        if self.phase != GcPhase::Mark {
            for obj in [old, new].into_iter().flatten() {
                self.shade(obj);
            }
            return;
        }
        let i = p.index();
        if self.mark.wb_bufs.len() <= i {
            self.mark.wb_bufs.resize_with(i + 1, WbBuf::default);
        }
        for obj in [old, new].into_iter().flatten() {
            if !self.heap.span(obj.span).is_marked(obj.slot) {
                self.mark.wb_bufs[i].unmarked.push(obj);
            }
        }
        let buf = &mut self.mark.wb_bufs[i];
        buf.entries += 2;
        if buf.entries >= WB_BUF_ENTRIES {
            self.wb_buf_flush(p);
        }
    }

    /// `wbBufFlush1`: shade what P `p`'s write-barrier buffer recorded.
    fn wb_buf_flush(&mut self, p: PId) {
        let Some(buf) = self.mark.wb_bufs.get_mut(p.index()) else {
            return;
        };
        buf.entries = 0;
        let mut objs = std::mem::take(&mut buf.unmarked);
        for obj in objs.drain(..) {
            self.shade(obj);
        }
        // Keep the buffer's memory for the next fill.
        self.mark.wb_bufs[p.index()].unmarked = objs;
    }

    /// The safe-point function of `gcMarkDone`'s ragged barrier, run for P
    /// `p`: flush its write-barrier buffer, then publish its whole `gcWork`
    /// (`dispose`).
    pub fn ragged_barrier_flush(&mut self, p: PId) {
        self.mark.acting_p = Some(p);
        self.wb_buf_flush(p);
        let i = p.index();
        if self.mark.local.get(i).is_some_and(|l| !l.is_empty()) {
            self.publish(i, usize::MAX);
        }
        if self.mark.span_rings.get(i).is_some_and(|r| !r.is_empty()) {
            self.spill_spans(i, usize::MAX);
            self.mark.flushed_work = true;
        }
    }

    /// Collects and clears `flushedWork`: did any object turn grey since
    /// the last call? A ragged barrier round that finds it set means
    /// another round.
    pub fn take_flushed_work(&mut self) -> bool {
        std::mem::take(&mut self.mark.flushed_work)
    }

    /// [`Gc::ragged_barrier_flush`] for every P (at mark termination).
    pub(crate) fn flush_every_p(&mut self) {
        let ps = self
            .mark
            .wb_bufs
            .len()
            .max(self.mark.local.len())
            .max(self.mark.span_rings.len());
        for i in 0..ps {
            self.ragged_barrier_flush(PId(i as u32));
        }
    }

    /// True if `obj` waits, unmarked, in some P's write-barrier buffer: it
    /// counts as shaded (the flush greys it).
    fn in_wb_buf(&self, obj: ObjRef) -> bool {
        self.mark.wb_bufs.iter().any(|b| b.unmarked.contains(&obj))
    }

    /// `gcPrepareMarkRoots`: the globals, then every goroutine's stack.
    pub(crate) fn prepare_mark_roots(&mut self) -> u64 {
        self.mark.acting_p = None;
        self.mark.root_jobs.push_back(RootJob::Globals);
        for (g, state) in self.graph.goroutines.iter_mut() {
            state.stack_scanned = false;
            self.mark.root_jobs.push_back(RootJob::Stack(g));
        }
        self.mark.root_jobs.len() as u64
    }

    /// `gcMarkTinyAllocs`: each P's current tiny block is shaded.
    pub(crate) fn mark_tiny_allocs(&mut self) {
        for p in 0..self.heap.num_mcaches() {
            self.mark.acting_p = Some(PId(p as u32));
            if let Some(block) = self.heap.mcache(PId(p as u32)).tiny {
                self.shade(block);
            }
        }
    }

    /// True while root jobs or grey objects on the global list remain
    /// (`gcMarkWorkAvailable(nil)`: what every P can see).
    pub fn has_mark_work(&self) -> bool {
        !self.mark.full.is_empty()
            || !self.mark.root_jobs.is_empty()
            || !self.mark.global_spans.is_empty()
            || self.mark.span_chains.iter().any(|c| !c.is_empty())
    }

    /// `gcMarkWorkAvailable(p)`: global work, or work in P `p`'s `gcWork`.
    pub fn has_mark_work_for(&self, p: PId) -> bool {
        self.has_mark_work() || self.has_local_work(p)
    }

    /// `gcMarkDone`'s condition: in the mark phase with nothing left to
    /// scan that every P can see (work buffers of other Ps and write-barrier
    /// buffers may still hide some: the ragged barrier flushes them).
    pub fn mark_done_ready(&self) -> bool {
        self.phase == GcPhase::Mark
            && !self.has_mark_work()
            && self.mark.claimed_stacks.iter().all(Option::is_none)
    }

    /// [`Gc::mark_done_ready`] for a goroutine on P `p`, which does not
    /// call `gcMarkDone` while its own `gcWork` holds work.
    pub fn mark_done_ready_on(&self, p: PId) -> bool {
        self.mark_done_ready() && !self.has_local_work(p)
    }

    /// Drains until `budget_bytes` of work are done or nothing is left.
    fn drain(&mut self, budget_bytes: u64, roots_first: bool) -> ScanWork {
        let mut done = ScanWork::default();
        while done.total_bytes() < budget_bytes {
            if self.acting_claim_blocked() {
                break; // suspendG first: the scheduler stops the goroutine
            }
            // A claimed stack whose goroutine has stopped comes before
            // anything else (Go scans it inside the markroot that took it).
            if let Some(work) = self.take_stopped_claim() {
                done.add(work);
                continue;
            }
            if self.mark.full.is_empty() {
                self.balance();
            }
            let did = if roots_first && !self.mark.root_jobs.is_empty() {
                self.next_root_job()
            } else {
                self.next_work(false)
                    .or_else(|| self.next_root_job())
                    .or_else(|| self.next_work(true))
            };
            match did {
                Some(work) => done.add(work),
                None => break,
            }
        }
        self.pacer.heap_scan_work_bytes += done.heap_bytes as i64;
        self.pacer.stack_scan_work_bytes += done.stack_bytes as i64;
        self.pacer.globals_scan_work_bytes += done.globals_bytes as i64;
        done
    }

    /// The goroutines that run user code now, whose stacks a root job may
    /// not scan until the scheduler has suspended them (`suspendG`). The
    /// scheduler sets this before every drain.
    pub fn set_running_goroutines(&mut self, running: &[Goid]) {
        self.mark.running.clear();
        self.mark.running.extend_from_slice(running);
    }

    /// The stack root P `p`'s drain claimed and has not scanned yet: its
    /// goroutine was running user code.
    pub fn claimed_stack(&self, p: PId) -> Option<Goid> {
        self.mark.claimed_stacks.get(p.index()).copied().flatten()
    }

    /// The acting P holds a claimed stack whose goroutine still runs.
    fn acting_claim_blocked(&self) -> bool {
        let Some(p) = self.mark.acting_p else {
            return false;
        };
        self.claimed_stack(p)
            .is_some_and(|g| self.mark.running.contains(&g))
    }

    /// Scans the acting P's claimed stack if its goroutine has stopped.
    fn take_stopped_claim(&mut self) -> Option<ScanWork> {
        let p = self.mark.acting_p?;
        let slot = self.mark.claimed_stacks.get_mut(p.index())?;
        let g = (*slot).filter(|g| !self.mark.running.contains(g))?;
        *slot = None;
        Some(self.scan_stack(g))
    }

    fn next_root_job(&mut self) -> Option<ScanWork> {
        let job = self.mark.root_jobs.pop_front()?;
        if let RootJob::Stack(g) = job
            && self.mark.running.contains(&g)
            && let Some(p) = self.mark.acting_p
        {
            let i = p.index();
            if self.mark.claimed_stacks.len() <= i {
                self.mark.claimed_stacks.resize(i + 1, None);
            }
            debug_assert!(self.mark.claimed_stacks[i].is_none(), "one claim per P");
            self.mark.claimed_stacks[i] = Some(g);
            return Some(ScanWork::default());
        }
        Some(match job {
            RootJob::Globals => {
                // The program's pointer globals and the runtime's `allgs`.
                let globals: Vec<ObjRef> = (self.graph.globals.iter().flatten().copied())
                    .chain(self.graph.allgs.backing)
                    .chain(self.cached_sudogs())
                    .collect();
                let followed = globals.len() as u64;
                for obj in globals {
                    self.shade(obj);
                }
                ScanWork {
                    globals_bytes: self.pacer.globals_scan_bytes,
                    pointers_followed: followed,
                    ..ScanWork::default()
                }
            }
            RootJob::Stack(g) => self.scan_stack(g),
        })
    }

    /// `scanstack`: shade everything the stack points to; the stack is black
    /// afterwards. A stack using under a quarter of itself is halved.
    fn scan_stack(&mut self, g: Goid) -> ScanWork {
        let Some(state) = self.graph.goroutines.get(&g) else {
            return ScanWork::default(); // exited since the roots were queued
        };
        if state.stack_scanned {
            return ScanWork::default();
        }
        let used = state.stack_used_bytes;
        let size = state.stack.size_bytes;
        let mut followed = 0;
        for obj in self.stack_roots(g) {
            self.shade(obj);
            followed += 1;
        }
        if let Some(state) = self.graph.goroutines.get_mut(&g) {
            state.stack_scanned = true;
        }
        if size / 2 >= STACK_MIN_BYTES && used < size / 4 {
            self.replace_stack(g, size / 2, used);
        }
        ScanWork {
            stack_bytes: used,
            stacks_scanned: 1,
            pointers_followed: followed,
            ..ScanWork::default()
        }
    }

    /// Scans the acting P's next work item, if it finds one.
    fn next_work(&mut self, steal: bool) -> Option<ScanWork> {
        Some(match self.take_work(steal)? {
            Work::Object(item) => self.scan_object(item),
            Work::Span(span) => self.scan_span(span),
        })
    }

    /// `scanSpan`: every grey object of `span`, at once. A dense span (at
    /// least an eighth of its slots marked, more than one) counts each
    /// object's whole size as scan work when `dense_span_scan`; a sparse
    /// one, the pointer words it read.
    fn scan_span(&mut self, id: SpanId) -> ScanWork {
        let span = self.heap.span_mut(id);
        span.queued = false;
        let nelems = span.nelems;
        let elem_bytes = span.elem_bytes;
        let slots: Vec<u16> = span.grey_bits.ones().map(|s| s as u16).collect();
        let mut done = ScanWork::default();
        for &slot in &slots {
            done.add(self.scan_object(GreyItem {
                obj: ObjRef { span: id, slot },
                start_word: 0,
            }));
        }
        let marked = slots.len() as u64;
        done.spans_scanned = u64::from(marked > 0);
        done.in_span_bytes = done.heap_bytes;
        if self.config.dense_span_scan && marked > 1 && marked >= u64::from(nelems / 8) {
            let whole = marked * elem_bytes;
            done.dense_extra_bytes = whole.saturating_sub(done.heap_bytes);
            done.heap_bytes = whole.max(done.heap_bytes);
        }
        done
    }

    /// `scanobject`: shade what a grey object points to (the first 128 KiB
    /// of a large object, queuing the rest as oblets).
    fn scan_object(&mut self, item: GreyItem) -> ScanWork {
        let obj = item.obj;
        let oblet_words = (MAX_OBLET_BYTES / 8) as u32;
        // Most objects: whole, small enough for one oblet, all words nil.
        // Scanning one only makes it black.
        if item.start_word == 0 {
            let span = self.heap.span_mut(obj.span);
            let words = span.pointers_of(obj.slot).len() as u32;
            if words <= oblet_words && span.pointers_known_nil(obj.slot) {
                span.grey_bits.clear_bit(obj.slot as u32);
                return ScanWork {
                    heap_bytes: words as u64 * 8,
                    objects_scanned: 1,
                    large_objects_scanned: (span.elem_bytes > GREEN_TEA_MAX_OBJECT_BYTES) as u64,
                    ..ScanWork::default()
                };
            }
        }
        let span = self.heap.span(obj.span);
        let words = span.pointers_of(obj.slot).len() as u32;
        let known_nil = span.pointers_known_nil(obj.slot);
        let elem_bytes = span.elem_bytes;
        let end = words.min(item.start_word.saturating_add(oblet_words));
        let mut finished = true;
        if item.start_word == 0 && words > oblet_words {
            let mut start = oblet_words;
            let mut queued = 0;
            while start < words {
                self.push_grey(GreyItem {
                    obj,
                    start_word: start,
                });
                start += oblet_words;
                queued += 1;
            }
            self.mark.oblets_pending.insert(obj, queued);
            finished = false;
        } else if item.start_word > 0 {
            let pending = self
                .mark
                .oblets_pending
                .get_mut(&obj)
                .expect("oblet of a tracked object");
            *pending -= 1;
            if *pending == 0 {
                self.mark.oblets_pending.remove(&obj);
            } else {
                finished = false;
            }
        }
        // In word order, a chunk of words at a time: shading needs the heap
        // mutably, so a chunk's targets are copied out first (shading never
        // changes the words of the object being scanned).
        const CHUNK_WORDS: usize = 16;
        let mut word = item.start_word as usize;
        let mut followed = 0;
        let end_word = if known_nil { word } else { end as usize };
        while word < end_word {
            let n = CHUNK_WORDS.min(end_word - word);
            let mut targets = [obj; CHUNK_WORDS];
            let mut found = 0;
            for target in self.heap.span(obj.span).pointers_of(obj.slot)[word..word + n]
                .iter()
                .flatten()
            {
                targets[found] = *target;
                found += 1;
            }
            for target in &targets[..found] {
                self.shade(*target);
            }
            followed += found as u64;
            word += n;
        }
        if finished {
            self.heap
                .span_mut(obj.span)
                .grey_bits
                .clear_bit(obj.slot as u32);
        }
        let large = finished && elem_bytes > GREEN_TEA_MAX_OBJECT_BYTES;
        ScanWork {
            heap_bytes: (end - item.start_word) as u64 * 8,
            objects_scanned: finished as u64,
            large_objects_scanned: large as u64,
            pointers_followed: followed,
            ..ScanWork::default()
        }
    }

    /// `gcAssistAlloc` for goroutine `g`, whose last allocation left it in
    /// debt: work out the scan work owed (at least 64 KiB), steal background
    /// credit, and scan the rest (`gcDrainN`).
    pub fn assist(&mut self, p: PId, g: Goid) -> AssistOutcome {
        self.assist_up_to(p, g, u64::MAX)
    }

    /// [`Gc::assist`] scanning at most `max_work_bytes` (at least one object
    /// or root job), as `gcDrainN` does when a preemption request stops it
    /// early: the goroutine is credited for what it did and stays in debt
    /// for the rest.
    pub fn assist_up_to(&mut self, p: PId, g: Goid, max_work_bytes: u64) -> AssistOutcome {
        self.mark.acting_p = Some(p);
        // A stack root this assist claimed is a root job under way (markroot
        // waits in suspendG, then scans): once its goroutine has stopped, it
        // is scanned before the assist may end for any reason, the CPU
        // limiter included, or marking could never finish.
        if let Some(work) = self.take_stopped_claim() {
            if let Some(left) = self.mark.assist_plans.get_mut(&g) {
                *left = left.saturating_sub(work.total_bytes());
                if *left == 0 {
                    self.mark.assist_plans.remove(&g);
                }
            }
            return self.assist_scanned(p, g, 0, work);
        }
        if !self.blacken_enabled || self.limiter.limiting() {
            self.mark.assist_plans.remove(&g);
            if !self.blacken_enabled {
                self.set_assist_bytes(g, 0);
            }
            return AssistOutcome::Skipped;
        }
        // gcDrainN goes on until the work planned when the assist began is
        // done (at least gcOverAssistWork), whatever the credit says meanwhile.
        let (stolen_work_bytes, target_bytes) = match self.mark.assist_plans.get(&g) {
            Some(&left) => (0, left),
            None => {
                let debt = match self.graph.goroutines.get(&g) {
                    Some(state) if state.assist_bytes < 0 => -state.assist_bytes,
                    _ => return AssistOutcome::Skipped,
                };
                let (plan, change) = self.pacer.plan_assist(debt);
                self.add_assist_bytes(g, change);
                if plan.scan_work_bytes == 0 {
                    return AssistOutcome::Stolen {
                        stolen_work_bytes: plan.stolen_work_bytes,
                    };
                }
                (plan.stolen_work_bytes, plan.scan_work_bytes as u64)
            }
        };
        let work = self.drain(target_bytes.min(max_work_bytes), false);
        let left = target_bytes.saturating_sub(work.total_bytes());
        if left > 0 && (work.total_bytes() > 0 || self.claimed_stack(p).is_some()) {
            self.mark.assist_plans.insert(g, left);
        } else {
            self.mark.assist_plans.remove(&g);
        }
        self.assist_scanned(p, g, stolen_work_bytes, work)
    }

    /// `gcAssistAlloc1`'s end, once the plan of `g` is brought up to date:
    /// credit `work` to the goroutine and report whether it is still in
    /// debt (work planned and not done, or a negative balance).
    fn assist_scanned(
        &mut self,
        p: PId,
        g: Goid,
        stolen_work_bytes: i64,
        work: ScanWork,
    ) -> AssistOutcome {
        let credit = self.pacer.assist_credit_for(work.total_bytes() as i64);
        self.add_assist_bytes(g, credit);
        let in_debt = self.mark.assist_plans.contains_key(&g)
            || self
                .graph
                .goroutines
                .get(&g)
                .is_some_and(|s| s.assist_bytes < 0);
        AssistOutcome::Scanned {
            stolen_work_bytes,
            work,
            in_debt,
            mark_done_ready: self.mark_done_ready_on(p),
        }
    }

    /// The assist of `g` stopped before its planned work was done (a
    /// preemption request): the next one plans again from its debt, as
    /// `gcAssistAlloc`'s retry does.
    pub fn assist_stopped(&mut self, g: Goid) {
        self.mark.assist_plans.remove(&g);
    }

    fn add_assist_bytes(&mut self, g: Goid, delta: i64) {
        if let Some(state) = self.graph.goroutines.get_mut(&g) {
            state.assist_bytes += delta;
        }
    }

    fn set_assist_bytes(&mut self, g: Goid, value: i64) {
        if let Some(state) = self.graph.goroutines.get_mut(&g) {
            state.assist_bytes = value;
        }
    }

    /// `gcParkAssist`: queue `g` until background credit pays its debt.
    pub fn park_assist(&mut self, g: Goid) -> ParkAssist {
        if !self.blacken_enabled {
            return ParkAssist::Proceed;
        }
        if self.pacer.bg_scan_credit_bytes > 0 {
            return ParkAssist::Retry;
        }
        self.graph.assist_queue.push_back(g);
        ParkAssist::Parked
    }

    /// `gcFlushBgCredit`: background work pays parked assists in order.
    fn flush_bg_credit(&mut self, work_bytes: u64) -> Vec<Goid> {
        let queue: Vec<Goid> = self.graph.assist_queue.iter().copied().collect();
        let mut balances: Vec<i64> = queue
            .iter()
            .map(|g| self.graph.goroutines.get(g).map_or(0, |s| s.assist_bytes))
            .collect();
        let paid = self.pacer.flush_bg_credit(work_bytes as i64, &mut balances);
        for (g, balance) in queue.iter().zip(&balances) {
            self.set_assist_bytes(*g, *balance);
        }
        self.graph.assist_queue.drain(..paid).collect()
    }

    /// Which background worker, if any, P `p` should run now
    /// (`findRunnableGCWorker`: refreshes the CPU limiter, then
    /// `assignWaitingGCWorker`). The scheduler supplies the worker goroutine.
    pub fn assign_mark_worker(&mut self, p: PId, now_ns: u64) -> Option<WorkerMode> {
        if !self.blacken_enabled {
            return None;
        }
        self.limiter_poll(now_ns);
        let has_work = self.has_mark_work_for(p);
        self.pacer.assign_worker(p, now_ns as i64, has_work)
    }

    /// `addIdleMarkWorker`: may an idle P start an idle-priority worker?
    pub fn start_idle_mark_worker(&mut self, p: PId) -> bool {
        self.blacken_enabled && self.has_mark_work_for(p) && self.pacer.add_idle_mark_worker()
    }

    /// A background worker's `gcDrain` of up to `budget_bytes` of work
    /// (`u64::MAX` for "until none is left"), root jobs first. Its credit
    /// waits until [`Gc::mark_worker_flush_credit`], when the batch's time
    /// has passed: `gcDrain` flushes credit after the object or span that
    /// earned it is scanned, so an oblet's 128 KiB arrive at its end.
    pub fn mark_worker_drain(&mut self, p: PId, budget_bytes: u64) -> DrainOutcome {
        if !self.blacken_enabled {
            return DrainOutcome::default();
        }
        self.mark.acting_p = Some(p);
        let work = self.drain(budget_bytes, true);
        let i = p.index();
        if self.mark.worker_credit_bytes.len() <= i {
            self.mark.worker_credit_bytes.resize(i + 1, 0);
        }
        self.mark.worker_credit_bytes[i] += work.total_bytes();
        DrainOutcome {
            work,
            mark_done_ready: self.mark_done_ready_on(p),
        }
    }

    /// `gcFlushBgCredit` of P `p`'s worker's drained work: it pays parked
    /// assists in queue order (returned: ready them), the rest becomes
    /// `bgScanCredit`.
    pub fn mark_worker_flush_credit(&mut self, p: PId) -> Vec<Goid> {
        let Some(pending) = self.mark.worker_credit_bytes.get_mut(p.index()) else {
            return Vec::new();
        };
        let bytes = std::mem::take(pending);
        if bytes == 0 || !self.blacken_enabled {
            return Vec::new();
        }
        self.flush_bg_credit(bytes)
    }

    /// A worker stopped after `duration_ns` (`markWorkerStop`).
    pub fn mark_worker_stop(&mut self, p: PId, mode: WorkerMode, duration_ns: u64) {
        self.pacer.mark_worker_stop(p, mode, duration_ns as i64);
        if mode == WorkerMode::Idle {
            self.limiter.add_idle_time(duration_ns as i64);
        }
    }

    /// `sweepone` (the background sweeper's unit, and what `runtime.GC()`
    /// does until sweeping is done): `None` when nothing is left to sweep.
    pub fn sweep_one(&mut self) -> Option<SweptSpan> {
        self.heap.sweep_one()
    }

    /// The strong tricolor invariant: no black heap object points to a
    /// white one (stacks and globals are roots, exempt); a white object in a
    /// write-barrier buffer is shaded already (its flush greys it).
    pub fn check_no_black_to_white(&self) -> Result<(), String> {
        for (id, span) in self.heap.spans() {
            if span.state != SpanState::InUse {
                continue;
            }
            for slot in 0..span.nelems as u16 {
                if !span.is_allocated(slot) || !span.is_marked(slot) || span.is_grey(slot) {
                    continue;
                }
                for target in span.pointers_of(slot).iter().flatten() {
                    if self.color(*target) == Color::White && !self.in_wb_buf(*target) {
                        return Err(format!(
                            "black {} points to white {target}",
                            ObjRef { span: id, slot }
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// At mark termination: every reachable object is black and every white
    /// object is unreachable.
    pub fn check_mark_complete(&self) -> Result<(), String> {
        let reachable = self.reachable();
        for obj in &reachable {
            if self.color(*obj) != Color::Black {
                return Err(format!("reachable {obj} is {:?}", self.color(*obj)));
            }
        }
        for (id, span) in self.heap.spans() {
            if span.state != SpanState::InUse {
                continue;
            }
            for slot in 0..span.nelems as u16 {
                let obj = ObjRef { span: id, slot };
                if span.is_allocated(slot) && !span.is_marked(slot) && reachable.contains(&obj) {
                    return Err(format!("white {obj} is reachable"));
                }
            }
        }
        Ok(())
    }
}
