//! Channels and select (chan.go, select.go).
//!
//! A channel keeps Go's `hchan` shape: a ring buffer of `capacity` values and
//! FIFO queues of parked senders and receivers (`sudog`s). Values are tokens
//! (a run-wide counter), so hand-off order is observable. The rules:
//! - send: closed → panic; a parked receiver gets the value directly (the
//!   buffer is bypassed) and is readied into the sender's runnext; else the
//!   buffer if it has room; else park ("chan send");
//! - receive: closed and empty → zero value; a parked sender → for an
//!   unbuffered channel take its value, for a full buffered one take the head
//!   and move the sender's value to the tail; else the buffer; else park
//!   ("chan receive");
//! - close: wakes every receiver (zero value) and then every sender (which
//!   panics), each readied into the closer's runnext in turn;
//! - nil channels block forever; close of nil or closed channels panics.
//!
//! select: nil cases are dropped, the rest polled in a uniformly random order
//! (inside-out Fisher–Yates with the M's cheaprand); the first ready case
//! wins, else default, else the G waits on every channel at once and the
//! first waker claims it; when it runs it removes its other waits. A select
//! with no cases blocks forever; with one case and no default it is a plain
//! channel operation; with one case and a default, a non-blocking one (the
//! compiler's rewrites).
//!
//! Simplification: locking (`lockorder`) is not modelled; operations are atomic.

use crate::g::{GIdx, GStatus};
use crate::world::World;
use sim_core::ids::{ChannelId, MId, PId};
use sim_core::trace::WaitReason;
use sim_core::workload::{CaseOp, ChanRef};
use std::collections::VecDeque;

/// A parked G in a channel's wait queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sudog {
    pub g: GIdx,
    /// For a sender: the value it sends.
    pub value: u64,
    /// For a select: its epoch and the case this wait belongs to.
    pub select: Option<(u32, u32)>,
}

/// A channel (`hchan`).
#[derive(Clone, Debug, Default)]
pub struct ChanState {
    pub capacity: u32,
    pub buf: VecDeque<u64>,
    pub closed: bool,
    pub recvq: VecDeque<Sudog>,
    pub sendq: VecDeque<Sudog>,
}

/// What a channel operation did to the running G.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpResult {
    /// Done; the G goes on with its next op.
    Continue,
    /// The G parked (or yielded); the M has been rescheduled.
    Parked,
    /// The G keeps running for this long, then the same op continues (spinning).
    Busy(u64),
    /// The process died (a panic or fatal error).
    Died,
}

impl World {
    /// Whether `s` still stands for a live wait: a plain wait always does; a
    /// select wait only while that select is parked and unclaimed.
    pub(crate) fn sudog_live(&self, s: &Sudog) -> bool {
        match s.select {
            None => true,
            Some((epoch, _)) => {
                let g = &self.gs[s.g.index()];
                g.status == GStatus::Waiting(WaitReason::Select)
                    && g.select_epoch == epoch
                    && g.rare().select_won.is_none()
            }
        }
    }

    /// `dequeue`: the first live sudog of a queue; a select's is claimed.
    fn dequeue(&mut self, chan: ChannelId, recvq: bool) -> Option<Sudog> {
        loop {
            let c = &mut self.chans[chan.index()];
            let s = if recvq {
                c.recvq.pop_front()
            } else {
                c.sendq.pop_front()
            }?;
            if self.claim(&s) {
                return Some(s);
            }
        }
    }

    /// Whether a dequeued sudog is live; a live select's is claimed for
    /// its case (its other waits are then stale).
    fn claim(&mut self, s: &Sudog) -> bool {
        if !self.sudog_live(s) {
            return false;
        }
        if let Some((_, case)) = s.select {
            self.gs[s.g.index()].rare_mut().select_won = Some(case);
        }
        true
    }

    pub(crate) fn p_of(&self, m: MId) -> PId {
        self.ms[m.index()].p.expect("a running M holds a P")
    }

    /// A parked G whose channel operation completed: readied onto P `p`.
    fn chan_wake(&mut self, s: Sudog, p: PId) {
        self.ready(s.g, p, None);
    }

    fn next_value(&mut self) -> u64 {
        self.chan_values += 1;
        self.chan_values
    }

