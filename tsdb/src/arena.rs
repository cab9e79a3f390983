//! Chunk buffers kept apart from the general heap: the bytes of every chunk being encoded live
//! in slots of fixed size classes, each class in memory-mapped slabs of its own.
//!
//! Why: a head holds one open chunk per series, and all of them grow together and are cut
//! together (every series started at about the same time reaches its 120th sample within one
//! scrape interval). In the general heap the full chunks' buffers, freed at the cut, lie
//! between the series' other allocations, and the new chunks' small buffers are carved out of
//! them: the holes stay resident, about 140 bytes a series. Here a class's slabs hold nothing
//! but that class's slots, so when the chunks of a size are all gone their slabs are unmapped
//! and the memory goes back to the system at once; and a slot has no allocator header.
//!
//! Sizes above the largest class (a chunk of thousands of samples, never a head's) come from
//! the general heap.
//!
//! Short byte strings kept once per series (a head series' label set as symbol ids) live in
//! a second family of classes, 8 to 128 bytes in steps of 8 to 16 ([`SmallBytes`]): in the
//! general heap a 20-byte string takes a 32-byte block (an 8-byte header, then rounding to
//! 16), here a 24-byte slot.
//!
//! One of the few places of the store with `unsafe` code (listed in `mmap`): a buffer is a
//! pointer into a slab, owned like a `Box<[u8]>`.

#![allow(unsafe_code)]

use std::alloc::Layout;
use std::collections::{BTreeMap, BTreeSet};
use std::ptr::NonNull;

use parking_lot::Mutex;

/// Slot sizes: about a third larger each, so a buffer's unused tail is a sixth of it on
/// average. The first holds an empty chunk's header and first sample.
const SIZES: [u32; 16] = [
    40, 64, 96, 128, 176, 240, 320, 432, 576, 768, 1024, 1376, 1840, 2448, 3264, 4352,
];

/// Bytes of one slab (a separate anonymous mapping).
const SLAB_BYTES: usize = 128 << 10;

/// The smallest class size at or above `n`, if any.
fn class_size(n: usize) -> Option<usize> {
    SIZES.iter().map(|&s| s as usize).find(|&s| s >= n)
}

struct Slab {
    map: memmap2::MmapMut,
    /// Slots handed out and not yet returned.
    live: u32,
    /// Slots below this index have been handed out at least once.
    bumped: u32,
    /// The returned slot reused first ([`NO_SLOT`] if none): each returned slot holds the
    /// index of the one returned before it in its first four bytes.
    free: u32,
}

const NO_SLOT: u32 = u32::MAX;

impl Slab {
    fn new(map: memmap2::MmapMut) -> Self {
        Slab {
            map,
            live: 0,
            bumped: 0,
            free: NO_SLOT,
        }
    }

    fn base(&self) -> usize {
        self.map.as_ptr() as usize
    }

    fn slot_ptr(&mut self, slot: u32, size: usize) -> *mut u8 {
        self.map.as_mut_ptr().wrapping_add(slot as usize * size)
    }

    /// A slot to hand out: the last returned, else the next never used; `None` when full.
    fn take(&mut self, size: usize, per: u32) -> Option<u32> {
        if self.free != NO_SLOT {
            let slot = self.free;
            let p = self.slot_ptr(slot, size);
            // SAFETY: `slot` is a returned slot inside the mapping (every size holds the
            // four-byte link), which nothing references; `give_back` wrote the link there.
            self.free = unsafe { p.cast::<u32>().read_unaligned() };
            self.live += 1;
            return Some(slot);
        }
        if self.bumped < per {
            self.bumped += 1;
            self.live += 1;
            return Some(self.bumped - 1);
        }
        None
    }

    /// Takes back a slot handed out by `take`.
    fn give_back(&mut self, slot: u32, size: usize) {
        let p = self.slot_ptr(slot, size);
        // SAFETY: the slot's buffer is gone (its owner is returning it), so its first four
        // bytes are the arena's to keep the link in.
        unsafe { p.cast::<u32>().write_unaligned(self.free) };
        self.free = slot;
        self.live -= 1;
    }

