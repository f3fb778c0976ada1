// CUDA kernels of segment_softmax: a numerically stable softmax over the edges
// of each CSR row, per head, and its backward.
//
// A group of lanes owns a row: hl head lanes (a power of two covering
// min(H, 32) heads; wider H loops over head tiles) times es edge slots. Lane
// (slot s, head h) walks edges s, s + es, ... of the row, so for H <= 32 the
// lanes of one step read a contiguous piece of the [E, H] array. Row-wide
// values (max, sum of exponentials, sum of out * grad) are combined over the
// slots with xor shuffles; rows with very many edges use the whole block and
// a fixed-order shared-memory combine. Deterministic, no atomics.
#include "cuda_utils.cuh"
#include "segment_softmax_cuda.h"

namespace graphcl {
namespace cuda {
namespace {

using namespace detail;

struct MaxOp {
  // NaN propagates (as in the CPU kernel and torch.softmax): once either
  // side is NaN the result is NaN, whatever order the slots combine in.
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return (b > a || b != b) ? b : a; }
};
struct SumOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

// Combines v over every slot of the row that holds the same head lane. On the
// block path (kBlock) warps are folded in warp order through s_red, so every
// thread gets the identical value.
template <bool kBlock, typename acc_t, class Op>
__device__ __forceinline__ acc_t reduce_slots(acc_t v, Op op, int hl, int group, unsigned mask,
                                              acc_t (*s_red)[kWarpSize]) {
  for (int off = hl; off < group; off <<= 1) v = op(v, shfl_xor(mask, v, off));
  if constexpr (kBlock) {
    const int lane = threadIdx.x & (kWarpSize - 1), warp = threadIdx.x / kWarpSize;
    if (lane < hl) s_red[warp][lane] = v;
    __syncthreads();
    const int g = lane & (hl - 1);
    v = s_red[0][g];
#pragma unroll
    for (int w = 1; w < kBlockWarps; ++w) v = op(v, s_red[w][g]);
    // s_red is reused by the next reduction.
    __syncthreads();
  }
  return v;
}

// One row [eb, ee). This lane covers heads h0 + g of every head tile and the
// edges eb + slot0 + k * num_slots.
template <bool kBackward, bool kBlock, typename scalar_t>
__device__ __forceinline__ void softmax_row(const scalar_t* __restrict__ in0,
                                            const scalar_t* __restrict__ in1,
                                            scalar_t* __restrict__ res, int64_t eb, int64_t ee,
                                            int64_t H, int64_t slot0, int64_t num_slots, int g,
                                            int hl_log2, int group, unsigned mask,
                                            acc_type<scalar_t> (*s_red)[kWarpSize]) {
  using acc_t = acc_type<scalar_t>;
  const int hl = 1 << hl_log2;
  for (int64_t h0 = 0; h0 < H; h0 += hl) {
    const int64_t h = h0 + g;
    const bool active = h < H;
    if constexpr (!kBackward) {
      // in0 = scores, res = out.
      acc_t m = -pos_inf<acc_t>();
      if (active) {
#pragma unroll 4
        for (int64_t e = eb + slot0; e < ee; e += num_slots) m = MaxOp()(m, load_acc(in0 + e * H + h));
      }
      m = reduce_slots<kBlock>(m, MaxOp(), hl, group, mask, s_red);
      // Shift by m unconditionally, as torch.softmax does: a row with NaN,
      // with +inf (inf - inf) or with only -inf (-inf + inf) is NaN
      // throughout, like on the CPU.
      acc_t sum = acc_t(0);
      if (active) {
#pragma unroll 4
        for (int64_t e = eb + slot0; e < ee; e += num_slots) sum += exp_acc(load_acc(in0 + e * H + h) - m);
      }
      sum = reduce_slots<kBlock>(sum, SumOp(), hl, group, mask, s_red);
      if (active) {
#pragma unroll 4
        for (int64_t e = eb + slot0; e < ee; e += num_slots)
          store_acc(res + e * H + h, exp_acc(load_acc(in0 + e * H + h) - m) / sum);
      }
    } else {
      // in0 = out (y), in1 = grad, res = grad_in.
      acc_t dot = acc_t(0);
      if (active) {
#pragma unroll 4
        for (int64_t e = eb + slot0; e < ee; e += num_slots)
          dot += load_acc(in0 + e * H + h) * load_acc(in1 + e * H + h);
      }
      dot = reduce_slots<kBlock>(dot, SumOp(), hl, group, mask, s_red);
      if (active) {
#pragma unroll 4
        for (int64_t e = eb + slot0; e < ee; e += num_slots) {
          const int64_t i = e * H + h;
          store_acc(res + i, load_acc(in0 + i) * (load_acc(in1 + i) - dot));
        }
      }
    }
  }
}

template <bool kBackward, typename scalar_t, typename index_t>
__global__ void __launch_bounds__(kBlockThreads, kMinBlocksPerSM)
    segment_softmax_kernel(const index_t* __restrict__ rowptr, const scalar_t* __restrict__ in0,
                           const scalar_t* __restrict__ in1, scalar_t* __restrict__ res,
                           int64_t num_rows, int64_t H, int hl_log2, int es_log2,
                           int64_t heavy_threshold) {
  using acc_t = acc_type<scalar_t>;
  __shared__ acc_t s_red[kBlockWarps][kWarpSize];
  __shared__ int s_count[kBlockWarps];
  __shared__ int s_list[kBlockThreads];
  const int lane = threadIdx.x & (kWarpSize - 1);
  const int warp = threadIdx.x / kWarpSize;
  const int group_log2 = hl_log2 + es_log2;
  const int group = 1 << group_log2;
  const int lane_in_group = lane & (group - 1);
  const int group_in_block = threadIdx.x >> group_log2;
  const unsigned mask = group_mask(group, lane);
  const int g = lane_in_group & ((1 << hl_log2) - 1);
  const int64_t per_block = kBlockThreads >> group_log2;
  // Block path: whole warps, 32 / hl slots each, 8 warps side by side.
  const int block_es_log2 = 5 - hl_log2;

  for (int64_t first = blockIdx.x * per_block; first < num_rows;
       first += static_cast<int64_t>(gridDim.x) * per_block) {
    const int64_t row = first + group_in_block;
    bool heavy = false;
    if (row < num_rows) {
      const int64_t eb = load_index(rowptr + row), ee = load_index(rowptr + row + 1);
      heavy = ee - eb > heavy_threshold;
      if (!heavy)
        softmax_row<kBackward, false>(in0, in1, res, eb, ee, H, lane_in_group >> hl_log2,
                                      int64_t(1) << es_log2, g, hl_log2, group, mask, s_red);
    }
    const int num_heavy = collect_heavy(heavy && lane_in_group == 0, group_in_block, s_count, s_list);
    for (int h = 0; h < num_heavy; ++h) {
      const int64_t hrow = first + s_list[h];
      const int64_t eb = load_index(rowptr + hrow), ee = load_index(rowptr + hrow + 1);
      const int64_t slot0 = (int64_t(warp) << block_es_log2) + (lane >> hl_log2);
      softmax_row<kBackward, true>(in0, in1, res, eb, ee, H, slot0,
                                   int64_t(kBlockWarps) << block_es_log2, lane & ((1 << hl_log2) - 1),
                                   hl_log2, kWarpSize, kFullMask, s_red);
    }
  }
}

// The launchers do not receive the edge count, so the narrow-head layout
// assumes this many edges per row (it only affects speed).
constexpr int64_t kTypicalDegree = 8;

template <bool kBackward>
int launch(ScalarKind kind, bool index64, const void* rowptr, const void* in0, const void* in1,
           void* res, int64_t num_rows, int64_t H, void* stream) {
  if (num_rows <= 0 || H <= 0) return 0;
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  const int hl_log2 = ceil_log2(H < kWarpSize ? H : kWarpSize);
  const int es_log2 = clamp_int(floor_log2(kTypicalDegree), 0, 5 - hl_log2);
  const int64_t heavy_threshold = kHeavyStepsPerSlot << es_log2;
  const unsigned grid = grid_for(num_rows, kBlockThreads >> (hl_log2 + es_log2));
  return dispatch_scalar(kind, [&](auto stag) {
    using scalar_t = typename decltype(stag)::type;
    return dispatch_index(index64, [&](auto itag) {
      using index_t = typename decltype(itag)::type;
      segment_softmax_kernel<kBackward, scalar_t, index_t><<<grid, kBlockThreads, 0, st>>>(
          static_cast<const index_t*>(rowptr), static_cast<const scalar_t*>(in0),
          static_cast<const scalar_t*>(in1), static_cast<scalar_t*>(res), num_rows, H, hl_log2,
          es_log2, heavy_threshold);
      return static_cast<int>(cudaGetLastError());
    });
  });
}

}  // namespace

int segment_softmax_forward(ScalarKind kind, bool index64, const void* rowptr, const void* scores,
                            void* out, int64_t num_rows, int64_t num_heads, void* stream) {
  return launch<false>(kind, index64, rowptr, scores, nullptr, out, num_rows, num_heads, stream);
}

int segment_softmax_backward(ScalarKind kind, bool index64, const void* rowptr, const void* out,
                             const void* grad, void* grad_in, int64_t num_rows, int64_t num_heads,
                             void* stream) {
  return launch<true>(kind, index64, rowptr, out, grad, grad_in, num_rows, num_heads, stream);
}

}  // namespace cuda
}  // namespace graphcl
