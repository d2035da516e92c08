// Loads mailstead.toml: syntax, then unknown sections and keys, then every option of the
// schema (the file's value, or the default), then the checks that span several options.
// Every error is collected, so that one `config check` shows them all.

#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "common/config/config.hpp"
#include "common/config/schema.hpp"

namespace mailstead::config {
namespace {

class ErrorList {
 public:
  explicit ErrorList(std::string file) : file_(std::move(file)) {}

  void add(const toml::source_region& where, std::string key, std::string message) {
    errors_.push_back({file_, where.begin.line, where.begin.column, std::move(key), std::move(message)});
  }
  void add_default(std::string key, std::string message) {
    errors_.push_back({file_, 0, 0, std::move(key), std::move(message)});
  }
  std::vector<ConfigError> take() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    return std::move(errors_);
  }
  bool empty() const { return errors_.empty(); }
  bool has(std::string_view key) const {
    return std::any_of(errors_.begin(), errors_.end(), [&](const ConfigError& e) { return e.key == key; });
  }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

template <class Names>
std::string unknown_message(std::string_view what, std::string_view name, const Names& known) {
  std::string_view best;
  std::size_t best_distance = 3;  // suggest only near misses
  for (std::string_view candidate : known) {
    auto d = edit_distance(name, candidate);
    if (d < best_distance) best = candidate, best_distance = d;
  }
  if (best.empty()) return fmt::format("unknown {} \"{}\"", what, name);
  return fmt::format("unknown {} \"{}\"; did you mean \"{}\"?", what, name, best);
}

void check_unknown(const toml::table& root, ErrorList& errors) {
  std::vector<std::string_view> section_names;
  for (const auto& s : schema()) section_names.push_back(s.name);
  for (const auto& [name, node] : root) {
    std::string_view section_name = name.str();  // a structured binding cannot be captured by clang 14
    auto section =
        std::find_if(schema().begin(), schema().end(), [&](const Section& s) { return s.name == section_name; });
    if (section == schema().end()) {
      errors.add(name.source(), std::string(name.str()), unknown_message("section", name.str(), section_names));
      continue;
    }
    auto* table = node.as_table();
    if (!table) {
      errors.add(node.source(), std::string(name.str()), "must be a table: write [" + std::string(name.str()) + "]");
      continue;
    }
    std::vector<std::string_view> keys;
    for (const auto& o : section->options) keys.push_back(o.key);
    for (const auto& [key, value] : *table) {
      if (std::find(keys.begin(), keys.end(), key.str()) == keys.end())
        errors.add(key.source(), fmt::format("{}.{}", name.str(), key.str()), unknown_message("key", key.str(), keys));
    }
  }
}

const toml::table& defaults() {
  static const std::string text = sample_config();
  static const toml::table table = toml::parse(std::string_view(text), std::string_view("built-in defaults"));
  return table;
}

void apply_options(const toml::table& root, Config& config, const ApplyContext& context, ErrorList& errors) {
  for (const auto& section : schema()) {
    for (const auto& option : section.options) {
      auto key = fmt::format("{}.{}", section.name, option.key);
      const toml::node* value = root.at_path(key).node();
      bool from_file = value != nullptr;
      if (!from_file) value = defaults().at_path(key).node();
      auto why = option.apply(*value, config, context);
      if (!why) continue;
      if (from_file)
        errors.add(value->source(), key, *why);
      else
        errors.add_default(key, *why);
    }
  }
}

// Where a key sits in the file, for errors found after the options were applied.
void add_at(const toml::table& root, ErrorList& errors, const std::string& key, std::string message) {
  if (auto* node = root.at_path(key).node())
    errors.add(node->source(), key, std::move(message));
  else
    errors.add_default(key, std::move(message) + " (the default; set it in the file)");
}

void check_readable(const toml::table& root, ErrorList& errors, const std::string& key,
                    const std::filesystem::path& file) {
  if (errors.has(key)) return;  // the value itself was wrong; that error says enough
  std::error_code ec;
  auto status = std::filesystem::status(file, ec);
  if (ec || !std::filesystem::exists(status)) {
    add_at(root, errors, key, fmt::format("\"{}\" does not exist", file.string()));
  } else if (!std::filesystem::is_regular_file(status)) {
    add_at(root, errors, key, fmt::format("\"{}\" is not a regular file", file.string()));
  } else if (std::ifstream in(file); !in) {
    add_at(root, errors, key, fmt::format("\"{}\" cannot be read (permissions?)", file.string()));
  }
}

void check_listeners(const toml::table& root, const Config& config, ErrorList& errors) {
  std::map<std::string, std::string> owner;  // "host:port" -> the key that listens there
  auto check = [&](const std::string& key, const std::vector<Endpoint>& list) {
    for (const auto& endpoint : list) {
      auto [it, fresh] = owner.emplace(endpoint.to_string(), key);
      if (!fresh) add_at(root, errors, key, fmt::format("{} is also in {}", endpoint.to_string(), it->second));
    }
  };
  check("smtpd.listen", config.smtpd.listen);
  check("smtpd.submission_listen", config.smtpd.submission_listen);
  check("smtpd.submissions_listen", config.smtpd.submissions_listen);
  check("pop3d.listen", config.pop3d.listen);
  check("pop3d.tls_listen", config.pop3d.tls_listen);
  check("imapd.listen", config.imapd.listen);
  check("imapd.tls_listen", config.imapd.tls_listen);
}

// A relay password file is read by the daemon after it dropped privileges: it must exist now,
// and a user name without a password (or the reverse) is a mistake.
void check_relay(const toml::table& root, Config& config, const std::filesystem::path& base_dir, ErrorList& errors) {
  auto& out = config.outbound;
  if (!out.relay_password_file.empty()) {
    std::filesystem::path p(out.relay_password_file);
    if (p.is_relative()) out.relay_password_file = (base_dir / p).lexically_normal().string();
    check_readable(root, errors, "outbound.relay_password_file", out.relay_password_file);
  }
  if (out.relay_user.empty() != out.relay_password_file.empty())
    add_at(root, errors, out.relay_user.empty() ? "outbound.relay_password_file" : "outbound.relay_user",
           "relay_user and relay_password_file go together");
  if (!out.relay_user.empty() && !out.relay)
    add_at(root, errors, "outbound.relay_user", "is set, but outbound.relay is empty");
}

void resolve_hostname(Config& config) {
  if (!config.server.hostname.empty()) return;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0 && name[0] != '\0')
    config.server.hostname = name;
  else
    config.server.hostname = "localhost";
}

}  // namespace