    fn is_full(&self, per: u32) -> bool {
        self.free == NO_SLOT && self.bumped == per
    }
}

struct Class {
    size: u32,
    slabs: Vec<Option<Slab>>,
    /// Indices into `slabs` of slabs with a slot to give (the first is used first).
    open: BTreeSet<u32>,
    /// Slab start address → index into `slabs`, to find a returned slot's slab.
    by_addr: BTreeMap<usize, u32>,
    /// An empty slab kept instead of unmapped, so that a buffer growing and shrinking across a
    /// slab's last slot does not map and unmap for every change.
    spare: Option<Slab>,
}

impl Class {
    const fn new(size: u32) -> Self {
        Class {
            size,
            slabs: Vec::new(),
            open: BTreeSet::new(),
            by_addr: BTreeMap::new(),
            spare: None,
        }
    }

    fn slots_per_slab(&self) -> u32 {
        (SLAB_BYTES / self.size as usize) as u32
    }

    fn alloc(&mut self) -> NonNull<u8> {
        let per = self.slots_per_slab();
        // The first slab with room: slots pack into the first slabs, and the later ones
        // drain as their chunks grow or are cut, until they are unmapped (first fit, which
        // keeps a heap compact for the same reason).
        let i = match self.open.first() {
            Some(&i) => i,
            None => self.add_slab(),
        };
        let size = self.size as usize;
        let slab = self.slabs[i as usize]
            .as_mut()
            .expect("open slabs are mapped");
        let slot = slab.take(size, per).expect("open slabs have room");
        let p = slab.slot_ptr(slot, size);
        if slab.is_full(per) {
            self.open.remove(&i);
        }
        NonNull::new(p).expect("a mapping is never at address 0")
    }

    fn add_slab(&mut self) -> u32 {
        let slab = self.spare.take().unwrap_or_else(|| {
            // Anonymous memory costs nothing until touched; failing to map it is running out
            // of memory, as a failed malloc would be.
            Slab::new(
                memmap2::MmapMut::map_anon(SLAB_BYTES)
                    .unwrap_or_else(|e| panic!("mapping a {SLAB_BYTES}-byte slab: {e}")),
            )
        });
        let base = slab.base();
        let i = match self.slabs.iter().position(Option::is_none) {
            Some(i) => {
                self.slabs[i] = Some(slab);
                i
            }
            None => {
                self.slabs.push(Some(slab));
                self.slabs.len() - 1
            }
        } as u32;
        self.by_addr.insert(base, i);
        self.open.insert(i);
        i
    }

    /// A slot of an earlier slab for the buffer at `p` (which the caller then moves there and
    /// frees), if `p`'s slab is less than half used and an earlier one has room: slabs that
    /// churn left sparse then drain into the first ones and are unmapped, where waiting for
    /// their last chunks to be cut would keep them mapped for up to a chunk's lifetime.
    fn move_target(&mut self, p: NonNull<u8>) -> Option<NonNull<u8>> {
        let addr = p.as_ptr() as usize;
        let (_, &i) = self.by_addr.range(..=addr).next_back()?;
        let live = self.slabs[i as usize].as_ref()?.live;
        if live * 2 >= self.slots_per_slab() || *self.open.first()? >= i {
            return None;
        }
        Some(self.alloc())
    }

    /// Whether `move_target` would give a slot for some buffer of the class.
    fn has_movable(&self) -> bool {
        let per = self.slots_per_slab();
        self.open.first().is_some_and(|&first| {
            self.slabs[first as usize + 1..]
                .iter()
                .flatten()
                .any(|s| s.live * 2 < per)
        })
    }

