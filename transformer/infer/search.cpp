// Greedy and beam search for encoder-decoder models.
#include "transformer/infer/search.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qkv {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// The longest output of each sentence: a * (real source tokens) + b, within the model's positions.
std::vector<int64_t> length_limits(Model& model, const torch::Tensor& source, const torch::Tensor& source_keep,
                                   const SearchOptions& o) {
  const auto lengths = source_keep.defined() ? source_keep.sum(1).to(torch::kCPU, torch::kLong)
                                             : torch::full({source.size(0)}, source.size(1), torch::kLong);
  const int64_t positions = model->max_positions();
  std::vector<int64_t> limits;
  for (int64_t b = 0; b < source.size(0); ++b) {
    int64_t limit = int64_t(std::floor(o.max_len_a * double(lengths[b].item<int64_t>()))) + o.max_len_b;
    if (positions >= 0) limit = std::min(limit, positions - 1);  // <s> takes a position
    limits.push_back(std::max<int64_t>(1, limit));
  }
  return limits;
}

// Log-probabilities (R, V) of the next token after `prefix` (R, t), <s> and <pad> ruled out.
torch::Tensor next_log_probs(Model& model, DecodeState& state, const torch::Tensor& prefix, int64_t bos,
                             bool use_cache) {
  torch::Tensor hidden;
  if (use_cache) {
    const int64_t fresh = prefix.size(1) - state.length();  // the tokens the cache has not seen
    hidden = model->hidden(prefix.narrow(1, prefix.size(1) - fresh, fresh), {}, {}, &state);
  } else {
    hidden = model->hidden(prefix, {}, {}, &state);  // state.incremental is false: whole prefix
  }
  auto logp = torch::log_softmax(model->token_logits(hidden.select(1, hidden.size(1) - 1)).to(torch::kFloat32), -1);
  logp.select(1, bos).fill_(kNegInf);
  logp.select(1, 0).fill_(kNegInf);  // <pad>
  return logp;  // (R, V)
}

DecodeState start(Model& model, const torch::Tensor& source, const torch::Tensor& source_keep, bool use_cache) {
  DecodeState state;
  state.incremental = use_cache;
  model->encode(source, source_keep, &state);
  return state;
}

}  // namespace

double length_penalty(int64_t length, double alpha) { return std::pow((5.0 + double(length)) / 6.0, alpha); }

std::vector<Hypothesis> greedy_search(Model& model, const torch::Tensor& source, const torch::Tensor& source_keep,
                                      int64_t bos, int64_t eos, const SearchOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t batch = source.size(0);
  const auto limits = length_limits(model, source, source_keep, o);
  DecodeState state = start(model, source, source_keep, o.use_cache);
  auto prefix = torch::full({batch, 1}, bos, torch::dtype(torch::kLong).device(source.device()));  // (B, t)
  std::vector<Hypothesis> out(static_cast<size_t>(batch));
  std::vector<bool> done(static_cast<size_t>(batch), false);
  const int64_t longest = *std::max_element(limits.begin(), limits.end());
  for (int64_t t = 0; t < longest; ++t) {
    const auto logp = next_log_probs(model, state, prefix, bos, o.use_cache);  // (B, V)
    const auto [best, next] = logp.max(-1);
    const auto best_here = best.to(torch::kCPU), next_here = next.to(torch::kCPU);  // one copy from a GPU per step
    bool all = true;
    for (int64_t b = 0; b < batch; ++b) {
      if (done[size_t(b)]) continue;
      auto& h = out[size_t(b)];
      const int64_t token = next_here[b].item<int64_t>();
      h.tokens.push_back(token);
      h.log_prob += best_here[b].item<double>();
      done[size_t(b)] = token == eos || int64_t(h.tokens.size()) >= limits[size_t(b)];
      all = all && done[size_t(b)];
    }
    if (all) break;
    prefix = torch::cat({prefix, next.unsqueeze(1)}, 1);
  }
  for (auto& h : out) h.score = h.log_prob / length_penalty(int64_t(h.tokens.size()), o.length_penalty);
  return out;
}

