// Optimizer construction.
#include "transformer/train/optimizer.h"

namespace qkv {

bool decays(const std::string& name, const torch::Tensor& parameter) {
  return parameter.dim() >= 2 && name.find("embedding") == std::string::npos &&
         name.find("position.") == std::string::npos;
}

std::unique_ptr<torch::optim::AdamW> make_optimizer(TransformerModel& model, const TrainConfig& t) {
  std::vector<torch::Tensor> with_decay, without_decay;
  for (const auto& p : model->named_parameters()) {
    (decays(p.key(), p.value()) ? with_decay : without_decay).push_back(p.value());
  }
  auto options = torch::optim::AdamWOptions(t.lr).betas({t.beta1, t.beta2}).eps(t.eps);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(with_decay, std::make_unique<torch::optim::AdamWOptions>(
                                      torch::optim::AdamWOptions(options).weight_decay(t.weight_decay)));
  groups.emplace_back(without_decay, std::make_unique<torch::optim::AdamWOptions>(
                                         torch::optim::AdamWOptions(options).weight_decay(0.0)));
  return std::make_unique<torch::optim::AdamW>(groups, options);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace qkv
