//! sync.Mutex, sync.RWMutex and the runtime semaphores under them
//! (internal/sync/mutex.go, sync/rwmutex.go, runtime/sema.go).
//!
//! The mutex keeps Go's state word as fields: locked, woken, starving and a
//! waiter count, plus its semaphore. `Lock` takes a free mutex at once;
//! otherwise `lockSlow` spins while `canSpin` allows it (at most 4 rounds of
//! 30 PAUSEs, only on a multicore machine with another P running and an
//! empty local run queue), then queues on the semaphore: FIFO the first time,
//! LIFO (at the front) after being woken and losing. A waiter that waited
//! more than 1 ms switches the mutex to starvation mode, in which `Unlock`
//! hands ownership straight to the first waiter and yields to it (the
//! releaser goes to its local run queue's tail; the waiter runs next from
//! runnext); the mode ends when the new owner was the last waiter or waited
//! less than 1 ms. In normal mode `Unlock` wakes one waiter, which competes
//! with running goroutines.
//!
//! The semaphore follows `semacquire1`/`semrelease1`: release increments the
//! count and readies the first waiter (into the releaser's runnext); with
//! hand-off the count goes straight to the waiter (ticket); without, the
//! woken waiter must still take the count when it runs, and queues again if
//! another goroutine took it first.
//!
//! RWMutex follows sync/rwmutex.go: `readerCount` goes negative by
//! `rwmutexMaxReaders` while a writer is pending, so new readers queue behind
//! it (writer preference); the writer waits for the readers already inside.
//!
//! Simplifications: the semaphore treap is a FIFO/LIFO queue per semaphore
//! (the same order for one address); mutex and semaphore operations are
//! atomic steps (no CAS retries); blocked-time accounting is exact, where Go
//! samples 1 in 8 and multiplies by 8.

use crate::chan::OpResult;
use crate::g::GIdx;
use crate::world::World;
use sim_core::ids::{MId, MutexId, PId, RwMutexId};
use sim_core::time::MILLISECOND_NS;
use sim_core::trace::WaitReason;
use std::collections::VecDeque;

/// `starvationThresholdNs`.
pub const STARVATION_THRESHOLD_NS: u64 = MILLISECOND_NS;
/// `active_spin`: spin rounds a Lock may make.
pub const ACTIVE_SPIN: u32 = 4;
/// `rwmutexMaxReaders`.
pub const RWMUTEX_MAX_READERS: i64 = 1 << 30;

/// A runtime semaphore: a count and its waiters.
#[derive(Clone, Debug, Default)]
pub struct Sema {
    pub count: u32,
    pub waiters: VecDeque<GIdx>,
}

/// A `sync.Mutex`.
#[derive(Clone, Debug, Default)]
pub struct MutexState {
    pub locked: bool,
    pub woken: bool,
    pub starving: bool,
    pub waiters: u32,
    pub sema: Sema,
    /// Times the mutex entered starvation mode.
    pub starvation_entries: u32,
    /// Goroutines holding it: 0 or 1, or the model is wrong.
    pub holders: u32,
}

/// A `sync.RWMutex`.
#[derive(Clone, Debug, Default)]
pub struct RwMutexState {
    /// The writers' mutex.
    pub w: MutexState,
    pub writer_sem: Sema,
    pub reader_sem: Sema,
    pub reader_count: i64,
    pub reader_wait: i64,
}

/// Which mutex: a declared one or an RWMutex's writer mutex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MutexRef {
    Plain(MutexId),
    RwWriters(RwMutexId),
}

/// Which semaphore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemaRef {
    Mutex(MutexRef),
    RwReaders(RwMutexId),
    RwWriter(RwMutexId),
}

