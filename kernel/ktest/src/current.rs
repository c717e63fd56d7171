//! Which case body is running, for the crash path: an exception handler or
//! the panic handler names the case before it ends the run.

use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};

use mm::Flavour;

use crate::case::{Case, Form, LeafName, Order};

static CASE: AtomicPtr<Case> = AtomicPtr::new(null_mut());
/// Index into the case's `variants`; `NO_VARIANT` for a case without any.
static VARIANT: AtomicUsize = AtomicUsize::new(NO_VARIANT);
static ORDER: AtomicU8 = AtomicU8::new(0);
static DETECTS_BUG: AtomicU8 = AtomicU8::new(0);

const NO_VARIANT: usize = usize::MAX;

/// The case body being run right now.
#[derive(Clone, Copy, Debug)]
pub struct Running {
    pub case: &'static Case,
    pub variant: Option<Flavour>,
    pub order: Order,
    pub form: Form,
}

impl Running {
    /// The leaf's kunit.py name, as `filter=` takes it back.
    pub fn leaf_name(&self) -> LeafName {
        LeafName { case: self.case.id(), form: self.form, variant: self.variant }
    }
}

/// `(suite, case)` of the running case body, if any.
pub fn current_case() -> Option<(&'static str, &'static str)> {
    current().map(|running| (running.case.suite, running.case.name))
}

/// The running case body with its variant and order, if any.
pub fn current() -> Option<Running> {
    let case = CASE.load(Ordering::Acquire);
    if case.is_null() {
        return None;
    }
    // SAFETY: `CASE` only ever holds null or a pointer made from a
    // `&'static Case` in `enter`, so it is valid for the program's life.
    let case: &'static Case = unsafe { &*case };
    let variant = case.variants.get(VARIANT.load(Ordering::Relaxed)).copied();
    let order = if ORDER.load(Ordering::Relaxed) == 0 { Order::Fixed } else { Order::Buggy };
    let form = if DETECTS_BUG.load(Ordering::Relaxed) == 0 { Form::Plain } else { Form::DetectsBug };
    Some(Running { case, variant, order, form })
}

pub(crate) fn enter(case: &'static Case, variant: Option<Flavour>, order: Order, form: Form) {
    let index =
        variant.and_then(|variant| case.variants.iter().position(|known| *known == variant)).unwrap_or(NO_VARIANT);
    VARIANT.store(index, Ordering::Relaxed);
    ORDER.store(u8::from(order == Order::Buggy), Ordering::Relaxed);
    DETECTS_BUG.store(u8::from(form == Form::DetectsBug), Ordering::Relaxed);
    CASE.store(case as *const Case as *mut Case, Ordering::Release);
}

pub(crate) fn leave() {
    CASE.store(null_mut(), Ordering::Release);
}
