//! How `kcheck_eq!` prints a value: with `Display` when the type has one
//! (`0xffff808004e20000`, `write fault (not mapped) at ...`), else `Debug`.
//! The choice is made at compile time by method resolution ("autoref
//! specialisation"): `(&Shown(v)).pick()` finds `PickDisplay` on `Shown`
//! first and falls back to `PickDebug` on `&Shown` only when `T` has no
//! `Display`. Used only through the macro.

use core::fmt;

pub struct Shown<'a, T: ?Sized>(pub &'a T);

pub struct ViaDisplay;
pub struct ViaDebug;

pub trait PickDisplay {
    fn pick(&self) -> ViaDisplay {
        ViaDisplay
    }
}

impl<T: fmt::Display + ?Sized> PickDisplay for Shown<'_, T> {}

pub trait PickDebug {
    fn pick(&self) -> ViaDebug {
        ViaDebug
    }
}

impl<T: fmt::Debug + ?Sized> PickDebug for &Shown<'_, T> {}

pub struct DisplayOf<'a, T: ?Sized>(&'a T);
pub struct DebugOf<'a, T: ?Sized>(&'a T);

impl ViaDisplay {
    pub fn show<T: fmt::Display + ?Sized>(self, value: &T) -> DisplayOf<'_, T> {
        DisplayOf(value)
    }
}

impl ViaDebug {
    pub fn show<T: fmt::Debug + ?Sized>(self, value: &T) -> DebugOf<'_, T> {
        DebugOf(value)
    }
}

impl<T: fmt::Display + ?Sized> fmt::Display for DisplayOf<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

impl<T: fmt::Debug + ?Sized> fmt::Display for DebugOf<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::vec;

    use mm::{Access, Fault, FaultAddr, FaultKind, VirtAddr};

    use super::{PickDebug as _, PickDisplay as _, Shown};

    macro_rules! shown {
        ($value:expr) => {
            format!("{}", (&Shown(&$value)).pick().show(&$value))
        };
    }

    #[test]
    fn display_wins_where_the_type_has_it() {
        let fault = Fault { kind: FaultKind::NotMapped, access: Access::Read, addr: FaultAddr(0xffff_0000_0000_1000) };
        assert_eq!(shown!(fault), "read fault (not mapped) at 0xffff000000001000");
        assert_eq!(shown!(512_u64), "512");
        assert_eq!(shown!("text"), "text");
    }

    #[test]
    fn debug_is_the_fallback() {
        assert_eq!(shown!(vec![VirtAddr::new(0x1000)]), "[0x1000]");
        assert_eq!(shown!(Some(3)), "Some(3)");
    }
}