/// Where a goroutine's blocking sync operation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncWait {
    /// In `lockSlow`.
    MutexLock {
        mutex: MutexRef,
        iter: u32,
        awoke: bool,
        starving: bool,
        wait_start_ns: Option<u64>,
    },
    /// Parked on a semaphore; `lifo` is how it queues again if it loses the
    /// count; `ticket` is set when the count was handed to it; `mutex` is the
    /// lockSlow state to continue with afterwards (None for RWMutex semas).
    /// `since_ns` is when the semaphore wait began, `parked_ns` when this
    /// park did (later, if the G woke without the count and parked again).
    Sema {
        sema: SemaRef,
        lifo: bool,
        ticket: bool,
        reason: WaitReason,
        since_ns: u64,
        parked_ns: u64,
        then: Option<(MutexRef, bool, Option<u64>)>,
    },
}

impl World {
    fn mutex_mut(&mut self, r: MutexRef) -> &mut MutexState {
        match r {
            MutexRef::Plain(id) => &mut self.mutexes[id.index()],
            MutexRef::RwWriters(id) => &mut self.rwmutexes[id.index()].w,
        }
    }

    fn sema_mut(&mut self, r: SemaRef) -> &mut Sema {
        match r {
            SemaRef::Mutex(m) => &mut self.mutex_mut(m).sema,
            SemaRef::RwReaders(id) => &mut self.rwmutexes[id.index()].reader_sem,
            SemaRef::RwWriter(id) => &mut self.rwmutexes[id.index()].writer_sem,
        }
    }

    /// Every semaphore, for invariant checks.
    pub(crate) fn all_semas(&self) -> Vec<&Sema> {
        let mut out: Vec<&Sema> = self.mutexes.iter().map(|m| &m.sema).collect();
        for rw in &self.rwmutexes {
            out.extend([&rw.w.sema, &rw.reader_sem, &rw.writer_sem]);
        }
        out
    }

    fn curg_of(&self, m: MId) -> GIdx {
        self.ms[m.index()].curg.expect("M runs a G")
    }

    /// `runtime_canSpin`.
    fn can_spin(&self, m: MId, iter: u32) -> bool {
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        iter < ACTIVE_SPIN
            && self.config.runtime.ncpu > 1
            && self.gomaxprocs() > self.npidle() + self.sched.nmspinning + 1
            && self.ps[p.index()].runq_empty()
    }

    /// `semacquire1`: take the count or park (`lifo` queues at the front).
    fn semacquire(
        &mut self,
        m: MId,
        sema: SemaRef,
        lifo: bool,
        reason: WaitReason,
        then: Option<(MutexRef, bool, Option<u64>)>,
    ) -> OpResult {
        let g = self.curg_of(m);
        let s = self.sema_mut(sema);
        if s.count > 0 {
            s.count -= 1;
            return OpResult::Continue;
        }
        if lifo {
            s.waiters.push_front(g);
        } else {
            s.waiters.push_back(g);
        }
        let now = self.now_ns;
        self.gs[g.index()].rare_mut().sync_wait = Some(SyncWait::Sema {
            sema,
            lifo,
            ticket: false,
            reason,
            since_ns: now,
            parked_ns: now,
            then,
        });
        self.acquire_sudogs(m, 1);
        self.park(m, reason);
        self.schedule(m);
        OpResult::Parked
    }

    /// `semrelease1`: count up and ready the first waiter onto `p`; with
    /// `handoff` the count goes to it directly. Returns the readied G.
    fn semrelease(&mut self, sema: SemaRef, handoff: bool, p: PId) -> Option<GIdx> {
        let s = self.sema_mut(sema);
        s.count += 1;
        let g = s.waiters.pop_front()?;
        let ticket = handoff && s.count > 0;
        if ticket {
            s.count -= 1;
        }
        let now = self.now_ns;
        if let Some(SyncWait::Sema {
            ticket: t,
            parked_ns,
            ..
        }) = &mut self.gs[g.index()].rare_mut().sync_wait
        {
            *t = ticket;
            // `/sync/mutex/wait/total` counts each park on a mutex until the
            // G is readied (casgstatus, _Gwaiting -> _Grunnable): not its
            // wait to run after that, nor its time awake between parks.
            self.stats.mutex_wait_ns += now - *parked_ns;
        }
        self.ready(g, p, None);
        Some(g)
    }

