#include "common/srs/srs.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

#include "common/sasl/base64.hpp"
#include "common/text/ascii.hpp"

namespace mailstead::srs {
namespace {

constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::int64_t kDay = 86400;
constexpr unsigned kTimestampRange = 1024;  // two base32 characters
constexpr std::size_t kMaxAddress = 254;    // RFC 5321 §4.5.3.1.3: a path of 256 with its <>

unsigned today(std::int64_t now) {
  return static_cast<unsigned>((now / kDay) % kTimestampRange);
}

std::string timestamp(std::int64_t now) {
  auto t = today(now);
  return {kBase32[(t >> 5) & 31], kBase32[t & 31]};
}

std::optional<unsigned> decode_timestamp(std::string_view tt) {
  if (tt.size() != 2) return std::nullopt;
  unsigned out = 0;
  for (char c : tt) {
    auto at = kBase32.find(text::ascii_upper(c));
    if (at == std::string_view::npos) return std::nullopt;
    out = out * 32 + static_cast<unsigned>(at);
  }
  return out;
}

std::string hash(std::string_view secret, std::string_view data) {
  auto lowered = text::lower_ascii(data);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned length = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(lowered.data()), lowered.size(), mac.data(), &length);
  auto encoded = sasl::base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), length));
  return encoded.substr(0, kHashLength);
}

bool hash_matches(std::string_view given, std::string_view expected) {
  return given.size() == expected.size() && text::iequals_ascii(given, expected);
}

// The text up to the next '=' of `rest`, which then starts after it; nullopt without one.
std::optional<std::string_view> take_field(std::string_view& rest) {
  auto eq = rest.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  auto field = rest.substr(0, eq);
  rest.remove_prefix(eq + 1);
  return field;
}

std::optional<std::string> fits(std::string address) {
  if (address.size() > kMaxAddress) return std::nullopt;
  return address;
}

}  // namespace

bool is_srs(std::string_view local_part) {
  return local_part.size() > 5 && text::iequals_ascii(local_part.substr(0, 3), "SRS") &&
         (local_part[3] == '0' || local_part[3] == '1') &&
         (local_part[4] == '=' || local_part[4] == '+' || local_part[4] == '-');
}

std::optional<std::string> forward(std::string_view sender, std::string_view forwarder, std::string_view secret,
                                   std::int64_t now) {
  auto at = sender.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == sender.size()) return std::nullopt;
  auto local = sender.substr(0, at);
  auto domain = sender.substr(at + 1);
  // '=' separates the fields, so a domain may not hold one (no DNS name does).
  if (domain.find('=') != std::string_view::npos) return std::nullopt;
  auto suffix = "@" + std::string(forwarder);
  if (is_srs(local) && local[3] == '0') {
    // Forwarded before: the first forwarder and its opaque part ("=HHHH=TT=domain=local") go on.
    auto opaque = local.substr(4);
    return fits("SRS1=" + hash(secret, std::string(domain) + std::string(opaque)) + "=" + std::string(domain) + "=" +
                std::string(opaque) + suffix);
  }
  if (is_srs(local)) {
    auto rest = local.substr(5);
    auto old_hash = take_field(rest);
    auto first = take_field(rest);
    if (old_hash && first && !first->empty() && !rest.empty()) {
      auto opaque = std::string(rest);  // with its own leading separator
      return fits("SRS1=" + hash(secret, std::string(*first) + opaque) + "=" + std::string(*first) + "=" + opaque +
                  suffix);
    }
    // Not one of the forms: rewritten like any other sender.
  }
  auto tt = timestamp(now);
  return fits("SRS0=" + hash(secret, tt + std::string(domain) + std::string(local)) + "=" + tt + "=" +
              std::string(domain) + "=" + std::string(local) + suffix);
}

std::string_view to_string(Error error) {
  switch (error) {
    case Error::malformed:
      return "malformed";
    case Error::bad_hash:
      return "bad hash";
    case Error::expired:
      return "expired";
  }
  return "?";
}

std::variant<std::string, Error> reverse(std::string_view local_part, std::string_view secret, std::int64_t now,
                                         unsigned max_age_days) {
  if (!is_srs(local_part)) return Error::malformed;
  auto rest = local_part.substr(5);
  auto given = take_field(rest);
  if (!given || given->size() != kHashLength) return Error::malformed;
  if (local_part[3] == '1') {
    auto first = take_field(rest);
    if (!first || first->empty() || rest.empty()) return Error::malformed;
    auto opaque = std::string(rest);  // "=HHHH=TT=domain=local", its separator first
    if (!hash_matches(*given, hash(secret, std::string(*first) + opaque))) return Error::bad_hash;
    return "SRS0" + opaque + "@" + std::string(*first);
  }
  auto tt = take_field(rest);
  auto domain = take_field(rest);
  if (!tt || !domain || domain->empty() || rest.empty()) return Error::malformed;
  auto then = decode_timestamp(*tt);
  if (!then) return Error::malformed;
  if (!hash_matches(*given, hash(secret, std::string(*tt) + std::string(*domain) + std::string(rest))))
    return Error::bad_hash;
  auto age = (today(now) + kTimestampRange - *then) % kTimestampRange;
  if (age > max_age_days) return Error::expired;
  return std::string(rest) + "@" + std::string(*domain);
}

}  // namespace mailstead::srs
