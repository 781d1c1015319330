// qkv embeddings: what an embedding space holds. The rows are a word vector file's words
// (--vectors, e.g. qkv word2vec's output) or a trained model's token embeddings, named by their
// pieces; --near and --analogy print one JSON line, --map writes map.csv (word, x, y) with
// map.json and, through scripts/plot_embeddings.py, map.png with labels in any script; --context
// compares one word's contextual vectors across sentences.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iterator>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/analysis/embedding_map.h"
#include "transformer/cli/common.h"
#include "transformer/core/device.h"
#include "transformer/train/embedding_init.h"
#include "transformer/train/precision.h"
#include "transformer/train/word2vec.h"
#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"

namespace qkv::cli {

namespace fs = std::filesystem;

namespace {

struct Space {
  std::vector<std::string> words;  // row names
  torch::Tensor vectors;           // (N, C)
  std::vector<bool> mappable;      // may --top choose it (not a special token or punctuation)
  std::string source;
};

bool has_letter(const std::string& word) {  // an ASCII letter or any multi-byte character
  return std::any_of(word.begin(), word.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || std::isalpha(u);
  });
}

// A model's token embeddings named by piece: word-initial pieces by their word ("▁King" -> "King");
// where a vocabulary marks word starts, continuations written "##piece" as BERT writes them, except
// pieces without ASCII letters (Chinese, which has no spaces, is mostly continuation pieces).
Space model_space(const Experiment& e, TrainedModel& trained) {
  torch::NoGradGuard no_grad;
  const Tokenizer& tokenizer = trained.tokenizer.target();
  const int64_t n = std::min<int64_t>(trained.model->vocab_size(), tokenizer.vocab_size());
  Space space;
  space.vectors = trained.model->embed_tokens(torch::arange(n).unsqueeze(0))[0].to(torch::kCPU, torch::kFloat32);
  const auto& s = tokenizer.special();
  bool marks_starts = false;
  for (int64_t id = 0; id < n && !marks_starts; ++id) marks_starts = marks_word_start(tokenizer.piece(int(id)));
  for (int64_t id = 0; id < n; ++id) {
    const std::string piece = tokenizer.piece(int(id));
    const bool special = id == s.pad || id == s.unk || id == s.bos || id == s.eos || id == s.mask || id == s.cls ||
                         id == s.sep || (piece.size() > 2 && (piece.front() == '<' || piece.front() == '[') &&
                                         (piece.back() == '>' || piece.back() == ']'));
    const bool ascii_letters = std::any_of(piece.begin(), piece.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
    std::string word = strip_word_marker(piece);
    if (marks_starts && !marks_word_start(piece) && ascii_letters) word = "##" + piece;
    space.words.push_back(word);
    space.mappable.push_back(!special && has_letter(word) && word.rfind("##", 0) != 0);
  }
  space.source = fmt::format("{} token embeddings, step {}{}", e.name, trained.step,
                             trained.checkpoint.rfind("average", 0) == 0 ? " (checkpoints averaged)" : "");
  return space;
}

Space file_space(const std::string& path) {
  WordVectors v = read_word_vectors(path);
  Space space;
  space.words = std::move(v.words);
  space.vectors = v.vectors;
  for (const auto& w : space.words) space.mappable.push_back(has_letter(w));
  space.source = path;
  return space;
}

// The row named `word`: the exact spelling first, else the first row equal to it lower-cased.
int64_t find_word(const Space& space, const std::string& word) {
  for (size_t i = 0; i < space.words.size(); ++i)
    if (space.words[i] == word) return int64_t(i);
  for (size_t i = 0; i < space.words.size(); ++i)
    if (piece_word(space.words[i]) == piece_word(word)) return int64_t(i);
  return -1;
}

nlohmann::ordered_json listed(const Space& space, const std::vector<Neighbour>& found) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& n : found) out.push_back({space.words[size_t(n.index)], std::round(n.cosine * 1000) / 1000});
  return out;
}

