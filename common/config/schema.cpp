#include "common/config/schema.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>

#include "common/config/cidr.hpp"

namespace mailstead::config {
namespace {

using std::chrono::seconds;

template <class T>
using Field = T& (*)(Config&);

using Error = std::optional<std::string>;

std::string_view type_name(const toml::node& value) {
  switch (value.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string type_error(const toml::node& value, std::string_view wanted) {
  return fmt::format("expected {}, found {}", wanted, type_name(value));
}

Option text(std::string_view key, std::string_view def, std::string_view doc, Field<std::string> field) {
  return {key, def, doc, [field](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* s = value.as_string();
            if (!s) return type_error(value, "a string");
            field(config) = s->get();
            return std::nullopt;
          }};
}

Option path(std::string_view key, std::string_view def, std::string_view doc, Field<std::filesystem::path> field) {
  return {key, def, doc, [field](const toml::node& value, Config& config, const ApplyContext& context) -> Error {
            auto* s = value.as_string();
            if (!s) return type_error(value, "a string (a path)");
            if (s->get().empty()) return "must not be empty";
            std::filesystem::path p(s->get());
            field(config) = p.is_absolute() ? p : (context.base_dir / p).lexically_normal();
            return std::nullopt;
          }};
}

Option count(std::string_view key, std::string_view def, std::string_view doc, Field<unsigned> field, unsigned min,
             unsigned max) {
  return {key, def, doc, [=](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* n = value.as_integer();
            if (!n) return type_error(value, "an integer");
            if (n->get() < min || n->get() > max)
              return fmt::format("{} is out of range; allowed: {} to {}", n->get(), min, max);
            field(config) = static_cast<unsigned>(n->get());
            return std::nullopt;
          }};
}

Option duration(std::string_view key, std::string_view def, std::string_view doc, Field<seconds> field, seconds min,
                seconds max) {
  return {key, def, doc, [=](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* s = value.as_string();
            if (!s) return type_error(value, "a duration string like \"30s\" or \"5m\"");
            auto parsed = parse_duration(s->get());
            if (auto* why = std::get_if<std::string>(&parsed)) return *why;
            auto d = std::get<seconds>(parsed);
            if (d < min || d > max)
              return fmt::format("\"{}\" is out of range; allowed: {} to {}", s->get(), format_duration(min),
                                 format_duration(max));
            field(config) = d;
            return std::nullopt;
          }};
}

Option endpoints(std::string_view key, std::string_view def, std::string_view doc, Field<std::vector<Endpoint>> field) {
  return {key, def, doc, [field](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* list = value.as_array();
            if (!list) return type_error(value, "an array of \"host:port\" strings");
            std::vector<Endpoint> out;
            for (const auto& item : *list) {
              auto* s = item.as_string();
              if (!s) return type_error(item, "a \"host:port\" string");
              auto parsed = parse_endpoint(s->get());
              if (auto* why = std::get_if<std::string>(&parsed)) return *why;
              out.push_back(std::get<Endpoint>(parsed));
            }
            field(config) = std::move(out);
            return std::nullopt;
          }};
}

// An array of strings, each checked by `valid`; `item` names one in errors ("a network like
// \"192.0.2.0/24\"").
Option string_list(std::string_view key, std::string_view def, std::string_view doc,
                   Field<std::vector<std::string>> field, std::string_view item, bool (*valid)(const std::string&)) {
  return {key, def, doc, [field, item, valid](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* list = value.as_array();
            if (!list) return type_error(value, fmt::format("an array of strings, each {}", item));
            std::vector<std::string> out;
            for (const auto& element : *list) {
              auto* s = element.as_string();
              if (!s) return type_error(element, item);
              if (!valid(s->get())) return fmt::format("\"{}\" is not {}", s->get(), item);
              out.push_back(s->get());
            }
            field(config) = std::move(out);
            return std::nullopt;
          }};
}

Option networks(std::string_view key, std::string_view def, std::string_view doc,
                Field<std::vector<std::string>> field) {
  return string_list(key, def, doc, field, "a network like \"192.0.2.0/24\"",
                     [](const std::string& text) { return parse_cidr(text).has_value(); });
}

Option dns_lists(std::string_view key, std::string_view def, std::string_view doc, Field<std::vector<DnsList>> field) {
  return {key, def, doc, [field](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* list = value.as_array();
            if (!list)
              return type_error(value, "an array of strings like \"zen.spamhaus.org\" or \"list.dnswl.org*-2\"");
            std::vector<DnsList> out;
            for (const auto& element : *list) {
              auto* s = element.as_string();
              if (!s) return type_error(element, "a DNS list");
              auto parsed = parse_dns_list(s->get());
              if (!parsed)
                return fmt::format("\"{}\" is not a DNS list like \"zen.spamhaus.org\" or \"list.dnswl.org*-2\"",
                                   s->get());
              out.push_back(std::move(*parsed));
            }
            field(config) = std::move(out);
            return std::nullopt;
          }};
}

// RFC 5322 §3.6.8: a field name is printable US-ASCII other than ':'.
Option field_names(std::string_view key, std::string_view def, std::string_view doc,
                   Field<std::vector<std::string>> field) {
  return string_list(key, def, doc, field, "a header field name", [](const std::string& name) {
    return !name.empty() && name.size() <= 100 &&
           std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
  });
}

Option milter_servers(std::string_view key, std::string_view def, std::string_view doc,
                      Field<std::vector<MilterAddress>> field) {
  return {key, def, doc, [field](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* list = value.as_array();
            if (!list) return type_error(value, "an array of strings like \"inet:127.0.0.1:11332\"");
            std::vector<MilterAddress> out;
            for (const auto& element : *list) {
              auto* s = element.as_string();
              if (!s) return type_error(element, "a milter address");
              auto parsed = parse_milter_address(s->get());
              if (!parsed)
                return fmt::format(
                    "\"{}\" is not a milter address like \"inet:127.0.0.1:11332\" or "
                    "\"unix:/run/rspamd/milter.sock\"",
                    s->get());
              out.push_back(std::move(*parsed));
            }
            if (out.size() > 10) return std::string("at most 10 milters");
            field(config) = std::move(out);
            return std::nullopt;
          }};
}

// "Name: value" lines, as a filter writes them into the header.
Option header_lines(std::string_view key, std::string_view def, std::string_view doc,
                    Field<std::vector<std::string>> field) {
  return string_list(key, def, doc, field, "a header field like \"X-Spam: Yes\"", [](const std::string& line) {
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0 || line.size() > 200) return false;
    return std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon),
                       [](char c) { return c > 32 && c < 127; }) &&
           std::all_of(line.begin(), line.end(), [](char c) { return c >= 32 && c < 127; });
  });
}

Option relay_endpoint(std::string_view key, std::string_view def, std::string_view doc,
                      Field<std::optional<Endpoint>> field) {
  return {key, def, doc, [field](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* s = value.as_string();
            if (!s) return type_error(value, "a \"host:port\" string");
            if (s->get().empty()) {
              field(config).reset();
              return std::nullopt;
            }
            auto parsed = parse_endpoint(s->get());
            if (auto* why = std::get_if<std::string>(&parsed)) return *why;
            field(config) = std::get<Endpoint>(parsed);
            return std::nullopt;
          }};
}

Option flag(std::string_view key, std::string_view def, std::string_view doc, Field<bool> field) {
  return {key, def, doc, [field](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* b = value.as_boolean();
            if (!b) return type_error(value, "true or false");
            field(config) = b->get();
            return std::nullopt;
          }};
}

// A size option: the value parsed, then `check` says what is wrong with the number, if anything.
template <class Check>
Option size_option(std::string_view key, std::string_view def, std::string_view doc, Field<std::uint64_t> field,
                   Check check) {
  return {key, def, doc, [=](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* s = value.as_string();
            if (!s) return type_error(value, "a size string like \"512M\"");
            auto parsed = parse_size(s->get());
            if (auto* why = std::get_if<std::string>(&parsed)) return *why;
            auto bytes = std::get<std::uint64_t>(parsed);
            if (auto why = check(s->get(), bytes)) return why;
            field(config) = bytes;
            return std::nullopt;
          }};
}

Option size(std::string_view key, std::string_view def, std::string_view doc, Field<std::uint64_t> field,
            std::uint64_t min) {
  return size_option(key, def, doc, field, [min](const std::string& text, std::uint64_t bytes) -> Error {
    if (bytes != 0 && bytes < min) return fmt::format("\"{}\" is too small; at least {} bytes, or \"0\"", text, min);
    return std::nullopt;
  });
}

// A size that must be within [min, max]: "0" is not "no limit" here.
Option bounded_size(std::string_view key, std::string_view def, std::string_view doc, Field<std::uint64_t> field,
                    std::uint64_t min, std::uint64_t max) {
  return size_option(key, def, doc, field, [min, max](const std::string& text, std::uint64_t bytes) -> Error {
    if (bytes < min || bytes > max)
      return fmt::format("\"{}\" is out of range; allowed: {} to {} bytes", text, min, max);
    return std::nullopt;
  });
}

template <class E>
Option choice(std::string_view key, std::string_view def, std::string_view doc, Field<E> field,
              std::vector<std::pair<std::string_view, E>> choices) {
  return {key, def, doc, [=](const toml::node& value, Config& config, const ApplyContext&) -> Error {
            auto* s = value.as_string();
            if (!s) return type_error(value, "a string");
            std::string allowed;
            for (const auto& [name, e] : choices) {
              if (s->get() == name) {
                field(config) = e;
                return std::nullopt;
              }
              allowed += fmt::format("{}\"{}\"", allowed.empty() ? "" : ", ", name);
            }
            return fmt::format("\"{}\" is not one of {}", s->get(), allowed);
          }};
}

std::vector<Section> build_schema() {
  std::vector<Section> sections;
  sections.push_back(
      {"server",
       "Identity of this server and where it keeps its data.",
       {text("hostname", R"("")",
             "Host name announced in SMTP greetings and trace headers; it should match the\n"
             "MX record and the PTR record of the server's address. Empty: this machine's host name.",
             [](Config& c) -> std::string& { return c.server.hostname; }),
        text("user", R"("mailstead")",
             "A daemon started as root binds its ports, then runs as this user.\n"
             "Empty: keep the user it was started as (development only).",
             [](Config& c) -> std::string& { return c.server.user; }),
        text("group", R"("")", "Group to run as after binding ports. Empty: the primary group of `user`.",
             [](Config& c) -> std::string& { return c.server.group; }),
        path("data_dir", R"("/var/lib/mailstead")",
             "Directory of the mail storage, shared by all daemons and the `mailstead` command.",
             [](Config& c) -> std::filesystem::path& { return c.server.data_dir; }),
        count(
            "threads", "1", "Event-loop threads per daemon (1 is plenty for most sites).",
            [](Config& c) -> unsigned& { return c.server.threads; }, 1, 64)}});
  sections.push_back({"log",
                      "Logs go to standard error, one line per event (systemd's journal or docker logs keep them).",
                      {choice<LogLevel>("level", R"("info")",
                                        "Least severe level written: \"debug\", \"info\", \"warn\" or \"error\".",
                                        [](Config& c) -> LogLevel& { return c.log.level; },
                                        {{"debug", LogLevel::debug},
                                         {"info", LogLevel::info},
                                         {"warn", LogLevel::warn},
                                         {"error", LogLevel::error}})}});
  sections.push_back(
      {"tls",
       "Certificate for STARTTLS and implicit TLS on every port. A daemon refuses to start\n"
       "when the files are missing or do not match.",
       {path("certificate", R"("/etc/mailstead/tls/cert.pem")",
             "PEM file: the server certificate followed by its intermediates (certbot's fullchain.pem).",
             [](Config& c) -> std::filesystem::path& { return c.tls.certificate; }),
        path("private_key", R"("/etc/mailstead/tls/key.pem")", "PEM file with the private key (certbot's privkey.pem).",
             [](Config& c) -> std::filesystem::path& { return c.tls.private_key; }),
        choice<TlsVersion>("min_version", R"("1.2")", "Oldest TLS version accepted: \"1.2\" or \"1.3\".",
                           [](Config& c) -> TlsVersion& { return c.tls.min_version; },
                           {{"1.2", TlsVersion::tls1_2}, {"1.3", TlsVersion::tls1_3}}),
        text(
            "ciphers",
            R"("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384")",
            "OpenSSL cipher list for TLS 1.2, in the server's order of preference.\n"
            "TLS 1.3 always uses OpenSSL's TLS 1.3 suites.",
            [](Config& c) -> std::string& { return c.tls.ciphers; })}});
  sections.push_back(
      {"limits",
       "What one client may cost: connections of each daemon, and the parsing of each message\n"
       "stored (SMTP, IMAP APPEND, import). docs/SECURITY.md lists every limit of the suite.",
       {count(
            "max_connections", "10000",
            "Connections a daemon serves at once; further clients are turned away. 0: no limit.",
            [](Config& c) -> unsigned& { return c.limits.max_connections; }, 0, 1000000),
        count(
            "max_connections_per_ip", "20", "Connections one client address may hold open at once. 0: no limit.",
            [](Config& c) -> unsigned& { return c.limits.max_connections_per_ip; }, 0, 1000000),
        count(
            "max_connection_rate_per_ip", "60",
            "New connections one client address may open per minute; beyond, it is turned away\n"
            "(SMTP: 421 4.7.0). 0: no limit.",
            [](Config& c) -> unsigned& { return c.limits.max_connection_rate_per_ip; }, 0, 1000000),
        duration(
            "tls_handshake_timeout", R"("30s")", "Time a client has to complete a TLS handshake.",
            [](Config& c) -> seconds& { return c.limits.tls_handshake_timeout; }, seconds(1), seconds(600)),
        duration(
            "shutdown_grace", R"("10s")",
            "On SIGTERM or SIGINT a daemon stops accepting and lets sessions finish for this long,\n"
            "then closes what remains.",
            [](Config& c) -> seconds& { return c.limits.shutdown_grace; }, seconds(0), seconds(3600)),
        // Structure limits summarise a message's index (BODYSTRUCTURE, SEARCH of headers), never
        // its bytes: it is still stored and fetched byte-exact (common/mime/mime.hpp).
        count(
            "max_mime_parts", "1000",
            "MIME parts indexed per message; the rest of a multipart beyond it is one opaque part.",
            [](Config& c) -> unsigned& { return c.limits.message.max_parts; }, 2, 100000),
        count(
            "max_mime_depth", "20", "MIME nesting indexed (multiparts and attached messages); deeper parts are opaque.",
            [](Config& c) -> unsigned& { return c.limits.message.max_depth; }, 1, mime::kMaxDepth),
        count(
            "max_header_fields", "1000",
            "Header fields of one message; SMTP refuses a message whose header has more (552 5.3.4),\n"
            "and a stored message's index holds no more per header.",
            [](Config& c) -> unsigned& { return c.limits.message.max_header_fields; }, 100, 100000),
        bounded_size(
            "max_header_size", R"("1M")",
            "Bytes of a message's header; SMTP refuses a bigger header (552 5.3.4), and a stored\n"
            "message's index holds fields from no more than this much of each header.",
            [](Config& c) -> std::uint64_t& { return c.limits.message.max_header_size; }, 16 * 1024, 64 * 1024 * 1024),
        bounded_size(
            "max_structure_size", R"("1M")",
            "Size of a message's parsed structure (its index, stored with it); parts beyond it are\n"
            "one opaque part.",
            [](Config& c) -> std::uint64_t& { return c.limits.message.max_structure_size; }, 64 * 1024,
            256 * 1024 * 1024),
        bounded_size(
            "max_preview_read", R"("256K")",
            "Bytes of a message's first text part read to make its preview (IMAP PREVIEW, made\n"
            "when the message is stored); text past it is not in the preview.",
            [](Config& c) -> std::uint64_t& { return c.limits.message.max_preview_read; }, 4 * 1024,
            64 * 1024 * 1024)}});
  sections.push_back(
      {"auth",
       "Password checks, and the slow-down and lockout of addresses that guess passwords.",
       {count(
            "hash_threads", "1",
            "Threads that verify password hashes, so that a slow hash never stalls other sessions.",
            [](Config& c) -> unsigned& { return c.auth.hash_threads; }, 1, 64),
        duration(
            "failure_delay", R"("2s")",
            "A failed login is answered after this delay, doubled for each further failure from\n"
            "the same address (up to failure_delay_max). Successful logins are never delayed.",
            [](Config& c) -> seconds& { return c.auth.failure_delay; }, seconds(0), seconds(60)),
        duration(
            "failure_delay_max", R"("30s")", "Longest delay after a failed login.",
            [](Config& c) -> seconds& { return c.auth.failure_delay_max; }, seconds(0), seconds(600)),
        count(
            "lockout_failures", "10",
            "After this many failed logins from one address (an IPv6 /64) within lockout_window,\n"
            "logins from it are refused for lockout_duration, in every daemon. 0: never.",
            [](Config& c) -> unsigned& { return c.auth.lockout_failures; }, 0, 100000),
        duration(
            "lockout_window", R"("15m")", "Window in which failed logins are counted.",
            [](Config& c) -> seconds& { return c.auth.lockout_window; }, seconds(1), seconds(86400)),
        duration(
            "lockout_duration", R"("15m")", "How long a locked-out address stays locked out.",
            [](Config& c) -> seconds& { return c.auth.lockout_duration; }, seconds(1), seconds(86400))}});
  sections.push_back(
      {"storage",
       "The mail store: one LMDB environment in server.data_dir shared by all daemons.",
       {size(
            "map_size", R"("1G")",
            "Initial size of the store's memory map. It doubles by itself when full (up to\n"
            "max_map_size), so this only needs changing for very large first imports.",
            [](Config& c) -> std::uint64_t& { return c.storage.map_size; }, 1 << 20),
        size(
            "max_map_size", R"("0")",
            "Largest size the map may grow to; \"0\": no limit but the disk. When the limit is\n"
            "reached, deliveries fail with a temporary error rather than corrupting anything.",
            [](Config& c) -> std::uint64_t& { return c.storage.max_map_size; }, 1 << 20),
        choice<char>("hierarchy_separator", R"("/")",
                     "Separator of mailbox hierarchy levels (\"Work/Projects\"): \"/\" or \".\".\n"
                     "Fixed when the store is created; a daemon refuses to open a store made with the other.",
                     [](Config& c) -> char& { return c.storage.hierarchy_separator; }, {{"/", '/'}, {".", '.'}}),
        choice<std::string>("plus_separator", R"("+")",
                            "Sub-addressing: mail to alice+lists@example.com goes to alice@example.com.\n"
                            "The separator is \"+\" or \"-\"; \"\" turns it off.",
                            [](Config& c) -> std::string& { return c.storage.plus_separator; },
                            {{"+", "+"}, {"-", "-"}, {"", ""}}),
        flag("case_sensitive_local_parts", "false",
             "Whether Alice@ and alice@ are different mailboxes. RFC 5321 allows it; nearly every\n"
             "user expects them to be the same.",
             [](Config& c) -> bool& { return c.storage.case_sensitive_local_parts; }),
        duration(
            "change_log_retention", R"("30d")",
            "How long the log of changes (new mail, flags, expunges) is kept. IMAP clients back\n"
            "within it resynchronise in one step (QRESYNC); older ones are told every missing UID.\n"
            "mailstead-smtpd trims it hourly.",
            [](Config& c) -> seconds& { return c.storage.change_log_retention; }, seconds(86400),
            seconds(3650 * 86400))}});
  sections.push_back(
      {"smtpd",
       "mailstead-smtpd: inbound mail (25), submission (587, 465), and their limits.",
       {endpoints("listen", R"(["0.0.0.0:25", "[::]:25"])", "Inbound mail from the Internet (MX); STARTTLS is offered.",
                  [](Config& c) -> std::vector<Endpoint>& { return c.smtpd.listen; }),
        endpoints("submission_listen", R"(["0.0.0.0:587", "[::]:587"])",
                  "Submission by your users: STARTTLS, then AUTH.",
                  [](Config& c) -> std::vector<Endpoint>& { return c.smtpd.submission_listen; }),
        endpoints("submissions_listen", R"(["0.0.0.0:465", "[::]:465"])", "Submission over implicit TLS.",
                  [](Config& c) -> std::vector<Endpoint>& { return c.smtpd.submissions_listen; }),
        path("local_socket", R"("/run/mailstead/submit.sock")",
             "Unix-domain socket where `sendmail` (cron, PHP, mdadm, ...) hands over mail from programs\n"
             "on this machine: any local user may send, like with any MTA's sendmail; the Received:\n"
             "field names their uid, and no password is needed.",
             [](Config& c) -> std::filesystem::path& { return c.smtpd.local_socket; }),
        size(
            "max_message_size", R"("50M")", "Largest message accepted (announced as SIZE; 552 5.3.4 beyond).",
            [](Config& c) -> std::uint64_t& { return c.smtpd.max_message_size; }, 1024),
        count(
            "max_recipients", "100", "Recipients per message; more get 452 4.5.3 (the client sends the rest later).",
            [](Config& c) -> unsigned& { return c.smtpd.max_recipients; }, 1, 100000),
        count(
            "max_line_length", "2048", "Longest command line, CRLF included (RFC 5321 asks for at least 512).",
            [](Config& c) -> unsigned& { return c.smtpd.max_line_length; }, 512, 65536),
        count(
            "max_errors", "10", "Protocol errors a client may make before it is disconnected (421 4.7.0).",
            [](Config& c) -> unsigned& { return c.smtpd.max_errors; }, 1, 1000),
        count(
            "max_junk_commands", "100",
            "NOOP, RSET, VRFY and HELP a client may send between accepted messages before it is\n"
            "disconnected (421 4.7.0): a client that only keeps a connection busy.",
            [](Config& c) -> unsigned& { return c.smtpd.max_junk_commands; }, 1, 100000),
        count(
            "max_received_headers", "50",
            "A message with more Received: header fields is refused (554 5.4.6): a mail loop.",
            [](Config& c) -> unsigned& { return c.smtpd.max_received_headers; }, 5, 1000),
        duration(
            "command_timeout", R"("5m")", "Time a client has to send its next command (RFC 5321 §4.5.3.2.7).",
            [](Config& c) -> seconds& { return c.smtpd.command_timeout; }, seconds(1), seconds(3600)),
        duration(
            "data_timeout", R"("10m")", "Time a client has to send each block of message data.",
            [](Config& c) -> seconds& { return c.smtpd.data_timeout; }, seconds(1), seconds(3600)),
        networks("trusted_networks", "[]",
                 "Clients in these networks (CIDR) may relay without AUTH, like authenticated users.\n"
                 "Keep it empty unless you run a trusted application server; never list a public range.",
                 [](Config& c) -> std::vector<std::string>& { return c.smtpd.trusted_networks; }),
        duration(
            "greeting_delay", R"("1s")",
            "On port 25, the greeting waits this long; a client that sends anything first is refused\n"
            "(RFC 5321 §3.1: a client waits for the greeting; spam engines often do not). Trusted\n"
            "networks are not delayed. 0s turns the check off.",
            [](Config& c) -> seconds& { return c.smtpd.greeting_delay; }, seconds(0), seconds(30)),
        dns_lists("dns_lists", "[]",
                  "DNS block and allow lists of client addresses (RFC 5782), each \"zone\" or\n"
                  "\"zone*weight\": a listing adds its weight (1 by default; negative for an allow list\n"
                  "such as \"list.dnswl.org*-2\"). A client whose score reaches dns_list_threshold is\n"
                  "refused at the greeting with the list's text. Many lists refuse queries from public\n"
                  "resolvers: use a resolver of your own (dns.servers).",
                  [](Config& c) -> std::vector<DnsList>& { return c.smtpd.dns_lists; }),
        count(
            "dns_list_threshold", "1", "The score of dns_lists at which a client is refused.",
            [](Config& c) -> unsigned& { return c.smtpd.dns_list_threshold; }, 1, 1000),
        flag("allow_plaintext_auth", "false",
             "Offer AUTH before STARTTLS. Passwords would cross the network in clear: for tests only.",
             [](Config& c) -> bool& { return c.smtpd.allow_plaintext_auth; }),
        flag("received_shows_user", "false",
             "Name the authenticated user in the Received: field of submitted mail, as some sites want\n"
             "for tracing abuse. Off by default: recipients then learn the login name.",
             [](Config& c) -> bool& { return c.smtpd.received_shows_user; }),
        count(
            "max_messages_per_hour", "200",
            "Messages each user may send to other domains per hour (0: no limit). A stolen password\n"
            "then sends a trickle, not a flood; mail to local users is not counted.",
            [](Config& c) -> unsigned& { return c.smtpd.max_messages_per_hour; }, 0, 1000000),
        count(
            "max_messages_per_day", "1000", "The same per day (0: no limit).",
            [](Config& c) -> unsigned& { return c.smtpd.max_messages_per_day; }, 0, 10000000),
        count(
            "max_recipients_per_hour", "1000",
            "Recipients in other domains each user may send to per hour, all messages together\n"
            "(0: no limit): a hundred recipients a message would otherwise multiply the above.",
            [](Config& c) -> unsigned& { return c.smtpd.max_recipients_per_hour; }, 0, 10000000),
        count(
            "max_recipients_per_day", "5000", "The same per day (0: no limit).",
            [](Config& c) -> unsigned& { return c.smtpd.max_recipients_per_day; }, 0, 100000000),
        choice<bool>("over_limit", R"("hold")",
                     "A message over a limit: \"hold\" accepts it and sends it when the window has room;\n"
                     "\"refuse\" answers 451 4.7.1 and the client tries later.",
                     [](Config& c) -> bool& { return c.smtpd.hold_over_limit; }, {{"hold", true}, {"refuse", false}}),
        duration(
            "max_hold", R"("1d")",
            "With \"hold\": a message that would wait longer than this for the limits is refused\n"
            "(451 4.7.1) instead, so what one user can queue is at most about a day's allowance.",
            [](Config& c) -> seconds& { return c.smtpd.max_hold; }, seconds(60), seconds(30 * 86400))}});
  sections.push_back({"dns",
                      "DNS lookups of mailstead-smtpd (through c-ares): MX hosts and addresses for the queue,\n"
                      "and the records the checks of inbound mail ask for. Answers are kept for their TTL in one\n"
                      "cache per process.",
                      {endpoints("servers", "[]",
                                 "DNS servers to ask, like [\"127.0.0.1:53\"]; empty: those of /etc/resolv.conf. A\n"
                                 "validating resolver on this machine (unbound) is what mail servers should use.",
                                 [](Config& c) -> std::vector<Endpoint>& { return c.dns.servers; }),
                       duration(
                           "timeout", R"("5s")", "How long one try waits for a server; two more tries follow.",
                           [](Config& c) -> seconds& { return c.dns.timeout; }, seconds(1), seconds(60)),
                       count(
                           "cache_entries", "10000", "Answers kept at most (the oldest go first); 0: no cache.",
                           [](Config& c) -> unsigned& { return c.dns.cache_entries; }, 0, 10000000),
                       duration(
                           "max_ttl", R"("1h")",
                           "No answer is kept longer than this, whatever its TTL says (negative answers: RFC 2308).",
                           [](Config& c) -> seconds& { return c.dns.max_ttl; }, seconds(0), seconds(7 * 86400))}});
  sections.push_back(
      {"dkim",
       "DKIM signatures (RFC 6376) on mail that users and trusted clients send from a local\n"
       "domain, with that domain's active keys (`mailstead dkim keygen DOMAIN` makes one and\n"
       "prints the DNS record to publish). Signed relaxed/relaxed.",
       {flag("sign", "true", "Sign mail from local domains that have an active key.",
             [](Config& c) -> bool& { return c.dkim.sign; }),
        field_names("oversign",
                    R"(["From", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc", "MIME-Version", )"
                    R"("Content-Type", "Content-Transfer-Encoding", "In-Reply-To", "References", "Autocrypt", )"
                    R"("OpenPGP"])",
                    "Header fields signed once more than they occur, so that none can be added after\n"
                    "signing without breaking the signature (whether the message has them or not).",
                    [](Config& c) -> std::vector<std::string>& { return c.dkim.oversign; }),
        field_names("headers",
                    R"(["Sender", "List-Id", "List-Help", "List-Owner", "List-Unsubscribe", )"
                    R"("List-Unsubscribe-Post", "List-Subscribe", "List-Post", "Resent-From", "Resent-Sender", )"
                    R"("Resent-To", "Resent-Cc", "Resent-Date", "Resent-Message-ID"])",
                    "Header fields signed as often as they occur.",
                    [](Config& c) -> std::vector<std::string>& { return c.dkim.headers; }),
        duration(
            "expire", R"("0s")", "Signatures expire this long after signing (the x= tag); 0s: they do not.",
            [](Config& c) -> seconds& { return c.dkim.expire; }, seconds(0), seconds(365 * 86400)),
        flag("verify", "true",
             "Check the DKIM signatures of mail from other servers (port 25, not trusted networks)\n"
             "and write the outcome in an Authentication-Results field with server.hostname as its\n"
             "authserv-id; such fields from outside that claim that name are removed.",
             [](Config& c) -> bool& { return c.dkim.verify; }),
        count(
            "verify_max_signatures", "5",
            "Signatures checked per message, from the top; each costs a DNS lookup and a pass over the\n"
            "body, so a stranger's message with hundreds of them is not checked past this.",
            [](Config& c) -> unsigned& { return c.dkim.verify_max_signatures; }, 1, 50)}});
  sections.push_back(
      {"spf",
       "SPF (RFC 7208) of mail from other servers: whether the client may send for the domain of\n"
       "MAIL FROM (or of HELO, for bounces). The result goes into Authentication-Results.",
       {flag("check", "true", "Check SPF at MAIL FROM (port 25; not users, not trusted networks).",
             [](Config& c) -> bool& { return c.spf.check; }),
        choice<SpfFail>("on_fail", R"("mark")",
                        "What a \"fail\" (the domain says this client may not send its mail) does: \"mark\"\n"
                        "records it and lets DMARC decide; \"reject\" refuses MAIL FROM with 550 5.7.23.\n"
                        "Mail forwarded by others fails SPF, so rejecting loses some legitimate mail.",
                        [](Config& c) -> SpfFail& { return c.spf.on_fail; },
                        {{"mark", SpfFail::mark}, {"reject", SpfFail::reject}}),
        duration(
            "max_time", R"("20s")", "One check with all its DNS lookups (RFC 7208 §4.6.4: at least 20 s).",
            [](Config& c) -> seconds& { return c.spf.max_time; }, seconds(1), seconds(300)),
        count(
            "max_checks_per_session", "10",
            "Identities (senders, and the HELO name) checked in one SMTP session. A client that sends\n"
            "MAIL FROM again and again (RSET between) gets a sender's earlier result, and past this\n"
            "many SPF temperror, instead of another round of lookups each time.",
            [](Config& c) -> unsigned& { return c.spf.max_checks_per_session; }, 1, 1000)}});
  sections.push_back(
      {"dmarc",
       "DMARC (RFC 7489) of mail from other servers: is the domain of the From field, the one a\n"
       "reader sees, the one that SPF or DKIM authenticated? Its owner's policy (p=) says what to\n"
       "do when it is not. The result goes into Authentication-Results.",
       {flag("check", "true", "Check DMARC at the end of DATA (port 25; not users, not trusted networks).",
             [](Config& c) -> bool& { return c.dmarc.check; }),
        flag("apply_policy", "true",
             "Do what a failing domain's policy asks: p=reject refuses the message (550 5.7.1),\n"
             "p=quarantine delivers it to the recipient's Junk mailbox. false: only record it.",
             [](Config& c) -> bool& { return c.dmarc.apply_policy; })}});
  sections.push_back(
      {"srs",
       "The Sender Rewriting Scheme: mail that an alias forwards to another domain leaves with an\n"
       "envelope sender of the alias's domain (SRS0=...@alias-domain), so that it passes SPF at the\n"
       "destination; a bounce to that address is checked (its hash, under a secret kept in the\n"
       "store) and sent back to the original sender.",
       {flag("enabled", "true", "Rewrite the sender of forwarded mail, and route bounces to SRS addresses.",
             [](Config& c) -> bool& { return c.srs.enabled; }),
        duration(
            "max_age", R"("21d")", "How long a rewritten address takes bounces; older ones are refused.",
            [](Config& c) -> seconds& { return c.srs.max_age; }, seconds(86400), seconds(1000 * 86400))}});
  sections.push_back(
      {"greylist",
       "Greylisting (RFC 6647) of mail from other servers: a client network, sender and recipient\n"
       "never seen together get 451 4.7.1 once; a real mail server tries again after the delay and\n"
       "gets through, much spamware never does. It delays first mail from new senders, so it is off\n"
       "by default. Trusted networks, users, and clients on a DNS allow list (a negative\n"
       "smtpd.dns_lists score) are never greylisted.",
       {flag("enabled", "false", "Greylist mail from other servers (port 25).",
             [](Config& c) -> bool& { return c.greylist.enabled; }),
        duration(
            "delay", R"("5m")", "How long a new triplet is deferred: a retry after this gets through.",
            [](Config& c) -> seconds& { return c.greylist.delay; }, seconds(0), seconds(86400)),
        duration(
            "max_retry", R"("2d")", "A triplet whose sender has not tried again by then is forgotten.",
            [](Config& c) -> seconds& { return c.greylist.max_retry; }, seconds(60), seconds(30 * 86400)),
        duration(
            "allow_for", R"("35d")",
            "Once mail from a client network gets through, that network is not greylisted for this\n"
            "long (renewed by each message); its triplets are kept as long.",
            [](Config& c) -> seconds& { return c.greylist.allow_for; }, seconds(3600), seconds(365 * 86400)),
        count(
            "max_entries", "100000",
            "Triplets kept at most. A stranger who makes up senders cannot grow the store past this:\n"
            "when it is full, new triplets are let through ungreylisted until maintenance forgets old\n"
            "ones.",
            [](Config& c) -> unsigned& { return c.greylist.max_entries; }, 100, 100000000)}});
  sections.push_back(
      {"milter",
       "Content filters that speak the Sendmail milter protocol, as Postfix talks to them: rspamd\n"
       "(its proxy worker with milter = yes), spamass-milter, clamav-milter. Each sees every stage\n"
       "of the SMTP session and may refuse, discard, quarantine or change the message.",
       {milter_servers("servers", "[]",
                       "The filters, in order: \"inet:127.0.0.1:11332\" (rspamd), \"inet:rspamd:11332\" (a\n"
                       "container), \"unix:/run/clamav/clamav-milter.ctl\". Empty: no filtering.",
                       [](Config& c) -> std::vector<MilterAddress>& { return c.milter.servers; }),
        flag("users", "true",
             "Filter the mail of users (ports 587/465, sendmail) and trusted networks as well as the\n"
             "mail of other servers; rspamd then sees outgoing mail too (rate limits, a hijacked\n"
             "account sending spam).",
             [](Config& c) -> bool& { return c.milter.users; }),
        choice<MilterFailure>("on_failure", R"("tempfail")",
                              "What happens when a filter cannot be reached or does not answer in time:\n"
                              "\"tempfail\" answers 451 4.7.1 so that the sender tries again later (nothing\n"
                              "passes unfiltered); \"accept\" goes on without that filter.",
                              [](Config& c) -> MilterFailure& { return c.milter.on_failure; },
                              {{"tempfail", MilterFailure::tempfail}, {"accept", MilterFailure::accept}}),
        duration(
            "connect_timeout", R"("10s")", "Connecting to a filter and its option negotiation.",
            [](Config& c) -> seconds& { return c.milter.connect_timeout; }, seconds(1), seconds(300)),
        duration(
            "command_timeout", R"("30s")", "A filter's answer to one stage of the session (HELO, MAIL, RCPT).",
            [](Config& c) -> seconds& { return c.milter.command_timeout; }, seconds(1), seconds(300)),
        duration(
            "content_timeout", R"("300s")",
            "A filter's answer to a piece of the message, and to its end (the scan). The whole\n"
            "message may take four times this, however often the filter says it is still working.",
            [](Config& c) -> seconds& { return c.milter.content_timeout; }, seconds(1), seconds(3600)),
        header_lines("junk_headers", R"(["X-Spam: Yes", "X-Spam-Flag: YES"])",
                     "A message to which a filter adds (or sets) one of these fields is delivered to the\n"
                     "recipients' Junk mailbox: rspamd's \"add header\" action writes X-Spam: Yes,\n"
                     "SpamAssassin X-Spam-Flag: YES. Names and values are compared without case. A filter's\n"
                     "quarantine request does the same.",
                     [](Config& c) -> std::vector<std::string>& { return c.milter.junk_headers; })}});
  sections.push_back(
      {"outbound",
       "Sending to other domains: the queue runner of mailstead-smtpd looks up each domain's MX\n"
       "hosts and delivers over SMTP, or hands everything to a relay (smarthost).",
       {count(
            "port", "25", "Port of the remote MX hosts. Always 25 on the Internet; tests change it.",
            [](Config& c) -> unsigned& { return c.outbound.port; }, 1, 65535),
        flag("require_tls", "false",
             "Deliver only over TLS (STARTTLS); a server without it gets nothing and the mail waits.\n"
             "Off by default, like every public MTA: many servers still lack TLS.",
             [](Config& c) -> bool& { return c.outbound.require_tls; }),
        flag("verify_certificates", "false",
             "Check each MX host's certificate against its name. MX certificates are often not valid\n"
             "for their names, so this is off for direct delivery (the relay has its own setting).",
             [](Config& c) -> bool& { return c.outbound.verify_certificates; }),
        networks("allowed_destinations", "[]",
                 "Networks (CIDR) that direct delivery may connect to although they are loopback,\n"
                 "private, link-local or this server's own: an internal mail host, a test setup. Other\n"
                 "such addresses in MX or A records are refused, and mail that can go nowhere else is\n"
                 "returned (5.4.4), so DNS cannot aim this server at hosts inside its network.",
                 [](Config& c) -> std::vector<std::string>& { return c.outbound.allowed_destinations; }),
        duration(
            "max_attempt_time", R"("30m")",
            "Longest one connection may take to set up, or one message to be sent, however slowly\n"
            "the server answers: a server that trickles a byte every few minutes frees its slot.",
            [](Config& c) -> seconds& { return c.outbound.max_attempt_time; }, seconds(10), seconds(86400)),
        relay_endpoint("relay", R"("")",
                       "Send everything through this relay (\"smtp.provider.example:587\"), as needed where\n"
                       "outbound port 25 is blocked. Empty: deliver directly to each domain's MX.",
                       [](Config& c) -> std::optional<Endpoint>& { return c.outbound.relay; }),
        choice<RelayTls>("relay_tls", R"("starttls")",
                         "\"starttls\" (ports 587, 25, 2525) or \"implicit\" (port 465). TLS is always required\n"
                         "with a relay.",
                         [](Config& c) -> RelayTls& { return c.outbound.relay_tls; },
                         {{"starttls", RelayTls::starttls}, {"implicit", RelayTls::implicit}}),
        text("relay_user", R"("")", "User name for AUTH at the relay; empty: no AUTH.",
             [](Config& c) -> std::string& { return c.outbound.relay_user; }),
        text("relay_password_file", R"("")", "File whose first line is the relay password.",
             [](Config& c) -> std::string& { return c.outbound.relay_password_file; }),
        flag("relay_verify_certificate", "true",
             "Check the relay's certificate (the system's CA store) and name before the password\n"
             "goes to it. Turn off only for a relay with a self-signed certificate on a network you\n"
             "trust.",
             [](Config& c) -> bool& { return c.outbound.relay_verify_certificate; }),
        duration(
            "retry_first", R"("5m")", "Wait before the first retry after a temporary failure; it doubles.",
            [](Config& c) -> seconds& { return c.outbound.retry_first; }, seconds(1), seconds(86400)),
        duration(
            "retry_max", R"("1h")", "Longest wait between retries.",
            [](Config& c) -> seconds& { return c.outbound.retry_max; }, seconds(1), seconds(7 * 86400)),
        duration(
            "max_age", R"("5d")", "Mail still undelivered after this long is returned to its sender.",
            [](Config& c) -> seconds& { return c.outbound.max_age; }, seconds(1), seconds(30 * 86400)),
        duration(
            "delay_notice", R"("4h")",
            "Tell the sender once when mail is still undelivered after this long (\"0s\": never).\n"
            "Senders who asked for no such notice (DSN NOTIFY) get none.",
            [](Config& c) -> seconds& { return c.outbound.delay_notice; }, seconds(0), seconds(30 * 86400)),
        count(
            "max_deliveries", "100", "SMTP sessions to other servers at once (Postfix's default too).",
            [](Config& c) -> unsigned& { return c.outbound.max_deliveries; }, 1, 1000),
        count(
            "max_per_domain", "20",
            "SMTP sessions at once to one destination domain (as Postfix's default; big providers\n"
            "throttle clients that open many more).",
            [](Config& c) -> unsigned& { return c.outbound.max_per_domain; }, 1, 100)}});
  sections.push_back({"pop3d",
                      "mailstead-pop3d: POP3 (110 with STLS, 995 over TLS) on each user's INBOX.",
                      {endpoints("listen", R"(["0.0.0.0:110", "[::]:110"])", "POP3 with STLS.",
                                 [](Config& c) -> std::vector<Endpoint>& { return c.pop3d.listen; }),
                       endpoints("tls_listen", R"(["0.0.0.0:995", "[::]:995"])", "POP3 over implicit TLS.",
                                 [](Config& c) -> std::vector<Endpoint>& { return c.pop3d.tls_listen; }),
                       duration(
                           "idle_timeout", R"("10m")",
                           "A session idle this long is closed without deleting anything. RFC 1939 asks for at\n"
                           "least 10 minutes; shorter only for tests.",
                           [](Config& c) -> seconds& { return c.pop3d.idle_timeout; }, seconds(1), seconds(86400)),
                       count(
                           "max_errors", "10", "Bad commands a client may send before it is disconnected.",
                           [](Config& c) -> unsigned& { return c.pop3d.max_errors; }, 1, 1000),
                       count(
                           "max_line_length", "4096",
                           "Longest command line, CRLF included (RFC 2449 asks for at least 255); a longer one\n"
                           "is answered -ERR and dropped.",
                           [](Config& c) -> unsigned& { return c.pop3d.max_line_length; }, 512, 65536),
                       flag("allow_plaintext_auth", "false",
                            "Allow USER/PASS and AUTH before STLS. Passwords would cross the network in clear: for\n"
                            "tests only.",
                            [](Config& c) -> bool& { return c.pop3d.allow_plaintext_auth; }),
                       flag("allow_concurrent_sessions", "false",
                            "Let a second session open a maildrop that is already open (RFC 1939 wants it refused\n"
                            "with [IN-USE]; two clients deleting from one INBOX surprise their users).",
                            [](Config& c) -> bool& { return c.pop3d.allow_concurrent_sessions; })}});
  sections.push_back(
      {"imapd",
       "mailstead-imapd: IMAP4rev1 and IMAP4rev2 (143 with STARTTLS, 993 over TLS).",
       {endpoints("listen", R"(["0.0.0.0:143", "[::]:143"])", "IMAP with STARTTLS.",
                  [](Config& c) -> std::vector<Endpoint>& { return c.imapd.listen; }),
        endpoints("tls_listen", R"(["0.0.0.0:993", "[::]:993"])", "IMAP over implicit TLS.",
                  [](Config& c) -> std::vector<Endpoint>& { return c.imapd.tls_listen; }),
        duration(
            "idle_timeout", R"("30m")",
            "A session idle this long is logged out. RFC 9051 asks for at least 30 minutes, and\n"
            "clients in IDLE renew their command before then; shorter only for tests.",
            [](Config& c) -> seconds& { return c.imapd.idle_timeout; }, seconds(1), seconds(86400)),
        count(
            "max_errors", "20", "Bad commands a client may send before it is disconnected.",
            [](Config& c) -> unsigned& { return c.imapd.max_errors; }, 1, 1000),
        count(
            "max_line_length", "65536",
            "Longest command line after login, CRLF included (RFC 7162 asks for at least 8192);\n"
            "a longer one is answered BAD and dropped.",
            [](Config& c) -> unsigned& { return c.imapd.max_line_length; }, 8192, 1048576),
        count(
            "max_preauth_length", "8192",
            "Longest line, and largest literal, a client may send before it has logged in\n"
            "(a literal over it is refused before it is sent: NO [TOOBIG]).",
            [](Config& c) -> unsigned& { return c.imapd.max_preauth_length; }, 1024, 65536),
        duration(
            "max_search_time", R"("1m")",
            "Longest one SEARCH may spend matching (it runs in short slices, so other\n"
            "sessions are served meanwhile); past it the command ends NO [LIMIT].",
            [](Config& c) -> seconds& { return c.imapd.max_search_time; }, seconds(1), seconds(3600)),
        count(
            "max_search_text_keys", "32",
            "Most substring keys (FROM, SUBJECT, HEADER, BODY, TEXT, ...) in one SEARCH: each\n"
            "may read a whole message, and a message is matched without a break (NO [LIMIT]).",
            [](Config& c) -> unsigned& { return c.imapd.max_search_text_keys; }, 1, 1000),
        count(
            "max_update_contexts", "10",
            "Most searches one session keeps up to date for its client (SEARCH or SORT\n"
            "RETURN (UPDATE), RFC 5267); past it the result comes without updates, NO [NOUPDATE].",
            [](Config& c) -> unsigned& { return c.imapd.max_update_contexts; }, 1, 1000),
        flag("text_index", "true",
             "Keep a text index of every mailbox (trigrams of the decoded text, about half a\n"
             "byte per distinct trigram of a message), so that SEARCH BODY, TEXT, FROM, TO,\n"
             "SUBJECT and the like read only the messages that may match. Off: every such\n"
             "search reads every message, and the index stops where it is.",
             [](Config& c) -> bool& { return c.imapd.text_index; }),
        count(
            "max_metadata_entries", "200",
            "Annotations (IMAP METADATA) one user may hold, on all their mailboxes and the\n"
            "server together; past it SETMETADATA answers NO [METADATA TOOMANY].",
            [](Config& c) -> unsigned& { return c.imapd.max_metadata_entries; }, 10, 100000),
        bounded_size(
            "max_metadata_size", R"("64K")",
            "Size of one annotation's value; a longer one is refused with NO [METADATA MAXSIZE].",
            [](Config& c) -> std::uint64_t& { return c.imapd.max_metadata_size; }, 1024, 16 * 1024 * 1024),
        flag("allow_plaintext_auth", "false",
             "Allow LOGIN and AUTHENTICATE before STARTTLS (LOGINDISABLED otherwise). Passwords\n"
             "would cross the network in clear: for tests only.",
             [](Config& c) -> bool& { return c.imapd.allow_plaintext_auth; }),
        size(
            "max_message_size", R"("50M")",
            "Largest message APPEND accepts (announced as APPENDLIMIT), and the most the literals of\n"
            "one command may carry together (a MULTIAPPEND); a bigger literal is refused before it\n"
            "is sent.",
            [](Config& c) -> std::uint64_t& { return c.imapd.max_message_size; }, 1024)}});
  return sections;
}

void append_comment(std::string& out, std::string_view doc) {
  while (!doc.empty()) {
    auto nl = doc.find('\n');
    out += fmt::format("# {}\n", doc.substr(0, nl));
    if (nl == std::string_view::npos) break;
    doc.remove_prefix(nl + 1);
  }
}

}  // namespace

std::span<const Section> schema() {
  static const std::vector<Section> sections = build_schema();
  return sections;
}

std::string sample_config() {
  std::string out =
      "# mailstead configuration: one file for mailstead-smtpd, mailstead-pop3d, mailstead-imapd\n"
      "# and the `mailstead` command. Every option is listed with its default value.\n"
      "# Check a change with: mailstead config check -c /etc/mailstead/mailstead.toml\n"
      "# Durations: \"30s\", \"5m\", \"1h\", \"2d\". Relative paths are relative to this file.\n";
  for (const auto& section : schema()) {
    out += '\n';
    append_comment(out, section.doc);
    out += fmt::format("[{}]\n", section.name);
    for (const auto& option : section.options) {
      out += '\n';
      append_comment(out, option.doc);
      out += fmt::format("{} = {}\n", option.key, option.default_toml);
    }
  }
  return out;
}

}  // namespace mailstead::config
