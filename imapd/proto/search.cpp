#include "imapd/proto/search.hpp"

#include <fmt/format.h>
#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <array>
#include <functional>
#include <vector>

#include "common/mime/decode.hpp"
#include "common/text/ascii.hpp"
#include "common/text/utf8.hpp"
#include "imapd/proto/command.hpp"

namespace mailstead::imap {
namespace {

using K = SearchKey::Kind;

// Knuth-Morris-Pratt from `from` on: linear in the haystack whatever the needle.
template <class Fold>
bool find_kmp(std::string_view haystack, std::size_t from, std::string_view needle, Fold fold) {
  std::vector<std::size_t> border(needle.size() + 1, 0);
  for (std::size_t i = 1, k = 0; i < needle.size(); ++i) {
    while (k > 0 && needle[i] != needle[k]) k = border[k];
    if (needle[i] == needle[k]) ++k;
    border[i + 1] = k;
  }
  for (std::size_t i = from, k = 0; i < haystack.size(); ++i) {
    char c = fold(haystack[i]);
    while (k > 0 && c != needle[k]) k = border[k];
    if (c == needle[k] && ++k == needle.size()) return true;
  }
  return false;
}

// Horspool's search for a folded needle in a haystack folded on the fly by `fold` (ASCII
// lower-casing, or none for a haystack folded beforehand). Horspool skips ahead and is the
// fastest on text, but a needle like "baaa…a" in a body of "aaa…" costs haystack × needle
// comparisons: once it has spent a few passes' worth, the rest goes to KMP, which is linear.
template <class Fold>
bool find_folded(std::string_view haystack, std::string_view needle, bool ascii_fold, Fold fold) {
  const std::size_t m = needle.size();
  std::array<std::size_t, 256> skip;
  skip.fill(m);
  for (std::size_t i = 0; i + 1 < m; ++i) {
    skip[static_cast<unsigned char>(needle[i])] = m - 1 - i;
    if (ascii_fold) skip[static_cast<unsigned char>(text::ascii_upper(needle[i]))] = m - 1 - i;
  }
  std::size_t budget = 4 * haystack.size() + m;
  for (std::size_t pos = 0; pos + m <= haystack.size();
       pos += skip[static_cast<unsigned char>(haystack[pos + m - 1])]) {
    std::size_t j = m - 1;
    while (fold(haystack[pos + j]) == needle[j]) {
      if (j == 0) return true;
      --j;
    }
    auto spent = m - j;
    if (spent >= budget) return find_kmp(haystack, pos, needle, fold);
    budget -= spent;
  }
  return false;
}

}  // namespace

// An ASCII needle is searched for in place, case folded on the fly (no copy of a message
// body); others need the folded haystack.
bool contains_folded(std::string_view haystack, std::string_view folded_needle) {
  if (folded_needle.empty()) return true;
  if (folded_needle.size() > haystack.size()) return false;
  if (text::is_ascii(folded_needle)) return find_folded(haystack, folded_needle, true, text::ascii_lower);
  auto folded = fold_case(haystack);
  return find_folded(folded, folded_needle, false, [](char c) { return c; });
}

// A header value as a reader sees it: encoded words decoded (only if it has any).
bool with_searched_value(std::string_view value, const TextVisitor& visit) {
  if (value.find("=?") == std::string_view::npos) return visit(value);
  return visit(mime::decode_header_value(value));
}

// An address field as its addresses read without comments, routes or folding:
// "Name <local@domain>, other@domain" (RFC 9051 §6.4.4 leaves address matching to the
// server; imaptest, Dovecot and Cyrus find "user@domain.org" in
// "<user (comment)@ (comment) domain.org>").
std::string plain_addresses(std::string_view value) {
  std::string out;
  for (const auto& a : mime::parse_address_list(value)) {
    if (a.group_start() || a.group_end()) continue;
    if (!out.empty()) out += ", ";
    if (!a.name.empty()) out += mime::decode_header_value(a.name) + " ";
    out += '<' + a.mailbox + '@' + a.host + '>';
  }
  return out;
}

namespace {

std::string_view charset_of(const mime::Part& part) {
  for (const auto& [name, value] : part.parameters)
    if (name == "charset") return value;
  return {};
}

}  // namespace

// Every text part's decoded text, message/rfc822 parts' headers and bodies included.
bool for_each_body_text(std::string_view bytes, const mime::Part& part, const TextVisitor& visit) {
  if (part.is_multipart()) {
    for (const auto& child : part.children)
      if (for_each_body_text(bytes, child, visit)) return true;
    return false;
  }
  if (part.is_message() && !part.children.empty()) {
    const auto& inner = part.children.front();
    for (const auto& f : inner.fields)
      if (with_searched_value(f.value, visit)) return true;
    return for_each_body_text(bytes, inner, visit);
  }
  if (part.type != "text") return false;
  // Most text is 7bit or 8bit UTF-8 or ASCII: read in place, not copied twice (a 30 MiB
  // message cost 90 MiB to search).
  if (mime::is_identity_encoding(part.encoding)) {
    auto charset = charset_of(part);
    if (mime::is_utf8_charset(charset)) return visit(part.body.of(bytes));
    return visit(mime::to_utf8(charset, part.body.of(bytes)));
  }
  auto decoded = mime::decode_transfer_encoding(part.encoding, part.body.of(bytes));
  if (!decoded) return visit(part.body.of(bytes));
  return visit(mime::to_utf8(charset_of(part), *decoded));
}

namespace {

bool value_contains(std::string_view value, std::string_view folded_needle) {
  return with_searched_value(value, [folded_needle](std::string_view v) { return contains_folded(v, folded_needle); });
}

bool header_matches(const SearchMessage& m, const SearchKey& key) {
  for (const auto& [name, value] : m.fields) {
    if (!text::iequals_ascii(name, key.field)) continue;
    if (key.value.empty() || value_contains(value, key.value)) return true;
    if (key.addresses && contains_folded(plain_addresses(value), key.value)) return true;
  }
  return false;
}

bool body_matches(std::string_view bytes, const mime::Part& part, std::string_view folded_needle) {
  return for_each_body_text(bytes, part,
                            [folded_needle](std::string_view text) { return contains_folded(text, folded_needle); });
}

std::optional<std::int64_t> sent_day_of(const SearchMessage& m) {
  for (const auto& [name, value] : m.fields)
    if (text::iequals_ascii(name, "Date")) return sent_day(value);
  return std::nullopt;
}

// The C library's Unicode case tables, whatever locale the process runs in: glibc's C.UTF-8
// (shipped by libc-bin on every Debian system) maps every script's capitals, İ and ẞ included.
// Null if it is missing: then only ASCII folds.
locale_t unicode_ctype() {
  static const locale_t tables = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return tables;
}

}  // namespace

std::string fold_case(std::string_view text) {
  const locale_t unicode = unicode_ctype();
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      out += text::ascii_lower(text[i++]);
      continue;
    }
    auto [code, length] = text::decode_utf8(text.substr(i));
    if (length == 0 || unicode == nullptr) {  // not UTF-8 (or no tables): compare as written
      out += text[i++];
      continue;
    }
    text::append_utf8(out, static_cast<char32_t>(towlower_l(static_cast<wint_t>(code), unicode)));
    i += length;
  }
  return out;
}

