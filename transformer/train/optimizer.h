// AdamW with parameter groups: weight decay on matrices, none on norms, biases, embeddings and
// position tables. When fine-tuning, the parts init_from did not provide (the new head) get
// groups of their own after the body's, so that they can take train.head_lr; with
// train.freeze_body the body is left out and stops requiring gradients.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <memory>
#include <set>
#include <string>

#include "transformer/config/config.h"
#include "transformer/models/model.h"

namespace qkv {

bool decays(const std::string& name, const torch::Tensor& parameter);
// head: names of the new parameters (empty: no fine-tuning). *first_head_group receives the index
// of the first head group (the group count when there is none).
std::unique_ptr<torch::optim::AdamW> make_optimizer(Model& model, const TrainConfig& train,
                                                    const std::set<std::string>& head = {},
                                                    size_t* first_head_group = nullptr);
// lr for groups before first_head_group, head_lr for the others.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr, double head_lr = 0.0,
                       size_t first_head_group = size_t(-1));

}  // namespace qkv
