#include "storage/detail/structure_codec.hpp"

#include "storage/detail/codec.hpp"
#include "storage/result.hpp"

namespace mailstead::storage::codec {
namespace {

// 1: the part tree; 2: the part tree, then the preview text (RFC 8970). A reader of format 1
// stops after the tree, so records of both formats are read by every version.
constexpr std::uint8_t kStructureFormat = 2;
constexpr int kMaxDecodeDepth = mime::kMaxDepth + 2;

void put_optional(Writer& w, const std::optional<std::string>& s) {
  w.boolean(s.has_value());
  if (s) w.str(*s);
}

std::optional<std::string> get_optional(Reader& r) {
  if (!r.boolean()) return std::nullopt;
  return r.str();
}

void put_params(Writer& w, const mime::Parameters& params) {
  w.u64(params.size());
  for (const auto& [name, value] : params) w.str(name).str(value);
}

mime::Parameters get_params(Reader& r) {
  mime::Parameters out;
  for (auto n = r.u64(); n > 0; --n) {
    auto name = r.str();
    out.emplace_back(std::move(name), r.str());
  }
  return out;
}

void put_addresses(Writer& w, const std::vector<mime::Address>& list) {
  w.u64(list.size());
  for (const auto& a : list) w.str(a.name).str(a.route).str(a.mailbox).str(a.host);
}

std::vector<mime::Address> get_addresses(Reader& r) {
  std::vector<mime::Address> out;
  for (auto n = r.u64(); n > 0; --n) {
    mime::Address a;
    a.name = r.str();
    a.route = r.str();
    a.mailbox = r.str();
    a.host = r.str();
    out.push_back(std::move(a));
  }
  return out;
}

void put_part(Writer& w, const mime::Part& p) {
  w.u64(p.header.offset).u64(p.header.length).u64(p.body.offset).u64(p.body.length);
  w.u64(p.fields.size());
  for (const auto& f : p.fields) w.str(f.name).str(f.value);
  w.str(p.type).str(p.subtype);
  put_params(w, p.parameters);
  put_optional(w, p.id);
  put_optional(w, p.description);
  put_optional(w, p.md5);
  put_optional(w, p.location);
  w.str(p.encoding);
  put_optional(w, p.disposition);
  put_params(w, p.disposition_parameters);
  w.u64(p.language.size());
  for (const auto& l : p.language) w.str(l);
  w.u64(p.body_lines);
  w.boolean(p.envelope.has_value());
  if (p.envelope) {
    const auto& e = *p.envelope;
    put_optional(w, e.date);
    put_optional(w, e.subject);
    put_optional(w, e.in_reply_to);
    put_optional(w, e.message_id);
    for (const auto* list : {&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc}) put_addresses(w, *list);
  }
  w.u64(p.children.size());
  for (const auto& c : p.children) put_part(w, c);
}

mime::Envelope get_envelope(Reader& r) {
  mime::Envelope e;
  e.date = get_optional(r);
  e.subject = get_optional(r);
  e.in_reply_to = get_optional(r);
  e.message_id = get_optional(r);
  for (auto* list : {&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc}) *list = get_addresses(r);
  return e;
}

void skip_optional(Reader& r) {
  if (r.boolean()) r.view();
}

void skip_params(Reader& r) {
  for (auto n = r.u64(); n > 0; --n) {
    r.view();
    r.view();
  }
}

mime::Part get_part(Reader& r, int depth) {
  if (depth > kMaxDecodeDepth) throw StorageError(Errc::corrupt, "corrupt structure record: too deep");
  mime::Part p;
  p.header.offset = r.u64();
  p.header.length = r.u64();
  p.body.offset = r.u64();
  p.body.length = r.u64();
  for (auto n = r.u64(); n > 0; --n) {
    auto name = r.str();
    p.fields.push_back({std::move(name), r.str()});
  }
  p.type = r.str();
  p.subtype = r.str();
  p.parameters = get_params(r);
  p.id = get_optional(r);
  p.description = get_optional(r);
  p.md5 = get_optional(r);
  p.location = get_optional(r);
  p.encoding = r.str();
  p.disposition = get_optional(r);
  p.disposition_parameters = get_params(r);
  for (auto n = r.u64(); n > 0; --n) p.language.push_back(r.str());
  p.body_lines = r.u64();
  if (r.boolean()) p.envelope = get_envelope(r);
  for (auto n = r.u64(); n > 0; --n) p.children.push_back(get_part(r, depth + 1));
  return p;
}

void skip_envelope(Reader& r) {
  for (int i = 0; i < 4; ++i) skip_optional(r);  // date, subject, in-reply-to, message-id
  for (int list = 0; list < 6; ++list)
    for (auto n = r.u64(); n > 0; --n)
      for (int i = 0; i < 4; ++i) r.view();  // name, route, mailbox, host
}

// put_part's fields before the envelope, read past without building anything.
void skip_to_envelope(Reader& r) {
  for (int i = 0; i < 4; ++i) r.u64();  // the header and body spans
  skip_params(r);                       // the header fields: name, value pairs
  r.view();                             // type
  r.view();                             // subtype
  skip_params(r);
  for (int i = 0; i < 4; ++i) skip_optional(r);  // id, description, md5, location
  r.view();                                      // encoding
  skip_optional(r);                              // disposition
  skip_params(r);
  for (auto n = r.u64(); n > 0; --n) r.view();  // language
  r.u64();                                      // body lines
}

// get_part's reading without building anything.
void skip_part(Reader& r, int depth) {
  if (depth > kMaxDecodeDepth) throw StorageError(Errc::corrupt, "corrupt structure record: too deep");
  skip_to_envelope(r);
  if (r.boolean()) skip_envelope(r);
  for (auto n = r.u64(); n > 0; --n) skip_part(r, depth + 1);
}

}  // namespace

std::string encode_structure(const mime::Part& part, std::string_view preview) {
  Writer w(kStructureFormat);
  put_part(w, part);
  w.str(preview);
  return w.take();
}

mime::Part decode_structure(std::string_view bytes) {
  Reader r(bytes, "structure");
  return get_part(r, 0);
}

std::optional<std::string> decode_preview(std::string_view bytes) {
  Reader r(bytes, "structure");
  if (r.format() < 2) return std::nullopt;
  skip_part(r, 0);
  return r.str();
}

mime::Envelope decode_envelope(std::string_view bytes) {
  Reader r(bytes, "structure");
  skip_to_envelope(r);
  return r.boolean() ? get_envelope(r) : mime::Envelope{};
}

void visit_header_fields(std::string_view bytes,
                         const std::function<bool(std::string_view name, std::string_view value)>& fn) {
  Reader r(bytes, "structure");
  for (int i = 0; i < 4; ++i) r.u64();  // the header and body spans (put_part's order)
  for (auto n = r.u64(); n > 0; --n) {
    auto name = r.view();
    auto value = r.view();
    if (!fn(name, value)) return;
  }
}

}  // namespace mailstead::storage::codec
