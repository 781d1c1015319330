// The attention core against a naive loop implementation written here from the papers'
// definitions, for every position scheme that acts inside attention, with causal and padding masks;
// and the fused path against the reference path where LibTorch provides it.
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.h"
#include "transformer/core/attention.h"
#include "transformer/core/mask.h"

using namespace qkv;

namespace {

int64_t naive_t5_bucket(int64_t relative, bool bidirectional, int64_t buckets, int64_t max_distance) {
  int64_t n = -relative, base = 0;
  if (bidirectional) {
    buckets /= 2;
    if (n < 0) base = buckets;
    n = std::abs(n);
  } else {
    n = std::max<int64_t>(n, 0);
  }
  const int64_t exact = buckets / 2;
  if (n < exact) return base + n;
  const auto large = exact + int64_t(std::log(double(n) / exact) / std::log(double(max_distance) / exact) * (buckets - exact));
  return base + std::min(large, buckets - 1);
}

// Attention of x (B, T, C) computed with scalar loops in double precision.
torch::Tensor naive_attention(MultiHeadAttention& mha, PositionScheme& scheme, const torch::Tensor& x,
                              const torch::Tensor& keep, bool causal) {
  const auto& o = scheme->options();
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), H = o.heads, Dh = C / H;
  auto params = mha->named_parameters();
  auto w = params["qkv.weight"].to(torch::kFloat64), b = params["qkv.bias"].to(torch::kFloat64);
  auto proj = torch::matmul(x.to(torch::kFloat64), w.t()) + b;  // (B, T, 3C)
  auto P = proj.accessor<double, 3>();
  auto K = keep.accessor<bool, 2>();
  torch::Tensor shaw_k, shaw_v, t5;
  if (o.config.scheme == "shaw") {
    auto sp = scheme->named_parameters();
    shaw_k = sp["keys_0"].to(torch::kFloat64);
    shaw_v = sp["values_0"].to(torch::kFloat64);
  }
  if (o.config.scheme == "t5") t5 = scheme->named_parameters()["table.weight"].to(torch::kFloat64);
  auto sp = scheme->named_parameters();
  // kerple (Chi et al. 2022) and fire (Li et al. 2024) biases from their formulas, one pair at a time.
  auto kerple = [&](int64_t h, int64_t i, int64_t j) {
    const double r1 = sp["r1"][h].item<double>(), r2 = sp["r2"][h].item<double>(), d = double(std::abs(i - j));
    return o.integer("kernel") == 1 ? -r1 * std::pow(d, r2) : -r1 * std::log(1.0 + r2 * d);
  };
  auto fire = [&](int64_t h, int64_t i, int64_t j) {
    const double c = sp["c"].item<double>(), L = sp["threshold"].item<double>();
    auto psi = [&](double x) { return std::log(c * x + 1.0); };
    const double x = causal ? psi(double(i - j)) / psi(std::max(L, double(i)))
                            : (i > j ? 1.0 : i < j ? -1.0 : 0.0) * psi(double(std::abs(i - j))) /
                                  psi(std::max({L, double(i), double(j)}));
    double bias = sp["out.bias"][h].item<double>();
    for (int64_t u = 0; u < sp["hidden.bias"].size(0); ++u) {
      const double a = sp["hidden.weight"][u][0].item<double>() * x + sp["hidden.bias"][u].item<double>();
      bias += sp["out.weight"][h][u].item<double>() * std::max(0.0, a);
    }
    return bias;
  };
  const std::vector<double> slopes{1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256};  // Press et al. for 4 heads

  // RoPE, and xPos's scaled rotation: zeta_d^(+pos/gamma) on queries, ^(-pos/gamma) on keys.
  auto rotate = [&](std::vector<double> v, int64_t pos, bool key) {
    if (o.config.scheme != "rope" && o.config.scheme != "xpos") return v;
    const bool xpos = o.config.scheme == "xpos";
    const int64_t half = xpos ? Dh / 2 : int64_t(Dh * o.value("fraction")) / 2;
    for (int64_t d = 0; d < half; ++d) {
      const double angle = double(pos) * std::pow(o.value("base"), -2.0 * double(d) / double(2 * half));
      const double zeta = (2.0 * double(d) / double(2 * half) + 0.4) / 1.4;
      const double scale = xpos ? std::pow(zeta, (key ? -1.0 : 1.0) * double(pos) / o.value("xpos_gamma")) : 1.0;
      const double a = v[d], c = v[d + half];
      v[d] = (a * std::cos(angle) - c * std::sin(angle)) * scale;
      v[d + half] = (c * std::cos(angle) + a * std::sin(angle)) * scale;
    }
    return v;
  };

