/*===- tessera/runtime.h - Tessera's runtime C API -------------------------===*
 *
 * Load a compiled artifact (.tsr) and run it. Every call that can fail
 * returns a tsr_status_t: NULL means success; otherwise the status carries a
 * code and a message and must be freed with tsr_status_free. Objects are
 * opaque, reference counted handles (`_retain` / `_release`); `_create`
 * returns a handle with one reference. Options structs are initialised with
 * their `_initialize` function before fields are set.
 *
 * Execution model: work is submitted to a device's queue; reading a tensor
 * waits for the work that produces it. The CPU device may run work inline,
 * but callers must not rely on it. A module is immutable and may be shared
 * by threads; sessions may run concurrently from several threads.
 *
 * The runtime has no LLVM or MLIR dependency, and no link dependency on
 * CUDA: the driver (libcuda.so.1), cuBLASLt and NCCL are opened at run time
 * when a cuda device or the nccl communicator is first used, so the same
 * library runs on machines without a GPU (see docs/cuda.md).
 *===----------------------------------------------------------------------===*/
#ifndef TESSERA_RUNTIME_H
#define TESSERA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define TSR_API __declspec(dllexport)
#else
#define TSR_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*===-- Status ------------------------------------------------------------===*/

typedef enum tsr_status_code_e {
  TSR_OK = 0,
  TSR_INVALID_ARGUMENT = 1,  /* a bad parameter, input name, dtype or shape */
  TSR_NOT_FOUND = 2,         /* a missing file or device */
  TSR_DATA_LOSS = 3,         /* a truncated or corrupted artifact */
  TSR_UNIMPLEMENTED = 4,     /* a feature this runtime does not have */
  TSR_RESOURCE_EXHAUSTED = 5,/* out of memory */
  TSR_FAILED_PRECONDITION = 6,/* e.g. an artifact for another target */
  TSR_INTERNAL = 7,
  TSR_UNAVAILABLE = 8,       /* a peer rank failed or did not answer in time */
} tsr_status_code_t;

typedef struct tsr_status_s *tsr_status_t;

TSR_API tsr_status_code_t tsr_status_code(tsr_status_t status);
/* The message; valid until the status is freed. "" for success. */
TSR_API const char *tsr_status_message(tsr_status_t status);
TSR_API void tsr_status_free(tsr_status_t status);

/*===-- Element types -----------------------------------------------------===*/

typedef enum tsr_dtype_e {
  TSR_DTYPE_INVALID = 0,
  TSR_DTYPE_F32 = 1,
  TSR_DTYPE_F16 = 2,
  TSR_DTYPE_BF16 = 3,
  TSR_DTYPE_F64 = 4,
  TSR_DTYPE_I64 = 5,
  TSR_DTYPE_I32 = 6,
  TSR_DTYPE_I8 = 7,
  TSR_DTYPE_BOOL = 8, /* one byte per element, 0 or 1 */
  TSR_DTYPE_I16 = 9,
  TSR_DTYPE_U8 = 10,
  TSR_DTYPE_U16 = 11,
  TSR_DTYPE_U32 = 12,
  TSR_DTYPE_U64 = 13,
  /* Float8 and float4 formats (ONNX FLOAT8E4M3FN, ...), a byte per element
     holding its bit pattern; .npy files carry them as uint8. */
  TSR_DTYPE_F8E4M3FN = 14,
  TSR_DTYPE_F8E4M3FNUZ = 15,
  TSR_DTYPE_F8E5M2 = 16,
  TSR_DTYPE_F8E5M2FNUZ = 17,
  TSR_DTYPE_F4E2M1 = 18,
  TSR_DTYPE_F8E8M0 = 19,
  /* 4- and 2-bit integers (ONNX INT4, UINT4, INT2, UINT2), a byte per
     element: the value is in the low 4 (2) bits; in outputs the upper bits
     are unspecified. .npy files carry them as int8 / uint8 values. */
  TSR_DTYPE_I4 = 20,
  TSR_DTYPE_U4 = 21,
  TSR_DTYPE_I2 = 22,
  TSR_DTYPE_U2 = 23,
} tsr_dtype_t;

/* Bytes per element; 0 for TSR_DTYPE_INVALID. */
TSR_API size_t tsr_dtype_size(tsr_dtype_t dtype);
/* "f32", "bool", ... */
TSR_API const char *tsr_dtype_name(tsr_dtype_t dtype);