    fn free(&mut self, p: NonNull<u8>) {
        let addr = p.as_ptr() as usize;
        let (&base, &i) = self
            .by_addr
            .range(..=addr)
            .next_back()
            .expect("a slot lies in one of its class's slabs");
        let per = self.slots_per_slab();
        let slab = self.slabs[i as usize].as_mut().expect("mapped");
        let slot = ((addr - base) / self.size as usize) as u32;
        debug_assert!(addr - base < SLAB_BYTES && slot < slab.bumped);
        let was_full = slab.is_full(per);
        slab.give_back(slot, self.size as usize);
        if slab.live > 0 {
            if was_full {
                self.open.insert(i);
            }
            return;
        }
        let mut slab = self.slabs[i as usize].take().expect("mapped");
        self.by_addr.remove(&base);
        self.open.remove(&i);
        if self.spare.is_none() {
            // Its pages go back now; the mapping stays for reuse.
            slab.release_pages();
            self.spare = Some(Slab::new(slab.map));
        }
        // Otherwise dropped: unmapped.
    }
}

impl Slab {
    /// Hands the slab's pages back to the system, keeping the mapping (they read as zeros).
    /// Only for a slab with no live slot.
    fn release_pages(&mut self) {
        debug_assert_eq!(self.live, 0);
        // SAFETY: no slot of the slab is handed out, so nothing reads or writes its memory;
        // private anonymous pages read as zeros after this, and the slab's bookkeeping is
        // reset by the caller. Advice only: if it fails the pages merely stay resident.
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }
}

const fn class(i: usize) -> Mutex<Class> {
    Mutex::new(Class::new(SIZES[i]))
}

static CLASSES: [Mutex<Class>; SIZES.len()] = [
    class(0),
    class(1),
    class(2),
    class(3),
    class(4),
    class(5),
    class(6),
    class(7),
    class(8),
    class(9),
    class(10),
    class(11),
    class(12),
    class(13),
    class(14),
    class(15),
];

fn class_index(size: usize) -> Option<usize> {
    SIZES.iter().position(|&s| s as usize == size)
}

/// Whether [`ChunkBuf::pack`] would move some buffer: a class has a slab less than half used
/// after one with room.
pub(crate) fn packable() -> bool {
    CLASSES.iter().any(|c| c.lock().has_movable())
}

/// Memory mapped for chunk buffers and the part of it handed out, in bytes.
pub fn usage() -> (u64, u64) {
    usage_of(&CLASSES)
}

fn usage_of(classes: &[Mutex<Class>]) -> (u64, u64) {
    let mut mapped = 0u64;
    let mut used = 0u64;
    for c in classes {
        let c = c.lock();
        for s in c.slabs.iter().flatten() {
            mapped += SLAB_BYTES as u64;
            used += u64::from(s.live) * u64::from(c.size);
        }
    }
    (mapped, used)
}

/// Slot sizes of the small classes ([`SmallBytes`]).
const SMALL_SIZES: [u32; 12] = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128];

const fn small_class(i: usize) -> Mutex<Class> {
    Mutex::new(Class::new(SMALL_SIZES[i]))
}

static SMALL_CLASSES: [Mutex<Class>; SMALL_SIZES.len()] = [
    small_class(0),
    small_class(1),
    small_class(2),
    small_class(3),
    small_class(4),
    small_class(5),
    small_class(6),
    small_class(7),
    small_class(8),
    small_class(9),
    small_class(10),
    small_class(11),
];