std::optional<std::int64_t> sent_day(std::string_view value) {
  // [day-of-week ","] day month year ...
  if (auto comma = value.find(','); comma != std::string_view::npos && comma < 12) value.remove_prefix(comma + 1);
  auto next_token = [&value]() {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    auto end = value.find_first_of(" \t");
    auto token = value.substr(0, end);
    value.remove_prefix(token.size());
    return token;
  };
  auto day = next_token();
  auto month = next_token();
  auto year = next_token();
  return parse_search_date(fmt::format("{}-{}-{}", day, month.substr(0, 3), year));
}

bool convert_search_strings(SearchKey& key, std::string_view charset) {
  if (!mime::known_charset(charset)) return false;
  if (key.kind == K::header || key.kind == K::body || key.kind == K::text)
    key.value = mime::to_utf8(charset, key.value);
  for (auto& child : key.children) convert_search_strings(child, charset);
  return true;
}

void prepare_search(SearchKey& key, const SearchScope& scope) {
  if (key.kind == K::sequence && !key.set.saved) key.resolved = resolve(key.set, scope.largest_seq);
  if (key.kind == K::uid && !key.set.saved) key.resolved = resolve(key.set, scope.largest_uid);
  if (key.kind == K::header || key.kind == K::body || key.kind == K::text) key.value = fold_case(key.value);
  for (auto& child : key.children) prepare_search(child, scope);
}

bool uses_modseq(const SearchKey& key) {
  return key.kind == K::modseq ||
         std::any_of(key.children.begin(), key.children.end(), [](const SearchKey& c) { return uses_modseq(c); });
}

bool uses_email_id(const SearchKey& key) {
  return key.kind == K::email_id ||
         std::any_of(key.children.begin(), key.children.end(), [](const SearchKey& c) { return uses_email_id(c); });
}

bool reads_flags(const SearchKey& key) {
  switch (key.kind) {
    case K::flag_set:
    case K::flag_unset:
    case K::keyword:
    case K::unkeyword:
    case K::new_:  // \Recent without \Seen
    case K::modseq:
      return true;
    default:
      return std::any_of(key.children.begin(), key.children.end(), [](const SearchKey& c) { return reads_flags(c); });
  }
}

