// The qkv commands as one table, without LibTorch: each verb's name, summary, options and whether
// it needs the experiment's data. The front end (cli/front.cpp) parses and checks a command line
// by it before LibTorch loads; the engine (cli/main.cpp) parses it again the same way and runs the
// verb through the function its file registers (register_runner).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qkv::cli {

// kIntegers: comma-separated; kTexts: the option repeated, each time with one value.
enum class OptionKind { kFlag, kText, kInteger, kNumber, kIntegers, kTexts };

struct OptionSpec {
  const char* names;  // as CLI11 takes them: "-n,--max-new-tokens"
  OptionKind kind;
  const char* help;
  double min = -1e300, max = 1e300;  // kInteger, kNumber, kIntegers
  const char* shown_default = "";    // for --help only; the verb applies its own
  bool required = false;
};

// A parsed command line.
struct Invocation {
  std::string verb;
  std::string experiment;
  std::vector<std::string> sets;                            // --set dotted.key=value
  std::map<std::string, std::vector<std::string>> values;   // by the option's long name: "--lengths"
  std::vector<std::string> arguments;                       // everything after "qkv", as given

  bool has(const std::string& option) const { return values.count(option) > 0; }
  bool flag(const std::string& option) const { return has(option); }
  std::string text(const std::string& option, const std::string& fallback = "") const;
  int64_t integer(const std::string& option, int64_t fallback) const;
  double number(const std::string& option, double fallback) const;
  std::vector<int64_t> integers(const std::string& option) const;
  std::vector<std::string> texts(const std::string& option) const;
};

struct Command {
  const char* name;
  const char* summary;
  bool takes_experiment;
  std::vector<OptionSpec> options;
  // Whether this call reads the experiment's data files, which must then exist.
  bool (*needs_data)(const Invocation&);
};

const std::vector<Command>& commands();
const Command& command(const std::string& verb);

// Parses `qkv VERB ...` by the table into *out. Returns -1 to go on, else the exit code after
// printing help (0) or a one-line error (2).
int parse_command_line(int argc, char** argv, Invocation* out);

// The engine's side: the function that runs a verb, registered by the verb's own file.
using Runner = int (*)(const Invocation&);
bool register_runner(const char* verb, Runner run);
Runner find_runner(const std::string& verb);  // nullptr when none is registered

}  // namespace qkv::cli