    /// Tries a send without blocking. `Some(true)` done, `Some(false)` would
    /// block; `None` the process died (send on a closed channel).
    fn try_send(&mut self, m: MId, chan: ChannelId, value: u64) -> Option<bool> {
        if self.chans[chan.index()].closed {
            self.fatal_panic(m, "send on closed channel");
            return None;
        }
        if let Some(s) = self.dequeue(chan, true) {
            self.gs[s.g.index()].received = Some(value).into();
            let p = self.p_of(m);
            self.chan_wake(s, p);
            return Some(true);
        }
        let c = &mut self.chans[chan.index()];
        if (c.buf.len() as u32) < c.capacity {
            c.buf.push_back(value);
            return Some(true);
        }
        Some(false)
    }

    /// Tries a receive without blocking: `Some(value)` (0 for a closed,
    /// drained channel) or `None` if it would block.
    fn try_recv(&mut self, m: MId, chan: ChannelId) -> Option<u64> {
        if self.chans[chan.index()].closed && self.chans[chan.index()].buf.is_empty() {
            return Some(0);
        }
        if let Some(s) = self.dequeue(chan, false) {
            let c = &mut self.chans[chan.index()];
            let value = if c.capacity == 0 {
                s.value
            } else {
                // A full buffer: take the head, the sender's value goes to the tail.
                let head = c
                    .buf
                    .pop_front()
                    .expect("a sender waits only on a full buffer");
                c.buf.push_back(s.value);
                head
            };
            let p = self.p_of(m);
            self.chan_wake(s, p);
            return Some(value);
        }
        self.chans[chan.index()].buf.pop_front()
    }

    /// Parks the running G on a channel's queue.
    fn park_on_chan(&mut self, m: MId, chan: ChannelId, recv: bool, value: u64) {
        let g = self.ms[m.index()].curg.expect("M runs a G");
        let s = Sudog {
            g,
            value,
            select: None,
        };
        let c = &mut self.chans[chan.index()];
        if recv {
            c.recvq.push_back(s);
        } else {
            c.sendq.push_back(s);
        }
        let reason = if recv {
            WaitReason::ChanReceive
        } else {
            WaitReason::ChanSend
        };
        self.acquire_sudogs(m, 1);
        self.park(m, reason);
        self.schedule(m);
    }

    /// Parks the running G forever (nil channel, empty select).
    fn park_forever(&mut self, m: MId, reason: WaitReason) -> OpResult {
        self.park(m, reason);
        self.schedule(m);
        OpResult::Parked
    }

    /// `ch <- v`, blocking. The G's pc is already past the op.
    pub(crate) fn chan_send(&mut self, m: MId, chan: ChanRef, block: bool) -> OpResult {
        let ChanRef::Chan(chan) = chan else {
            if !block {
                return OpResult::Continue;
            }
            return self.park_forever(m, WaitReason::ChanSendNilChan);
        };
        let value = self.next_value();
        match self.try_send(m, chan, value) {
            None => OpResult::Died,
            Some(true) => OpResult::Continue,
            Some(false) if !block => OpResult::Continue,
            Some(false) => {
                self.park_on_chan(m, chan, false, value);
                OpResult::Parked
            }
        }
    }

    /// `<-ch`, blocking. The G's pc is already past the op.
    pub(crate) fn chan_recv(&mut self, m: MId, chan: ChanRef, block: bool) -> OpResult {
        let ChanRef::Chan(chan) = chan else {
            if !block {
                return OpResult::Continue;
            }
            return self.park_forever(m, WaitReason::ChanReceiveNilChan);
        };
        match self.try_recv(m, chan) {
            Some(value) => {
                let g = self.ms[m.index()].curg.expect("M runs a G");
                self.gs[g.index()].received = Some(value).into();
                OpResult::Continue
            }
            None if !block => OpResult::Continue,
            None => {
                self.park_on_chan(m, chan, true, 0);
                OpResult::Parked
            }
        }
    }

    /// `close(ch)`: wake every receiver, then every sender.
    pub(crate) fn chan_close(&mut self, m: MId, chan: ChanRef) -> OpResult {
        let ChanRef::Chan(chan) = chan else {
            self.fatal_panic(m, "close of nil channel");
            return OpResult::Died;
        };
        if self.chans[chan.index()].closed {
            self.fatal_panic(m, "close of closed channel");
            return OpResult::Died;
        }
        // Dequeue every receiver, then every sender, as `dequeue` would one
        // by one, but in place: the queues leave the channel (releasing their
        // memory: a million parked receivers is a library scenario) and keep
        // only the live sudogs, in order.
        let c = &mut self.chans[chan.index()];
        c.closed = true;
        let mut recvq = std::mem::take(&mut c.recvq);
        let mut sendq = std::mem::take(&mut c.sendq);
        recvq.retain(|s| self.claim(s));
        for s in &recvq {
            self.gs[s.g.index()].received = Some(0).into();
        }
        sendq.retain(|s| self.claim(s));
        for s in &sendq {
            self.gs[s.g.index()].send_on_closed = true;
        }
        let p = self.p_of(m);
        for s in recvq.into_iter().chain(sendq) {
            self.chan_wake(s, p);
        }
        OpResult::Continue
    }

