//! The binary's allocator: mimalloc, or the C library's allocator while [`use_system`] is in
//! force.
//!
//! `hunt`, `query` and `scan` allocate and free many small strings per record, often on
//! other threads than the ones that allocated them: mimalloc makes `hunt` about 1.25x faster
//! on one core and 1.6x on two (bench/results/hunt.md). `watch` is bound by its resident
//! set instead (64 MB with a full process table): aya's parse of the kernel's BTF at start-up
//! is a burst of short-lived allocations that mimalloc's size-segregated pages (and
//! transparent huge pages) turn into a 74–82 MB peak, against 44 MiB with the C library, so
//! `watch` runs on the C library's allocator.
//!
//! The choice is made from the command line before `main` (see [`CHOOSE`]), so that a
//! `watch` process never touches mimalloc's pages. Switching is safe at any time anyway:
//! every pointer is freed by the allocator that made it, told apart with
//! `mi_is_in_heap_region` once the C allocator has been used at all (until then, which is
//! always for the batch commands, frees go straight to mimalloc).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

use mimalloc::MiMalloc;

/// New allocations come from mimalloc (else from the C library).
static MIMALLOC: AtomicBool = AtomicBool::new(true);
/// The C library's allocator has been used: frees must check where a pointer came from.
static MIXED: AtomicBool = AtomicBool::new(false);

pub struct Alloc;

/// From now on, allocate with the C library's allocator.
pub fn use_system() {
    MIXED.store(true, Ordering::SeqCst);
    MIMALLOC.store(false, Ordering::SeqCst);
}

/// Runs before `main` (glibc calls `.init_array` functions with the program's arguments, as
/// Rust's standard library relies on too), before the Rust runtime allocates: `watch`
/// switches to the C library's allocator here.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static CHOOSE: extern "C" fn(i32, *const *const std::ffi::c_char, *const *const std::ffi::c_char) =
    choose;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" fn choose(
    argc: i32,
    argv: *const *const std::ffi::c_char,
    _envp: *const *const std::ffi::c_char,
) {
    if argc < 2 || argv.is_null() {
        return;
    }
    // SAFETY: glibc passes `argc` valid, NUL-terminated argument strings.
    let first = unsafe { *argv.add(1) };
    if !first.is_null() && unsafe { std::ffi::CStr::from_ptr(first) }.to_bytes() == b"watch" {
        use_system();
    }
}

#[inline]
fn from_mimalloc(ptr: *mut u8) -> bool {
    // SAFETY: a read-only query of mimalloc's region map, valid for any pointer.
    !MIXED.load(Ordering::Relaxed)
        || unsafe { libmimalloc_sys::mi_is_in_heap_region(ptr as *const std::ffi::c_void) }
}

// SAFETY: every call is forwarded to one of two sound allocators, and each pointer is freed
// or reallocated by the allocator that returned it (`from_mimalloc`).
unsafe impl GlobalAlloc for Alloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if MIMALLOC.load(Ordering::Relaxed) {
            MiMalloc.alloc(layout)
        } else {
            System.alloc(layout)
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if MIMALLOC.load(Ordering::Relaxed) {
            MiMalloc.alloc_zeroed(layout)
        } else {
            System.alloc_zeroed(layout)
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if from_mimalloc(ptr) {
            MiMalloc.dealloc(ptr, layout)
        } else {
            System.dealloc(ptr, layout)
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_mi = from_mimalloc(ptr);
        let new_mi = MIMALLOC.load(Ordering::Relaxed);
        match (old_mi, new_mi) {
            (true, true) => MiMalloc.realloc(ptr, layout, new_size),
            (false, false) => System.realloc(ptr, layout, new_size),
            _ => {
                // Moving between allocators: a fresh block from the current one.
                let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                    return std::ptr::null_mut();
                };
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}