LoadResult load_config_text(std::string_view text, std::string_view origin, const std::filesystem::path& base_dir) {
  ErrorList errors{std::string(origin)};
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(origin));
  } catch (const toml::parse_error& e) {
    errors.add(e.source(), "", std::string(e.description()));
    return {std::nullopt, errors.take()};
  }
  Config config;
  config.source = std::filesystem::path(origin);
  check_unknown(root, errors);
  apply_options(root, config, ApplyContext{base_dir}, errors);
  check_readable(root, errors, "tls.certificate", config.tls.certificate);
  check_readable(root, errors, "tls.private_key", config.tls.private_key);
  check_listeners(root, config, errors);
  check_relay(root, config, base_dir, errors);
  if (!errors.empty()) return {std::nullopt, errors.take()};
  resolve_hostname(config);
  return {std::move(config), {}};
}

LoadResult load_config_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return {std::nullopt,
            {{path.string(), 0, 0, "",
              fmt::format("cannot open the config file: {}", std::generic_category().message(errno))}}};
  }
  std::stringstream text;
  text << in.rdbuf();
  auto absolute = std::filesystem::absolute(path).lexically_normal();
  return load_config_text(text.str(), path.string(), absolute.parent_path());
}

std::optional<DnsList> parse_dns_list(std::string_view text) {
  DnsList list;
  auto star = text.find('*');
  std::string_view zone = text.substr(0, star);
  if (star != std::string_view::npos) {
    auto weight = text.substr(star + 1);
    int v = 0;
    auto [end, ec] = std::from_chars(weight.data(), weight.data() + weight.size(), v);
    if (weight.empty() || ec != std::errc{} || end != weight.data() + weight.size() || v < -100 || v > 100 || v == 0)
      return std::nullopt;
    list.weight = v;
  }
  // A DNS name: labels of letters, digits, '-' and '_', at least two of them.
  if (zone.empty() || zone.size() > 200 || zone.find('.') == std::string_view::npos || zone.front() == '.' ||
      zone.back() == '.' || zone.find("..") != std::string_view::npos)
    return std::nullopt;
  for (char c : zone)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return std::nullopt;
  list.zone = std::string(zone);
  return list;
}

std::string MilterAddress::to_string() const {
  if (host.empty()) return "unix:" + path;
  if (host.find(':') != std::string::npos) return fmt::format("inet:[{}]:{}", host, port);
  return fmt::format("inet:{}:{}", host, port);
}

std::optional<MilterAddress> parse_milter_address(std::string_view text) {
  MilterAddress out;
  if (text.starts_with("unix:") || text.starts_with("local:")) {
    out.path = std::string(text.substr(text.find(':') + 1));
    // sun_path holds 108 bytes with its NUL.
    if (out.path.empty() || out.path[0] != '/' || out.path.size() > 107) return std::nullopt;
    return out;
  }
  if (text.starts_with("inet:")) text.remove_prefix(5);
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto host = text.substr(0, colon);
  auto port = text.substr(colon + 1);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
  // A host name (a container's service name), an IPv4 address, or an IPv6 one in brackets.
  if (host.empty() || host.size() > 253) return std::nullopt;
  for (char c : host)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.' || c == ':'))
      return std::nullopt;
  out.host = std::string(host);
  out.port = value;
  return out;
}

std::string ConfigError::to_string() const {
  std::string where = line ? fmt::format("{}:{}:{}", file, line, column) : file;
  if (key.empty()) return fmt::format("{}: {}", where, message);
  return fmt::format("{}: {}: {}", where, key, message);
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "?";
}

}  // namespace mailstead::config
