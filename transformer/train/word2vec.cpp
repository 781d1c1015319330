// Skip-gram with negative sampling on LibTorch: batches of (centre, context) pairs, the gradient
// of the SGNS loss taken by autograd on the gathered rows and applied by index_add, so a step
// touches only the rows it uses.
#include "transformer/train/word2vec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "transformer/data/lines.h"
#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"

namespace qkv {

int64_t WordVectors::index(const std::string& word) const {
  const auto it = std::find(words.begin(), words.end(), word);
  return it == words.end() ? -1 : int64_t(it - words.begin());
}

std::vector<std::string> word2vec_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    // U+2013..U+201F (dashes and curly quotes: E2 80 93..9F) separate words as ASCII punctuation does.
    const bool typographic = c == 0xE2 && i + 2 < line.size() && static_cast<unsigned char>(line[i + 1]) == 0x80 &&
                             static_cast<unsigned char>(line[i + 2]) >= 0x93 && static_cast<unsigned char>(line[i + 2]) <= 0x9F;
    if (typographic) i += 2;
    if (!typographic && (c >= 0x80 || std::isalnum(c) || c == '\'')) {
      word += char(c < 0x80 ? std::tolower(c) : c);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

namespace {

struct Vocabulary {
  std::vector<std::string> words;
  std::vector<int64_t> counts;
  std::unordered_map<std::string, int64_t> ids;
};

Vocabulary count_words(const std::vector<std::vector<std::string>>& sentences, int64_t min_count) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& s : sentences)
    for (const auto& w : s) ++counts[w];
  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto& [w, c] : counts)
    if (c >= min_count) kept.emplace_back(w, c);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  Vocabulary v;
  for (auto& [w, c] : kept) {
    v.ids[w] = int64_t(v.words.size());
    v.words.push_back(w);
    v.counts.push_back(c);
  }
  return v;
}

// The (centre, context) pairs of one epoch: subsampled sentences, a window drawn per centre.
std::vector<std::pair<int64_t, int64_t>> epoch_pairs(const std::vector<std::vector<std::string>>& sentences, const Vocabulary& v,
                                                     const Word2VecOptions& o, std::mt19937_64& rng) {
  int64_t total = 0;
  for (const int64_t c : v.counts) total += c;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::pair<int64_t, int64_t>> pairs;
  std::vector<int64_t> ids;
  for (const auto& sentence : sentences) {
    ids.clear();
    for (const auto& w : sentence) {
      const auto it = v.ids.find(w);
      if (it == v.ids.end()) continue;
      const double f = double(v.counts[it->second]) / double(total);
      const double keep = o.subsample > 0 ? (std::sqrt(f / o.subsample) + 1.0) * o.subsample / f : 1.0;
      if (keep >= 1.0 || unit(rng) < keep) ids.push_back(it->second);
    }
    for (int64_t i = 0; i < int64_t(ids.size()); ++i) {
      const int64_t reach = 1 + int64_t(rng() % uint64_t(o.window));
      for (int64_t j = std::max<int64_t>(0, i - reach); j <= std::min<int64_t>(int64_t(ids.size()) - 1, i + reach); ++j)
        if (j != i) pairs.emplace_back(ids[i], ids[j]);
    }
  }
  std::shuffle(pairs.begin(), pairs.end(), rng);
  return pairs;
}

}  // namespace