  auto heads_out = torch::zeros({B, T, C}, torch::kFloat64);
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> q(Dh);
        for (int64_t d = 0; d < Dh; ++d) q[d] = P[bi][i][h * Dh + d];
        q = rotate(q, i, false);
        std::vector<double> logits(T, -INFINITY);
        for (int64_t j = 0; j < T; ++j) {
          if ((causal && j > i) || !K[bi][j]) continue;
          std::vector<double> k(Dh);
          for (int64_t d = 0; d < Dh; ++d) k[d] = P[bi][j][C + h * Dh + d];
          k = rotate(k, j, true);
          const int64_t rel = std::clamp<int64_t>(j - i, -o.integer("clip"), o.integer("clip")) + o.integer("clip");
          double dot = 0;
          for (int64_t d = 0; d < Dh; ++d) {
            dot += q[d] * k[d];
            if (o.config.scheme == "shaw") dot += q[d] * shaw_k[rel][d].item<double>();
          }
          double logit = dot / std::sqrt(double(Dh));
          if (o.config.scheme == "t5") logit += t5[naive_t5_bucket(j - i, !causal, o.integer("buckets"), o.integer("max_distance"))][h].item<double>();
          if (o.config.scheme == "alibi") logit -= slopes[h] * double(std::abs(i - j));
          if (o.config.scheme == "kerple") logit += kerple(h, i, j);
          if (o.config.scheme == "fire") logit += fire(h, i, j);
          logits[j] = logit;
        }
        const double top = *std::max_element(logits.begin(), logits.end());
        double total = 0;
        for (auto& l : logits) total += (l = std::exp(l - top));
        for (int64_t j = 0; j < T; ++j) {
          const double p = logits[j] / total;
          if (p == 0) continue;
          const int64_t rel = std::clamp<int64_t>(j - i, -o.integer("clip"), o.integer("clip")) + o.integer("clip");
          for (int64_t d = 0; d < Dh; ++d) {
            double v = P[bi][j][2 * C + h * Dh + d];
            if (o.config.scheme == "shaw") v += shaw_v[rel][d].item<double>();
            heads_out[bi][i][h * Dh + d] += p * v;
          }
        }
      }
  auto wo = params["out.weight"].to(torch::kFloat64), bo = params["out.bias"].to(torch::kFloat64);
  return torch::matmul(heads_out, wo.t()) + bo;
}

}  // namespace

TEST_CASE("attention equals a naive implementation for every in-attention scheme", "[core]") {
  auto kind = GENERATE(as<std::string>{}, "none", "shaw", "t5", "rope", "alibi", "xpos", "kerple", "kerple-power", "fire");
  const bool causal = GENERATE(false, true);
  CAPTURE(kind, causal);
  torch::manual_seed(3);
  PositionOptions po;
  po.config.scheme = kind == "kerple-power" ? "kerple" : kind;
  if (kind == "kerple-power") po.config.set("kernel", 1);
  po.config.set("fire_threshold", 4);  // T = 9: positions below and above the threshold
  po.config.set("xpos_gamma", 4);      // a decay strong enough to matter over 9 positions
  po.d_model = 16;
  po.heads = 4;
  po.layers = 1;
  po.causal = causal;
  po.config.set("clip", kind == std::string("shaw") ? GENERATE(3, 12) : 3);  // T = 9: inside the window and wider than it
  po.config.set("buckets", 8);
  po.config.set("max_distance", 12);
  po.config.set("fraction", 0.5);
  CAPTURE(po.integer("clip"));
  auto scheme = make_position_scheme(po);
  if (kind == "t5" || kind == "fire") {
    torch::NoGradGuard g;
    for (auto& p : scheme->parameters()) p.normal_(0, 1);  // make the bias matter
    if (kind == "fire") scheme->named_parameters()["c"].fill_(0.7), scheme->named_parameters()["threshold"].fill_(4.0);
  }
  if (kind.rfind("kerple", 0) == 0) {
    torch::NoGradGuard g;
    for (auto& p : scheme->parameters()) p.uniform_(0.2, 1.5);  // positive, as the clamps keep them
  }
  AttentionOptions ao;
  ao.d_model = 16;
  ao.heads = 4;
  // Both implementations where LibTorch has the fused one (it passes shaw to the reference path).
  ao.backend = fused_attention_available() ? GENERATE(AttentionBackend::kReference, AttentionBackend::kFused)
                                           : AttentionBackend::kReference;
  CAPTURE(int(ao.backend));
  MultiHeadAttention mha(ao);
  mha->eval();

  const int64_t B = 2, T = 9;
  auto x = torch::randn({B, T, 16});
  auto keep = torch::ones({B, T}, torch::kBool);
  keep[1].narrow(0, 6, 3).fill_(false);  // second sequence: 6 real tokens, 3 padding

  auto signals = scheme->signals(T, 0, T, 0, torch::kCPU);
  AttentionInputs in;
  in.signals = &signals;
  in.keep_mask = build_keep_mask(keep, causal, T, T, 0, torch::kCPU);
  auto got = mha->forward(x, {}, in).to(torch::kFloat64);
  auto want = naive_attention(mha, scheme, x, keep, causal);
  // Padding queries are not compared: only real tokens have defined outputs.
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      if (keep[b][t].item<bool>()) {
        CHECK(torch::allclose(got[b][t], want[b][t], 1e-5, 1e-5));
      }
}

