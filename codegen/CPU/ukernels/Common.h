//===- Common.h - What the CPU microkernels share ---------------*- C++ -*-===//
//
// Included by each microkernel source (compiled to bitcode on its own and
// linked into every CPU artifact, see Sgemm.cpp): the hooks the runtime
// installs, the target's vector width, and Clang vector helpers (internal
// linkage: each bitcode file keeps its own copy).
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_CODEGEN_CPU_UKERNELS_COMMON_H
#define TESSERA_CODEGEN_CPU_UKERNELS_COMMON_H

#include <stddef.h>
#include <stdint.h>

extern "C" {
/// Set by the compiler when it links the microkernels: the target's widest
/// profitable float vector, in bits (128, 256 or 512).
extern const int tessera_uk_vector_bits;

/// A parallel loop provided by the runtime: calls fn(ctx, i) for i in
/// [0, n), possibly on several threads, and returns when all are done.
typedef void (*tessera_uk_task_fn)(void *ctx, int64_t i);
typedef void (*tessera_uk_parallel_for_fn)(void *pool, int64_t n,
                                           tessera_uk_task_fn fn, void *ctx);
/// Defined in Sgemm.cpp, installed by the runtime after it loads the
/// artifact's host code; a null hook runs everything on the calling thread.
extern tessera_uk_parallel_for_fn tessera_uk_parallel_for;
extern void *tessera_uk_thread_pool;
/// The pool's thread count (the caller included).
extern int64_t tessera_uk_thread_count;

/// Scratch provided by the runtime: at least `bytes` bytes, 64-byte
/// aligned, the calling thread's own, valid until its next call (a
/// buffer kept per thread, so its pages are faulted in once). Defined in
/// Sgemm.cpp, installed by the runtime like the parallel loop; when null
/// the microkernels use malloc.
typedef void *(*tessera_uk_scratch_fn)(int64_t bytes);
extern tessera_uk_scratch_fn tessera_uk_scratch;

void *malloc(size_t);
void free(void *);
}

