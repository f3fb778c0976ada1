// Segment reductions (sum, mean, max, min) over CSR segments of src's rows and
// COO scatter, with autograd.
//
// Both reuse the spmm kernel (CPU and CUDA) with an identity column map, so the
// segment family needs no kernels of its own: segment_csr is spmm without a
// gather, and scatter_coo sorts its index once (stable, so ties in max/min
// resolve to the first occurrence) and then reduces the sorted segments. That
// makes scatter deterministic on every device, with no atomics.
//
// Their backward passes are ATen ops (gathers, scatters, repeat_interleave),
// so they are differentiable as they stand: double backward works.
#include <torch/autograd.h>
#include <torch/library.h>

#include "ops.h"
#include "utils.h"

namespace graphcl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Tensor segment_lengths(const at::Tensor& rowptr) {
  return rowptr.narrow(0, 1, rowptr.numel() - 1) - rowptr.narrow(0, 0, rowptr.numel() - 1);
}

// Backward shared by segment_csr and scatter_coo: max/min send each
// segment's gradient to its selected member; sum/mean broadcast it to every
// member (scaled by 1/size for mean). `sizes()` gives the segment sizes and
// `broadcast` maps [segments, F] to [num_src, F].
template <typename Sizes, typename Broadcast>
at::Tensor segment_backward(const at::Tensor& grad, Reduce reduce, const at::Tensor& arg,
                            int64_t num_src, Sizes sizes, Broadcast broadcast) {
  auto grad_out = grad.contiguous();
  if (is_arg_reduce(reduce)) return ops::route_to_arg(grad_out, arg, num_src);
  if (reduce == Reduce::Mean)
    grad_out = grad_out / sizes().to(grad_out.scalar_type()).clamp_min(1).unsqueeze(1);
  return broadcast(grad_out);
}

// segment_csr's own argument checks, so that messages name src (the values
// of rowptr are checked by spmm_forward, against src's rows).
void check_segment_csr_args(const at::Tensor& src, const at::Tensor& rowptr) {
  check_features(src, "src");
  check_ptr_shape(rowptr, "rowptr", rowptr.scalar_type());
  check_same_device(rowptr, "rowptr", src);
}

class SegmentCSRFunction : public torch::autograd::Function<SegmentCSRFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& src, const at::Tensor& rowptr,
                               const std::string& reduce) {
    at::AutoDispatchBelowADInplaceOrView guard;
    check_segment_csr_args(src, rowptr);
    auto [out, arg] = ops::spmm_forward(rowptr, c10::nullopt, c10::nullopt, src, reduce);
    ctx->saved_data["reduce"] = reduce;
    ctx->saved_data["num_src"] = src.size(0);
    ctx->save_for_backward({rowptr, arg});
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &rowptr = saved[0], &arg = saved[1];
    const Reduce reduce = parse_reduce(ctx->saved_data["reduce"].toStringRef());
    const int64_t num_src = ctx->saved_data["num_src"].toInt();
    auto lengths = segment_lengths(rowptr);
    auto grad_src = segment_backward(
        grads[0], reduce, arg, num_src, [&] { return lengths; },
        [&](const at::Tensor& g) { return g.repeat_interleave(lengths, 0, num_src); });
    return {grad_src, at::Tensor(), at::Tensor()};
  }
};

