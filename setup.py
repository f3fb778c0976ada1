"""Build script for graphcl's compiled core, ``graphcl._C``.

The CPU kernels are always built. The CUDA kernels are added when torch is a
CUDA build and nvcc is found, or when ``FORCE_CUDA=1``. ``FORCE_CPU=1`` skips
them. Without a working compiler the package still installs and runs on the
pure-PyTorch fallback (``GRAPHCL_SKIP_EXTENSION=1`` forces that).
"""
import glob
import os

from setuptools import setup

ROOT = os.path.dirname(os.path.abspath(__file__))


def _extensions():
    if os.environ.get("GRAPHCL_SKIP_EXTENSION", "0") == "1":
        return [], {}
    import torch
    from torch.utils import cpp_extension

    sources = sorted(glob.glob("csrc/*.cpp") + glob.glob("csrc/cpu/*.cpp"))
    cuda_sources = sorted(glob.glob("csrc/cuda/*.cu"))
    force_cuda = os.environ.get("FORCE_CUDA", "0") == "1"
    force_cpu = os.environ.get("FORCE_CPU", "0") == "1"
    with_cuda = not force_cpu and (
        force_cuda or (torch.version.cuda is not None and cpp_extension.CUDA_HOME is not None))

    cxx_flags = ["-O3", "-std=c++20"]
    # Python's own CFLAGS carry -g: debug info for these torch-header-heavy
    # files doubled the build (spmm_cpu.cpp 70 s -> 40 s without it) and made a
    # 27 MB library. GRAPHCL_DEBUG=1 keeps it.
    if os.environ.get("GRAPHCL_DEBUG", "0") != "1":
        cxx_flags.append("-g0")
    if os.environ.get("GRAPHCL_NO_OPENMP", "0") != "1":
        cxx_flags.append("-fopenmp")
    define_macros = []
    extra = {"cxx": cxx_flags}
    if with_cuda:
        define_macros.append(("WITH_CUDA", None))
        extra["nvcc"] = ["-O3", "-std=c++17", "--expt-relaxed-constexpr"]
        arch = os.environ.get("TORCH_CUDA_ARCH_LIST")
        if arch is None:
            os.environ["TORCH_CUDA_ARCH_LIST"] = "8.0;9.0"
        ext = cpp_extension.CUDAExtension(
            "graphcl._C", sources + cuda_sources, include_dirs=[os.path.join(ROOT, "csrc")],
            define_macros=define_macros, extra_compile_args=extra, extra_link_args=["-fopenmp"])
    else:
        ext = cpp_extension.CppExtension(
            "graphcl._C", sources, include_dirs=[os.path.join(ROOT, "csrc")],
            define_macros=define_macros, extra_compile_args=extra, extra_link_args=["-fopenmp"])
    return [ext], {"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=True)}


ext_modules, cmdclass = _extensions()
setup(ext_modules=ext_modules, cmdclass=cmdclass)