    /// A timer made by `time.After` fired: its channel (capacity 1) gets a
    /// value without blocking (`sendTime`); a parked receiver is readied onto `p`.
    pub(crate) fn timer_chan_send(&mut self, chan: ChannelId, p: PId) {
        let value = self.next_value();
        if let Some(s) = self.dequeue(chan, true) {
            self.gs[s.g.index()].received = Some(value).into();
            self.chan_wake(s, p);
        } else {
            let c = &mut self.chans[chan.index()];
            if (c.buf.len() as u32) < c.capacity {
                c.buf.push_back(value);
            }
        }
    }

    /// The cases of a select as plain channel operations: `time.After` cases
    /// get a fresh timer channel now (Go evaluates case expressions first).
    fn select_cases(&mut self, m: MId, g: GIdx, table: u32) -> (Vec<(CaseOp, u32)>, Option<u32>) {
        let program = self.program_of(g);
        let sel = self.programs[program.index()].selects[table as usize].clone();
        let mut cases = Vec::with_capacity(sel.cases.len());
        self.gs[g.index()].rare_mut().select_after_chans.clear();
        for (i, (op, body_pc)) in sel.cases.into_iter().enumerate() {
            let op = match op {
                CaseOp::After { duration_ns } => {
                    let chan = self.new_timer_chan(m, duration_ns);
                    self.gs[g.index()]
                        .rare_mut()
                        .select_after_chans
                        .push((i as u32, chan));
                    CaseOp::Recv(ChanRef::Chan(chan))
                }
                other => other,
            };
            cases.push((op, body_pc));
        }
        (cases, sel.default_pc)
    }

    /// `time.After(d)`: a channel of capacity 1 and a timer on this P's heap.
    fn new_timer_chan(&mut self, m: MId, duration_ns: u64) -> ChannelId {
        let chan = ChannelId(self.chans.len() as u32);
        self.chans.push(ChanState {
            capacity: 1,
            ..ChanState::default()
        });
        let p = self.p_of(m);
        let when_ns = self.now_ns + duration_ns;
        self.add_timer(p, when_ns, crate::p::TimerKind::ChanSend(chan));
        chan
    }

