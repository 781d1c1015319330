// AdamW with two parameter groups: weight decay on matrices, none on norms, biases, embeddings
// and position tables.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "transformer/config/config.h"
#include "transformer/models/model.h"

namespace qkv {

bool decays(const std::string& name, const torch::Tensor& parameter);
std::unique_ptr<torch::optim::AdamW> make_optimizer(TransformerModel& model, const TrainConfig& train);
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace qkv
