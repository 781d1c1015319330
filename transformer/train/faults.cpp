// Fault injection (QKV_INJECT_NAN).
#include "transformer/train/faults.h"

#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>

namespace qkv {

namespace {

int64_t g_rank = 0;

bool fault_applies(const std::string& what, int64_t step) {
  const char* spec = std::getenv("QKV_INJECT_NAN");
  if (!spec || !*spec) return false;
  std::stringstream items(spec);
  for (std::string item; std::getline(items, item, ',');) {
    const auto at = item.find('@');
    if (at == std::string::npos || item.substr(0, at) != what) continue;
    const auto colon = item.find(':', at);
    try {
      const int64_t fault_step = std::stoll(item.substr(at + 1, colon == std::string::npos ? std::string::npos : colon - at - 1));
      const bool rank_ok = colon == std::string::npos || std::stoll(item.substr(colon + 1)) == g_rank;
      if (fault_step == step && rank_ok) return true;
    } catch (const std::exception&) {
    }
  }
  return false;
}

}  // namespace

void set_fault_rank(int64_t rank) { g_rank = rank; }

torch::Tensor inject_fault(const char* what, int64_t step, torch::Tensor loss) {
  if (!fault_applies(what, step)) return loss;
  return loss * std::numeric_limits<double>::quiet_NaN();
}

void inject_gradient_fault(const std::vector<torch::Tensor>& params, int64_t step) {
  if (!fault_applies("grad", step)) return;
  for (const auto& p : params)
    if (p.grad().defined()) {
      p.grad().view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
      return;
    }
}

}  // namespace qkv
