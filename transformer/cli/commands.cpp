// The command table and the command-line parser both programs share.
#include "transformer/cli/commands.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

namespace qkv::cli {

namespace {

constexpr OptionKind kFlag = OptionKind::kFlag, kText = OptionKind::kText, kInteger = OptionKind::kInteger,
                     kNumber = OptionKind::kNumber, kIntegers = OptionKind::kIntegers, kTexts = OptionKind::kTexts;

bool always(const Invocation&) { return true; }
bool never(const Invocation&) { return false; }
const OptionSpec kCheckpoint{"--checkpoint", kText, "checkpoint directory, or best (default the newest)"};
const OptionSpec kRebuildData{"--rebuild-data", kFlag,
                              "encode the corpus's token shards again, though prepared (after its sources or tokenizer changed)"};

std::vector<Command> tool_verbs();

std::vector<Command> build_table() {
  std::vector<Command> table{
      {"train", "train the experiment's model; writes runs/NAME (or output:)", true,
       {{"--resume", kFlag, "continue from the newest complete checkpoint of the run"},
        {"--stop-at", kInteger, "save a checkpoint and stop after this step (resume later)", 0},
        {"-q,--quiet", kFlag, "no progress line"},
        {"--nproc", kInteger, "data parallel: start N local workers (ranks) that share each batch", 1, 1024},
        kRebuildData},
       always},
      {"prepare",
       "encode a causal_lm or masked_lm corpus into token shards (data.cache) on train.threads cores; every command "
       "reading it does this first when needed",
       true, {{"-q,--quiet", kFlag, "no progress line"}, kRebuildData}, always},
      {"eval", "evaluate the newest checkpoint on a split; prints a JSON line", true,
       {kCheckpoint,
        {"--split", kText, "valid or test", -1e300, 1e300, "valid"},
        {"--lengths", kIntegers,
         "context lengths to evaluate at, e.g. 128,256,512: perplexity per length, and loss per position in "
         "runs/NAME/eval/loss_by_position-SPLIT.csv (each block's by bands of 64 positions in loss_by_block-SPLIT.csv)"},
        {"--stride", kInteger,
         "with --lengths, also sliding-window evaluation: windows of each length every STRIDE tokens, each "
         "scoring only its last STRIDE targets (every target sees at least length - STRIDE tokens of context)", 1},
        kRebuildData},
       always},
      {"generate", "continue a prompt (--prompt, or each line of standard input)", true,
       {{"--checkpoint", kText, "checkpoint directory instead of the newest"},
        {"--prompt", kText, "text to continue"},
        {"-n,--max-new-tokens", kInteger, "tokens to generate (default generate.max_new_tokens)", 1},
        {"--temperature", kNumber, "sampling temperature, 0 for greedy (default generate.temperature)", 0},
        {"--top-k", kInteger, "keep the k most likely tokens, 0 for all (default generate.top_k)", 0},
        {"--top-p", kNumber, "keep the smallest set holding this probability mass (default generate.top_p)", 0, 1},
        {"--seed", kInteger, "sampling seed (default generate.seed, else the experiment's seed)", 0},
        {"--repetition-penalty", kNumber, "penalty on tokens already in the text, 1 for none (default generate.repetition_penalty)", 1, 100},
        {"--greedy", kFlag, "always take the most likely token"},
        {"--no-cache", kFlag, "recompute the whole sequence each step instead of using the KV cache"}},
       never},
      {"bench", "time training steps (and generation); prints one JSON line", true,
       {{"--synthetic", kInteger, "random tokens from a vocabulary of V: no data or tokenizer", 1},
        {"--steps", kInteger, "timed steps", 1, 1e12, "10"},
        {"--warmup", kInteger, "untimed steps before them", 0, 1e12, "3"},
        {"--profile", kText, "write a Chrome trace of the timed steps (operator times: scripts/profile_summary.py)"},
        {"--generate", kInteger, "also time generating N tokens with and without the KV cache", 0}},
       [](const Invocation& in) { return !in.has("--synthetic"); }},
      {"sweep",
       "train and evaluate every point of the experiment's sweep grid; skips finished points; writes results.csv and "
       "report.md in the output directory",
       true, {}, always},
      {"attention",
       "attention maps over --text per layer and head (CSV, PNG; t5 and alibi biases too), and with --mass attention "
       "mass against relative distance over the data",
       true,
       {{"--checkpoint", kText, "checkpoint directory instead of the newest"},
        {"--text", kText, "text whose attention maps are written"},
        {"--mass", kFlag, "attention mass against relative distance over --split"},
        {"--lengths", kIntegers, "context lengths for --mass (default train.seq_len)"},
        {"--split", kText, "valid or test", -1e300, 1e300, "valid"},
        {"--out", kText, "output directory (default runs/NAME/attention)"},
        {"--no-plots", kFlag, "CSV only, no PNG"},
        kRebuildData},
       [](const Invocation& in) { return in.flag("--mass"); }},
      {"predict", "one prediction per example of a file in the experiment's data format (classify, pair, choice)", true,
       {{"--input", kText, "file to predict (default data.test, else data.valid)"},
        {"--output", kText, "write predictions here instead of standard output"},
        kCheckpoint},
       never},
  };
  for (Command& c : tool_verbs()) table.push_back(std::move(c));
  return table;
}

// The verbs beside training and its evaluation: translation, scoring, inspection, conversion.
std::vector<Command> tool_verbs() {
  return {
      {"translate", "translate the lines of --input (or standard input), one per line", true,
       {{"--input", kText, "file of source sentences, one per line (default standard input)"},
        {"--output", kText, "write translations here instead of standard output"},
        kCheckpoint,
        {"--beam", kInteger, "beam size (default task.beam)", 1, 1024},
        {"--greedy", kFlag, "greedy decoding (beam 1)"},
        {"--no-cache", kFlag, "recompute the decoder prefix each step instead of caching"}},
       never},
      {"word2vec",
       "word vectors of data.train's words by skip-gram with negative sampling (Mikolov et al. 2013), in word2vec's "
       "text format; --similar prints nearest neighbours by cosine",
       true,
       {{"--output", kText, "the vector file (default OUTPUT/word2vec.txt)"},
        {"--dim", kInteger, "vector size", 1, 100000, "100"},
        {"--window", kInteger, "largest context window (each word draws 1..window)", 1, 1000, "5"},
        {"--negatives", kInteger, "noise words per pair, drawn from unigram^0.75", 1, 1000, "5"},
        {"--min-count", kInteger, "drop words seen fewer times", 1, 1e12, "5"},
        {"--epochs", kInteger, "passes over the corpus", 1, 1000, "1"},
        {"--subsample", kNumber, "t of the frequent-word subsampling, 0 for none (default 1e-4)", 0, 1},
        {"--similar", kTexts, "a word whose 8 nearest neighbours to print (repeatable)"}},
       always},
      {"embeddings",
       "look at an embedding space (--vectors FILE, else the trained model's token embeddings): nearest neighbours, "
       "analogies, a 2-D map by t-SNE or PCA as CSV and PNG, and one word's contextual vectors across sentences",
       true,
       {{"--vectors", kText, "a word2vec or GloVe text file instead of the experiment's model"},
        kCheckpoint,
        {"--near", kTexts, "a word whose nearest neighbours by cosine to print (repeatable)"},
        {"--analogy", kTexts, "'A B C': A is to B as C is to ? (B - A + C, 3CosAdd; repeatable)"},
        {"--count", kInteger, "neighbours or answers to print", 1, 1000, "8"},
        {"--map", kFlag, "write a 2-D map of --words or the --top entries"},
        {"--words", kText, "comma-separated words to map (default the --top entries)"},
        {"--top", kInteger, "map the first N entries (most frequent words; pieces in vocabulary order)", 3, 5000, "300"},
        {"--method", kText, "tsne or pca", -1e300, 1e300, "tsne"},
        {"--perplexity", kNumber, "t-SNE's perplexity", 2, 1000, "30"},
        {"--context", kTexts, "a sentence holding --word: its contextual vector there (repeatable)"},
        {"--word", kText, "the word (one piece) compared across the --context sentences"},
        {"--out", kText, "output directory (default runs/NAME/embeddings)"},
        {"--no-plots", kFlag, "CSV only, no PNG"}},
       never},
      {"score", "BLEU, chrF2 and chrF2++ of a hypothesis file against reference files, as sacreBLEU 2.x", false,
       {{"--hyp", kText, "hypotheses, one per line", -1e300, 1e300, "", true},
        {"--ref", kTexts, "references, one per line, line by line with --hyp; repeat for more references", -1e300, 1e300, "",
         true},
        {"--tokenize", kText, "BLEU's tokenizer: 13a, intl, zh, char or none", -1e300, 1e300, "13a"},
        {"--lowercase", kFlag, "case-insensitive BLEU and chrF"}},
       never},
      {"info", "print the resolved experiment, parameter counts and FLOPs per token", true, {}, never},
      {"import",
       "turn a Hugging Face model directory (GPT-2 or BERT: config.json, model.safetensors, tokenizer files) into a qkv "
       "run every verb uses: qkv import hf DIR --output runs/NAME",
       false,
       {{"format", kText, "hf (Hugging Face's layout)", -1e300, 1e300, "", true},
        {"source", kText, "the model directory", -1e300, 1e300, "", true},
        {"--output", kText, "run directory to create", -1e300, 1e300, "", true},
        {"--name", kText, "the experiment's name (default the run directory's)"}},
       never},
      {"export",
       "write a gpt or bert run as a Hugging Face model directory (GPT-2 or BERT): qkv export hf RUN DIR", false,
       {{"format", kText, "hf (Hugging Face's layout)", -1e300, 1e300, "", true},
        {"run", kText, "the run directory (its newest checkpoint)", -1e300, 1e300, "", true},
        {"destination", kText, "directory to write", -1e300, 1e300, "", true}},
       never},
  };
}

// Checks an integer or a number against the option's bounds, with the message the front end prints.
CLI::Validator bounds(const OptionSpec& spec) {
  const bool integer = spec.kind != OptionKind::kNumber;
  std::string range;
  const bool low = spec.min > -1e299, high = spec.max < 1e299;
  if (low && high) range = fmt::format(" in [{}, {}]", spec.min, spec.max);
  else if (low) range = fmt::format(" >= {}", spec.min);
  else if (high) range = fmt::format(" <= {}", spec.max);
  const std::string expected = fmt::format("expected {}{}", integer ? "an integer" : "a number", range);
  return CLI::Validator(
      [=](std::string& value) -> std::string {
        size_t used = 0;
        double v = 0;
        try {
          v = integer ? double(std::stoll(value, &used)) : std::stod(value, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != value.size() || v < spec.min || v > spec.max) return fmt::format("{}, found '{}'", expected, value);
        return "";
      },
      "");
}

std::string long_name(const char* names) {
  const std::string all = names;
  const auto at = all.find("--");
  return at == std::string::npos ? all : all.substr(at, all.find(',', at) - at);
}

// Adds one option of the table to a CLI11 subcommand, storing what it reads under its long name.
void add_option(CLI::App* verb, const OptionSpec& spec, std::map<std::string, std::vector<std::string>>& store) {
  auto& values = store[long_name(spec.names)];
  if (spec.kind == OptionKind::kFlag) {
    verb->add_flag_function(spec.names, [&values](int64_t) { values = {"true"}; }, spec.help);
    return;
  }
  if (spec.names[0] != '-') {  // a positional argument: exactly one word
    CLI::Option* option = verb->add_option_function<std::string>(spec.names, [&values](const std::string& v) { values = {v}; }, spec.help);
    if (spec.required) option->required();
    return;
  }
  CLI::Option* option = verb->add_option(spec.names, values, spec.help);
  if (spec.kind == OptionKind::kIntegers) {
    option->delimiter(',');
  } else if (spec.kind == OptionKind::kTexts) {
    option->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  } else {
    option->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  if (spec.kind != OptionKind::kText && spec.kind != OptionKind::kTexts) option->check(bounds(spec));
  if (*spec.shown_default) option->default_str(spec.shown_default);
  if (spec.required) option->required();
  const bool text = spec.kind == OptionKind::kText || spec.kind == OptionKind::kTexts;
  option->type_name(text ? "TEXT" : spec.kind == OptionKind::kNumber ? "NUMBER" : spec.kind == OptionKind::kIntegers ? "INT,..." : "INT");
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table = build_table();
  return table;
}

const Command& command(const std::string& verb) {
  for (const Command& c : commands())
    if (verb == c.name) return c;
  throw std::logic_error("no command " + verb);
}

std::string Invocation::text(const std::string& option, const std::string& fallback) const {
  const auto it = values.find(option);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

int64_t Invocation::integer(const std::string& option, int64_t fallback) const {
  return has(option) ? std::stoll(text(option)) : fallback;
}

double Invocation::number(const std::string& option, double fallback) const {
  return has(option) ? std::stod(text(option)) : fallback;
}

std::vector<std::string> Invocation::texts(const std::string& option) const {
  const auto it = values.find(option);
  return it == values.end() ? std::vector<std::string>() : it->second;
}

std::vector<int64_t> Invocation::integers(const std::string& option) const {
  std::vector<int64_t> out;
  if (const auto it = values.find(option); it != values.end())
    for (const auto& v : it->second) out.push_back(std::stoll(v));
  return out;
}

int parse_command_line(int argc, char** argv, Invocation* out) {
  CLI::App app{"qkv: Transformer research toolkit. One experiment file selects the architecture, the position scheme "
               "and the task; the verbs train, evaluate and use it.",
               "qkv"};
  app.require_subcommand(1);
  app.footer("Exit codes: 0 success, 1 failure at run time, 2 bad input.\nRun `qkv VERB --help` for a verb's options.");
  // Every verb's options are stored per verb; only the parsed verb's are kept.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> stores;
  std::map<std::string, std::string> experiments;
  std::map<std::string, std::vector<std::string>> sets;
  for (const Command& c : commands()) {
    CLI::App* verb = app.add_subcommand(c.name, c.summary);
    if (c.takes_experiment) {
      verb->add_option("experiment", experiments[c.name], "experiment file (YAML)")->required();
      verb->add_option("--set", sets[c.name], "override a key of the experiment: --set model.layers=2 (repeatable)")
          ->type_name("KEY=VALUE")
          ->allow_extra_args(false);
    }
    for (const OptionSpec& spec : c.options) add_option(verb, spec, stores[c.name]);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "qkv: error: %s\n", e.what());
    return 2;
  }
  for (const Command& c : commands()) {
    if (!app.got_subcommand(c.name)) continue;
    out->verb = c.name;
    out->experiment = experiments[c.name];
    out->sets = sets[c.name];
    for (auto& [name, values] : stores[c.name])
      if (!values.empty()) out->values[name] = values;
  }
  out->arguments.assign(argv + 1, argv + argc);
  return -1;
}

namespace {

std::map<std::string, Runner>& runners() {
  static std::map<std::string, Runner> registered;
  return registered;
}

}  // namespace

bool register_runner(const char* verb, Runner run) {
  runners()[verb] = run;
  return true;
}

Runner find_runner(const std::string& verb) {
  const auto it = runners().find(verb);
  return it == runners().end() ? nullptr : it->second;
}

}  // namespace qkv::cli
