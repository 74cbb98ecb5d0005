//! Splitting host-side loops across rayon's threads without unsafe code.

use std::cell::Cell;

/// A job of fewer multiply-adds than this per thread runs on fewer threads (spawning costs more).
const MIN_WORK_PER_THREAD: usize = 1 << 15;

thread_local! {
    /// The threads this thread's kernels may use, while [`with_threads`] runs.
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The threads a kernel started on this thread may use: candle's thread count (rayon's,
/// `RAYON_NUM_THREADS`), or what [`with_threads`] set.
pub fn thread_budget() -> usize {
    BUDGET
        .with(Cell::get)
        .unwrap_or_else(candle_core::utils::get_num_threads)
}

/// Runs `f` with the kernels it starts on this thread limited to `threads` threads (the
/// trainable linear layers' gemm, the fused ops and their backward passes): for callers that
/// run several such jobs at once, one per thread.
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    /// Restores the budget on the way out, unwinding included.
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUDGET.with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(BUDGET.with(|b| b.replace(Some(threads.max(1)))));
    f()
}

/// Threads for a job of about `work` multiply-adds: one per [`MIN_WORK_PER_THREAD`], at most
/// [`thread_budget`].
pub(crate) fn thread_count(work: usize) -> usize {
    thread_budget().min(work / MIN_WORK_PER_THREAD).max(1)
}

/// Runs `f(state, offset, piece)` on consecutive `piece_len`-element pieces of `out` (offset =
/// the piece's first index), dealt round-robin to `threads` threads, each with its own state.
pub(crate) fn in_parallel<S>(
    out: &mut [f32],
    piece_len: usize,
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize, &mut [f32]) + Sync,
) {
    let piece_len = piece_len.max(1);
    let pieces = out
        .chunks_mut(piece_len)
        .enumerate()
        .map(|(i, p)| (i * piece_len, p))
        .collect();
    pieces_in_parallel(pieces, threads, init, f);
}

/// Runs `f(state, offset, piece)` on each `(offset, piece)` of `pieces` (disjoint parts of one
/// output, of any lengths), dealt round-robin to `threads` threads, each with its own state.
pub(crate) fn pieces_in_parallel<S>(
    pieces: Vec<(usize, &mut [f32])>,
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize, &mut [f32]) + Sync,
) {
    if threads <= 1 {
        let mut state = init();
        pieces
            .into_iter()
            .for_each(|(offset, p)| f(&mut state, offset, p));
        return;
    }
    let mut shares: Vec<Vec<(usize, &mut [f32])>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, piece) in pieces.into_iter().enumerate() {
        shares[i % threads].push(piece);
    }
    // rayon's pool (the one candle and gemm use) keeps its threads, and with them their
    // allocator heaps: spawning threads per call made every call fault in fresh pages.
    rayon::scope(|scope| {
        for share in shares {
            let (init, f) = (&init, &f);
            scope.spawn(move |_| {
                let mut state = init();
                share
                    .into_iter()
                    .for_each(|(offset, piece)| f(&mut state, offset, piece));
            });
        }
    });
}