std::vector<int64_t> map_rows(const Space& space, const Invocation& in) {
  std::vector<int64_t> rows;
  if (in.has("--words")) {
    std::stringstream list(in.text("--words"));
    std::string word;
    while (std::getline(list, word, ',')) {
      if (word.empty()) continue;
      const int64_t row = find_word(space, word);
      if (row < 0) throw InputError(fmt::format("--words: '{}' is not in {}", word, space.source));
      rows.push_back(row);
    }
  } else {
    const int64_t top = in.integer("--top", 300);
    for (size_t i = 0; i < space.words.size() && int64_t(rows.size()) < top; ++i)
      if (space.mappable[i]) rows.push_back(int64_t(i));
  }
  if (rows.size() < 3) throw InputError("--map: needs at least 3 words to place");
  return rows;
}

void write_map(const Space& space, const Invocation& in, const fs::path& out, nlohmann::ordered_json& line) {
  const std::string method = in.text("--method", "tsne");
  if (method != "tsne" && method != "pca") throw InputError(fmt::format("--method: expected tsne or pca, found '{}'", method));
  const auto rows = map_rows(space, in);
  const auto chosen = space.vectors.index_select(0, torch::tensor(rows));
  TsneOptions o;
  o.perplexity = in.number("--perplexity", o.perplexity);
  const Map2d map = method == "pca" ? pca_2d(chosen) : tsne_2d(chosen, o);
  std::string csv = "word,x,y\n";
  const auto* p = map.points.contiguous().data_ptr<double>();
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string word = space.words[size_t(rows[i])];
    if (word.find_first_of(",\"") != std::string::npos) {
      std::string quoted = "\"";
      for (char c : word) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      word = quoted + "\"";
    }
    csv += fmt::format("{},{:.6g},{:.6g}\n", word, p[2 * i], p[2 * i + 1]);
  }
  fs::create_directories(out);
  nlohmann::ordered_json meta{{"source", space.source}, {"method", method}, {"points", rows.size()}};
  if (method == "pca") meta["explained"] = map.explained;
  else {
    meta["perplexity"] = o.perplexity;
    meta["kl"] = std::round(tsne_kl(chosen, map.points, o.perplexity) * 1000) / 1000;
  }
  write_file_atomic((out / "map.csv").string(), csv);
  write_file_atomic((out / "map.json").string(), meta.dump(2) + "\n");
  line["map"] = meta;
  line["map"]["csv"] = (out / "map.csv").string();
  if (!in.flag("--no-plots") && !run_python_script("plot_embeddings.py", {out.string()})) {
    fmt::print(stderr, "plot skipped: scripts/plot_embeddings.py needs python3-matplotlib (scripts/setup.sh installs it)\n");
  }
}

