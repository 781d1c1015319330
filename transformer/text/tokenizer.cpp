// SentencePiece training and use, through libqkv_spm.so (see spm_bridge.h).
#include "transformer/text/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "transformer/text/byte_bpe.h"
#include "transformer/text/wordpiece.h"
#include "transformer/util/atomic_file.h"
#include "transformer/util/checksum.h"
#include "transformer/util/errors.h"
#include "transformer/text/spm_bridge.h"

namespace qkv {

namespace fs = std::filesystem;

namespace {

struct Bridge {
  decltype(&qkv_spm_open) open;
  decltype(&qkv_spm_close) close;
  decltype(&qkv_spm_piece_size) piece_size;
  decltype(&qkv_spm_piece_to_id) piece_to_id;
  decltype(&qkv_spm_special) special;
  decltype(&qkv_spm_encode) encode;
  decltype(&qkv_spm_decode) decode;
  decltype(&qkv_spm_id_to_piece) id_to_piece;
  decltype(&qkv_spm_train) train;
};

// Candidate locations of the module: $QKV_SPM_BRIDGE, beside the running program, the build tree.
std::vector<std::string> bridge_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("QKV_SPM_BRIDGE")) out.emplace_back(env);
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back((exe.parent_path() / "libqkv_spm.so").string());
    out.push_back((exe.parent_path().parent_path() / "libqkv_spm.so").string());
  }
#ifdef QKV_SPM_BRIDGE_PATH
  out.emplace_back(QKV_SPM_BRIDGE_PATH);
#endif
  return out;
}

const Bridge& bridge() {
  static Bridge b;
  static std::once_flag once;
  std::call_once(once, [] {
    void* handle = nullptr;
    std::string errors;
    for (const auto& path : bridge_candidates()) {
      if (!fs::exists(path)) continue;
      handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (handle) break;
      errors += fmt::format(" {}: {};", path, dlerror());
    }
    if (!handle) throw std::runtime_error("cannot load libqkv_spm.so (SentencePiece bridge);" + errors);
    auto sym = [&](const char* name) {
      void* f = dlsym(handle, name);
      if (!f) throw std::runtime_error(fmt::format("libqkv_spm.so lacks {}", name));
      return f;
    };
    b.open = reinterpret_cast<decltype(b.open)>(sym("qkv_spm_open"));
    b.close = reinterpret_cast<decltype(b.close)>(sym("qkv_spm_close"));
    b.piece_size = reinterpret_cast<decltype(b.piece_size)>(sym("qkv_spm_piece_size"));
    b.piece_to_id = reinterpret_cast<decltype(b.piece_to_id)>(sym("qkv_spm_piece_to_id"));
    b.special = reinterpret_cast<decltype(b.special)>(sym("qkv_spm_special"));
    b.encode = reinterpret_cast<decltype(b.encode)>(sym("qkv_spm_encode"));
    b.decode = reinterpret_cast<decltype(b.decode)>(sym("qkv_spm_decode"));
    b.id_to_piece = reinterpret_cast<decltype(b.id_to_piece)>(sym("qkv_spm_id_to_piece"));
    b.train = reinterpret_cast<decltype(b.train)>(sym("qkv_spm_train"));
  });
  return b;
}

}  // namespace

void Tokenizer::finish_bundle(const std::string& bytes, const std::string& path) {
  bytes_ = bytes;
  checksum_ = checksum_hex(bytes);
  path_ = path;
  auto need = [&](int id, const char* piece) {
    if (id < 0) throw InputError(fmt::format("{}: the vocabulary has no {} piece", path, piece));
    return id;
  };
  if (bpe_) {
    const int end = need(bpe_->id("<|endoftext|>"), "<|endoftext|>");
    special_ = SpecialTokens{end, end, end, end, -1, end, end};  // GPT-1-style inputs: <|endoftext|> a <|endoftext|> b <|endoftext|>
  } else {
    const WordPiece& w = *wordpiece_;
    special_.pad = need(w.id("[PAD]"), "[PAD]");
    special_.unk = need(w.id("[UNK]"), "[UNK]");
    special_.cls = special_.bos = need(w.id("[CLS]"), "[CLS]");
    special_.sep = special_.eos = need(w.id("[SEP]"), "[SEP]");
    special_.mask = need(w.id("[MASK]"), "[MASK]");
  }
}

