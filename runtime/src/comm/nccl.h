//===- nccl.h - Communicators over CUDA device buffers ----------*- C++ -*-===//
//
// The `nccl` backend of the Communicator interface (comm.h): every buffer
// is a device address on the rank's GPU and every call runs on that
// device's stream (cuda/device.h). Each call returns once its work has
// completed on the device; while it waits it polls NCCL's asynchronous
// error, and when the communicator's timeout passes it aborts the NCCL
// communicator (ncclCommAbort) and fails with "nccl all_reduce timed out
// after N ms". The communicator is then broken: every later call fails at
// once.
//
// The calls and the NCCL functions they use:
//   allReduce      ncclAllReduce (in place)
//   allGather      ncclAllGather
//   reduceScatter  ncclReduceScatter
//   broadcast      ncclBroadcast (in place)
//   allToAll       ncclSend / ncclRecv to every peer in one group
//   gather         ncclSend to the root, ncclRecv from every rank there
//   barrier        ncclAllReduce of one int32
//   split          ncclCommSplit (NCCL 2.18 or newer)
// Communicators are non-blocking (ncclConfig_t.blocking = 0), so creating
// one and splitting one are bounded by the timeout too.
//
// Bootstrap: one NCCL unique id per world. Ranks that are threads of this
// process share it directly; ranks that are processes get it from rank 0
// over MPI (MPI_Bcast on a duplicate of MPI_COMM_WORLD) when the job was
// launched by mpirun, or through a rendezvous file: rank 0 writes the id to
// a temporary file beside TESSERA_NCCL_RENDEZVOUS and renames it into place,
// the others poll for it until the timeout; rank 0 removes it once every
// rank has joined.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_COMM_NCCL_H
#define TESSERA_RUNTIME_COMM_NCCL_H

#include "comm/comm.h"

#include <memory>
#include <string>
#include <vector>

namespace tessera::runtime {

namespace cuda {
class Device;
}

/// A one-rank communicator over `device`'s buffers that needs no NCCL:
/// every collective is at most a device-to-device copy.
std::unique_ptr<Communicator> createDeviceSelfCommunicator(cuda::Device &device);

/// `devices.size()` connected NCCL communicators whose ranks are threads of
/// this process (rank r on devices[r]; NCCL needs distinct GPUs). Their
/// creation may take `initTimeoutMs` (0: `timeoutMs`).
std::string
createNcclThreadCommunicators(const std::vector<cuda::Device *> &devices,
                              int timeoutMs,
                              std::vector<std::unique_ptr<Communicator>> &out,
                              int initTimeoutMs = 0);

/// Where this process stands in a job of one process per rank.
struct ProcessWorld {
  int rank = 0, size = 1;
  /// Which GPU of this machine the rank takes (TESSERA_LOCAL_RANK,
  /// OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID or SLURM_LOCALID; else the
  /// rank).
  int localRank = 0;
  bool viaMpi = false;    // the unique id goes over MPI
  std::string rendezvous; // else through this file (when size > 1)
};

/// The world of TSR_COMM_MPI (`mpi`: MPI_COMM_WORLD) or TSR_COMM_NCCL
/// (TESSERA_RANK and TESSERA_WORLD_SIZE; else, under mpirun, MPI's world;
/// else one rank). Empty on success, else why not.
std::string processWorld(bool mpi, ProcessWorld &out);

/// This process's communicator in `world` on `device` (collective over the
/// world's processes). A one-rank world gets the copy-only communicator
/// unless `ncclForOneRank` (tests use it to exercise the bootstrap).
std::string createNcclProcessCommunicator(cuda::Device &device,
                                          const ProcessWorld &world,
                                          int timeoutMs,
                                          std::unique_ptr<Communicator> &out,
                                          bool ncclForOneRank = false);

/// The rendezvous file protocol, for any bytes (tests use it without NCCL).
std::string publishRendezvous(const std::string &path, const void *data,
                              size_t bytes);
std::string awaitRendezvous(const std::string &path, int timeoutMs, void *data,
                            size_t bytes);

} // namespace tessera::runtime

#endif // TESSERA_RUNTIME_COMM_NCCL_H
