// qkv embeddings end to end: neighbours, an analogy and a map of a vector file with planted
// structure (English and Chinese words), a trained model's token embeddings, and bad requests
// stopping with one line and exit code 2.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "helpers.h"

using namespace qkv;

namespace {

nlohmann::json last_json_line(const std::string& output) {
  const auto start = output.rfind("\n{");
  return nlohmann::json::parse(output.substr(start == std::string::npos ? 0 : start + 1));
}

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace

TEST_CASE("embeddings of a vector file: neighbours, analogy, map", "[cli]") {
  test::ScratchDir dir("embeddings");
  // royal/common on axis 0, male/female on axis 1, fruit on axis 2; 国王 is king's twin.
  std::ofstream(dir / "vectors.txt") << "8 4\n"
                                        "king 1 1 0 0.1\nqueen 1 -1 0 0.1\nman 0 1 0 -0.1\nwoman 0 -1 0 -0.1\n"
                                        "国王 1 1 0 0.12\napple 0 0 1 0\n苹果 0 0 1 0.05\npear 0 0.1 1 0\n";
  const std::string args = fmt::format("embeddings experiments/quickstart-tiny.yaml --vectors '{}' --out '{}' ", dir / "vectors.txt",
                                       dir / "map");
  auto r = test::run_qkv(args + "--near 国王 --near apple --analogy 'man king woman' --count 2 --map --method pca "
                                "--words king,queen,man,woman,国王,苹果 --no-plots");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto line = last_json_line(r.output);
  CHECK(line["near"]["国王"][0][0] == "king");
  CHECK(line["near"]["apple"][0][0] == "苹果");
  CHECK(line["analogy"]["man king woman"][0][0] == "queen");
  CHECK(line["map"]["method"] == "pca");
  CHECK(count_lines(dir / "map/map.csv") == 7);  // header and six words

  // t-SNE over every row, and the picture when matplotlib is there (scripts/setup.sh installs it).
  auto tsne = test::run_qkv(args + "--map --top 8 --perplexity 2");
  INFO(tsne.output);
  REQUIRE(tsne.exit_code == 0);
  CHECK(count_lines(dir / "map/map.csv") == 9);
  if (test::run_shell("python3 -c 'import matplotlib' 2>/dev/null").exit_code == 0) {
    REQUIRE(std::filesystem::exists(dir / "map/map.png"));
    CHECK(std::filesystem::file_size(dir / "map/map.png") > 1000);
  }

  auto unknown = test::run_qkv(args + "--map --words king,nosuchword");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.output.find("nosuchword") != std::string::npos);
  auto nothing = test::run_qkv(args);
  CHECK(nothing.exit_code == 2);
  auto bad_analogy = test::run_qkv(args + "--analogy 'king queen'");
  CHECK(bad_analogy.exit_code == 2);
}

TEST_CASE("embeddings of a trained model's pieces", "[cli]") {
  test::ScratchDir dir("embeddings-model");
  const std::string sets = fmt::format("--set tokenizer.model='{}' --set output='{}' --set train.steps=6 --set train.eval_every=0",
                                       dir / "spm.model", dir / "run");
  auto train = test::run_qkv("train experiments/quickstart-tiny.yaml -q " + sets);
  INFO(train.output);
  REQUIRE(train.exit_code == 0);
  auto r = test::run_qkv("embeddings experiments/quickstart-tiny.yaml --near God --map --top 20 --no-plots " + sets);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto line = last_json_line(r.output);
  REQUIRE(line["near"]["God"].is_array());
  CHECK(line["near"]["God"].size() == 8);
  CHECK(count_lines(dir / "run/embeddings/map.csv") == 21);

  // Contextual vectors: in a causal model the word's vector depends only on what came before it,
  // so the same opening gives the same vector whatever follows, and another opening another one.
  auto context = test::run_qkv("embeddings experiments/quickstart-tiny.yaml --word God --context 'God created the heaven' "
                               "--context 'God said unto Moses' --context 'And God said' " + sets);
  INFO(context.output);
  REQUIRE(context.exit_code == 0);
  const auto c = last_json_line(context.output)["context"];
  REQUIRE(c["sentences"].size() == 3);
  CHECK(c["sentences"][0]["position"] == 1);  // after the line start
  const auto& third = c["sentences"][2];
  CHECK(third["pieces"][third["position"].get<size_t>()] == "\xE2\x96\x81God");  // after "And"'s pieces
  // The first word of a causal model reads only the line start and itself.
  const auto& attends = c["sentences"][0]["attends"];
  REQUIRE(attends.size() <= 2);
  double read = 0;
  for (const auto& a : attends) read += a[1].get<double>();
  CHECK(read == Approx(1.0).margin(2e-3));
  REQUIRE(c["cos_between"].size() == 3);  // pairs (1,2), (1,3), (2,3)
  CHECK(c["cos_between"][0][2].get<double>() == Approx(1.0).margin(1e-3));
  CHECK(c["cos_between"][1][2].get<double>() < 0.999);
  auto missing = test::run_qkv("embeddings experiments/quickstart-tiny.yaml --word Moses --context 'In the beginning' " + sets);
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Contains("is not one piece of"));
}