Tokenizer Tokenizer::from_bundle(const std::string& bytes, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(fmt::format("{}: byte {}: not a qkv tokenizer (invalid JSON)", path, e.byte > 0 ? e.byte - 1 : 0));
  }
  const auto text = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_string()) throw InputError(fmt::format("{}: field {}: missing or not a string", path, key));
    return j[key].get<std::string>();
  };
  Tokenizer t;
  const std::string kind = j.is_object() && j.contains("qkv_tokenizer") && j["qkv_tokenizer"].is_string() ? j["qkv_tokenizer"].get<std::string>() : "";
  if (kind == "bpe") {
    t.kind_ = TokenizerKind::kBpe;
    t.bpe_ = std::make_shared<const ByteLevelBpe>(
        ByteLevelBpe::parse(text("vocab.json"), path + ": vocab.json", text("merges.txt"), path + ": merges.txt"));
  } else if (kind == "wordpiece") {
    WordPieceOptions o;
    o.lower_case = j.value("do_lower_case", true);
    o.strip_accents = j.value("strip_accents", -1);
    o.split_cjk = j.value("tokenize_chinese_chars", true);
    o.max_input_chars_per_word = j.value("max_input_chars_per_word", 100);
    t.kind_ = TokenizerKind::kWordPiece;
    t.wordpiece_ = std::make_shared<const WordPiece>(WordPiece::parse(text("vocab.txt"), path + ": vocab.txt", o));
  } else {
    throw InputError(fmt::format("{}: field qkv_tokenizer: {} is not bpe or wordpiece", path, j.value("qkv_tokenizer", nlohmann::json()).dump()));
  }
  t.finish_bundle(bytes, path);
  return t;
}

std::string Tokenizer::bpe_bundle(const std::string& vocab_json, const std::string& merges_txt) {
  return nlohmann::ordered_json{{"qkv_tokenizer", "bpe"}, {"vocab.json", vocab_json}, {"merges.txt", merges_txt}}.dump();
}

std::string Tokenizer::wordpiece_bundle(const std::string& vocab_txt, bool lower_case) {
  return nlohmann::ordered_json{{"qkv_tokenizer", "wordpiece"}, {"vocab.txt", vocab_txt}, {"do_lower_case", lower_case},
                        {"max_input_chars_per_word", 100}, {"tokenize_chinese_chars", true}}
      .dump();
}

namespace {

bool is_bundle(const std::string& bytes) {
  return !bytes.empty() && bytes[0] == '{' && bytes.compare(1, 16, "\"qkv_tokenizer\":") == 0;
}

}  // namespace

Tokenizer Tokenizer::load(const TokenizerConfig& config) {
  if (config.kind == TokenizerKind::kSentencePiece) return load(config.model);
  const std::string model = read_input_file(config.model, config.kind == TokenizerKind::kBpe ? "GPT-2 vocab.json" : "BERT vocab.txt");
  if (is_bundle(model)) return from_bundle(model, config.model);  // a run's tokenizer.model
  if (config.kind == TokenizerKind::kBpe) {
    const std::string merges =
        config.merges.empty() ? (fs::path(config.model).parent_path() / "merges.txt").string() : config.merges;
    return from_bundle(bpe_bundle(model, read_input_file(merges, "GPT-2 merges.txt")), config.model);
  }
  return from_bundle(wordpiece_bundle(model, config.lower_case), config.model);
}

Tokenizer Tokenizer::from_bytes(const std::string& bytes, const std::string& name) {
  if (is_bundle(bytes)) return from_bundle(bytes, name);
  throw InputError(fmt::format("{}: not a qkv tokenizer of kind bpe or wordpiece", name));
}

