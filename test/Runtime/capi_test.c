/*===- capi_test.c - The runtime C API, checked with FileCheck -------------===*
 *
 *   capi_test MLP.tsr
 *
 * Error paths print their status code and message; the concurrency check
 * runs one session from several threads and compares every output with a
 * single-threaded run, byte for byte.
 *===----------------------------------------------------------------------===*/
#include <tessera/runtime.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void report(const char *what, tsr_status_t s) {
  printf("%s: code %d: %s\n", what, (int)tsr_status_code(s), tsr_status_message(s));
  tsr_status_free(s);
}

static tsr_runtime_t runtime;
static tsr_device_t device;
static tsr_session_t session;
static tsr_tensor_t input;
static float expected[4 * 10];

static void *worker(void *arg) {
  long *mismatches = (long *)arg;
  for (int i = 0; i < 25; ++i) {
    tsr_tensor_t out = NULL;
    float got[4 * 10];
    tsr_status_t s = tsr_session_run(session, &input, 1, &out, 1);
    if (s || tsr_tensor_read(out, got, sizeof(got)) ||
        memcmp(got, expected, sizeof(got)) != 0)
      ++*mismatches;
    tsr_status_free(s);
    tsr_tensor_release(out);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  tsr_runtime_options_t options;
  tsr_runtime_options_initialize(&options);
  options.cpu_threads = -1;
  tsr_runtime_t bad = NULL;
  report("negative threads", tsr_runtime_create(&options, &bad));
  options.cpu_threads = 0;
  tsr_runtime_create(&options, &runtime);
  tsr_device_create(runtime, "cpu:0", &device);

  /* Devices. */
  tsr_device_t other = NULL;
  tsr_status_t cs = tsr_device_create(runtime, "cuda:0", &other);
  if (cs)
    report("cuda device", cs);
  else
    printf("cuda device: ok\n");
  tsr_device_release(other);
  other = NULL;
  report("unknown device", tsr_device_create(runtime, "tpu:3", &other));

  /* Loading. */
  tsr_module_t module = NULL;
  report("missing file", tsr_module_load_file(runtime, "/nonexistent/m.tsr", &module));
  report("empty memory", tsr_module_load_memory(runtime, "", 0, &module));
  report("garbage", tsr_module_load_memory(runtime, "not an artifact at all..", 24, &module));
  FILE *f = fopen(argv[1], "rb");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *bytes = malloc((size_t)size);
  if (fread(bytes, 1, (size_t)size, f) != (size_t)size)
    return 3;
  fclose(f);
  report("truncated", tsr_module_load_memory(runtime, bytes, (size_t)size - 100, &module));
  bytes[size - 17] ^= 0x5a; /* inside the last section */
  report("corrupted", tsr_module_load_memory(runtime, bytes, (size_t)size, &module));
  bytes[size - 17] ^= 0x5a;
  tsr_status_t s = tsr_module_load_memory(runtime, bytes, (size_t)size, &module);
  printf("load from memory: %s\n", s ? tsr_status_message(s) : "ok");
  tsr_status_free(s);
  free(bytes);

  tsr_tensor_info_t info;
  tsr_module_input_info(module, 0, &info);
  printf("input %s %s rank %zu [%lld, %lld]\n", info.name, tsr_dtype_name(info.dtype),
         info.rank, (long long)info.shape[0], (long long)info.shape[1]);
  report("input index", tsr_module_input_info(module, 5, &info));

  /* Tensors. */
  float x[4 * 256];
  for (int i = 0; i < 4 * 256; ++i)
    x[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
  int64_t shape[2] = {4, 256}, wrong[2] = {4, 255};
  tsr_tensor_t t = NULL;
  report("size mismatch", tsr_tensor_create_from_host(device, TSR_DTYPE_F32, 2, shape, x, 100, &t));
  tsr_tensor_create_from_host(device, TSR_DTYPE_F32, 2, wrong, x, 4 * 255 * 4, &t);
  tsr_session_options_t so;
  tsr_session_options_initialize(&so);
  so.comm = 7;
  report("unknown comm", tsr_session_create(module, device, &so, &session));
  so.comm = TSR_COMM_LOCAL;
  int32_t rank = -1, ranks = -1;
  tsr_status_t ws = tsr_comm_world(TSR_COMM_LOCAL, &rank, &ranks);
  printf("local world: %s, rank %d of %d\n", ws ? "error" : "ok", (int)rank,
         (int)ranks);
  tsr_status_free(ws);
  tsr_session_create(module, device, &so, &session);
  tsr_tensor_t out = NULL;
  report("wrong shape", tsr_session_run(session, &t, 1, &out, 1));
  report("wrong count", tsr_session_run(session, &t, 0, &out, 1));
  tsr_tensor_release(t);

  /* Concurrent runs of one session. */
  tsr_tensor_create_from_host(device, TSR_DTYPE_F32, 2, shape, x, sizeof(x), &input);
  tsr_session_run(session, &input, 1, &out, 1);
  tsr_tensor_read(out, expected, sizeof(expected));
  tsr_tensor_release(out);
  pthread_t threads[4];
  long mismatches[4] = {0};
  for (int i = 0; i < 4; ++i)
    pthread_create(&threads[i], NULL, worker, &mismatches[i]);
  long total = 0;
  for (int i = 0; i < 4; ++i) {
    pthread_join(threads[i], NULL);
    total += mismatches[i];
  }
  printf("concurrent runs: 100, mismatches: %ld\n", total);
  /* GPU time is measured on cuda devices only. */
  printf("device time on cpu: %.1f, rank out of range: %.1f\n",
         tsr_session_device_time_ms(session, 0), tsr_session_device_time_ms(session, 9));

  tsr_tensor_release(input);
  tsr_session_release(session);
  tsr_module_release(module);
  tsr_device_release(device);
  tsr_runtime_release(runtime);
  return 0;
}
