// Denoising task.
#include "transformer/tasks/denoise.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "transformer/data/lines.h"
#include "transformer/tasks/translate.h"
#include "transformer/util/errors.h"
#include "transformer/util/random.h"

namespace qkv {

namespace F = torch::nn::functional;

int64_t poisson_draw(double lambda, std::mt19937_64& rng) {
  const double u = uniform01(rng);
  double p = std::exp(-lambda), cdf = p;
  int64_t k = 0;
  // Past 1,000 the remaining probability is below rounding for any lambda <= 64.
  while (u >= cdf && k < 1000) {
    ++k;
    p *= lambda / double(k);
    cdf += p;
  }
  return k;
}

Infilled text_infilling(const std::vector<int64_t>& line, int64_t mask_id, double ratio, double lambda, std::mt19937_64& rng) {
  const int64_t n = int64_t(line.size());
  const int64_t masked = std::llround(ratio * double(n));
  Infilled out;
  if (masked <= 0) {
    out.tokens = line;
    return out;
  }
  std::vector<int64_t> lengths;
  for (int64_t covered = 0; covered < masked;) {
    const int64_t length = std::min(poisson_draw(lambda, rng), masked - covered);
    lengths.push_back(length);
    covered += length;
  }
  // The spans and the unmasked tokens in a row of n - masked + spans items; the spans take a
  // uniformly random choice of its places (a partial Fisher-Yates shuffle of the places).
  const int64_t items = n - masked + int64_t(lengths.size());
  std::vector<int64_t> places(static_cast<size_t>(items));
  std::iota(places.begin(), places.end(), 0);
  std::vector<bool> is_span(static_cast<size_t>(items), false);
  for (size_t i = 0; i < lengths.size(); ++i) {
    const size_t j = i + size_t(rng() % uint64_t(items - int64_t(i)));
    std::swap(places[i], places[j]);
    is_span[size_t(places[i])] = true;
  }
  int64_t at = 0;
  size_t span = 0;
  for (int64_t item = 0; item < items; ++item) {
    if (is_span[size_t(item)]) {
      out.tokens.push_back(mask_id);
      out.spans.emplace_back(at, lengths[span]);
      at += lengths[span++];
    } else {
      out.tokens.push_back(line[size_t(at++)]);
    }
  }
  return out;
}

std::vector<int64_t> permute_sentences(const std::vector<int64_t>& line, const std::vector<bool>& ends_sentence,
                                       std::mt19937_64& rng) {
  std::vector<std::pair<size_t, size_t>> sentences;  // [begin, end)
  size_t begin = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const int64_t id = line[i];
    if (id >= 0 && size_t(id) < ends_sentence.size() && ends_sentence[size_t(id)]) {
      sentences.emplace_back(begin, i + 1);
      begin = i + 1;
    }
  }
  if (begin < line.size()) sentences.emplace_back(begin, line.size());
  for (size_t i = sentences.size(); i > 1; --i) std::swap(sentences[i - 1], sentences[size_t(rng() % i)]);
  std::vector<int64_t> out;
  out.reserve(line.size());
  for (const auto& [b, e] : sentences) out.insert(out.end(), line.begin() + long(b), line.begin() + long(e));
  return out;
}

DenoiseTask::DenoiseTask(const Experiment& e) : experiment_(e) {}

namespace {

// Whether a piece ends a sentence: its last character is a full stop, question or exclamation
// mark, Latin or CJK.
bool ends_sentence(const std::string& piece) {
  for (const char* mark : {".", "!", "?", "\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F"}) {  // 。！？
    const size_t n = std::char_traits<char>::length(mark);
    if (piece.size() >= n && piece.compare(piece.size() - n, n, mark) == 0) return true;
  }
  return false;
}

}  // namespace

void DenoiseTask::prepare(const Experiment& e, const Tokenizer& tokenizer, bool need_train) {
  special_ = tokenizer.special();
  if (special_.mask < 0) {
    throw InputError(fmt::format("{}: tokenizer.model: has no <mask> piece; denoise needs a tokenizer trained by qkv "
                                 "(remove the file to train one)",
                                 e.source_file));
  }
  ends_sentence_.assign(size_t(tokenizer.vocab_size()), false);
  for (int id = 0; id < tokenizer.vocab_size(); ++id) ends_sentence_[size_t(id)] = ends_sentence(tokenizer.piece(id));
  const int64_t longest = e.train.seq_len - 1;  // the decoder reads <s> line and predicts line </s>
  auto load = [&](Split split, const Paths& paths) {
    auto& out = lines_[int(split)];
    out.clear();
    int64_t cut = 0;
    for (const auto& path : paths.items) {
      for (const auto& text : read_text_lines(path, e.data)) {
        std::vector<int64_t> ids;
        for (int id : tokenizer.encode(text)) ids.push_back(id);
        if (ids.empty()) continue;
        if (int64_t(ids.size()) > longest) ids.resize(size_t(longest)), ++cut;
        out.push_back(std::move(ids));
      }
    }
    if (cut > 0) fmt::print(stderr, "{}: {} lines longer than train.seq_len - 1 = {} tokens cut\n", paths.joined(), cut, longest);
  };
  if (need_train) {
    load(Split::kTrain, e.data.train);
    const auto& train = lines_[int(Split::kTrain)];
    if (train.empty()) throw InputError(fmt::format("{}: data.train: no line of text in {}", e.source_file, e.data.train.joined()));
    if (e.train.batch_tokens > 0) {
      std::vector<std::pair<int64_t, int64_t>> lengths;
      for (const auto& line : train) lengths.emplace_back(int64_t(line.size()), 0);
      batches_ = length_batches(lengths, e.train.batch_tokens, uint64_t(e.seed));
      order_ = EpochOrder(int64_t(batches_.size()), uint64_t(e.seed));
    } else {
      order_ = EpochOrder(int64_t(train.size()), uint64_t(e.seed));
    }
  }
  load(Split::kValid, e.data.valid);
  load(Split::kTest, e.data.test);
}

