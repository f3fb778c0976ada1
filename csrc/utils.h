// Helpers shared by the C++ bindings and CPU kernels: argument checks,
// reduction names, and the bridge from tensors to the plain CUDA launchers.
#pragma once
#include <ATen/ATen.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <string>

#include "cuda/launch_types.h"

namespace graphcl {

using cuda::Reduce;

inline Reduce parse_reduce(const std::string& reduce) {
  if (reduce == "sum" || reduce == "add") return Reduce::Sum;
  if (reduce == "mean") return Reduce::Mean;
  if (reduce == "max" || reduce == "amax") return Reduce::Max;
  if (reduce == "min" || reduce == "amin") return Reduce::Min;
  TORCH_CHECK_VALUE(false, "reduce must be one of 'sum', 'mean', 'max', 'min', got '", reduce, "'");
}

inline bool is_arg_reduce(Reduce r) { return r == Reduce::Max || r == Reduce::Min; }

// The kernels take one index type for all index tensors of an op.
inline void check_index(const at::Tensor& t, const char* name, at::ScalarType index_type) {
  TORCH_CHECK_TYPE(t.scalar_type() == at::kLong || t.scalar_type() == at::kInt, name,
                   " must be int32 or int64, got ", t.scalar_type());
  TORCH_CHECK_TYPE(t.scalar_type() == index_type, name, " has dtype ", t.scalar_type(),
                   " but the other index tensors have ", index_type);
  TORCH_CHECK_VALUE(t.dim() == 1, name, " must be 1-D, got shape ", t.sizes());
}

inline void check_same_device(const at::Tensor& t, const char* name, const at::Tensor& ref) {
  TORCH_CHECK_VALUE(t.device() == ref.device(), name, " is on ", t.device(), " but expected ",
                    ref.device());
}

inline void check_features(const at::Tensor& t, const char* name) {
  TORCH_CHECK_VALUE(t.dim() == 2, name, " must be 2-D [rows, features], got shape ", t.sizes());
  TORCH_CHECK_TYPE(at::isFloatingType(t.scalar_type()), name, " must be floating point, got ",
                   t.scalar_type());
}

// Per-CSR-edge inverse degree of its row, used by the mean reduction.
inline at::Tensor inverse_degree_per_edge(const at::Tensor& rowptr, const at::Tensor& rows_of_edges,
                                          at::ScalarType dtype) {
  auto deg = (rowptr.narrow(0, 1, rowptr.numel() - 1) - rowptr.narrow(0, 0, rowptr.numel() - 1))
                 .to(dtype)
                 .clamp_min(1);
  return deg.reciprocal().index_select(0, rows_of_edges);
}

// Row id of every CSR edge (E entries), from rowptr.
inline at::Tensor rows_from_rowptr(const at::Tensor& rowptr, int64_t num_edges) {
  auto counts = rowptr.narrow(0, 1, rowptr.numel() - 1) - rowptr.narrow(0, 0, rowptr.numel() - 1);
  auto rows = at::arange(rowptr.numel() - 1, rowptr.options());
  return rows.repeat_interleave(counts, /*dim=*/0, /*output_size=*/num_edges);
}

#ifdef WITH_CUDA
inline cuda::ScalarKind scalar_kind(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return cuda::ScalarKind::Float32;
    case at::kDouble: return cuda::ScalarKind::Float64;
    case at::kHalf: return cuda::ScalarKind::Float16;
    case at::kBFloat16: return cuda::ScalarKind::BFloat16;
    default: TORCH_CHECK_TYPE(false, "unsupported dtype on CUDA: ", t);
  }
}

// The current CUDA stream of `device` as an opaque handle, obtained through
// c10's device-generic interface so that no CUDA header of torch is needed.
inline void* current_stream(const at::Device& device) {
  c10::impl::VirtualGuardImpl impl(device.type());
  return impl.getStream(device).native_handle();
}

inline void check_launch(int code, const char* what) {
  TORCH_CHECK(code == 0, "graphcl CUDA kernel ", what, " failed: ", cuda::error_string(code));
}

inline const void* ptr_or_null(const c10::optional<at::Tensor>& t) {
  return t.has_value() && t->defined() ? t->data_ptr() : nullptr;
}
#endif

}  // namespace graphcl

namespace graphcl {

// Shape/dtype checks of spmm_forward shared by the CPU and CUDA kernels.
// Returns the number of edges (from col, or from src's rows when col is
// absent and the op is a plain segment reduction).
inline int64_t check_spmm_forward_args(const at::Tensor& rowptr,
                                       const c10::optional<at::Tensor>& col,
                                       const c10::optional<at::Tensor>& weight,
                                       const at::Tensor& x) {
  check_index(rowptr, "rowptr", rowptr.scalar_type());
  TORCH_CHECK_VALUE(rowptr.numel() >= 1, "rowptr must have at least one entry");
  check_features(x, "x");
  int64_t num_edges = x.size(0);
  if (col.has_value() && col->defined()) {
    check_index(*col, "col", rowptr.scalar_type());
    check_same_device(*col, "col", x);
    num_edges = col->numel();
  }
  check_same_device(rowptr, "rowptr", x);
  if (weight.has_value() && weight->defined()) {
    TORCH_CHECK_TYPE(weight->scalar_type() == x.scalar_type(), "edge_weight dtype ",
                     weight->scalar_type(), " does not match x dtype ", x.scalar_type());
    TORCH_CHECK_VALUE(weight->dim() == 1 && weight->numel() == num_edges, "edge_weight must have shape [",
                      num_edges, "], got ", weight->sizes());
    check_same_device(*weight, "edge_weight", x);
  }
  return num_edges;
}

inline c10::optional<at::Tensor> optional_if_defined(const at::Tensor& t) {
  return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt;
}

}  // namespace graphcl
