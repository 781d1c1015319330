// Metrics against values worked out by hand from their definitions.
#include <catch2/catch.hpp>

#include <cmath>

#include "transformer/eval/metrics.h"

using namespace qkv;

TEST_CASE("binary confusion: accuracy, F1 and MCC by hand", "[eval]") {
  // gold 1 1 1 1 0 0 0 0 0 0, predicted 1 1 1 0 1 0 0 0 0 0: TP 3, FN 1, FP 1, TN 5.
  const std::vector<int64_t> gold{1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, predicted{1, 1, 1, 0, 1, 0, 0, 0, 0, 0};
  const Confusion c = confusion_matrix(predicted, gold, 2);
  CHECK(c[1][1] == 3);
  CHECK(c[1][0] == 1);
  CHECK(c[0][1] == 1);
  CHECK(c[0][0] == 5);
  CHECK(accuracy(c) == Approx(0.8));
  CHECK(f1_of_class(c, 1) == Approx(2.0 * 3 / (2 * 3 + 1 + 1)));           // 0.75
  CHECK(f1_of_class(c, 0) == Approx(2.0 * 5 / (2 * 5 + 1 + 1)));           // 0.8333
  CHECK(matthews(c) == Approx((3.0 * 5 - 1.0 * 1) / std::sqrt(4.0 * 4 * 6 * 6)));  // 14/24
}

TEST_CASE("three classes: macro F1 and Gorodkin's R_K by hand", "[eval]") {
  // Rows gold, columns predicted.
  const Confusion c{{2, 1, 0}, {0, 2, 1}, {1, 0, 3}};
  CHECK(accuracy(c) == Approx(0.7));
  // class 0: TP 2, FP 1, FN 1 -> 4/6; class 1: 4/6; class 2: TP 3, FP 1, FN 1 -> 6/8.
  CHECK(macro_f1(c) == Approx((4.0 / 6 + 4.0 / 6 + 6.0 / 8) / 3));
  // s 10, c 7, t = p = (3, 3, 4): (7*10 - 34) / sqrt((100 - 34)(100 - 34)) = 36/66.
  CHECK(matthews(c) == Approx(36.0 / 66.0));
}

TEST_CASE("MCC: perfect, inverted and constant predictions", "[eval]") {
  CHECK(matthews({{5, 0}, {0, 5}}) == Approx(1.0));
  CHECK(matthews({{0, 5}, {5, 0}}) == Approx(-1.0));
  CHECK(matthews({{0, 6}, {0, 4}}) == 0.0);  // one class always predicted: undefined, reported as 0
  CHECK(f1_of_class({{6, 0}, {0, 0}}, 1) == 0.0);  // positive class never gold nor predicted
}

TEST_CASE("Pearson and Spearman by hand, ties given average ranks", "[eval]") {
  const std::vector<double> x{1, 2, 3, 4, 5}, y{2, 4, 5, 4, 5};
  // deviations (-2,-1,0,1,2) and (-2,0,1,0,1): sxy 6, sxx 10, syy 6.
  CHECK(pearson(x, y) == Approx(6.0 / std::sqrt(60.0)));
  CHECK(average_ranks(y) == std::vector<double>{1, 2.5, 4.5, 2.5, 4.5});
  // ranks of y minus 3: (-2,-0.5,1.5,-0.5,1.5): sxy 7, syy 9.
  CHECK(spearman(x, y) == Approx(7.0 / std::sqrt(90.0)));
  // Monotone but not linear: Spearman 1, Pearson below 1.
  const std::vector<double> cubes{1, 8, 27, 64, 125};
  CHECK(spearman(x, cubes) == Approx(1.0));
  CHECK(pearson(x, cubes) < 0.99);
  CHECK(std::isnan(pearson(x, {3, 3, 3, 3, 3})));
}
