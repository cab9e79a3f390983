//! In-memory series and the striped maps that find them by id and by label set.
//!
//! Lookups take one stripe's read lock; only series creation and garbage collection take a
//! write lock, and only on one stripe, so appenders on different threads do not contend.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroU64;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering};

use model::Labels;
use parking_lot::RwLock;
use parking_lot::lock_api::RawMutex as _;

use crate::chunkenc::XorEncoder;
use crate::head_chunks::ChunkDiskRef;

use super::symbols::SeriesLabels;

/// A full chunk that lives in a head-chunk file, read back through a memory map.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MmappedChunk {
    /// A [`ChunkDiskRef`], never 0 (a record lies after its file's header), which gives
    /// [`FullChunks`] the spare value it tells its two forms apart with.
    r: NonZeroU64,
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
}

impl MmappedChunk {
    pub(crate) fn new(r: ChunkDiskRef, mint: i64, maxt: i64) -> Self {
        let r = NonZeroU64::new(r.0).expect("a head-chunk record is never at offset 0");
        MmappedChunk { r, mint, maxt }
    }

    pub(crate) fn r(&self) -> ChunkDiskRef {
        ChunkDiskRef(self.r.get())
    }
}

/// A series' full chunks in time order, exactly as many slots as chunks. One chunk, the
/// usual case (a series scraped every 10 s or more fills one in 20 minutes or more), lies in
/// the series itself; more take one allocation of their exact size, reallocated for each
/// chunk added (once per 120 samples): a million series each keeping room for three more
/// chunks would be 72 MB. 24 bytes, as one chunk is.
pub(crate) enum FullChunks {
    One(MmappedChunk),
    /// Empty, or more than one.
    Many(Box<[MmappedChunk]>),
}

const _: () = assert!(std::mem::size_of::<FullChunks>() == 24);

impl Default for FullChunks {
    fn default() -> Self {
        FullChunks::Many(Box::default())
    }
}

impl Deref for FullChunks {
    type Target = [MmappedChunk];
    #[inline]
    fn deref(&self) -> &[MmappedChunk] {
        match self {
            FullChunks::One(c) => std::slice::from_ref(c),
            FullChunks::Many(v) => v,
        }
    }
}

impl From<Vec<MmappedChunk>> for FullChunks {
    fn from(v: Vec<MmappedChunk>) -> Self {
        match *v {
            [c] => FullChunks::One(c),
            _ => FullChunks::Many(v.into_boxed_slice()),
        }
    }
}

/// The chunk still being appended to. Its newest sample is the series' own
/// ([`MemSeries::newest_t`], [`MemSeries::newest_v`]) whenever it has samples.
#[repr(C)]
pub(crate) struct OpenChunk {
    /// The encoder's spare bytes ([`XorEncoder::spare`]) hold the low 24 bits of the number
    /// of the block range the chunk started in: the chunk is cut before a sample of another
    /// range, so no chunk spans two blocks (see `Head::cut_chunk`).
    pub(crate) app: XorEncoder,
}

/// Everything about a series that changes as it is appended to, under its lock. `repr(C)`,
/// hot fields first: applying a sample reads and writes the encoder's state in one cache line
/// (the encoder's own order continues that; see `XorAppender`), and the full chunks, touched
/// once per 120 samples, come last. The newest sample is kept once, in
/// [`MemSeries::newest_t`] and [`MemSeries::newest_v`].
#[repr(C)]
pub(crate) struct SeriesData {
    pub(crate) open: Option<OpenChunk>,
    pub(crate) mmapped: FullChunks,
}

impl SeriesData {
    /// Asks for the cache line the next sample of the open chunk is written to.
    pub(crate) fn prefetch_open_tail(&self) {
        if let Some(open) = &self.open {
            let b = open.app.bytes();
            crate::mmap::prefetch(b.as_ptr().wrapping_add(b.len().saturating_sub(1)));
        }
    }

    pub(crate) fn min_time(&self) -> Option<i64> {
        if let Some(c) = self.mmapped.first() {
            return Some(c.mint);
        }
        self.open
            .as_ref()
            .filter(|c| c.app.num_samples() > 0)
            .map(|c| c.app.first_time())
    }

