// Classification and correlation metrics.
#include "transformer/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace qkv {

Confusion confusion_matrix(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold, int64_t classes) {
  Confusion c(size_t(classes), std::vector<int64_t>(size_t(classes), 0));
  for (size_t i = 0; i < gold.size(); ++i) c[size_t(gold[i])][size_t(predicted[i])] += 1;
  return c;
}

double accuracy(const Confusion& c) {
  int64_t right = 0, all = 0;
  for (size_t i = 0; i < c.size(); ++i)
    for (size_t j = 0; j < c.size(); ++j) all += c[i][j], right += i == j ? c[i][j] : 0;
  return all ? double(right) / double(all) : std::nan("");
}

double f1_of_class(const Confusion& c, int64_t positive) {
  const size_t k = size_t(positive);
  int64_t tp = c[k][k], fp = 0, fn = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (i == k) continue;
    fp += c[i][k];  // predicted k, gold i
    fn += c[k][i];  // gold k, predicted i
  }
  const int64_t denominator = 2 * tp + fp + fn;
  return denominator ? 2.0 * double(tp) / double(denominator) : 0.0;
}

double macro_f1(const Confusion& c) {
  double sum = 0;
  for (size_t k = 0; k < c.size(); ++k) sum += f1_of_class(c, int64_t(k));
  return c.empty() ? std::nan("") : sum / double(c.size());
}

double matthews(const Confusion& c) {
  // Gorodkin 2004: (c s - sum_k p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)), with t_k the
  // gold count of class k, p_k the predicted count, c the correct count and s the total.
  const size_t k = c.size();
  std::vector<double> t(k, 0), p(k, 0);
  double correct = 0, s = 0;
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j) {
      t[i] += double(c[i][j]);
      p[j] += double(c[i][j]);
      s += double(c[i][j]);
      if (i == j) correct += double(c[i][j]);
    }
  double pt = 0, pp = 0, tt = 0;
  for (size_t i = 0; i < k; ++i) pt += p[i] * t[i], pp += p[i] * p[i], tt += t[i] * t[i];
  const double denominator = std::sqrt((s * s - pp) * (s * s - tt));
  return denominator > 0 ? (correct * s - pt) / denominator : 0.0;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n == 0 || y.size() != n) return std::nan("");
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / double(n);
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / double(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : std::nan("");
}

std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double rank = (double(i) + double(j)) / 2.0 + 1.0;  // ranks i+1..j+1 averaged
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  return pearson(average_ranks(x), average_ranks(y));
}

}  // namespace qkv
