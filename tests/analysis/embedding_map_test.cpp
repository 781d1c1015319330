// Embedding maps: neighbours and analogies on vectors built to hold them, PCA against a plane the
// points lie in, t-SNE keeping separated clusters apart and lowering its own objective.
#include <catch2/catch.hpp>

#include <set>

#include "transformer/analysis/embedding_map.h"

using namespace qkv;

TEST_CASE("embedding map: nearest rows by cosine, excluding the asked rows", "[analysis]") {
  auto v = torch::tensor({{1.0, 0.0}, {0.9, 0.1}, {0.0, 1.0}, {-1.0, 0.0}, {10.0, 0.5}});
  const auto near = nearest_rows(v, v[0], 3, {0});
  REQUIRE(near.size() == 3);
  CHECK(near[0].index == 4);  // cosine ignores length: (10, 0.5) is nearer in angle than (0.9, 0.1)
  CHECK(near[1].index == 1);
  CHECK(near[2].index == 2);
  CHECK(near[0].cosine == Approx(10.0 / std::sqrt(100.25)));
  CHECK(nearest_rows(v, v[0], 10, {0, 1}).size() == 3);  // no more than there are
}

TEST_CASE("embedding map: 3CosAdd answers an analogy planted in the vectors", "[analysis]") {
  // king = royal + male, queen = royal + female, man = male, woman = female, plus distractors.
  torch::manual_seed(3);
  const auto royal = torch::randn({16}), male = torch::randn({16}), female = torch::randn({16});
  auto rows = torch::stack({royal + male, royal + female, male, female, torch::randn({16}), torch::randn({16}), royal});
  const auto answer = analogy(rows, /*man*/ 2, /*king*/ 0, /*woman*/ 3, 2);
  REQUIRE(!answer.empty());
  CHECK(answer[0].index == 1);  // queen
  for (const auto& a : answer) CHECK((a.index != 0 && a.index != 2 && a.index != 3));
}

TEST_CASE("embedding map: PCA finds the plane the points lie in", "[analysis]") {
  torch::manual_seed(5);
  const auto basis = std::get<0>(torch::linalg_qr(torch::randn({10, 2}, torch::kFloat64)));  // (10, 2) orthonormal
  const auto coords = torch::randn({50, 2}, torch::kFloat64) * torch::tensor({3.0, 1.0}, torch::kFloat64);
  const auto x = coords.matmul(basis.t()) + 7.0;  // in a plane, shifted off the origin
  const auto map = pca_2d(x);
  REQUIRE(map.points.sizes() == torch::IntArrayRef({50, 2}));
  CHECK(map.explained[0] + map.explained[1] == Approx(1.0).epsilon(1e-9));
  CHECK(map.explained[0] > map.explained[1]);
  // An isometry of the plane: every pairwise distance kept.
  const auto d_map = torch::cdist(map.points, map.points), d_x = torch::cdist(x, x);
  CHECK((d_map - d_x).abs().max().item<double>() < 1e-5);  // cdist's matmul form loses a few digits
  // Signs fixed by the largest loading: the rows in another order give the same points.
  const auto order = torch::randperm(50);
  CHECK(torch::allclose(pca_2d(x.index_select(0, order)).points, map.points.index_select(0, order), 1e-6, 1e-8));
}

TEST_CASE("embedding map: t-SNE keeps separated clusters apart and lowers its objective", "[analysis]") {
  torch::manual_seed(7);
  const int64_t per = 30, clusters = 4, dim = 20;
  std::vector<torch::Tensor> parts;
  for (int64_t c = 0; c < clusters; ++c) parts.push_back(torch::randn({dim}, torch::kFloat64) * 4 + torch::randn({per, dim}, torch::kFloat64));
  const auto x = torch::cat(parts);
  TsneOptions o;
  o.perplexity = 10;
  o.iterations = 500;
  const auto map = tsne_2d(x, o);
  REQUIRE(map.points.sizes() == torch::IntArrayRef({per * clusters, 2}));
  REQUIRE(torch::isfinite(map.points).all().item<bool>());
  // Each point's nearest neighbour on the map lies in its own cluster.
  auto d = torch::cdist(map.points, map.points) + torch::eye(per * clusters, torch::kFloat64) * 1e9;
  const auto nn = d.argmin(1);
  int64_t same = 0;
  for (int64_t i = 0; i < per * clusters; ++i) same += nn[i].item<int64_t>() / per == i / per;
  CHECK(same == per * clusters);
  // The optimisation did its job: far below the divergence of its (tiny) PCA start and of a random map.
  const auto start = pca_2d(x).points * 1e-4;
  CHECK(tsne_kl(x, map.points, o.perplexity) < 0.5 * tsne_kl(x, start, o.perplexity));
  CHECK(tsne_kl(x, map.points, o.perplexity) < 0.5 * tsne_kl(x, torch::randn({per * clusters, 2}, torch::kFloat64), o.perplexity));
  // Deterministic: the same rows give the same map.
  CHECK(torch::allclose(tsne_2d(x, o).points, map.points));
}
