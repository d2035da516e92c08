#include "common/dkim/signer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/mime/mime.hpp"
#include "common/sasl/base64.hpp"
#include "common/text/ascii.hpp"

namespace mailstead::dkim {
namespace {

constexpr std::size_t kLineWidth = 76;  // RFC 5322 §2.1.1 recommends 78 with the CRLF

std::size_t occurrences(const std::vector<Field>& fields, std::string_view name) {
  return static_cast<std::size_t>(
      std::count_if(fields.begin(), fields.end(), [&](const Field& f) { return text::iequals_ascii(f.name, name); }));
}

// Folds a field: pieces are added with an optional space before them, and a line that would
// pass kLineWidth continues on the next one (CRLF TAB). The field is sent exactly as folded
// here, so a verifier hashes what the signer hashed.
class Folder {
 public:
  explicit Folder(std::string start) : out_(std::move(start)) {
    auto last_break = out_.rfind("\r\n");
    line_ = last_break == std::string::npos ? out_.size() : out_.size() - last_break - 2;
  }
  void add(std::string_view piece, bool space_before = true) {
    if (line_ + piece.size() + (space_before ? 1 : 0) > kLineWidth && line_ > 1) {
      out_ += "\r\n\t";
      line_ = 1;
    } else if (space_before) {
      out_ += ' ';
      ++line_;
    }
    out_ += piece;
    line_ += piece.size();
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::size_t line_ = 0;
};

}  // namespace

std::vector<std::string> signed_names(const std::vector<Field>& fields, const SignOptions& options) {
  std::vector<std::string> names;
  auto listed = [](const std::vector<std::string>& list, std::string_view name) {
    return std::any_of(list.begin(), list.end(), [&](const std::string& n) { return text::iequals_ascii(n, name); });
  };
  auto add = [&](const std::string& name) {
    auto lower = text::lower_ascii(name);
    if (listed(names, lower)) return;  // each name once in the plan, however often configured
    auto n = occurrences(fields, lower) + (listed(options.oversign, lower) ? 1 : 0);
    for (std::size_t i = 0; i < n; ++i) names.push_back(lower);
  };
  for (const auto& name : options.oversign) add(name);
  for (const auto& name : options.headers) add(name);
  return names;
}

std::string body_hash(std::string_view body, Canon canon, std::optional<std::uint64_t> limit) {
  Sha256 hash;
  canonical_body(
      body, canon, [&](std::string_view piece) { hash.update(piece); }, limit);
  return hash.finish();
}

std::string signed_data(const std::vector<Field>& fields, const std::vector<std::string>& names,
                        const Field& signature_field, Canon canon) {
  std::string data;
  for (const auto* field : select_fields(fields, names))
    if (field != nullptr) data += canonical_field(*field, canon);
  auto stripped = without_b_value(signature_field.raw);
  auto last = canonical_field({signature_field.name, stripped}, canon);
  last.resize(last.size() - 2);  // §3.7: without its trailing CRLF
  data += last;
  return data;
}

std::string without_b_value(std::string_view raw) {
  // The b= tag: a tag name "b" at the start of the value or after ';', with optional FWS.
  std::size_t pos = raw.find(':') + 1;
  while (pos < raw.size()) {
    auto name_start = raw.find_first_not_of(" \t\r\n", pos);
    if (name_start == std::string_view::npos) break;
    auto eq = raw.find('=', name_start);
    auto semi = raw.find(';', name_start);
    if (eq == std::string_view::npos || (semi != std::string_view::npos && semi < eq)) break;
    auto name = raw.substr(name_start, eq - name_start);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t' || name.back() == '\r' || name.back() == '\n'))
      name.remove_suffix(1);
    auto value_end = semi == std::string_view::npos ? raw.size() : semi;
    if (name == "b") return std::string(raw.substr(0, eq + 1)) + std::string(raw.substr(value_end));
    pos = value_end + 1;
  }
  return std::string(raw);
}

MessageSigner::MessageSigner(std::string_view message, const SignOptions& options) : options_(options) {
  auto header_size = mime::header_end(message);
  fields_ = split_fields(message.substr(0, header_size));
  names_ = signed_names(fields_, options);
  body_hash_ = sasl::base64_encode(body_hash(message.substr(header_size), Canon::relaxed));
}

std::string MessageSigner::sign(const Signer& signer) const {
  Folder f(fmt::format("DKIM-Signature: v=1; a={}; c=relaxed/relaxed;", to_string(signer.key.algorithm())));
  f.add(fmt::format("d={};", signer.domain));
  f.add(fmt::format("s={};", signer.selector));
  f.add(fmt::format("t={};", options_.now));
  if (options_.expire_after > 0) f.add(fmt::format("x={};", options_.now + options_.expire_after));
  for (std::size_t i = 0; i < names_.size(); ++i)
    f.add(fmt::format("{}{}{}", i == 0 ? "h=" : "", names_[i], i + 1 == names_.size() ? ";" : ":"), i == 0);
  f.add(fmt::format("bh={};", body_hash_));
  f.add("b=");
  auto field = f.take();
  Field signature_field{"DKIM-Signature", field};
  auto signature = sasl::base64_encode(signer.key.sign(signed_data(fields_, names_, signature_field, Canon::relaxed)));
  // The value goes after "b=" (what was signed ends there), folded in pieces.
  Folder b(std::move(field));
  for (std::size_t at = 0; at < signature.size(); at += 64) b.add(std::string_view(signature).substr(at, 64), false);
  return b.take() + "\r\n";
}

std::string sign_message(std::string_view message, const Signer& signer, const SignOptions& options) {
  return MessageSigner(message, options).sign(signer);
}

}  // namespace mailstead::dkim
