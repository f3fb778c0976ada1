// CSR sparse-dense matrix product with a choice of reduction (CUDA launchers).
#pragma once
#include "launch_types.h"

namespace graphcl {
namespace cuda {

// For every row i and feature f:
//   out[i, f] = REDUCE_{e in [rowptr[i], rowptr[i+1])} w[e] * x[col[e], f]
// w == nullptr means unit weights; col == nullptr means col[e] = e (this turns
// the kernel into a plain segment reduction over the rows of x, used by
// segment_csr). Mean divides by the number of edges of the row. Rows without
// edges give 0. Max/Min propagate NaN (torch.amax/amin semantics). For
// Max/Min, arg[i, f] (int64, row-major [num_rows, F]) gets the CSR position e
// of the selected edge: the first NaN if the row has one, else the first of the
// equal maxima (minima); num_edges for an empty row. arg may be nullptr for
// Sum/Mean.
// rowptr and col share one index type: int64 when index64, else int32.
// x: [*, F] row-major contiguous, out: [num_rows, F] row-major contiguous,
// both of dtype `kind`; half and bfloat16 accumulate in float.
int spmm_forward(ScalarKind kind, bool index64, Reduce reduce,
                 const void* rowptr, const void* col, const void* weight,
                 const void* x, void* out, int64_t* arg, int64_t num_rows,
                 int64_t num_edges, int64_t num_features, void* stream);

// Backward of the Max/Min forward for x, traversed over the CSC (transpose)
// so that no atomics are needed. For every column j and feature f:
//   grad_x[j, f] = SUM_{k in [colptr[j], colptr[j+1])} [arg[i, f] == e] * w[e] * grad_out[i, f]
// with e = csc_perm[k] (the CSR position of the k-th CSC edge) and
// i = csc_row[k]. w == nullptr means unit weights. grad_x: [num_cols, F].
int spmm_arg_backward(ScalarKind kind, bool index64, const void* colptr,
                      const void* csc_row, const void* csc_perm,
                      const void* weight, const int64_t* arg,
                      const void* grad_out, void* grad_x, int64_t num_cols,
                      int64_t num_features, void* stream);

}  // namespace cuda
}  // namespace graphcl
