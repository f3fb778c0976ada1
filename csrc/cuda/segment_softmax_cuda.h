// Softmax over the edges of each CSR row, per head (CUDA launchers).
#pragma once
#include "launch_types.h"

namespace graphcl {
namespace cuda {

// scores, out: [num_edges, H] row-major contiguous. For every row i and head h:
//   out[e, h] = exp(scores[e, h] - m) / SUM_{e' in row i} exp(scores[e', h] - m)
// with m the row maximum (numerically stable; NaN propagates into m, so a row
// holding NaN or +inf, or only -inf, is NaN throughout, as torch.softmax
// gives). Empty rows write nothing.
int segment_softmax_forward(ScalarKind kind, bool index64, const void* rowptr,
                            const void* scores, void* out, int64_t num_rows,
                            int64_t num_heads, void* stream);

// grad_in[e, h] = out[e, h] * (grad[e, h] - SUM_{e' in row i} out[e', h] * grad[e', h])
int segment_softmax_backward(ScalarKind kind, bool index64, const void* rowptr,
                             const void* out, const void* grad, void* grad_in,
                             int64_t num_rows, int64_t num_heads, void* stream);

}  // namespace cuda
}  // namespace graphcl
