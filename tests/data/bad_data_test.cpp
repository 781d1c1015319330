// The bad-data battery: over fifty malformed inputs across every reader (GLUE layouts, SNLI,
// generic TSV, CSV and JSONL, parallel files, plain text). Strict mode stops at the first with
// `file:line: field: reason` in one line; skip mode drops the line and counts it under its reason,
// and fails once more than data.max_skipped of the lines are dropped. CRLF line ends and a
// byte-order mark are accepted everywhere.
#include <catch2/catch.hpp>

#include <fstream>

#include "helpers.h"
#include "transformer/data/examples.h"
#include "transformer/data/lines.h"
#include "transformer/data/parallel.h"
#include "transformer/util/errors.h"

using namespace qkv;

namespace {

struct Reader {
  const char* name;
  DataFormat format;
  TaskKind kind;
  bool regression;
  std::string header;  // first line(s), may be empty
  std::string good;    // one good line
  std::vector<std::string> labels;
  ColumnsConfig columns;
};

struct Bad {
  const char* reader;
  std::string line;      // the bad line, without its end
  std::string message;   // in the strict error, after "file:3: " (or ":2: " without header)
  std::string category;  // in the skip summary
};

std::vector<Reader> readers() {
  ColumnsConfig generic;
  generic.text = "text";
  generic.label = "label";
  ColumnsConfig pair_jsonl;
  pair_jsonl.text = "premise";
  pair_jsonl.text_b = "hypothesis";
  pair_jsonl.label = "label";
  ColumnsConfig choice;
  choice.text = "context";
  choice.choices = {"endings"};
  choice.label = "answer";
  return {
      {"rte", DataFormat::kGlueRte, TaskKind::kPair, false, "index\tsentence1\tsentence2\tlabel", "0\tA man sleeps.\tSomeone sleeps.\tentailment", {"entailment", "not_entailment"}, {}},
      {"sst2", DataFormat::kGlueSst2, TaskKind::kClassify, false, "sentence\tlabel", "a fine film\t1", {"0", "1"}, {}},
      {"cola", DataFormat::kGlueCola, TaskKind::kClassify, false, "", "gj04\t1\t\tThe cat sat.", {"0", "1"}, {}},
      {"mnli", DataFormat::kGlueMnli, TaskKind::kPair, false,
       "index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tgold_label",
       "0\t1\t1e\tfiction\t(a)\t(b)\t(a)\t(b)\tA dog runs.\tAn animal moves.\tneutral\tneutral", {"contradiction", "entailment", "neutral"}, {}},
      {"stsb", DataFormat::kGlueStsb, TaskKind::kPair, true,
       "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore",
       "0\tmain\tf\t2012\t0\tn\tn\tA plane takes off.\tAn air plane is taking off.\t5.000", {}, {}},
      {"tsv", DataFormat::kTsv, TaskKind::kClassify, false, "label\ttext", "spam\tWin money now", {"ham", "spam"}, generic},
      {"csv", DataFormat::kCsv, TaskKind::kClassify, false, "label,text", "ham,\"Hello, Bob\"", {"ham", "spam"}, generic},
      {"snli", DataFormat::kSnli, TaskKind::kPair, false, "",
       R"({"gold_label": "neutral", "sentence1": "A dog runs.", "sentence2": "An animal moves."})", {"entailment", "neutral", "contradiction"}, {}},
      {"jsonl", DataFormat::kJsonl, TaskKind::kPair, false, "", R"({"premise": "a", "hypothesis": "b", "label": "yes"})", {"no", "yes"}, pair_jsonl},
      {"choice", DataFormat::kJsonl, TaskKind::kChoice, false, "", R"({"context": "He sat", "endings": ["down.", "up."], "answer": 0})", {}, choice},
  };
}

const std::vector<Bad>& cases() {
  static const std::vector<Bad> all{
      // Tables: columns, labels, text.
      {"rte", "1\tA man sleeps.\tentailment", "expected 4 tab-separated columns, found 3", "wrong column count"},
      {"rte", "1\ta\tb\tentailment\tmore", "expected 4 tab-separated columns, found 5", "wrong column count"},
      {"rte", "1\ta\tb\tcontradiction", "label: unknown label 'contradiction'", "unknown label"},
      {"rte", "1\ta\tb\t", "label: empty label", "empty label"},
      {"rte", "1\t\tb\tentailment", "sentence1: empty text", "empty field"},
      {"rte", "1\ta\t  \tentailment", "sentence2: empty text", "empty field"},
      {"rte", "", "empty line", "empty line"},
      {"rte", "1\ta\xff\tb\tentailment", "invalid UTF-8 at byte 4", "invalid UTF-8"},
      {"rte", std::string("1\ta\0\tb\tentailment", 16), "NUL byte at column 4", "NUL byte"},
      {"rte", "1\t" + std::string(300, 'x') + "\tb\tentailment", "bytes, longer than data.max_line_bytes = 256", "line too long"},
      {"sst2", "a fine film", "expected 2 tab-separated columns, found 1", "wrong column count"},
      {"sst2", "a fine film\t2", "label: unknown label '2'", "unknown label"},
      {"sst2", "a fine film\tpositive", "label: unknown label 'positive'", "unknown label"},
      {"sst2", "\t1", "sentence: empty text", "empty field"},
      {"sst2", "caf\xc3\x28\t1", "invalid UTF-8 at byte 4", "invalid UTF-8"},
      {"cola", "gj04\t1\tThe cat sat.", "expected 4 tab-separated columns, found 3", "wrong column count"},
      {"cola", "gj04\t*\t*\tThe cat sat.", "column 1: unknown label '*'", "unknown label"},
      {"cola", "gj04\t1\t\t", "column 3: empty text", "empty field"},
      {"mnli", "0\t1\t1e\tfiction\t(a)\t(b)\t(a)\t(b)\tA.\tB.\tneutral\tunsure", "gold_label: unknown label 'unsure'", "unknown label"},
      {"mnli", "0\t1\t1e\tfiction\t(a)\t(b)\t(a)\t(b)\tA.\tB.\tneutral", "expected 12 tab-separated columns, found 11", "wrong column count"},
      {"mnli", "0\t1\t1e\tfiction\t(a)\t(b)\t(a)\t(b)\t\tB.\tneutral\tneutral", "sentence1: empty text", "empty field"},
      {"stsb", "0\tmain\tf\t2012\t0\tn\tn\tA.\tB.\tfive", "score: expected a number, found 'five'", "not a number"},
      {"stsb", "0\tmain\tf\t2012\t0\tn\tn\tA.\tB.\t4.5x", "score: expected a number, found '4.5x'", "not a number"},
      {"stsb", "0\tmain\tf\t2012\t0\tn\tn\tA.\tB.\tnan", "score: expected a number, found 'nan'", "not a number"},
      {"stsb", "0\tmain\tf\t2012\t0\tn\tn\tA.\tB.", "expected 10 tab-separated columns, found 9", "wrong column count"},
      {"tsv", "spam", "expected 2 tab-separated columns, found 1", "wrong column count"},
      {"tsv", "junk\tWin money", "label: unknown label 'junk'", "unknown label"},
      {"tsv", "SPAM\tWin money", "label: unknown label 'SPAM'", "unknown label"},
      {"tsv", "spam\t", "text: empty text", "empty field"},
      {"tsv", "spam\tWin \xed\xa0\x80 money", "invalid UTF-8 at byte 10", "invalid UTF-8"},
      {"csv", ",,,", "expected 2 comma-separated columns, found 4", "wrong column count"},
      {"csv", "ham,\"quoted\"tail", "text after a closing quote in field 2", "malformed CSV"},
      {"csv", "ham", "expected 2 comma-separated columns, found 1", "wrong column count"},
      {"csv", "ham,a,b", "expected 2 comma-separated columns, found 3", "wrong column count"},
      {"csv", "maybe,text", "label: unknown label 'maybe'", "unknown label"},
      {"csv", ",text", "label: empty label", "empty label"},
      // JSONL.
      {"snli", R"({"gold_label": "neutral", "sentence1": "A", )", "not valid JSON", "invalid JSON"},
      {"snli", "[1, 2]", "expected a JSON object", "invalid JSON"},
      {"snli", "\"a string\"", "expected a JSON object", "invalid JSON"},
      {"snli", R"({"gold_label": "neutral", "sentence1": "A"})", "sentence2: missing field", "missing field"},
      {"snli", R"({"gold_label": "neutral", "sentence2": "B"})", "sentence1: missing field", "missing field"},
      {"snli", R"({"gold_label": "neutral", "sentence1": 3, "sentence2": "B"})", "sentence1: expected a string, found number", "not a string"},
      {"snli", R"({"gold_label": "neutral", "sentence1": null, "sentence2": "B"})", "sentence1: expected a string, found null", "not a string"},
      {"snli", R"({"gold_label": "maybe", "sentence1": "A", "sentence2": "B"})", "gold_label: unknown label 'maybe'", "unknown label"},
      {"snli", R"({"gold_label": "neutral", "sentence1": "", "sentence2": "B"})", "sentence1: empty text", "empty field"},
      {"snli", R"({"gold_label": "neutral", "sentence1": "A", "sentence2": "B"} trailing)", "not valid JSON", "invalid JSON"},
      {"snli", "   ", "empty line", "empty line"},
      {"jsonl", R"({"premise": "a", "hypothesis": "b"})", "label: missing field", "missing field"},
      {"jsonl", R"({"premise": "a", "hypothesis": "b", "label": "maybe"})", "label: unknown label 'maybe'", "unknown label"},
      {"jsonl", R"({"premise": "a", "hypothesis": ["b"], "label": "yes"})", "hypothesis: expected a string, found array", "not a string"},
      {"jsonl", R"({"premise": "a", "hypothesis": "b", "label": 1})", "label: unknown label '1'", "unknown label"},
      {"jsonl", "{\"premise\": \"a\xff\", \"hypothesis\": \"b\", \"label\": \"yes\"}", "invalid UTF-8", "invalid UTF-8"},
      {"choice", R"({"context": "He sat", "endings": ["down."], "answer": 0})", "endings: expected a list of at least two candidates", "missing field"},
      {"choice", R"({"context": "He sat", "endings": ["down.", 5], "answer": 0})", "endings: every candidate must be a non-empty string", "not a string"},
      {"choice", R"({"context": "He sat", "endings": ["down.", "up."], "answer": 2})", "answer: expected the index of the right candidate, 0 to 1, found '2'", "bad choice index"},
      {"choice", R"({"context": "He sat", "endings": ["down.", "up."], "answer": "first"})", "answer: expected the index of the right candidate", "bad choice index"},
      {"choice", R"({"context": "He sat", "endings": ["down.", "up."], "answer": -1})", "answer: expected the index of the right candidate", "bad choice index"},
  };
  return all;
}

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

Reader find(const char* name) {
  for (const auto& r : readers())
    if (std::string(r.name) == name) return r;
  FAIL("no reader " << name);
  return {};
}

}  // namespace

