// One-pass AdamW step.
#include "transformer/train/fused_adamw.h"
#include "transformer/kernels/clones.h"
#include "transformer/util/torch_version.h"

#include <ATen/Parallel.h>
#if QKV_TORCH_AT_LEAST(2, 0)
#include <ATen/ops/_fused_adamw.h>
#endif

#include <cmath>
#include <sstream>
#include <string>
#include <type_traits>

namespace qkv {

namespace {

// The update of n float32 parameters, vectorised (this file is built with -fno-math-errno, see
// CMakeLists.txt); the AVX-512, AVX2 or baseline copy is chosen when the program loads.
QKV_CLONES void adamw_span(
    float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n, float keep,
    float b1, float b2, float step_size, float root2, float epsilon) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = b1 * m[i] + (1 - b1) * gi;
    const float vi = b2 * v[i] + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i] * keep - step_size * mi / (std::sqrt(vi) / root2 + epsilon);
  }
}

// LibTorch's optimizers key their per-parameter state by the parameter's TensorImpl: as its address
// printed (1.x, c10::guts::to_string) or as the pointer itself (2.x). State must land under the key
// LibTorch's serialisation and its own AdamW use, whichever the build's LibTorch is.
[[maybe_unused]] std::string state_key(std::string*, c10::TensorImpl* impl) {
  std::ostringstream out;
  out << static_cast<void*>(impl);
  return out.str();
}
[[maybe_unused]] void* state_key(void**, c10::TensorImpl* impl) { return impl; }

}  // namespace

bool multi_tensor_adamw_available(const torch::Device& device) {
  return (device.is_cuda() && QKV_TORCH_AT_LEAST(2, 0)) || (device.is_cpu() && QKV_TORCH_AT_LEAST(2, 4));
}

void multi_tensor_adamw(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                        const std::vector<torch::Tensor>& exp_avgs, const std::vector<torch::Tensor>& exp_avg_sqs,
                        int64_t step, double lr, double beta1, double beta2, double weight_decay, double eps) {
  if (params.empty()) return;
  TORCH_CHECK(multi_tensor_adamw_available(params[0].device()), "multi_tensor_adamw: at::_fused_adamw_ is not in this LibTorch for ",
              params[0].device());
#if QKV_TORCH_AT_LEAST(2, 0)
  // The kernel reads each parameter's step from a float32 scalar on its device; one tensor serves all.
  const auto count = torch::full({}, double(step), params[0].options().dtype(torch::kFloat32));
  const std::vector<torch::Tensor> steps(params.size(), count);
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, lr, beta1, beta2, weight_decay, eps,
                    /*amsgrad=*/false, /*maximize=*/false);
#endif
}

torch::Tensor FusedAdamW::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    auto& options = static_cast<torch::optim::AdamWOptions&>(group.options());
    const double lr = options.lr(), decay = options.weight_decay(), eps = options.eps();
    const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
    // GPU parameters at the same step, for one multi-tensor update after the loop.
    std::vector<torch::Tensor> gpu_params, gpu_grads, gpu_avgs, gpu_avg_sqs;
    int64_t gpu_step = -1;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& states = state();
      using Key = typename std::decay_t<decltype(states)>::key_type;
      const auto key = state_key(static_cast<Key*>(nullptr), p.unsafeGetTensorImpl());
      if (states.find(key) == states.end()) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        states[key] = std::move(fresh);
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*states[key]);
      if (s.exp_avg().device() != p.device()) {  // a checkpoint's state is read onto the CPU
        s.exp_avg(s.exp_avg().to(p.device()));
        s.exp_avg_sq(s.exp_avg_sq().to(p.device()));
      }
      s.step(s.step() + 1);
      if (p.is_cuda() && !options.amsgrad() && multi_tensor_adamw_available(p.device()) &&
          (gpu_step < 0 || gpu_step == s.step())) {
        gpu_step = s.step();
        gpu_params.push_back(p);
        gpu_grads.push_back(p.grad());
        gpu_avgs.push_back(s.exp_avg());
        gpu_avg_sqs.push_back(s.exp_avg_sq());
        continue;
      }
      const double correction1 = 1.0 - std::pow(beta1, double(s.step()));
      const double correction2 = 1.0 - std::pow(beta2, double(s.step()));
      const bool one_pass = p.scalar_type() == torch::kFloat32 && p.grad().scalar_type() == torch::kFloat32 &&
                            p.is_contiguous() && p.grad().is_contiguous() && s.exp_avg().is_contiguous() &&
                            s.exp_avg_sq().is_contiguous() && !options.amsgrad() && p.device().is_cpu();
      if (!one_pass) {  // LibTorch's formula, op by op
        if (decay != 0) p.mul_(1 - lr * decay);
        s.exp_avg().mul_(beta1).add_(p.grad(), 1 - beta1);
        s.exp_avg_sq().mul_(beta2).addcmul_(p.grad(), p.grad(), 1 - beta2);
        auto denom = (s.exp_avg_sq().sqrt() / std::sqrt(correction2)).add_(eps);
        p.addcdiv_(s.exp_avg(), denom, -lr / correction1);
        continue;
      }
      float* w = p.data_ptr<float>();
      const float* g = p.grad().data_ptr<float>();
      float* m = s.exp_avg().data_ptr<float>();
      float* v = s.exp_avg_sq().data_ptr<float>();
      const float keep = float(1 - lr * decay), b1 = float(beta1), b2 = float(beta2);
      const float step_size = float(lr / correction1), root2 = float(std::sqrt(correction2)), epsilon = float(eps);
      at::parallel_for(0, p.numel(), 16384, [&](int64_t begin, int64_t end) {
        adamw_span(w + begin, g + begin, m + begin, v + begin, end - begin, keep, b1, b2, step_size, root2, epsilon);
      });
    }
    multi_tensor_adamw(gpu_params, gpu_grads, gpu_avgs, gpu_avg_sqs, gpu_step, lr, beta1, beta2, decay, eps);
  }
  return loss;
}

}  // namespace qkv
