// The two kinds of failure the qkv command distinguishes: bad input (exit 2: arguments,
// configuration, data), reported in one line naming file, line and field; anything else is a
// run-time failure (exit 1).
#pragma once

#include <stdexcept>
#include <string>

namespace qkv {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace qkv