    /// A G woken from a semaphore runs: it has the count (ticket), takes it,
    /// or queues again. Returns the lockSlow state to continue with, if any.
    fn sema_resume(&mut self, m: MId) -> Result<Option<(MutexRef, bool, Option<u64>)>, OpResult> {
        let g = self.curg_of(m);
        let Some(SyncWait::Sema {
            sema,
            lifo,
            ticket,
            reason,
            since_ns,
            parked_ns: _,
            then,
        }) = self.gs[g.index()].rare_mut().sync_wait.take()
        else {
            unreachable!("sema_resume without a semaphore wait");
        };
        let s = self.sema_mut(sema);
        let acquired = if ticket {
            true
        } else if s.count > 0 {
            s.count -= 1;
            true
        } else {
            false
        };
        if !acquired {
            let s = self.sema_mut(sema);
            if lifo {
                s.waiters.push_front(g);
            } else {
                s.waiters.push_back(g);
            }
            self.gs[g.index()].rare_mut().sync_wait = Some(SyncWait::Sema {
                sema,
                lifo,
                ticket: false,
                reason,
                since_ns,
                parked_ns: self.now_ns,
                then,
            });
            self.acquire_sudogs(m, 1);
            self.park(m, reason);
            self.schedule(m);
            return Err(OpResult::Parked);
        }
        if then.is_none() {
            // An RWMutex semaphore: the whole wait is this park.
            self.record_mutex_wait(g, since_ns);
        }
        Ok(then)
    }

    /// A goroutine got a lock it started waiting for at `since_ns`.
    fn record_mutex_wait(&mut self, g: GIdx, since_ns: u64) {
        let waited = self.now_ns - since_ns;
        let gg = &mut self.gs[g.index()];
        gg.max_mutex_wait_ns = gg.max_mutex_wait_ns.max(waited);
        self.stats.max_mutex_wait_ns = self.stats.max_mutex_wait_ns.max(waited);
    }

    /// `Lock` on `mutex`; on success the caller holds it.
    pub(crate) fn mutex_lock(&mut self, m: MId, mutex: MutexRef) -> OpResult {
        let result = self.mutex_lock_step(m, mutex);
        if result == OpResult::Continue {
            let mu = self.mutex_mut(mutex);
            mu.holders += 1;
            debug_assert!(
                mu.holders == 1 && mu.locked,
                "a mutex has {} holders",
                mu.holders
            );
        }
        result
    }

    /// The fast path, or a step of `lockSlow`.
    fn mutex_lock_step(&mut self, m: MId, mutex: MutexRef) -> OpResult {
        let g = self.curg_of(m);
        match self.gs[g.index()].rare().sync_wait {
            Some(SyncWait::Sema { .. }) => match self.sema_resume(m) {
                Err(parked) => parked,
                Ok(then) => {
                    let (mutex, starving, wait_start_ns) =
                        then.expect("a mutex waiter continues lockSlow");
                    self.lock_slow_after_wake(m, mutex, starving, wait_start_ns)
                }
            },
            Some(SyncWait::MutexLock { .. }) => self.lock_slow(m),
            None => {
                let mu = self.mutex_mut(mutex);
                if !mu.locked && !mu.woken && !mu.starving && mu.waiters == 0 {
                    mu.locked = true;
                    return OpResult::Continue;
                }
                self.gs[g.index()].rare_mut().sync_wait = Some(SyncWait::MutexLock {
                    mutex,
                    iter: 0,
                    awoke: false,
                    starving: false,
                    wait_start_ns: None,
                });
                self.lock_slow(m)
            }
        }
    }