// --context S1 --context S2 ... --word W: W's contextual vector in each sentence (the last layer's
// hidden state at W's piece; the encoder's for the encoder-decoders), its cosine with W's static
// embedding and with W's vector in every other sentence, the static rows nearest to it, and the
// three pieces its last attention layer reads most (mean over heads).
void contextual(const Experiment& e, TrainedModel& trained, const Space& space, const Invocation& in,
                nlohmann::ordered_json& line) {
  const std::string word = in.text("--word");
  if (word.empty()) throw InputError("--context: give the shared word with --word");
  torch::NoGradGuard no_grad;
  const Tokenizer& tokenizer = trained.tokenizer;
  std::vector<torch::Tensor> vectors;
  auto rows = nlohmann::ordered_json::array();
  for (const auto& text : in.texts("--context")) {
    const auto ids = model_input(e, tokenizer, text);
    const auto tokens = torch::tensor(ids, torch::kLong).unsqueeze(0);
    const bool two_sided = e.model.family == Family::kSeq2Seq || e.model.family == Family::kRnn;
    std::vector<torch::Tensor> weights;  // per layer (1, H, T, T)
    const auto hidden = two_sided ? trained.model->encode(tokens, {}, nullptr, &weights)
                                  : trained.model->hidden(tokens, {}, {}, nullptr, &weights);
    std::vector<std::string> pieces;
    int64_t at = -1;
    for (size_t i = 0; i < ids.size(); ++i) {
      pieces.push_back(tokenizer.piece(int(ids[i])));
      if (at < 0 && (pieces.back() == word || piece_word(pieces.back()) == piece_word(word))) at = int64_t(i);
    }
    if (at < 0) {
      std::string shown;
      for (const auto& p : pieces) shown += (shown.empty() ? "" : " ") + p;
      throw InputError(fmt::format("--word: '{}' is not one piece of '{}' (pieces: {})", word, text, shown));
    }
    vectors.push_back(hidden[0][at].to(torch::kCPU, torch::kFloat64));
    const auto static_row = trained.model->embed_tokens(tokens, two_sided)[0][at].to(torch::kCPU, torch::kFloat64);
    nlohmann::ordered_json row{{"text", text}, {"pieces", pieces}, {"position", at},
                               {"cos_static", std::round(torch::cosine_similarity(vectors.back(), static_row, 0).item<double>() * 1000) / 1000}};
    if (!tokenizer.has_separate_target()) row["near"] = listed(space, nearest_rows(space.vectors, vectors.back(), 5));
    if (!weights.empty()) {  // the word's attention row in the last layer, averaged over heads: where it reads from
      const auto attended = weights.back()[0].mean(0)[at].to(torch::kCPU, torch::kFloat64);
      const auto top = attended.topk(std::min<int64_t>(3, attended.size(0)));
      auto reads = nlohmann::ordered_json::array();
      for (int64_t k = 0; k < std::get<1>(top).size(0); ++k)
        if (std::get<0>(top)[k].item<double>() > 0)  // a causal model's later pieces take nothing
          reads.push_back({pieces[size_t(std::get<1>(top)[k].item<int64_t>())], std::round(std::get<0>(top)[k].item<double>() * 1000) / 1000});
      row["attends"] = reads;
    }
    rows.push_back(row);
  }
  auto between = nlohmann::ordered_json::array();
  for (size_t i = 0; i < vectors.size(); ++i)
    for (size_t j = i + 1; j < vectors.size(); ++j)
      between.push_back({i + 1, j + 1, std::round(torch::cosine_similarity(vectors[i], vectors[j], 0).item<double>() * 1000) / 1000});
  line["context"] = {{"word", word}, {"sentences", rows}, {"cos_between", between}};
}

int run_embeddings(const Invocation& in) {
  const auto loaded = load(in);
  const Experiment& e = loaded.experiment;
  set_compute_device(torch::kCPU);
  set_threads(e.train.threads);
  if (!in.has("--near") && !in.has("--analogy") && !in.flag("--map") && !in.has("--context"))
    throw InputError("qkv embeddings: give --near WORD, --analogy 'A B C', --map or --context");
  if (in.has("--context") && in.has("--vectors")) throw InputError("--context: reads a trained model; leave out --vectors");
  std::optional<TrainedModel> trained;
  if (!in.has("--vectors")) trained.emplace(open_trained_model(e, in.text("--checkpoint")));
  const Space space = trained ? model_space(e, *trained) : file_space(in.text("--vectors"));
  const int64_t count = in.integer("--count", 8);
  nlohmann::ordered_json line{{"source", space.source}, {"rows", space.words.size()}};
  for (const auto& word : in.texts("--near")) {
    const int64_t row = find_word(space, word);
    line["near"][word] = row < 0 ? nlohmann::ordered_json() : listed(space, nearest_rows(space.vectors, space.vectors[row], count, {row}));
  }
  for (const auto& question : in.texts("--analogy")) {
    std::istringstream words(question);
    std::vector<std::string> abc{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
    if (abc.size() != 3) throw InputError(fmt::format("--analogy: expected three words 'A B C', found '{}'", question));
    std::vector<int64_t> rows;
    for (const auto& w : abc) rows.push_back(find_word(space, w));
    const bool known = std::all_of(rows.begin(), rows.end(), [](int64_t r) { return r >= 0; });
    line["analogy"][question] = known ? listed(space, analogy(space.vectors, rows[0], rows[1], rows[2], count)) : nlohmann::ordered_json();
  }
  if (in.has("--context")) contextual(e, *trained, space, in, line);
  if (in.flag("--map")) write_map(space, in, in.has("--out") ? fs::path(in.text("--out")) : fs::path(e.output) / "embeddings", line);
  fmt::print("{}\n", line.dump());
  return 0;
}

const bool registered = register_runner("embeddings", run_embeddings);

}  // namespace

}  // namespace qkv::cli