std::vector<int64_t> DenoiseTask::corrupt(const std::vector<int64_t>& line, std::mt19937_64& rng) const {
  const TaskConfig& t = experiment_.task;
  auto infill = [&](const std::vector<int64_t>& ordered) {
    return text_infilling(ordered, special_.mask, t.noise_ratio, t.span_lambda, rng).tokens;
  };
  std::vector<int64_t> out = t.permute_sentences ? infill(permute_sentences(line, ends_sentence_, rng)) : infill(line);
  // Spans of length 0 add masks: a line can grow past the positions the encoder has.
  if (int64_t(out.size()) > experiment_.train.seq_len - 1) out.resize(size_t(experiment_.train.seq_len - 1));
  out.push_back(special_.eos);
  return out;
}

TaskBatch DenoiseTask::make_batch(const std::vector<const std::vector<int64_t>*>& lines, std::mt19937_64& rng) const {
  std::vector<std::vector<int64_t>> sources;
  for (const auto* line : lines) sources.push_back(corrupt(*line, rng));
  std::vector<const std::vector<int64_t>*> source_rows;
  for (const auto& source : sources) source_rows.push_back(&source);
  return seq2seq_batch(source_rows, lines, special_, special_);
}

TaskBatch DenoiseTask::train_batch(int64_t index, int64_t batch_size) {
  const auto& train = lines_[int(Split::kTrain)];
  std::vector<const std::vector<int64_t>*> lines;
  for (int64_t i : batch_members(batches_, order_, index, batch_size)) lines.push_back(&train[size_t(i)]);
  std::mt19937_64 rng(mix(uint64_t(experiment_.seed) ^ mix(uint64_t(index))));
  return make_batch(lines, rng);
}

torch::Tensor DenoiseTask::loss(Model& model, const TaskBatch& batch, const std::vector<double>& divisors) {
  return seq2seq_loss(model, batch, experiment_.task.label_smoothing, divisor_of(divisors, 0));
}

Metrics DenoiseTask::evaluate(Model& model, Split split, int64_t batch_size, int64_t max_batches) {
  torch::NoGradGuard no_grad;
  const auto& lines = lines_[int(split)];
  TORCH_CHECK(!lines.empty(), "no ", split_name(split), " split in this experiment");
  std::mt19937_64 rng(mix(uint64_t(experiment_.seed) ^ mix(0xDE70ULL + uint64_t(split))));  // the same noise every time
  double loss_sum = 0;
  int64_t tokens = 0, right = 0, batches = 0;
  for (size_t first = 0; first < lines.size(); first += size_t(batch_size), ++batches) {
    if (max_batches > 0 && batches >= max_batches) break;
    std::vector<const std::vector<int64_t>*> chunk;
    for (size_t i = first; i < std::min(lines.size(), first + size_t(batch_size)); ++i) chunk.push_back(&lines[i]);
    const TaskBatch batch = make_batch(chunk, rng);
    const auto logits = teacher_forced_logits(model, batch);  // (B, T, V)
    const auto targets = batch.targets.reshape({-1});
    const auto flat = logits.reshape({-1, logits.size(-1)});
    loss_sum += F::cross_entropy(flat, targets, F::CrossEntropyFuncOptions().ignore_index(kIgnore).reduction(torch::kSum)).item<double>();
    const auto real = targets.ne(kIgnore);
    right += flat.argmax(-1).eq(targets).logical_and(real).sum().item<int64_t>();
    tokens += real.sum().item<int64_t>();
  }
  const double loss = loss_sum / double(std::max<int64_t>(tokens, 1));
  return {{"loss", loss},
          {"ppl", std::exp(loss)},
          {"accuracy", double(right) / double(std::max<int64_t>(tokens, 1))},
          {"tokens", double(tokens)}};
}

}  // namespace qkv
