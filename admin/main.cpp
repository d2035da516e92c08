// mailstead: the administration command. Finds the subcommand in the table, handles the
// options every subcommand shares (-c/--config, --help), and runs it.

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "admin/command.hpp"
#include "common/config/config.hpp"
#include "common/version.hpp"
#include "storage/result.hpp"

namespace mailstead::admin {
namespace {

int version(const Invocation&) {
  fmt::print("mailstead {}\n", kVersion);
  return kExitOk;
}

std::vector<Command> all_commands() {
  std::vector<Command> out;
  for (const auto& c : config_commands()) out.push_back(c);
  for (const auto& c : account_commands()) out.push_back(c);
  for (const auto& c : dkim_commands()) out.push_back(c);
  for (const auto& c : dns_commands()) out.push_back(c);
  for (const auto& c : queue_commands()) out.push_back(c);
  for (const auto& c : backup_commands()) out.push_back(c);
  for (const auto& c : check_commands()) out.push_back(c);
  for (const auto& c : import_commands()) out.push_back(c);
  for (const auto& c : message_commands()) out.push_back(c);
  out.push_back({{"version"}, "", "print the version", "Prints the version of mailstead.", 0, 0, {}, version});
  return out;
}

std::string joined(const Command& c) {
  std::string out;
  for (auto w : c.words) out += (out.empty() ? "" : " ") + std::string(w);
  return out;
}

void print_summary(std::FILE* to, const Command& c) {
  fmt::print(to, "  {:<16} {}\n", joined(c), c.summary);
}

void print_overview(std::FILE* to) {
  fmt::print(to,
             "usage: mailstead [-c FILE] COMMAND [ARGS]\n\n"
             "Administers a mailstead mail server. FILE is the configuration (default: $MAILSTEAD_CONFIG,\n"
             "else {}).\n\ncommands:\n",
             config::kDefaultConfigPath);
  for (const auto& c : all_commands()) print_summary(to, c);
  fmt::print(to, "\nRun `mailstead COMMAND --help` for the details of one.\n");
}

// "mailstead user" names a group, not a command: list its members rather than call it unknown.
bool print_group(std::FILE* to, const std::vector<Command>& commands, const std::vector<std::string_view>& words) {
  std::vector<const Command*> members;
  for (const auto& c : commands)
    if (c.words.size() > words.size() && std::equal(words.begin(), words.end(), c.words.begin())) members.push_back(&c);
  if (members.empty()) return false;
  fmt::print(to, "usage: mailstead [-c FILE] {} COMMAND [ARGS]\n\ncommands:\n", fmt::join(words, " "));
  for (const auto* c : members) print_summary(to, *c);
  fmt::print(to, "\nRun `mailstead {} COMMAND --help` for the details of one.\n", fmt::join(words, " "));
  return true;
}

void print_help(const Command& c) {
  fmt::print("usage: mailstead {}{}{}\n\n{}\n", joined(c), c.usage.empty() ? "" : " ", c.usage, c.help);
  if (c.options.empty()) return;
  fmt::print("\noptions:\n");
  for (const auto& o : c.options)
    fmt::print("  {:<22} {}\n", fmt::format("{}{}", o.name, o.takes_value ? " VALUE" : ""), o.help);
}

// Splits the words after the command's own into positional arguments and declared options.
int parse_arguments(const Command& c, const std::vector<std::string_view>& words, Invocation& inv) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    auto word = words[i];
    if (!word.starts_with("--") || word == "--") {
      inv.args.push_back(word);
      continue;
    }
    auto eq = word.find('=');
    auto name = word.substr(0, eq);
    auto spec = std::find_if(c.options.begin(), c.options.end(), [&](const OptionSpec& o) { return o.name == name; });
    if (spec == c.options.end()) {
      fmt::print(stderr, "mailstead {}: unknown option \"{}\" (see --help)\n", joined(c), name);
      return kExitUsage;
    }
    if (!spec->takes_value) {
      inv.options[spec->name] = "";
    } else if (eq != std::string_view::npos) {
      inv.options[spec->name] = word.substr(eq + 1);
    } else if (i + 1 < words.size()) {
      inv.options[spec->name] = words[++i];
    } else {
      fmt::print(stderr, "mailstead {}: {} needs a value\n", joined(c), name);
      return kExitUsage;
    }
  }
  if (inv.args.size() < c.min_args || inv.args.size() > c.max_args) {
    fmt::print(stderr, "usage: mailstead {}{}{}\n", joined(c), c.usage.empty() ? "" : " ", c.usage);
    return kExitUsage;
  }
  return kExitOk;
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
  if (!best && rest.size() == 1 && print_group(help ? stdout : stderr, commands, rest))
    return help ? kExitOk : kExitUsage;
  if (!best) {
    fmt::print(stderr, "mailstead: unknown command \"{}\"\n\n", fmt::join(rest, " "));
    print_overview(stderr);
    return kExitUsage;
  }
  if (help) return print_help(*best), kExitOk;
  std::vector<std::string_view> after(rest.begin() + static_cast<std::ptrdiff_t>(best->words.size()), rest.end());
  if (int rc = parse_arguments(*best, after, inv); rc != kExitOk) return rc;
  try {
    return best->run(inv);
  } catch (const storage::StorageError& e) {
    fmt::print(stderr, "mailstead: {}\n", e.what());
    return kExitFailure;
  }
}

}  // namespace
}  // namespace mailstead::admin

int main(int argc, char** argv) {
  return mailstead::admin::run(argc, argv);
}
