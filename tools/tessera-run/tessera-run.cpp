//===- tessera-run.cpp - Run a Tessera artifact ---------------------------===//
//
//   tessera-run OUT.tsr --input NAME=FILE.npy ... [--output-dir=DIR]
//       [--device=cpu|cuda|cuda:N] [--devices=N] [--comm=local|mpi|nccl]
//       [--collective-timeout-ms=N] [--threads=N] [--denormals=flush|keep]
//       [--repeat=N] [--memory] [--info]
//
// --denormals=keep runs the host code with IEEE gradual underflow; by
// default results that would be subnormal are flushed to zero (the C API's
// keep_denormals).
//
// Writes DIR/<output name>.npy for every output (DIR is created when
// missing; '/' in a name becomes '_'; each file is written under a
// temporary name and renamed once all are written); with --repeat > 1 prints
// min / median / p90 latency of the runs. Any failure prints one line and
// exits with status 1. Uses the runtime's C API only.
//
// The device defaults to the artifact's target: cuda artifacts run on
// cuda:0, cpu artifacts on cpu:0. --memory prints each rank's device memory
// (weights, workspace, the allocator's peak) to stderr after the runs, and
// this process's resident memory: all of it, and the artifact's pages (on
// Linux, from /proc/self/smaps).
//
// With --comm=mpi (under mpirun) or --comm=nccl (under mpirun, or with
// TESSERA_RANK / TESSERA_WORLD_SIZE / TESSERA_NCCL_RENDEZVOUS) each process
// runs one device, and rank 0 writes the outputs and prints. An error that
// follows from the command line and the rank count alone (the same on every
// rank) is printed by rank 0 only; any other is printed by each rank that
// has it, after "rank R: ".
//
//===----------------------------------------------------------------------===//

#include <fstream>
#include <climits>
#include <cctype>
#include "format_bytes.h"
#include "npy.h"
#include "tessera/runtime.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace {
/// Under --comm=mpi: this process's rank; whether the errors met now are
/// the same on every rank; whether the run has begun (its errors name
/// their rank already).
bool mpiMode = false, sameOnEveryRank = false, runStarted = false;
int32_t processRank = 0;

int fail(const std::string &msg) {
  if (mpiMode && sameOnEveryRank && processRank != 0)
    return 1;
  std::string who;
  if (mpiMode && !sameOnEveryRank && !runStarted)
    who = "rank " + std::to_string(processRank) + ": ";
  std::fprintf(stderr, "tessera-run: error: %s%s\n", who.c_str(), msg.c_str());
  return 1;
}

/// Takes a status: on failure prints its message and returns true.
bool failed(tsr_status_t status, int &rc) {
  if (!status)
    return false;
  rc = fail(tsr_status_message(status));
  tsr_status_free(status);
  return true;
}

std::string describe(tsr_dtype_t dtype, size_t rank, const int64_t *shape) {
  std::string s = tsr_dtype_name(dtype);
  s += "[";
  for (size_t i = 0; i < rank; ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

void usage() {
  std::fprintf(stderr,
               "usage: tessera-run OUT.tsr --input NAME=FILE.npy ... "
               "[--output-dir=DIR] [--repeat=N] [--threads=N] "
               "[--denormals=flush|keep] "
               "[--device=cpu|cuda|cuda:N] [--devices=N] "
               "[--comm=local|mpi|nccl] [--collective-timeout-ms=N] "
               "[--memory] [--info]\n"
               "  --device: default the artifact's target (cuda artifacts on "
               "cuda:0)\n"
               "  --comm=mpi: one device per process, e.g. "
               "mpirun -np 4 tessera-run OUT.tsr --comm=mpi ...\n"
               "  --comm=nccl: one GPU per process, NCCL between them; under "
               "mpirun, or with TESSERA_RANK, TESSERA_WORLD_SIZE and "
               "TESSERA_NCCL_RENDEZVOUS=FILE set for each process\n"
               "  --memory: print each rank's device memory (weights, "
               "workspace, peak) to stderr\n");
}

using tessera::runtime::formatBytes;

/// Accepts `--flag=value` and `--flag value`.
bool option(const std::vector<std::string> &args, size_t &i, const std::string &flag,
            std::string &value) {
  const std::string &a = args[i];
  if (a == flag && i + 1 < args.size()) {
    value = args[++i];
    return true;
  }
  if (a.rfind(flag + "=", 0) == 0) {
    value = a.substr(flag.size() + 1);
    return true;
  }
  return false;
}

/// Creates `dir` and its missing parents (as `mkdir -p`).
bool makeDirectories(const std::string &dir, std::string &error) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return true;
    error = "--output-dir '" + dir + "' exists and is not a directory";
    return false;
  }
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    std::string prefix = dir.substr(0, slash);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST) {
      error = "cannot create --output-dir '" + dir + "': " + prefix + ": " +
              std::strerror(errno);
      return false;
    }
    if (slash == std::string::npos)
      break;
  }
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = "cannot create --output-dir '" + dir + "'";
    return false;
  }
  return true;
}

