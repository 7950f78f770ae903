//===- comm.h - The communicator interface ----------------------*- C++ -*-===//
//
// One interface for the collectives of an SPMD program, whatever carries
// them: `local` (ranks are threads of one process, buffers exchanged
// through shared memory), `mpi` (one process per rank, comm/mpi.cc) and,
// with the CUDA backend, NCCL. The compiled code reaches it through the
// runtime hooks (tessera_rt_* in mesh.cc); tests use it directly.
//
// Every call is collective: all ranks of the communicator make the same
// calls in the same order. A rank whose peers do not arrive within the
// communicator's timeout gets an error instead of waiting forever, and the
// communicator is then broken: every later call fails at once.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_COMM_H
#define TESSERA_RUNTIME_COMM_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tessera::runtime {

enum class ReduceKind { Sum, Prod, Max, Min };
/// Element types collectives reduce (the artifact's dtype codes).
enum class ElementKind { F32, F64, I32, I64, F16, BF16 };

/// Size in bytes of one element of `kind`.
size_t elementSize(ElementKind kind);

class Communicator {
public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// The backend's name: "local", "mpi".
  virtual const char *backend() const = 0;

  // Each returns an empty string on success, else the error.
  /// In place: every rank's `count` elements become the reduction of all.
  virtual std::string allReduce(void *buffer, size_t count, ElementKind kind,
                                ReduceKind op) = 0;
  /// `recv` (size() * bytes) gets every rank's `send` (bytes) in rank order.
  virtual std::string allGather(const void *send, void *recv, size_t bytes) = 0;
  /// Reduces size() blocks of `count` elements and gives rank r block r.
  virtual std::string reduceScatter(const void *send, void *recv, size_t count,
                                    ElementKind kind, ReduceKind op) = 0;
  /// Block j of rank i's `send` becomes block i of rank j's `recv`.
  virtual std::string allToAll(const void *send, void *recv,
                               size_t bytesPerRank) = 0;
  /// Rank `root`'s `recv` (size() * bytes) gets every rank's `send` (bytes)
  /// in rank order; `recv` is unused on the other ranks.
  virtual std::string gather(const void *send, void *recv, size_t bytes,
                             int root) = 0;
  virtual std::string broadcast(void *buffer, size_t bytes, int root) = 0;
  virtual std::string barrier() = 0;
  /// Ranks with the same `color` form a new communicator, ordered by `key`.
  /// Collective over this communicator.
  virtual std::string split(int color, int key,
                            std::unique_ptr<Communicator> &out) = 0;
};

/// `size` connected communicators whose ranks are threads of this process;
/// a collective waits at most `timeoutMs` for its peers.
std::vector<std::unique_ptr<Communicator>> createLocalCommunicators(int size,
                                                                    int timeoutMs);

/// Whether this runtime was built with the `mpi` backend.
bool haveMpi();
/// This process's rank in MPI_COMM_WORLD and the world's size. Initializes
/// MPI on first use (MPI_Init_thread, MPI_THREAD_SERIALIZED; finalized at
/// exit unless a communicator broke, see mpi.cc); fails when the runtime was
/// built without MPI.
std::string mpiWorld(int &rank, int &size);
/// A communicator over a duplicate of MPI_COMM_WORLD; a collective waits at
/// most `timeoutMs` for its peers. Collective over the world.
std::string createMpiCommunicator(int timeoutMs,
                                  std::unique_ptr<Communicator> &out);

/// Applies `op` elementwise: acc[i] = acc[i] op x[i].
void reduceInto(void *acc, const void *x, size_t count, ElementKind kind,
                ReduceKind op);

} // namespace tessera::runtime

#endif // TESSERA_RUNTIME_COMM_H
