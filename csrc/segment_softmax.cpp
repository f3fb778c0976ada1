// segment_softmax: softmax over the edges of each CSR row (per head), with
// autograd: grad_s = y * (g - sum_row(y * g)), a second row-local pass
// (with create_graph=True, the same formula from differentiable ops).
#include <ATen/core/grad_mode.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include "ops.h"
#include "utils.h"
#ifdef WITH_CUDA
#include "cuda/segment_softmax_cuda.h"
#endif

namespace graphcl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class SegmentSoftmaxFunction : public torch::autograd::Function<SegmentSoftmaxFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& rowptr,
                               const at::Tensor& scores) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto out = ops::segment_softmax_forward(rowptr, scores);
    ctx->save_for_backward({rowptr, out});
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &rowptr = saved[0], &y = saved[1];
    if (!at::GradMode::is_enabled())
      return {at::Tensor(), ops::segment_softmax_backward(rowptr, y, grads[0])};
    // create_graph=True: the same formula from differentiable ops. y is this
    // node's own output, so differentiating through it reaches the scores.
    const auto& g = grads[0];
    auto row_dot = ops::segment_csr(y * g, rowptr, "sum");
    auto rows = rows_from_rowptr(rowptr, y.size(0));
    return {at::Tensor(), y * (g - row_dot.index_select(0, rows))};
  }
};

at::Tensor segment_softmax_autograd(const at::Tensor& rowptr, const at::Tensor& scores) {
  return SegmentSoftmaxFunction::apply(rowptr, scores)[0];
}

at::Tensor segment_softmax_no_grad(const at::Tensor& rowptr, const at::Tensor& scores) {
  return ops::segment_softmax_forward(rowptr, scores);
}

#ifdef WITH_CUDA
at::Tensor segment_softmax_forward_cuda(const at::Tensor& rowptr_in, const at::Tensor& scores_in) {
  c10::DeviceGuard device_guard(scores_in.device());
  const at::Tensor rowptr = prepare_segment_softmax(rowptr_in, {{&scores_in, "scores"}});
  auto scores = scores_in.contiguous();
  // Rows without edges are never written; zero-fill keeps the output defined.
  auto out = at::zeros_like(scores);
  check_launch(cuda::segment_softmax_forward(scalar_kind(scores.scalar_type()),
                                             rowptr.scalar_type() == at::kLong, rowptr.data_ptr(),
                                             scores.data_ptr(), out.data_ptr(), rowptr.numel() - 1,
                                             scores.size(1), current_stream(scores.device())),
               "segment_softmax_forward");
  return out;
}

at::Tensor segment_softmax_backward_cuda(const at::Tensor& rowptr_in, const at::Tensor& out_in,
                                         const at::Tensor& grad_in) {
  c10::DeviceGuard device_guard(out_in.device());
  const at::Tensor rowptr =
      prepare_segment_softmax(rowptr_in, {{&out_in, "out"}, {&grad_in, "grad"}});
  auto out = out_in.contiguous();
  auto grad = grad_in.contiguous();
  auto grad_scores = at::zeros_like(out);
  check_launch(cuda::segment_softmax_backward(scalar_kind(out.scalar_type()),
                                              rowptr.scalar_type() == at::kLong, rowptr.data_ptr(),
                                              out.data_ptr(), grad.data_ptr(), grad_scores.data_ptr(),
                                              rowptr.numel() - 1, out.size(1),
                                              current_stream(out.device())),
               "segment_softmax_backward");
  return grad_scores;
}
#endif

}  // namespace

TORCH_LIBRARY_IMPL(graphcl, Autograd, m) { m.impl("segment_softmax", &segment_softmax_autograd); }
TORCH_LIBRARY_IMPL(graphcl, CompositeExplicitAutograd, m) {
  m.impl("segment_softmax", &segment_softmax_no_grad);
}
#ifdef WITH_CUDA
TORCH_LIBRARY_IMPL(graphcl, CUDA, m) {
  m.impl("segment_softmax_forward", &segment_softmax_forward_cuda);
  m.impl("segment_softmax_backward", &segment_softmax_backward_cuda);
}
#endif

}  // namespace graphcl