    /// Records a chunk just written to a head-chunk file.
    pub(crate) fn add_full(&mut self, c: MmappedChunk) {
        let mut v = match std::mem::take(&mut self.mmapped) {
            FullChunks::One(first) => vec![first],
            FullChunks::Many(all) => all.into_vec(),
        };
        v.reserve_exact(1);
        v.push(c);
        self.mmapped = v.into();
    }

    /// Keeps the full chunks for which `keep` is true; returns how many went. `keep` may be
    /// asked more than once about a chunk, so it must not change its answer.
    pub(crate) fn retain_full(&mut self, mut keep: impl FnMut(&MmappedChunk) -> bool) -> usize {
        let before = self.mmapped.len();
        if self.mmapped.iter().all(&mut keep) {
            return 0;
        }
        let mut v = std::mem::take(&mut self.mmapped).to_vec();
        v.retain(keep);
        self.mmapped = v.into();
        before - self.mmapped.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.mmapped.is_empty() && self.open.as_ref().is_none_or(|c| c.app.num_samples() == 0)
    }
}

/// How the head shares a series: an `Arc` without a weak count (nothing holds a series
/// weakly) in a 96-byte slot of the arena's small classes, without an allocator header.
pub(crate) type SharedSeries = crate::arena::SlabArc<MemSeries>;

/// [`MemSeries::state`]: in the head.
pub(crate) const LIVE: u8 = 0;
/// Chosen for removal by garbage collection, which removes it after a grace period unless
/// it has samples by then or an appender has set it back to `LIVE`.
pub(crate) const MARKED: u8 = 1;
/// Being taken out of the head; an appender that finds it looks its labels up again.
pub(crate) const GONE: u8 = 2;

/// A head series. `repr(C)` with the fields every append reads (state, id, newest time) in
/// 16 bytes at offset 8: at a million series each line is a cache miss, and appends are bound
/// by them. The slot is 32-byte aligned (96-byte slots from a page-aligned slab) and the
/// `Arc`'s count takes its first 8 bytes, so those 16 bytes start 16-byte aligned and never
/// straddle two lines; the count and the newest value before them are not read by most
/// appends.
///
/// The lock of [`SeriesData`] is one byte next to `state` rather than a `Mutex` around the
/// data, which would pad its byte to 8 ([`MemSeries::lock`]).
#[repr(C)]
pub(crate) struct MemSeries {
    /// Value bits of the newest sample (see `newest_t`), read only for a sample at the newest
    /// time.
    pub(crate) newest_v: AtomicU64,
    /// `LIVE`, `MARKED` or `GONE`; see `head::gc` and `head::grace`.
    pub(crate) state: AtomicU8,
    /// True once a WAL series record for this series has been written (or replayed).
    pub(crate) wal_logged: AtomicBool,
    /// Guards `data`.
    lock: parking_lot::RawMutex,
    pub(crate) id: u32,
    /// Time of the newest sample (`i64::MIN` when there is none): written, with `newest_v`,
    /// under the data lock, and read without it by `append` for its early checks (commit
    /// checks again under the lock).
    pub(crate) newest_t: AtomicI64,
    pub(crate) labels: SeriesLabels,
    /// Read and written only through [`MemSeries::lock`].
    data: UnsafeCell<SeriesData>,
}

// SAFETY: `data`, the one field that is not `Sync` by itself, is reached only through a
// `DataGuard`, which holds `lock` (a mutex) for as long as it lives.
#[allow(unsafe_code)]
unsafe impl Sync for MemSeries {}

/// [`MemSeries`]' data, locked; unlocks when dropped, on the thread that locked it (the
/// marker keeps the guard from being sent elsewhere, as a `MutexGuard` cannot be).
pub(crate) struct DataGuard<'a>(&'a MemSeries, std::marker::PhantomData<*const ()>);

#[allow(unsafe_code)]
impl Deref for DataGuard<'_> {
    type Target = SeriesData;
    #[inline]
    fn deref(&self) -> &SeriesData {
        // SAFETY: this guard holds the series' lock, so no one else reaches the data.
        unsafe { &*self.0.data.get() }
    }
}

#[allow(unsafe_code)]
impl DerefMut for DataGuard<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut SeriesData {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference through the guard.
        unsafe { &mut *self.0.data.get() }
    }
}

