// segment_softmax: softmax over the edges of each CSR row (per head), with
// autograd: grad_s = y * (g - sum_row(y * g)), a second row-local pass.
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
    return {at::Tensor(), ops::segment_softmax_backward(saved[0], saved[1], grads[0])};
  }
};

at::Tensor segment_softmax_autograd(const at::Tensor& rowptr, const at::Tensor& scores) {
  return SegmentSoftmaxFunction::apply(rowptr, scores)[0];
}

at::Tensor segment_softmax_no_grad(const at::Tensor& rowptr, const at::Tensor& scores) {
  return ops::segment_softmax_forward(rowptr, scores);
}

#ifdef WITH_CUDA
void check_softmax_args(const at::Tensor& rowptr, const at::Tensor& t, const char* name) {
  check_index(rowptr, "rowptr", rowptr.scalar_type());
  check_features(t, name);
  check_same_device(rowptr, "rowptr", t);
}

at::Tensor segment_softmax_forward_cuda(const at::Tensor& rowptr, const at::Tensor& scores_in) {
  check_softmax_args(rowptr, scores_in, "scores");
  c10::DeviceGuard device_guard(scores_in.device());
  auto scores = scores_in.contiguous();
  // Rows without edges are never written; zero-fill keeps the output defined.
  auto out = at::zeros_like(scores);
  check_launch(cuda::segment_softmax_forward(scalar_kind(scores.scalar_type()),
                                             rowptr.scalar_type() == at::kLong,
                                             rowptr.contiguous().data_ptr(), scores.data_ptr(),
                                             out.data_ptr(), rowptr.numel() - 1, scores.size(1),
                                             current_stream(scores.device())),
               "segment_softmax_forward");
  return out;
}

at::Tensor segment_softmax_backward_cuda(const at::Tensor& rowptr, const at::Tensor& out_in,
                                         const at::Tensor& grad_in) {
  check_softmax_args(rowptr, out_in, "out");
  TORCH_CHECK_VALUE(out_in.sizes() == grad_in.sizes(), "out and grad shapes differ");
  c10::DeviceGuard device_guard(out_in.device());
  auto out = out_in.contiguous();
  auto grad = grad_in.contiguous();
  auto grad_scores = at::zeros_like(out);
  check_launch(cuda::segment_softmax_backward(scalar_kind(out.scalar_type()),
                                              rowptr.scalar_type() == at::kLong,
                                              rowptr.contiguous().data_ptr(), out.data_ptr(),
                                              grad.data_ptr(), grad_scores.data_ptr(),
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