/// The file name an output is written to: its name with '/' and NUL (which
/// a model may use) replaced by '_', so that every output stays inside the
/// output directory; "." and ".." get a leading '_'.
std::string outputFileName(const std::string &name) {
  std::string file = name;
  for (char &c : file)
    if (c == '/' || c == '\0')
      c = '_';
  if (file.empty() || file == "." || file == "..")
    file = "_" + file;
  return file + ".npy";
}

bool parseCount(const std::string &s, long &v) {
  char *end = nullptr;
  v = std::strtol(s.c_str(), &end, 10);
  return !s.empty() && *end == '\0' && v >= 1 && v <= 1000000;
}
} // namespace

/// This process's resident bytes (VmRSS), and those of its weights: its
/// mappings of `path` (the artifact) and the runtime's private copy of a
/// rank's blocks (a memfd named tessera-weights); -1 where /proc has no
/// answer.
static void residentBytes(const std::string &path, int64_t &total, int64_t &mapped) {
  total = mapped = -1;
  char real[PATH_MAX];
  if (!realpath(path.c_str(), real))
    return;
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps)
    return;
  total = mapped = 0;
  bool inArtifact = false;
  std::string line;
  while (std::getline(smaps, line)) {
    // A mapping's first line: "start-end perms offset dev inode [path]".
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') != std::string::npos && line.find(':') > line.find(' ')) {
      size_t slash = line.find('/');
      inArtifact = (slash != std::string::npos && line.substr(slash) == real) ||
                   line.find("/memfd:tessera-weights") != std::string::npos;
      continue;
    }
    if (line.compare(0, 4, "Rss:") == 0) {
      int64_t kb = std::atoll(line.c_str() + 4);
      total += kb * 1024;
      if (inArtifact)
        mapped += kb * 1024;
    }
  }
}

