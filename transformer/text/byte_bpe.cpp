// GPT-2's byte-level BPE: vocabulary and merges kept by id, merges applied lowest rank first,
// every occurrence of the chosen pair merged left to right, as GPT-2's encoder does.
#include "transformer/text/byte_bpe.h"

#include <unicode/regex.h>
#include <unicode/unistr.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"

namespace qkv {

namespace {

// GPT-2's table from bytes to printable characters: the printable Latin-1 bytes stand for
// themselves, the other 68 take code points from 256 up in byte order.
struct ByteTable {
  char32_t to_char[256];
  std::unordered_map<char32_t, uint8_t> to_byte;
  ByteTable() {
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? char32_t(b) : char32_t(256 + next++);
      to_byte[to_char[b]] = uint8_t(b);
    }
  }
};

const ByteTable& byte_table() {
  static const ByteTable table;
  return table;
}

// A piece in vocab.json's spelling to its raw bytes; false when a character is not in the table.
bool raw_bytes(const std::string& spelled, std::string* out) {
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(spelled);
  out->clear();
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) {
    const auto it = byte_table().to_byte.find(char32_t(u.char32At(i)));
    if (it == byte_table().to_byte.end()) return false;
    out->push_back(char(it->second));
  }
  return true;
}

// GPT-2's pattern with \s spelled out as ECMAScript defines it (the reference encoder's), since
// ICU's \s leaves out U+000B and U+FEFF.
const icu::RegexPattern& pattern() {
  static const std::unique_ptr<icu::RegexPattern> compiled = [] {
    const std::string ws = R"(\t\n\x{0B}\f\r\p{Zs}\x{2028}\x{2029}\x{FEFF})";
    const std::string text = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + ws + "\\p{L}\\p{N}]+|[" + ws + "]+(?![^" + ws +
                             "])|[" + ws + "]+";
    UErrorCode status = U_ZERO_ERROR;
    UParseError where;
    std::unique_ptr<icu::RegexPattern> p(icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(text), 0, where, status));
    if (U_FAILURE(status)) throw std::logic_error(fmt::format("GPT-2 pattern: {}", u_errorName(status)));
    return p;
  }();
  return *compiled;
}

uint64_t pair_key(int left, int right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }

std::atomic<uint64_t> next_instance{1};

}  // namespace

ByteLevelBpe ByteLevelBpe::load(const std::string& vocab_json, const std::string& merges_txt) {
  return parse(read_input_file(vocab_json, "vocabulary"), vocab_json, read_input_file(merges_txt, "merges"), merges_txt);
}

