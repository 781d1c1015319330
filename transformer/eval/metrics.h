// Evaluation metrics of labelled tasks, computed from predictions and gold values in plain C++:
// accuracy, F1, Matthews correlation, Pearson and Spearman correlation.
#pragma once

#include <cstdint>
#include <vector>

namespace qkv {

// Counts of (gold, predicted) pairs: matrix[gold][predicted], classes x classes.
using Confusion = std::vector<std::vector<int64_t>>;
Confusion confusion_matrix(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold, int64_t classes);

double accuracy(const Confusion& c);
// F1 of one class: 2 TP / (2 TP + FP + FN); 0 when the class is never gold nor predicted.
double f1_of_class(const Confusion& c, int64_t positive);
// Mean of the per-class F1 (macro average).
double macro_f1(const Confusion& c);
// Matthews correlation; for more than two classes Gorodkin's R_K (2004), which equals MCC for
// two. 0 when a marginal is constant (undefined), as scikit-learn reports it.
double matthews(const Confusion& c);

// Pearson's r; NaN when either side is constant.
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Spearman's rho: Pearson's r of the ranks, ties given their average rank.
double spearman(const std::vector<double>& x, const std::vector<double>& y);
// Ranks 1..n with ties averaged.
std::vector<double> average_ranks(const std::vector<double>& values);

}  // namespace qkv