/*===-- Runtime -----------------------------------------------------------===*/

typedef struct tsr_runtime_s *tsr_runtime_t;

typedef struct tsr_runtime_options_s {
  uint32_t struct_size; /* set by _initialize */
  int verbose;          /* log loading and execution to stderr when non-zero */
  /* Threads a CPU device runs a module's large kernels on (the calling
   * thread included): 0 (the default) for every core this process may use,
   * 1 for the calling thread only. */
  int32_t cpu_threads;
  /* 0 (the default): a CPU device runs host code with results that would
   * be subnormal (below 1.17549435e-38 in magnitude for f32) flushed to
   * zero (x86 MXCSR.FTZ, AArch64 FPCR.FZ, set on the threads that run the
   * module while it runs; the calling thread's mode is restored after):
   * on some cores each such result costs a microcode assist, and a
   * transformer's softmax and GELU produce many. Non-zero: kept (IEEE
   * gradual underflow). Subnormal inputs are read as they are either way. */
  int32_t keep_denormals;
} tsr_runtime_options_t;

TSR_API void tsr_runtime_options_initialize(tsr_runtime_options_t *options);
TSR_API tsr_status_t tsr_runtime_create(const tsr_runtime_options_t *options,
                                        tsr_runtime_t *out_runtime);
TSR_API void tsr_runtime_retain(tsr_runtime_t runtime);
TSR_API void tsr_runtime_release(tsr_runtime_t runtime);

/*===-- Devices -----------------------------------------------------------===*/

typedef struct tsr_device_s *tsr_device_t;

/* `name` is "cpu" (= "cpu:0"), or "cuda" (= "cuda:0") or "cuda:N", the
 * N-th GPU the CUDA driver lists (CUDA_VISIBLE_DEVICES applies). Without a
 * driver or a GPU, or for N past the last GPU, a cuda device is
 * TSR_NOT_FOUND with a message saying why ("no CUDA device: libcuda.so.1
 * not found (is the NVIDIA driver installed?)"). Every handle naming the
 * same GPU shares its context, stream and caching allocator; a cuda
 * device's tensors keep their bytes in host memory. */
TSR_API tsr_status_t tsr_device_create(tsr_runtime_t runtime, const char *name,
                                       tsr_device_t *out_device);
TSR_API const char *tsr_device_name(tsr_device_t device);
TSR_API void tsr_device_retain(tsr_device_t device);
TSR_API void tsr_device_release(tsr_device_t device);

/*===-- Tensors -----------------------------------------------------------===*/

typedef struct tsr_tensor_s *tsr_tensor_t;

/* Copies `size_bytes` of `data` (dense, row-major) into a new tensor on
 * `device`. `size_bytes` must equal the product of `shape` times the dtype's
 * size. */
TSR_API tsr_status_t tsr_tensor_create_from_host(
    tsr_device_t device, tsr_dtype_t dtype, size_t rank, const int64_t *shape,
    const void *data, size_t size_bytes, tsr_tensor_t *out_tensor);
TSR_API tsr_dtype_t tsr_tensor_dtype(tsr_tensor_t tensor);
TSR_API size_t tsr_tensor_rank(tsr_tensor_t tensor);
/* The shape; valid while the tensor lives. */
TSR_API const int64_t *tsr_tensor_shape(tsr_tensor_t tensor);
TSR_API size_t tsr_tensor_size_bytes(tsr_tensor_t tensor);
/* Waits for the tensor's producer, then copies its contents to `dst`;
 * `size_bytes` must equal tsr_tensor_size_bytes. */
TSR_API tsr_status_t tsr_tensor_read(tsr_tensor_t tensor, void *dst,
                                     size_t size_bytes);
TSR_API void tsr_tensor_retain(tsr_tensor_t tensor);
TSR_API void tsr_tensor_release(tsr_tensor_t tensor);

/*===-- Modules (loaded artifacts) ----------------------------------------===*/

typedef struct tsr_module_s *tsr_module_t;

/* Loads and verifies an artifact: header, section bounds and checksums,
 * manifest and host code. A truncated or corrupted file is TSR_DATA_LOSS. */
TSR_API tsr_status_t tsr_module_load_file(tsr_runtime_t runtime,
                                          const char *path,
                                          tsr_module_t *out_module);
