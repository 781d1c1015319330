// model.embedding_init: matching pieces to words, projecting and scaling their vectors.
#include "transformer/train/embedding_init.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>

namespace qkv {

namespace {
constexpr const char* kWordMarkers[] = {"\xE2\x96\x81", "\xC4\xA0"};  // SentencePiece's U+2581, GPT-2's U+0120
}  // namespace

bool marks_word_start(const std::string& piece) {
  return std::any_of(std::begin(kWordMarkers), std::end(kWordMarkers), [&](const char* m) { return piece.rfind(m, 0) == 0; });
}

std::string strip_word_marker(const std::string& piece) {
  for (const char* marker : kWordMarkers)
    if (piece.rfind(marker, 0) == 0) return piece.substr(std::char_traits<char>::length(marker));
  return piece;
}

std::string piece_word(const std::string& piece) {
  std::string word = strip_word_marker(piece);
  for (char& c : word)
    if (static_cast<unsigned char>(c) < 0x80) c = char(std::tolower(static_cast<unsigned char>(c)));
  return word;
}

EmbeddingInitReport init_embedding_rows(torch::Tensor weight, const std::vector<std::string>& pieces, const WordVectors& vectors,
                                        uint64_t seed) {
  torch::NoGradGuard no_grad;
  std::unordered_map<std::string, int64_t> rows;
  for (size_t i = 0; i < vectors.words.size(); ++i) rows.emplace(vectors.words[i], int64_t(i));  // the first spelling wins
  EmbeddingInitReport report;
  report.pieces = int64_t(pieces.size());
  // A vocabulary that marks word starts (SentencePiece, GPT-2) matches only its word-initial
  // pieces, so a word-internal "s" does not take the vector of the word "s"; WordPiece's "##"
  // continuations never match.
  const bool marks_starts = std::any_of(pieces.begin(), pieces.end(), marks_word_start);
  std::vector<int64_t> targets, sources;
  for (size_t id = 0; id < pieces.size() && int64_t(id) < weight.size(0); ++id) {
    if ((marks_starts && !marks_word_start(pieces[id])) || pieces[id].rfind("##", 0) == 0) continue;
    const auto it = rows.find(piece_word(pieces[id]));
    if (it == rows.end() || piece_word(pieces[id]).empty()) continue;
    targets.push_back(int64_t(id));
    sources.push_back(it->second);
    if (report.examples.size() < 5) report.examples.push_back(pieces[id]);
  }
  report.matched = int64_t(targets.size());
  if (targets.empty()) return report;
  auto chosen = vectors.vectors.index_select(0, torch::tensor(sources)).to(torch::kFloat32);  // (M, Dv)
  const int64_t width = weight.size(1);
  if (chosen.size(1) != width) {
    auto generator = at::detail::createCPUGenerator(seed);
    auto projection = torch::randn({chosen.size(1), width}, generator) / std::sqrt(double(chosen.size(1)));
    chosen = chosen.matmul(projection);  // (M, C); a Gaussian map keeps distances up to a factor on average
  }
  const double target_norm = weight.detach().norm(2, 1).mean().item<double>();
  const double norm = chosen.norm(2, 1).mean().item<double>();
  if (norm > 0) chosen = chosen * (target_norm / norm);
  weight.index_copy_(0, torch::tensor(targets).to(weight.device()), chosen.to(weight.dtype()).to(weight.device()));
  return report;
}

}  // namespace qkv