/// The smallest small class whose slots hold `size` bytes.
const fn small_class_for(size: usize) -> Option<usize> {
    let mut i = 0;
    while i < SMALL_SIZES.len() {
        if SMALL_SIZES[i] as usize >= size {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Memory mapped for the small classes (head series and their label sets) and the part of it
/// handed out, in bytes.
pub fn small_usage() -> (u64, u64) {
    usage_of(&SMALL_CLASSES)
}

/// An immutable byte string in a slot of the small classes (heap memory beyond 128 bytes),
/// behind one pointer: the slot holds the string's length as a varint, then its bytes.
pub(crate) struct SmallBytes(NonNull<u8>);

// SAFETY: a `SmallBytes` owns its slot exclusively and never changes it; the classes it
// returns the slot to are behind locks.
unsafe impl Send for SmallBytes {}
// SAFETY: shared references only read the bytes.
unsafe impl Sync for SmallBytes {}

const _: () = assert!(std::mem::size_of::<Option<SmallBytes>>() == 8);

impl SmallBytes {
    pub(crate) fn new(bytes: &[u8]) -> Self {
        let mut prefix = Vec::with_capacity(10);
        crate::encoding::put_uvarint(&mut prefix, bytes.len() as u64);
        let total = prefix.len() + bytes.len();
        let p = match small_class_for(total) {
            Some(c) => SMALL_CLASSES[c].lock().alloc(),
            None => heap_alloc(total),
        };
        // SAFETY: the slot (or heap block) holds at least `total` bytes and is this string's
        // alone; the sources are distinct memory.
        unsafe {
            std::ptr::copy_nonoverlapping(prefix.as_ptr(), p.as_ptr(), prefix.len());
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                p.as_ptr().add(prefix.len()),
                bytes.len(),
            );
        }
        SmallBytes(p)
    }

    /// The prefix's length and the string's.
    #[inline]
    fn lengths(&self) -> (usize, usize) {
        let (mut len, mut shift, mut i) = (0usize, 0u32, 0usize);
        loop {
            // SAFETY: `new` wrote a complete varint at the start of the slot, so every byte
            // read up to its last (the first below 0x80) is inside it.
            let b = unsafe { self.0.as_ptr().add(i).read() };
            len |= usize::from(b & 0x7f) << shift;
            i += 1;
            if b < 0x80 {
                return (i, len);
            }
            shift += 7;
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        let (at, len) = self.lengths();
        // SAFETY: `new` wrote `len` bytes after the prefix, inside the slot.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(at), len) }
    }
}

impl Drop for SmallBytes {
    fn drop(&mut self) {
        let (at, len) = self.lengths();
        let total = at + len;
        match small_class_for(total) {
            Some(c) => SMALL_CLASSES[c].lock().free(self.0),
            None => heap_free(self.0, total),
        }
    }
}

/// A reference-counted value in a slot of the small classes: an `Arc` without a weak count
/// and without an allocator header. What the head keeps one of per series (a series is 88
/// bytes; with its count, 96 here, where malloc's header would make it a 112-byte block).
pub(crate) struct SlabArc<T>(NonNull<SlabArcInner<T>>);

#[repr(C)]
struct SlabArcInner<T> {
    count: std::sync::atomic::AtomicUsize,
    value: T,
}

// SAFETY: as `std::sync::Arc`: the value is shared between threads (so `T: Sync`) and may be
// dropped on any of them (so `T: Send`).
unsafe impl<T: Send + Sync> Send for SlabArc<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for SlabArc<T> {}

impl<T> SlabArc<T> {
    /// The small class whose slots hold a `SlabArcInner<T>`; a slot lies at a multiple of its
    /// size from a page-aligned slab, so the size must be a multiple of the alignment.
    const CLASS: usize = {
        let Some(i) = small_class_for(std::mem::size_of::<SlabArcInner<T>>()) else {
            panic!("a SlabArc value fits a small class")
        };
        assert!((SMALL_SIZES[i] as usize).is_multiple_of(std::mem::align_of::<SlabArcInner<T>>()));
        i
    };

    pub(crate) fn new(value: T) -> Self {
        let p = SMALL_CLASSES[Self::CLASS]
            .lock()
            .alloc()
            .cast::<SlabArcInner<T>>();
        let inner = SlabArcInner {
            count: std::sync::atomic::AtomicUsize::new(1),
            value,
        };
        // SAFETY: the slot is at least `size_of::<SlabArcInner<T>>()` bytes, suitably
        // aligned (see `CLASS`), and this value's alone.
        unsafe { p.as_ptr().write(inner) };
        SlabArc(p)
    }

    /// The value's address, the same for every clone.
    pub(crate) fn as_ptr(this: &Self) -> *const T {
        // SAFETY: the slot holds a live `SlabArcInner<T>` while any clone exists.
        unsafe { &raw const (*this.0.as_ptr()).value }
    }
}

impl<T> std::ops::Deref for SlabArc<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the value lives until the last clone is dropped, and is only ever shared.
        unsafe { &self.0.as_ref().value }
    }
}

impl<T> Clone for SlabArc<T> {
    #[inline]
    fn clone(&self) -> Self {
        // SAFETY: as in `deref`.
        let count = unsafe { &self.0.as_ref().count };
        // Relaxed, as `std::sync::Arc`: a new reference is made from an existing one.
        let old = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert!(old < isize::MAX as usize, "reference count overflow");
        SlabArc(self.0)
    }
}

impl<T> Drop for SlabArc<T> {
    fn drop(&mut self) {
        use std::sync::atomic::{Ordering, fence};
        // SAFETY: as in `deref`.
        let count = unsafe { &self.0.as_ref().count };
        if count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Every other clone's uses of the value happen before it is dropped.
        fence(Ordering::Acquire);
        // SAFETY: this was the last reference: nothing else reads the value or the slot.
        unsafe { std::ptr::drop_in_place(&raw mut (*self.0.as_ptr()).value) };
        SMALL_CLASSES[Self::CLASS].lock().free(self.0.cast());
    }
}

/// A growable byte buffer for one chunk: a slot of a size class, or heap memory beyond the
/// largest class. 16 bytes. Grows to exactly what [`ChunkBuf::reserve_exact`] is asked for,
/// rounded up to a class.
pub(crate) struct ChunkBuf {
    ptr: NonNull<u8>,
    len: u32,
    cap: u32,
}

// SAFETY: a `ChunkBuf` owns its slot exclusively (like a `Box<[u8]>`); the arena it returns the
// slot to is behind locks.
unsafe impl Send for ChunkBuf {}
// SAFETY: shared references only read the bytes.
unsafe impl Sync for ChunkBuf {}

impl ChunkBuf {
    pub(crate) fn with_capacity(n: usize) -> Self {
        let mut b = ChunkBuf {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
        };
        if n > 0 {
            b.reallocate(n);
        }
        b
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.cap as usize
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `cap` bytes (or dangling with `len` 0) and the first `len`
        // are initialised; the slot is this buffer's alone.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len as usize) }
    }

    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len as usize) }
    }

    #[inline]
    pub(crate) fn push(&mut self, b: u8) {
        if self.len == self.cap {
            self.reserve_exact(1);
        }
        // SAFETY: `len < cap`, so the byte at `len` is inside the slot.
        unsafe { self.ptr.as_ptr().add(self.len as usize).write(b) };
        self.len += 1;
    }

    #[inline]
    pub(crate) fn extend_from_slice(&mut self, s: &[u8]) {
        if self.cap as usize - (self.len as usize) < s.len() {
            self.reserve_exact(s.len());
        }
        // SAFETY: room for `s.len()` bytes after `len` was just ensured; `s` cannot overlap
        // the slot's unused tail, which nothing else references.
        unsafe {
            std::ptr::copy_nonoverlapping(
                s.as_ptr(),
                self.ptr.as_ptr().add(self.len as usize),
                s.len(),
            )
        };
        self.len += s.len() as u32;
    }

    #[inline]
    pub(crate) fn last_mut(&mut self) -> Option<&mut u8> {
        self.as_mut_slice().last_mut()
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Room for at least `additional` more bytes (moving to a larger slot if needed).
    pub(crate) fn reserve_exact(&mut self, additional: usize) {
        let want = self.len as usize + additional;
        if want > self.cap as usize {
            self.reallocate(want);
        }
    }

    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.as_slice().to_vec()
    }

    /// Moves the bytes to a new slot of at least `n` bytes (`n ≥ len`).
    #[cold]
    fn reallocate(&mut self, n: usize) {
        debug_assert!(n >= self.len as usize);
        let cap = class_size(n).unwrap_or(n);
        let cap32 = u32::try_from(cap).expect("a chunk buffer is under 4 GiB");
        let new = alloc(cap);
        // SAFETY: both regions are valid for `len` bytes and distinct slots.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), new.as_ptr(), self.len as usize)
        };
        self.release();
        self.ptr = new;
        self.cap = cap32;
    }

    /// Moves the bytes to a slot of an earlier slab of their class if theirs is less than half
    /// used (see `Class::move_target`); true if they moved.
    pub(crate) fn pack(&mut self) -> bool {
        let Some(c) = class_index(self.cap as usize) else {
            return false;
        };
        let mut class = CLASSES[c].lock();
        let Some(new) = class.move_target(self.ptr) else {
            return false;
        };
        // SAFETY: both slots hold `cap` bytes, the first `len` of this one initialised; they
        // are distinct slots.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), new.as_ptr(), self.len as usize)
        };
        class.free(self.ptr);
        self.ptr = new;
        true
    }

    fn release(&mut self) {
        if self.cap > 0 {
            dealloc(self.ptr, self.cap as usize);
            self.cap = 0;
            self.ptr = NonNull::dangling();
        }
    }
}

