// Experiment files: a table of bad files, each stopping `qkv train` before any work with its
// expected one-line message (file:line:col: dotted.key: ...), exit code 2 and no run directory;
// overrides; and the resolved configuration reading back to itself.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "helpers.h"
#include "transformer/config/experiment.h"
#include "transformer/util/errors.h"

using namespace qkv;

namespace {

// A valid experiment with one line per key, so that cases can edit single lines.
const char* kGood = R"(name: good
seed: 1
model:
  family: gpt
  layers: 1
  d_model: 32
  heads: 4
  d_ff: 64
  position:
    scheme: rope
  max_len: 64
task:
  kind: causal_lm
data:
  train: data/web/valid.txt
tokenizer:
  model: TOKENIZER
  vocab_size: 200
train:
  batch_size: 4
  seq_len: 32
  steps: 2
  warmup: 1
)";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

struct BadCase {
  const char* what;
  std::string text;
  std::string expected;  // a regular expression the one-line message must match
  std::string extra_args;
};

}  // namespace

TEST_CASE("bad experiment files stop with file:line:col, the key, exit code 2 and no run directory, quickly and small", "[config]") {
  test::ScratchDir dir("config");
  const std::string good = replace(kGood, "TOKENIZER", dir / "spm.model");
  const std::vector<BadCase> cases{
      {"misspelt top-level key", replace(good, "seed: 1", "sead: 1"), R"(:2:1: sead: unknown key; did you mean 'seed'\?)"},
      {"misspelt nested key", replace(good, "  layers: 1", "  layrs: 1"), R"(:5:3: model.layrs: unknown key; did you mean 'layers'\?)"},
      {"unknown key, no near name", replace(good, "  layers: 1", "  colour: red"), R"(:5:3: model.colour: unknown key; expected one of: family, layers)"},
      {"wrong type", replace(good, "  layers: 1", "  layers: two"), R"(:5:11: model.layers: expected an integer in \[1, 512\], found 'two')"},
      {"float for an integer", replace(good, "  d_ff: 64", "  d_ff: 64.5"), R"(:8:9: model.d_ff: expected an integer)"},
      {"out of range", replace(good, "  d_ff: 64", "  d_ff: 64\n  dropout: 1.5"), R"(:9:12: model.dropout: expected a number in \[0, 0.95\], found 1.5)"},
      {"negative", replace(good, "  steps: 2", "  steps: -3"), R"(:22:10: train.steps: expected an integer in \[1, 1000000000000\], found -3)"},
      {"boolean expected", replace(good, "  max_len: 64", "  max_len: 64\n  bias: maybe"), R"(:12:9: model.bias: expected true or false, found 'maybe')"},
      {"unknown choice with suggestion", replace(good, "    scheme: rope", "    scheme: rop"), R"(:10:13: model.position.scheme: expected one of none\|sinusoidal\|learned\|shaw\|t5\|rope\|alibi\|xpos\|kerple\|fire, found 'rop'; did you mean 'rope'\?)"},
      {"missing required field", replace(good, "  steps: 2\n", ""), R"(:19:1: train.steps: required field is missing from train)"},
      {"missing section", replace(good, "task:\n  kind: causal_lm\n", ""), R"(: task: required field is missing)"},
      {"section given a value", replace(good, "task:\n  kind: causal_lm", "task: causal_lm"), R"(:12:7: task: expected a section \(a mapping\), found 'causal_lm')"},
      {"duplicate key", replace(good, "  layers: 1", "  layers: 1\n  layers: 2"), R"(:6:3: model.layers: duplicate key \(first given on line 5\))"},
      {"heads do not divide d_model", replace(good, "  heads: 4", "  heads: 5"), R"(:7:3: model.heads: d_model 32 is not divisible by heads 5)"},
      {"option of another scheme", replace(good, "    scheme: rope", "    scheme: rope\n    clip: 8"), R"(:11:5: model.position.clip: applies to scheme shaw only, but the scheme is rope)"},
      {"learned positions shorter than the sequence", replace(replace(good, "scheme: rope", "scheme: learned"), "  max_len: 64", "  max_len: 16"), R"(:21:3: train.seq_len: learned positions cover model.max_len = 16 positions; seq_len 32 needs more)"},
      {"option of another task", replace(good, "  kind: causal_lm", "  kind: causal_lm\n  max_length: 8"), R"(:14:3: task.max_length: applies to task copy, reverse, duplicate, sort, parity, addition, addition_reversed only, but the task is causal_lm)"},
      {"masked_lm on a decoder", replace(good, "  kind: causal_lm", "  kind: masked_lm"), R"(:13:3: task.kind: masked_lm trains an encoder-only model; model.family is gpt, expected bert)"},
      {"columns of another format", replace(good, "  train: data/web/valid.txt", "  train: data/web/valid.txt\n  columns: {text: a}"), R"(:16:3: data.columns: applies to format tsv, csv, jsonl only, but the format is text)"},
      {"misspelt format", replace(good, "  train: data/web/valid.txt", "  train: data/web/valid.txt\n  format: glue/mrcp"), R"(:16:11: data.format: expected one of text\|glue/cola.*found 'glue/mrcp'; did you mean 'glue/mrpc'\?)"},
      {"labels missing", replace(replace(good, "  kind: causal_lm", "  kind: classify"), "  train: data/web/valid.txt", "  train: data/web/valid.txt\n  format: tsv\n  columns: {text: a, label: b}"), R"(:12:1: task.labels: expected at least two label names, found 0)"},
      {"labels repeat", replace(replace(good, "  kind: causal_lm", "  kind: classify\n  labels: [a, b, a]"), "  train: data/web/valid.txt", "  train: data/web/valid.txt\n  format: glue/sst2"), R"(:14:3: task.labels: label names repeat)"},
      {"scores read as labels", replace(replace(good, "  kind: causal_lm", "  kind: pair"), "  train: data/web/valid.txt", "  train: data/web/valid.txt\n  format: glue/stsb"), R"(:12:1: task.regression: glue/stsb holds similarity scores: set task.regression: true)"},
      {"head size disagrees", replace(replace(replace(good, "  kind: causal_lm", "  kind: classify"), "  train: data/web/valid.txt", "  train: data/web/valid.txt\n  format: glue/sst2"), "  max_len: 64", "  max_len: 64\n  num_classes: 3"), R"(:12:3: model.num_classes: task classify needs 2 outputs, found 3)"},
      {"freezing without init_from", replace(good, "  warmup: 1", "  warmup: 1\n  freeze_body: true"), R"(:24:3: train.freeze_body: applies when fine-tuning: set init_from to the pretrained run)"},
      {"a metric the task does not report", replace(good, "  warmup: 1", "  warmup: 1\n  select_metric: accuracy"), R"(:24:3: train.select_metric: task causal_lm reports loss, ppl; found 'accuracy')"},
      {"translation on a decoder-only model", replace(good, "  kind: causal_lm", "  kind: translate"), R"(:13:3: task.kind: translate trains an encoder-decoder model; model.family is gpt, expected seq2seq or rnn)"},
      {"rnn with a position scheme", replace(replace(good, "  family: gpt", "  family: rnn"), "  kind: causal_lm", "  kind: translate"), R"(:10:5: model.position.scheme: rnn reads positions through its recurrence; expected none, found rope)"},
      {"parallel data without languages", replace(replace(replace(good, "  family: gpt", "  family: seq2seq"), "  kind: causal_lm", "  kind: translate"), "  train: data/web/valid.txt", "  train: data/web/valid.txt\n  format: parallel"), R"(:14:1: data.source: required by format parallel)"},
      {"a training subset for language modelling", replace(good, "  train: data/web/valid.txt", "  train: data/web/valid.txt\n  train_examples: 100"), R"(:16:3: data.train_examples: applies to the labelled tasks \(classify, pair, choice\) and translate, not causal_lm)"},
      {"pooling for language modelling", replace(good, "  d_ff: 64", "  d_ff: 64\n  pool: mean"), R"(:9:3: model.pool: applies to the labelled tasks \(classify, pair, choice\), not causal_lm)"},
      {"averaging more than is kept", replace(good, "  warmup: 1", "  warmup: 1\n  average_last: 5"), R"(:24:3: train.average_last: applies to task translate only)"},
      {"negative dropout", replace(good, "  d_ff: 64", "  d_ff: 64\n  dropout: -0.1"), R"(:9:12: model.dropout: expected a number in \[0, 0.95\], found -0.1)"},
      {"not a number", replace(good, "  warmup: 1", "  warmup: 1\n  lr: 1e-3x"), R"(:24:7: train.lr: expected a number in \[0, 10\], found '1e-3x')"},
      {"a list for a value", replace(good, "  heads: 4", "  heads: [4]"), R"(:7:10: model.heads: expected an integer in \[1, 1024\], found a list)"},
      {"a mapping for a value", replace(good, "  d_ff: 64", "  d_ff: {a: 1}"), R"(:8:9: model.d_ff: expected an integer in \[1, 262144\], found a mapping)"},
      {"misspelt task kind", replace(good, "  kind: causal_lm", "  kind: causal"), R"(:13:9: task.kind: expected one of causal_lm\|.*found 'causal'; did you mean 'causal_lm'\?)"},
      {"unknown section", replace(good, "seed: 1", "seed: 1\nextras: 1"), R"(:3:1: extras: unknown key; expected one of: name, seed, model)"},
      {"rope rotating nothing", replace(good, "    scheme: rope", "    scheme: rope\n    fraction: 0.1"), R"(:11:5: model.position.fraction: rotates 0 of the 8 dims of each head; at least 2 are needed)"},
      {"t5 buckets past the distance", replace(good, "    scheme: rope", "    scheme: t5\n    buckets: 8\n    max_distance: 3"), R"(:12:5: model.position.max_distance: must exceed buckets/2 = 4 \(the exact buckets\), found 3)"},
      {"duplicate section", replace(good, "seed: 1", "seed: 1\nseed: 2"), R"(:3:1: seed: duplicate key \(first given on line 2\))"},
      {"tab indentation", replace(good, "  layers: 1", "\tlayers: 1"), R"(:\d+:\d+: )"},
      {"batch not divisible", replace(good, "  warmup: 1", "  warmup: 1\n  accumulate: 3"), R"(:24:3: train.accumulate: batch_size 4 is not divisible into 3 micro-batches)"},
      {"empty name", replace(good, "name: good", "name: \"\""), R"(:1:7: name: expected a string, found '')"},
      {"sweep length too short", replace(good, "  warmup: 1", "  warmup: 1\nsweep:\n  grid: {seed: [1, 2]}\n  lengths: [1]"), R"(:26:13: sweep.lengths\[0\]: expected an integer in \[2, 1048576\], found 1)"},
      {"--set value not YAML", good, R"(--set model.layers=\[: model.layers: value is not valid YAML)", "--set model.layers=["},
      {"task needs another family", replace(good, "  family: gpt", "  family: bert"), R"(:13:3: task.kind: causal_lm trains a decoder-only model; model.family is bert, expected gpt)"},
      {"warmup beyond steps", replace(good, "  warmup: 1", "  warmup: 10"), R"(:23:3: train.warmup: warmup 10 exceeds steps 2)"},
      {"missing data file", replace(good, "data/web/valid.txt", "data/web/missing.txt"), R"(:15:3: data.train: file not found: data/web/missing.txt)"},
      {"YAML syntax error", replace(good, "  heads: 4", "  heads: [4"), R"(:\d+:\d+: )"},
      {"empty file", "", R"(:1:1: \(top level\): the experiment file is empty)"},
      {"a list at the top", "- 1\n- 2\n", R"(:1:1: \(top level\): expected a mapping of sections)"},
      {"unsafe name", replace(good, "name: good", "name: ../escape"), R"(:1:1: name: expected letters, digits)"},
      {"1000-deep nesting", replace(good, "seed: 1", std::string("seed: ") + std::string(1000, '[') + std::string(1000, ']')),
       R"(:2:\d+: \(document\): nesting deeper than \d+ levels)"},
      {"alias bomb", replace(good, "seed: 1", "seed: 1\nl0: &l0 [a, a, a, a, a, a, a, a, a, a]\nl1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]\nl2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]\nl3: [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]"),
       R"(:3:1: l0: unknown key)"},
      {"randomized range shorter than the sequence", replace(good, "    scheme: rope", "    scheme: rope\n    randomize: 16"), R"(:11:5: model.position.randomize: must be at least 32, the positions of train.seq_len 32; found 16)"},
      {"randomized range past learned positions", replace(good, "    scheme: rope", "    scheme: learned\n    randomize: 128"), R"(:11:5: model.position.randomize: learned positions cover model.max_len = 64; randomize 128 reaches past them)"},
      {"--set unknown key", good, R"(--set model.layerz=3: model.layerz: unknown key; did you mean 'layers'\?)", "--set model.layerz=3"},
      {"--set wrong type", good, R"(--set train.lr=fast: train.lr: expected a number)", "--set train.lr=fast"},
      {"--set without a value", good, R"(--set train.lr: expected --set dotted.key=value)", "--set train.lr"},
      {"--set into a value", good, R"(--set seed.x=1: seed: is a value, not a section)", "--set seed.x=1"},
  };
  CHECK(cases.size() >= 50);
  double slowest = 0, largest = 0;
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const std::string file = dir / "bad.yaml";
    std::ofstream(file) << c.text;
    const std::string run_dir = dir / "run";
    std::vector<std::string> args{"train", file, "--set", "output=" + run_dir};
    if (!c.extra_args.empty()) args.insert(args.end(), {"--set", c.extra_args.substr(6)});  // "--set X"
    auto result = test::run_measured(args);
    CAPTURE(result.output, result.seconds, result.peak_mib);
    CHECK(result.seconds < 1.0);
    CHECK(result.peak_mib < 100.0);
    slowest = std::max(slowest, result.seconds);
    largest = std::max(largest, result.peak_mib);
    CHECK(result.exit_code == 2);
    CHECK(std::count(result.output.begin(), result.output.end(), '\n') == 1);
    CHECK(std::regex_search(result.output, std::regex(c.expected)));
    if (c.extra_args.empty()) CHECK(result.output.find(file) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(run_dir));
    CHECK_FALSE(std::filesystem::exists(dir / "spm.model"));  // stopped before any work
  }
  WARN(cases.size() << " bad files: slowest " << slowest << " s, largest " << largest << " MiB");
}

