//! The smallest 64-bit ELF the runner's kernel check accepts: a header, one
//! loadable segment holding the entry point and, optionally, the PVH note
//! x86_64 direct boot needs. Shared by the kernel-check unit tests and the
//! end-to-end tests (`#[path]`), which boot it on a fake QEMU.

pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;
const ENTRY: u64 = 0x10_0000;
const HEADER_LEN: usize = 64;
const PHDR_LEN: usize = 56;

pub fn fake_kernel(machine: u16, pvh_note: bool) -> Vec<u8> {
    let phnum: u16 = if pvh_note { 2 } else { 1 };
    let note_offset = HEADER_LEN + PHDR_LEN * usize::from(phnum);
    let mut note = Vec::new();
    for word in [4u32, 4, 18] {
        note.extend(word.to_le_bytes());
    }
    note.extend(b"Xen\0");
    note.extend(u32::try_from(ENTRY).expect("32-bit entry").to_le_bytes());
    let total = note_offset + if pvh_note { note.len() } else { 0 };

    let mut elf = Vec::with_capacity(total);
    elf.extend(b"\x7fELF");
    elf.extend([2, 1, 1, 0]); // 64-bit, little-endian, version 1, System V
    elf.extend([0; 8]);
    elf.extend(2u16.to_le_bytes()); // ET_EXEC
    elf.extend(machine.to_le_bytes());
    elf.extend(1u32.to_le_bytes());
    elf.extend(ENTRY.to_le_bytes());
    elf.extend((HEADER_LEN as u64).to_le_bytes()); // e_phoff
    elf.extend(0u64.to_le_bytes()); // e_shoff
    elf.extend(0u32.to_le_bytes()); // e_flags
    for half in [HEADER_LEN as u16, PHDR_LEN as u16, phnum, 64, 0, 0] {
        elf.extend(half.to_le_bytes());
    }
    let total_u64 = total as u64;
    segment(&mut elf, [1, 5], [0, ENTRY, total_u64, 0x1000]); // PT_LOAD, R+X, the whole file
    if pvh_note {
        let note_at = note_offset as u64;
        segment(&mut elf, [4, 4], [note_at, ENTRY + note_at, note.len() as u64, 4]); // PT_NOTE, R
        elf.extend(note);
    }
    assert_eq!(elf.len(), total);
    elf
}

/// A program header: `[p_type, p_flags]`, `[offset, address, size, align]`.
fn segment(elf: &mut Vec<u8>, [p_type, flags]: [u32; 2], [offset, address, size, align]: [u64; 4]) {
    elf.extend(p_type.to_le_bytes());
    elf.extend(flags.to_le_bytes());
    for word in [offset, address, address, size, size, align] {
        elf.extend(word.to_le_bytes());
    }
}
