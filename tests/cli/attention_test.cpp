// qkv attention on a briefly trained t5 model: one map per layer and head whose rows are
// probability distributions with nothing above the diagonal (causal), the bias of each head, and
// attention mass by distance that sums to one at every length and layer.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "helpers.h"

using namespace qkv;

namespace {

std::vector<std::vector<double>> read_matrix(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<double>> rows;
  for (std::string line; std::getline(in, line);) {
    std::stringstream cells(line);
    std::vector<double> row;
    for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("attention maps, biases and mass by distance of a trained model", "[cli]") {
  test::ScratchDir dir("attention");
  const std::string sets = fmt::format(
      "--set tokenizer.model='{}' --set output='{}' --set model.position.scheme=t5 --set train.steps=6 "
      "--set train.eval_every=0 --set train.save_every=0",
      dir / "spm.model", dir / "run");
  auto train = test::run_qkv("train experiments/quickstart-tiny.yaml -q " + sets);
  INFO(train.output);
  REQUIRE(train.exit_code == 0);

  auto maps = test::run_qkv("attention experiments/quickstart-tiny.yaml --text 'In the beginning God created' --mass "
                            "--lengths 16,48 --no-plots " + sets);
  INFO(maps.output);
  REQUIRE(maps.exit_code == 0);
  const std::string out = dir / "run/attention";
  std::ifstream tokens_file(out + "/tokens.txt");
  size_t tokens = 0;
  for (std::string line; std::getline(tokens_file, line);) ++tokens;
  REQUIRE(tokens >= 3);
  for (int layer = 1; layer <= 2; ++layer)
    for (int head = 1; head <= 4; ++head) {
      CAPTURE(layer, head);
      const auto m = read_matrix(fmt::format("{}/L{}-H{}.csv", out, layer, head));
      REQUIRE(m.size() == tokens);
      for (size_t i = 0; i < m.size(); ++i) {
        REQUIRE(m[i].size() == tokens);
        double sum = 0;
        for (size_t j = 0; j < m[i].size(); ++j) {
          sum += m[i][j];
          if (j > i) CHECK(m[i][j] == 0.0);  // no weight on later tokens
        }
        CHECK(sum == Approx(1.0).epsilon(1e-4));
      }
    }
  CHECK_FALSE(std::filesystem::exists(fmt::format("{}/L3-H1.csv", out)));
  for (int head = 1; head <= 4; ++head) CHECK(read_matrix(fmt::format("{}/bias-H{}.csv", out, head)).size() == tokens);

  // attention_mass.csv: length,layer,distance,mass; distances 0..length-1 for a decoder.
  std::ifstream mass_file(out + "/attention_mass.csv");
  std::string header;
  std::getline(mass_file, header);
  CHECK(header == "length,layer,distance,mass");
  std::map<std::pair<int, std::string>, double> sums;
  std::map<std::pair<int, std::string>, int> counts;
  for (std::string line; std::getline(mass_file, line);) {
    std::stringstream cells(line);
    std::string length, layer, distance, mass;
    std::getline(cells, length, ','), std::getline(cells, layer, ','), std::getline(cells, distance, ',');
    std::getline(cells, mass, ',');
    CHECK(std::stoi(distance) >= 0);
    sums[{std::stoi(length), layer}] += std::stod(mass);
    counts[{std::stoi(length), layer}] += 1;
  }
  CHECK(sums.size() == 6);  // lengths 16 and 48, layers all, 1 and 2
  for (const auto& [key, sum] : sums) {
    CAPTURE(key.first, key.second);
    CHECK(sum == Approx(1.0).epsilon(1e-4));
    CHECK(counts[key] == key.first);
  }

  // Neither --text nor --mass: a usage error.
  auto nothing = test::run_qkv("attention experiments/quickstart-tiny.yaml " + sets);
  CHECK(nothing.exit_code == 2);
}