namespace {

// The highest-scoring finished hypothesis of each sentence (empty when none finished).
std::vector<Hypothesis> best_of(const std::vector<std::vector<Hypothesis>>& finished) {
  std::vector<Hypothesis> best(finished.size());
  for (size_t b = 0; b < finished.size(); ++b) {
    if (finished[b].empty()) continue;
    best[b] = *std::max_element(finished[b].begin(), finished[b].end(),
                                [](const Hypothesis& x, const Hypothesis& y) { return x.score < y.score; });
  }
  return best;
}

}  // namespace

std::vector<Hypothesis> beam_search(Model& model, const torch::Tensor& source, const torch::Tensor& source_keep,
                                    int64_t bos, int64_t eos, const SearchOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t batch = source.size(0), k = o.beam;
  const auto limits = length_limits(model, source, source_keep, o);
  DecodeState state = start(model, source, source_keep, o.use_cache);
  // The first step runs on one row per sentence (the beams are all <s> alike); its candidates
  // then become K rows each, and the caches are copied along.
  int64_t rows_per = 1;
  const auto device = source.device();
  auto prefix = torch::full({batch, 1}, bos, torch::dtype(torch::kLong).device(device));  // (B * rows_per, t)
  std::vector<double> scores(static_cast<size_t>(batch), 0.0);           // cumulative log-prob of each row
  std::vector<std::vector<Hypothesis>> finished(static_cast<size_t>(batch));
  std::vector<bool> done(static_cast<size_t>(batch), false);
  for (int64_t t = 0;; ++t) {
    const auto logp = next_log_probs(model, state, prefix, bos, o.use_cache);  // (B * rows_per, V)
    const int64_t vocab = logp.size(1);
    auto totals = logp.to(torch::kFloat64) + torch::tensor(scores, torch::kFloat64).to(device).unsqueeze(1);
    totals = totals.view({batch, rows_per * vocab});
    const int64_t width = std::min(2 * k, rows_per * vocab);
    const auto [top_values, top_indices] = totals.topk(width, -1);  // best first
    const auto values = top_values.to(torch::kCPU), indices = top_indices.to(torch::kCPU);
    const auto prefix_here = prefix.to(torch::kCPU);
    auto v = values.accessor<double, 2>();
    auto ix = indices.accessor<int64_t, 2>();
    std::vector<int64_t> parent, token;  // the next rows: which row they extend, with what
    std::vector<double> next_scores;
    for (int64_t b = 0; b < batch; ++b) {
      int64_t alive = 0;
      const int64_t length = t + 1;  // tokens after <s> once this step's token is added
      for (int64_t j = 0; j < width && !done[size_t(b)]; ++j) {
        const double s = v[b][j];
        if (s == kNegInf) break;
        const int64_t row = b * rows_per + ix[b][j] / vocab, tok = ix[b][j] % vocab;
        const bool last = length >= limits[size_t(b)];
        if (tok == eos || last) {
          if (j >= k && tok == eos) continue;  // an end among the best K only
          Hypothesis h;
          auto history = prefix_here[row].narrow(0, 1, prefix.size(1) - 1).contiguous();
          h.tokens.assign(history.data_ptr<int64_t>(), history.data_ptr<int64_t>() + history.numel());
          h.tokens.push_back(tok);
          h.log_prob = s;
          h.score = s / length_penalty(length, o.length_penalty);
          finished[size_t(b)].push_back(std::move(h));
          if (int64_t(finished[size_t(b)].size()) >= k) done[size_t(b)] = true;
          continue;
        }
        if (alive < k) {
          parent.push_back(row);
          token.push_back(tok);
          next_scores.push_back(s);
          ++alive;
        }
        if (alive == k && j + 1 >= k) break;
      }
      if (alive < k || done[size_t(b)]) done[size_t(b)] = done[size_t(b)] || alive == 0;
      while (alive < k) {  // finished sentences and short beams keep their shape with dead rows
        parent.push_back(b * rows_per);
        token.push_back(eos);
        next_scores.push_back(kNegInf);
        ++alive;
      }
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    const auto index = torch::tensor(parent, torch::kLong).to(device);
    state.select(index);
    prefix = torch::cat({prefix.index_select(0, index), torch::tensor(token, torch::kLong).to(device).unsqueeze(1)}, 1);
    scores = next_scores;
    rows_per = k;
  }
  return best_of(finished);
}

}  // namespace qkv
