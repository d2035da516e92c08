#include "storage/address.hpp"

#include "common/text/idn.hpp"
#include "common/text/utf8.hpp"

namespace mailstead::storage {

std::optional<AddressParts> split_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return std::nullopt;
  return AddressParts{std::string(address.substr(0, at)), std::string(address.substr(at + 1))};
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::string> normalize_domain(std::string_view domain) {
  if (domain.ends_with('.')) domain.remove_suffix(1);
  if (domain.empty() || domain.size() > 253 || !text::valid_utf8(domain)) return std::nullopt;
  std::string out = lower_ascii(domain);
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= out.size(); ++i) {
    if (i < out.size() && out[i] != '.') {
      auto c = static_cast<unsigned char>(out[i]);
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c >= 0x80;
      if (!ok) return std::nullopt;
      continue;
    }
    std::size_t length = i - label_start;
    if (length == 0 || length > 63 || out[label_start] == '-' || out[i - 1] == '-') return std::nullopt;
    label_start = i + 1;
  }
  // U-labels and A-labels name the same domain; they compare in one form, the U-label one
  // (what users read, and what SMTPUTF8 mail carries).
  if (text::is_idn(out)) return text::domain_to_unicode(out);
  return out;
}

std::optional<std::string> local_part_problem(std::string_view local) {
  if (local.empty()) return "the local part is empty";
  if (local.size() > 64) return "the local part is longer than 64 bytes";
  if (!text::valid_utf8(local)) return "the local part is not valid UTF-8";
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return "the local part may not start or end with a dot or hold two dots in a row";
  for (char c : local) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return "the local part may not hold spaces or control characters";
    if (std::string_view("()<>[]:;@\\,\"").find(c) != std::string_view::npos)
      return std::string("the local part may not hold '") + c + "'";
  }
  return std::nullopt;
}

std::string unquote_local_part(std::string_view local) {
  if (local.size() < 2 || local.front() != '"' || local.back() != '"') return std::string(local);
  std::string out;
  for (std::size_t i = 1; i + 1 < local.size(); ++i) {
    if (local[i] == '\\' && i + 2 < local.size()) ++i;  // quoted-pair: the next character as itself
    out += local[i];
  }
  return out;
}

std::string address_key(std::string_view local, std::string_view normalized_domain, const AddressPolicy& policy) {
  std::string key = policy.case_sensitive_local_parts ? std::string(local) : lower_ascii(local);
  key += '@';
  key += normalized_domain;
  return key;
}

std::optional<std::string_view> strip_tag(std::string_view local, const AddressPolicy& policy) {
  if (policy.plus_separator.empty()) return std::nullopt;
  auto at = local.find(policy.plus_separator);
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  return local.substr(0, at);
}

}  // namespace mailstead::storage
