// qkv: the command. `qkv VERB EXPERIMENT.yaml [--set key=value ...]`; exit codes 0 success,
// 1 failure at run time, 2 bad input (arguments, configuration, data).
#include <CLI/CLI.hpp>

#include <c10/util/Exception.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "transformer/cli/verbs.h"
#include "transformer/util/allocator.h"
#include "transformer/util/errors.h"

namespace {

using namespace qkv::cli;

void add_common(CLI::App* verb, CommonArgs& common) {
  verb->add_option("experiment", common.experiment, "experiment file (YAML)")->required();
  verb->add_option("--set", common.sets, "override a key of the experiment: --set model.layers=2 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
  qkv::keep_freed_memory();  // training steps reuse their buffers instead of faulting in fresh pages
  CLI::App app{"qkv: Transformer research toolkit. One experiment file selects the architecture, the position "
               "scheme and the task; the verbs train, evaluate and use it.",
               "qkv"};
  app.require_subcommand(1);
  app.footer("Exit codes: 0 success, 1 failure at run time, 2 bad input.\nRun `qkv VERB --help` for a verb's options.");

  TrainArgs train;
  auto* train_cmd = app.add_subcommand("train", "train the experiment's model; writes runs/NAME (or output:)");
  add_common(train_cmd, train.common);
  train_cmd->add_flag("--resume", train.resume, "continue from the newest complete checkpoint of the run");
  train_cmd->add_option("--stop-at", train.stop_at, "save a checkpoint and stop after this step (resume later)");
  train_cmd->add_flag("-q,--quiet", train.quiet, "no progress line");
  train_cmd->add_option("--nproc", train.nproc, "data parallel: start N local workers (ranks) that share each batch")
      ->check(CLI::Range(1, 1024));

  EvalArgs eval;
  auto* eval_cmd = app.add_subcommand("eval", "evaluate the newest checkpoint on a split; prints a JSON line");
  add_common(eval_cmd, eval.common);
  eval_cmd->add_option("--checkpoint", eval.checkpoint, "checkpoint directory, or best (default the newest)");
  eval_cmd->add_option("--split", eval.split, "valid or test")->capture_default_str();
  eval_cmd->add_option("--lengths", eval.lengths,
                       "context lengths to evaluate at, e.g. 128,256,512: perplexity per length, and loss per "
                       "position in runs/NAME/eval/loss_by_position-SPLIT.csv")
      ->delimiter(',');

  GenerateArgs gen;
  auto* gen_cmd = app.add_subcommand("generate", "continue a prompt (--prompt, or each line of standard input)");
  add_common(gen_cmd, gen.common);
  gen_cmd->add_option("--checkpoint", gen.checkpoint, "checkpoint directory instead of the newest");
  gen_cmd->add_option("--prompt", gen.prompt, "text to continue");
  gen_cmd->add_option("-n,--max-new-tokens", gen.max_new_tokens, "tokens to generate (default generate.max_new_tokens)");
  gen_cmd->add_option("--temperature", gen.temperature, "sampling temperature, 0 for greedy (default generate.temperature)");
  gen_cmd->add_option("--top-k", gen.top_k, "keep the k most likely tokens, 0 for all (default generate.top_k)");
  gen_cmd->add_option("--top-p", gen.top_p, "keep the smallest set holding this probability mass (default generate.top_p)");
  gen_cmd->add_option("--seed", gen.seed, "sampling seed (default generate.seed, else the experiment's seed)");
  gen_cmd->add_flag("--greedy", gen.greedy, "always take the most likely token");
  gen_cmd->add_flag("--no-cache", gen.no_cache, "recompute the whole sequence each step instead of using the KV cache");

  BenchArgs bench;
  auto* bench_cmd = app.add_subcommand("bench", "time training steps (and generation); prints one JSON line");
  add_common(bench_cmd, bench.common);
  bench_cmd->add_option("--synthetic", bench.synthetic_vocab, "random tokens from a vocabulary of V: no data or tokenizer")
      ->type_name("V");
  bench_cmd->add_option("--steps", bench.steps, "timed steps")->capture_default_str()->check(CLI::PositiveNumber);
  bench_cmd->add_option("--warmup", bench.warmup, "untimed steps before them")->capture_default_str()->check(CLI::NonNegativeNumber);
  bench_cmd->add_option("--profile", bench.profile,
                        "write a Chrome trace of the timed steps (operator times: scripts/profile_summary.py)");
  bench_cmd->add_option("--generate", bench.generate, "also time generating N tokens with and without the KV cache")
      ->type_name("N");

  SweepArgs sweep;
  auto* sweep_cmd = app.add_subcommand(
      "sweep", "train and evaluate every point of the experiment's sweep grid; skips finished points; "
               "writes results.csv and report.md in the output directory");
  add_common(sweep_cmd, sweep.common);

  AttentionArgs attn;
  auto* attn_cmd = app.add_subcommand(
      "attention", "attention maps over --text per layer and head (CSV, PNG; t5 and alibi biases too), and with "
                   "--mass attention mass against relative distance over the data");
  add_common(attn_cmd, attn.common);
  attn_cmd->add_option("--checkpoint", attn.checkpoint, "checkpoint directory instead of the newest");
  attn_cmd->add_option("--text", attn.text, "text whose attention maps are written");
  attn_cmd->add_flag("--mass", attn.mass, "attention mass against relative distance over --split");
  attn_cmd->add_option("--lengths", attn.lengths, "context lengths for --mass (default train.seq_len)")->delimiter(',');
  attn_cmd->add_option("--split", attn.split, "valid or test")->capture_default_str();
  attn_cmd->add_option("--out", attn.out, "output directory (default runs/NAME/attention)");
  attn_cmd->add_flag("--no-plots", attn.no_plots, "CSV only, no PNG");

  PredictArgs predict;
  auto* predict_cmd = app.add_subcommand(
      "predict", "one prediction per example of a file in the experiment's data format (classify, pair, choice)");
  add_common(predict_cmd, predict.common);
  predict_cmd->add_option("--input", predict.input, "file to predict (default data.test, else data.valid)");
  predict_cmd->add_option("--output", predict.output, "write predictions here instead of standard output");
  predict_cmd->add_option("--checkpoint", predict.checkpoint, "checkpoint directory, or best (default the newest)");

  TranslateArgs translate;
  auto* translate_cmd = app.add_subcommand("translate", "translate the lines of --input (or standard input), one per line");
  add_common(translate_cmd, translate.common);
  translate_cmd->add_option("--input", translate.input, "file of source sentences, one per line (default standard input)");
  translate_cmd->add_option("--output", translate.output, "write translations here instead of standard output");
  translate_cmd->add_option("--checkpoint", translate.checkpoint, "checkpoint directory, or best (default the newest)");
  translate_cmd->add_option("--beam", translate.beam, "beam size (default task.beam)");
  translate_cmd->add_flag("--greedy", translate.greedy, "greedy decoding (beam 1)");
  translate_cmd->add_flag("--no-cache", translate.no_cache, "recompute the decoder prefix each step instead of caching");

  ScoreArgs score;
  auto* score_cmd = app.add_subcommand("score", "BLEU and chrF2 of a hypothesis file against a reference file, as sacreBLEU");
  score_cmd->add_option("--hyp", score.hypotheses, "hypotheses, one per line")->required();
  score_cmd->add_option("--ref", score.references, "references, one per line")->required();

  InfoArgs info;
  auto* info_cmd = app.add_subcommand("info", "print the resolved experiment, parameter counts and FLOPs per token");
  add_common(info_cmd, info.common);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "qkv: error: {}\n", e.what());
    return 2;
  }
  gen.has_prompt = gen_cmd->count("--prompt") > 0;
  // The workers of --nproc run the same command without it.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--nproc") {
      ++i;
      continue;
    }
    if (arg.rfind("--nproc=", 0) == 0) continue;
    train.argv.push_back(arg);
  }
  attn.has_text = attn_cmd->count("--text") > 0;

  try {
    if (train_cmd->parsed()) return run_train(train);
    if (eval_cmd->parsed()) return run_eval(eval);
    if (gen_cmd->parsed()) return run_generate(gen);
    if (info_cmd->parsed()) return run_info(info);
    if (bench_cmd->parsed()) return run_bench(bench);
    if (sweep_cmd->parsed()) return run_sweep(sweep);
    if (attn_cmd->parsed()) return run_attention(attn);
    if (predict_cmd->parsed()) return run_predict(predict);
    if (translate_cmd->parsed()) return run_translate(translate);
    if (score_cmd->parsed()) return run_score(score);
  } catch (const qkv::InputError& e) {
    fmt::print(stderr, "qkv: error: {}\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    fmt::print(stderr, "qkv: failed: {}\n", first_line(e.what_without_backtrace()));
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "qkv: failed: {}\n", first_line(e.what()));
    return 1;
  }
  return 1;
}