TEST_CASE("--set overrides any key and the resolved experiment reads back to itself", "[config]") {
  const std::string path = test::source_path("experiments/quickstart-tiny.yaml");
  auto loaded = load_experiment(path, {"model.layers=3", "model.position.scheme=alibi", "train.lr=5e-4", "generate.top_k=7"},
                                ValidateOptions{false});
  const Experiment& e = loaded.experiment;
  CHECK(e.model.layers == 3);
  CHECK(e.model.position.scheme == "alibi");
  CHECK(e.train.lr == 5e-4);
  CHECK(e.generate.top_k == 7);
  CHECK(loaded.sources.locate("model.layers") == "--set model.layers=3");
  CHECK_THAT(loaded.sources.locate("model.d_model"), Catch::Matches(".*quickstart-tiny.yaml:\\d+:\\d+"));

  const std::string yaml = to_yaml(e);
  auto again = parse_experiment(yaml, "resolved.yaml", {}, ValidateOptions{false});
  CHECK(to_yaml(again.experiment) == yaml);
  CHECK(again.experiment.model.attention_dropout == e.model.attention_dropout);
  CHECK(again.experiment.output == e.output);
}

TEST_CASE("edit distance", "[config]") {
  CHECK(edit_distance("layers", "layers") == 0);
  CHECK(edit_distance("layrs", "layers") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
}

TEST_CASE("every experiment file in experiments/ loads and validates", "[config]") {
  int64_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::source_path("experiments"))) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().string());
    std::string problem;
    try {
      load_experiment(entry.path().string(), {}, ValidateOptions{false});
    } catch (const std::exception& error) {
      problem = error.what();
    }
    CHECK(problem.empty());
    ++files;
  }
  CHECK(files >= 20);
}