#[allow(unsafe_code)]
impl Drop for DataGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard was made by `lock` or `try_lock`, which took the lock.
        unsafe { self.0.lock.unlock() }
    }
}

// A head holds one per series: its size is memory per series (plus the `Arc`'s 8-byte count:
// 88 + 8 fill a 96-byte slot, which also holds the series' first full chunk).
const _: () = assert!(std::mem::size_of::<MemSeries>() <= 88);

impl MemSeries {
    /// The first and last sample times of `open`, this series' open chunk (with samples):
    /// its last sample is the series' newest, which the chunk's encoder does not keep.
    pub(crate) fn open_span(&self, open: &OpenChunk) -> (i64, i64) {
        (open.app.first_time(), self.newest_t.load(Ordering::Relaxed))
    }

    /// Locks the series' data.
    #[inline]
    pub(crate) fn lock(&self) -> DataGuard<'_> {
        self.lock.lock();
        DataGuard(self, std::marker::PhantomData)
    }

    /// Locks the series' data if no one else has it locked.
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<DataGuard<'_>> {
        // `then`, not `then_some`: a guard made and dropped on failure would unlock the
        // holder's lock.
        self.lock
            .try_lock()
            .then(|| DataGuard(self, std::marker::PhantomData))
    }

    /// Where the data lies, for prefetching: its first byte and its size.
    pub(crate) fn data_span(&self) -> (*const u8, usize) {
        (
            self.data.get().cast_const().cast(),
            std::mem::size_of::<SeriesData>(),
        )
    }

    pub(crate) fn new(id: u32, labels: SeriesLabels) -> Self {
        MemSeries {
            id,
            labels,
            wal_logged: AtomicBool::new(false),
            lock: parking_lot::RawMutex::INIT,
            data: UnsafeCell::new(SeriesData {
                mmapped: FullChunks::default(),
                open: None,
            }),
            newest_t: AtomicI64::new(i64::MIN),
            newest_v: AtomicU64::new(0),
            state: AtomicU8::new(LIVE),
        }
    }
}

/// Hashes integer keys (series ids, label-set hashes) with one multiplication: the keys are
/// already well spread or sequential, and SipHash would cost more than the rest of a lookup.
#[derive(Default)]
pub(crate) struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing spreads sequential ids over the high bits the table uses.
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;
/// A set of ids hashed as themselves.
pub(super) type IntSet<K> = std::collections::HashSet<K, BuildHasherDefault<IntHasher>>;

/// Series ids by label hash, one stripe of them. An entry is the hash's upper 32 bits (the
/// stripe is chosen by its lowest bits) and the series id: 8 bytes, about 14 per series with
/// the table's spare room, where a full hash and an `Arc` took 16 and 28. A lookup finds each
/// candidate by id and compares its labels, which it would read anyway.
#[derive(Default)]
struct HashStripe {
    unique: IntMap<u32, u32>,
    /// Ids of further series with the same key; rare.
    conflicts: IntMap<u32, Vec<u32>>,
}

fn stripe_key(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl HashStripe {
    /// Calls `f` with the series of `labels` (`hash` being theirs), looked up in `ids`.
    fn with<R>(
        &self,
        ids: &IdTable,
        hash: u64,
        labels: &Labels,
        f: impl FnOnce(&SharedSeries) -> R,
    ) -> Option<R> {
        let k = stripe_key(hash);
        let first = *self.unique.get(&k)?;
        let mut f = Some(f);
        let mut call = |id: u32| {
            ids.with(id, 0, |s| {
                s.labels
                    .matches(labels)
                    .then(|| f.take().expect("called once")(s))
            })
            .flatten()
        };
        if let Some(r) = call(first) {
            return Some(r);
        }
        self.conflicts.get(&k)?.iter().find_map(|&id| call(id))
    }

    fn insert(&mut self, hash: u64, id: u32) {
        let k = stripe_key(hash);
        match self.unique.entry(k) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.conflicts.entry(k).or_default().push(id)
            }
        }
    }

    fn remove(&mut self, hash: u64, id: u32) {
        let k = stripe_key(hash);
        if self.unique.get(&k) == Some(&id) {
            self.unique.remove(&k);
            // Promote a conflicting series, if any, to the unique slot.
            if let Some(v) = self.conflicts.get_mut(&k) {
                if let Some(other) = v.pop() {
                    self.unique.insert(k, other);
                }
                if v.is_empty() {
                    self.conflicts.remove(&k);
                }
            }
            return;
        }
        if let Some(v) = self.conflicts.get_mut(&k) {
            v.retain(|&x| x != id);
            if v.is_empty() {
                self.conflicts.remove(&k);
            }
        }
    }
}

