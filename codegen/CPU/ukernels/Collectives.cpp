//===- Collectives.cpp - Collective calls from compiled code --------------===//
//
// The compiled SPMD program calls these (see tessera-lower-collectives);
// they forward to the runtime through the hook table it installs after
// loading the host code (`tessera_rt_hooks`), so the host code needs no
// symbol from the runtime library. The runtime knows which rank the
// calling thread runs, and records a failed collective for the run to
// report.
//
//===----------------------------------------------------------------------===//

#include <stdint.h>

extern "C" {
struct TesseraRtHooks {
  void (*allReduce)(intptr_t buffer, int64_t count, int64_t dtype, int64_t op,
                    int64_t axesMask);
  void (*allGather)(intptr_t send, intptr_t recv, int64_t outer,
                    int64_t innerBytes, int64_t axesMask);
  int64_t (*processLinearIndex)();
};

__attribute__((visibility("default"))) const TesseraRtHooks *tessera_rt_hooks = nullptr;

__attribute__((visibility("hidden"))) void
tessera_rt_all_reduce(intptr_t buffer, int64_t count, int64_t dtype, int64_t op,
                      int64_t axesMask) {
  if (tessera_rt_hooks)
    tessera_rt_hooks->allReduce(buffer, count, dtype, op, axesMask);
}

__attribute__((visibility("hidden"))) void
tessera_rt_all_gather(intptr_t send, intptr_t recv, int64_t outer,
                      int64_t innerBytes, int64_t axesMask) {
  if (tessera_rt_hooks)
    tessera_rt_hooks->allGather(send, recv, outer, innerBytes, axesMask);
}

__attribute__((visibility("hidden"))) int64_t tessera_rt_process_linear_index() {
  return tessera_rt_hooks ? tessera_rt_hooks->processLinearIndex() : 0;
}
}
