//! Tricolor marking, mark work for background workers and assists, and
//! sweeping.
//!
//! White objects are unmarked; grey ones are marked and wait on the work
//! list; black ones are marked and scanned. Mirrors go1.27.3:
//! - `runtime/mgcmark.go`: `gcPrepareMarkRoots` (the globals and every
//!   goroutine stack as root jobs), `markroot` (globals: `globalsScanWork`;
//!   stacks: `scanstack`, whose work is the stack's used bytes and which shrinks
//!   a stack using less than a quarter of it), `gcDrain` (root jobs first, then
//!   grey objects, flushing background credit to parked assists) and
//!   `gcDrainN` (assists: grey objects first, then root jobs, until the owed
//!   work is done), `greyobject` (noscan objects go straight to black),
//!   `scanobject` (large objects in 128 KiB oblets, `maxObletBytes`),
//!   `gcmarknewobject` (allocate black), `gcMarkTinyAllocs`, `gcAssistAlloc`,
//!   `gcAssistAlloc1`, `gcParkAssist`, `gcFlushBgCredit`;
//! - `runtime/mbarrier.go`: the hybrid write barrier shades the overwritten
//!   pointer (Yuasa deletion) and the written one (Dijkstra insertion);
//! - `runtime/mgc.go`: `gcMarkDone`'s condition (no root job and no grey
//!   object left), `gcBgMarkWorker`'s time accounting via `markWorkerStop`;
//! - `runtime/mgcsweep.go`: `sweepone` for the background sweeper `bgsweep`.
//!
//! Scan work is counted in bytes as Go counts it: an object's scannable bytes
//! (its pointer words), a stack's used bytes, the globals' scannable size.
//! `bytesMarked` (heap2) counts whole slots, allocate-black included.
//!
//! Simplified: one global grey list (LIFO) instead of per-P `gcWork` buffers,
//! and write-barrier shades go to it at once instead of through the per-P
//! `wbBuf`; Green Tea's span-at-a-time scanning order is not modelled (the set
//! of objects marked is the same; the scan work counted is each object's
//! pointer words, as Go's sparse span scan and `scanobject` count it, while
//! Go's dense span scan on AVX-512 hosts counts whole objects); a stack is
//! scanned without suspending its goroutine (the scheduler charges the cost).

use crate::collector::{Gc, GcPhase};

/// The largest object whose span Green Tea scans as a whole (objects with
/// their pointer bits in the span, `heapBitsInSpan`).
pub const GREEN_TEA_MAX_OBJECT_BYTES: u64 = 512;
use crate::heap::{ObjRef, STACK_MIN_BYTES, SpanState, SweptSpan};
use crate::pacer::WorkerMode;
use serde::{Deserialize, Serialize};
use sim_core::ids::{Goid, PId};
use std::collections::{BTreeMap, VecDeque};

/// `maxObletBytes`: large objects are scanned 128 KiB at a time.
pub const MAX_OBLET_BYTES: u64 = 128 << 10;

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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RootJob {
    Globals,
    Stack(Goid),
}

/// The mark phase's work lists.
#[derive(Clone, Debug, Default)]
pub(crate) struct MarkState {
    grey: Vec<GreyItem>,
    root_jobs: VecDeque<RootJob>,
    /// Oblets still queued per large object (it stays grey until they are done).
    oblets_pending: BTreeMap<ObjRef, u32>,
    /// `work.bytesMarked`.
    pub(crate) bytes_marked: u64,
}

impl MarkState {
    pub(crate) fn reset(&mut self) {
        // As `MarkState::default()`, keeping the grey list's memory for the
        // next cycle (it grows to the live heap's object count every cycle).
        let mut grey = std::mem::take(&mut self.grey);
        grey.clear();
        *self = MarkState {
            grey,
            ..MarkState::default()
        };
    }
}

/// Scan work done, by kind (bytes).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ScanWork {
    pub heap_bytes: u64,
    pub stack_bytes: u64,
    pub globals_bytes: u64,
    /// Objects scanned (grey → black) and stacks scanned.
    pub objects_scanned: u64,
    pub stacks_scanned: u64,
    /// Of `objects_scanned`, those over 512 bytes: Green Tea scans spans of
    /// smaller objects a span at a time, larger ones one by one through
    /// their malloc header (`heapBitsInSpan`'s 512-byte limit).
    pub large_objects_scanned: u64,
}

