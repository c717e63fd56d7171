//! The scenarios' scheduler: context switches between a CPU's boot task and
//! its second task, and forced preemption at the lazy layer's named points
//! ([`PreemptPoint`]). A case arms one window (a point and which of its
//! occurrences); when mm reaches it and the task is preemptible, the switch
//! happens right there, every run: the second task runs through
//! [`Env::run_second_task`] (on QEMU switched in by a real interrupt, on its
//! own stack), then the first task is switched back in. A preempted task
//! can then be migrated to CPU1 ([`continue_migrated`]). Written once for
//! QEMU and the host model (docs/lazy-mmu-v7.md, "Forcing windows").

use alloc::boxed::Box;

use ktest::{Ctx, Order};
use mm::{PreemptPoint, TaskId};

use crate::env::{Env, KernelMm};

/// What the second task does when a window is hit.
pub type SecondTask = Box<dyn FnMut() + Send>;

struct Armed {
    point: PreemptPoint,
    /// Which occurrence of `point` (1 = the first) switches.
    nth: u32,
    seen: u32,
    second: Option<SecondTask>,
}

/// One environment's window bookkeeping.
pub struct Preemption {
    armed: spin::Mutex<Option<Armed>>,
    tally: spin::Mutex<WindowTally>,
}

/// What the armed windows of a case came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowTally {
    /// Windows whose point was reached in a preemptible task: switched.
    pub switched: u32,
    /// Windows whose point was reached with preemption off: not taken.
    pub refused: u32,
    /// Windows armed but never reached.
    pub missed: u32,
    /// Times a preempted task resumed on CPU1 ([`continue_migrated`]).
    pub migrated: u32,
}

impl WindowTally {
    pub const fn explored(&self) -> u32 {
        self.switched + self.refused
    }
}

impl Default for Preemption {
    fn default() -> Self {
        Self::new()
    }
}

impl Preemption {
    pub const fn new() -> Self {
        Preemption {
            armed: spin::Mutex::new(None),
            tally: spin::Mutex::new(WindowTally { switched: 0, refused: 0, missed: 0, migrated: 0 }),
        }
    }

    /// mm reached `point` (the env's `mm::Scheduler` calls this).
    /// A switch on an interrupt's exit path may find the interrupted task
    /// holding the window (a timer tick, never a window of its own): the
    /// point is then not counted.
    pub fn on_point(&self, env: &dyn Env, point: PreemptPoint) {
        let second = {
            let Some(mut armed) = self.armed.try_lock() else { return };
            let Some(window) = armed.as_mut().filter(|window| window.point == point) else { return };
            window.seen += 1;
            if window.seen != window.nth {
                return;
            }
            armed.take().and_then(|window| window.second)
        };
        let Some(mut second) = second else { return };
        if !env.mm().preemptible() {
            self.tally.lock().refused += 1;
            return;
        }
        self.tally.lock().switched += 1;
        switch_task(env, Order::Fixed, &mut *second);
    }
}

/// Arms the window: at the `nth` time mm reaches `point`, preempt the
/// current task and run `second` as the CPU's second task.
pub fn preempt_at(env: &dyn Env, point: PreemptPoint, nth: u32, second: SecondTask) {
    let preemption = env.preemption();
    let mut armed = preemption.armed.lock();
    if armed.take().is_some() {
        preemption.tally.lock().missed += 1;
    }
    *armed = Some(Armed { point, nth, seen: 0, second: Some(second) });
}

/// Ends the case's windows (an armed one never reached counts as missed),
/// prints how many were explored as a KTAP `#` line, and returns the tally.
pub fn finish_windows(env: &dyn Env, ctx: &Ctx) -> WindowTally {
    let preemption = env.preemption();
    if preemption.armed.lock().take().is_some() {
        preemption.tally.lock().missed += 1;
    }
    let tally = core::mem::take(&mut *preemption.tally.lock());
    ctx.diag(format_args!(
        "windows explored: {} ({} switched, {} refused: preemption off), {} missed, {} migrated",
        tally.explored(),
        tally.switched,
        tally.refused,
        tally.missed,
        tally.migrated
    ));
    tally
}

/// Switches from this CPU's current task to its other one, runs `f` there
/// on its own stack, and switches back. `Order::Fixed` runs the lazy
/// layer's context-switch hooks (`arch_start/end_context_switch`);
/// `Order::Buggy` switches `current` without them, leaving the CPU's arch
/// mode to the next task.
pub fn switch_task(env: &dyn Env, order: Order, f: &mut dyn FnMut()) {
    let mm = env.mm();
    env.run_second_task(&mut |next, _| lazy_switch(mm, order, next), f);
}

/// The lazy layer's side of a switch to `next` on the CPU running this:
/// the context-switch hooks (`Order::Fixed`) or only `current = next`
/// (`Order::Buggy`). Always switches.
pub fn lazy_switch(mm: &KernelMm, order: Order, next: TaskId) -> bool {
    match order {
        Order::Fixed => {
            mm.context_switch(next);
        }
        Order::Buggy => mm.set_current_task(next),
    }
    true
}

/// Migration after preemption: a task that lost the CPU at one of the
/// case's windows, and may still be preempted, resumes on CPU1 (the
/// scheduler's choice here, every run). `rest` runs there as the same task,
/// switched in by CPU1's own context switch while this CPU runs its second
/// task; then the task comes back. A task never preempted (its windows
/// refused) runs `rest` here, as does every task when there is no CPU1.
/// Returns whether the task migrated.
pub fn continue_migrated(env: &dyn Env, rest: &mut dyn FnMut()) -> bool {
    let mm = env.mm();
    let preemption = env.preemption();
    if preemption.tally.lock().switched == 0 || !mm.preemptible() {
        rest();
        return false;
    }
    let ran = env.run_migrated(&mut |next, _| lazy_switch(mm, Order::Fixed, next), rest);
    if ran {
        preemption.tally.lock().migrated += 1;
    } else {
        rest();
    }
    ran
}
