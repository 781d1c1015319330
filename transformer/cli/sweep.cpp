// qkv sweep: every point of the experiment's sweep grid trained and evaluated in its own run
// directory (one `qkv train` and one `qkv eval` child process each, so peak memory is per point);
// finished points are skipped, so an interrupted sweep resumes; then results.csv and report.md.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/analysis/estimates.h"
#include "transformer/cli/common.h"
#include "transformer/util/errors.h"
#include "transformer/train/checkpoint.h"
#include "transformer/util/atomic_file.h"

namespace qkv::cli {

namespace fs = std::filesystem;

namespace {

using Point = std::vector<std::pair<std::string, std::string>>;  // dotted key, value

std::vector<Point> grid_points(const Grid& grid) {
  std::vector<Point> points{{}};
  for (const auto& [key, values] : grid) {
    std::vector<Point> next;
    for (const auto& point : points)
      for (const auto& value : values) {
        Point p = point;
        p.emplace_back(key, value);
        next.push_back(p);
      }
    points = next;
  }
  return points;
}

std::string point_name(const Point& point) {
  std::string name;
  for (const auto& [key, value] : point) {
    const std::string last = key.substr(key.rfind('.') + 1);
    name += (name.empty() ? "" : "_") + last + "-" + value;
  }
  for (char& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return name;
}

// Runs this program with `args`; returns its exit code, its stdout when asked, and its peak RSS.
int run_self(const std::vector<std::string>& args, std::string* out, double* peak_rss_mib) {
  int pipe_fds[2] = {-1, -1};
  if (out && ::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (out) {
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
    }
    std::vector<char*> argv{const_cast<char*>("qkv")};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  if (out) {
    ::close(pipe_fds[1]);
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0) out->append(buffer, size_t(n));
    ::close(pipe_fds[0]);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  if (peak_rss_mib) *peak_rss_mib = double(usage.ru_maxrss) / 1024.0;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// Mean and sample variance (0 for one value).
std::pair<double, double> mean_and_var(const std::vector<double>& v) {
  double mean = 0, var = 0;
  for (double x : v) mean += x / double(v.size());
  for (double x : v) var += v.size() > 1 ? (x - mean) * (x - mean) / double(v.size() - 1) : 0.0;
  return {mean, var};
}

std::string mean_std(const std::vector<double>& v) {
  if (v.empty()) return "n/a";
  bool integral = true;
  for (double x : v) integral = integral && x == std::floor(x) && std::abs(x) < 1e15;
  const auto [mean, var] = mean_and_var(v);
  if (integral && v.size() == 1) return fmt::format("{:.0f}", mean);  // counts: parameters, FLOPs
  if (v.size() == 1) return fmt::format("{:.3f}", mean);
  return fmt::format("{:.3f} ± {:.3f}", mean, std::sqrt(var));
}

// The 95% interval of the mean of v (Student's t with n - 1 degrees of freedom), "[lo, hi]".
std::string interval95(const std::vector<double>& v) {
  if (v.size() < 2) return "n/a";
  static const double t975[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228};
  const size_t df = v.size() - 1;
  const double t = df <= 10 ? t975[df - 1] : df <= 30 ? 2.042 : 1.960;  // 2.042: df 30, a slight overestimate above 10
  const auto [mean, var] = mean_and_var(v);
  const double half = t * std::sqrt(var / double(v.size()));
  return fmt::format("[{:.3f}, {:.3f}]", mean - half, mean + half);
}

// One point's figures from its run directory and its eval output.
nlohmann::ordered_json point_result(const Point& point, const std::string& dir, const std::string& eval_out,
                                    double train_rss, const Experiment& e) {
  nlohmann::ordered_json r;
  for (const auto& [key, value] : point) r[key] = value;
  // Matched-budget facts: parameters from the checkpoint's manifest, FLOPs from the configuration.
  int64_t parameters = 0;
  if (auto newest = CheckpointStore(dir, e.train.keep_checkpoints).newest_valid()) {
    const auto manifest = nlohmann::json::parse(std::ifstream(fs::path(*newest) / "MANIFEST.json"));
    for (const auto& tensor : manifest.at("tensors")) {
      int64_t n = 1;
      for (int64_t d : tensor.at("shape")) n *= d;
      parameters += n;
    }
  }
  const int64_t vocab = run_tokenizer(e).vocab_size();
  std::vector<double> rates;
  nlohmann::ordered_json final_valid;
  std::ifstream metrics(fs::path(dir) / "metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    auto j = nlohmann::ordered_json::parse(line, nullptr, false);  // metrics in the order the task reports them
    if (j.is_discarded()) continue;
    if (j.value("split", "") == "train" && j.contains("tokens_per_s")) rates.push_back(j["tokens_per_s"]);
    if (j.value("split", "") == "valid" && !j.contains("eval")) {  // the last evaluation during training
      for (const auto& [name, value] : j.items())
        if (name != "step" && name != "split" && name != "tokens") final_valid["valid_" + name] = value;
    }
  }
  for (const auto& [name, value] : final_valid.items()) r[name] = value;
  if (is_synthetic(e.task.kind)) {  // lengths the positions cannot reach are not applicable
    const std::vector<int64_t> lengths =
        e.task.eval_lengths.empty() ? std::vector<int64_t>{e.task.max_length, 2 * e.task.max_length} : e.task.eval_lengths;
    for (const int64_t n : lengths)
      for (const char* name : {"valid_exact@", "valid_token_acc@"})
        if (!r.contains(fmt::format("{}{}", name, n))) r[fmt::format("{}{}", name, n)] = "n/a";
  }
  r["parameters"] = parameters;
  r["flops_per_token"] = forward_flops_per_token(e.model, vocab, e.train.seq_len);
  r["train_tokens_per_s"] = median(rates);
  const std::string run = fs::path(dir).filename().string();
  r["peak_rss_mib"] = train_rss;
  std::stringstream lines(eval_out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("length")) continue;
    const std::string key = fmt::format("ppl@{}", j["length"].get<int64_t>());
    const bool applicable = j.value("applicable", false);
    r[key] = applicable ? j["ppl"] : nlohmann::json("n/a");
    if (e.sweep.stride > 0)
      r[fmt::format("sppl@{}", j["length"].get<int64_t>())] = applicable ? j["sliding_ppl"] : nlohmann::json("n/a");
  }
  r["run"] = run;  // the point's directory inside the sweep directory
  return r;
}

// results.csv: one row per point, every column any point has; returns the columns.
std::vector<std::string> write_results_csv(const Experiment& e, const std::vector<nlohmann::ordered_json>& results) {
  std::vector<std::string> columns;
  for (const auto& r : results)
    for (const auto& [key, value] : r.items())
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
  std::string csv;
  for (size_t i = 0; i < columns.size(); ++i) csv += (i ? "," : "") + columns[i];
  csv += "\n";
  auto text = [](const nlohmann::ordered_json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  for (const auto& r : results) {
    for (size_t i = 0; i < columns.size(); ++i) csv += (i ? "," : "") + (r.contains(columns[i]) ? text(r[columns[i]]) : "");
    csv += "\n";
  }
  write_file_atomic((fs::path(e.output) / "results.csv").string(), csv);

  return columns;
}

// Paired comparison with the baseline value of the first key: for every validation metric, the
// difference from the baseline point with the same values of the other keys (the same seed).
// An empty baseline compares with the empty value when the grid has one ("from scratch" in
// init_from: [runs/X, ""]).
std::string paired_differences(const Experiment& e, const std::vector<nlohmann::ordered_json>& results,
                               const std::vector<std::string>& metric_columns) {
  std::string md;
  const auto& first_values = e.sweep.grid.empty() ? std::vector<std::string>() : e.sweep.grid.front().second;
  const bool has_baseline = !e.sweep.grid.empty() && (!e.sweep.baseline.empty() ||
                            std::find(first_values.begin(), first_values.end(), "") != first_values.end());
  if (!has_baseline) return "";
  const std::string first = e.sweep.grid.front().first;
  const std::string shown = e.sweep.baseline.empty() ? "\"\"" : e.sweep.baseline;
  std::vector<std::string> paired;
  for (const auto& m : metric_columns)
    if (m.rfind("valid_", 0) == 0 && m != "valid_examples") paired.push_back(m);
  md += fmt::format("\n## Differences against {} = {} (paired by the other keys; mean ± std)\n\n| {}", first,
                    shown, first);
  for (const auto& m : paired) md += " | " + m;
  md += " |\n|";
  for (size_t i = 0; i <= paired.size(); ++i) md += " --- |";
  md += "\n";
  for (const auto& value : first_values) {
    if (value == e.sweep.baseline) continue;
    md += "| " + value;
    for (const auto& m : paired) {
      std::vector<double> differences;
      for (const auto& r : results) {
        if (r[first] != value || !r.contains(m) || !r[m].is_number()) continue;
        for (const auto& b : results) {
          bool same = b[first] == e.sweep.baseline && b.contains(m) && b[m].is_number();
          for (const auto& [key, values] : e.sweep.grid)
            if (key != first) same = same && b[key] == r[key];
          if (same) differences.push_back(r[m].get<double>() - b[m].get<double>());
        }
      }
      md += " | " + mean_std(differences);
    }
    md += " |\n";
  }
  return md;
}

// report.md: mean ± std over seeds for each setting of the other keys, then the paired differences.
void write_reports(const Experiment& e, const std::vector<Point>& points, const std::vector<nlohmann::ordered_json>& results) {
  const std::vector<std::string> columns = write_results_csv(e, results);
  std::vector<std::string> keys, metric_columns;
  for (const auto& [key, values] : e.sweep.grid)
    if (key != "seed") keys.push_back(key);
  for (const auto& c : columns) {
    const bool grid_key =
        std::find_if(e.sweep.grid.begin(), e.sweep.grid.end(), [&](const auto& g) { return g.first == c; }) != e.sweep.grid.end();
    if (!grid_key && c != "run") metric_columns.push_back(c);
  }
  std::map<std::string, std::map<std::string, std::vector<double>>> groups;  // setting -> metric -> values
  std::vector<std::string> order;
  for (const auto& r : results) {
    std::string setting;
    for (const auto& k : keys) setting += (setting.empty() ? "" : ", ") + r[k].get<std::string>();
    if (!groups.count(setting)) order.push_back(setting);
    for (const auto& m : metric_columns)
      if (r.contains(m) && r[m].is_number()) groups[setting][m].push_back(r[m].get<double>());
  }
  std::string md = fmt::format("# Sweep {}\n\n{} points; mean ± std over {}.\n\n", e.name, results.size(),
                               keys.size() < e.sweep.grid.size() ? "seeds" : "one run each");
  md += "| " + (keys.empty() ? std::string("setting") : fmt::format("{}", fmt::join(keys, " | ")));
  for (const auto& m : metric_columns) md += " | " + m;
  md += " |\n|";
  for (size_t i = 0; i < std::max<size_t>(1, keys.size()) + metric_columns.size(); ++i) md += " --- |";
  md += "\n";
  for (const auto& setting : order) {
    std::string row = setting;
    for (size_t pos = 0; (pos = row.find(", ", pos)) != std::string::npos;) row.replace(pos, 2, " | ");
    md += "| " + row;
    for (const auto& m : metric_columns) md += " | " + mean_std(groups[setting][m]);
    md += " |\n";
  }
  // Length generalisation varies widely across seeds: intervals of the per-length figures.
  std::vector<std::string> per_length;
  for (const auto& m : metric_columns)
    if (m.find('@') != std::string::npos) per_length.push_back(m);
  if (keys.size() < e.sweep.grid.size() && !per_length.empty()) {
    md += "\n## 95% intervals of the mean over seeds (Student's t; per-seed values in results.csv)\n\n| setting";
    for (const auto& m : per_length) md += " | " + m;
    md += " |\n|";
    for (size_t i = 0; i <= per_length.size(); ++i) md += " --- |";
    md += "\n";
    for (const auto& setting : order) {
      md += "| " + setting;
      for (const auto& m : per_length) md += " | " + interval95(groups[setting][m]);
      md += " |\n";
    }
  }
  md += paired_differences(e, results, metric_columns);
  write_file_atomic((fs::path(e.output) / "report.md").string(), md);
}

int run_sweep(const Invocation& in) {
  const auto loaded = load(in);
  const Experiment& e = loaded.experiment;
  if (e.sweep.grid.empty()) {
    throw InputError(fmt::format("{}: sweep.grid: this experiment has no sweep grid", e.source_file));
  }
  if (e.sweep.stride > 0 && (e.sweep.lengths.empty() || e.task.kind != TaskKind::kCausalLm))
    throw InputError(fmt::format("{}: sweep.stride: sliding windows apply to causal_lm sweeps with sweep.lengths", e.source_file));
  const auto points = grid_points(e.sweep.grid);
  std::vector<std::vector<std::string>> point_sets;
  std::vector<Experiment> point_experiments;
  for (const auto& point : points) {  // every point checked before any work
    std::vector<std::string> sets = in.sets;
    for (const auto& [key, value] : point) sets.push_back(key + "=" + value);
    sets.push_back("output=" + (fs::path(e.output) / point_name(point)).string());
    point_experiments.push_back(load_experiment(in.experiment, sets, ValidateOptions{}).experiment);
    point_sets.push_back(sets);
  }
  fs::create_directories(e.output);
  std::vector<nlohmann::ordered_json> results;
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string dir = (fs::path(e.output) / point_name(points[i])).string();
    const fs::path result_path = fs::path(dir) / "result.json";
    std::vector<std::string> common{in.experiment};
    for (const auto& s : point_sets[i]) common.insert(common.end(), {"--set", s});
    // Attention mass against distance, at the training length and the longest evaluation length,
    // for the report's plot; kept beside the point's results and computed once.
    const fs::path mass_dir = fs::path(dir) / "attention";
    auto attention_mass = [&]() {
      if (point_experiments[i].task.kind != TaskKind::kCausalLm || fs::exists(mass_dir / "attention_mass.csv")) return 0;
      std::vector<int64_t> lengths{point_experiments[i].train.seq_len};
      if (!e.sweep.lengths.empty()) {
        const int64_t longest = *std::max_element(e.sweep.lengths.begin(), e.sweep.lengths.end());
        if (longest != lengths[0]) lengths.push_back(longest);
      }
      std::vector<std::string> attention{"attention"};
      attention.insert(attention.end(), common.begin(), common.end());
      attention.insert(attention.end(), {"--mass", "--lengths", fmt::format("{}", fmt::join(lengths, ",")), "--out",
                                         mass_dir.string(), "--no-plots"});
      std::string ignored;
      return run_self(attention, &ignored, nullptr);
    };
    if (fs::exists(result_path)) {
      fmt::print(stderr, "[{}/{}] {}: done earlier\n", i + 1, points.size(), point_name(points[i]));
      results.push_back(nlohmann::ordered_json::parse(std::ifstream(result_path)));
      if (const int code = attention_mass(); code != 0) return code;
      continue;
    }
    fmt::print(stderr, "[{}/{}] {}\n", i + 1, points.size(), point_name(points[i]));
    std::vector<std::string> train{"train"};
    train.insert(train.end(), common.begin(), common.end());
    train.insert(train.end(), {"--resume", "-q"});
    double rss = 0;
    if (const int code = run_self(train, nullptr, &rss); code != 0) return code;
    std::vector<std::string> eval{"eval"};
    eval.insert(eval.end(), common.begin(), common.end());
    std::string eval_out;
    if (!e.sweep.lengths.empty()) {
      eval.push_back("--lengths");
      eval.push_back(fmt::format("{}", fmt::join(e.sweep.lengths, ",")));
      if (e.sweep.stride > 0) eval.insert(eval.end(), {"--stride", fmt::format("{}", e.sweep.stride)});
      if (const int code = run_self(eval, &eval_out, nullptr); code != 0) return code;
    }
    auto result = point_result(points[i], dir, eval_out, rss, point_experiments[i]);
    if (const int code = attention_mass(); code != 0) return code;
    write_file_atomic(result_path.string(), result.dump(2) + "\n");
    results.push_back(result);
  }
  write_reports(e, points, results);
  fmt::print("{}\n{}\n", (fs::path(e.output) / "results.csv").string(), (fs::path(e.output) / "report.md").string());
  // Plots by scripts/plot_sweep.py (matplotlib); the numbers above stand without them.
  if (!run_python_script("plot_sweep.py", {e.output})) {
    fmt::print(stderr, "plots skipped: scripts/plot_sweep.py needs python3-matplotlib (scripts/setup.sh installs it)\n");
  } else {
    for (const char* name : {"valid_loss.png", "ppl_length.png", "exact_length.png", "attention_mass.png"})
      if (fs::exists(fs::path(e.output) / name)) fmt::print("{}\n", (fs::path(e.output) / name).string());
  }
  return 0;
}

const bool registered = register_runner("sweep", run_sweep);

}  // namespace

}  // namespace qkv::cli
