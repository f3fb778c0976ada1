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

void check_scores(const at::Tensor& rowptr, const at::Tensor& scores, const char* name) {
  check_index(rowptr, "rowptr", rowptr.scalar_type());
  check_features(scores, name);
}

at::Tensor segment_softmax_forward_cpu(const at::Tensor& rowptr, const at::Tensor& scores_in) {
  check_scores(rowptr, scores_in, "scores");
  auto scores = scores_in.contiguous();
  const int64_t num_rows = rowptr.numel() - 1, H = scores.size(1);
  auto out = at::empty_like(scores);
  AT_DISPATCH_FLOATING_TYPES(scores.scalar_type(), "segment_softmax_forward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "segment_softmax_forward_cpu_index", [&] {
      const index_t* rp = rowptr.data_ptr<index_t>();
      check_rowptr(rp, num_rows, "rowptr");
      TORCH_CHECK_VALUE(rp[num_rows] == scores.size(0), "scores must have rowptr[-1] = ",
                        static_cast<int64_t>(rp[num_rows]), " rows, got ", scores.size(0));
      const scalar_t* s = scores.data_ptr<scalar_t>();
      scalar_t* o = out.data_ptr<scalar_t>();
      parallel_over_rows(rp, num_rows, H, [&](int64_t row_begin, int64_t row_end) {
        std::vector<scalar_t> row_max(H), row_sum(H);
        for (int64_t i = row_begin; i < row_end; ++i) {
          const int64_t eb = rp[i], ee = rp[i + 1];
          if (eb == ee) continue;
          std::fill(row_max.begin(), row_max.end(), -std::numeric_limits<scalar_t>::infinity());
          std::fill(row_sum.begin(), row_sum.end(), scalar_t(0));
          for (int64_t e = eb; e < ee; ++e)
            for (int64_t h = 0; h < H; ++h) row_max[h] = std::max(row_max[h], s[e * H + h]);
          for (int64_t e = eb; e < ee; ++e)
            for (int64_t h = 0; h < H; ++h) {
              // A row whose scores are all -inf has no finite max; subtracting
              // it would give NaN, so shift by 0 instead (the result is 0/0 =
              // NaN either way, matching torch.softmax on such a row).
              const scalar_t m = std::isfinite(row_max[h]) ? row_max[h] : scalar_t(0);
              const scalar_t v = std::exp(s[e * H + h] - m);
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

at::Tensor segment_softmax_backward_cpu(const at::Tensor& rowptr, const at::Tensor& out_in,
                                        const at::Tensor& grad_in) {
  check_scores(rowptr, out_in, "out");
  TORCH_CHECK_VALUE(out_in.sizes() == grad_in.sizes(), "out and grad shapes differ");
  auto out = out_in.contiguous();
  auto grad = grad_in.contiguous();
  const int64_t num_rows = rowptr.numel() - 1, H = out.size(1);
  auto grad_scores = at::empty_like(out);
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "segment_softmax_backward_cpu", [&] {
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "segment_softmax_backward_cpu_index", [&] {
      const index_t* rp = rowptr.data_ptr<index_t>();
      check_rowptr(rp, num_rows, "rowptr");
      TORCH_CHECK_VALUE(rp[num_rows] == out.size(0), "out must have rowptr[-1] rows");
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