ByteLevelBpe ByteLevelBpe::parse(const std::string& vocab_text, const std::string& vocab_json,
                                 const std::string& merges_text, const std::string& merges_txt) {
  ByteLevelBpe bpe;
  bpe.instance_ = next_instance++;
  bpe.vocab_text_ = vocab_text;
  bpe.merges_text_ = merges_text;
  nlohmann::json vocab;
  try {
    vocab = nlohmann::json::parse(vocab_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(fmt::format("{}: byte {}: invalid JSON ({})", vocab_json, e.byte > 0 ? e.byte - 1 : 0, e.what()));
  }
  if (!vocab.is_object()) throw InputError(fmt::format("{}: not an object of piece to id", vocab_json));
  bpe.bytes_.resize(vocab.size());
  std::vector<bool> seen(vocab.size());
  std::string raw;
  for (const auto& [spelled, id] : vocab.items()) {
    if (!id.is_number_unsigned() || id.get<uint64_t>() >= vocab.size() || seen[id.get<size_t>()])
      throw InputError(fmt::format("{}: piece {}: id {} is not a distinct id below {}", vocab_json, spelled, id.dump(), vocab.size()));
    if (!raw_bytes(spelled, &raw))
      throw InputError(fmt::format("{}: piece {}: a character outside GPT-2's byte alphabet", vocab_json, spelled));
    seen[id.get<size_t>()] = true;
    bpe.bytes_[id.get<size_t>()] = raw;
    bpe.ids_[raw] = id.get<int>();
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = bpe.ids_.find(std::string(1, char(b)));
    if (it == bpe.ids_.end()) throw InputError(fmt::format("{}: byte {} has no piece of its own", vocab_json, b));
    bpe.byte_ids_[b] = it->second;
  }
  std::istringstream merges_in(merges_text);
  std::string line, left, right;
  uint64_t rank = 0;
  for (int number = 1; std::getline(merges_in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if ((number == 1 && line.rfind("#version", 0) == 0) || line.empty()) continue;
    const auto space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
      throw InputError(fmt::format("{}:{}: merges: not two pieces separated by one space", merges_txt, number));
    const bool known = raw_bytes(line.substr(0, space), &left) && raw_bytes(line.substr(space + 1), &right);
    const auto a = bpe.ids_.find(left), b = bpe.ids_.find(right), merged = bpe.ids_.find(left + right);
    if (!known || a == bpe.ids_.end() || b == bpe.ids_.end() || merged == bpe.ids_.end())
      throw InputError(fmt::format("{}:{}: merges: {} is not made of pieces of {}", merges_txt, number, line, vocab_json));
    bpe.merges_.emplace(pair_key(a->second, b->second), (rank++ << 32) | uint32_t(merged->second));
  }
  return bpe;
}

void ByteLevelBpe::merge_word(const std::string& word, std::vector<int>* out) const {
  std::vector<int> parts;
  parts.reserve(word.size());
  for (const unsigned char c : word) parts.push_back(byte_ids_[c]);
  while (parts.size() > 1) {
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const auto it = merges_.find(pair_key(parts[i], parts[i + 1]));
      if (it != merges_.end() && it->second < best) best = it->second;
    }
    if (best == UINT64_MAX) break;
    const int merged = int(uint32_t(best));
    const auto rank_of = [&](size_t i) {
      const auto it = merges_.find(pair_key(parts[i], parts[i + 1]));
      return it == merges_.end() ? UINT64_MAX : it->second;
    };
    size_t kept = 0;
    for (size_t i = 0; i < parts.size();) {  // every occurrence of the pair, left to right
      if (i + 1 < parts.size() && rank_of(i) == best) {
        parts[kept++] = merged;
        i += 2;
      } else {
        parts[kept++] = parts[i++];
      }
    }
    parts.resize(kept);
  }
  out->insert(out->end(), parts.begin(), parts.end());
}

std::vector<std::string> ByteLevelBpe::pretokenize(std::string_view text) {
  thread_local std::unique_ptr<icu::RegexMatcher> matcher;
  UErrorCode status = U_ZERO_ERROR;
  if (!matcher) matcher.reset(pattern().matcher(status));
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), int32_t(text.size())));
  matcher->reset(u);
  std::vector<std::string> pieces;
  while (matcher->find()) {
    const int32_t begin = matcher->start(status), end = matcher->end(status);
    std::string piece;
    u.tempSubStringBetween(begin, end).toUTF8String(piece);
    pieces.push_back(std::move(piece));
  }
  matcher->reset(icu::UnicodeString());  // the matcher must not keep pointing at `u`
  return pieces;
}

std::vector<int> ByteLevelBpe::encode(std::string_view text) const {
  thread_local std::unordered_map<uint64_t, std::unordered_map<std::string, std::vector<int>>> caches;
  auto& cache = caches[instance_];
  if (cache.size() > (1u << 16)) cache.clear();  // bounded: the frequent words come back at once
  std::vector<int> ids;
  for (const std::string& word : pretokenize(text)) {
    const auto hit = cache.find(word);
    if (hit != cache.end()) {
      ids.insert(ids.end(), hit->second.begin(), hit->second.end());
      continue;
    }
    std::vector<int> merged;
    merge_word(word, &merged);
    ids.insert(ids.end(), merged.begin(), merged.end());
    cache.emplace(word, std::move(merged));
  }
  return ids;
}

std::string ByteLevelBpe::decode(const std::vector<int>& ids) const {
  std::string out;
  for (const int id : ids) out += bytes_.at(size_t(id));
  return out;
}

int ByteLevelBpe::id(const std::string& piece) const {
  std::string raw;
  if (!raw_bytes(piece, &raw)) return -1;
  const auto it = ids_.find(raw);
  return it == ids_.end() ? -1 : it->second;
}

std::string ByteLevelBpe::piece(int id) const {
  icu::UnicodeString u;
  for (const unsigned char c : bytes_.at(size_t(id))) u.append(UChar32(byte_table().to_char[c]));
  std::string out;
  u.toUTF8String(out);
  return out;
}

}  // namespace qkv
