// Hugging Face model directories (config.json, model.safetensors or its shards, tokenizer files)
// in and out of qkv runs, for GPT-2 (GPT2LMHeadModel, GPT2Model) and BERT (BertForMaskedLM,
// BertForPreTraining, BertModel, BertForSequenceClassification), any size.
//
// Every tensor is mapped by one table per family (hf_tables.cpp): GPT-2's Conv1D weights are stored
// (in, out) and transposed; BERT's separate query, key and value are concatenated into qkv's
// one projection. Names are accepted as Hugging Face's loader accepts them: with or without the
// "transformer." / "bert." prefix, LayerNorm's gamma/beta for weight/bias, GPT-2's causal-mask
// buffers present or not, tied output weights present or not. Anything else that does not map,
// and any configuration qkv's layers cannot reproduce, is refused with an InputError naming it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "transformer/config/model_config.h"
#include "transformer/io/safetensors.h"

namespace qkv::io {

struct HfModel {
  std::string architecture;    // config.json's architectures[0], or the model type's base model
  std::string model_type;      // gpt2 or bert
  ModelConfig model;           // qkv's options that reproduce it
  std::string tokenizer;       // a run's tokenizer.model (a qkv tokenizer bundle)
  std::vector<TensorSource> tensors;  // under qkv's names, made as they are written
  std::vector<std::string> notes;     // what was left out or made fresh, and why
  std::shared_ptr<SafetensorsCheckpoint> checkpoint;  // keeps the mapping alive
};

// Reads a model directory; nothing is copied until the tensors are made.
HfModel read_hf(const std::string& dir);

// `qkv import hf DIR --output RUN`: RUN/config.yaml (an experiment for every verb),
// RUN/tokenizer.model and RUN/checkpoints/step-0. Returns the notes.
std::vector<std::string> import_hf(const std::string& dir, const std::string& run, const std::string& name);

// `qkv export hf RUN DIR`: config.json, model.safetensors and the tokenizer's files of the run's
// newest checkpoint, when its options map onto GPT-2 or BERT; InputError naming the option that
// prevents it otherwise.
void export_hf(const std::string& run, const std::string& dir);

// The reason a model's options cannot be written as GPT-2 or BERT, or empty when they can.
std::string hf_export_obstacle(const ModelConfig& model);

}  // namespace qkv::io