TEST_CASE("fifty and more bad data lines: strict stops with file:line: field: reason, skip drops and counts", "[data]") {
  test::ScratchDir dir("bad-data");
  CHECK(cases().size() >= 50);
  int index = 0;
  for (const auto& c : cases()) {
    const Reader r = find(c.reader);
    CAPTURE(c.reader, c.message, index);
    DataConfig data;
    data.format = r.format;
    data.columns = r.columns;
    data.max_line_bytes = 256;
    TaskConfig task;
    task.kind = r.kind;
    task.regression = r.regression;
    task.labels = r.labels;
    const std::string head = r.header.empty() ? "" : r.header + "\n";
    const int64_t bad_line = r.header.empty() ? 2 : 3;
    std::string body = head + r.good + "\n" + c.line + "\n";
    for (int i = 0; i < 8; ++i) body += r.good + "\n";
    const std::string path = write(dir / fmt::format("case{}.txt", index++), body);
    try {
      read_examples(path, data, task, true);
      FAIL("read without an error");
    } catch (const InputError& e) {
      const std::string message = e.what();
      CHECK_THAT(message, Catch::StartsWith(fmt::format("{}:{}", path, bad_line)) && Catch::Contains(c.message));
      CHECK(message.find('\n') == std::string::npos);
    }
    data.on_error = OnError::kSkip;
    data.max_skipped = 0.2;
    const auto file = read_examples(path, data, task, true);
    CHECK(file.examples.size() == 9);
    CHECK(file.dropped == "1 " + c.category);
    data.max_skipped = 0.05;  // 1 of 10 lines is more than 5%
    CHECK_THROWS_WITH(read_examples(path, data, task, true), Catch::Contains("1 of 10 lines are bad (10.0%)"));
  }
}

