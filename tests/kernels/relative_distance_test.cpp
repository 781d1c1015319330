// Shaw et al.'s row kernels (spread and collect by clipped distance) against LibTorch's gather and
// scatter by a distance index.
#include <catch2/catch.hpp>

#include <tuple>

#include "transformer/kernels/relative_distance.h"

using namespace qkv;

TEST_CASE("Shaw's row kernels equal a gather and a scatter by distance index, values and gradients", "[kernels]") {
  // (clip, queries, first query position, keys): square grids, a cached decoding step, a block of
  // queries after the cache, more keys than queries, no window, a window wider than the grid.
  const auto [clip, q_len, q_offset, k_len] =
      GENERATE(std::make_tuple(2, 5, 0, 5), std::make_tuple(3, 1, 8, 9), std::make_tuple(4, 3, 6, 9),
               std::make_tuple(2, 4, 0, 9), std::make_tuple(0, 5, 0, 5), std::make_tuple(20, 4, 0, 4));
  CAPTURE(clip, q_len, q_offset, k_len);
  const int64_t buckets = 2 * clip + 1, shift = -q_offset;  // keys start at position 0
  auto i = torch::arange(q_offset, q_offset + q_len).unsqueeze(1);
  auto j = torch::arange(k_len).unsqueeze(0);
  auto index = ((j - i).clamp(-clip, clip) + clip).expand({2, 3, q_len, k_len});
  torch::manual_seed(7);
  auto per_distance = torch::randn({2, 3, q_len, buckets}, torch::kFloat64).requires_grad_(true);
  auto per_pair = torch::randn({2, 3, q_len, k_len}, torch::kFloat64).requires_grad_(true);
  auto up_pair = torch::randn({2, 3, q_len, k_len}, torch::kFloat64);
  auto up_distance = torch::randn({2, 3, q_len, buckets}, torch::kFloat64);

  auto spread = spread_by_distance(per_distance, k_len, shift, clip);
  auto gathered = per_distance.gather(-1, index);
  CHECK(torch::allclose(spread, gathered));
  auto g_kernel = torch::autograd::grad({(spread * up_pair).sum()}, {per_distance})[0];
  auto g_gather = torch::autograd::grad({(gathered * up_pair).sum()}, {per_distance})[0];
  CHECK(torch::allclose(g_kernel, g_gather));

  auto collected = collect_by_distance(per_pair, shift, clip);
  auto scattered = torch::zeros({2, 3, q_len, buckets}, torch::kFloat64).scatter_add(-1, index, per_pair);
  CHECK(torch::allclose(collected, scattered));
  auto c_kernel = torch::autograd::grad({(collected * up_distance).sum()}, {per_pair})[0];
  auto c_scatter = torch::autograd::grad({(scattered * up_distance).sum()}, {per_pair})[0];
  CHECK(torch::allclose(c_kernel, c_scatter));

  // bf16, as under autocast: sums accumulate in float32, so they match the float64 ones to bf16 rounding.
  auto collected16 = collect_by_distance(per_pair.detach().to(torch::kBFloat16), shift, clip).to(torch::kFloat64);
  CHECK(torch::allclose(collected16, scattered.detach(), 1e-2, 1e-2));
}
