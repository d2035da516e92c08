#include "common/text/idn.hpp"

#include <idn2.h>

#include <algorithm>
#include <memory>

#include "common/text/ascii.hpp"

namespace mailstead::text {
namespace {

struct Idn2Free {
  void operator()(char* p) const { idn2_free(p); }
};
using Idn2String = std::unique_ptr<char, Idn2Free>;

constexpr int kLookupFlags = IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL;

}  // namespace

bool is_idn(std::string_view domain) {
  if (std::any_of(domain.begin(), domain.end(), [](char c) { return static_cast<unsigned char>(c) > 127; }))
    return true;
  std::string lower = lower_ascii(domain);
  return lower.starts_with("xn--") || lower.find(".xn--") != std::string::npos;
}

std::optional<std::string> domain_to_ascii(std::string_view domain) {
  if (!is_idn(domain)) return lower_ascii(domain);
  std::string input(domain);
  char* raw = nullptr;
  if (idn2_to_ascii_8z(input.c_str(), &raw, kLookupFlags) != IDN2_OK) return std::nullopt;
  Idn2String ascii(raw);
  return lower_ascii(ascii.get());
}

std::optional<std::string> domain_to_unicode(std::string_view domain) {
  if (!is_idn(domain)) return lower_ascii(domain);
  auto ascii = domain_to_ascii(domain);  // maps case and normalises U-labels, checks A-labels
  if (!ascii) return std::nullopt;
  char* raw = nullptr;
  if (idn2_to_unicode_8z8z(ascii->c_str(), &raw, 0) != IDN2_OK) return std::nullopt;
  Idn2String unicode(raw);
  return std::string(unicode.get());
}

}  // namespace mailstead::text
