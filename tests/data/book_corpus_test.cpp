// The long-context corpus scripts/prepare_data.sh builds (scripts/book_corpus.py): whole works as
// documents separated by one blank line, the held-out Moby-Dick chapters only in their split, no
// line the tokenizer trainer would drop.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "helpers.h"

namespace {

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

TEST_CASE("books corpus: whole works as documents, held-out chapters stay out of training", "[data]") {
  const std::map<std::string, size_t> documents{{"train", 246}, {"valid", 28}, {"test", 28}};
  std::map<std::string, std::set<int>> chapters;  // split -> Moby-Dick chapter numbers
  for (const auto& [split, expected] : documents) {
    CAPTURE(split);
    std::ifstream in(qkv::test::source_path("data/books/" + split + ".txt"));
    REQUIRE(in);  // scripts/prepare_data.sh builds it
    size_t count = 0, lines = 0;
    bool blank_before = true;  // the file starts a document
    for (std::string line; std::getline(in, line); ++lines) {
      CAPTURE(lines);
      if (line.empty()) {
        REQUIRE_FALSE(blank_before);  // one blank line between documents, none empty
        blank_before = true;
        continue;
      }
      count += blank_before;
      blank_before = false;
      REQUIRE(code_points(line) <= 2000);
      REQUIRE(line.front() != ' ');
      if (line.rfind("CHAPTER ", 0) == 0 && line.find('.') != std::string::npos)
        chapters[split].insert(std::stoi(line.substr(8)));
    }
    CHECK_FALSE(blank_before);
    CHECK(count == expected);
  }
  CHECK(chapters["train"].size() == 115u);
  CHECK(*chapters["train"].rbegin() == 115);
  CHECK(chapters["valid"] == std::set<int>{116, 117, 118, 119, 120, 121, 122, 123, 124, 125});
  CHECK(chapters["test"] == std::set<int>{126, 127, 128, 129, 130, 131, 132, 133, 134, 135});
}