namespace {

template <int W>
using Vec = float __attribute__((ext_vector_type(W)));
template <int W>
using Mask = bool __attribute__((ext_vector_type(W)));

template <int W> inline Vec<W> load(const float *p) {
  Vec<W> v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
template <int W> inline void store(float *p, Vec<W> v) {
  __builtin_memcpy(p, &v, sizeof(v));
}

/// A microkernel call's scratch of `floats` floats: the runtime's
/// per-thread buffer when it installed the hook, else malloc'ed and freed
/// on return. A malloc and free per call of a few hundred KB went to
/// mmap, or to a heap top glibc trimmed after the free, and faulted its
/// pages in on every call (a 14x14 1x1 convolution alone in a model ran
/// 5x slower than ONNX Runtime, 200 page faults a run). Microkernels do
/// not call each other while they hold it.
class Scratch {
public:
  /// No scratch (get() is null) when floats <= 0.
  explicit Scratch(int64_t floats) {
    if (floats <= 0)
      return;
    size_t bytes = sizeof(float) * size_t(floats);
    if (tessera_uk_scratch) {
      p = static_cast<float *>(tessera_uk_scratch(int64_t(bytes)));
    } else {
      p = static_cast<float *>(malloc(bytes));
      owned = true;
    }
    if (!p)
      __builtin_trap();
  }
  ~Scratch() {
    if (owned)
      free(p);
  }
  Scratch(const Scratch &) = delete;
  Scratch &operator=(const Scratch &) = delete;
  float *get() const { return p; }

private:
  float *p = nullptr;
  bool owned = false;
};

/// Lanes [0, n) set.
template <int W> inline Mask<W> firstLanes(int64_t n) {
  Vec<W> index;
  for (int i = 0; i < W; ++i)
    index[i] = float(i);
  return __builtin_convertvector(index < Vec<W>(float(n)), Mask<W>);
}

/// The even lanes of a and b (lanes 0, 2, ... of the 2W floats they hold).
template <int W> struct Lanes {
  static constexpr int value = W;
};

/// fn(Lanes<W>{}) for the target's vector width in floats (16, 8 or 4;
/// tessera_uk_vector_bits is a constant, so one branch stays).
template <typename F> inline auto forTargetWidth(const F &fn) {
  if (tessera_uk_vector_bits >= 512)
    return fn(Lanes<16>{});
  if (tessera_uk_vector_bits >= 256)
    return fn(Lanes<8>{});
  return fn(Lanes<4>{});
}

/// fn(begin, end) over the planes [0, planes): on the runtime's thread
/// pool in up to four chunks per thread, each a multiple of `unit` planes
/// but the last, when there is a pool, more than one plane and at least
/// 2^16 units of `work` (a few microseconds); else on this thread.
template <typename F>
inline void overPlanes(int64_t planes, int64_t unit, int64_t work, const F &fn) {
  int64_t threads = tessera_uk_thread_count;
  int64_t units = (planes + unit - 1) / unit;
  if (!tessera_uk_parallel_for || threads <= 1 || planes <= 1 ||
      work < (int64_t(1) << 16)) {
    fn(int64_t(0), planes);
    return;
  }
  struct Task {
    const F *fn;
    int64_t planes, units, chunks, unit;
  } task{&fn, planes, units, threads * 4 < units ? threads * 4 : units, unit};
  tessera_uk_parallel_for(
      tessera_uk_thread_pool, task.chunks,
      [](void *ctx, int64_t i) {
        const Task &t = *static_cast<const Task *>(ctx);
        int64_t begin = t.units * i / t.chunks * t.unit;
        int64_t end = t.units * (i + 1) / t.chunks * t.unit;
        (*t.fn)(begin, end < t.planes ? end : t.planes);
      },
      &task);
}

template <int W> inline Vec<W> evens(Vec<W> a, Vec<W> b) {
  if constexpr (W == 16)
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                   22, 24, 26, 28, 30);
  else if constexpr (W == 8)
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
  else
    return __builtin_shufflevector(a, b, 0, 2, 4, 6);
}

/// The odd lanes of a and b (lanes 1, 3, ... of the 2W floats they hold).
template <int W> inline Vec<W> odds(Vec<W> a, Vec<W> b) {
  if constexpr (W == 16)
    return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                   23, 25, 27, 29, 31);
  else if constexpr (W == 8)
    return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
  else
    return __builtin_shufflevector(a, b, 1, 3, 5, 7);
}

/// Lane indices as a pack (`__make_integer_seq<LaneSeq, int, W>`: 0 ..
/// W-1), for shuffle masks computed from them.
template <typename T, T... I> struct LaneSeq {};

/// One level of an in-register transpose of W rows of W lanes, for rows
/// x and y = x's row + B: lane l of the new x is x[l] where bit B of l is
/// clear, else y[l - B]; of the new y, x[l + B] where it is clear, else
/// y[l]. The levels B = W/2 .. 1 together transpose the rows (each swaps
/// one bit of the row index with the same bit of the lane index).
template <int W, int B, int... I>
inline void swapBlocks(Vec<W> &x, Vec<W> &y, LaneSeq<int, I...>) {
  Vec<W> lo = __builtin_shufflevector(x, y, ((I & B) ? W + I - B : I)...);
  Vec<W> hi = __builtin_shufflevector(x, y, ((I & B) ? W + I : I + B)...);
  x = lo;
  y = hi;
}

template <int W, int B> inline void transposeLevel(Vec<W> *rows) {
  for (int r = 0; r < W; ++r)
    if (!(r & B))
      swapBlocks<W, B>(rows[r], rows[r + B], __make_integer_seq<LaneSeq, int, W>{});
}

template <int W> inline void transpose(Vec<W> *rows) {
  if constexpr (W >= 16)
    transposeLevel<W, 8>(rows);
  if constexpr (W >= 8)
    transposeLevel<W, 4>(rows);
  transposeLevel<W, 2>(rows);
  transposeLevel<W, 1>(rows);
}

} // namespace

#endif // TESSERA_CODEGEN_CPU_UKERNELS_COMMON_H
