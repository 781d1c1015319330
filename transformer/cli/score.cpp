// qkv score --hyp FILE --ref FILE [--ref FILE ...] [--tokenize T] [--lowercase]: corpus BLEU,
// chrF2 and chrF2++ of any hypothesis file against one or more reference files, line by line, as
// sacreBLEU 2.x's command line reports them (one JSON object each, with sacreBLEU's signature).
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/cli/commands.h"
#include "transformer/data/lines.h"
#include "transformer/eval/bleu.h"
#include "transformer/eval/sacrebleu_tokenize.h"
#include "transformer/util/errors.h"

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

double rounded(double score) { return std::round(score * 100) / 100; }

int run_score(const Invocation& in) {
  const std::string hypotheses = in.text("--hyp");
  const auto hyps = read_lines(hypotheses);
  std::vector<std::vector<std::string>> refs;
  for (const auto& path : in.texts("--ref")) {
    refs.push_back(read_lines(path));
    if (refs.back().size() != hyps.size()) {
      throw InputError(fmt::format("{}: {} lines, {}: {} lines: one hypothesis per reference line is needed", hypotheses,
                                   hyps.size(), path, refs.back().size()));
    }
  }
  BleuOptions bleu_options;
  bleu_options.tokenize = in.text("--tokenize", "13a");
  bleu_options.lowercase = in.flag("--lowercase");
  const auto& names = sacrebleu_tokenizers();
  if (std::find(names.begin(), names.end(), bleu_options.tokenize) == names.end()) {
    throw InputError(fmt::format("--tokenize: expected one of {}, found '{}'", fmt::join(names, ", "), bleu_options.tokenize));
  }
  const BleuScore bleu = sacrebleu_bleu(hyps, refs, bleu_options);
  const nlohmann::ordered_json b{{"name", "BLEU"},
                                 {"score", rounded(bleu.score)},
                                 {"signature", bleu_signature(refs.size(), bleu_options)},
                                 {"verbose_score", bleu.verbose()}};
  fmt::print("{}\n", b.dump());
  for (const int word_order : {0, 2}) {  // chrF2, then chrF2++
    ChrfOptions chrf_options;
    chrf_options.word_order = word_order;
    chrf_options.lowercase = bleu_options.lowercase;
    const nlohmann::ordered_json c{{"name", chrf_name(chrf_options)},
                                   {"score", rounded(sacrebleu_chrf(hyps, refs, chrf_options))},
                                   {"signature", chrf_signature(refs.size(), chrf_options)}};
    fmt::print("{}\n", c.dump());
  }
  return 0;
}

const bool registered = register_runner("score", run_score);

}  // namespace

}  // namespace qkv::cli
