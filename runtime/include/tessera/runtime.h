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
 * The runtime has no LLVM or MLIR dependency.
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
} tsr_runtime_options_t;

TSR_API void tsr_runtime_options_initialize(tsr_runtime_options_t *options);
TSR_API tsr_status_t tsr_runtime_create(const tsr_runtime_options_t *options,
                                        tsr_runtime_t *out_runtime);
TSR_API void tsr_runtime_retain(tsr_runtime_t runtime);
TSR_API void tsr_runtime_release(tsr_runtime_t runtime);

/*===-- Devices -----------------------------------------------------------===*/

typedef struct tsr_device_s *tsr_device_t;

/* `name` is "cpu" or "cpu:N". Other kinds (cuda:N) return TSR_NOT_FOUND or
 * TSR_UNIMPLEMENTED with a message. */
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
/* Fills `out_info` (pointers valid while the module lives). */
TSR_API tsr_status_t tsr_module_input_info(tsr_module_t module, size_t index,
                                           tsr_tensor_info_t *out_info);
TSR_API tsr_status_t tsr_module_output_info(tsr_module_t module, size_t index,
                                            tsr_tensor_info_t *out_info);
/* "cpu", the artifact's target. */
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

/* What carries a mesh module's collectives between its devices. */
typedef enum tsr_comm_e {
  TSR_COMM_LOCAL = 0, /* every device is a thread of this process */
  TSR_COMM_MPI = 1,   /* this process is one device (rank) of an MPI job */
} tsr_comm_t;

/* This process's rank and the job's rank count under `comm`: 0 and 1 for
 * TSR_COMM_LOCAL; MPI_COMM_WORLD's for TSR_COMM_MPI, which initializes MPI
 * on first use (MPI_THREAD_SERIALIZED, finalized at exit) unless the
 * application already has. TSR_UNIMPLEMENTED when the runtime was built
 * without MPI. */
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
   * is collective: every rank creates its sessions in the same order. */
  int32_t comm;
} tsr_session_options_t;

TSR_API void tsr_session_options_initialize(tsr_session_options_t *options);
/* Binds `module` to `device` (one rank). */
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
 * MPI session take turns. */
TSR_API tsr_status_t tsr_session_run(tsr_session_t session,
                                     const tsr_tensor_t *inputs,
                                     size_t num_inputs,
                                     tsr_tensor_t *out_outputs,
                                     size_t num_outputs);
TSR_API void tsr_session_retain(tsr_session_t session);
TSR_API void tsr_session_release(tsr_session_t session);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TESSERA_RUNTIME_H */
