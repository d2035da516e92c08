#pragma once
// The config schema: every option of mailstead.toml in one table, with its default (as TOML
// text), its documentation and the function that validates it and stores it into Config.
// The loader, `mailstead config sample` and the test that keeps etc/mailstead.toml in step
// all read this table, so an option cannot exist in one place and not the others.

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/config/config.hpp"

namespace toml {
inline namespace v3 {
class node;
}
}  // namespace toml

namespace mailstead::config {

struct ApplyContext {
  std::filesystem::path base_dir;  // relative paths are resolved against it
};

// Validates `value` and stores it into `config`; returns why it is wrong otherwise.
using ApplyFn = std::function<std::optional<std::string>(const toml::node& value, Config& config, const ApplyContext&)>;

struct Option {
  std::string_view key;           // within its section
  std::string_view default_toml;  // a TOML value, as written in the sample file
  std::string_view doc;           // lines separated by '\n'
  ApplyFn apply;
};

struct Section {
  std::string_view name;
  std::string_view doc;
  std::vector<Option> options;
};

std::span<const Section> schema();

// The sample configuration: every option with its documentation and default.
std::string sample_config();

}  // namespace mailstead::config
