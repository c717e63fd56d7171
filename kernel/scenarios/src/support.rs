//! Small pieces every suite uses: the environment, tagged frames (a frame
//! whose first word names it, so a read through a mapping says which frame
//! the MMU really used), and a scratch VA range for mappings under test.

use ktest::Ctx;
use mm::{AllocError, PhysAddr, Prot, PteValue, VirtAddr, PAGE_SIZE};

use crate::env::{Env, EnvRef};

/// The environment the harness passed to this case.
pub fn env(ctx: &Ctx) -> &'static dyn Env {
    ctx.env::<EnvRef>().get()
}

/// The first word of frame `pa`, as a tag: distinct per frame and never 0.
pub const fn tag_of(pa: PhysAddr) -> u64 {
    0x7a60_0000_0000_0000 | pa.as_u64()
}

/// Where the linear map shows `pa`.
pub fn linear(env: &dyn Env, pa: PhysAddr) -> VirtAddr {
    env.mm().layout().phys_to_virt(pa)
}

/// Allocates a frame (outside any lazy section) and writes its tag through
/// the linear map.
pub fn tagged_frame(env: &dyn Env) -> Result<PhysAddr, AllocError> {
    let pa = env.mm().alloc_page()?;
    env.write(linear(env, pa), tag_of(pa)).map_err(|_| AllocError::NotManaged(pa))?;
    Ok(pa)
}

/// Page `index` of the scratch range: kernel VAs in the vmalloc area that
/// `vmap` never hands out, for cases that build their own mappings.
pub fn scratch_va(env: &dyn Env, index: u64) -> VirtAddr {
    let layout = env.mm().layout();
    layout.vmalloc_base.add(layout.vmalloc_size / 2 + index * PAGE_SIZE)
}

/// The leaf entry that maps `pa` with `prot` in this MMU's format.
pub fn page_entry(env: &dyn Env, pa: PhysAddr, prot: Prot) -> PteValue {
    env.mm().pte_format().page_entry(pa, prot)
}