/// Series ids split into three parts: 10 bits pick a directory, 12 a leaf within it, 10 a slot.
const SLOT_BITS: u32 = 10;
const LEAF_BITS: u32 = 12;
const SLOTS: usize = 1 << SLOT_BITS;
const LEAVES: usize = 1 << LEAF_BITS;
const DIRS: usize = 1 << (32 - SLOT_BITS - LEAF_BITS);

/// `SLOTS` consecutive ids (8 KiB).
struct Leaf {
    slots: Box<[Option<SharedSeries>]>,
    live: u32,
}

/// `LEAVES` leaves (64 KiB of lock words), created on first use.
struct Dir {
    leaves: Box<[RwLock<Option<Box<Leaf>>>]>,
    /// Leaves present; changed under the directory's read lock and a leaf's write lock.
    live_leaves: AtomicU32,
}

/// Series by id: a radix table (directory → leaf → slot). Ids are handed out in order, so a
/// lookup takes two read locks whose words stay cached (a directory covers 4 M ids, a leaf
/// 1,024) and reads one 8-byte slot, where a hash map would also probe a bucket. Creating and
/// removing a series take a leaf's write lock. Leaves and directories that hold no series and
/// lie wholly below the highest id ever inserted are freed, so churn does not accumulate
/// memory: a leaf (8 KiB) stays only while one of its 1,024 ids is live.
struct IdTable {
    dirs: Box<[RwLock<Option<Box<Dir>>>]>,
    max_id: AtomicU32,
}

impl IdTable {
    fn new() -> Self {
        IdTable {
            dirs: (0..DIRS).map(|_| RwLock::new(None)).collect(),
            max_id: AtomicU32::new(0),
        }
    }

    #[inline]
    fn split(id: u32) -> (usize, usize, usize) {
        (
            (id >> (SLOT_BITS + LEAF_BITS)) as usize,
            (id >> SLOT_BITS) as usize & (LEAVES - 1),
            id as usize & (SLOTS - 1),
        )
    }

    /// True if every id of the range ending at `last` is below the highest id inserted, so
    /// no new series will land there.
    fn passed(&self, last: u64) -> bool {
        last < u64::from(self.max_id.load(Ordering::Relaxed))
    }

    #[inline]
    fn get(&self, id: u32) -> Option<SharedSeries> {
        self.with(id, 0, SharedSeries::clone)
    }

    /// Calls `f` with the series under `id`, under the table's read locks. With
    /// `prefetch_ahead`, also asks the cache for the series that many ids further on (see
    /// [`SeriesMap::with_for_append`]).
    #[inline]
    fn with<R>(
        &self,
        id: u32,
        prefetch_ahead: usize,
        f: impl FnOnce(&SharedSeries) -> R,
    ) -> Option<R> {
        let (d, l, i) = Self::split(id);
        let dir = self.dirs[d].read();
        let leaf = dir.as_ref()?.leaves[l].read();
        let slots = &leaf.as_ref()?.slots;
        if prefetch_ahead > 0
            && let Some(Some(ahead)) = slots.get(i + prefetch_ahead)
        {
            // The line of the fields an append reads first (see `MemSeries`).
            crate::mmap::prefetch(std::ptr::from_ref(&ahead.state).cast());
        }
        slots[i].as_ref().map(f)
    }

    fn insert(&self, s: SharedSeries) {
        let (d, l, i) = Self::split(s.id);
        self.max_id.fetch_max(s.id, Ordering::Relaxed);
        loop {
            {
                let dir = self.dirs[d].read();
                if let Some(dir) = dir.as_ref() {
                    let mut leaf = dir.leaves[l].write();
                    let leaf = leaf.get_or_insert_with(|| {
                        dir.live_leaves.fetch_add(1, Ordering::Relaxed);
                        Box::new(Leaf {
                            slots: (0..SLOTS).map(|_| None).collect(),
                            live: 0,
                        })
                    });
                    let old = leaf.slots[i].replace(s);
                    debug_assert!(old.is_none(), "series id handed out twice");
                    if old.is_none() {
                        leaf.live += 1;
                    }
                    return;
                }
            }
            let new = Box::new(Dir {
                leaves: (0..LEAVES).map(|_| RwLock::new(None)).collect(),
                live_leaves: AtomicU32::new(0),
            });
            let mut dir = self.dirs[d].write();
            if dir.is_none() {
                *dir = Some(new);
            }
        }
    }

