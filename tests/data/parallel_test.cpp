// Parallel text: line-aligned files must have one line per pair (both files and both counts
// named otherwise); bad lines on either side stop the run or drop their pair; TSV pairs.
#include <catch2/catch.hpp>

#include <fstream>

#include "helpers.h"
#include "transformer/data/parallel.h"
#include "transformer/util/errors.h"

using namespace qkv;

namespace {

DataConfig parallel() {
  DataConfig d;
  d.format = DataFormat::kParallel;
  d.source = "es";
  d.target = "en";
  return d;
}

std::string error_of(const std::string& prefix, const DataConfig& d) {
  TaskConfig t;
  t.kind = TaskKind::kTranslate;
  try {
    read_pairs(prefix, d, t);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("parallel files: aligned lines, different lengths named, bad lines", "[data]") {
  test::ScratchDir dir("parallel");
  const std::string prefix = dir / "p";
  std::ofstream(prefix + ".es") << "hola\nadiós\ngracias\n";
  std::ofstream(prefix + ".en") << "hello\r\ngoodbye\r\nthanks\r\n";
  TaskConfig t;
  t.kind = TaskKind::kTranslate;
  const auto pairs = read_pairs(prefix, parallel(), t);
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[1].source == "adiós");
  CHECK(pairs[1].target == "goodbye");
  CHECK(pairs[2].line == 3);

  std::ofstream(prefix + ".en") << "hello\ngoodbye\n";
  CHECK(error_of(prefix, parallel()) == prefix + ".es: 3 lines, " + prefix + ".en: 2 lines: parallel files must have one line per sentence pair");

  std::ofstream(prefix + ".en") << "hello\n\nthanks\n";
  CHECK_THAT(error_of(prefix, parallel()), Catch::StartsWith(prefix + ".en:2: empty line"));
  std::ofstream(prefix + ".es") << "hola\nadi\xC3s\ngracias\n";
  CHECK_THAT(error_of(prefix, parallel()), Catch::StartsWith(prefix + ".es:2: invalid UTF-8"));

  DataConfig skip = parallel();
  skip.on_error = OnError::kSkip;
  skip.max_skipped = 0.5;
  std::string dropped;
  const auto kept = read_pairs(prefix, skip, t, &dropped);
  CHECK(kept.size() == 2);  // line 2 is bad on both sides: its pair goes
  CHECK(dropped == "1 invalid UTF-8; " + prefix + ".en: 1 empty line");
}

TEST_CASE("translation pairs from TSV columns", "[data]") {
  test::ScratchDir dir("parallel-tsv");
  std::ofstream(dir / "p.tsv") << "es\ten\nhola\thello\nbuenos días\tgood morning\n";
  DataConfig d;
  d.format = DataFormat::kTsv;
  d.columns.text = "es";
  d.columns.text_b = "en";
  TaskConfig t;
  t.kind = TaskKind::kTranslate;
  const auto pairs = read_pairs(dir / "p.tsv", d, t);
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[1].target == "good morning");
}