std::tuple<at::Tensor, at::Tensor> scatter_coo_forward(const at::Tensor& src, const at::Tensor& index,
                                                       int64_t dim_size, c10::string_view reduce) {
  check_features(src, "src");
  TORCH_CHECK_TYPE(index.defined(), "index must be a tensor, got None");
  TORCH_CHECK_TYPE(index.scalar_type() == at::kLong || index.scalar_type() == at::kInt,
                   "index must be int32 or int64, got ", index.scalar_type());
  TORCH_CHECK_VALUE(index.dim() == 1 && index.numel() == src.size(0), "index must have shape [",
                    src.size(0), "], got ", index.sizes());
  TORCH_CHECK_VALUE(dim_size >= 0, "dim_size must be non-negative, got ", dim_size);
  check_same_device(index, "index", src);
  const int64_t num_src = src.size(0);
  if (num_src > 0) {
    // One reduction and one copy to the host (a single sync on GPU).
    auto [lo_t, hi_t] = at::aminmax(index);
    auto bounds = at::stack({lo_t, hi_t}).to(at::kCPU, at::kLong);
    const int64_t lo = bounds[0].item<int64_t>(), hi = bounds[1].item<int64_t>();
    TORCH_CHECK_INDEX(lo >= 0 && hi < dim_size, "index holds a value outside [0, ", dim_size,
                      ") (dim_size): its values span [", lo, ", ", hi, "]");
  }
  auto perm = std::get<1>(index.sort(/*stable=*/std::optional<bool>(true), /*dim=*/0));
  auto counts = at::bincount(index.to(at::kLong), {}, dim_size);
  auto rowptr = at::cat({at::zeros({1}, counts.options()), counts.cumsum(0)}).to(index.scalar_type());
  auto [out, sorted_arg] =
      ops::spmm_forward(rowptr, c10::nullopt, c10::nullopt, src.index_select(0, perm), reduce);
  at::Tensor arg = sorted_arg.to(at::kLong);  // int64 like torch_scatter's arg
  if (sorted_arg.numel() > 0 && num_src > 0) {
    // Map positions in the sorted order back to positions in src.
    auto flat = arg.reshape({-1});
    auto original = perm.index_select(0, flat.clamp_max(num_src - 1));
    arg = at::where(flat < num_src, original, flat).reshape(sorted_arg.sizes());
  }
  return {out, arg};
}

class ScatterCOOFunction : public torch::autograd::Function<ScatterCOOFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& src, const at::Tensor& index,
                               int64_t dim_size, const std::string& reduce) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto [out, arg] = ops::scatter_coo_forward(src, index, dim_size, reduce);
    ctx->saved_data["reduce"] = reduce;
    ctx->saved_data["num_src"] = src.size(0);
    ctx->saved_data["dim_size"] = dim_size;
    ctx->save_for_backward({index, arg});
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &index = saved[0], &arg = saved[1];
    const Reduce reduce = parse_reduce(ctx->saved_data["reduce"].toStringRef());
    const int64_t num_src = ctx->saved_data["num_src"].toInt();
    const int64_t dim_size = ctx->saved_data["dim_size"].toInt();
    auto grad_src = segment_backward(
        grads[0], reduce, arg, num_src,
        [&] { return at::bincount(index.to(at::kLong), {}, dim_size); },
        [&](const at::Tensor& g) { return g.index_select(0, index); });
    return {grad_src, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor segment_csr_autograd(const at::Tensor& src, const at::Tensor& rowptr,
                                c10::string_view reduce) {
  return SegmentCSRFunction::apply(src, rowptr, std::string(reduce))[0];
}

at::Tensor segment_csr_no_grad(const at::Tensor& src, const at::Tensor& rowptr,
                               c10::string_view reduce) {
  check_segment_csr_args(src, rowptr);
  return std::get<0>(ops::spmm_forward(rowptr, c10::nullopt, c10::nullopt, src, reduce, false));
}

at::Tensor scatter_coo_autograd(const at::Tensor& src, const at::Tensor& index, int64_t dim_size,
                                c10::string_view reduce) {
  return ScatterCOOFunction::apply(src, index, dim_size, std::string(reduce))[0];
}

at::Tensor scatter_coo_no_grad(const at::Tensor& src, const at::Tensor& index, int64_t dim_size,
                               c10::string_view reduce) {
  return std::get<0>(ops::scatter_coo_forward(src, index, dim_size, reduce));
}

}  // namespace

TORCH_LIBRARY_IMPL(graphcl, Autograd, m) {
  m.impl("segment_csr", &segment_csr_autograd);
  m.impl("scatter_coo", &scatter_coo_autograd);
}
TORCH_LIBRARY_IMPL(graphcl, CompositeExplicitAutograd, m) {
  m.impl("segment_csr", &segment_csr_no_grad);
  m.impl("scatter_coo", &scatter_coo_no_grad);
  m.impl("scatter_coo_forward", &scatter_coo_forward);
}

}  // namespace graphcl
