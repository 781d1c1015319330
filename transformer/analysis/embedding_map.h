// Looking at an embedding space: nearest neighbours by cosine, analogies by vector offsets, and
// 2-D maps by PCA or t-SNE.
//
// Letters: N rows (words or pieces), C their width.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace qkv {

struct Neighbour {
  int64_t index = 0;
  double cosine = 0;
};

// The k rows of `vectors` (N, C) most similar to `query` (C) by cosine, best first, leaving out
// the rows in `exclude`.
std::vector<Neighbour> nearest_rows(const torch::Tensor& vectors, const torch::Tensor& query, int64_t k,
                                    const std::vector<int64_t>& exclude = {});

// "a is to b as c is to ?" by 3CosAdd (Mikolov et al. 2013, "Linguistic Regularities in Continuous
// Space Word Representations"): the query b - a + c over unit-length rows; answers leave a, b, c out.
std::vector<Neighbour> analogy(const torch::Tensor& vectors, int64_t a, int64_t b, int64_t c, int64_t k);

struct Map2d {
  torch::Tensor points;           // (N, 2) float64
  std::vector<double> explained;  // pca: the share of the variance each axis holds
};

// Principal components: the centred rows projected on the two directions of largest variance
// (signs fixed so each axis's largest loading is positive, so maps are reproducible).
Map2d pca_2d(const torch::Tensor& vectors);

struct TsneOptions {
  double perplexity = 30;
  int64_t iterations = 1000;
  double exaggeration = 12;      // early exaggeration over the first 250 iterations
  double learning_rate = 0;      // 0: max(N / exaggeration, 50) (Belkina et al. 2019)
};

// Exact t-SNE (van der Maaten and Hinton 2008) of the rows under cosine geometry (rows made unit
// length first): Gaussian affinities with each row's bandwidth found by bisection to the
// perplexity, symmetrised; Student-t affinities in 2-D; gradient descent with momentum 0.5 then
// 0.8 and per-coordinate gains; started from the PCA map scaled to a standard deviation of 1e-4
// (Kobak and Berens 2019), so the result is deterministic. O(N^2) memory and time per iteration:
// meant for the few hundred to few thousand words of a picture.
Map2d tsne_2d(const torch::Tensor& vectors, const TsneOptions& options = {});

// The Kullback-Leibler divergence t-SNE minimises, of a map against the rows' affinities.
double tsne_kl(const torch::Tensor& vectors, const torch::Tensor& points, double perplexity);

}  // namespace qkv