    /// Removes `s` if it is the series under its id.
    fn remove(&self, s: &MemSeries) {
        let (d, l, i) = Self::split(s.id);
        let free_dir = {
            let dir = self.dirs[d].read();
            let Some(dir) = dir.as_ref() else { return };
            let mut g = dir.leaves[l].write();
            let Some(leaf) = g.as_mut() else { return };
            if leaf.slots[i]
                .as_ref()
                .is_some_and(|x| std::ptr::eq(SharedSeries::as_ptr(x), s))
            {
                leaf.slots[i] = None;
                leaf.live -= 1;
            }
            let leaf_last = (((u64::from(s.id) >> SLOT_BITS) + 1) << SLOT_BITS) - 1;
            if leaf.live == 0 && self.passed(leaf_last) {
                *g = None;
                dir.live_leaves.fetch_sub(1, Ordering::Relaxed) == 1
            } else {
                false
            }
        };
        let dir_bits = SLOT_BITS + LEAF_BITS;
        let dir_last = (((u64::from(s.id) >> dir_bits) + 1) << dir_bits) - 1;
        if free_dir && self.passed(dir_last) {
            // Under the write lock no insert can be adding a leaf; check again.
            let mut dir = self.dirs[d].write();
            if dir
                .as_ref()
                .is_some_and(|x| x.live_leaves.load(Ordering::Relaxed) == 0)
            {
                *dir = None;
            }
        }
    }

    /// Calls `f` with each series of `ids` (ascending) that is in the table, outside the
    /// table's locks: the locks of a leaf are taken once for all its ids in `ids`, not once an
    /// id (a query's workers would otherwise take turns at the same lock words per series).
    fn for_ids<E>(
        &self,
        ids: &[u32],
        mut f: impl FnMut(&SharedSeries) -> Result<(), E>,
    ) -> Result<(), E> {
        debug_assert!(ids.is_sorted());
        let mut batch: Vec<SharedSeries> = Vec::new();
        let mut rest = ids;
        while let Some(&first) = rest.first() {
            let run = rest.partition_point(|&id| id >> SLOT_BITS == first >> SLOT_BITS);
            let (d, l, _) = Self::split(first);
            {
                let dir = self.dirs[d].read();
                if let Some(dir) = dir.as_ref()
                    && let Some(leaf) = dir.leaves[l].read().as_ref()
                {
                    batch.extend(
                        rest[..run]
                            .iter()
                            .filter_map(|&id| leaf.slots[id as usize & (SLOTS - 1)].clone()),
                    );
                }
            }
            for s in batch.drain(..) {
                f(&s)?;
            }
            rest = &rest[run..];
        }
        Ok(())
    }

    fn for_each(&self, mut f: impl FnMut(&SharedSeries)) {
        // One leaf (at most 1,024 series) at a time, called outside its locks: a whole
        // directory's worth would be a transient copy of millions of pointers.
        let mut batch: Vec<SharedSeries> = Vec::with_capacity(SLOTS);
        for dir in self.dirs.iter() {
            for l in 0..LEAVES {
                {
                    let dir = dir.read();
                    let Some(dir) = dir.as_ref() else { break };
                    if let Some(leaf) = dir.leaves[l].read().as_ref() {
                        batch.extend(leaf.slots.iter().flatten().cloned());
                    }
                }
                for s in batch.drain(..) {
                    f(&s);
                }
            }
        }
    }
}

pub(crate) struct SeriesMap {
    by_id: IdTable,
    by_hash: Box<[RwLock<HashStripe>]>,
    mask: usize,
}

impl SeriesMap {
    /// `stripes` is rounded up to a power of two.
    pub(crate) fn new(stripes: usize) -> Self {
        let n = stripes.max(1).next_power_of_two();
        SeriesMap {
            by_id: IdTable::new(),
            by_hash: (0..n).map(|_| RwLock::new(HashStripe::default())).collect(),
            mask: n - 1,
        }
    }

    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<SharedSeries> {
        self.by_id.get(id)
    }

