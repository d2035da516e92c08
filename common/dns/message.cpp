#include "common/dns/message.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/dns/answer.hpp"
#include "common/text/ascii.hpp"

namespace mailstead::dns {
namespace {

constexpr std::size_t kMaxName = 255;  // RFC 1035 §2.3.4, in wire octets

class Reader {
 public:
  explicit Reader(std::string_view packet) : p_(packet) {}

  std::size_t position() const { return at_; }
  bool skip(std::size_t n) {
    if (p_.size() - at_ < n) return false;
    at_ += n;
    return true;
  }
  std::optional<std::uint16_t> u16() {
    if (p_.size() - at_ < 2) return std::nullopt;
    auto v = static_cast<std::uint16_t>((byte(at_) << 8) | byte(at_ + 1));
    at_ += 2;
    return v;
  }
  std::optional<std::uint32_t> u32() {
    auto hi = u16();
    auto lo = hi ? u16() : std::nullopt;
    if (!lo) return std::nullopt;
    return (static_cast<std::uint32_t>(*hi) << 16) | *lo;
  }
  std::optional<std::string_view> bytes(std::size_t n) {
    if (p_.size() - at_ < n) return std::nullopt;
    auto v = p_.substr(at_, n);
    at_ += n;
    return v;
  }

  // A domain name at the current position (RFC 1035 §4.1.4: labels, ending in the root label or
  // in a pointer to an earlier name). Moves past it; the name is read in lower case, its labels
  // joined by dots. A label containing a dot or a byte outside printable ASCII is kept as it
  // is: names from DNS are compared, never interpreted.
  std::optional<std::string> name() {
    std::string out;
    std::size_t wire = 0;
    std::size_t at = at_;
    std::optional<std::size_t> resume;
    for (unsigned pointers = 0;;) {
      if (at >= p_.size()) return std::nullopt;
      auto length = byte(at);
      if ((length & 0xC0) == 0xC0) {
        if (at + 1 >= p_.size() || ++pointers > kMaxPointers) return std::nullopt;
        if (!resume) resume = at + 2;
        at = static_cast<std::size_t>(((length & 0x3F) << 8) | byte(at + 1));
        continue;
      }
      if (length & 0xC0) return std::nullopt;  // the 01 and 10 prefixes are not in use
      wire += length + 1;
      if (wire > kMaxName) return std::nullopt;
      if (length == 0) break;
      if (at + 1 + length > p_.size()) return std::nullopt;
      if (!out.empty()) out += '.';
      out += text::lower_ascii(p_.substr(at + 1, length));
      at += 1 + length;
    }
    at_ = resume ? *resume : at + 1;
    return out;
  }

