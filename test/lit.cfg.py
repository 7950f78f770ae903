# lit configuration for Tessera's FileCheck tests.
import os

import lit.formats

config.name = "Tessera"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "unit", "e2e", "fuzz", "lit.cfg.py", "lit.site.cfg.py", "capi_test.c"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tessera_obj_root, "test")

path = os.pathsep.join([config.tessera_tools_dir, config.llvm_tools_dir,
                        config.environment.get("PATH", os.environ["PATH"])])
config.environment["PATH"] = path
config.substitutions.append(("%python", config.python_executable))
# The runtime's mpi communicator (REQUIRES: mpi / UNSUPPORTED: mpi).
if getattr(config, "tessera_have_mpi", False):
    config.available_features.add("mpi")
# The CUDA toolkit's ptxas (REQUIRES: ptxas), to assemble generated PTX.
import shutil
ptxas = shutil.which("ptxas") or shutil.which("ptxas", path="/usr/local/cuda/bin")
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
# A usable GPU (REQUIRES: cuda / UNSUPPORTED: cuda): the driver loads and
# lists a device.
def _have_cuda():
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 \
            and count.value > 0
    except OSError:
        return False
if _have_cuda():
    config.available_features.add("cuda")
config.substitutions.append(("%plugin", os.path.join(config.tessera_obj_root, "lib",
                                                     "libTesseraExamplePlugin.so")))
config.substitutions.append(("%examples", os.path.join(config.tessera_src_root, "examples")))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root,
                                                     "Import", "onnx", "Inputs")))