    /// Calls `f` with the series under `id` while the table cannot remove it, so `f` may
    /// look at it without a reference count.
    ///
    /// Also starts loading the series six ids further on into the cache. A target's series
    /// are created in the order of its exposition, so they get consecutive ids, and every
    /// scrape appends them in that order again: the appends a few samples later then find
    /// their series (at a million series otherwise a cache miss each, which `append` waits
    /// for) already loaded or on the way. Series appended in another order cost one wasted
    /// prefetch each. Six is about one memory latency's worth of appends.
    #[inline]
    pub(crate) fn with_for_append<R>(
        &self,
        id: u32,
        f: impl FnOnce(&SharedSeries) -> R,
    ) -> Option<R> {
        self.by_id.with(id, 6, f)
    }

    #[inline]
    pub(crate) fn get_by_labels(&self, hash: u64, labels: &Labels) -> Option<SharedSeries> {
        self.with_labels(hash, labels, SharedSeries::clone)
    }

    /// Calls `f` with the series for `labels` under its stripe's read lock.
    #[inline]
    pub(crate) fn with_labels<R>(
        &self,
        hash: u64,
        labels: &Labels,
        f: impl FnOnce(&SharedSeries) -> R,
    ) -> Option<R> {
        self.by_hash[hash as usize & self.mask]
            .read()
            .with(&self.by_id, hash, labels, f)
    }

    /// Finds the series or creates it with `make`; `true` if this call created it.
    pub(crate) fn get_or_create(
        &self,
        hash: u64,
        labels: &Labels,
        make: impl FnOnce() -> SharedSeries,
    ) -> (SharedSeries, bool) {
        let mut stripe = self.by_hash[hash as usize & self.mask].write();
        if let Some(s) = stripe.with(&self.by_id, hash, labels, SharedSeries::clone) {
            return (s, false);
        }
        let s = make();
        stripe.insert(hash, s.id);
        // Insert by id while still holding the hash stripe, so no one can see the series by
        // labels without also finding it by id.
        self.by_id.insert(s.clone());
        (s, true)
    }

    pub(crate) fn remove(&self, s: &MemSeries) {
        let hash = s.labels.stable_hash();
        self.by_hash[hash as usize & self.mask]
            .write()
            .remove(hash, s.id);
        self.by_id.remove(s);
    }

    /// Every series, one page at a time (no global lock).
    pub(crate) fn for_each(&self, f: impl FnMut(&SharedSeries)) {
        self.by_id.for_each(f);
    }

    /// Calls `f` with each series of `ids` (ascending) that the head has (see
    /// `IdTable::for_ids`).
    pub(crate) fn for_ids<E>(
        &self,
        ids: &[u32],
        f: impl FnMut(&SharedSeries) -> Result<(), E>,
    ) -> Result<(), E> {
        self.by_id.for_ids(ids, f)
    }
}

#[cfg(test)]
mod tests {
    use model::labels;

    use super::*;

    fn series(id: u32) -> SharedSeries {
        SharedSeries::new(MemSeries::new(
            id,
            SeriesLabels::new(&labels! {"__name__" => "m", "id" => id.to_string()}).0,
        ))
    }

    #[test]
    fn a_failed_try_lock_leaves_the_holder_holding_the_lock() {
        let s = series(1);
        let held = s.lock();
        assert!(s.try_lock().is_none());
        assert!(s.try_lock().is_none(), "still held after a failed try");
        let other = std::thread::scope(|t| t.spawn(|| s.try_lock().is_some()).join().unwrap());
        assert!(!other);
        drop(held);
        let again = s.try_lock();
        assert!(again.is_some());
        drop(again);
        // Contended from two threads: every increment under the lock counts.
        std::thread::scope(|t| {
            for _ in 0..2 {
                t.spawn(|| {
                    for _ in 0..10_000 {
                        let mut d = loop {
                            if let Some(d) = s.try_lock() {
                                break d;
                            }
                            std::hint::spin_loop();
                        };
                        let n = d.open.get_or_insert_with(|| OpenChunk {
                            app: XorEncoder::new(),
                        });
                        let c =
                            u32::from_le_bytes([n.app.spare[0], n.app.spare[1], n.app.spare[2], 0]);
                        let b = (c + 1).to_le_bytes();
                        n.app.spare = [b[0], b[1], b[2]];
                    }
                });
            }
        });
        let d = s.lock();
        let sp = d.open.as_ref().unwrap().app.spare;
        assert_eq!(u32::from_le_bytes([sp[0], sp[1], sp[2], 0]), 20_000);
    }