    /// A select statement (`selectgo` and the compiler's rewrites). Sets the
    /// G's pc to the chosen body.
    pub(crate) fn select_start(&mut self, m: MId, table: u32) -> OpResult {
        let g = self.ms[m.index()].curg.expect("M runs a G");
        let (cases, default_pc) = self.select_cases(m, g, table);
        let set_pc = |w: &mut World, pc: u32| w.gs[g.index()].pc = pc;
        // Compiler rewrites.
        match (cases.len(), default_pc) {
            (0, None) => return self.park_forever(m, WaitReason::SelectNoCases),
            (0, Some(pc)) => {
                set_pc(self, pc);
                return OpResult::Continue;
            }
            (1, None) => {
                let (op, body_pc) = cases[0];
                set_pc(self, body_pc);
                return match op {
                    CaseOp::Send(chan) => self.chan_send(m, chan, true),
                    CaseOp::Recv(chan) => self.chan_recv(m, chan, true),
                    CaseOp::After { .. } => unreachable!("After cases became receives"),
                };
            }
            _ => {}
        }
        // Poll order: non-nil cases, shuffled uniformly.
        let live: Vec<u32> = cases
            .iter()
            .enumerate()
            .filter(|(_, (op, _))| {
                !matches!(op, CaseOp::Send(ChanRef::Nil) | CaseOp::Recv(ChanRef::Nil))
            })
            .map(|(i, _)| i as u32)
            .collect();
        let mut pollorder: Vec<u32> = Vec::with_capacity(live.len());
        for (i, &case) in live.iter().enumerate() {
            let range = i as u32 + 1;
            let j = self.choose(
                crate::decide::ChoiceKind::SelectOrder,
                u64::from(range),
                Some(m),
                |w| u64::from(w.ms[m.index()].cheaprand.below(range)),
            ) as usize;
            pollorder.push(case);
            let last = pollorder.len() - 1;
            pollorder.swap(j, last);
        }
        // Pass 1: the first ready case in poll order wins.
        for &i in &pollorder {
            let (op, body_pc) = cases[i as usize];
            let ready = match op {
                CaseOp::Recv(ChanRef::Chan(chan)) => match self.try_recv(m, chan) {
                    Some(value) => {
                        self.gs[g.index()].received = Some(value).into();
                        true
                    }
                    None => false,
                },
                CaseOp::Send(ChanRef::Chan(chan)) => {
                    let value = self.next_value();
                    match self.try_send(m, chan, value) {
                        None => return OpResult::Died,
                        Some(done) => done,
                    }
                }
                _ => unreachable!("nil cases are not polled"),
            };
            if ready {
                set_pc(self, body_pc);
                return OpResult::Continue;
            }
        }
        if let Some(pc) = default_pc {
            set_pc(self, pc);
            return OpResult::Continue;
        }
        if live.is_empty() {
            return self.park_forever(m, WaitReason::Select);
        }
        // Pass 2: wait on every channel at once.
        let gg = &mut self.gs[g.index()];
        gg.select_epoch = gg.select_epoch.wrapping_add(1);
        gg.rare_mut().select_won = None;
        let epoch = gg.select_epoch;
        self.acquire_sudogs(m, live.len());
        let mut by_chan: Vec<u32> = live.clone();
        by_chan.sort_by_key(|&i| match cases[i as usize].0 {
            CaseOp::Send(ChanRef::Chan(c)) | CaseOp::Recv(ChanRef::Chan(c)) => c.0,
            _ => u32::MAX,
        });
        for i in by_chan {
            let (op, _) = cases[i as usize];
            match op {
                CaseOp::Recv(ChanRef::Chan(chan)) => {
                    self.chans[chan.index()].recvq.push_back(Sudog {
                        g,
                        value: 0,
                        select: Some((epoch, i)),
                    })
                }
                CaseOp::Send(ChanRef::Chan(chan)) => {
                    let value = self.next_value();
                    self.chans[chan.index()].sendq.push_back(Sudog {
                        g,
                        value,
                        select: Some((epoch, i)),
                    })
                }
                _ => unreachable!("only live cases wait"),
            }
        }
        self.park(m, WaitReason::Select);
        self.schedule(m);
        OpResult::Parked
    }

    /// Pass 3, when a woken select runs: drop its other waits and go to the
    /// winning case's body.
    pub(crate) fn select_resume(&mut self, m: MId, table: u32) -> OpResult {
        let g = self.ms[m.index()].curg.expect("M runs a G");
        let won = self.gs[g.index()]
            .rare_mut()
            .select_won
            .take()
            .expect("a woken select has a winner");
        let epoch = self.gs[g.index()].select_epoch;
        // Advance the epoch so no stale wait can be claimed any more.
        self.gs[g.index()].select_epoch = epoch.wrapping_add(1);
        let program = self.program_of(g);
        let sel = &self.programs[program.index()].selects[table as usize];
        let (case_op, body_pc) = sel.cases[won as usize];
        let after_chans = std::mem::take(&mut self.gs[g.index()].rare_mut().select_after_chans);
        for (i, (op, _)) in sel.cases.iter().enumerate() {
            let chan = match op {
                CaseOp::Send(ChanRef::Chan(c)) | CaseOp::Recv(ChanRef::Chan(c)) => *c,
                CaseOp::After { .. } => {
                    match after_chans.iter().find(|(case, _)| *case == i as u32) {
                        Some((_, c)) => *c,
                        None => continue,
                    }
                }
                _ => continue,
            };
            let c = &mut self.chans[chan.index()];
            c.recvq
                .retain(|s| !(s.g == g && s.select.is_some_and(|(e, _)| e == epoch)));
            c.sendq
                .retain(|s| !(s.g == g && s.select.is_some_and(|(e, _)| e == epoch)));
        }
        self.gs[g.index()].pc = body_pc;
        if matches!(case_op, CaseOp::Send(_))
            && std::mem::take(&mut self.gs[g.index()].send_on_closed)
        {
            self.fatal_panic(m, "send on closed channel");
            return OpResult::Died;
        }
        OpResult::Continue
    }

    /// A label for a channel in reports.
    pub(crate) fn chan_name(&self, chan: ChannelId) -> String {
        self.workload.channels.get(chan.index()).map_or_else(
            || format!("time.After channel {}", chan.0),
            |c| c.name.clone(),
        )
    }
}
