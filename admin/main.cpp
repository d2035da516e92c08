// mailstead: the administration command. Finds the subcommand in the table, handles the
// options every subcommand shares (-c/--config, --help), and runs it.

#include <fmt/format.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "admin/command.hpp"
#include "common/config/config.hpp"
#include "common/version.hpp"

namespace mailstead::admin {
namespace {

int version(const Invocation& inv) {
  if (!inv.args.empty()) return fmt::print(stderr, "version takes no arguments\n"), kExitUsage;
  fmt::print("mailstead {}\n", kVersion);
  return kExitOk;
}

std::vector<Command> all_commands() {
  std::vector<Command> out;
  for (const auto& c : config_commands()) out.push_back(c);
  out.push_back({{"version"}, "", "print the version", "Prints the version of mailstead.", version});
  return out;
}

std::string joined(const Command& c) {
  std::string out;
  for (auto w : c.words) out += (out.empty() ? "" : " ") + std::string(w);
  return out;
}

void print_overview(std::FILE* to) {
  fmt::print(to,
             "usage: mailstead [-c FILE] COMMAND [ARGS]\n\n"
             "Administers a mailstead mail server. FILE is the configuration (default: $MAILSTEAD_CONFIG,\n"
             "else {}).\n\ncommands:\n",
             config::kDefaultConfigPath);
  for (const auto& c : all_commands()) fmt::print(to, "  {:<16} {}\n", joined(c), c.summary);
  fmt::print(to, "\nRun `mailstead COMMAND --help` for the details of one.\n");
}

void print_help(const Command& c) {
  fmt::print("usage: mailstead {}{}{}\n\n{}\n", joined(c), c.usage.empty() ? "" : " ", c.usage, c.help);
}

int run(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  Invocation inv;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  if (const char* env = std::getenv("MAILSTEAD_CONFIG"); env && *env)
    inv.config_path = env;
  else
    inv.config_path = std::string(config::kDefaultConfigPath);
  bool help = false;
  std::vector<std::string_view> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-c" || args[i] == "--config") {
      if (i + 1 == args.size()) return fmt::print(stderr, "{} needs a file name\n", args[i]), kExitUsage;
      inv.config_path = std::string(args[++i]);
    } else if (args[i].starts_with("--config=")) {
      inv.config_path = std::string(args[i].substr(9));
    } else if (args[i] == "-h" || args[i] == "--help" || args[i] == "help") {
      help = true;
    } else {
      rest.push_back(args[i]);
    }
  }
  if (rest.empty()) {
    print_overview(help ? stdout : stderr);
    return help ? kExitOk : kExitUsage;
  }
  const auto commands = all_commands();
  const Command* best = nullptr;
  for (const auto& c : commands) {
    if (c.words.size() <= rest.size() && std::equal(c.words.begin(), c.words.end(), rest.begin()) &&
        (!best || c.words.size() > best->words.size()))
      best = &c;
  }
  if (!best) {
    fmt::print(stderr, "mailstead: unknown command \"{}\"\n\n", fmt::join(rest, " "));
    print_overview(stderr);
    return kExitUsage;
  }
  if (help) return print_help(*best), kExitOk;
  inv.args.assign(rest.begin() + static_cast<std::ptrdiff_t>(best->words.size()), rest.end());
  for (auto a : inv.args) {
    if (a.starts_with("-"))
      return fmt::print(stderr, "mailstead {}: unknown option \"{}\"\n", joined(*best), a), kExitUsage;
  }
  return best->run(inv);
}

}  // namespace
}  // namespace mailstead::admin

int main(int argc, char** argv) {
  return mailstead::admin::run(argc, argv);
}