    #[test]
    fn series_whose_hash_keys_collide_are_all_found_and_removed() {
        let ids = IdTable::new();
        let (a, b) = (series(1), series(2));
        ids.insert(a.clone());
        ids.insert(b.clone());
        // One key for two label sets (the upper 32 bits of their hashes agree).
        let h = 0xdead_beef_0000_0001u64;
        let mut stripe = HashStripe::default();
        stripe.insert(h, 1);
        stripe.insert(h, 2);
        let find = |st: &HashStripe, l: &SeriesLabels| st.with(&ids, h, &l.labels(), |x| x.id);
        assert_eq!(find(&stripe, &a.labels), Some(1));
        assert_eq!(find(&stripe, &b.labels), Some(2));
        assert_eq!(find(&stripe, &series(3).labels), None);
        stripe.remove(h, 1);
        assert_eq!(find(&stripe, &a.labels), None);
        assert_eq!(find(&stripe, &b.labels), Some(2));
        assert!(stripe.conflicts.is_empty());
        stripe.remove(h, 2);
        assert!(stripe.unique.is_empty() && find(&stripe, &b.labels).is_none());
    }

    #[test]
    fn id_table_spans_leaves_and_directories_and_frees_emptied_ones() {
        let t = IdTable::new();
        let dir_ids = (SLOTS * LEAVES) as u32;
        let ids = [
            1u32,
            2,
            SLOTS as u32 - 1,
            SLOTS as u32,
            dir_ids + 5,
            3 * dir_ids + 7,
        ];
        for id in ids {
            t.insert(series(id));
        }
        for id in ids {
            assert_eq!(t.get(id).map(|s| s.id), Some(id));
        }
        assert!(t.get(7).is_none() && t.get(2 * dir_ids).is_none());
        let mut seen = Vec::new();
        t.for_each(|s| seen.push(s.id));
        assert_eq!(seen, ids);
        // By a list of ids: those present, in order, across leaves and directories, including
        // ids of leaves and directories that do not exist.
        let mut listed = Vec::new();
        let asked = [
            0,
            1,
            2,
            7,
            SLOTS as u32,
            SLOTS as u32 + 1,
            2 * dir_ids,
            3 * dir_ids + 7,
        ];
        t.for_ids(&asked, |s| {
            listed.push(s.id);
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(listed, [1, 2, SLOTS as u32, 3 * dir_ids + 7]);
        // An error ends the walk.
        let mut n = 0;
        assert_eq!(
            t.for_ids(&ids, |_| {
                n += 1;
                if n == 3 { Err(n) } else { Ok(()) }
            }),
            Err(3)
        );
        // Removing another series with a taken id changes nothing.
        t.remove(&series(1));
        assert!(t.get(1).is_some());
        // Emptying leaf 0 (all below the highest id) frees it; directory 0 stays (leaf 1 is
        // live); emptying directory 1 frees it; the newest leaf stays while ids may land there.
        for id in [1, 2, SLOTS as u32 - 1] {
            t.remove(&t.get(id).unwrap());
        }
        assert!(
            t.dirs[0].read().as_ref().unwrap().leaves[0]
                .read()
                .is_none()
        );
        t.remove(&t.get(dir_ids + 5).unwrap());
        assert!(t.dirs[1].read().is_none());
        t.remove(&t.get(3 * dir_ids + 7).unwrap());
        assert!(
            t.dirs[3].read().as_ref().unwrap().leaves[0]
                .read()
                .is_some()
        );
        // A freed leaf comes back when an id lands in it again (replay of an old WAL).
        t.insert(series(9));
        assert_eq!(t.get(9).map(|s| s.id), Some(9));
        assert_eq!(t.get(SLOTS as u32).map(|s| s.id), Some(SLOTS as u32));
    }
}
