// Optimizer construction.
#include "transformer/train/optimizer.h"

#include <vector>

#include "transformer/train/fused_adamw.h"

namespace qkv {

bool decays(const std::string& name, const torch::Tensor& parameter) {
  return parameter.dim() >= 2 && name.find("embedding") == std::string::npos &&
         name.find("position.") == std::string::npos;
}

std::unique_ptr<torch::optim::AdamW> make_optimizer(Model& model, const TrainConfig& t,
                                                    const std::set<std::string>& head, size_t* first_head_group) {
  // [body with decay, body without, head with decay, head without]; empty groups left out.
  std::vector<torch::Tensor> lists[4];
  for (const auto& p : model->named_parameters()) {
    const bool is_head = head.count(p.key()) > 0;
    if (!head.empty() && !is_head && t.freeze_body) {
      p.value().requires_grad_(false);
      continue;
    }
    lists[(is_head ? 2 : 0) + (decays(p.key(), p.value()) ? 0 : 1)].push_back(p.value());
  }
  auto options = torch::optim::AdamWOptions(t.lr).betas({t.beta1, t.beta2}).eps(t.eps);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  size_t first_head = size_t(-1);
  for (int i = 0; i < 4; ++i) {
    if (lists[i].empty()) continue;
    if (i >= 2 && first_head == size_t(-1)) first_head = groups.size();
    const double decay = i % 2 == 0 ? t.weight_decay : 0.0;
    groups.emplace_back(lists[i], std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(options).weight_decay(decay)));
  }
  if (first_head_group) *first_head_group = first_head == size_t(-1) ? groups.size() : first_head;
  return std::make_unique<FusedAdamW>(groups, options);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr, double head_lr, size_t first_head_group) {
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(i >= first_head_group ? head_lr : lr);
}

}  // namespace qkv
