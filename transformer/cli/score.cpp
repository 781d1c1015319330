// qkv score --hyp FILE --ref FILE: corpus BLEU and chrF2 of any hypothesis file against a
// reference file, line by line, as sacreBLEU's command line reports them (one JSON object each).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/cli/commands.h"
#include "transformer/data/lines.h"
#include "transformer/util/errors.h"
#include "transformer/eval/bleu.h"

namespace qkv::cli {

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  LineReader reader(path, 1 << 24);
  std::vector<std::string> lines;
  std::string line, category, problem;
  while (reader.next(line, &category, &problem)) {
    if (!problem.empty()) throw InputError(fmt::format("{}:{}: {}", path, reader.line_number(), problem));
    lines.push_back(line);
  }
  return lines;
}

int run_score(const Invocation& in) {
  const std::string hypotheses = in.text("--hyp"), references = in.text("--ref");
  const auto hyps = read_lines(hypotheses);
  const auto refs = read_lines(references);
  if (hyps.size() != refs.size()) {
    throw InputError(fmt::format("{}: {} lines, {}: {} lines: one hypothesis per reference line is needed", hypotheses,
                                 hyps.size(), references, refs.size()));
  }
  const BleuScore bleu = corpus_bleu(hyps, refs);
  nlohmann::ordered_json b{{"name", "BLEU"},
                           {"score", std::round(bleu.score * 100) / 100},
                           {"signature", "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|qkv"},
                           {"verbose_score", bleu.verbose()}};
  nlohmann::ordered_json c{{"name", "chrF2"},
                           {"score", std::round(corpus_chrf(hyps, refs) * 100) / 100},
                           {"signature", "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|qkv"}};
  fmt::print("{}\n{}\n", b.dump(), c.dump());
  return 0;
}

const bool registered = register_runner("score", run_score);

}  // namespace

}  // namespace qkv::cli
