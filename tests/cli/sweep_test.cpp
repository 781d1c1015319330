// qkv sweep: a sweep run twice gives identical numbers, and a finished sweep run again only
// rereads its points.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "helpers.h"

using namespace qkv;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// results.csv without the measured-speed and memory columns (timing differs run to run).
std::vector<std::string> model_columns(const std::string& csv_path) {
  std::ifstream in(csv_path);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    std::stringstream cells(line);
    std::string cell, row;
    int column = 0;
    while (std::getline(cells, cell, ',')) {
      if (column != 6 && column != 7) row += cell + ",";  // train_tokens_per_s, peak_rss_mib
      ++column;
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("a sweep run twice gives identical numbers; a finished sweep is not rerun", "[cli]") {
  test::ScratchDir dir("sweep");
  const std::string sets = fmt::format(
      "--set tokenizer.model='{}' --set train.steps=6 --set 'sweep.grid={{model.position.scheme: [t5, alibi], "
      "seed: [1, 2]}}' --set 'sweep.lengths=[32, 64]' --set sweep.baseline=t5 --set sweep.stride=16",
      dir / "spm.model");
  auto first = test::run_qkv(fmt::format("sweep experiments/pe-compare-tiny.yaml {} --set output='{}'", sets, dir / "a"));
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  auto header = model_columns(dir / "a/results.csv").at(0);
  CHECK(header == "model.position.scheme,seed,valid_loss,valid_ppl,parameters,flops_per_token,ppl@32,sppl@32,ppl@64,sppl@64,"
                  "run,");
  CHECK(model_columns(dir / "a/results.csv").size() == 5u);
  CHECK_THAT(read(dir / "a/report.md"), Catch::Contains("| alibi |") && Catch::Contains("against model.position.scheme = t5"));
  for (const char* png : {"a/valid_loss.png", "a/ppl_length.png"}) {  // plots that open: PNG signature
    CAPTURE(png);
    CHECK(read(dir / png).substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  }

  auto second = test::run_qkv(fmt::format("sweep experiments/pe-compare-tiny.yaml {} --set output='{}'", sets, dir / "b"));
  REQUIRE(second.exit_code == 0);
  CHECK(model_columns(dir / "a/results.csv") == model_columns(dir / "b/results.csv"));

  const std::string report = read(dir / "a/report.md");
  auto again = test::run_qkv(fmt::format("sweep experiments/pe-compare-tiny.yaml {} --set output='{}'", sets, dir / "a"));
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.output, Catch::Contains("[4/4] scheme-alibi_seed-2: done earlier"));
  CHECK(read(dir / "a/report.md") == report);

  // Killed midway (SIGTERM to the sweep and its children, as Ctrl-C would), then run again: only the
  // missing points are trained, and the numbers equal the uninterrupted sweep's.
  const std::string killed = dir / "k";
  auto interrupted = test::run_shell(fmt::format(
      "setsid '{}' sweep experiments/pe-compare-tiny.yaml {} --set output='{}' >/dev/null 2>&1 & pid=$!; "
      "for i in $(seq 600); do [ -f '{}/scheme-t5_seed-1/result.json' ] && break; sleep 0.05; done; "
      "kill -TERM -$pid; wait $pid; echo exit=$?",
      QKV_BINARY, sets, killed, killed));
  INFO(interrupted.output);
  CHECK_THAT(interrupted.output, Catch::Contains("exit=143"));
  CHECK_FALSE(std::filesystem::exists(killed + "/results.csv"));
  auto finished = test::run_qkv(fmt::format("sweep experiments/pe-compare-tiny.yaml {} --set output='{}'", sets, killed));
  INFO(finished.output);
  REQUIRE(finished.exit_code == 0);
  CHECK_THAT(finished.output, Catch::Contains("[1/4] scheme-t5_seed-1: done earlier"));
  CHECK_THAT(finished.output, !Catch::Contains("[4/4] scheme-alibi_seed-2: done earlier"));
  CHECK(model_columns(killed + "/results.csv") == model_columns(dir / "a/results.csv"));

  // Paired differences: the report's alibi row is the mean of (alibi - t5) over the seeds, for every
  // validation metric; an empty baseline value compares with the grid's empty value.
  {
    std::ifstream csv(dir / "a/results.csv");
    std::map<std::string, double> loss;  // "scheme seed" -> valid_loss
    std::string line;
    std::getline(csv, line);
    while (std::getline(csv, line)) {
      std::stringstream cells(line);
      std::string scheme, seed, value;
      std::getline(cells, scheme, ',');
      std::getline(cells, seed, ',');
      std::getline(cells, value, ',');
      loss[scheme + " " + seed] = std::stod(value);
    }
    const double mean = ((loss.at("alibi 1") - loss.at("t5 1")) + (loss.at("alibi 2") - loss.at("t5 2"))) / 2;
    const std::string row = fmt::format("| alibi | {:.3f} ± ", mean);
    CHECK_THAT(report, Catch::Contains("| model.position.scheme | valid_loss | valid_ppl |") && Catch::Contains(row));
  }
  // The 95% interval of alibi's sliding-window perplexity at 64 over its two seeds: mean ± t(0.975, 1) s / sqrt 2.
  {
    std::ifstream csv(dir / "a/results.csv");
    std::string line, cell;
    std::getline(csv, line);
    std::vector<std::string> names;
    for (std::stringstream cells(line); std::getline(cells, cell, ',');) names.push_back(cell);
    const size_t column = size_t(std::find(names.begin(), names.end(), "sppl@64") - names.begin());
    REQUIRE(column < names.size());
    std::vector<double> ppl;
    while (std::getline(csv, line)) {
      std::vector<std::string> row;
      for (std::stringstream cells(line); std::getline(cells, cell, ',');) row.push_back(cell);
      if (row.at(0) == "alibi") ppl.push_back(std::stod(row.at(column)));
    }
    REQUIRE(ppl.size() == 2u);
    const double mean = ppl[0] / 2 + ppl[1] / 2;
    const double var = (ppl[0] - mean) * (ppl[0] - mean) + (ppl[1] - mean) * (ppl[1] - mean);
    const double half = 12.706 * std::sqrt(var / 2);
    CHECK_THAT(report, Catch::Contains("## 95% intervals of the mean over seeds") &&
                           Catch::Contains(fmt::format("[{:.3f}, {:.3f}]", mean - half, mean + half)));
  }
  auto scratch = test::run_qkv(fmt::format(
      "sweep experiments/pe-compare-tiny.yaml {} --set model.position.scheme=alibi "
      "--set 'sweep.grid={{init_from: [\"{}\", \"\"], seed: [1]}}' --set sweep.baseline= --set output='{}'",
      sets, dir / "a/scheme-alibi_seed-1", dir / "s"));
  INFO(scratch.output);
  REQUIRE(scratch.exit_code == 0);
  CHECK_THAT(read(dir / "s/report.md"), Catch::Contains("Differences against init_from = \"\"") &&
                                            Catch::Contains(fmt::format("| {} | ", dir / "a/scheme-alibi_seed-1")));

  // A point that cannot be built stops the sweep before any work.
  auto bad = test::run_qkv(fmt::format(
      "sweep experiments/pe-compare-tiny.yaml {} --set 'sweep.grid={{model.heads: [4, 5]}}' --set output='{}'", sets, dir / "c"));
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("--set model.heads=5") || Catch::Contains("model.heads"));
  CHECK_FALSE(std::filesystem::exists(dir / "c"));
  auto no_lengths = test::run_qkv(fmt::format(
      "sweep experiments/pe-compare-tiny.yaml {} --set sweep.lengths=[] --set output='{}'", sets, dir / "d"));
  CHECK(no_lengths.exit_code == 2);
  CHECK_THAT(no_lengths.output, Catch::Contains("sweep.stride"));
  CHECK_FALSE(std::filesystem::exists(dir / "d"));
}

TEST_CASE("pe-generalize-tiny: a sweep over generated tasks reports exact match per length", "[cli]") {
  test::ScratchDir dir("sweep-generalize");
  auto run = test::run_qkv(fmt::format("sweep experiments/pe-generalize-tiny.yaml --set output='{}'", dir / "g"));
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::ifstream csv(dir / "g/results.csv");
  std::string header;
  std::getline(csv, header);
  CHECK_THAT(header, Catch::StartsWith("model.position.scheme,task.kind,valid_loss,valid_exact,valid_exact@4,"
                                       "valid_token_acc@4,valid_exact@8,"));
  std::vector<std::string> rows;
  for (std::string line; std::getline(csv, line);) rows.push_back(line);
  REQUIRE(rows.size() == 4);
  // Learned positions (max_len 24) cannot reach copy at length 16 (34 positions): not applicable.
  CHECK_THAT(rows[2], Catch::StartsWith("learned,copy,") && Catch::Contains(",n/a,"));
  CHECK(read(dir / "g/exact_length.png").substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
}
