// Device helpers shared by the graphcl CUDA kernels: per-dtype load/convert/
// store traits, 16-byte vector access, shuffles, the heavy-segment collection
// used for load balancing, and host-side dispatch. Plain CUDA only (no torch
// header), see launch_types.h for why.
//
// Written to compile under torch's default nvcc flags, which include
// __CUDA_NO_HALF_OPERATORS__ / __CUDA_NO_HALF_CONVERSIONS__ /
// __CUDA_NO_BFLOAT16_CONVERSIONS__: every half/bfloat16 conversion below goes
// through an explicit intrinsic or through the raw bits.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "launch_types.h"

namespace graphcl {
namespace cuda {
namespace detail {

constexpr int kWarpSize = 32;
constexpr unsigned kFullMask = 0xffffffffu;
// Every kernel uses 256-thread blocks: the heavy-segment path of a block
// splits one segment over all 8 warps, and the shared buffers are sized for it.
constexpr int kBlockThreads = 256;
constexpr int kBlockWarps = kBlockThreads / kWarpSize;
// Asking ptxas for two resident blocks caps registers at 128: left alone it
// picks 64-80 for some instantiations and spills inside the gather loop.
constexpr int kMinBlocksPerSM = 2;
// Edges (or edge slots) handled per step of the software-pipelined gather
// loops: enough independent loads in flight per warp to hide DRAM latency
// without spilling the vector registers of the wide feature tiles.
constexpr int kUnroll = 4;
// A segment (row/column) is routed to the whole-block path when one group
// would need more than this many sequential edge steps for it.
constexpr int64_t kHeavyStepsPerSlot = 128;
// Grid-stride loops make any cap correct; this one only bounds gridDim.x.
constexpr int64_t kMaxBlocks = int64_t(1) << 30;

// ---------------------------------------------------------------------------
// Scalar traits: accumulate type and single-element load/convert/store.
// ---------------------------------------------------------------------------
template <typename T>
struct ScalarTraits;

template <>
struct ScalarTraits<float> {
  using acc_t = float;
  static constexpr int kVec = 4;  // elements in one 16-byte access
  __device__ __forceinline__ static float load(const float* p) { return __ldg(p); }
  __device__ __forceinline__ static float to_acc(float v) { return v; }
  __device__ __forceinline__ static float from_acc(float v) { return v; }
};

template <>
struct ScalarTraits<double> {
  using acc_t = double;
  static constexpr int kVec = 2;
  __device__ __forceinline__ static double load(const double* p) { return __ldg(p); }
  __device__ __forceinline__ static double to_acc(double v) { return v; }
  __device__ __forceinline__ static double from_acc(double v) { return v; }
};

template <>
struct ScalarTraits<__half> {
  using acc_t = float;
  static constexpr int kVec = 8;
  __device__ __forceinline__ static __half load(const __half* p) {
    return __ushort_as_half(__ldg(reinterpret_cast<const unsigned short*>(p)));
  }
  __device__ __forceinline__ static float to_acc(__half v) { return __half2float(v); }
  __device__ __forceinline__ static __half from_acc(float v) { return __float2half_rn(v); }
};

template <>
struct ScalarTraits<__nv_bfloat16> {
  using acc_t = float;
  static constexpr int kVec = 8;
  __device__ __forceinline__ static __nv_bfloat16 load(const __nv_bfloat16* p) {
    return __ushort_as_bfloat16(__ldg(reinterpret_cast<const unsigned short*>(p)));
  }
  __device__ __forceinline__ static float to_acc(__nv_bfloat16 v) { return __bfloat162float(v); }
  __device__ __forceinline__ static __nv_bfloat16 from_acc(float v) { return __float2bfloat16_rn(v); }
};

template <typename T>
using acc_type = typename ScalarTraits<T>::acc_t;

template <typename T>
__device__ __forceinline__ acc_type<T> load_acc(const T* p) {
  return ScalarTraits<T>::to_acc(ScalarTraits<T>::load(p));
}

template <typename T>
__device__ __forceinline__ void store_acc(T* p, acc_type<T> v) {
  *p = ScalarTraits<T>::from_acc(v);
}

template <typename T>
__device__ __forceinline__ T pos_inf();
template <>
__device__ __forceinline__ float pos_inf<float>() { return __int_as_float(0x7f800000); }
template <>
__device__ __forceinline__ double pos_inf<double>() { return __longlong_as_double(0x7ff0000000000000LL); }

__device__ __forceinline__ float exp_acc(float v) { return expf(v); }
__device__ __forceinline__ double exp_acc(double v) { return exp(v); }

// ---------------------------------------------------------------------------
// VEC consecutive elements: one 16-byte access when VEC == kVec (the caller
// guarantees 16-byte alignment), a scalar access when VEC == 1. `raw_t` keeps
// the loaded bits so that several loads can be issued before any conversion.
// ---------------------------------------------------------------------------
template <typename T, int VEC>
struct VecIO;

template <typename T>
struct VecIO<T, 1> {
  using acc_t = acc_type<T>;
  using raw_t = T;
  __device__ __forceinline__ static raw_t load(const T* p) { return ScalarTraits<T>::load(p); }
  __device__ __forceinline__ static raw_t zero() { return ScalarTraits<T>::from_acc(acc_t(0)); }
  __device__ __forceinline__ static void unpack(const raw_t& r, acc_t (&o)[1]) {
    o[0] = ScalarTraits<T>::to_acc(r);
  }
  __device__ __forceinline__ static void store(T* p, const acc_t (&o)[1]) {
    *p = ScalarTraits<T>::from_acc(o[0]);
  }
};

template <>
struct VecIO<float, 4> {
  using raw_t = float4;
  __device__ __forceinline__ static raw_t load(const float* p) {
    return __ldg(reinterpret_cast<const float4*>(p));
  }
  __device__ __forceinline__ static raw_t zero() { return make_float4(0.f, 0.f, 0.f, 0.f); }
  __device__ __forceinline__ static void unpack(const raw_t& r, float (&o)[4]) {
    o[0] = r.x; o[1] = r.y; o[2] = r.z; o[3] = r.w;
  }
  __device__ __forceinline__ static void store(float* p, const float (&o)[4]) {
    *reinterpret_cast<float4*>(p) = make_float4(o[0], o[1], o[2], o[3]);
  }
};

template <>
struct VecIO<double, 2> {
  using raw_t = double2;
  __device__ __forceinline__ static raw_t load(const double* p) {
    return __ldg(reinterpret_cast<const double2*>(p));
  }
  __device__ __forceinline__ static raw_t zero() { return make_double2(0.0, 0.0); }
  __device__ __forceinline__ static void unpack(const raw_t& r, double (&o)[2]) {
    o[0] = r.x; o[1] = r.y;
  }
  __device__ __forceinline__ static void store(double* p, const double (&o)[2]) {
    *reinterpret_cast<double2*>(p) = make_double2(o[0], o[1]);
  }
};

// 8 x 16-bit values travel as a uint4; each 32-bit word holds element 2k in
// its low half and 2k+1 in its high half (little-endian memory order).
__device__ __forceinline__ void bf16x2_to_float(unsigned w, float& lo, float& hi) {
  // bfloat16 is the upper half of a float32: widening is a shift.
  lo = __uint_as_float(w << 16);
  hi = __uint_as_float(w & 0xffff0000u);
}
__device__ __forceinline__ unsigned float_to_bf16x2(float lo, float hi) {
  return static_cast<unsigned>(__bfloat16_as_ushort(__float2bfloat16_rn(lo))) |
         (static_cast<unsigned>(__bfloat16_as_ushort(__float2bfloat16_rn(hi))) << 16);
}
__device__ __forceinline__ void halfx2_to_float(unsigned w, float& lo, float& hi) {
  lo = __half2float(__ushort_as_half(static_cast<unsigned short>(w & 0xffffu)));
  hi = __half2float(__ushort_as_half(static_cast<unsigned short>(w >> 16)));
}
__device__ __forceinline__ unsigned float_to_halfx2(float lo, float hi) {
  return static_cast<unsigned>(__half_as_ushort(__float2half_rn(lo))) |
         (static_cast<unsigned>(__half_as_ushort(__float2half_rn(hi))) << 16);
}

// kBf16 picks the bfloat16 or the half conversions of the 32-bit words.
template <typename T, bool kBf16>
struct VecIO16x8 {
  using raw_t = uint4;
  __device__ __forceinline__ static void unpack2(unsigned w, float& lo, float& hi) {
    if constexpr (kBf16) bf16x2_to_float(w, lo, hi); else halfx2_to_float(w, lo, hi);
  }
  __device__ __forceinline__ static unsigned pack2(float lo, float hi) {
    if constexpr (kBf16) return float_to_bf16x2(lo, hi); else return float_to_halfx2(lo, hi);
  }
  __device__ __forceinline__ static raw_t load(const T* p) {
    return __ldg(reinterpret_cast<const uint4*>(p));
  }
  __device__ __forceinline__ static raw_t zero() { return make_uint4(0u, 0u, 0u, 0u); }
  __device__ __forceinline__ static void unpack(const raw_t& r, float (&o)[8]) {
    unpack2(r.x, o[0], o[1]);
    unpack2(r.y, o[2], o[3]);
    unpack2(r.z, o[4], o[5]);
    unpack2(r.w, o[6], o[7]);
  }
  __device__ __forceinline__ static void store(T* p, const float (&o)[8]) {
    *reinterpret_cast<uint4*>(p) =
        make_uint4(pack2(o[0], o[1]), pack2(o[2], o[3]), pack2(o[4], o[5]), pack2(o[6], o[7]));
  }
};

template <>
struct VecIO<__half, 8> : VecIO16x8<__half, false> {};
template <>
struct VecIO<__nv_bfloat16, 8> : VecIO16x8<__nv_bfloat16, true> {};

// VEC int64 values (arg indices): 16-byte accesses when VEC is even (the
// caller guarantees 16-byte alignment then), scalar ones otherwise.
template <int VEC>
__device__ __forceinline__ void load_i64(const int64_t* p, int64_t (&o)[VEC]) {
  if constexpr (VEC % 2 == 0) {
#pragma unroll
    for (int t = 0; t < VEC; t += 2) {
      const longlong2 v = __ldg(reinterpret_cast<const longlong2*>(p + t));
      o[t] = v.x;
      o[t + 1] = v.y;
    }
  } else {
#pragma unroll
    for (int t = 0; t < VEC; ++t) o[t] = __ldg(reinterpret_cast<const long long*>(p + t));
  }
}

template <int VEC>
__device__ __forceinline__ void store_i64(int64_t* p, const int64_t (&v)[VEC]) {
  if constexpr (VEC % 2 == 0) {
#pragma unroll
    for (int t = 0; t < VEC; t += 2)
      *reinterpret_cast<longlong2*>(p + t) = make_longlong2(v[t], v[t + 1]);
  } else {
#pragma unroll
    for (int t = 0; t < VEC; ++t) p[t] = v[t];
  }
}

// ---------------------------------------------------------------------------
// Index loads and shuffles.
// ---------------------------------------------------------------------------
__device__ __forceinline__ int64_t load_index(const int32_t* p) { return __ldg(p); }
__device__ __forceinline__ int64_t load_index(const int64_t* p) {
  return __ldg(reinterpret_cast<const long long*>(p));
}

__device__ __forceinline__ int32_t shfl(unsigned mask, int32_t v, int src) {
  return __shfl_sync(mask, v, src);
}
__device__ __forceinline__ int64_t shfl(unsigned mask, int64_t v, int src) {
  return __shfl_sync(mask, static_cast<long long>(v), src);
}
__device__ __forceinline__ float shfl(unsigned mask, float v, int src) {
  return __shfl_sync(mask, v, src);
}
__device__ __forceinline__ double shfl(unsigned mask, double v, int src) {
  return __shfl_sync(mask, v, src);
}
__device__ __forceinline__ int32_t shfl_xor(unsigned mask, int32_t v, int lane_mask) {
  return __shfl_xor_sync(mask, v, lane_mask);
}
__device__ __forceinline__ int64_t shfl_xor(unsigned mask, int64_t v, int lane_mask) {
  return __shfl_xor_sync(mask, static_cast<long long>(v), lane_mask);
}
__device__ __forceinline__ float shfl_xor(unsigned mask, float v, int lane_mask) {
  return __shfl_xor_sync(mask, v, lane_mask);
}
__device__ __forceinline__ double shfl_xor(unsigned mask, double v, int lane_mask) {
  return __shfl_xor_sync(mask, v, lane_mask);
}

// Lanes of the aligned group of `group` (a power of two <= 32) lanes that
// contains `lane`. Shuffles inside a group name only its lanes, so groups of
// one warp may run different trip counts without deadlocking each other.
__device__ __forceinline__ unsigned group_mask(int group, int lane) {
  return group >= kWarpSize ? kFullMask : (((1u << group) - 1u) << (lane & ~(group - 1)));
}

// ---------------------------------------------------------------------------
// Load balancing: every kernel gives one "group" of lanes to each segment
// (CSR row, CSC column) and hands the rare very long segments to the whole
// block instead, so one hub does not serialise on a single warp. This
// collects, in a fixed order, the block's segments flagged heavy (`flag` must
// be set by at most one thread per segment, `id` identifies the segment).
// Must be reached by every thread of the block. Returns how many were
// collected into s_list. Calling it again is safe right after reading s_list:
// its leading barrier keeps every earlier read before any new write.
// ---------------------------------------------------------------------------
__device__ __forceinline__ int collect_heavy(bool flag, int id, int* s_count, int* s_list) {
  if (!__syncthreads_or(flag)) return 0;
  const int lane = threadIdx.x & (kWarpSize - 1), warp = threadIdx.x / kWarpSize;
  const unsigned ballot = __ballot_sync(kFullMask, flag);
  if (lane == 0) s_count[warp] = __popc(ballot);
  __syncthreads();
  int offset = 0, total = 0;
#pragma unroll
  for (int w = 0; w < kBlockWarps; ++w) {
    offset += w < warp ? s_count[w] : 0;
    total += s_count[w];
  }
  if (flag) s_list[offset + __popc(ballot & ((1u << lane) - 1u))] = id;
  __syncthreads();
  return total;
}

// ---------------------------------------------------------------------------
// Host side.
// ---------------------------------------------------------------------------
template <typename T>
struct Tag {
  using type = T;
};

template <class Fn>
int dispatch_scalar(ScalarKind kind, Fn&& fn) {
  switch (kind) {
    case ScalarKind::Float32: return fn(Tag<float>{});
    case ScalarKind::Float64: return fn(Tag<double>{});
    case ScalarKind::Float16: return fn(Tag<__half>{});
    case ScalarKind::BFloat16: return fn(Tag<__nv_bfloat16>{});
  }
  return static_cast<int>(cudaErrorInvalidValue);
}

template <class Fn>
int dispatch_index(bool index64, Fn&& fn) {
  return index64 ? fn(Tag<int64_t>{}) : fn(Tag<int32_t>{});
}

inline int ceil_log2(int64_t n) {
  int l = 0;
  while ((int64_t(1) << l) < n) ++l;
  return l;
}

// floor(log2(n)) for n >= 1, 0 otherwise.
inline int floor_log2(int64_t n) {
  int l = 0;
  while (l < 62 && (int64_t(2) << l) <= n) ++l;
  return l;
}

inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

struct Layout {
  bool vectorized;
  int64_t nvec;  // vectors (of VEC elements) per row
  int nv;        // vectors per lane per tile: 1 or 2
  int fl_log2;   // feature lanes per edge slot
  int es_log2;   // edge slots per group on the light path
};

// Wide rows: a full warp of feature lanes, two vectors each (F = 256 fp32 in
// one pass). Narrow rows: just enough feature lanes, and about as many edge
// slots as a typical segment has edges, so short rows do not idle lanes.
inline Layout choose_layout(bool vectorized, int vec_width, int64_t F, int64_t typical_degree) {
  Layout l;
  l.vectorized = vectorized;
  l.nvec = vectorized ? F / vec_width : F;
  if (l.nvec > kWarpSize) {
    l.nv = 2;
    l.fl_log2 = 5;
    l.es_log2 = 0;
  } else {
    l.nv = 1;
    l.fl_log2 = ceil_log2(l.nvec);
    l.es_log2 = clamp_int(floor_log2(typical_degree), 0, 5 - l.fl_log2);
  }
  return l;
}

inline unsigned grid_for(int64_t work_items, int64_t items_per_block) {
  int64_t blocks = (work_items + items_per_block - 1) / items_per_block;
  if (blocks < 1) blocks = 1;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  return static_cast<unsigned>(blocks);
}

}  // namespace detail
}  // namespace cuda
}  // namespace graphcl
