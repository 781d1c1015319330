// The model section of an experiment file: the family, its shape and the position scheme.
#pragma once

#include <cstdint>

#include "transformer/config/choices.h"
#include "transformer/config/position_scheme.h"

namespace qkv {

struct ModelConfig {
  Family family = Family::kGpt;
  int64_t layers = 2;
  int64_t decoder_layers = 0;  // seq2seq decoder depth; 0: same as layers
  int64_t d_model = 128;
  int64_t heads = 4;
  int64_t d_ff = 512;
  double dropout = 0.1;              // residual dropout
  double attention_dropout = -1.0;   // -1: same as dropout
  double embedding_dropout = -1.0;   // -1: same as dropout
  bool pre_norm = true;
  NormKind norm_type = NormKind::kLayerNorm;
  Activation activation = Activation::kGelu;
  bool bias = true;
  bool tie_embeddings = true;
  bool scale_embeddings = false;  // multiply embeddings by sqrt(d_model) (Vaswani et al. 3.4)
  bool embed_norm = false;        // a norm over the embedding sum (token, segment, position), as BERT
  double norm_eps = 1e-5;         // epsilon of every norm (LayerNorm: PyTorch and GPT-2 1e-5, BERT 1e-12)
  int64_t segments = 2;           // bert: segment (token-type) embeddings
  InitScheme init = InitScheme::kGpt2;
  int64_t max_len = 512;
  int64_t num_classes = 0;  // classification head; 0: none
  Pooling pool = Pooling::kAuto;  // what the classification head reads
  std::string embedding_init;     // a word2vec/GloVe text file for the token embeddings' initial rows
  bool embedding_freeze = false;  // keep those embeddings fixed while training
  bool pooler = false;            // a dense layer and tanh over the pooled representation (BERT's pooler)
  bool sentence_head = false;     // masked_lm's two-way sentence-pair head; follows task.sentence_objective
  AttentionBackend attention = AttentionBackend::kAuto;
  PositionConfig position;

  template <class V>
  void visit(V& v) {
    v.choice("family", family, family_choices(), Spec().need().doc("gpt|bert|seq2seq|rnn"));
    v.field("layers", layers, Spec().range(1, 512));
    v.field("decoder_layers", decoder_layers, Spec().range(0, 512).doc("seq2seq decoder depth, 0: layers"));
    v.field("d_model", d_model, Spec().range(1, 1 << 16));
    v.field("heads", heads, Spec().range(1, 1024));
    v.field("d_ff", d_ff, Spec().range(1, 1 << 18));
    v.field("dropout", dropout, Spec().range(0.0, 0.95));
    v.field("attention_dropout", attention_dropout, Spec().range(-1.0, 0.95).doc("-1: same as dropout"));
    v.field("embedding_dropout", embedding_dropout, Spec().range(-1.0, 0.95).doc("-1: same as dropout"));
    v.choice("norm", pre_norm, norm_placement_choices(), Spec().doc("pre|post"));
    v.choice("norm_type", norm_type, norm_kind_choices(), Spec().doc("layernorm|rmsnorm"));
    v.choice("activation", activation, activation_choices(),
             Spec().doc("relu|gelu|gelu_tanh|swiglu; gelu is exact, gelu_tanh GPT-2's tanh approximation"));
    v.choice("attention", attention, attention_backend_choices(),
             Spec().doc("auto|reference|fused; auto: LibTorch's fused kernels on a GPU, qkv's own on the CPU"));
    v.field("bias", bias, Spec().doc("biases in linear layers and LayerNorm"));
    v.field("tie_embeddings", tie_embeddings, Spec());
    v.field("scale_embeddings", scale_embeddings,
            Spec().doc("multiply token embeddings by sqrt(d_model) before positions are added (Vaswani et al. 3.4)"));
    v.field("embed_norm", embed_norm,
            Spec().doc("a norm after the embedding sum and before embedding dropout (BERT); true in the bert experiments"));
    v.field("norm_eps", norm_eps, Spec().range(1e-15, 1e-1).doc("epsilon of every norm: 1e-5 (GPT-2), 1e-12 (BERT)"));
    v.field("segments", segments, Spec().range(1, 1024).doc("bert: segment (token-type) embeddings, 2 as BERT"));
    v.choice("init", init, init_choices(), Spec().doc("gpt2|xavier"));
    v.field("max_len", max_len, Spec().range(1, 1 << 20));
    v.field("num_classes", num_classes, Spec().range(0, 1 << 20));
    v.choice("pool", pool, pooling_choices(),
             Spec().doc("auto|first|last|mean: what a classification head reads; auto: first token (bert), last real token (gpt)"));
    v.path("embedding_init", embedding_init,
           Spec().doc("word2vec/GloVe text file: token embedding rows of the pieces whose word it holds start from its vectors "
                      "(projected when its size differs, scaled to the model's initial norm)"));
    v.field("embedding_freeze", embedding_freeze, Spec().doc("with embedding_init: the token embeddings are not trained (nor a head tied to them)"));
    v.field("pooler", pooler, Spec().doc("a dense layer and tanh between the pooled representation and the heads (BERT's pooler)"));
    v.section("position", position, Spec().need());
  }
};

}  // namespace qkv
