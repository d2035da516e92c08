#include "common/dkim/verifier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "common/dkim/signer.hpp"
#include "common/mime/mime.hpp"
#include "common/sasl/base64.hpp"
#include "common/text/ascii.hpp"

namespace mailstead::dkim {
namespace {

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_alnum(char c) {
  return is_alpha(c) || (c >= '0' && c <= '9');
}

using text::is_fws;
constexpr auto trim = text::trim_fws;

std::string without_fws(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!is_fws(c)) out += c;
  return out;
}

// §3.2: tag-name = ALPHA *ALNUMPUNC (ALNUMPUNC = ALPHA / DIGIT / "_").
bool valid_tag_name(std::string_view name) {
  if (name.empty() || !is_alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

const std::string* find_tag(const Tags& tags, std::string_view name) {
  for (const auto& [n, v] : tags)
    if (n == name) return &v;
  return nullptr;
}

template <typename Int>
std::optional<Int> parse_number(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  Int v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::optional<Canon> parse_canon(std::string_view s) {
  if (s == "simple") return Canon::simple;
  if (s == "relaxed") return Canon::relaxed;
  return std::nullopt;
}

// Whether `sub` is `domain` or a subdomain of it (both lower case).
bool within(std::string_view sub, std::string_view domain) {
  return sub == domain ||
         (sub.size() > domain.size() && sub.ends_with(domain) && sub[sub.size() - domain.size() - 1] == '.');
}

}  // namespace

std::string_view to_string(Result result) {
  switch (result) {
    case Result::none:
      return "none";
    case Result::pass:
      return "pass";
    case Result::fail:
      return "fail";
    case Result::policy:
      return "policy";
    case Result::neutral:
      return "neutral";
    case Result::temperror:
      return "temperror";
    case Result::permerror:
      return "permerror";
  }
  return "none";
}

std::optional<Tags> parse_tags(std::string_view list) {
  Tags tags;
  while (!list.empty()) {
    auto semi = list.find(';');
    auto spec = list.substr(0, semi);
    list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
    if (trim(spec).empty()) continue;  // a final ';', or "; ;"
    auto eq = spec.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto name = trim(spec.substr(0, eq));
    if (!valid_tag_name(name) || find_tag(tags, name)) return std::nullopt;  // §3.2: a tag once
    tags.emplace_back(std::string(name), std::string(trim(spec.substr(eq + 1))));
  }
  return tags;
}

std::variant<Signature, std::string> parse_signature(std::string_view raw) {
  auto colon = raw.find(':');
  if (colon == std::string_view::npos) return std::string("not a header field");
  auto tags = parse_tags(raw.substr(colon + 1));
  if (!tags) return std::string("malformed tag list");
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
    if (!find_tag(*tags, required)) return fmt::format("no {}= tag", required);
  if (*find_tag(*tags, "v") != "1") return std::string("unknown version");
  Signature sig;
  const auto& a = *find_tag(*tags, "a");
  auto algorithm = parse_algorithm(text::lower_ascii(a));
  if (!algorithm) {
    // RFC 8301 §3.1: rsa-sha1 MUST NOT be considered valid.
    return text::iequals_ascii(a, "rsa-sha1") ? std::string("rsa-sha1 is not accepted (RFC 8301)")
                                              : fmt::format("unknown algorithm {}", a);
  }
  sig.algorithm = *algorithm;
  if (const auto* c = find_tag(*tags, "c")) {
    auto lower = text::lower_ascii(*c);
    auto slash = lower.find('/');
    auto header = parse_canon(std::string_view(lower).substr(0, slash));
    auto body = slash == std::string::npos ? std::optional<Canon>(Canon::simple)
                                           : parse_canon(std::string_view(lower).substr(slash + 1));
    if (!header || !body) return fmt::format("unknown canonicalisation {}", *c);
    sig.header_canon = *header;
    sig.body_canon = *body;
  }
  sig.domain = text::lower_ascii(*find_tag(*tags, "d"));
  if (sig.domain.empty() || sig.domain.size() > 253 || sig.domain.front() == '.' || sig.domain.back() == '.')
    return std::string("invalid d=");
  sig.selector = text::lower_ascii(*find_tag(*tags, "s"));
  if (sig.selector.empty() || sig.selector.size() > 253) return std::string("invalid s=");
  for (char ch : sig.selector)
    if (!is_alnum(ch) && ch != '-' && ch != '.' && ch != '_') return std::string("invalid s=");
  std::string_view h = *find_tag(*tags, "h");
  while (!h.empty()) {
    auto sep = h.find(':');
    auto name = trim(h.substr(0, sep));
    h = sep == std::string_view::npos ? std::string_view{} : h.substr(sep + 1);
    if (name.empty()) return std::string("empty name in h=");
    if (sig.headers.size() == kMaxSignedFields) return fmt::format("h= names more than {} fields", kMaxSignedFields);
    sig.headers.push_back(text::lower_ascii(name));
  }
  // §6.1.1: the From field MUST be signed.
  if (std::find(sig.headers.begin(), sig.headers.end(), "from") == sig.headers.end())
    return std::string("From is not signed");
  sig.auid = "@" + sig.domain;
  if (const auto* i = find_tag(*tags, "i")) {
    auto at = i->rfind('@');
    if (at == std::string::npos) return std::string("invalid i=");
    // §6.1.1: the AUID's domain must be d= or a subdomain of it.
    if (!within(text::lower_ascii(std::string_view(*i).substr(at + 1)), sig.domain))
      return std::string("i= is not within d=");
    sig.auid = *i;
  }
  if (const auto* l = find_tag(*tags, "l")) {
    sig.length = parse_number<std::uint64_t>(*l, 76);
    if (!sig.length) return std::string("invalid l=");
  }
  if (const auto* q = find_tag(*tags, "q")) {
    auto lower = text::lower_ascii(without_fws(*q));
    if (lower.find("dns/txt") == std::string::npos) return std::string("no known query method in q=");
  }
  if (const auto* t = find_tag(*tags, "t")) {
    sig.timestamp = parse_number<std::int64_t>(*t, 12);
    if (!sig.timestamp) return std::string("invalid t=");
  }
  if (const auto* x = find_tag(*tags, "x")) {
    sig.expires = parse_number<std::int64_t>(*x, 12);
    if (!sig.expires) return std::string("invalid x=");
    // §3.5: x= MUST be greater than t=.
    if (sig.timestamp && *sig.expires <= *sig.timestamp) return std::string("x= is not after t=");
  }
  auto bh = sasl::base64_decode(without_fws(*find_tag(*tags, "bh")));
  if (!bh || bh->size() != 32) return std::string("invalid bh=");
  sig.body_hash = std::move(*bh);
  auto b = sasl::base64_decode(without_fws(*find_tag(*tags, "b")));
  if (!b || b->empty()) return std::string("invalid b=");
  sig.signature = std::move(*b);
  return sig;
}

std::variant<KeyRecord, std::string> parse_key_record(std::string_view txt) {
  auto tags = parse_tags(txt);
  if (!tags) return std::string("malformed key record");
  // §3.6.1: v= is optional, but when present it MUST be the first tag and "DKIM1".
  if (const auto* v = find_tag(*tags, "v"); v && (tags->front().first != "v" || *v != "DKIM1"))
    return std::string("not a DKIM1 key record");
  KeyRecord key;
  if (const auto* h = find_tag(*tags, "h")) {
    bool sha256 = false;
    std::string_view list = *h;
    while (!list.empty()) {
      auto sep = list.find(':');
      sha256 = sha256 || text::iequals_ascii(trim(list.substr(0, sep)), "sha256");
      list = sep == std::string_view::npos ? std::string_view{} : list.substr(sep + 1);
    }
    if (!sha256) return std::string("key record does not allow sha256");
  }
  if (const auto* k = find_tag(*tags, "k")) {
    if (text::iequals_ascii(*k, "rsa"))
      key.algorithm = Algorithm::rsa_sha256;
    else if (text::iequals_ascii(*k, "ed25519"))
      key.algorithm = Algorithm::ed25519_sha256;
    else
      return fmt::format("unknown key type {}", *k);
  }
  if (const auto* s = find_tag(*tags, "s")) {
    auto lower = text::lower_ascii(without_fws(*s));
    bool email = false;
    std::string_view list = lower;
    while (!list.empty()) {
      auto sep = list.find(':');
      auto type = list.substr(0, sep);
      email = email || type == "*" || type == "email";
      list = sep == std::string_view::npos ? std::string_view{} : list.substr(sep + 1);
    }
    if (!email) return std::string("key is not for email");
  }
  if (const auto* t = find_tag(*tags, "t")) {
    std::string_view list = *t;
    while (!list.empty()) {
      auto sep = list.find(':');
      auto flag = trim(list.substr(0, sep));
      key.testing = key.testing || flag == "y";
      key.strict = key.strict || flag == "s";
      list = sep == std::string_view::npos ? std::string_view{} : list.substr(sep + 1);
    }
  }
  const auto* p = find_tag(*tags, "p");
  if (!p) return std::string("key record has no p=");
  auto decoded = sasl::base64_decode(without_fws(*p));
  if (!decoded) return std::string("key record's p= is not base64");
  key.public_key = std::move(*decoded);
  return key;
}

std::variant<KeyRecord, Verdict> choose_key(const std::vector<std::string>& txt_records) {
  std::string why = "no key record";
  for (const auto& txt : txt_records) {
    auto parsed = parse_key_record(txt);
    if (auto* key = std::get_if<KeyRecord>(&parsed)) return std::move(*key);
    why = std::get<std::string>(parsed);
  }
  return Verdict{Result::permerror, why};
}

Message::Message(std::string_view message) {
  auto header_size = mime::header_end(message);
  fields = split_fields(message.substr(0, header_size));
  body = message.substr(header_size);
}

Verdict verify(const Message& message, std::size_t field_index, const Signature& sig, const KeyRecord& key,
               std::int64_t now) {
  if (sig.expires && now > *sig.expires) return {Result::fail, "signature expired"};
  if (key.public_key.empty()) return {Result::permerror, "key revoked"};
  if (key.algorithm != sig.algorithm) return {Result::permerror, "key type does not match a="};
  if (key.strict && !text::iequals_ascii(sig.auid.substr(sig.auid.rfind('@') + 1), sig.domain))
    return {Result::permerror, "key requires i= to be d= (t=s)"};
  auto bits = public_key_bits(key.algorithm, key.public_key);
  if (!bits) return {Result::permerror, "key unreadable"};
  if (key.algorithm == Algorithm::rsa_sha256 && *bits < kMinRsaBits)
    return {Result::permerror, fmt::format("key of {} bits is too weak (RFC 8301)", *bits)};
  // §6.1.3: the body hash first; a message changed below the header fails here.
  auto cached = std::find_if(message.body_hashes.begin(), message.body_hashes.end(),
                             [&](const auto& h) { return h.canon == sig.body_canon && h.length == sig.length; });
  if (cached == message.body_hashes.end()) {
    Sha256 hash;
    auto bytes = canonical_body(
        message.body, sig.body_canon, [&](std::string_view piece) { hash.update(piece); }, sig.length);
    cached = message.body_hashes.insert(message.body_hashes.end(), {sig.body_canon, sig.length, hash.finish(), bytes});
  }
  auto total = cached->total;
  if (sig.length && *sig.length > total) return {Result::fail, "l= is longer than the body"};
  if (cached->digest != sig.body_hash) return {Result::fail, "body hash did not verify"};
  auto data = signed_data(message.fields, sig.headers, message.fields[field_index], sig.header_canon);
  if (!verify_signature(sig.algorithm, key.public_key, data, sig.signature, kMinRsaBits))
    return {Result::fail, "signature did not verify"};
  if (sig.length && *sig.length < total)
    return {Result::policy, fmt::format("l= leaves {} bytes of the body unsigned", total - *sig.length)};
  return {Result::pass, key.testing ? "key in testing mode" : ""};
}

}  // namespace mailstead::dkim