void pin_sequence_numbers(SearchKey& key, std::uint32_t exists,
                          const std::function<std::uint32_t(std::uint32_t)>& uid_at) {
  if (key.kind == K::sequence && !key.set.saved) {
    std::vector<Interval> uids;
    for (const auto& range : key.resolved) {
      for (auto seq = range.low; seq <= range.high && seq <= exists && seq != 0; ++seq) {
        auto uid = uid_at(seq);
        if (!uids.empty() && uids.back().high + 1 == uid)
          uids.back().high = uid;
        else
          uids.push_back({uid, uid});
        if (seq == range.high) break;  // high may be the largest number there is
      }
    }
    key.kind = K::uid;
    key.resolved = std::move(uids);
  }
  for (auto& child : key.children) pin_sequence_numbers(child, exists, uid_at);
}

std::size_t count_text_keys(const SearchKey& key) {
  std::size_t n = key.kind == K::header || key.kind == K::body || key.kind == K::text;
  for (const auto& child : key.children) n += count_text_keys(child);
  return n;
}

bool matches(const SearchKey& key, SearchMessage& m, const SearchScope& scope, const SearchLoader& load) {
  const auto& r = m.facts;
  // The header fields alone answer header keys; body keys need the structure and bytes.
  auto fields = [&]() {
    if (!m.fields_loaded && !m.gone) {
      m.gone = !load(m, SearchNeed::fields);
      m.fields_loaded = !m.gone;
    }
    return m.fields_loaded;
  };
  auto content = [&]() {
    if (!m.bytes_loaded && !m.gone) {
      m.gone = !load(m, SearchNeed::content);
      m.bytes_loaded = !m.gone;
    }
    return m.bytes_loaded && m.structure;
  };
  auto has_keyword = [&r](std::string_view name) {
    return std::any_of(r.keywords.begin(), r.keywords.end(),
                       [name](const std::string& k) { return text::iequals_ascii(k, name); });
  };
  auto saved = [&scope, &r]() { return std::binary_search(scope.saved_uids.begin(), scope.saved_uids.end(), r.uid); };
  auto day_of = [](std::int64_t seconds) { return seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400; };
  const std::int64_t internal_day = day_of(r.internal_date);
  switch (key.kind) {
    case K::all:
      return true;
    case K::and_:
      return std::all_of(key.children.begin(), key.children.end(),
                         [&](const SearchKey& c) { return matches(c, m, scope, load); });
    case K::or_:
      return matches(key.children[0], m, scope, load) || matches(key.children[1], m, scope, load);
    case K::not_:
      return !matches(key.children[0], m, scope, load);
    case K::flag_set:
      return (r.flags & key.flag) != 0;
    case K::flag_unset:
      return (r.flags & key.flag) == 0;
    case K::keyword:
      return has_keyword(key.value);
    case K::unkeyword:
      return !has_keyword(key.value);
    case K::recent:
      return m.recent;
    case K::new_:
      return m.recent && !(r.flags & kSeen);
    case K::old:
      return !m.recent;
    case K::before:
      return internal_day < key.day;
    case K::on:
      return internal_day == key.day;
    case K::since:
      return internal_day >= key.day;
    case K::saved_before:
      return day_of(r.saved_date) < key.day;
    case K::saved_on:
      return day_of(r.saved_date) == key.day;
    case K::saved_since:
      return day_of(r.saved_date) >= key.day;
    case K::saved_date_supported:
      return true;
    case K::sent_before:
    case K::sent_on:
    case K::sent_since: {
      if (!fields()) return false;
      auto day = sent_day_of(m);
      if (!day) return false;
      if (key.kind == K::sent_before) return *day < key.day;
      if (key.kind == K::sent_on) return *day == key.day;
      return *day >= key.day;
    }
    case K::larger:
      return r.size > key.number;
    case K::smaller:
      return r.size < key.number;
    case K::header:
      if (m.index && !m.index->may_match(key)) return false;
      return fields() && header_matches(m, key);
    case K::body:
      if (m.index && !m.index->may_match(key)) return false;
      return content() && body_matches(m.bytes, *m.structure, key.value);
    case K::text: {
      if (m.index && !m.index->may_match(key)) return false;
      if (!content()) return false;
      if (value_contains(m.structure->header.of(m.bytes), key.value)) return true;
      return body_matches(m.bytes, *m.structure, key.value);
    }
    case K::sequence:
      return key.set.saved ? saved() : contains(key.resolved, m.seq);
    case K::uid:
      return key.set.saved ? saved() : contains(key.resolved, r.uid);
    case K::modseq:
      return r.modseq >= key.number;
    case K::email_id:
      return r.email_id == key.value;
    case K::thread_id:
      return r.thread != 0 && thread_id_of(r.thread) == key.value;
  }
  return false;
}

}  // namespace mailstead::imap