impl ScanWork {
    pub fn total_bytes(&self) -> u64 {
        self.heap_bytes + self.stack_bytes + self.globals_bytes
    }
    fn add(&mut self, other: ScanWork) {
        self.heap_bytes += other.heap_bytes;
        self.stack_bytes += other.stack_bytes;
        self.globals_bytes += other.globals_bytes;
        self.objects_scanned += other.objects_scanned;
        self.stacks_scanned += other.stacks_scanned;
        self.large_objects_scanned += other.large_objects_scanned;
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
    /// [`Gc::add_assist_time`]. `in_debt`: call [`Gc::park_assist`].
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
    /// Parked assists whose debt the worker's credit paid: ready them.
    pub woken_assists: Vec<Goid>,
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
            self.mark.grey.push(GreyItem { obj, start_word: 0 });
        }
    }

    /// `gcmarknewobject`: a new object is black.
    pub(crate) fn mark_new_object(&mut self, obj: ObjRef) {
        let span = self.heap.span_mut(obj.span);
        debug_assert!(!span.is_marked(obj.slot), "new {obj} already marked");
        span.mark_bits.set(obj.slot as u32);
        self.mark.bytes_marked += span.elem_bytes;
    }

    /// The hybrid write barrier: shade the old and the new pointer.
    pub(crate) fn write_barrier(&mut self, old: Option<ObjRef>, new: Option<ObjRef>) {
        if let Some(old) = old {
            self.shade(old);
        }
        if let Some(new) = new {
            self.shade(new);
        }
    }

    /// `gcPrepareMarkRoots`: the globals, then every goroutine's stack.
    pub(crate) fn prepare_mark_roots(&mut self) -> u64 {
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
            if let Some(block) = self.heap.mcache(PId(p as u32)).tiny {
                self.shade(block);
            }
        }
    }

    /// True while root jobs or grey objects remain (`gcShouldScheduleWorker`).
    pub fn has_mark_work(&self) -> bool {
        !self.mark.grey.is_empty() || !self.mark.root_jobs.is_empty()
    }

    /// `gcMarkDone`'s condition: in the mark phase with nothing left to scan.
    pub fn mark_done_ready(&self) -> bool {
        self.phase == GcPhase::Mark && !self.has_mark_work()
    }

    /// Drains until `budget_bytes` of work are done or nothing is left.
    fn drain(&mut self, budget_bytes: u64, roots_first: bool) -> ScanWork {
        let mut done = ScanWork::default();
        while done.total_bytes() < budget_bytes {
            // (The emptiness checks only spare a call per object.)
            let did = if roots_first && !self.mark.root_jobs.is_empty() {
                self.next_root_job()
            } else if roots_first || !self.mark.grey.is_empty() {
                self.next_grey().or_else(|| self.next_root_job())
            } else {
                self.next_root_job()
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

    fn next_root_job(&mut self) -> Option<ScanWork> {
        let job = self.mark.root_jobs.pop_front()?;
        Some(match job {
            RootJob::Globals => {
                let globals: Vec<ObjRef> = self.graph.globals.iter().flatten().copied().collect();
                for obj in globals {
                    self.shade(obj);
                }
                ScanWork {
                    globals_bytes: self.pacer.globals_scan_bytes,
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
        for obj in self.stack_roots(g) {
            self.shade(obj);
        }
        if let Some(state) = self.graph.goroutines.get_mut(&g) {
            state.stack_scanned = true;
        }
        if size / 2 >= STACK_MIN_BYTES && used < size / 4 {
            self.replace_stack(g, size / 2);
        }
        ScanWork {
            stack_bytes: used,
            stacks_scanned: 1,
            ..ScanWork::default()
        }
    }

    /// `scanobject`: shade what a grey object points to (the first 128 KiB
    /// of a large object, queuing the rest as oblets).
    fn next_grey(&mut self) -> Option<ScanWork> {
        let item = self.mark.grey.pop()?;
        let obj = item.obj;
        let oblet_words = (MAX_OBLET_BYTES / 8) as u32;
        // Most objects: whole, small enough for one oblet, all words nil.
        // Scanning one only makes it black.
        if item.start_word == 0 {
            let span = self.heap.span_mut(obj.span);
            let words = span.pointers_of(obj.slot).len() as u32;
            if words <= oblet_words && span.pointers_known_nil(obj.slot) {
                span.grey_bits.clear_bit(obj.slot as u32);
                return Some(ScanWork {
                    heap_bytes: words as u64 * 8,
                    objects_scanned: 1,
                    large_objects_scanned: (span.elem_bytes > GREEN_TEA_MAX_OBJECT_BYTES) as u64,
                    ..ScanWork::default()
                });
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
                self.mark.grey.push(GreyItem {
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
            word += n;
        }
        if finished {
            self.heap
                .span_mut(obj.span)
                .grey_bits
                .clear_bit(obj.slot as u32);
        }
        let large = finished && elem_bytes > GREEN_TEA_MAX_OBJECT_BYTES;
        Some(ScanWork {
            heap_bytes: (end - item.start_word) as u64 * 8,
            objects_scanned: finished as u64,
            large_objects_scanned: large as u64,
            ..ScanWork::default()
        })
    }

    /// `gcAssistAlloc` for goroutine `g`, whose last allocation left it in
    /// debt: work out the scan work owed (at least 64 KiB), steal background
    /// credit, and scan the rest (`gcDrainN`).
    pub fn assist(&mut self, g: Goid) -> AssistOutcome {
        self.assist_up_to(g, u64::MAX)
    }

    /// [`Gc::assist`] scanning at most `max_work_bytes` (at least one object
    /// or root job), as `gcDrainN` does when a preemption request stops it
    /// early: the goroutine is credited for what it did and stays in debt
    /// for the rest.
    pub fn assist_up_to(&mut self, g: Goid, max_work_bytes: u64) -> AssistOutcome {
        let debt = match self.graph.goroutines.get(&g) {
            Some(state) if state.assist_bytes < 0 => -state.assist_bytes,
            _ => return AssistOutcome::Skipped,
        };
        if !self.blacken_enabled {
            self.set_assist_bytes(g, 0);
            return AssistOutcome::Skipped;
        }
        if self.limiter.limiting() {
            return AssistOutcome::Skipped;
        }
        let (plan, change) = self.pacer.plan_assist(debt);
        self.add_assist_bytes(g, change);
        if plan.scan_work_bytes == 0 {
            return AssistOutcome::Stolen {
                stolen_work_bytes: plan.stolen_work_bytes,
            };
        }
        let work = self.drain((plan.scan_work_bytes as u64).min(max_work_bytes), false);
        let credit = self.pacer.assist_credit_for(work.total_bytes() as i64);
        self.add_assist_bytes(g, credit);
        let in_debt = self
            .graph
            .goroutines
            .get(&g)
            .is_some_and(|s| s.assist_bytes < 0);
        AssistOutcome::Scanned {
            stolen_work_bytes: plan.stolen_work_bytes,
            work,
            in_debt,
            mark_done_ready: self.mark_done_ready(),
        }
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
        let has_work = self.has_mark_work();
        self.pacer.assign_worker(p, now_ns as i64, has_work)
    }

    /// `addIdleMarkWorker`: may an idle P start an idle-priority worker?
    pub fn start_idle_mark_worker(&mut self) -> bool {
        self.blacken_enabled && self.has_mark_work() && self.pacer.add_idle_mark_worker()
    }

    /// A background worker's `gcDrain` of up to `budget_bytes` of work
    /// (`u64::MAX` for "until none is left"), root jobs first; its credit
    /// goes to parked assists, then to `bgScanCredit`.
    pub fn mark_worker_drain(&mut self, budget_bytes: u64) -> DrainOutcome {
        if !self.blacken_enabled {
            return DrainOutcome::default();
        }
        let work = self.drain(budget_bytes, true);
        let woken_assists = self.flush_bg_credit(work.total_bytes());
        DrainOutcome {
            work,
            woken_assists,
            mark_done_ready: self.mark_done_ready(),
        }
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
    /// white one (stacks and globals are roots, exempt).
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
                    if self.color(*target) == Color::White {
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