TEST_CASE("Shaw's row kernels and the gathered path give the same attention, outputs and gradients", "[core]") {
  const int64_t clip = GENERATE(1, 3, 8, 20);  // T = 9: narrow windows, exactly T - 1, wider
  const bool causal = GENERATE(false, true);
  CAPTURE(clip, causal);
  PositionOptions po;
  po.config.scheme = "shaw";
  po.d_model = 16;
  po.heads = 4;
  po.layers = 1;
  po.config.set("clip", clip);
  AttentionOptions ao;
  ao.d_model = 16;
  ao.heads = 4;
  ao.dropout = 0.0;
  const int64_t B = 2, T = 9;
  auto keep = torch::ones({B, T}, torch::kBool);
  keep[1].narrow(0, 5, 4).fill_(false);
  torch::manual_seed(5);
  auto x0 = torch::randn({B, T, 16});
  auto upstream = torch::randn({B, T, 16});
  std::vector<torch::Tensor> outs, grads;
  for (const bool kernels : {true, false}) {
    torch::manual_seed(4);
    auto scheme = make_position_scheme(po);
    {
      torch::NoGradGuard g;
      for (auto& p : scheme->parameters()) p.normal_(0, 1);  // make the tables matter
    }
    MultiHeadAttention mha(ao);
    auto signals = scheme->signals(T, 0, T, 0, torch::kCPU);
    REQUIRE(signals.rel_clip == clip);
    if (!kernels) signals.rel_clip = -1;  // the gather and scatter path, as on a GPU
    AttentionInputs in;
    in.signals = &signals;
    in.keep_mask = build_keep_mask(keep, causal, T, T, 0, torch::kCPU);
    auto x = x0.clone().requires_grad_(true);
    auto out = mha->forward(x, {}, in);
    (out * upstream).sum().backward();
    outs.push_back(out.detach());
    grads.push_back(x.grad());
    for (auto& p : scheme->parameters()) grads.push_back(p.grad());
  }
  CHECK(torch::allclose(outs[0], outs[1], 1e-5, 1e-5));
  REQUIRE(grads.size() == 6);
  for (size_t i = 0; i < 3; ++i) CHECK(torch::allclose(grads[i], grads[i + 3], 1e-5, 1e-5));
}

TEST_CASE("the fused attention path equals the reference path", "[core]") {
  if (!fused_attention_available()) {
    WARN("LibTorch < 2.0: no scaled_dot_product_attention; only the reference path exists here");
    return;
  }
  const auto kind = GENERATE(as<std::string>{}, "none", "t5", "rope", "alibi");
  const bool causal = GENERATE(false, true);
  CAPTURE(kind, causal);
  auto model = test::small_model(causal ? Family::kGpt : Family::kBert, kind);
  auto tokens = torch::randint(4, 50, {2, 12});
  auto keep = torch::ones({2, 12}, torch::kBool);
  keep[1].narrow(0, 8, 4).fill_(false);
  auto reference = model->hidden(tokens, keep);
  auto config = test::small_config(causal ? Family::kGpt : Family::kBert, kind);
  config.attention = AttentionBackend::kFused;
  auto fused_model = make_model(config, 50, 7);
  fused_model->eval();
  {
    torch::NoGradGuard no_grad;  // the same weights
    auto from = model->parameters(), to = fused_model->parameters();
    REQUIRE(from.size() == to.size());
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  auto fused = fused_model->hidden(tokens, keep);
  CHECK(torch::allclose(reference, fused, 1e-5, 1e-5));
}

TEST_CASE("a fully masked row gives finite outputs", "[core]") {
  AttentionOptions ao;
  ao.d_model = 8;
  ao.heads = 2;
  MultiHeadAttention mha(ao);
  auto x = torch::randn({1, 3, 8});
  AttentionInputs in;
  in.keep_mask = torch::zeros({1, 1, 3, 3}, torch::kBool);
  CHECK(torch::isfinite(mha->forward(x, {}, in)).all().item<bool>());
}