    /// One pass of `lockSlow`'s loop.
    fn lock_slow(&mut self, m: MId) -> OpResult {
        let g = self.curg_of(m);
        let Some(SyncWait::MutexLock {
            mutex,
            iter,
            awoke,
            starving,
            wait_start_ns,
        }) = self.gs[g.index()].rare().sync_wait
        else {
            unreachable!("lock_slow without lockSlow state");
        };
        let can_spin = self.can_spin(m, iter);
        let mu = self.mutex_mut(mutex);
        if mu.locked && !mu.starving && can_spin {
            let mut awoke = awoke;
            if !awoke && !mu.woken && mu.waiters > 0 {
                mu.woken = true;
                awoke = true;
            }
            self.gs[g.index()].rare_mut().sync_wait = Some(SyncWait::MutexLock {
                mutex,
                iter: iter + 1,
                awoke,
                starving,
                wait_start_ns,
            });
            return OpResult::Busy(self.config.cost.mutex_spin_ns);
        }
        let old_locked = mu.locked;
        let old_starving = mu.starving;
        if !old_starving {
            mu.locked = true;
        }
        if old_locked || old_starving {
            mu.waiters += 1;
        }
        if starving && old_locked && !mu.starving {
            mu.starving = true;
            mu.starvation_entries += 1;
        }
        if awoke {
            debug_assert!(mu.woken, "sync: inconsistent mutex state");
            mu.woken = false;
        }
        if !old_locked && !old_starving {
            self.gs[g.index()].rare_mut().sync_wait = None;
            if let Some(since) = wait_start_ns {
                self.record_mutex_wait(g, since);
            }
            return OpResult::Continue;
        }
        let lifo = wait_start_ns.is_some();
        let wait_start_ns = Some(wait_start_ns.unwrap_or(self.now_ns));
        self.gs[g.index()].rare_mut().sync_wait = None;
        let reason = WaitReason::SyncMutexLock;
        match self.semacquire(
            m,
            SemaRef::Mutex(mutex),
            lifo,
            reason,
            Some((mutex, starving, wait_start_ns)),
        ) {
            OpResult::Continue => self.lock_slow_after_wake(m, mutex, starving, wait_start_ns),
            other => other,
        }
    }

    /// `lockSlow` after the semaphore: own the mutex (starvation hand-off)
    /// or compete again.
    fn lock_slow_after_wake(
        &mut self,
        m: MId,
        mutex: MutexRef,
        starving: bool,
        wait_start_ns: Option<u64>,
    ) -> OpResult {
        let g = self.curg_of(m);
        let waited = self.now_ns - wait_start_ns.expect("a woken waiter has a start time");
        let starving = starving || waited > STARVATION_THRESHOLD_NS;
        let mu = self.mutex_mut(mutex);
        if mu.starving {
            debug_assert!(
                !mu.locked && !mu.woken && mu.waiters > 0,
                "sync: inconsistent mutex state"
            );
            let last_waiter = mu.waiters == 1;
            mu.locked = true;
            mu.waiters -= 1;
            if !starving || last_waiter {
                mu.starving = false;
            }
            self.gs[g.index()].rare_mut().sync_wait = None;
            if let Some(since) = wait_start_ns {
                self.record_mutex_wait(g, since);
            }
            return OpResult::Continue;
        }
        self.gs[g.index()].rare_mut().sync_wait = Some(SyncWait::MutexLock {
            mutex,
            iter: 0,
            awoke: true,
            starving,
            wait_start_ns,
        });
        self.lock_slow(m)
    }

