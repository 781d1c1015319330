// The data and tokenizer sections of an experiment file: where the examples are and how they are read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "transformer/config/choices.h"

namespace qkv {

// A split's sources, as a YAML string or a list: files, folders (every file below, in path order)
// or globs. Language-modelling corpora read them all; the other formats read one file.
struct Paths {
  std::vector<std::string> items;
  Paths() = default;
  Paths(std::string one) {  // NOLINT: a single path reads as one
    if (!one.empty()) items.push_back(std::move(one));
  }
  Paths(const char* one) : Paths(std::string(one)) {}  // NOLINT
  bool empty() const { return items.empty(); }
  // The path of the formats that read one file; "" when none.
  const std::string& single() const {
    static const std::string none;
    return items.empty() ? none : items.front();
  }
  std::string joined() const {  // "a.txt, b/*.jsonl.zst"
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
  }
  bool operator==(const Paths& other) const { return items == other.items; }
};

// Label names of a format's label column in class order (the GLUE tasks, SNLI); empty otherwise.
std::vector<std::string> default_labels(DataFormat format);

// Where the fields of an example are in a TSV/CSV file (column names with a header, 0-based
// numbers without) or a JSONL object (field names).
struct ColumnsConfig {
  std::string text, text_b, label;   // classify: text; pair: text and text_b; choice: text (context)
  std::vector<std::string> choices;  // choice: one column per candidate (JSONL: one list field)

  template <class V>
  void visit(V& v) {
    v.field("text", text, Spec().doc("first text (sentence, premise, question, context)"));
    v.field("text_b", text_b, Spec().doc("second text of a pair"));
    v.field("label", label, Spec().doc("label, score or index of the right choice"));
    v.field("choices", choices, Spec().doc("candidates of a choice task"));
  }
};

struct DataConfig {
  Paths train, valid, test;
  DataFormat format = DataFormat::kText;
  ColumnsConfig columns;
  bool header = true;             // tsv, csv: the first line names the columns
  std::string source, target;     // parallel: language suffixes, files PREFIX.SOURCE and PREFIX.TARGET
  OnError on_error = OnError::kStrict;
  double max_skipped = 0.01;      // skip: most lines of a file that may be dropped, as a fraction
  int64_t max_line_bytes = 1 << 20;
  int64_t train_examples = 0;     // labelled tasks, translate: train on a fixed random subset this large; 0: all
  // Language-modelling corpora (causal_lm, masked_lm), encoded once into token shards.
  Documents documents = Documents::kLine;
  std::string text_field = "text";       // jsonl: the field holding a document's text
  double valid_fraction = 0.0;           // without data.valid: documents held out for validation
  std::string cache = "data/cache/tokens";  // where prepared token shards live

  template <class V>
  void visit(V& v) {
    v.path("train", train, Spec().doc("required by text tasks"));
    v.path("valid", valid, Spec());
    v.path("test", test, Spec());
    v.choice("format", format, data_format_choices(),
             Spec().doc("text|glue/cola|glue/sst2|glue/mrpc|glue/qqp|glue/stsb|glue/mnli|glue/qnli|glue/rte|glue/wnli|"
                        "snli|tsv|csv|jsonl|parallel"));
    v.section("columns", columns, Spec().doc("tsv, csv, jsonl: where each field is"));
    v.field("header", header, Spec().doc("tsv, csv: the first line names the columns"));
    v.field("source", source, Spec().doc("parallel: source language suffix (train: PREFIX -> PREFIX.SOURCE)"));
    v.field("target", target, Spec().doc("parallel: target language suffix"));
    v.choice("on_error", on_error, on_error_choices(), Spec().doc("strict|skip: stop at a bad line, or drop and count"));
    v.field("max_skipped", max_skipped, Spec().range(0.0, 1.0).doc("skip: largest fraction of a file's lines dropped"));
    v.field("max_line_bytes", max_line_bytes, Spec().range(16, 1 << 30).doc("longer lines are errors"));
    v.choice("documents", documents, documents_choices(),
             Spec().doc("text, jsonl corpora: line|paragraph|file: a document is a line, lines up to a blank line, or a file"));
    v.field("text_field", text_field, Spec().doc("jsonl corpora: the field of a document's text"));
    v.field("valid_fraction", valid_fraction,
            Spec().range(0.0, 0.5).doc("without data.valid: the fraction of documents held out, chosen from the seed"));
    v.path("cache", cache, Spec().doc("where token shards are prepared (one folder per corpus and tokenizer)"));
    v.field("train_examples", train_examples,
            Spec().range(0, int64_t(1) << 40).doc("labelled tasks, translate: train on a fixed random subset of this many examples "
                                                  "(the same subset for every seed); 0: all"));
  }
};

struct TokenizerConfig {
  TokenizerKind kind = TokenizerKind::kSentencePiece;
  std::string model;  // trained on data.train when missing (sentencepiece)
  std::string merges;  // bpe: merges.txt; empty: beside model
  bool lower_case = true;  // wordpiece: BERT's do_lower_case (uncased models)
  std::string target_model;  // translate: separate target-language model; empty: one joint model
  int64_t vocab_size = 8000;
  TokenizerType type = TokenizerType::kUnigram;
  double character_coverage = 1.0;
  Normalization normalization = Normalization::kNmtNfkc;
  int64_t max_sentences = 200000;  // sentences sampled for training

  template <class V>
  void visit(V& v) {
    v.choice("kind", kind, tokenizer_kind_choices(),
             Spec().doc("sentencepiece|bpe|wordpiece: trained by qkv, GPT-2's byte-level BPE, BERT's WordPiece"));
    v.path("model", model, Spec().doc("SentencePiece model, GPT-2's vocab.json (bpe) or BERT's vocab.txt (wordpiece)"));
    v.path("merges", merges, Spec().doc("bpe: GPT-2's merges.txt; empty: merges.txt beside model"));
    v.field("lower_case", lower_case, Spec().doc("wordpiece: lower-case and strip accents (uncased BERT)"));
    v.path("target_model", target_model, Spec().doc("translate: target-side model; empty: model is joint"));
    v.field("vocab_size", vocab_size, Spec().range(16, 1 << 20));
    v.choice("type", type, tokenizer_type_choices(), Spec().doc("unigram|bpe"));
    v.field("character_coverage", character_coverage, Spec().range(0.9, 1.0));
    v.choice("normalization", normalization, normalization_choices(),
             Spec().doc("SentencePiece's text normalisation, fixed at training: nmt_nfkc (folds full-width "
                        "punctuation to ASCII), nfkc, nmt_nfkc_cf, nfkc_cf, identity (keeps text as written)"));
    v.field("max_sentences", max_sentences, Spec().range(100, 1e9));
  }
};

// The files behind one split's path: the path itself, or PREFIX.SOURCE and PREFIX.TARGET for
// parallel data.
std::vector<std::string> split_files(const DataConfig& data, const std::string& path);

}  // namespace qkv
