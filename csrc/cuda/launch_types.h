// Plain types shared by the CUDA kernels (*.cu) and their C++ bindings.
//
// The .cu files include no torch header: they take raw pointers, a dtype tag
// and a cudaStream_t passed as void*. That lets nvcc compile them against any
// CUDA toolkit (CI compiles them for sm_80 and sm_90 on a machine whose torch
// is a CPU build), while the bindings in csrc/<op>.cpp own all tensor logic.
#pragma once
#include <cstdint>

namespace graphcl {
namespace cuda {

enum class ScalarKind : int { Float32 = 0, Float64 = 1, Float16 = 2, BFloat16 = 3 };
enum class Reduce : int { Sum = 0, Mean = 1, Max = 2, Min = 3 };

// Every launcher returns the cudaError_t of its launch as an int (0 = success);
// error_string() turns it into the CUDA message for the binding's exception.
const char* error_string(int code);

}  // namespace cuda
}  // namespace graphcl