Tokenizer Tokenizer::load(const std::string& path) {
  const std::string bytes = read_input_file(path, "tokenizer model");
  if (is_bundle(bytes)) return from_bundle(bytes, path);
  const Bridge& b = bridge();
  char error[512] = {0};
  void* processor = b.open(bytes.data(), bytes.size(), error, sizeof(error));
  if (!processor) throw InputError(fmt::format("{}: not a SentencePiece model: {}", path, error));
  Tokenizer t;
  t.processor_ = std::shared_ptr<void>(processor, [close = b.close](void* p) { close(p); });
  t.checksum_ = checksum_hex(bytes);
  t.path_ = path;
  t.bytes_ = bytes;
  t.special_.pad = b.special(processor, 0);
  t.special_.unk = b.special(processor, 1);
  t.special_.bos = b.special(processor, 2);
  t.special_.eos = b.special(processor, 3);
  auto id_of = [&](const char* piece) {
    const int id = b.piece_to_id(processor, piece);
    return id == t.special_.unk ? -1 : id;
  };
  t.special_.mask = id_of("<mask>");
  t.special_.cls = id_of("<cls>");
  t.special_.sep = id_of("<sep>");
  if (t.special_.pad < 0 || t.special_.bos < 0 || t.special_.eos < 0) {
    throw InputError(fmt::format("{}: tokenizer lacks pad, bos or eos pieces (train it with qkv)", path));
  }
  return t;
}