fn alloc(cap: usize) -> NonNull<u8> {
    match class_index(cap) {
        Some(c) => CLASSES[c].lock().alloc(),
        None => heap_alloc(cap),
    }
}

fn dealloc(p: NonNull<u8>, cap: usize) {
    match class_index(cap) {
        Some(c) => CLASSES[c].lock().free(p),
        None => heap_free(p, cap),
    }
}

/// `n` bytes of the general heap, for what is larger than every class of its family (so `n`
/// is never 0).
fn heap_alloc(n: usize) -> NonNull<u8> {
    let layout = Layout::array::<u8>(n).expect("a valid size");
    // SAFETY: `layout` has a non-zero size (`n` is above a class size).
    let p = unsafe { std::alloc::alloc(layout) };
    NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

/// Returns a block of [`heap_alloc`].
fn heap_free(p: NonNull<u8>, n: usize) {
    let layout = Layout::array::<u8>(n).expect("a valid size");
    // SAFETY: `p` came from `heap_alloc(n)`, which allocated it with this layout.
    unsafe { std::alloc::dealloc(p.as_ptr(), layout) }
}

impl Drop for ChunkBuf {
    fn drop(&mut self) {
        self.release();
    }
}

impl Clone for ChunkBuf {
    fn clone(&self) -> Self {
        let mut b = ChunkBuf::with_capacity(self.cap as usize);
        b.extend_from_slice(self.as_slice());
        b
    }
}

impl std::fmt::Debug for ChunkBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkBuf")
            .field("len", &self.len)
            .field("cap", &self.cap)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn small_bytes_keep_their_bytes_in_every_class_and_beyond() {
        let strings: Vec<Vec<u8>> = (0..300usize)
            .map(|n| (0..n).map(|i| (i * 31 + n) as u8).collect())
            .collect();
        let kept: Vec<SmallBytes> = strings.iter().map(|b| SmallBytes::new(b)).collect();
        for (k, b) in kept.iter().zip(&strings) {
            assert_eq!(k.as_slice(), &b[..]);
        }
        // Dropping every other one leaves the rest intact, and the slots are reused.
        let (mapped, used) = small_usage();
        assert!(mapped >= used && used > 0);
        let mut kept: Vec<Option<SmallBytes>> = kept.into_iter().map(Some).collect();
        for k in kept.iter_mut().step_by(2) {
            *k = None;
        }
        let again: Vec<SmallBytes> = strings.iter().map(|b| SmallBytes::new(b)).collect();
        for (i, k) in kept.iter().enumerate() {
            if let Some(k) = k {
                assert_eq!(k.as_slice(), &strings[i][..]);
            }
            assert_eq!(again[i].as_slice(), &strings[i][..]);
        }
    }

    #[test]
    fn a_slab_arc_drops_its_value_once_with_the_last_clone() {
        struct Counted(Arc<AtomicUsize>, [u64; 10]);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let a = SlabArc::new(Counted(drops.clone(), [7; 10]));
        let b = a.clone();
        assert!(std::ptr::eq(SlabArc::as_ptr(&a), SlabArc::as_ptr(&b)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = a.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        drop(c.clone());
                    }
                    c.1[9]
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 7);
        }
        drop(a);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        assert_eq!(b.1, [7; 10]);
        drop(b);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn grows_through_the_classes_and_keeps_its_bytes() {
        let mut b = ChunkBuf::with_capacity(40);
        assert_eq!(b.capacity(), 40);
        let mut want = Vec::new();
        for i in 0..10_000u32 {
            let x = (i * 7919 % 251) as u8;
            if i % 3 == 0 {
                b.push(x);
                want.push(x);
            } else {
                b.extend_from_slice(&[x, x ^ 0x55]);
                want.extend_from_slice(&[x, x ^ 0x55]);
            }
            assert!(b.capacity() >= b.len());
        }
        assert_eq!(b.as_slice(), &want[..]);
        assert!(
            b.capacity() > *SIZES.last().unwrap() as usize,
            "past the classes: the heap"
        );
        let c = b.clone();
        assert_eq!(c.as_slice(), &want[..]);
        *b.last_mut().unwrap() = 1;
        assert_eq!(*b.as_slice().last().unwrap(), 1);
        assert_eq!(*c.as_slice().last().unwrap(), *want.last().unwrap());
        b.clear();
        assert!(b.as_slice().is_empty());
    }

    #[test]
    fn the_capacity_is_a_class_at_or_above_the_request() {
        for n in [1, 40, 41, 63, 64, 65, 4351, 4352] {
            let b = ChunkBuf::with_capacity(n);
            assert_eq!(b.capacity(), class_size(n).unwrap());
            assert!(b.capacity() >= n);
        }
        assert_eq!(ChunkBuf::with_capacity(5000).capacity(), 5000);
        assert_eq!(ChunkBuf::with_capacity(0).capacity(), 0);
    }

    // On a class of its own (the global ones are shared with every other test).
    #[test]
    fn a_class_reuses_returned_slots_and_unmaps_empty_slabs() {
        let mut c = Class::new(768);
        let per = c.slots_per_slab() as usize;
        let mapped = |c: &Class| c.slabs.iter().flatten().count();
        let mut slots: Vec<NonNull<u8>> = (0..per * 3).map(|_| c.alloc()).collect();
        assert_eq!(mapped(&c), 3);
        let distinct: std::collections::HashSet<usize> =
            slots.iter().map(|p| p.as_ptr() as usize).collect();
        assert_eq!(distinct.len(), per * 3);
        // Half of the first slab and all of the others back: two slabs empty, one kept
        // (pages released) as the spare, the other unmapped.
        for p in slots.drain(per / 2..) {
            c.free(p);
        }
        assert_eq!(mapped(&c), 1);
        assert!(c.spare.is_some());
        // Returned slots are reused before a slab is added.
        let again: Vec<NonNull<u8>> = (0..per - per / 2).map(|_| c.alloc()).collect();
        assert_eq!(mapped(&c), 1);
        assert!(c.open.is_empty(), "the slab is full");
        // The next takes the spare.
        let one = c.alloc();
        assert_eq!(mapped(&c), 2);
        assert!(c.spare.is_none());
        for p in slots.into_iter().chain(again).chain([one]) {
            c.free(p);
        }
        assert_eq!(mapped(&c), 0);
        assert!(c.by_addr.is_empty() && c.open.is_empty());
    }

    #[test]
    fn buffers_of_a_sparse_slab_move_to_an_earlier_one_with_room() {
        let mut c = Class::new(3264);
        let per = c.slots_per_slab() as usize;
        let mut slots: Vec<NonNull<u8>> = (0..per * 3).map(|_| c.alloc()).collect();
        // The first slab keeps half and one, the second one slot, the third all of them.
        let rest: Vec<NonNull<u8>> = slots.drain(per / 2 + 1..per * 2 - 1).collect();
        for p in rest {
            c.free(p);
        }
        let (first, second, third) = (slots[0], slots[per / 2 + 1], slots[per / 2 + 2]);
        assert_eq!(c.slabs.iter().flatten().count(), 3);
        // A full slab's slot stays; so does one of the first slab (nothing is before it).
        assert!(c.has_movable());
        assert!(c.move_target(third).is_none());
        assert!(c.move_target(first).is_none());
        // The second slab's one slot moves into the first, and the emptied slab goes.
        let to = c.move_target(second).expect("a slot of the first slab");
        c.free(second);
        assert_eq!(c.slabs.iter().flatten().count(), 2);
        assert!(
            !c.has_movable(),
            "the slabs left are the first and a full one"
        );
        let slab_of = |c: &Class, p: NonNull<u8>| {
            *c.by_addr
                .range(..=p.as_ptr() as usize)
                .next_back()
                .unwrap()
                .1
        };
        assert_eq!(slab_of(&c, to), slab_of(&c, first));
        for p in slots.into_iter().filter(|&p| p != second).chain([to]) {
            c.free(p);
        }
        assert!(c.slabs.iter().flatten().next().is_none());
    }

    #[test]
    fn a_chunk_buffer_keeps_its_bytes_when_packed() {
        // The global classes are shared with other tests: whether it moves depends on them,
        // but its bytes stay either way.
        let mut b = ChunkBuf::with_capacity(3000);
        let want: Vec<u8> = (0..2999u32).map(|i| (i % 251) as u8).collect();
        b.extend_from_slice(&want);
        let _ = b.pack();
        assert_eq!(b.as_slice(), &want[..]);
        assert_eq!(b.capacity(), 3264);
    }

    #[test]
    fn a_class_fills_its_first_slab_with_room_first() {
        let mut c = Class::new(4352);
        let per = c.slots_per_slab() as usize;
        let mut slots: Vec<NonNull<u8>> = (0..per * 2).map(|_| c.alloc()).collect();
        let slab_of = |c: &Class, p: NonNull<u8>| {
            *c.by_addr
                .range(..=p.as_ptr() as usize)
                .next_back()
                .unwrap()
                .1
        };
        let (first, second) = (slab_of(&c, slots[0]), slab_of(&c, slots[per]));
        assert!(first < second);
        // A slot of the second slab back, then one of the first.
        c.free(slots.swap_remove(per));
        c.free(slots.swap_remove(0));
        let p = c.alloc();
        assert_eq!(
            slab_of(&c, p),
            first,
            "the first slab with room gives the slot"
        );
        let q = c.alloc();
        assert_eq!(slab_of(&c, q), second, "then the next");
        assert!(c.open.is_empty());
        for p in slots.into_iter().chain([p, q]) {
            c.free(p);
        }
        assert!(c.slabs.iter().flatten().next().is_none());
    }

    #[test]
    fn returned_slots_are_reused_last_first_and_their_neighbours_keep_their_bytes() {
        let mut c = Class::new(40);
        let slots: Vec<NonNull<u8>> = (0..3).map(|_| c.alloc()).collect();
        for (k, p) in slots.iter().enumerate() {
            // SAFETY: each slot is 40 bytes and handed out to this test.
            unsafe { std::ptr::write_bytes(p.as_ptr(), 0xa0 + k as u8, 40) };
        }
        c.free(slots[1]);
        c.free(slots[0]);
        // SAFETY: slot 2 is still handed out to this test.
        let kept = unsafe { std::slice::from_raw_parts(slots[2].as_ptr(), 40) };
        assert!(kept.iter().all(|&b| b == 0xa2));
        assert_eq!(c.alloc(), slots[0]);
        assert_eq!(c.alloc(), slots[1]);
        let next = c.alloc();
        assert!(!slots.contains(&next), "a slot never used before");
        for p in slots.into_iter().chain([next]) {
            c.free(p);
        }
        assert!(c.slabs.iter().flatten().next().is_none());
    }
}