/* The same from memory; the bytes are copied. */
TSR_API tsr_status_t tsr_module_load_memory(tsr_runtime_t runtime,
                                            const void *data, size_t size,
                                            tsr_module_t *out_module);

typedef struct tsr_tensor_info_s {
  const char *name; /* the ONNX name */
  tsr_dtype_t dtype;
  size_t rank;
  const int64_t *shape;
} tsr_tensor_info_t;

TSR_API size_t tsr_module_num_inputs(tsr_module_t module);
TSR_API size_t tsr_module_num_outputs(tsr_module_t module);
/* Fills `out_info` (pointers valid while the module lives). The shape is
 * the one callers pass and get back: for a batch padded so that the dp axis
 * divides it, the caller's batch (the runtime adds and drops the rows). */
TSR_API tsr_status_t tsr_module_input_info(tsr_module_t module, size_t index,
                                           tsr_tensor_info_t *out_info);
TSR_API tsr_status_t tsr_module_output_info(tsr_module_t module, size_t index,
                                            tsr_tensor_info_t *out_info);
/* "cpu" or "cuda", the artifact's target. A module loads without a GPU;
 * a session of a cuda module needs a cuda device. */
TSR_API const char *tsr_module_target(tsr_module_t module);
/* Bytes of weights the module holds (every shard of split weights). */
TSR_API size_t tsr_module_weight_bytes(tsr_module_t module);
/* The device mesh the module was compiled for ("dp=2,tp=2"), "" for one
 * device, and its device count (1 without a mesh). */
TSR_API const char *tsr_module_mesh(tsr_module_t module);
TSR_API size_t tsr_module_num_devices(tsr_module_t module);
/* Bytes of weights one device maps: its own shard of each split weight and
 * the replicated weights whole. */
TSR_API size_t tsr_module_device_weight_bytes(tsr_module_t module);
TSR_API void tsr_module_retain(tsr_module_t module);
TSR_API void tsr_module_release(tsr_module_t module);

/*===-- Communicators -----------------------------------------------------===*/

/* What carries a mesh module's collectives between its devices. On cuda
 * devices the collectives are always NCCL's; the value says where the
 * ranks are and how they find each other. */
typedef enum tsr_comm_e {
  TSR_COMM_LOCAL = 0, /* every device is a thread of this process (on cuda:
                         one GPU per rank, NCCL among the threads) */
  TSR_COMM_MPI = 1,   /* this process is one device (rank) of an MPI job;
                         on cuda, NCCL with its unique id sent over MPI */
  TSR_COMM_NCCL = 2,  /* cuda only: this process is one rank of a job of
                         NCCL processes. Its rank and the job's size come
                         from TESSERA_RANK and TESSERA_WORLD_SIZE, or, under
                         mpirun (OMPI_COMM_WORLD_SIZE set), from MPI, which
                         then also sends NCCL's unique id; otherwise rank 0
                         writes the id to the file TESSERA_NCCL_RENDEZVOUS
                         (a path every rank can reach; renamed into place
                         when complete, removed once every rank joined) and
                         the others wait for it, at most the collective
                         timeout. Without any of these: rank 0 of 1. */
} tsr_comm_t;

/* This process's rank and the job's rank count under `comm`: 0 and 1 for
 * TSR_COMM_LOCAL; MPI_COMM_WORLD's for TSR_COMM_MPI, which initializes MPI
 * on first use (MPI_THREAD_SERIALIZED, finalized at exit) unless the
 * application already has (TSR_UNIMPLEMENTED when the runtime was built
 * without MPI); for TSR_COMM_NCCL as described there. */
TSR_API tsr_status_t tsr_comm_world(tsr_comm_t comm, int32_t *out_rank,
                                    int32_t *out_size);

/*===-- Sessions ----------------------------------------------------------===*/

typedef struct tsr_session_s *tsr_session_t;

typedef struct tsr_session_options_s {
  uint32_t struct_size; /* set by _initialize */
  /* Devices to run a mesh module on: 0 (the default) for the module's mesh;
   * any other count must equal it. */
  int32_t num_devices;
  /* How long a collective waits for its peers before the run fails with
   * TSR_UNAVAILABLE, in milliseconds; 0 for the default, 30000. */
  int32_t collective_timeout_ms;
  /* A tsr_comm_t. TSR_COMM_LOCAL (the default): the devices are threads of
   * this process. TSR_COMM_MPI: this process runs one device, its rank in
   * MPI_COMM_WORLD (devices numbered row-major over the mesh); the job's
   * rank count must equal the module's device count, else
   * TSR_INVALID_ARGUMENT before any communication. Creating an MPI session
   * is collective: every rank creates its sessions in the same order.
   * TSR_COMM_NCCL: the same on a cuda device, the ranks found as described
   * at tsr_comm_t. */
  int32_t comm;
} tsr_session_options_t;

