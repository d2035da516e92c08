#pragma once
// A password or other credential. It cannot be formatted into a log line by accident (its
// formatter prints "<redacted>") and its bytes are wiped when it goes away.

#include <fmt/format.h>
#include <string.h>

#include <string>
#include <string_view>

namespace mailstead {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  Secret& operator=(Secret&& other) noexcept {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
    return *this;
  }
  ~Secret() { wipe(); }

  // Deliberately named: every place that looks at the secret says so.
  std::string_view reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  void wipe() {
    explicit_bzero(value_.data(), value_.size());
    value_.clear();
  }
  std::string value_;
};

}  // namespace mailstead

template <>
struct fmt::formatter<mailstead::Secret> : fmt::formatter<std::string_view> {
  auto format(const mailstead::Secret&, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format("<redacted>", ctx);
  }
};
