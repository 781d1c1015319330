// The Chinese corpora scripts/prepare_data.sh builds: Chinese-English from npm quran-json
// (scripts/parallel_quran.py: counts, chapters held out, alignment, no stray spaces between
// characters) and classical poetry from Debian's fortunes-zh (scripts/poetry_pairs.py: counts,
// pairs that rebuild their lines, nothing held out seen in training).
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "helpers.h"

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);  // scripts/prepare_data.sh builds it
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool cjk_at(const std::string& s, size_t i) {  // a 3-byte UTF-8 character in U+3400..U+9FFF starts at i
  if (i + 2 >= s.size()) return false;
  const auto b = static_cast<unsigned char>(s[i]), c = static_cast<unsigned char>(s[i + 1]);
  return (b == 0xE3 && c >= 0x90) || (b >= 0xE4 && b <= 0xE9);
}

}  // namespace

TEST_CASE("zh-en corpus: 6,236 verses, whole chapters held out, aligned, clean Chinese", "[data]") {
  const std::map<std::string, size_t> expected{{"train", 5531}, {"valid", 342}, {"test", 363}};
  size_t total = 0;
  for (const auto& [split, pairs] : expected) {
    CAPTURE(split);
    const auto zh = qkv::test::source_path("data/zh-en/" + split + ".zh");
    const auto en = qkv::test::source_path("data/zh-en/" + split + ".en");
    const auto zh_lines = read_lines(zh), en_lines = read_lines(en);
    CHECK(zh_lines.size() == pairs);
    REQUIRE(en_lines.size() == zh_lines.size());
    total += zh_lines.size();
    for (size_t i = 0; i < zh_lines.size(); ++i) {
      CAPTURE(i);
      REQUIRE(!zh_lines[i].empty());
      REQUIRE(!en_lines[i].empty());
      // No space between two Chinese characters.
      for (size_t at = zh_lines[i].find(' '); at != std::string::npos; at = zh_lines[i].find(' ', at + 1))
        CHECK(!(at >= 3 && cjk_at(zh_lines[i], at - 3) && cjk_at(zh_lines[i], at + 1)));
    }
  }
  CHECK(total == 6236);
  // Chapter 1 opens training; chapter 12 (Joseph) opens valid; chapter 18 (the Cave) opens test.
  CHECK(read_lines(qkv::test::source_path("data/zh-en/train.en"))[0] == "In the name of Allah, the Entirely Merciful, the Especially Merciful");
  CHECK(read_lines(qkv::test::source_path("data/zh-en/valid.en"))[0].rfind("Alif, Lam, Ra", 0) == 0);
  CHECK(read_lines(qkv::test::source_path("data/zh-en/test.en"))[0].rfind("[All] praise is [due] to Allah, who has sent down", 0) == 0);
}

TEST_CASE("poetry corpus: pairs rebuild their lines, held-out poems stay out of training", "[data]") {
  std::map<std::string, std::vector<std::string>> lines, first, rest;
  for (const std::string split : {"train", "valid", "test"}) {
    CAPTURE(split);
    lines[split] = read_lines(qkv::test::source_path("data/poetry/" + split + ".txt"));
    first[split] = read_lines(qkv::test::source_path("data/poetry/" + split + ".first"));
    rest[split] = read_lines(qkv::test::source_path("data/poetry/" + split + ".next"));
    REQUIRE(first[split].size() == lines[split].size());
    REQUIRE(rest[split].size() == lines[split].size());
    for (size_t i = 0; i < lines[split].size(); ++i) CHECK(first[split][i] + rest[split][i] == lines[split][i]);
  }
  CHECK(lines["train"].size() == 2738);
  CHECK(lines["valid"].size() == 174);
  CHECK(lines["test"].size() == 192);
  const std::set<std::string> train_lines(lines["train"].begin(), lines["train"].end());
  const std::set<std::string> train_first(first["train"].begin(), first["train"].end());
  for (const std::string split : {"valid", "test"})
    for (size_t i = 0; i < lines[split].size(); ++i) {
      CHECK(train_lines.count(lines[split][i]) == 0);
      CHECK(train_first.count(first[split][i]) == 0);
    }
}
