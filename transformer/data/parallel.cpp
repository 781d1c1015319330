// Parallel text readers.
#include "transformer/data/parallel.h"

#include <fmt/format.h>

#include "transformer/data/examples.h"
#include "transformer/data/lines.h"
#include "transformer/util/errors.h"

namespace qkv {

std::vector<SentencePair> read_pairs(const std::string& path, const DataConfig& data, const TaskConfig& task,
                                     std::string* dropped) {
  std::vector<SentencePair> pairs;
  if (data.format != DataFormat::kParallel) {
    const ExampleFile file = read_examples(path, data, task, /*require_labels=*/false);
    for (const auto& ex : file.examples) pairs.push_back({ex.text, ex.text_b, ex.line});
    if (dropped) *dropped = file.dropped;
    return pairs;
  }
  const auto files = split_files(data, path);
  LineReader source(files[0], data.max_line_bytes), target(files[1], data.max_line_bytes);
  BadLines bad_source(files[0], data.on_error, data.max_skipped), bad_target(files[1], data.on_error, data.max_skipped);
  std::string s, t, s_category, s_problem, t_category, t_problem;
  for (;;) {
    const bool more_s = source.next(s, &s_category, &s_problem);
    const bool more_t = target.next(t, &t_category, &t_problem);
    if (!more_s || !more_t) {
      if (more_s != more_t) {  // count the rest of the longer file, then name both
        LineReader& longer = more_s ? source : target;
        std::string rest, c, p;
        while (longer.next(rest, &c, &p)) {
        }
        throw InputError(fmt::format("{}: {} lines, {}: {} lines: parallel files must have one line per sentence pair",
                                     files[0], source.line_number(), files[1], target.line_number()));
      }
      break;
    }
    const int64_t n = source.line_number();
    bool ok = true;
    if (!s_problem.empty()) bad_source.report(n, "", s_category, s_problem), ok = false;
    else if (s.find_first_not_of(" \t") == std::string::npos) bad_source.report(n, "", "empty line", "empty line"), ok = false;
    if (!t_problem.empty()) bad_target.report(n, "", t_category, t_problem), ok = false;
    else if (t.find_first_not_of(" \t") == std::string::npos) bad_target.report(n, "", "empty line", "empty line"), ok = false;
    if (ok) pairs.push_back({s, t, n});
  }
  bad_source.finish(source.line_number());
  bad_target.finish(target.line_number());
  if (dropped) {
    std::string text = bad_source.summary();
    if (!bad_target.summary().empty()) text += (text.empty() ? "" : "; ") + files[1] + ": " + bad_target.summary();
    *dropped = text;
  }
  if (pairs.empty()) throw InputError(fmt::format("{}: no sentence pairs", files[0]));
  return pairs;
}

}  // namespace qkv