TEST_CASE("every reader accepts a byte-order mark and CRLF line ends", "[data]") {
  test::ScratchDir dir("bom");
  for (const auto& r : readers()) {
    CAPTURE(r.name);
    DataConfig data;
    data.format = r.format;
    data.columns = r.columns;
    TaskConfig task;
    task.kind = r.kind;
    task.regression = r.regression;
    task.labels = r.labels;
    std::string body = "\xEF\xBB\xBF" + (r.header.empty() ? "" : r.header + "\r\n");
    for (int i = 0; i < 3; ++i) body += r.good + "\r\n";
    const auto file = read_examples(write(dir / fmt::format("{}.txt", r.name), body), data, task, true);
    CHECK(file.examples.size() == 3);
    CHECK(file.dropped.empty());
    CHECK(file.examples[0].text.back() != '\r');
  }
  // Plain text and parallel files too.
  DataConfig text;
  CHECK(read_text_lines(write(dir / "t.txt", "\xEF\xBB\xBFone\r\n\r\ntwo\r\n"), text) == std::vector<std::string>{"one", "two"});
  CHECK_THROWS_WITH(read_text_lines(write(dir / "n.txt", std::string("one\ntw\0o\n", 9)), text), Catch::Contains("n.txt:2: NUL byte at column 3"));
}
