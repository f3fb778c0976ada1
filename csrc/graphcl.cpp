// Operator schemas of the graphcl library and the Python module entry point.
//
// Every op family has a file triad: csrc/<op>.cpp (autograd + CUDA binding),
// csrc/cpu/<op>_cpu.cpp (CPU kernel), csrc/cuda/<op>_cuda.cu (CUDA kernel).
// Ops named *_forward / *_backward are the raw kernels (CPU and CUDA keys);
// the unsuffixed ops carry autograd and are what Python calls.
#include <Python.h>
#include <torch/csrc/autograd/autograd_not_implemented_fallback.h>
#include <torch/library.h>

TORCH_LIBRARY(graphcl, m) {
  // CSR sparse-dense product. rowptr/col describe the rows that receive
  // messages; colptr/csc_row/csc_perm are the cached transpose used by the
  // backward pass (csc_perm[k] = CSR position of the k-th CSC edge).
  m.def(
      "spmm(Tensor rowptr, Tensor col, Tensor? weight, Tensor colptr, "
      "Tensor csc_row, Tensor csc_perm, Tensor x, str reduce) -> Tensor");
  // spmm_forward's second output is max/min's arg (CSR position of the
  // selected edge, num_edges for an empty row): int32 on CPU while the edges
  // fit, int64 otherwise and on CUDA; [0, F] for sum/mean or with_arg=False.
  m.def(
      "spmm_forward(Tensor rowptr, Tensor? col, Tensor? weight, Tensor x, "
      "str reduce, bool with_arg=True) -> (Tensor, Tensor)");
  m.def(
      "spmm_arg_backward(Tensor colptr, Tensor csc_row, Tensor csc_perm, "
      "Tensor? weight, Tensor arg, Tensor grad_out) -> Tensor");

  // Per-edge dot products out[e] = <a[row(e)], b[col(e)]>.
  m.def(
      "sddmm(Tensor rowptr, Tensor col, Tensor colptr, Tensor csc_row, "
      "Tensor csc_perm, Tensor a, Tensor b) -> Tensor");
  m.def("sddmm_forward(Tensor rowptr, Tensor col, Tensor a, Tensor b) -> Tensor");

  // Softmax over the edges of each CSR row, per head: scores [E, H].
  m.def("segment_softmax(Tensor rowptr, Tensor scores) -> Tensor");
  m.def("segment_softmax_forward(Tensor rowptr, Tensor scores) -> Tensor");
  m.def(
      "segment_softmax_backward(Tensor rowptr, Tensor out, Tensor grad) -> "
      "Tensor");

  // Segment reductions: over CSR segments of src's rows, and COO scatter.
  m.def("segment_csr(Tensor src, Tensor rowptr, str reduce) -> Tensor");
  m.def(
      "scatter_coo(Tensor src, Tensor index, int dim_size, str reduce) -> "
      "Tensor");
  m.def(
      "scatter_coo_forward(Tensor src, Tensor index, int dim_size, "
      "str reduce) -> (Tensor, Tensor)");
}

// The raw kernels are not differentiable: a backward through one of them
// (only reachable by calling torch.ops.graphcl.*_forward/_backward directly
// on tensors that require grad) raises "the derivative for ... is not
// implemented" instead of silently giving no gradient.
TORCH_LIBRARY_IMPL(graphcl, Autograd, m) {
  for (const char* name : {"spmm_forward", "spmm_arg_backward", "sddmm_forward",
                           "segment_softmax_forward", "segment_softmax_backward",
                           "scatter_coo_forward"})
    m.impl(name, torch::autograd::autogradNotImplementedFallback());
}

// Importing graphcl._C loads this shared object, which runs the static
// registrations above; the module itself exposes nothing.
static struct PyModuleDef graphcl_module = {PyModuleDef_HEAD_INIT, "_C",
                                            nullptr, -1, nullptr};
PyMODINIT_FUNC PyInit__C(void) { return PyModule_Create(&graphcl_module); }
