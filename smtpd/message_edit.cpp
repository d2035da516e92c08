#include "smtpd/message_edit.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/mime/mime.hpp"
#include "common/text/ascii.hpp"
#include "common/text/idn.hpp"

namespace mailstead::smtp {

std::string rfc5322_date(std::time_t when) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&when, &tm);
  return fmt::format("{}, {} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string received_field(const ReceivedInfo& i) {
  // The client's words go inside a comment-free position only after sanitising: a HELO name
  // cannot hold CR, LF or parentheses that would break the field.
  std::string helo;
  for (char c : i.helo) helo += (static_cast<unsigned char>(c) < 0x21 || c == '(' || c == ')' || c == ';') ? '_' : c;
  std::string out =
      i.local_uid ? fmt::format("Received: from {}\r\n\tby {} (mailstead, from userid {}) with {}", helo, i.hostname,
                                *i.local_uid, i.protocol)
                  : fmt::format("Received: from {} ({}[{}])\r\n\tby {} (mailstead) with {}", helo,
                                i.client_name.empty() ? "" : i.client_name + " ", i.client_ip, i.hostname, i.protocol);
  if (!i.tls.empty()) out += fmt::format("\r\n\t(using {})", i.tls);
  if (!i.authenticated.empty()) out += fmt::format("\r\n\t(authenticated as {})", i.authenticated);
  out += fmt::format("\r\n\tid {}", i.id);
  if (!i.for_address.empty()) out += fmt::format("\r\n\tfor <{}>", i.for_address);
  out += fmt::format("; {}\r\n", rfc5322_date(i.when));
  return out;
}

namespace {

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(a[k])) != std::tolower(static_cast<unsigned char>(b[k]))) return false;
  return true;
}

}  // namespace

HeaderMeasure measure_header(std::string_view message) {
  HeaderMeasure m;
  m.bytes = mime::header_end(message);
  mime::FieldReader fields(message.substr(0, m.bytes));
  std::string_view field, value;
  while (fields.next(field, value)) {
    ++m.fields;
    m.from += same_name(field, "from");
    m.sender += same_name(field, "sender");
    m.received += same_name(field, "received");
    m.date += same_name(field, "date");
    m.message_id += same_name(field, "message-id");
  }
  return m;
}

std::vector<std::string> author_domains(std::string_view message, std::size_t max) {
  std::vector<std::string> out;
  mime::FieldReader fields(message.substr(0, mime::header_end(message)));
  std::string_view name, value;
  while (fields.next(name, value)) {
    if (!text::iequals_ascii(name, "from")) continue;
    for (const auto& a : mime::parse_address_list(mime::unfold(value))) {
      if (a.host.empty()) continue;  // group markers
      auto ascii = text::domain_to_ascii(a.host);
      auto domain = text::lower_ascii(ascii ? *ascii : a.host);
      if (std::find(out.begin(), out.end(), domain) == out.end() && out.size() < max) out.push_back(std::move(domain));
    }
  }
  return out;
}

}  // namespace mailstead::smtp
