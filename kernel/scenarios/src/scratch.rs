//! Scratch VA for the mappings a case builds itself (docs/adding-a-case.md,
//! "Scratch VA"): [`ScratchVa::take`] hands out ranges that no other range
//! of the case overlaps, and [`finish_case`](crate::finish_case) takes them
//! all back, after checking the case left none of their pages mapped.
//!
//! The window is the third quarter of the vmalloc area: `vmap` hands out
//! addresses from the bottom of the area, the kernel's bench suite uses the
//! last quarter and the boot suite the very last page.

use alloc::vec::Vec;

use ktest::{Ctx, Judge};
use mm::{VirtAddr, PAGE_SIZE};

use crate::env::{Env, EnvRef};

/// Pages one leaf table maps (512 eight-byte entries in a 4 KiB table, the
/// same in both page-table formats).
pub const PAGES_PER_LEAF_TABLE: u64 = 512;

/// A range of scratch pages: page-aligned and starting on a leaf-table
/// boundary, so no other range shares its first leaf table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScratchVa {
    start: VirtAddr,
    nr_pages: u64,
}

impl ScratchVa {
    /// `nr_pages` pages for this case. Other cases get the same VAs later,
    /// so leaf tables may already exist there (empty: every case unmaps
    /// what it mapped, and `finish_case` checks).
    pub fn take(ctx: &Ctx, nr_pages: u64) -> ScratchVa {
        let env_ref = ctx.env::<EnvRef>();
        env_ref.scratch().take(env_ref.get(), nr_pages, Fresh::No)
    }

    /// `nr_pages` pages no case has had since boot, so none of their leaf
    /// tables exist yet: for a case that needs a hole in the tables.
    pub fn take_untouched(ctx: &Ctx, nr_pages: u64) -> ScratchVa {
        let env_ref = ctx.env::<EnvRef>();
        env_ref.scratch().take(env_ref.get(), nr_pages, Fresh::Yes)
    }

    pub fn start(&self) -> VirtAddr {
        self.start
    }

    pub fn nr_pages(&self) -> u64 {
        self.nr_pages
    }

    /// The `index`th page; past the range is a bug in the case.
    pub fn page(&self, index: u64) -> VirtAddr {
        assert!(index < self.nr_pages, "scratch page {index} of a range of {}", self.nr_pages);
        self.start.add(index * PAGE_SIZE)
    }

    pub fn pages(&self) -> impl Iterator<Item = VirtAddr> {
        let start = self.start;
        (0..self.nr_pages).map(move |index| start.add(index * PAGE_SIZE))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fresh {
    No,
    Yes,
}

struct Cursor {
    /// Page offset in the window of the next range.
    next: u64,
    /// Page offset past every range handed out since boot.
    high_water: u64,
    /// This case's ranges, checked and taken back when it ends.
    taken: Vec<ScratchVa>,
}

/// The scratch window of one `mm` context: a bump allocator reset when
/// each case ends, so the VAs (and their leaf tables) are reused.
pub struct ScratchWindow {
    cursor: spin::Mutex<Cursor>,
}

impl Default for ScratchWindow {
    fn default() -> Self {
        ScratchWindow { cursor: spin::Mutex::new(Cursor { next: 0, high_water: 0, taken: Vec::new() }) }
    }
}

impl ScratchWindow {
    /// The window's first page and its size in pages.
    fn bounds(env: &dyn Env) -> (VirtAddr, u64) {
        let layout = env.mm().layout();
        (layout.vmalloc_base.add(layout.vmalloc_size / 2), layout.vmalloc_size / 4 / PAGE_SIZE)
    }

    fn take(&self, env: &dyn Env, nr_pages: u64, fresh: Fresh) -> ScratchVa {
        assert!(nr_pages > 0, "an empty scratch range");
        let (window_start, window_pages) = Self::bounds(env);
        let mut cursor = self.cursor.lock();
        let from = if fresh == Fresh::Yes { cursor.high_water } else { cursor.next };
        let first = from.next_multiple_of(PAGES_PER_LEAF_TABLE);
        assert!(
            first + nr_pages <= window_pages,
            "scratch window of {window_pages} pages exhausted: {nr_pages} more wanted at page {first}"
        );
        cursor.next = first + nr_pages;
        cursor.high_water = cursor.high_water.max(cursor.next);
        let range = ScratchVa { start: window_start.add(first * PAGE_SIZE), nr_pages };
        cursor.taken.push(range);
        range
    }

    /// Takes back every range of the case that just ended; a page of them
    /// still mapped fails that case (the next case would find it).
    pub(crate) fn finish_case(&self, env: &dyn Env, ctx: &mut Ctx) {
        let taken = {
            let mut cursor = self.cursor.lock();
            cursor.next = 0;
            core::mem::take(&mut cursor.taken)
        };
        let mm = env.mm();
        let tables = mm.page_tables();
        let mut still_mapped = taken
            .iter()
            .flat_map(ScratchVa::pages)
            .filter(|&va| matches!(tables.pte_offset(va), Ok(Some(ptep)) if !mm.ptep_get(ptep).is_none()));
        if let Some(first) = still_mapped.next() {
            let count = 1 + still_mapped.count();
            ctx.fail(
                Judge::State,
                format_args!("{count} scratch page(s) still mapped at the end of the case, first {first}"),
            );
        }
    }
}