WordVectors train_word2vec(const std::vector<std::vector<std::string>>& sentences, const Word2VecOptions& o,
                           void (*progress)(double, double)) {
  const Vocabulary vocab = count_words(sentences, o.min_count);
  if (vocab.words.size() < 2) throw InputError(fmt::format("word2vec: {} words occur min_count = {} times; at least 2 are needed", vocab.words.size(), o.min_count));
  const int64_t V = int64_t(vocab.words.size());
  torch::manual_seed(o.seed);
  torch::NoGradGuard outer;
  // word2vec's start: input vectors uniform in +-0.5/dim, output vectors zero.
  auto in = (torch::rand({V, o.dim}) - 0.5) / double(o.dim);
  auto out = torch::zeros({V, o.dim});
  auto noise = torch::pow(torch::tensor(vocab.counts, torch::kDouble), 0.75);  // unigram^(3/4)
  std::mt19937_64 rng(o.seed);
  std::vector<std::vector<std::pair<int64_t, int64_t>>> epochs;
  int64_t all_steps = 0;
  for (int64_t e = 0; e < o.epochs; ++e) {
    epochs.push_back(epoch_pairs(sentences, vocab, o, rng));
    all_steps += (int64_t(epochs.back().size()) + o.batch - 1) / o.batch;
  }
  auto generator = at::detail::createCPUGenerator(o.seed);
  int64_t step = 0;
  for (const auto& pairs : epochs) {
    for (size_t first = 0; first < pairs.size(); first += size_t(o.batch), ++step) {
      const int64_t n = std::min<int64_t>(o.batch, int64_t(pairs.size() - first));
      std::vector<int64_t> centres(static_cast<size_t>(n)), contexts(static_cast<size_t>(n));
      for (int64_t r = 0; r < n; ++r) centres[size_t(r)] = pairs[first + r].first, contexts[size_t(r)] = pairs[first + r].second;
      const auto centre = torch::tensor(centres), context = torch::tensor(contexts);
      auto negative = torch::multinomial(noise, n * o.negatives, true, generator).view({n, o.negatives});
      const double lr = o.lr * std::max(1e-4, 1.0 - double(step) / double(all_steps));
      torch::Tensor loss;
      torch::Tensor u, pos, neg;
      {
        torch::AutoGradMode grad(true);
        u = in.index_select(0, centre).requires_grad_();                      // (n, D)
        pos = out.index_select(0, context).requires_grad_();                  // (n, D)
        neg = out.index_select(0, negative.view({-1})).view({n, o.negatives, o.dim}).requires_grad_();
        auto positive = torch::log_sigmoid((u * pos).sum(-1));                // (n)
        auto negatives = torch::log_sigmoid(-torch::bmm(neg, u.unsqueeze(-1)).squeeze(-1)).sum(-1);
        loss = -(positive + negatives).sum();
        loss.backward();
      }
      in.index_add_(0, centre, u.grad() * -lr);
      out.index_add_(0, context, pos.grad() * -lr);
      out.index_add_(0, negative.view({-1}), neg.grad().view({-1, o.dim}) * -lr);
      if (progress && step % 200 == 0) progress(double(step) / double(all_steps), loss.item<double>() / double(n));
    }
  }
  WordVectors result;
  result.words = vocab.words;
  result.counts = vocab.counts;
  result.vectors = in;
  return result;
}

void write_word_vectors(const WordVectors& v, const std::string& path) {
  std::string text = fmt::format("{} {}\n", v.words.size(), v.vectors.size(1));
  auto rows = v.vectors.contiguous();
  const float* data = rows.data_ptr<float>();
  for (size_t i = 0; i < v.words.size(); ++i) {
    text += v.words[i];
    for (int64_t d = 0; d < rows.size(1); ++d) text += fmt::format(" {:.6g}", data[int64_t(i) * rows.size(1) + d]);
    text += '\n';
  }
  write_file_atomic(path, text);
}

WordVectors read_word_vectors(const std::string& path) {
  LineReader reader(path, int64_t(1) << 24);
  WordVectors v;
  std::vector<float> values;
  int64_t dim = -1;
  std::string line, category, problem;
  while (reader.next(line, &category, &problem)) {
    if (!problem.empty()) throw InputError(fmt::format("{}:{}: {}", path, reader.line_number(), problem));
    std::istringstream fields(line);
    std::string word;
    fields >> word;
    std::vector<float> row;
    for (std::string x; fields >> x;) {
      char* end = nullptr;
      const float f = std::strtof(x.c_str(), &end);
      if (end == x.c_str() || *end != '\0') throw InputError(fmt::format("{}:{}: vector: '{}' is not a number", path, reader.line_number(), x));
      row.push_back(f);
    }
    if (reader.line_number() == 1 && row.size() == 1) continue;  // word2vec's "V dim" header
    if (word.empty()) continue;
    if (dim < 0) dim = int64_t(row.size());
    if (int64_t(row.size()) != dim || dim == 0)
      throw InputError(fmt::format("{}:{}: vector: {} numbers where the file's first vector has {}", path, reader.line_number(), row.size(), dim));
    v.words.push_back(word);
    v.counts.push_back(0);
    values.insert(values.end(), row.begin(), row.end());
  }
  if (v.words.empty()) throw InputError(fmt::format("{}: no word vectors", path));
  v.vectors = torch::from_blob(values.data(), {int64_t(v.words.size()), dim}, torch::kFloat32).clone();
  return v;
}

double cosine(const WordVectors& v, int64_t a, int64_t b) {
  return torch::cosine_similarity(v.vectors[a].unsqueeze(0), v.vectors[b].unsqueeze(0)).item<double>();
}

}  // namespace qkv