namespace {

// Protocol-buffer wire format, as much as reading one string field needs: a varint at `at`.
bool read_varint(const std::string& bytes, size_t& at, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && at < bytes.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    value |= uint64_t(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// The bytes of the first length-delimited field `number` of the message in bytes[begin, end).
bool find_field(const std::string& bytes, size_t begin, size_t end, uint64_t number, size_t& field_begin, size_t& field_end) {
  size_t at = begin;
  while (at < end) {
    uint64_t key = 0, length = 0;
    if (!read_varint(bytes, at, key)) return false;
    switch (key & 7) {
      case 0: if (!read_varint(bytes, at, length)) return false; break;
      case 1: at += 8; break;
      case 5: at += 4; break;
      case 2:
        if (!read_varint(bytes, at, length) || length > end - at) return false;
        if ((key >> 3) == number) {
          field_begin = at, field_end = at + size_t(length);
          return true;
        }
        at += size_t(length);
        break;
      default: return false;
    }
  }
  return false;
}

}  // namespace

std::string Tokenizer::normalization_rule() const {
  if (kind_ != TokenizerKind::kSentencePiece || bytes_.empty()) return "";
  // ModelProto field 3 is normalizer_spec; NormalizerSpec field 1 is its name.
  size_t spec_begin = 0, spec_end = 0, name_begin = 0, name_end = 0;
  if (!find_field(bytes_, 0, bytes_.size(), 3, spec_begin, spec_end)) return "";
  if (!find_field(bytes_, spec_begin, spec_end, 1, name_begin, name_end)) return "";
  return bytes_.substr(name_begin, name_end - name_begin);
}

namespace {
constexpr const char* kSpecialPieces[] = {"<pad>", "<unk>", "<s>", "</s>", "<mask>", "<cls>", "<sep>"};
constexpr int kSpecialCount = 7;
}  // namespace

void Tokenizer::set_target(const Tokenizer& target) {
  target_ = std::make_shared<const Tokenizer>(target);
  checksum_ += "+" + target.checksum();
}

Tokenizer Tokenizer::symbols(const std::string& alphabet) {
  Tokenizer t;
  t.alphabet_ = alphabet;
  t.checksum_ = checksum_hex("symbols:" + alphabet);
  t.special_ = SpecialTokens{0, 1, 2, 3, 4, 5, 6};
  return t;
}

void Tokenizer::train(const std::string& text_file, const std::string& model_path, const TokenizerConfig& config,
                      uint64_t seed) {
  const fs::path target(model_path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string prefix = (target.parent_path() / fmt::format(".tmp-{}-{}", target.stem().string(), getpid())).string();
  const std::vector<std::pair<std::string, std::string>> args{
      {"input", text_file},
      {"model_prefix", prefix},
      {"vocab_size", std::to_string(config.vocab_size)},
      {"model_type", choice_name(tokenizer_type_choices(), config.type)},
      {"character_coverage", fmt::format("{}", config.character_coverage)},
      {"normalization_rule_name", choice_name(normalization_choices(), config.normalization)},
      {"input_sentence_size", std::to_string(config.max_sentences)},
      {"shuffle_input_sentence", "true"},
      {"pad_id", "0"},
      {"unk_id", "1"},
      {"bos_id", "2"},
      {"eos_id", "3"},
      {"user_defined_symbols", "<mask>,<cls>,<sep>"},
      {"hard_vocab_limit", "false"},
      {"num_threads", std::to_string(std::max(1u, std::thread::hardware_concurrency()))},
  };
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : args) keys.push_back(k.c_str()), values.push_back(v.c_str());
  char error[1024] = {0};
  if (bridge().train(keys.data(), values.data(), keys.size(), unsigned(seed), error, sizeof(error)) != 0) {
    throw InputError(fmt::format("{}: tokenizer training failed: {}", text_file, error));
  }
  fs::rename(prefix + ".model", target);  // atomic: a half-trained model never has the final name
  std::error_code ignored;
  fs::remove(prefix + ".vocab", ignored);
}

std::vector<int> Tokenizer::encode(std::string_view text) const {
  if (bpe_) return bpe_->encode(text);
  if (wordpiece_) return wordpiece_->encode(text);
  if (!processor_) {
    std::vector<int> ids;
    for (char c : text) {
      if (c == ' ') continue;
      const size_t at = alphabet_.find(c);
      ids.push_back(at == std::string::npos ? special_.unk : kSpecialCount + int(at));
    }
    return ids;
  }
  std::vector<int> ids(text.size() + 2);  // every piece covers at least one byte
  const size_t n = bridge().encode(processor_.get(), text.data(), text.size(), ids.data(), ids.size());
  if (n > ids.size()) {
    ids.resize(n);
    bridge().encode(processor_.get(), text.data(), text.size(), ids.data(), ids.size());
  }
  ids.resize(n);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  if (bpe_) {
    std::vector<int> kept;  // <|endoftext|> separates documents; text has no place for it
    for (int id : ids)
      if (id != special_.eos && id >= 0 && id < bpe_->vocab_size()) kept.push_back(id);
    return bpe_->decode(kept);
  }
  if (wordpiece_) {
    std::vector<int> kept;
    for (int id : ids)
      if (id >= 0 && id < wordpiece_->vocab_size() && id != special_.cls && id != special_.sep) kept.push_back(id);
    return wordpiece_->decode(kept);
  }
  if (!processor_) {
    std::string text;
    for (int id : ids)
      if (id >= kSpecialCount && id < vocab_size()) text += alphabet_[size_t(id - kSpecialCount)];
    return text;
  }
  std::string text(ids.size() * 8 + 16, '\0');
  size_t n = bridge().decode(processor_.get(), ids.data(), ids.size(), text.data(), text.size());
  if (n > text.size()) {
    text.resize(n);
    n = bridge().decode(processor_.get(), ids.data(), ids.size(), text.data(), text.size());
  }
  text.resize(n);
  return text;
}

std::string Tokenizer::piece(int id) const {
  if (bpe_) return id >= 0 && id < bpe_->vocab_size() ? bpe_->piece(id) : "<unk>";
  if (wordpiece_) return id >= 0 && id < wordpiece_->vocab_size() ? wordpiece_->piece(id) : "[UNK]";
  if (!processor_) {
    if (id >= 0 && id < kSpecialCount) return kSpecialPieces[id];
    return id < vocab_size() ? std::string(1, alphabet_[size_t(id - kSpecialCount)]) : "<unk>";
  }
  std::string out(64, '\0');
  size_t n = bridge().id_to_piece(processor_.get(), id, out.data(), out.size());
  if (n > out.size()) {
    out.resize(n);
    n = bridge().id_to_piece(processor_.get(), id, out.data(), out.size());
  }
  out.resize(n);
  return out;
}

int Tokenizer::vocab_size() const {
  if (bpe_) return bpe_->vocab_size();
  if (wordpiece_) return wordpiece_->vocab_size();
  return processor_ ? bridge().piece_size(processor_.get()) : kSpecialCount + int(alphabet_.size());
}

}  // namespace qkv
