// CPU kernels of segment_softmax: a numerically stable softmax over the edges
// of each CSR row, independently per head (scores are [E, H]).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <cmath>
#include <limits>
#include <vector>

#include "../utils.h"
#include "kernel_utils.h"

namespace graphcl {
namespace cpu {
namespace {

at::Tensor segment_softmax_forward_cpu(const at::Tensor& rowptr_in, const at::Tensor& scores_in) {
  const at::Tensor rowptr = prepare_segment_softmax(rowptr_in, {{&scores_in, "scores"}});
  auto scores = scores_in.contiguous();
  const int64_t num_rows = rowptr.numel() - 1, H = scores.size(1);
  auto out = at::empty_like(scores);
  AT_DISPATCH_FLOATING_TYPES(scores.scalar_type(), "segment_softmax_forward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "segment_softmax_forward_cpu_index", [&] {
      const index_t* rp = rowptr.data_ptr<index_t>();
      const scalar_t* s = scores.data_ptr<scalar_t>();
      scalar_t* o = out.data_ptr<scalar_t>();
      parallel_over_rows(rp, num_rows, H, [&](int64_t row_begin, int64_t row_end) {
        std::vector<scalar_t> row_max(H), row_sum(H);
        for (int64_t i = row_begin; i < row_end; ++i) {
          const int64_t eb = rp[i], ee = rp[i + 1];
          if (eb == ee) continue;
          // torch.softmax semantics: the row maximum propagates NaN, and the
          // scores are shifted by it unconditionally, so a row holding NaN
          // or +inf (inf - inf = NaN) or only -inf (-inf + inf = NaN) is NaN
          // throughout, exactly as torch.softmax gives.
          for (int64_t h = 0; h < H; ++h) row_max[h] = s[eb * H + h];
          for (int64_t e = eb + 1; e < ee; ++e)
            for (int64_t h = 0; h < H; ++h) {
              const scalar_t v = s[e * H + h], m = row_max[h];
              row_max[h] = ((v > m) | (v != v)) & (m == m) ? v : m;
            }
          std::fill(row_sum.begin(), row_sum.end(), scalar_t(0));
          for (int64_t e = eb; e < ee; ++e)
            for (int64_t h = 0; h < H; ++h) {
              const scalar_t v = std::exp(s[e * H + h] - row_max[h]);
              o[e * H + h] = v;
              row_sum[h] += v;
            }
          for (int64_t e = eb; e < ee; ++e)
            for (int64_t h = 0; h < H; ++h) o[e * H + h] /= row_sum[h];
        }
      });
    });
  });
  return out;
}

at::Tensor segment_softmax_backward_cpu(const at::Tensor& rowptr_in, const at::Tensor& out_in,
                                        const at::Tensor& grad_in) {
  const at::Tensor rowptr =
      prepare_segment_softmax(rowptr_in, {{&out_in, "out"}, {&grad_in, "grad"}});
  auto out = out_in.contiguous();
  auto grad = grad_in.contiguous();
  const int64_t num_rows = rowptr.numel() - 1, H = out.size(1);
  // Rows without edges have no entries, so every entry is written below.
  auto grad_scores = at::empty_like(out);
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "segment_softmax_backward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "segment_softmax_backward_cpu_index", [&] {
      const index_t* rp = rowptr.data_ptr<index_t>();
      const scalar_t* y = out.data_ptr<scalar_t>();
      const scalar_t* g = grad.data_ptr<scalar_t>();
      scalar_t* gs = grad_scores.data_ptr<scalar_t>();
      parallel_over_rows(rp, num_rows, H, [&](int64_t row_begin, int64_t row_end) {
        std::vector<scalar_t> dot(H);
        for (int64_t i = row_begin; i < row_end; ++i) {
          const int64_t eb = rp[i], ee = rp[i + 1];
          std::fill(dot.begin(), dot.end(), scalar_t(0));
          for (int64_t e = eb; e < ee; ++e)
            for (int64_t h = 0; h < H; ++h) dot[h] += y[e * H + h] * g[e * H + h];
          for (int64_t e = eb; e < ee; ++e)
            for (int64_t h = 0; h < H; ++h) gs[e * H + h] = y[e * H + h] * (g[e * H + h] - dot[h]);
        }
      });
    });
  });
  return grad_scores;
}

}  // namespace

TORCH_LIBRARY_IMPL(graphcl, CPU, m) {
  m.impl("segment_softmax_forward", &segment_softmax_forward_cpu);
  m.impl("segment_softmax_backward", &segment_softmax_backward_cpu);
}

}  // namespace cpu
}  // namespace graphcl