int main(int argc, char **argv) {
  // A file-size limit (ulimit -f) makes a write fail with EFBIG, reported as
  // an error, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string artifactPath, outputDir = ".", value, deviceName;
  std::map<std::string, std::string> inputFiles;
  long repeat = 1, devices = 0, threads = 0, timeoutMs = 0;
  bool info = false, memory = false, keepDenormals = false;
  tsr_comm_t comm = TSR_COMM_LOCAL;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      usage();
      return 0;
    }
    if (option(args, i, "--input", value)) {
      size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == value.size())
        return fail("--input expects NAME=FILE.npy, got '" + value + "'");
      if (!inputFiles.emplace(value.substr(0, eq), value.substr(eq + 1)).second)
        return fail("--input '" + value.substr(0, eq) + "' is given twice");
    } else if (option(args, i, "--output-dir", value)) {
      outputDir = value;
    } else if (option(args, i, "--repeat", value)) {
      if (!parseCount(value, repeat))
        return fail("--repeat expects a count from 1 to 1000000, got '" + value + "'");
    } else if (option(args, i, "--threads", value)) {
      if (!parseCount(value, threads) || threads > 4096)
        return fail("--threads expects a thread count from 1 to 4096, got '" + value + "'");
    } else if (option(args, i, "--denormals", value)) {
      if (value != "flush" && value != "keep")
        return fail("unknown --denormals value '" + value + "' (flush or keep)");
      keepDenormals = value == "keep";
    } else if (option(args, i, "--devices", value)) {
      if (!parseCount(value, devices))
        return fail("--devices expects a positive count, got '" + value + "'");
      if (devices > 4096)
        return fail("--devices expects at most 4096, got '" + value + "'");
    } else if (option(args, i, "--collective-timeout-ms", value)) {
      if (!parseCount(value, timeoutMs))
        return fail("--collective-timeout-ms expects milliseconds from 1 to "
                    "1000000, got '" +
                    value + "'");
    } else if (option(args, i, "--comm", value)) {
      if (value != "local" && value != "mpi" && value != "nccl")
        return fail("unknown --comm value '" + value + "' (local, mpi or nccl)");
      comm = value == "mpi"    ? TSR_COMM_MPI
             : value == "nccl" ? TSR_COMM_NCCL
                               : TSR_COMM_LOCAL;
    } else if (option(args, i, "--device", value)) {
      if (value != "cpu" && value != "cuda" && value.rfind("cpu:", 0) != 0 &&
          value.rfind("cuda:", 0) != 0)
        return fail("unknown --device value '" + value +
                    "' (cpu, cuda or cuda:N)");
      deviceName = value;
    } else if (args[i] == "--memory") {
      memory = true;
    } else if (args[i] == "--info") {
      info = true;
    } else if (!args[i].empty() && args[i][0] == '-') {
      usage();
      return fail("unknown option '" + args[i] + "'");
    } else if (artifactPath.empty()) {
      artifactPath = args[i];
    } else {
      return fail("more than one artifact given ('" + artifactPath + "', '" + args[i] + "')");
    }
  }
  if (artifactPath.empty()) {
    usage();
    return fail("no artifact given");
  }

  // MPI starts first, the same on every rank, so that each knows its rank
  // before anything can fail differently on one of them.
  int32_t worldSize = 1;
  const char *commFlag = comm == TSR_COMM_MPI ? "--comm=mpi" : "--comm=nccl";
  if (comm != TSR_COMM_LOCAL) {
    mpiMode = sameOnEveryRank = true;
    tsr_status_t s = tsr_comm_world(comm, &processRank, &worldSize);
    if (s) {
      std::string msg = tsr_status_message(s);
      tsr_status_free(s);
      return fail(std::string(commFlag) + ": " + msg);
    }
    if (devices && devices != worldSize)
      return fail("--devices=" + std::to_string(devices) + ", but this " +
                  (comm == TSR_COMM_MPI ? "MPI job" : "job") + " has " +
                  std::to_string(worldSize) +
                  (worldSize == 1 ? " rank" : " ranks"));
    sameOnEveryRank = false;
  }

  int rc = 0;
  tsr_runtime_options_t options;
  tsr_runtime_options_initialize(&options);
  options.cpu_threads = static_cast<int32_t>(threads);
  options.keep_denormals = keepDenormals ? 1 : 0;
  tsr_runtime_t runtime = nullptr;
  tsr_device_t device = nullptr;
  tsr_module_t module = nullptr;
  tsr_session_t session = nullptr;
  std::vector<tsr_tensor_t> inputs, outputs;
  auto cleanup = [&]() {
    for (tsr_tensor_t t : inputs)
      tsr_tensor_release(t);
    for (tsr_tensor_t t : outputs)
      tsr_tensor_release(t);
    tsr_session_release(session);
    tsr_module_release(module);
    tsr_device_release(device);
    tsr_runtime_release(runtime);
    return rc;
  };
  if (failed(tsr_runtime_create(&options, &runtime), rc) ||
      failed(tsr_module_load_file(runtime, artifactPath.c_str(), &module), rc))
    return cleanup();
  // What the artifact holds needs no device (a cuda artifact's too).
  if (info) {
    size_t numInputs = tsr_module_num_inputs(module);
    size_t numOutputs = tsr_module_num_outputs(module);
    if (processRank != 0)
      return cleanup();
    std::printf("%s: target %s, %zu inputs, %zu outputs, %zu bytes of weights\n",
                artifactPath.c_str(), tsr_module_target(module), numInputs, numOutputs,
                tsr_module_weight_bytes(module));
    if (*tsr_module_mesh(module))
      std::printf(
          "  mesh %s: %zu devices (%s), %zu bytes of weights per device\n",
          tsr_module_mesh(module), tsr_module_num_devices(module),
          comm == TSR_COMM_MPI
              ? "mpi: one process per device, each maps its own weight blocks"
          : comm == TSR_COMM_NCCL
              ? "nccl: one process per device, each uploads its own weight "
                "blocks"
              : "local: threads of this process",
          tsr_module_device_weight_bytes(module));
    for (size_t i = 0; i < numInputs + numOutputs; ++i) {
      tsr_tensor_info_t ti;
      tsr_status_t s = i < numInputs ? tsr_module_input_info(module, i, &ti)
                                     : tsr_module_output_info(module, i - numInputs, &ti);
      if (failed(s, rc))
        return cleanup();
      std::printf("  %s %s : %s\n", i < numInputs ? "input " : "output", ti.name,
                  describe(ti.dtype, ti.rank, ti.shape).c_str());
    }
    return cleanup();
  }
  if (deviceName.empty())
    deviceName = std::string(tsr_module_target(module)) == "cuda" ? "cuda:0"
                                                                  : "cpu:0";
  if (failed(tsr_device_create(runtime, deviceName.c_str(), &device), rc))
    return cleanup();

  // The device count (and under MPI the job's rank count) is checked
  // before any work.
  tsr_session_options_t sessionOptions;
  tsr_session_options_initialize(&sessionOptions);
  sessionOptions.num_devices = static_cast<int32_t>(devices);
  sessionOptions.comm = comm;
  sessionOptions.collective_timeout_ms = static_cast<int32_t>(timeoutMs);
  sameOnEveryRank = true;
  if (failed(tsr_session_create(module, device, &sessionOptions, &session), rc))
    return cleanup();
  sameOnEveryRank = false;

  size_t numInputs = tsr_module_num_inputs(module);
  size_t numOutputs = tsr_module_num_outputs(module);

  for (size_t i = 0; i < numInputs; ++i) {
    tsr_tensor_info_t ti;
    if (failed(tsr_module_input_info(module, i, &ti), rc))
      return cleanup();
    auto it = inputFiles.find(ti.name);
    if (it == inputFiles.end()) {
      rc = fail(std::string("input '") + ti.name + "' is missing; give --input " +
                ti.name + "=FILE.npy (" + describe(ti.dtype, ti.rank, ti.shape) + ")");
      return cleanup();
    }
    tessera::npy::Array a;
    std::string error;
    if (!tessera::npy::read(it->second, a, error)) {
      rc = fail(error);
      return cleanup();
    }
    // .npy has no bfloat16: a bf16 input reads uint16 bit patterns.
    if (ti.dtype == TSR_DTYPE_BF16 && a.dtype == TSR_DTYPE_U16)
      a.dtype = TSR_DTYPE_BF16;
    // Nor float8 / float4: their inputs read uint8 bit patterns.
    if (ti.dtype >= TSR_DTYPE_F8E4M3FN && ti.dtype <= TSR_DTYPE_F8E8M0 &&
        a.dtype == TSR_DTYPE_U8)
      a.dtype = ti.dtype;
    // Nor 4- and 2-bit integers: int8 / uint8 values.
    if (((ti.dtype == TSR_DTYPE_I4 || ti.dtype == TSR_DTYPE_I2) && a.dtype == TSR_DTYPE_I8) ||
        ((ti.dtype == TSR_DTYPE_U4 || ti.dtype == TSR_DTYPE_U2) && a.dtype == TSR_DTYPE_U8))
      a.dtype = ti.dtype;
    if (a.dtype != ti.dtype || a.shape != std::vector<int64_t>(ti.shape, ti.shape + ti.rank)) {
      rc = fail(std::string("input '") + ti.name + "' must be " +
                describe(ti.dtype, ti.rank, ti.shape) + ", " + it->second + " holds " +
                describe(a.dtype, a.shape.size(), a.shape.data()));
      return cleanup();
    }
    tsr_tensor_t t = nullptr;
    if (failed(tsr_tensor_create_from_host(device, a.dtype, a.shape.size(), a.shape.data(),
                                           a.data.data(), a.data.size(), &t),
               rc))
      return cleanup();
    inputs.push_back(t);
    inputFiles.erase(it);
  }
  if (!inputFiles.empty()) {
    rc = fail("the model has no input '" + inputFiles.begin()->first + "'");
    return cleanup();
  }
  std::vector<double> ms, deviceMs;
  runStarted = true;
  outputs.assign(numOutputs, nullptr);
  for (long r = 0; r < repeat; ++r) {
    for (tsr_tensor_t &t : outputs) {
      tsr_tensor_release(t);
      t = nullptr;
    }
    auto start = std::chrono::steady_clock::now();
    if (failed(tsr_session_run(session, inputs.data(), inputs.size(), outputs.data(),
                               outputs.size()),
               rc))
      return cleanup();
    // Reading waits for the device; time until the first byte is available.
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - start)
                     .count());
    double gpu = tsr_session_device_time_ms(session, 0);
    if (gpu >= 0)
      deviceMs.push_back(gpu);
  }
  if (memory) {
    for (size_t r = 0; r < tsr_session_num_ranks(session); ++r) {
      tsr_memory_stats_t m;
      m.struct_size = sizeof(m);
      if (failed(tsr_session_memory_stats(session, r, &m), rc))
        return cleanup();
      std::string line = "tessera-run: rank " + std::to_string(m.rank) +
                         " on " + m.device + ": weights " +
                         formatBytes(m.weight_bytes) + ", workspace " +
                         formatBytes(m.workspace_bytes);
      if (std::strncmp(m.device, "cuda", 4) == 0)
        line += ", device memory in use " + formatBytes(m.device_in_use_bytes) +
                ", peak " + formatBytes(m.device_peak_bytes) + ", cached " +
                formatBytes(m.device_cached_bytes);
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    int64_t total = 0, mapped = 0;
    residentBytes(artifactPath, total, mapped);
    if (total >= 0)
      std::fprintf(stderr,
                   "tessera-run: process %d: resident %s, of which weights %s\n",
                   processRank, formatBytes(total).c_str(), formatBytes(mapped).c_str());
  }
  // Under MPI the other ranks hold no outputs.
  if (processRank != 0)
    return cleanup();
  // Every output is written under a temporary name first and renamed once
  // all are written: a failed run leaves no partial output.
  {
    std::string error;
    if (!makeDirectories(outputDir, error)) {
      rc = fail(error);
      return cleanup();
    }
  }
  std::vector<tessera::npy::PendingFile> pending(numOutputs);
  std::map<std::string, std::string> fileOwners;
  for (size_t i = 0; i < numOutputs; ++i) {
    tsr_tensor_info_t ti;
    if (failed(tsr_module_output_info(module, i, &ti), rc))
      return cleanup();
    tessera::npy::Array a;
    a.dtype = tsr_tensor_dtype(outputs[i]);
    a.shape.assign(tsr_tensor_shape(outputs[i]),
                   tsr_tensor_shape(outputs[i]) + tsr_tensor_rank(outputs[i]));
    a.data.resize(tsr_tensor_size_bytes(outputs[i]));
    if (failed(tsr_tensor_read(outputs[i], a.data.data(), a.data.size()), rc))
      return cleanup();
    std::string file = outputFileName(ti.name);
    auto owner = fileOwners.emplace(file, ti.name);
    if (!owner.second) {
      rc = fail("outputs '" + owner.first->second + "' and '" + ti.name +
                "' would both be written to " + file);
      return cleanup();
    }
    std::string error;
    if (!pending[i].write(outputDir + "/" + file, a, error)) {
      rc = fail(error);
      return cleanup();
    }
  }
  for (tessera::npy::PendingFile &f : pending) {
    std::string error;
    if (!f.commit(error)) {
      rc = fail(error);
      return cleanup();
    }
  }
  if (repeat > 1) {
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * (ms.size() - 1) + 0.5))]; };
    std::printf("latency over %ld runs: min %.3f ms, median %.3f ms, p90 %.3f ms\n", repeat,
                ms.front(), at(0.5), at(0.9));
    if (deviceMs.size() == ms.size()) {
      // The GPU time of the compiled program alone (CUDA events on the
      // stream; the inputs' uploads and outputs' downloads left out).
      std::sort(deviceMs.begin(), deviceMs.end());
      std::printf("device time over %ld runs: min %.3f ms, median %.3f ms\n", repeat,
                  deviceMs.front(), deviceMs[deviceMs.size() / 2]);
    }
  }
  return cleanup();
}