TSR_API void tsr_session_options_initialize(tsr_session_options_t *options);
/* Binds `module` to `device` (one rank). A module's target must match the
 * device's kind (TSR_FAILED_PRECONDITION otherwise). On a cuda device the
 * session loads the device code, uploads its ranks' weights (they stay on
 * the GPUs) and allocates their workspaces now; a mesh module's ranks run
 * on cuda:((N + r) % count) for a session on cuda:N (with TSR_COMM_LOCAL,
 * r the mesh rank; with TSR_COMM_MPI or TSR_COMM_NCCL, r the process's
 * rank on its machine), and a local mesh needs a GPU per rank. Running out
 * of GPU memory is TSR_RESOURCE_EXHAUSTED naming the tensor and size. */
TSR_API tsr_status_t tsr_session_create(tsr_module_t module,
                                        tsr_device_t device,
                                        const tsr_session_options_t *options,
                                        tsr_session_t *out_session);
/* Runs the module. `inputs` are in the module's input order (see
 * tsr_module_input_info); each must match its dtype and shape. Writes
 * `num_outputs` new tensors (one reference each) to `out_outputs`. Safe to
 * call from several threads at once.
 *
 * With TSR_COMM_MPI every rank calls it with the whole inputs and takes its
 * own shard; the outputs are gathered to rank 0, which gets the whole
 * tensors, while the other ranks get NULL in `out_outputs`. When any rank
 * fails, every rank gets an error (TSR_UNAVAILABLE), within about twice
 * collective_timeout_ms of the moment its peers stopped. The runs of one
 * MPI session take turns, as do those of a cuda session. On a cuda device
 * a kernel that faults is TSR_INTERNAL naming the CUDA error (the GPU's
 * context is then unusable for the rest of the process), a collective that
 * times out TSR_UNAVAILABLE. */
TSR_API tsr_status_t tsr_session_run(tsr_session_t session,
                                     const tsr_tensor_t *inputs,
                                     size_t num_inputs,
                                     tsr_tensor_t *out_outputs,
                                     size_t num_outputs);
/* The ranks this process runs for the session: the mesh's device count
 * with TSR_COMM_LOCAL, 1 with TSR_COMM_MPI or TSR_COMM_NCCL. */
TSR_API size_t tsr_session_num_ranks(tsr_session_t session);

typedef struct tsr_memory_stats_s {
  uint32_t struct_size; /* set by the caller to sizeof(tsr_memory_stats_t) */
  int32_t rank;         /* the mesh rank */
  const char *device;   /* "cuda:1"; valid while the session lives */
  uint64_t weight_bytes;    /* the rank's weights (resident on a GPU) */
  uint64_t workspace_bytes; /* the rank's workspace */
  /* A cuda device's allocator, over every session using the GPU: bytes in
   * use now, the most in use at once, and freed blocks kept for reuse.
   * 0 on a cpu device. */
  uint64_t device_in_use_bytes;
  uint64_t device_peak_bytes;
  uint64_t device_cached_bytes;
} tsr_memory_stats_t;

/* Fills `out_stats` for the session's `index`-th rank in this process
 * (0 <= index < tsr_session_num_ranks). */
TSR_API tsr_status_t tsr_session_memory_stats(tsr_session_t session,
                                              size_t index,
                                              tsr_memory_stats_t *out_stats);
/* The GPU time of the session's `index`-th rank's last run, in ms: from
 * the first to the last work the compiled program put on the rank's stream
 * (kernels, GEMMs, collectives), measured with CUDA events; the inputs'
 * uploads and the outputs' downloads are not in it. -1 on a cpu device,
 * before a run, or for an index out of range. */
TSR_API double tsr_session_device_time_ms(tsr_session_t session, size_t index);
TSR_API void tsr_session_retain(tsr_session_t session);
TSR_API void tsr_session_release(tsr_session_t session);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TESSERA_RUNTIME_H */
