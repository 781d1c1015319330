// Labelled-example readers: every GLUE layout as distributed (the samples scripts/prepare_data.sh
// writes), SNLI JSONL, generic TSV/CSV/JSONL, and bad lines stopping with file:line: field: reason
// in strict mode or dropped and counted in skip mode.
#include <catch2/catch.hpp>

#include <fstream>

#include "helpers.h"
#include "transformer/data/examples.h"
#include "transformer/data/lines.h"
#include "transformer/util/errors.h"

using namespace qkv;

namespace {

struct Setup {
  DataConfig data;
  TaskConfig task;
};

Setup glue(DataFormat format, TaskKind kind = TaskKind::kPair, bool regression = false) {
  Setup s;
  s.data.format = format;
  s.task.kind = kind;
  s.task.regression = regression;
  if (!regression) s.task.labels = default_labels(format);
  return s;
}

std::string write(const test::ScratchDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The message of the InputError reading `path` raises ("" when it reads).
std::string error_of(const std::string& path, const Setup& s) {
  try {
    read_examples(path, s.data, s.task, true);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("every GLUE task's sample files parse in their distributed layouts", "[data]") {
  struct Case {
    const char* dir;
    DataFormat format;
    TaskKind kind;
    bool regression;
    std::vector<const char*> labelled, unlabelled;
  };
  const std::vector<Case> cases{
      {"CoLA", DataFormat::kGlueCola, TaskKind::kClassify, false, {"train", "dev"}, {"test"}},
      {"SST-2", DataFormat::kGlueSst2, TaskKind::kClassify, false, {"train", "dev"}, {"test"}},
      {"MRPC", DataFormat::kGlueMrpc, TaskKind::kPair, false, {"train", "dev"}, {"test"}},
      {"QQP", DataFormat::kGlueQqp, TaskKind::kPair, false, {"train", "dev"}, {"test"}},
      {"STS-B", DataFormat::kGlueStsb, TaskKind::kPair, true, {"train", "dev"}, {"test"}},
      {"MNLI", DataFormat::kGlueMnli, TaskKind::kPair, false, {"train", "dev_matched", "dev_mismatched"},
       {"test_matched", "test_mismatched"}},
      {"QNLI", DataFormat::kGlueQnli, TaskKind::kPair, false, {"train", "dev"}, {"test"}},
      {"RTE", DataFormat::kGlueRte, TaskKind::kPair, false, {"train", "dev"}, {"test"}},
      {"WNLI", DataFormat::kGlueWnli, TaskKind::kPair, false, {"train", "dev"}, {"test"}},
  };
  for (const auto& c : cases) {
    const Setup s = glue(c.format, c.kind, c.regression);
    for (const char* split : c.labelled) {
      const std::string path = test::source_path(fmt::format("data/glue-sample/{}/{}.tsv", c.dir, split));
      CAPTURE(path);
      const ExampleFile file = read_examples(path, s.data, s.task, true);
      CHECK(file.labelled);
      CHECK(file.examples.size() == (std::string(split) == "train" ? 48u : 16u));
      CHECK(file.dropped.empty());
      for (const auto& ex : file.examples) {
        CHECK(!ex.text.empty());
        CHECK(ex.text_b.empty() == (c.kind == TaskKind::kClassify));
        if (c.regression) {
          CHECK(ex.score >= 0.0);
          CHECK(ex.score <= 5.0);
        } else {
          CHECK(ex.label >= 0);
          CHECK(ex.label < int64_t(s.task.labels.size()));
        }
      }
    }
    for (const char* split : c.unlabelled) {
      const std::string path = test::source_path(fmt::format("data/glue-sample/{}/{}.tsv", c.dir, split));
      CAPTURE(path);
      const ExampleFile file = read_examples(path, s.data, s.task, false);
      CHECK_FALSE(file.labelled);
      CHECK(file.examples.size() == 8u);
      CHECK(file.examples[0].label == -1);
      CHECK_THAT(error_of(path, s), Catch::Contains(":1: ") && Catch::Contains("no label column"));
    }
  }
}

TEST_CASE("GLUE files are read without quoting; columns are found by header name", "[data]") {
  test::ScratchDir dir("glue");
  // SST-2 with a literal quote at the start of a field, an MNLI dev file with its 16 columns.
  const Setup sst = glue(DataFormat::kGlueSst2, TaskKind::kClassify);
  const auto file = read_examples(write(dir, "sst.tsv", "sentence\tlabel\n\"Hi,\" he said, \"there\t1\nok\t0\n"), sst.data, sst.task, true);
  REQUIRE(file.examples.size() == 2);
  CHECK(file.examples[0].text == "\"Hi,\" he said, \"there");
  CHECK(file.examples[0].label == 1);
  CHECK(file.examples[0].line == 2);

  // CoLA: no header; the label is the second column, the sentence the fourth.
  const Setup cola = glue(DataFormat::kGlueCola, TaskKind::kClassify);
  const auto c = read_examples(write(dir, "cola.tsv", "gj04\t1\t\tThe sailors rode the breeze clear of the rocks.\ngj04\t0\t*\tThe more books I ask to whom he will give.\n"),
                               cola.data, cola.task, true);
  REQUIRE(c.examples.size() == 2);
  CHECK(c.examples[1].label == 0);
  CHECK(c.examples[1].text == "The more books I ask to whom he will give.");
}

TEST_CASE("bad lines stop with file:line: field: reason in strict mode", "[data]") {
  test::ScratchDir dir("bad-lines");
  const Setup rte = glue(DataFormat::kGlueRte);
  const std::string header = "index\tsentence1\tsentence2\tlabel\n";
  const std::string good = "0\tA man sleeps.\tSomeone sleeps.\tentailment\n";
  struct Bad {
    const char* what;
    std::string line;
    std::string expected;
  };
  const std::vector<Bad> cases{
      {"too few columns", "1\tA man sleeps.\tentailment\n", ":3: expected 4 tab-separated columns, found 3"},
      {"too many columns", "1\ta\tb\tentailment\textra\n", ":3: expected 4 tab-separated columns, found 5"},
      {"unknown label", "1\ta\tb\tmaybe\n", ":3: label: unknown label 'maybe'; expected one of entailment, not_entailment"},
      {"empty label", "1\ta\tb\t\n", ":3: label: empty label"},
      {"empty text", "1\t \tb\tentailment\n", ":3: sentence1: empty text"},
      {"invalid UTF-8", "1\ta\xC3\x28\tb\tentailment\n", ":3: invalid UTF-8 at byte 4"},
      {"overlong encoding", "1\t\xC0\xAF\tb\tentailment\n", ":3: invalid UTF-8 at byte 3"},
      {"truncated sequence", "1\ta\tb\xE2\x82\n", ":3: invalid UTF-8"},
      {"NUL byte", std::string("1\ta\0b\tc\tentailment\n", 18), ":3: NUL byte at column 4"},
      {"empty line", "\n", ":3: empty line"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const std::string path = write(dir, "bad.tsv", header + good + c.line);
    const std::string message = error_of(path, rte);
    CHECK_THAT(message, Catch::StartsWith(path) && Catch::Contains(c.expected) && Catch::Contains("data.on_error"));
    CHECK(message.find('\n') == std::string::npos);
  }
  // A header without the format's columns.
  CHECK_THAT(error_of(write(dir, "header.tsv", "index\tpremise\thypothesis\tlabel\n" + good), rte),
             Catch::Contains("header.tsv:1: sentence1: no such column in the glue/rte header"));
  // An overlong line.
  Setup small = rte;
  small.data.max_line_bytes = 48;
  CHECK_THAT(error_of(write(dir, "long.tsv", header + good + "1\t" + std::string(40, 'a') + "\tb\tentailment\n"), small),
             Catch::Contains(":3: 55 bytes, longer than data.max_line_bytes = 48"));
}

TEST_CASE("CRLF line ends and a byte-order mark are accepted", "[data]") {
  test::ScratchDir dir("crlf");
  const Setup rte = glue(DataFormat::kGlueRte);
  const auto file = read_examples(
      write(dir, "crlf.tsv", "\xEF\xBB\xBFindex\tsentence1\tsentence2\tlabel\r\n0\ta\tb\tentailment\r\n1\tc\td\tnot_entailment\r\n"),
      rte.data, rte.task, true);
  REQUIRE(file.examples.size() == 2);
  CHECK(file.examples[1].label == 1);
  CHECK(file.examples[1].text_b == "d");
}

TEST_CASE("skip mode drops bad lines and counts them per reason, up to a fraction", "[data]") {
  test::ScratchDir dir("skip");
  Setup rte = glue(DataFormat::kGlueRte);
  rte.data.on_error = OnError::kSkip;
  rte.data.max_skipped = 0.5;
  std::string text = "index\tsentence1\tsentence2\tlabel\n";
  for (int i = 0; i < 6; ++i) text += fmt::format("{}\ta\tb\tentailment\n", i);
  text += "6\ta\tb\tmaybe\n7\ta\tb\tperhaps\n8\tbad\n\n";
  const auto file = read_examples(write(dir, "some.tsv", text), rte.data, rte.task, true);
  CHECK(file.examples.size() == 6);
  CHECK(file.dropped == "1 empty line, 2 unknown label, 1 wrong column count");
  rte.data.max_skipped = 0.3;  // 4 of 10 lines is more than 30%
  CHECK_THAT(error_of(write(dir, "many.tsv", text), rte),
             Catch::Contains("4 of 10 lines are bad (40.0%), more than data.max_skipped = 30%") &&
                 Catch::Contains("first: ") && Catch::Contains("many.tsv:8: label: unknown label 'maybe'"));
}

TEST_CASE("SNLI JSONL: '-' gold labels dropped and counted; broken lines named", "[data]") {
  test::ScratchDir dir("snli");
  Setup snli = glue(DataFormat::kSnli);
  const std::string good = R"({"gold_label": "neutral", "sentence1": "A dog runs.", "sentence2": "An animal moves."})";
  const std::string dash = R"({"gold_label": "-", "sentence1": "A dog runs.", "sentence2": "It rains."})";
  const auto file = read_examples(write(dir, "snli.jsonl", good + "\n" + dash + "\n" + good + "\n"), snli.data, snli.task, true);
  CHECK(file.examples.size() == 2);
  CHECK(file.examples[0].label == 1);  // entailment, neutral, contradiction
  CHECK(file.dropped == "1 no gold label");
  CHECK_THAT(error_of(write(dir, "broken.jsonl", good + "\n{\"gold_label\": \"neutral\", \n"), snli), Catch::Contains("broken.jsonl:2: not valid JSON"));
  CHECK_THAT(error_of(write(dir, "array.jsonl", "[1, 2]\n"), snli), Catch::Contains("array.jsonl:1: expected a JSON object"));
  CHECK_THAT(error_of(write(dir, "missing.jsonl", R"({"gold_label": "neutral", "sentence1": "x"})" "\n"), snli),
             Catch::Contains("missing.jsonl:1: sentence2: missing field"));
  CHECK_THAT(error_of(write(dir, "number.jsonl", R"({"gold_label": "neutral", "sentence1": 3, "sentence2": "x"})" "\n"), snli),
             Catch::Contains("number.jsonl:1: sentence1: expected a string, found number"));
}

TEST_CASE("generic CSV with RFC 4180 quoting, TSV by column number, JSONL choices", "[data]") {
  test::ScratchDir dir("generic");
  Setup csv;
  csv.data.format = DataFormat::kCsv;
  csv.data.columns.text = "review";
  csv.data.columns.label = "stars";
  csv.task.kind = TaskKind::kClassify;
  csv.task.labels = {"bad", "good"};
  const auto file = read_examples(
      write(dir, "r.csv", "id,review,stars\n1,\"Fine, really \"\"fine\"\"\",good\n2,\"two\nlines\",bad\n3,plain,good\n"), csv.data,
      csv.task, true);
  REQUIRE(file.examples.size() == 3);
  CHECK(file.examples[0].text == "Fine, really \"fine\"");
  CHECK(file.examples[1].text == "two\nlines");
  CHECK(file.examples[2].line == 5);  // the quoted newline spans lines 3 and 4
  CHECK_THAT(error_of(write(dir, "q.csv", "id,review,stars\n1,\"open,good\n"), csv), Catch::Contains("unterminated quoted field"));
  CHECK_THAT(error_of(write(dir, "t.csv", "id,review,stars\n1,\"a\"b,good\n"), csv), Catch::Contains(":2: text after a closing quote"));
  CHECK_THAT(error_of(write(dir, "h.csv", "id,text,stars\n1,a,good\n"), csv),
             Catch::Contains("h.csv:1: data.columns.text: no column 'review' in the header (id, text, stars)"));

  Setup tsv;
  tsv.data.format = DataFormat::kTsv;
  tsv.data.header = false;
  tsv.data.columns.text = "1";
  tsv.data.columns.text_b = "2";
  tsv.data.columns.label = "0";
  tsv.task.kind = TaskKind::kPair;
  tsv.task.regression = true;
  const auto scores = read_examples(write(dir, "s.tsv", "4.5\ta\tb\n0.25\tc\td\n"), tsv.data, tsv.task, true);
  REQUIRE(scores.examples.size() == 2);
  CHECK(scores.examples[1].score == 0.25);
  CHECK_THAT(error_of(write(dir, "n.tsv", "high\ta\tb\n"), tsv), Catch::Contains("n.tsv:1: column 0: expected a number, found 'high'"));

  Setup choice;
  choice.data.format = DataFormat::kJsonl;
  choice.data.columns.text = "context";
  choice.data.columns.choices = {"endings"};
  choice.data.columns.label = "answer";
  choice.task.kind = TaskKind::kChoice;
  const auto story = read_examples(
      write(dir, "c.jsonl", R"({"context": "He opened the door", "endings": ["and walked in.", "and the sky sang."], "answer": 0})" "\n"),
      choice.data, choice.task, true);
  REQUIRE(story.examples.size() == 1);
  CHECK(story.examples[0].choices.size() == 2);
  CHECK(story.examples[0].label == 0);
  CHECK_THAT(error_of(write(dir, "d.jsonl", R"({"context": "x", "endings": ["a", "b"], "answer": 2})" "\n"), choice),
             Catch::Contains("d.jsonl:1: answer: expected the index of the right candidate, 0 to 1, found '2'"));
}

TEST_CASE("UTF-8 validation by hand-made sequences", "[data]") {
  CHECK(invalid_utf8_at("plain ascii") == std::string_view::npos);
  CHECK(invalid_utf8_at("caf\xC3\xA9 \xE2\x80\x9Cquoted\xE2\x80\x9D \xF0\x9F\x98\x80") == std::string_view::npos);
  CHECK(invalid_utf8_at("a\x80") == 1);               // a lone continuation byte
  CHECK(invalid_utf8_at("ab\xE0\x80\x80") == 2);      // overlong three-byte form of NUL
  CHECK(invalid_utf8_at("\xED\xA0\x80") == 0);        // a UTF-16 surrogate
  CHECK(invalid_utf8_at("\xF4\x90\x80\x80") == 0);    // past U+10FFFF
  CHECK(invalid_utf8_at("ok\xC3") == 2);              // truncated at the end
}
