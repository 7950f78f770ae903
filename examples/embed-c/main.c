/*===- main.c - Embedding Tessera's runtime in a C program ----------------===*
 *
 *   embed-c MODEL.tsr INPUT.bin OUTPUT.bin
 *
 * Loads a compiled artifact, reads its first input (raw little-endian data
 * of the input's dtype and shape) from INPUT.bin, runs it on cpu:0 and
 * writes its first output's raw data to OUTPUT.bin. Prints the signature.
 * Every failure prints the runtime's message and exits with status 1.
 *===----------------------------------------------------------------------===*/
#include <tessera/runtime.h>

#include <stdio.h>
#include <stdlib.h>

/* Prints a failed status and returns 1; returns 0 for success. */
static int check(tsr_status_t status) {
  if (!status)
    return 0;
  fprintf(stderr, "embed-c: error: %s\n", tsr_status_message(status));
  tsr_status_free(status);
  return 1;
}

static size_t byte_size(const tsr_tensor_info_t *info) {
  size_t n = tsr_dtype_size(info->dtype);
  for (size_t i = 0; i < info->rank; ++i)
    n *= (size_t)info->shape[i];
  return n;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: embed-c MODEL.tsr INPUT.bin OUTPUT.bin\n");
    return 2;
  }
  int rc = 1;
  tsr_runtime_t runtime = NULL;
  tsr_device_t device = NULL;
  tsr_module_t module = NULL;
  tsr_session_t session = NULL;
  tsr_tensor_t input = NULL, output = NULL;
  void *in_data = NULL, *out_data = NULL;

  tsr_runtime_options_t options;
  tsr_runtime_options_initialize(&options);
  if (check(tsr_runtime_create(&options, &runtime)) ||
      check(tsr_device_create(runtime, "cpu:0", &device)) ||
      check(tsr_module_load_file(runtime, argv[1], &module)))
    goto done;

  tsr_tensor_info_t in_info, out_info;
  if (check(tsr_module_input_info(module, 0, &in_info)) ||
      check(tsr_module_output_info(module, 0, &out_info)))
    goto done;
  printf("input %s: %s, %zu-d; output %s: %s, %zu-d\n", in_info.name,
         tsr_dtype_name(in_info.dtype), in_info.rank, out_info.name,
         tsr_dtype_name(out_info.dtype), out_info.rank);

  size_t in_bytes = byte_size(&in_info);
  in_data = malloc(in_bytes ? in_bytes : 1);
  FILE *f = fopen(argv[2], "rb");
  if (!f || fread(in_data, 1, in_bytes, f) != in_bytes) {
    fprintf(stderr, "embed-c: error: cannot read %zu bytes from %s\n", in_bytes, argv[2]);
    if (f)
      fclose(f);
    goto done;
  }
  fclose(f);

  tsr_session_options_t session_options;
  tsr_session_options_initialize(&session_options);
  if (check(tsr_tensor_create_from_host(device, in_info.dtype, in_info.rank,
                                        in_info.shape, in_data, in_bytes, &input)) ||
      check(tsr_session_create(module, device, &session_options, &session)) ||
      check(tsr_session_run(session, &input, 1, &output, 1)))
    goto done;

  size_t out_bytes = tsr_tensor_size_bytes(output);
  out_data = malloc(out_bytes ? out_bytes : 1);
  if (check(tsr_tensor_read(output, out_data, out_bytes)))
    goto done;
  f = fopen(argv[3], "wb");
  if (!f || fwrite(out_data, 1, out_bytes, f) != out_bytes) {
    fprintf(stderr, "embed-c: error: cannot write %s\n", argv[3]);
    if (f)
      fclose(f);
    goto done;
  }
  fclose(f);
  printf("wrote %zu bytes to %s\n", out_bytes, argv[3]);
  rc = 0;

done:
  free(in_data);
  free(out_data);
  tsr_tensor_release(input);
  tsr_tensor_release(output);
  tsr_session_release(session);
  tsr_module_release(module);
  tsr_device_release(device);
  tsr_runtime_release(runtime);
  return rc;
}