 private:
  unsigned byte(std::size_t i) const { return static_cast<unsigned char>(p_[i]); }
  std::string_view p_;
  std::size_t at_ = 0;
};

// The rdata of one record in the form Record::data describes; nullopt if malformed. `reader`
// stands at the rdata's start (names in it may point anywhere before it).
std::optional<bool> read_data(Reader& reader, std::size_t length, Record& record) {
  auto end = reader.position() + length;
  auto name_until_end = [&]() -> std::optional<std::string> {
    auto n = reader.name();
    if (!n || reader.position() != end) return std::nullopt;
    return n;
  };
  switch (record.type) {
    case Type::a:
    case Type::aaaa: {
      if (length != (record.type == Type::a ? 4u : 16u)) return std::nullopt;
      auto b = reader.bytes(length);
      record.data.assign(*b);
      return true;
    }
    case Type::cname:
    case Type::ptr:
    case Type::ns: {
      auto n = name_until_end();
      if (!n) return std::nullopt;
      record.data = std::move(*n);
      return true;
    }
    case Type::mx: {
      auto preference = reader.u16();
      if (!preference) return std::nullopt;
      auto n = name_until_end();
      if (!n) return std::nullopt;
      record.preference = *preference;
      record.data = std::move(*n);
      return true;
    }
    case Type::srv: {
      // RFC 2782: priority, weight, port, target (not compressed, but read the same way).
      auto priority = reader.u16();
      auto weight = priority ? reader.u16() : std::nullopt;
      auto port = weight ? reader.u16() : std::nullopt;
      if (!port) return std::nullopt;
      auto n = name_until_end();
      if (!n) return std::nullopt;
      record.preference = *priority;
      record.weight = *weight;
      record.port = *port;
      record.data = std::move(*n);
      return true;
    }
    case Type::txt: {
      // RFC 1035 §3.3.14: one or more <character-string>s, each a length octet and its bytes.
      if (length == 0) return std::nullopt;
      while (reader.position() < end) {
        auto n = reader.bytes(1);
        if (!n) return std::nullopt;
        auto size = static_cast<unsigned char>((*n)[0]);
        if (reader.position() + size > end) return std::nullopt;
        record.data += *reader.bytes(size);
      }
      return true;
    }
    default:
      if (!reader.skip(length)) return std::nullopt;
      return false;  // a type the checks do not read
  }
}

}  // namespace

std::string_view to_string(Type type) {
  switch (type) {
    case Type::a:
      return "A";
    case Type::ns:
      return "NS";
    case Type::cname:
      return "CNAME";
    case Type::soa:
      return "SOA";
    case Type::ptr:
      return "PTR";
    case Type::mx:
      return "MX";
    case Type::txt:
      return "TXT";
    case Type::aaaa:
      return "AAAA";
    case Type::srv:
      return "SRV";
  }
  return "?";
}

std::optional<Response> parse_response(std::string_view packet) {
  Reader r(packet);
  auto id = r.u16();
  auto flags = id ? r.u16() : std::nullopt;
  auto qdcount = flags ? r.u16() : std::nullopt;
  auto ancount = qdcount ? r.u16() : std::nullopt;
  auto nscount = ancount ? r.u16() : std::nullopt;
  auto arcount = nscount ? r.u16() : std::nullopt;
  if (!arcount || !(*flags & 0x8000) || *qdcount != 1) return std::nullopt;  // a response to one question
  Response out;
  out.id = *id;
  out.rcode = *flags & 0x000F;
  out.truncated = (*flags & 0x0200) != 0;
  auto question = r.name();
  auto qtype = question ? r.u16() : std::nullopt;
  if (!qtype || !r.skip(2)) return std::nullopt;
  out.question = std::move(*question);
  out.question_type = static_cast<Type>(*qtype);
  // Answers, then the authority section for a negative answer's SOA; the additional section is
  // not read (nothing in it is trusted).
  for (unsigned i = 0; i < static_cast<unsigned>(*ancount) + *nscount; ++i) {
    bool answer = i < *ancount;
    Record record;
    auto owner = r.name();
    auto type = owner ? r.u16() : std::nullopt;
    auto rclass = type ? r.u16() : std::nullopt;
    auto ttl = rclass ? r.u32() : std::nullopt;
    auto length = ttl ? r.u16() : std::nullopt;
    if (!length || packet.size() - r.position() < *length) return std::nullopt;
    record.owner = std::move(*owner);
    record.type = static_cast<Type>(*type);
    // RFC 2181 §8: a TTL with the top bit set is taken as zero.
    record.ttl = (*ttl & 0x80000000u) ? 0 : *ttl;
    if (!answer) {
      if (record.type == Type::soa && *rclass == 1) {
        auto end = r.position() + *length;
        auto mname = r.name();
        auto rname = mname ? r.name() : std::nullopt;
        bool fits = rname && r.position() + 20 == end;
        if (!fits || !r.skip(16)) return std::nullopt;
        auto minimum = r.u32();
        out.negative_ttl = std::min(record.ttl, (*minimum & 0x80000000u) ? 0u : *minimum);
      } else if (!r.skip(*length)) {
        return std::nullopt;
      }
      continue;
    }
    if (*rclass != 1) {  // only class IN is asked for
      r.skip(*length);
      continue;
    }
    auto start = r.position();
    auto kept = read_data(r, *length, record);
    if (!kept || r.position() != start + *length) return std::nullopt;
    if (*kept) out.answers.push_back(std::move(record));
  }
  return out;
}

Reading read_answer(const Response& response, std::string_view name, Type type, unsigned max_cnames) {
  Reading out;
  if (response.rcode == 3) {  // NXDOMAIN
    out.answer.status = Status::nxdomain;
    out.ttl = response.negative_ttl.value_or(0);
    return out;
  }
  if (response.rcode != 0 || response.truncated) {
    out.answer.status = Status::temporary;
    out.answer.error =
        response.truncated ? "truncated answer" : fmt::format("server failure (rcode {})", response.rcode);
    return out;
  }
  std::string current = text::lower_ascii(name);
  std::uint32_t ttl = UINT32_MAX;
  for (unsigned hops = 0;; ++hops) {
    const Record* cname = nullptr;
    for (const auto& r : response.answers) {
      if (r.owner != current) continue;
      if (r.type == type) {
        out.answer.records.push_back(r);
        ttl = std::min(ttl, r.ttl);
      } else if (r.type == Type::cname && cname == nullptr) {
        cname = &r;
      }
    }
    if (!out.answer.records.empty() || cname == nullptr || type == Type::cname) break;
    if (hops == max_cnames) {
      out.answer.status = Status::temporary;
      out.answer.error = "too many CNAMEs";
      return out;
    }
    ttl = std::min(ttl, cname->ttl);
    current = cname->data;
    // The chain goes on in another response when this one has nothing more for the target.
    bool here = std::any_of(response.answers.begin(), response.answers.end(),
                            [&](const Record& r) { return r.owner == current; });
    if (!here) {
      out.next = current;
      out.ttl = ttl;
      return out;
    }
  }
  if (out.answer.records.empty()) {
    out.answer.status = Status::no_data;
    out.ttl = std::min(ttl, response.negative_ttl.value_or(0));
  } else {
    out.answer.status = Status::ok;
    out.ttl = ttl;
  }
  return out;
}

bool valid_query_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > 63 || static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) > '~') {
      return false;
    }
  }
  return label != 0;
}

std::string reverse_name(std::string_view address) {
  std::string out;
  if (address.size() == 4) {
    for (int i = 3; i >= 0; --i) out += fmt::format("{}.", static_cast<unsigned char>(address[i]));
    return out + "in-addr.arpa";
  }
  for (int i = static_cast<int>(address.size()) - 1; i >= 0; --i) {
    auto b = static_cast<unsigned char>(address[i]);
    out += fmt::format("{:x}.{:x}.", b & 0xF, b >> 4);
  }
  return out + "ip6.arpa";
}

}  // namespace mailstead::dns