    /// `Unlock`: wake a waiter (normal mode) or hand the mutex over and yield
    /// to it (starvation mode). Yielding reschedules the M.
    pub(crate) fn mutex_unlock(&mut self, m: MId, mutex: MutexRef) -> OpResult {
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        let mu = self.mutex_mut(mutex);
        if !mu.locked {
            self.fatal_error(Some(m), "sync: unlock of unlocked mutex");
            return OpResult::Died;
        }
        mu.locked = false;
        mu.holders -= 1;
        if !mu.starving {
            if mu.waiters == 0 || mu.locked || mu.woken || mu.starving {
                return OpResult::Continue;
            }
            mu.waiters -= 1;
            mu.woken = true;
            self.semrelease(SemaRef::Mutex(mutex), false, p);
            return OpResult::Continue;
        }
        if self.semrelease(SemaRef::Mutex(mutex), true, p).is_some() {
            // goyield: the releaser goes to the tail of its local run queue so
            // the waiter, now in runnext, runs next on this P.
            self.goyield(m);
            return OpResult::Parked;
        }
        OpResult::Continue
    }

    /// `RLock`.
    pub(crate) fn rw_rlock(&mut self, m: MId, rw: RwMutexId) -> OpResult {
        let g = self.curg_of(m);
        if self.gs[g.index()].rare().sync_wait.is_some() {
            return match self.sema_resume(m) {
                Err(parked) => parked,
                Ok(_) => OpResult::Continue,
            };
        }
        let r = &mut self.rwmutexes[rw.index()];
        r.reader_count += 1;
        if r.reader_count < 0 {
            return self.semacquire(
                m,
                SemaRef::RwReaders(rw),
                false,
                WaitReason::SyncRwMutexRLock,
                None,
            );
        }
        OpResult::Continue
    }

    /// `RUnlock`.
    pub(crate) fn rw_runlock(&mut self, m: MId, rw: RwMutexId) -> OpResult {
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        let r = &mut self.rwmutexes[rw.index()];
        r.reader_count -= 1;
        let count = r.reader_count;
        if count < 0 {
            if count + 1 == 0 || count + 1 == -RWMUTEX_MAX_READERS {
                self.fatal_error(Some(m), "sync: RUnlock of unlocked RWMutex");
                return OpResult::Died;
            }
            r.reader_wait -= 1;
            if r.reader_wait == 0 {
                self.semrelease(SemaRef::RwWriter(rw), false, p);
            }
        }
        OpResult::Continue
    }

    /// `Lock` (writer): the writers' mutex, then wait for readers inside.
    pub(crate) fn rw_lock(&mut self, m: MId, rw: RwMutexId) -> OpResult {
        let g = self.curg_of(m);
        if let Some(SyncWait::Sema {
            sema: SemaRef::RwWriter(_),
            ..
        }) = self.gs[g.index()].rare().sync_wait
        {
            return match self.sema_resume(m) {
                Err(parked) => parked,
                Ok(_) => OpResult::Continue,
            };
        }
        match self.mutex_lock(m, MutexRef::RwWriters(rw)) {
            OpResult::Continue => {}
            other => return other,
        }
        let r = &mut self.rwmutexes[rw.index()];
        let readers = r.reader_count;
        r.reader_count -= RWMUTEX_MAX_READERS;
        if readers != 0 {
            r.reader_wait += readers;
            if r.reader_wait != 0 {
                return self.semacquire(
                    m,
                    SemaRef::RwWriter(rw),
                    false,
                    WaitReason::SyncRwMutexLock,
                    None,
                );
            }
        }
        OpResult::Continue
    }

    /// `Unlock` (writer): let waiting readers in, then release the writers' mutex.
    pub(crate) fn rw_unlock(&mut self, m: MId, rw: RwMutexId) -> OpResult {
        let p = self.ms[m.index()].p.expect("a running M holds a P");
        let r = &mut self.rwmutexes[rw.index()];
        r.reader_count += RWMUTEX_MAX_READERS;
        let readers = r.reader_count;
        if readers >= RWMUTEX_MAX_READERS {
            self.fatal_error(Some(m), "sync: Unlock of unlocked RWMutex");
            return OpResult::Died;
        }
        for _ in 0..readers {
            self.semrelease(SemaRef::RwReaders(rw), false, p);
        }
        self.mutex_unlock(m, MutexRef::RwWriters(rw))
    }
}
