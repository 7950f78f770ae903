//===- Parallel.cpp - Loop nests over the runtime's thread pool -----------===//
//
// Compiled to bitcode and linked into each CPU artifact like Sgemm.cpp.
// `tessera-cpu-parallel-calls` turns each call of a parallel loop nest's
// function into a call of tessera_uk_parallel_range, which splits the
// nest's iterations into chunks over the runtime's thread pool (the hook
// Sgemm.cpp defines).
//
//===----------------------------------------------------------------------===//

#include "Common.h"

extern "C" {
/// A parallel nest's function on a sub-range: fn(args, begin, end).
typedef void (*tessera_uk_range_fn)(void *args, int64_t begin, int64_t end);
}

namespace {
struct RangeTask {
  tessera_uk_range_fn fn;
  void *args;
  int64_t begin, size, chunks;
};

void runChunk(void *ctx, int64_t i) {
  const RangeTask &t = *static_cast<const RangeTask *>(ctx);
  int64_t lo = t.begin + t.size * i / t.chunks;
  int64_t hi = t.begin + t.size * (i + 1) / t.chunks;
  if (lo < hi)
    t.fn(t.args, lo, hi);
}
} // namespace

/// Runs fn(args, b, e) over sub-ranges that cover [begin, end): a few
/// chunks per thread, taken by whichever thread is free (a thread the OS
/// preempts holds up less), or the whole range on the calling thread when
/// the runtime installed no pool.
extern "C" __attribute__((visibility("hidden"))) void
tessera_uk_parallel_range(int64_t begin, int64_t end, tessera_uk_range_fn fn,
                          void *args) {
  int64_t size = end - begin;
  int64_t threads = tessera_uk_thread_count;
  if (!tessera_uk_parallel_for || threads <= 1 || size <= 1) {
    if (size > 0)
      fn(args, begin, end);
    return;
  }
  int64_t chunks = threads * 4 < size ? threads * 4 : size;
  RangeTask task{fn, args, begin, size, chunks};
  tessera_uk_parallel_for(tessera_uk_thread_pool, chunks, &runChunk, &task);
}
