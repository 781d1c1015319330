// Text corpora as token streams and the block sampler's order.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "helpers.h"
#include "transformer/data/text_blocks.h"

using namespace qkv;

TEST_CASE("every block once per epoch, a new order each epoch, the same batch whenever asked", "[data]") {
  auto tokens = torch::arange(0, 1001, torch::kLong);  // 1001 tokens: 100 blocks of 10 (+1)
  BlockSampler sampler(tokens, 10, 42, true);
  REQUIRE(sampler.num_blocks() == 100);
  auto epoch0 = sampler.blocks(0, 100);  // (100, 11)
  auto epoch1 = sampler.blocks(100, 100);
  std::set<int64_t> starts0, starts1;
  for (int64_t r = 0; r < 100; ++r) {
    // Each row is a contiguous run of the stream starting on a block boundary.
    CHECK(torch::equal(epoch0[r], torch::arange(epoch0[r][0].item<int64_t>(), epoch0[r][0].item<int64_t>() + 11)));
    CHECK(epoch0[r][0].item<int64_t>() % 10 == 0);
    starts0.insert(epoch0[r][0].item<int64_t>());
    starts1.insert(epoch1[r][0].item<int64_t>());
  }
  CHECK(starts0.size() == 100u);
  CHECK(starts1.size() == 100u);
  CHECK_FALSE(torch::equal(epoch0, epoch1));
  // Asking again, or from a fresh sampler (a resumed run), gives the same rows.
  BlockSampler fresh(tokens, 10, 42, true);
  CHECK(torch::equal(fresh.blocks(130, 8), epoch1.narrow(0, 30, 8)));
  CHECK(torch::equal(sampler.blocks(0, 4), epoch0.narrow(0, 0, 4)));
  BlockSampler other_seed(tokens, 10, 43, true);
  CHECK_FALSE(torch::equal(other_seed.blocks(0, 100), epoch0));
  // Unshuffled: in order.
  BlockSampler ordered(tokens, 10, 42, false);
  CHECK(ordered.blocks(3, 1)[0][0].item<int64_t>() == 30);
}
