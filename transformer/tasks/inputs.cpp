// Input layouts and padding.
#include "transformer/tasks/inputs.h"

#include <algorithm>

namespace qkv {

void truncate_pair(std::vector<int>& a, std::vector<int>& b, int64_t budget) {
  while (int64_t(a.size() + b.size()) > budget) (a.size() >= b.size() ? a : b).pop_back();
}

EncodedInput encode_input(Family family, std::vector<int> a, std::vector<int> b, const SpecialTokens& s, int64_t max_len) {
  const bool pair = !b.empty();
  EncodedInput out;
  if (family == Family::kBert) {
    truncate_pair(a, b, std::max<int64_t>(2, max_len - (pair ? 3 : 2)));
    out.ids.push_back(s.cls);
    out.ids.insert(out.ids.end(), a.begin(), a.end());
    out.ids.push_back(s.sep);
    out.segments.assign(out.ids.size(), 0);
    if (pair) {
      out.ids.insert(out.ids.end(), b.begin(), b.end());
      out.ids.push_back(s.sep);
      out.segments.resize(out.ids.size(), 1);
    }
  } else {
    truncate_pair(a, b, std::max<int64_t>(2, max_len - (pair ? 3 : 2)));
    out.ids.push_back(s.bos);
    out.ids.insert(out.ids.end(), a.begin(), a.end());
    if (pair) {
      out.ids.push_back(s.sep);
      out.ids.insert(out.ids.end(), b.begin(), b.end());
    }
    out.ids.push_back(s.cls);
    out.segments.assign(out.ids.size(), 0);
  }
  return out;
}

PaddedBatch pad_batch(const std::vector<const EncodedInput*>& rows, int64_t pad) {
  int64_t longest = 1;
  for (const auto* r : rows) longest = std::max<int64_t>(longest, int64_t(r->ids.size()));
  const int64_t n = int64_t(rows.size());
  PaddedBatch batch;
  batch.tokens = torch::full({n, longest}, pad, torch::kLong);
  batch.keep = torch::zeros({n, longest}, torch::kBool);
  batch.segments = torch::zeros({n, longest}, torch::kLong);
  auto tokens = batch.tokens.accessor<int64_t, 2>();
  auto keep = batch.keep.accessor<bool, 2>();
  auto segments = batch.segments.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& r = *rows[size_t(i)];
    for (size_t j = 0; j < r.ids.size(); ++j) {
      tokens[i][int64_t(j)] = r.ids[j];
      keep[i][int64_t(j)] = true;
      segments[i][int64_t(j)] = r.segments[j];
    }
    batch.real_tokens += int64_t(r.ids.size());
  }
  return batch;
}

}  // namespace qkv
