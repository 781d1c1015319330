// Neighbours, analogies, PCA and exact t-SNE of embedding rows.
#include "transformer/analysis/embedding_map.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qkv {

namespace {

torch::Tensor unit_rows(const torch::Tensor& vectors) {
  auto x = vectors.detach().to(torch::kCPU, torch::kFloat64);
  return x / x.norm(2, 1, true).clamp_min(1e-12);
}

// Conditional Gaussian affinities p(j|i) (N, N) with each row's precision found by bisection so
// that the row's entropy is log(perplexity), then symmetrised: (P + P^T) / 2N.
torch::Tensor joint_affinities(const torch::Tensor& unit, double perplexity) {
  const int64_t n = unit.size(0);
  const double target = std::log(std::min(perplexity, std::max(1.0, double(n - 1) / 3.0)));
  auto d = (2.0 - 2.0 * unit.matmul(unit.t())).clamp_min(0.0);  // squared distances of unit rows
  auto off = 1.0 - torch::eye(n, torch::kFloat64);
  d = d - (d + (1.0 - off) * 1e9).amin(1, true);  // shift by each row's nearest: exp() stays finite
  auto beta = torch::ones({n, 1}, torch::kFloat64);
  auto lo = torch::zeros({n, 1}, torch::kFloat64);
  auto hi = torch::full({n, 1}, std::numeric_limits<double>::infinity(), torch::kFloat64);
  torch::Tensor p;
  for (int step = 0; step < 100; ++step) {
    p = torch::exp(-d * beta) * off;
    const auto sum = p.sum(1, true).clamp_min(1e-300);
    const auto entropy = torch::log(sum) + beta * (d * p).sum(1, true) / sum;
    const auto too_flat = entropy > target;  // precision too low
    lo = torch::where(too_flat, beta, lo);
    hi = torch::where(too_flat, hi, beta);
    beta = torch::where(torch::isinf(hi), beta * 2.0, (lo + hi) / 2.0);
  }
  p = p / p.sum(1, true).clamp_min(1e-300);
  return ((p + p.t()) / (2.0 * double(n))).clamp_min(1e-12);
}

// Student-t kernel of the map: the numerators 1 / (1 + |y_i - y_j|^2) with a zero diagonal.
torch::Tensor student_kernel(const torch::Tensor& y) {
  const auto sq = (y.unsqueeze(1) - y.unsqueeze(0)).pow(2).sum(-1);
  return (1.0 / (1.0 + sq)) * (1.0 - torch::eye(y.size(0), torch::kFloat64));
}

}  // namespace

std::vector<Neighbour> nearest_rows(const torch::Tensor& vectors, const torch::Tensor& query, int64_t k,
                                    const std::vector<int64_t>& exclude) {
  torch::NoGradGuard no_grad;
  const auto unit = unit_rows(vectors);
  auto q = query.detach().to(torch::kCPU, torch::kFloat64).reshape({-1});
  q = q / q.norm().clamp_min(1e-12);
  auto sims = unit.matmul(q);
  for (const int64_t row : exclude)
    if (row >= 0 && row < sims.size(0)) sims[row] = -std::numeric_limits<double>::infinity();
  const int64_t available = sims.size(0) - int64_t(exclude.size());
  const auto top = sims.topk(std::max<int64_t>(0, std::min(k, available)));
  std::vector<Neighbour> out;
  for (int64_t i = 0; i < std::get<1>(top).size(0); ++i)
    out.push_back({std::get<1>(top)[i].item<int64_t>(), std::get<0>(top)[i].item<double>()});
  return out;
}

std::vector<Neighbour> analogy(const torch::Tensor& vectors, int64_t a, int64_t b, int64_t c, int64_t k) {
  torch::NoGradGuard no_grad;
  const auto unit = unit_rows(vectors);
  return nearest_rows(unit, unit[b] - unit[a] + unit[c], k, {a, b, c});
}

Map2d pca_2d(const torch::Tensor& vectors) {
  torch::NoGradGuard no_grad;
  auto x = vectors.detach().to(torch::kCPU, torch::kFloat64);
  x = x - x.mean(0, true);
  const auto svd = torch::linalg_svd(x, false);
  auto axes = std::get<2>(svd).slice(0, 0, 2).clone();  // (2, C)
  for (int64_t i = 0; i < axes.size(0); ++i) {
    const auto largest = axes[i].abs().argmax().item<int64_t>();
    if (axes[i][largest].item<double>() < 0) axes[i].neg_();
  }
  Map2d map;
  map.points = x.matmul(axes.t());
  if (map.points.size(1) < 2) map.points = torch::cat({map.points, torch::zeros({x.size(0), 2 - map.points.size(1)}, torch::kFloat64)}, 1);
  const auto variance = std::get<1>(svd).pow(2);
  const double total = variance.sum().item<double>();
  for (int64_t i = 0; i < std::min<int64_t>(2, variance.size(0)); ++i)
    map.explained.push_back(total > 0 ? variance[i].item<double>() / total : 0.0);
  return map;
}

Map2d tsne_2d(const torch::Tensor& vectors, const TsneOptions& o) {
  torch::NoGradGuard no_grad;
  const auto unit = unit_rows(vectors);
  const int64_t n = unit.size(0);
  Map2d map;
  if (n < 3) {
    map.points = torch::zeros({n, 2}, torch::kFloat64);
    return map;
  }
  const auto p = joint_affinities(unit, o.perplexity);
  auto y = pca_2d(unit).points;
  y = y / y.select(1, 0).std().clamp_min(1e-12) * 1e-4;
  auto update = torch::zeros_like(y), gains = torch::ones_like(y);
  const double lr = o.learning_rate > 0 ? o.learning_rate : std::max(double(n) / o.exaggeration, 50.0);
  const int64_t early = std::min<int64_t>(250, o.iterations / 4);
  for (int64_t it = 0; it < o.iterations; ++it) {
    const double exaggeration = it < early ? o.exaggeration : 1.0;
    const double momentum = it < early ? 0.5 : 0.8;
    const auto num = student_kernel(y);
    const auto q = (num / num.sum()).clamp_min(1e-12);
    const auto pq = (exaggeration * p - q) * num;                         // (N, N)
    const auto grad = 4.0 * (pq.sum(1, true) * y - pq.matmul(y));        // (N, 2)
    const auto same_sign = (grad > 0) == (update > 0);
    gains = torch::where(same_sign, gains * 0.8, gains + 0.2).clamp_min(0.01);
    update = momentum * update - lr * gains * grad;
    y = y + update;
    y = y - y.mean(0, true);
  }
  map.points = y;
  return map;
}

double tsne_kl(const torch::Tensor& vectors, const torch::Tensor& points, double perplexity) {
  torch::NoGradGuard no_grad;
  const auto p = joint_affinities(unit_rows(vectors), perplexity);
  const auto num = student_kernel(points.to(torch::kFloat64));
  const auto q = (num / num.sum()).clamp_min(1e-12);
  return (p * torch::log(p / q)).sum().item<double>();
}

}  // namespace qkv
