// Sampled dense-dense matrix product: one dot product per CSR edge (CUDA).
#pragma once
#include "launch_types.h"

namespace graphcl {
namespace cuda {

// For every row i and edge e in [rowptr[i], rowptr[i+1]):
//   out[e] = SUM_f a[i, f] * b[col[e], f]
// a: [num_rows, F], b: [*, F] row-major contiguous; out: [num_edges].
// half and bfloat16 accumulate in float.
int sddmm_forward(ScalarKind kind, bool index64, const void* rowptr,
                  const void* col, const void* a, const void* b, void* out,
                  int64_t num_rows, int64_t num_edges, int64_t num_features,
                  void* stream);

}  // namespace cuda
}  // namespace graphcl
