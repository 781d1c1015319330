// Denoising corruption: Poisson draws have the mean, variance and zero share of Poisson(lambda);
// text infilling masks exactly round(ratio * n) tokens in spans that account for the corrupted
// line token by token, with span lengths averaging lambda; sentence permutation moves whole
// sentences and reaches every order; a reduced training set is a fixed subset.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "helpers.h"
#include "transformer/tasks/denoise.h"

using namespace qkv;

namespace {

constexpr int64_t kMask = 4;

// The line a corruption stands for: unmasked tokens in order, each span's tokens where its mask is.
std::vector<int64_t> undo(const Infilled& infilled, const std::vector<int64_t>& line) {
  std::vector<int64_t> out;
  size_t span = 0;
  int64_t at = 0;
  for (int64_t token : infilled.tokens) {
    if (token == kMask) {
      REQUIRE(span < infilled.spans.size());
      const auto [start, length] = infilled.spans[span++];
      REQUIRE(start == at);
      for (int64_t i = 0; i < length; ++i) out.push_back(line[size_t(at++)]);
    } else {
      REQUIRE(token == line[size_t(at)]);  // an unmasked token is the line's next one
      out.push_back(line[size_t(at++)]);
    }
  }
  CHECK(span == infilled.spans.size());
  return out;
}

std::vector<int64_t> ordinary_line(int64_t n, std::mt19937_64& rng) {
  std::vector<int64_t> line;
  for (int64_t i = 0; i < n; ++i) line.push_back(10 + int64_t(rng() % 5000));
  return line;
}

}  // namespace

TEST_CASE("poisson_draw has the mean, variance and zero share of Poisson(lambda)", "[tasks]") {
  for (const double lambda : {3.0, 0.5, 12.0}) {
    CAPTURE(lambda);
    std::mt19937_64 rng(5);
    const int n = 200000;
    double sum = 0, squares = 0, zeros = 0;
    for (int i = 0; i < n; ++i) {
      const double k = double(poisson_draw(lambda, rng));
      sum += k, squares += k * k, zeros += k == 0;
    }
    const double mean = sum / n, variance = squares / n - mean * mean;
    // Standard errors: sqrt(lambda / n) for the mean, about sqrt(2 lambda^2 / n) for the variance.
    CHECK(mean == Approx(lambda).margin(5 * std::sqrt(lambda / n)));
    CHECK(variance == Approx(lambda).margin(5 * std::sqrt((2 * lambda * lambda + lambda) / n)));
    CHECK(zeros / n == Approx(std::exp(-lambda)).margin(0.003));
  }
}

TEST_CASE("text infilling masks round(0.3 n) tokens in Poisson(3) spans, one <mask> each", "[tasks]") {
  std::mt19937_64 rng(7);
  SECTION("a long line: span statistics") {
    const auto line = ordinary_line(30000, rng);
    const Infilled infilled = text_infilling(line, kMask, 0.3, 3.0, rng);
    int64_t masked = 0, zeros = 0;
    for (const auto& [start, length] : infilled.spans) masked += length, zeros += length == 0;
    CHECK(masked == 9000);
    CHECK(int64_t(infilled.tokens.size()) == 30000 - 9000 + int64_t(infilled.spans.size()));
    CHECK(std::count(infilled.tokens.begin(), infilled.tokens.end(), kMask) == int64_t(infilled.spans.size()));
    CHECK(undo(infilled, line) == line);
    // About 3,000 spans; all but the last (shortened to fit) are plain Poisson(3) draws.
    const double spans = double(infilled.spans.size() - 1);
    const double mean = double(masked - infilled.spans.back().second) / spans;
    CHECK(mean == Approx(3.0).margin(5 * std::sqrt(3.0 / spans)));
    CHECK(double(zeros) / spans == Approx(std::exp(-3.0)).margin(0.015));  // length-0 spans insert a mask
  }
  SECTION("verse-length lines: the ratio holds line by line and over the corpus") {
    int64_t tokens = 0, masked = 0;
    for (int i = 0; i < 3000; ++i) {
      const auto line = ordinary_line(3 + int64_t(rng() % 60), rng);
      const Infilled infilled = text_infilling(line, kMask, 0.3, 3.0, rng);
      int64_t m = 0;
      for (const auto& span : infilled.spans) m += span.second;
      CHECK(m == std::llround(0.3 * double(line.size())));
      CHECK(undo(infilled, line) == line);
      tokens += int64_t(line.size()), masked += m;
    }
    CHECK(double(masked) / double(tokens) == Approx(0.3).margin(0.005));
  }
  SECTION("a function of the stream; nothing to mask leaves the line") {
    const auto line = ordinary_line(40, rng);
    std::mt19937_64 a(3), b(3);
    CHECK(text_infilling(line, kMask, 0.3, 3.0, a).tokens == text_infilling(line, kMask, 0.3, 3.0, b).tokens);
    CHECK(text_infilling({11}, kMask, 0.3, 3.0, a).tokens == std::vector<int64_t>{11});
    CHECK(text_infilling(line, kMask, 0.0, 3.0, a).tokens == line);
  }
}

TEST_CASE("sentence permutation moves whole sentences and reaches every order", "[tasks]") {
  std::vector<bool> ends(100, false);
  ends[9] = true;  // id 9 is a full stop
  const std::vector<int64_t> line{20, 21, 9, 30, 9, 40, 41, 42, 9};
  std::set<std::vector<int64_t>> seen;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200; ++i) {
    const auto permuted = permute_sentences(line, ends, rng);
    auto sorted = permuted, original = line;
    std::sort(sorted.begin(), sorted.end()), std::sort(original.begin(), original.end());
    REQUIRE(sorted == original);
    seen.insert(permuted);
  }
  CHECK(seen.size() == 6);  // 3! orders, each sentence kept whole
  CHECK(seen.count({30, 9, 40, 41, 42, 9, 20, 21, 9}) == 1);
  // A last sentence without a full stop moves too; a line of one sentence stays.
  CHECK(permute_sentences({20, 21, 22}, ends, rng) == std::vector<int64_t>{20, 21, 22});
}

TEST_CASE("fixed_subset draws from the whole file and keeps file order", "[tasks]") {
  const auto a = fixed_subset(30281, 2000);
  CHECK(a.size() == 2000);
  CHECK(std::is_sorted(a.begin(), a.end()));
  CHECK(std::set<int64_t>(a.begin(), a.end()).size() == 2000);
  CHECK(a.back() < 30281);
  CHECK(fixed_subset(30281, 2000) == a);
  CHECK(a.back() > 25000);  // drawn from the whole file, not its head
}
